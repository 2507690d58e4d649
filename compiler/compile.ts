// compile: the compiler's one public entry. .recmodel text → parse → check → lower → for every term
// and every param's gradient of the whole objective: simplify → expand+contract by cost. The result
// keeps the written and rewritten forms with their costs (for `recc explain`) and is what codegen
// plans kernels from. Never throws on user input: problems come back as diagnostics.
import { readFileSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { grad } from './autodiff/grad.ts';
import { resolveImports } from './check/imports.ts';
import { check } from './check/index.ts';
import { paramSizeDiagnostics } from './check/runnable.ts';
import { hasErrors, type Diagnostic } from './diagnostics/diagnostics.ts';
import { add, freeIdx, idx, idxKey, type Expr, type Idx } from './ir/nodes.ts';
import { freshNames, nodes } from './ir/walk.ts';
import type { IRModule, Sizes } from './ir/module.ts';
import { lower, lowerDiagnostics } from './lower/lower.ts';
import { lowerScore, type PairsForm, type RowsForm, type TuplesForm, type Unavailable } from './lower/score.ts';
import { batchKey, isTupleSpace, totalKey } from './ir/spaces.ts';
import type { Model } from './check/model.ts';
import { parse } from './syntax/parse.ts';
import { cost, formatBytes, formatCount, type Cost } from './passes/cost.ts';
import { optimize, type RewriteStep } from './passes/pipeline.ts';
import { simplify } from './passes/simplify.ts';
import { rewritePairs } from './passes/fm-pairwise.ts';
import type { Trace } from './rewrite/engine.ts';
import { rowGradient, rowSpaces, type RowGradient } from './passes/row-support.ts';
import { gradientCostDiagnostics, plannedCost } from './gradient-cost.ts';
import { stepSizes } from './step-sizes.ts';
import { factorScore, type NoFactors, type ScoreFactors } from './passes/score-factors.ts';
import { neighbourScore, type NeighbourScore } from './passes/neighbour-score.ts';
import { sourceFile, type SourceFile } from './diagnostics/source.ts';
import { alsBlocks, alsDiagnostics, deriveBlock } from './passes/block-quadratic.ts';
import { factorSumRules } from './passes/factor-sums.ts';
import { rewrite } from './rewrite/engine.ts';
import { printIR } from './ir/print.ts';

export interface CompiledExpr {
  readonly written: Expr;
  readonly expr: Expr;
  readonly steps: readonly RewriteStep[];
  readonly costWritten: Cost;
  readonly cost: Cost;
  /** with `trace: true`: every rule that fired to produce `expr`, in order; for a gradient from the
   * objective on (fm-pairwise on the objective, δ-elimination of the derivative, then the pipeline) */
  readonly trace?: readonly TraceStep[];
}

/** One rule firing (or search result kept): the node it rewrote and its replacement. */
export interface TraceStep {
  readonly rule: string;
  readonly before: Expr;
  readonly after: Expr;
}

export interface CompiledTerm extends CompiledExpr {
  readonly name: string;
  readonly role: 'loss' | 'reg';
}

export interface CompiledGrad extends CompiledExpr {
  readonly param: string;
  /** free indices of `expr`, one per axis of the param */
  readonly out: readonly Idx[];
  /**
   * when every term reaches the param through a batch's id column (sampled and mini-batch terms):
   * the gradient at the touched rows only; the trainer evaluates and updates just those rows
   */
  readonly rows?: RowGradient;
}

export type { NoFactors, RowGradient, ScoreFactors, Unavailable };

/**
 * The forms of `def score` that evaluation and `recc recommend` execute (compiler/lower/score.ts),
 * each with its free indices `out`. Tuples and pairs are evaluated as written (one dot product per
 * output cell); rows go through the pipeline like a term, so that a `j < l in x` pair sum becomes
 * FM's O(k·nnz) form instead of O(nnz²) per row.
 */
export interface CompiledScore {
  /** the relation whose test side is scored; it keeps this name on the test side */
  readonly relation: string;
  readonly tuples: (TuplesForm & CompiledExpr) | Unavailable;
  readonly rows: (RowsForm & CompiledExpr) | Unavailable;
  readonly pairs: (PairsForm & CompiledExpr) | Unavailable;
  /** the pairs form as user-side × item-side products (passes/score-factors.ts): what serving stores */
  readonly factors: ScoreFactors | NoFactors;
  /** with a `neighbours` table: the score as a walk over the user's items (passes/neighbour-score.ts) */
  readonly neighbours?: NeighbourScore;
}

/**
 * One block of `optimizer als` (compiler/passes/block-quadratic.ts): each row r of the param (or the
 * whole param, without a row axis) minimizes exactly by solving H_r p_r = −g_r(0). `hessian` is over
 * [row?, k…, l…] (`out`), `gradAtZero` over [row?, k…]; `width` is the length of p_r.
 */
export interface CompiledBlock {
  readonly param: string;
  readonly hasRowAxis: boolean;
  readonly hessian: CompiledExpr & { readonly out: readonly Idx[] };
  readonly gradAtZero: CompiledExpr & { readonly out: readonly Idx[] };
}

export interface Compiled {
  readonly model: Model;
  readonly module: IRModule;
  readonly terms: readonly CompiledTerm[];
  readonly grads: readonly CompiledGrad[];
  /** undefined when the model declares no data relation (nothing to evaluate) */
  readonly score: CompiledScore | undefined;
  /** the sizes the cost model used */
  readonly sizes: Sizes;
  /** with `optimizer als`: the blocks in update order, with their normal equations */
  readonly blocks?: readonly CompiledBlock[];
}

export interface CompileResult {
  readonly compiled: Compiled | undefined;
  readonly diagnostics: readonly Diagnostic[];
  readonly sources: ReadonlyMap<string, SourceFile>;
}

export interface CompileOptions {
  readonly sets?: ReadonlyMap<string, number>;
  /**
   * actual sizes of domains and relations, when the data is known; hints otherwise. As a function it
   * is given the lowered module (its spaces and samplers), so that a caller holding the loaded data
   * sizes every space in the same compilation (`recc run` compiles once, after loading the data)
   */
  readonly sizes?: Sizes | ((module: IRModule) => Sizes);
  /** keep terms as written (no expand+contract) — for comparisons */
  readonly rewrite?: boolean;
  /** run terms that stay all-pairs after rewriting (a warning instead of RC0530) */
  readonly allowDense?: boolean;
  /** record every rule that fires, per term and gradient (`recc explain --trace`) */
  readonly trace?: boolean;
}

/** Size hints for the cost model when the data is not loaded: typical catalogue sizes. */
export const DEFAULT_DOMAIN_SIZE = 1000;
export const DEFAULT_RELATION_SIZE = 100_000;

export function completeSizes(module: IRModule, given: Sizes | undefined): Map<string, number> {
  const out = new Map<string, number>(given ?? []);
  // a sample set `J ~ s(item) x K` draws K ids per step, an in-batch set holds the batch's ids
  for (const sm of module.samplers) if (sm.kind === 'set' && sm.count > 0 && !out.has(sm.space)) out.set(sm.space, sm.count);
  for (const s of module.spaces.values()) {
    if (s.kind === 'dim') out.set(s.name, s.size);
    else if (!out.has(s.name)) out.set(s.name, s.kind === 'domain' ? DEFAULT_DOMAIN_SIZE : DEFAULT_RELATION_SIZE);
    if (s.kind === 'domain' && !out.has(totalKey(s.name))) out.set(totalKey(s.name), out.get(s.name)!);
    if (isTupleSpace(s)) {
      if (!out.has(totalKey(s.name))) out.set(totalKey(s.name), out.get(s.name)!);
      if (!out.has(batchKey(s.name))) out.set(batchKey(s.name), out.get(s.name)!);
    }
  }
  for (const sm of module.samplers) {
    if (sm.kind === 'set' && sm.dist === 'inbatch' && sm.source && !given?.has(sm.space)) out.set(sm.space, out.get(batchKey(sm.source)) ?? out.get(sm.space)!);
  }
  return out;
}

/** Lowers and compiles a checked model; one compilation, so its fresh index names start at 1 (`freshNames`). */
export function compileModel(model: Model, opts: CompileOptions = {}): { compiled: Compiled | undefined; diagnostics: readonly Diagnostic[] } {
  return freshNames(() => compileChecked(model, opts));
}

function compileChecked(model: Model, opts: CompileOptions): { compiled: Compiled | undefined; diagnostics: readonly Diagnostic[] } {
  const lowered = lower(model);
  if (!lowered.module) return { compiled: undefined, diagnostics: lowered.diagnostics };
  const module = lowered.module;
  const sizes = completeSizes(module, typeof opts.sizes === 'function' ? opts.sizes(module) : opts.sizes);
  const sizeOf = (s: string): number => sizes.get(s) ?? DEFAULT_DOMAIN_SIZE;
  // params too large for the backends at the given sizes (the data's), before any rewriting or allocation
  if (opts.sizes !== undefined) {
    const tooLarge = paramSizeDiagnostics(model, sizeOf);
    if (tooLarge.length) return { compiled: undefined, diagnostics: [...lowered.diagnostics, ...tooLarge] };
  }
  // with opts.trace, `recorder` collects the firings of one term or gradient
  const recorder = (): { steps: TraceStep[]; trace: Trace | undefined } => {
    const steps: TraceStep[] = [];
    return { steps, trace: opts.trace ? (rule, before, after) => steps.push({ rule, before, after }) : undefined };
  };
  const run = (written: Expr, rec = recorder()): CompiledExpr => {
    const o = optimize(written, { sizeOf, rewrite: opts.rewrite, spaces: module.spaces, trace: rec.trace });
    const traced = opts.trace ? { trace: rec.steps } : {};
    return { written, expr: o.expr, steps: o.steps, costWritten: cost(written, sizeOf), cost: cost(o.expr, sizeOf), ...traced };
  };
  const terms = module.terms.map((t) => ({ name: t.name, role: t.role, ...run(t.expr) }));
  // an ALS block's forms: walks over the same tuples with symbolic coefficients run once (factor-sums.ts)
  const factored = (c: CompiledExpr): CompiledExpr => {
    const expr = rewrite(c.expr, factorSumRules);
    if (expr === c.expr) return c;
    const after = cost(expr, sizeOf);
    return { ...c, expr, cost: after, steps: [...c.steps, { rule: 'factor-shared-sum', before: printIR(c.expr), after: printIR(expr), costBefore: c.cost, costAfter: after }] };
  };
  // pair sums are rewritten before differentiation (see fm-pairwise.ts); every gradient's trace
  // starts with these firings
  const pairs = recorder();
  const objective = rewritePairs(add(...module.terms.map((t) => t.expr)), pairs.trace);
  const alsProblems = alsDiagnostics(model, module);
  const blockParams = hasErrors(alsProblems) ? [] : alsBlocks(model, module);
  const blocks: CompiledBlock[] = [];
  const grads = module.params.map((p): CompiledGrad => {
    // output indices a', b', …: a quote cannot appear in a user's identifier, so nothing captures them
    const out = p.shape.map((s, j) => idx(`${String.fromCharCode(97 + j)}'`, s));
    // the baseline "as written" is the derivative after δ-elimination: what one would write by hand
    const rec = recorder();
    rec.steps.push(...pairs.steps);
    const simplified = simplify(grad(objective, p.name, out), rec.trace, module.spaces);
    if (blockParams.includes(p)) {
      // ALS: the block's normal equations from this gradient (passes/block-quadratic.ts)
      const eqs = deriveBlock(simplified, p, out, module.spaces);
      blocks.push({ param: p.name, hasRowAxis: eqs.hasRowAxis, hessian: { out: eqs.hessianOut, ...factored(run(eqs.hessian)) }, gradAtZero: { out: eqs.gradOut, ...factored(run(eqs.gradAtZero)) } });
    }
    const g = { param: p.name, out, ...run(simplified, rec) };
    const rows = rowGradient(p.name, g.expr, out, module.spaces);
    return rows ? { ...g, rows } : g;
  });
  const scored = compileScore(model, module.spaces, sizeOf);
  const tableProblems = scored.problem ? [scored.problem] : [];
  const score = scored.score;
  // the touched-rows spaces join the space table (the planner and the trainer size them per step)
  const rowsSpaces = rowSpaces(grads.flatMap((g) => (g.rows ? [g.rows] : [])));
  const compiledModule: IRModule = rowsSpaces.size ? { ...module, spaces: new Map([...module.spaces, ...rowsSpaces]) } : module;
  // a term left all-pairs only because that is cheaper at these sizes (small data) or because of
  // --no-rewrite has a contracted form: RC0530 is for terms that stay all-pairs at catalogue scale
  const atScale = (s: string): number => (module.spaces.get(s)?.kind === 'domain' ? Math.max(sizeOf(s), 1e6) : sizeOf(s));
  const contractibleMemo = new Map<number, boolean>();
  const contractible = (written: Expr): boolean => {
    let hit = contractibleMemo.get(written.id);
    if (hit === undefined) contractibleMemo.set(written.id, (hit = findDense(optimize(written, { sizeOf: atScale, spaces: module.spaces }).expr, module.spaces) === undefined));
    return hit;
  };
  const dense = denseDiagnostics(model, module.spaces, terms, sizeOf, opts.allowDense === true, contractible);
  // the cheap-gradient invariant (gradient-cost.ts): a term's gradient left all-pairs, or costing
  // more than 4× the term; each term is differentiated on its own only when its param's gradient fails
  const termGradient = (t: { written: Expr }, g: { param: string; out: readonly Idx[] }): CompiledExpr & { rows?: RowGradient } => {
    const d = run(simplify(grad(rewritePairs(t.written), g.param, g.out), undefined, module.spaces));
    const rows = rowGradient(g.param, d.expr, g.out, module.spaces);
    return rows ? { ...d, rows } : d;
  };
  const gradientCost = gradientCostDiagnostics({
    model,
    terms,
    grads,
    sizeOf,
    planned: plannedCost(compiledModule.spaces, stepSizes(model, module, sizes)),
    termGradient,
    dense: (x) => {
      const pairs = findDense(x.expr, module.spaces);
      return pairs && !contractible(x.written) ? pairs : undefined;
    },
    allowDense: opts.allowDense === true,
  });
  const diagnostics = [...lowered.diagnostics, ...tableProblems, ...alsProblems, ...dense, ...gradientCost, ...perExampleDomainDiagnostics(model, module.spaces, terms, sizeOf)];
  if (hasErrors(diagnostics)) return { compiled: undefined, diagnostics };
  const ordered = blockParams.map((p) => blocks.find((b) => b.param === p.name)!);
  return { compiled: { model, module: compiledModule, terms, grads, score, sizes, ...(ordered.length ? { blocks: ordered } : {}) }, diagnostics };
}

/** The score forms, rewritten where evaluation rewrites them (see CompiledScore). */
function compileScore(model: Model, spaces: IRModule['spaces'], sizeOf: (s: string) => number): { score: CompiledScore | undefined; problem?: Diagnostic } {
  const forms = lowerScore(model);
  // a model with a neighbours table is served and evaluated by its neighbour form only (RC0623 if none)
  const tables = new Set(model.neighbours.map((t) => t.name));
  const table = model.neighbours[0];
  const problem = (reason: string): Diagnostic => {
    const def = model.defs.get('score');
    return { code: 'RC0623', severity: 'error', message: `\`def score\` does not read the neighbours table \`${table!.name}\` as ItemCF does`, span: def ? def.decl.name.span : table!.decl.name.span, label: 'not a neighbour score', notes: [{ message: reason }], help: `write \`def score(u, i) = sum(j in item: ((u, j) in ${table!.neighbours!.relation}) * ${table!.name}[j, i])\`` };
  };
  if (!forms) return table ? { score: undefined, problem: problem('the model has no `def score` over a relation') } : { score: undefined };
  let neighbours: NeighbourScore | undefined;
  if (table) {
    if (forms.pairs.kind === 'unavailable') return { score: undefined, problem: problem(forms.pairs.reason) };
    const n = neighbourScore(forms.pairs.expr, forms.pairs.out[0]!, forms.pairs.out[1]!, tables, spaces);
    if (n.kind === 'unavailable') return { score: undefined, problem: problem(n.reason) };
    neighbours = n;
  }
  const asWritten = (written: Expr): CompiledExpr => {
    const c = cost(written, sizeOf);
    return { written, expr: written, steps: [], costWritten: c, cost: c };
  };
  const { tuples, rows, pairs } = forms;
  const optimized = (written: Expr): CompiledExpr => {
    const o = optimize(written, { sizeOf, spaces });
    return { written, expr: o.expr, steps: o.steps, costWritten: cost(written, sizeOf), cost: cost(o.expr, sizeOf) };
  };
  return {
    score: {
      relation: forms.relation,
      tuples: tuples.kind === 'unavailable' ? tuples : { ...tuples, ...asWritten(tuples.expr) },
      rows: rows.kind === 'unavailable' ? rows : { ...rows, ...optimized(rows.expr) },
      pairs: pairs.kind === 'unavailable' ? pairs : { ...pairs, ...asWritten(pairs.expr) },
      factors: pairs.kind === 'unavailable' ? pairs : factorScore(pairs.expr, pairs.out[0], pairs.out[1], spaces),
      ...(neighbours ? { neighbours } : {}),
    },
  };
}

/** A loop node: a Σ or a max/min reduction (the same iteration space, the same cost). */
type LoopNode = Extract<Expr, { op: 'sum' | 'reduce' }>;

function isLoop(n: Expr): n is LoopNode {
  return n.op === 'sum' || n.op === 'reduce';
}

/** Index variables over domains that a sum node loops over together (δ-paired ones excluded). */
function denseDomains(n: LoopNode, spaces: IRModule['spaces']): string[] {
  const loop = [...freeIdx(n).values(), ...n.over].filter((i) => spaces.get(i.space)?.kind === 'domain');
  const factors = n.body.op === 'mul' ? n.body.args : [n.body];
  const paired = new Set<string>();
  for (const f of factors) {
    if (f.op !== 'eq') continue;
    for (const x of [f.a, f.b]) if (x.kind === 'var') paired.add(idxKey(x.idx));
  }
  return loop.filter((i) => !paired.has(idxKey(i))).map((i) => i.space);
}

/** The domains of the first sum in `e` that loops over two or more domains at once, if any. */
function findDense(e: Expr, spaces: IRModule['spaces']): string[] | undefined {
  return nodes(e)
    .filter(isLoop)
    .map((n) => denseDomains(n, spaces))
    .find((d) => d.length >= 2);
}

/**
 * A term (or gradient) that still loops over two domains at once after rewriting costs
 * O(|user|·|item|·…) per evaluation: an error with its cost and a help line, unless allowed.
 */
function denseDiagnostics(
  model: Model,
  spaces: IRModule['spaces'],
  terms: readonly CompiledTerm[],
  sizeOf: (s: string) => number,
  allow: boolean,
  contractible: (written: Expr) => boolean,
): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const t of terms) {
    const dense = findDense(t.expr, spaces);
    if (!dense || contractible(t.written)) continue;
    const decl = model.terms.find((x) => x.name === t.name)!.decl;
    out.push({
      code: 'RC0530',
      severity: allow ? 'warning' : 'error',
      message: `${t.role} \`${t.name}\` still visits every ${dense.map((d) => `\`${d}\``).join(' × ')} pair after rewriting`,
      span: decl.name.span,
      label: `${formatCount(t.cost.flops)} FLOPs per evaluation`,
      notes: [
        { message: `cost at ${[...new Set(dense)].map((d) => `|${d}| = ${sizeOf(d)}`).join(', ')}: ${formatCount(t.cost.flops)} FLOPs and ${formatBytes(t.cost.memory)} of intermediates per evaluation` },
        { message: 'only polynomials of the score (squares, products, membership-weighted squares) have an all-pairs form the compiler can contract' },
      ],
      help: allow
        ? 'running it exactly, in chunks, because --allow-dense was given'
        : 'sample the negatives instead, e.g. `mean((u, i) in likes, j ~ uniform(item): …)`, or pass --allow-dense to run it exactly (slow)',
    });
  }
  return out;
}

/**
 * A sum over a whole domain evaluated once per tuple of a relation — a full softmax,
 * `logsumexp(j in item: score(u, j))` per liked pair — that the rewrites did not contract: exact, but
 * O(|item|·d) per example. A warning with the cost, not an error: it is what the model says, and small
 * catalogues afford it (ML-100K's 1682 items); sampling is the scalable alternative.
 */
function perExampleDomainDiagnostics(model: Model, spaces: IRModule['spaces'], terms: readonly CompiledTerm[], sizeOf: (s: string) => number): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const t of terms) {
    const hit = nodes(t.expr)
      .filter(isLoop)
      .map((n) => ({
        op: n.op,
        domains: n.over.filter((i) => spaces.get(i.space)?.kind === 'domain').map((i) => i.space),
        rels: [...freeIdx(n).values()].filter((i) => isTupleSpace(spaces.get(i.space))).map((i) => i.space),
      }))
      .filter((x) => x.domains.length > 0 && x.rels.length > 0)
      // a logsumexp is a max and a Σ over the same space: name it by its Σ (a full softmax)
      .sort((a, b) => Number(a.op !== 'sum') - Number(b.op !== 'sum'))[0];
    if (!hit) continue;
    const decl = model.terms.find((x) => x.name === t.name)!.decl;
    const doms = [...new Set(hit.domains)];
    const rel = hit.rels[0]!;
    const perExample = t.cost.flops / Math.max(1, sizeOf(rel));
    out.push({
      code: 'RC0531',
      severity: 'warning',
      message:
        hit.op === 'sum'
          ? `${t.role} \`${t.name}\` sums over every ${doms.map((d) => `\`${d}\``).join(' × ')} for each tuple of \`${rel}\` (a full softmax)`
          : `${t.role} \`${t.name}\` takes a max or min over every ${doms.map((d) => `\`${d}\``).join(' × ')} for each tuple of \`${rel}\``,
      span: decl.name.span,
      label: `O(${doms.map((d) => `|${d}|`).join('·')}·d) per example`,
      notes: [
        { message: `cost at ${doms.map((d) => `|${d}| = ${sizeOf(d)}`).join(', ')}, |${rel}| = ${sizeOf(rel)}: ${formatCount(t.cost.flops)} FLOPs per evaluation, about ${formatCount(perExample)} per example (the gradients cost as much again)` },
      ],
      help:
        hit.op === 'sum'
          ? `fine for a small catalogue; for a large one sample the normalizer, e.g. \`J ~ pop(${doms[0]}, 0.75) x 100\` and \`sampled_softmax(…)\``
          : `fine for a small catalogue; for a large one take it over sampled candidates, e.g. \`J ~ uniform(${doms[0]}) x 100\` and \`max(j in J: …)\``,
    });
  }
  return out;
}

export interface CheckSourceResult {
  readonly model: Model | undefined;
  readonly diagnostics: readonly Diagnostic[];
  readonly sources: ReadonlyMap<string, SourceFile>;
}

/**
 * The front end alone: parses one model file's text, reads and parses its imports (resolved against
 * `path` and the package's std/), and checks it. `sources` holds every file read, so diagnostics in an
 * imported file render with that file's lines. Stops after the first stage that reports an error.
 */
export function checkSource(path: string, text: string, opts: Pick<CompileOptions, 'sets'> = {}): CheckSourceResult {
  const src = sourceFile(path, text);
  const sources = new Map([[path, src]]);
  const parsed = parse(src);
  if (!parsed.program || hasErrors(parsed.diagnostics)) return { model: undefined, diagnostics: parsed.diagnostics, sources };
  const imported = resolveImports(parsed.program, resolvePath(path));
  imported.sources.forEach((s, file) => sources.set(file, s));
  if (hasErrors(imported.diagnostics)) return { model: undefined, diagnostics: [...imported.diagnostics, ...parsed.diagnostics], sources };
  const checked = check(parsed.program, { sets: opts.sets, imports: imported.files });
  return { model: checked.model, diagnostics: [...imported.diagnostics, ...parsed.diagnostics, ...checked.diagnostics], sources };
}

export type CheckAndLowerResult = CheckSourceResult;

/**
 * What `recc check` runs: the front end (`checkSource`), then lowering for its diagnostics alone
 * (RC0590, constructs the compiler cannot lower yet; `lowerDiagnostics` builds no module). Unlike `compileSource` it neither differentiates
 * nor rewrites: those cost seconds on a large model, grow faster than the file, and only judge costs
 * (RC0530, RC0531), which `recc explain`, `compile` and `run` report.
 */
export function checkAndLower(path: string, text: string, opts: Pick<CompileOptions, 'sets'> = {}): CheckAndLowerResult {
  const checked = checkSource(path, text, opts);
  if (!checked.model || hasErrors(checked.diagnostics)) return checked;
  const lowering = lowerDiagnostics(checked.model);
  // ALS's block conditions are proved on the IR: a model trained by ALS is lowered here too
  const als = checked.model.train.optimizer.kind === 'als' && !hasErrors(lowering) ? alsCheck(checked.model) : [];
  return { ...checked, diagnostics: [...checked.diagnostics, ...lowering, ...als] };
}

function alsCheck(model: Model): Diagnostic[] {
  return freshNames(() => {
    const lowered = lower(model);
    return lowered.module ? alsDiagnostics(model, lowered.module) : [];
  });
}

/** Parses, checks (imports included, see `checkSource`) and compiles one model file's text. */
export function compileSource(path: string, text: string, opts: CompileOptions = {}): CompileResult {
  const checked = checkSource(path, text, opts);
  const { diagnostics, sources } = checked;
  if (!checked.model || hasErrors(diagnostics)) return { compiled: undefined, diagnostics, sources };
  const result = compileModel(checked.model, opts);
  return { compiled: result.compiled, diagnostics: [...diagnostics, ...result.diagnostics], sources };
}

export function compileFile(path: string, opts: CompileOptions = {}): CompileResult {
  return compileSource(path, readFileSync(path, 'utf8'), opts);
}

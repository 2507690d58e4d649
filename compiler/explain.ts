// explain: a compiled model as text, for a modeller. For every loss/reg term and every param's
// gradient: the form as written, the rules that fired, the form the kernels run, and FLOPs and
// intermediate memory per training step before and after; then the whole step as planned (the
// kernels a run executes, shared temps counted once). Costs come from the one cost model
// (passes/cost.ts) at the sizes of one training step — from the model's own data when the caller
// loaded it. Forms print with public names only (ir/print.ts `printForm`). Pure: returns a string.
import type { Compiled, CompiledExpr, TraceStep } from './compile.ts';
import type { Sizes } from './ir/module.ts';
import { formFreeNames, printForm } from './ir/print.ts';
import { batchKey, columnKey, displayName, publicNames, totalKey, type PublicNames } from './ir/spaces.ts';
import { cost, formatBytes, formatCount, type Cost } from './passes/cost.ts';
import { planGroup, type GroupPlan } from './plan/plan.ts';
import { stepSizes } from './step-sizes.ts';

/** No line of explain's output is longer than this. */
export const MAX_LINE = 160;

export interface ExplainOptions {
  /** sizes of one training step (default: the compile-time sizes, batched as the model says) */
  readonly step?: Sizes;
  /** params whose gradient a step evaluates at its touched rows only */
  readonly atRows?: ReadonlySet<string>;
  /** where the sizes come from, in words (`examples/data/ratings.tsv`, `--sizes`, …) */
  readonly sizesFrom?: string;
  /** every rule that fired, in order, per term and gradient (`recc explain --trace`; needs `c` compiled with `trace: true`) */
  readonly trace?: boolean;
}

/**
 * The plan of one training step, as the trainer requests it: every term, then every gradient; for
 * `optimizer als`, the first block update (every term, then that block's H and g(0): runtime/train/als.ts).
 */
export function trainingStepPlan(c: Compiled, step: Sizes, atRows: ReadonlySet<string> = new Set()): GroupPlan {
  const first = c.blocks?.[0];
  if (first) {
    const block = [{ expr: first.hessian.expr, out: first.hessian.out }, { expr: first.gradAtZero.expr, out: first.gradAtZero.out }];
    return planGroup([...c.terms.map((t) => ({ expr: t.expr, out: [] })), ...block], c.module.spaces, step);
  }
  const items = [
    ...c.terms.map((t) => ({ expr: t.expr, out: [] })),
    ...c.grads.map((g) => (g.rows && atRows.has(g.param) ? { expr: g.rows.expr, out: g.rows.out } : { expr: g.expr, out: g.out })),
  ];
  return planGroup(items, c.module.spaces, step);
}

/** Step sizes when no data was loaded (compiler/step-sizes.ts). */
export function stepSizesOf(c: Compiled, full: Sizes): Map<string, number> {
  return stepSizes(c.model, c.module, full);
}

/**
 * Applies `--sizes` given by public names (`user=6040`, `ratings=1000209`, `clicks.x=…` for the
 * non-zeros of sparse column x) to the full sizes; unknown names come back in `unknown`.
 */
export function sizesByPublicName(c: Compiled, full: Sizes, given: ReadonlyMap<string, number>): { sizes: Map<string, number>; unknown: string[]; known: string[] } {
  const out = new Map(full);
  const byPublic = new Map<string, string>();
  for (const s of c.module.spaces.values()) if (s.kind !== 'dim' && s.kind !== 'touched-rows') byPublic.set(displayName(s), s.name);
  const unknown: string[] = [];
  for (const [name, n] of given) {
    const space = byPublic.get(name);
    if (!space) {
      unknown.push(name);
      continue;
    }
    for (const k of [space, totalKey(space), batchKey(space)]) out.set(k, n);
  }
  return { sizes: out, unknown, known: [...byPublic.keys()].sort() };
}

function costLine(label: string, c: Cost): string {
  return `${label}${formatCount(c.flops)} FLOPs, ${formatBytes(c.memory)} of intermediates`;
}

/** What the rules did to the cost, honestly: a rewrite that fired is never reported as "kept as written". */
function verdict(fired: boolean, before: Cost, after: Cost): string {
  if (!fired) return '  (no rule applies; runs as written)';
  if (after.flops <= 0) return '';
  const r = before.flops / after.flops;
  if (r >= 1.05) return `  (${r >= 100 ? r.toFixed(0) : r.toFixed(1)}× fewer FLOPs)`;
  if (r > 1 / 1.05) return '  (rewritten; about the same FLOPs at these sizes)';
  return `  (rewritten; ${(1 / r).toFixed(1)}× more FLOPs at a step's sizes, chosen at the data's full sizes)`;
}

/** Words wrapped at MAX_LINE: the first line after `head`, the others indented by `indent` spaces. */
export function wrap(head: string, text: string, indent: number): string[] {
  const lines: string[] = [];
  let cur = head;
  const pad = ' '.repeat(indent);
  const tokens = text.split(/(?<= )/); // keep each space with the word before it
  for (const tok of tokens) {
    if (cur.length + tok.trimEnd().length > MAX_LINE && cur.trim().length > 0 && cur !== head) {
      lines.push(cur.trimEnd());
      cur = pad;
    }
    // a single token longer than a line is cut
    let t = tok;
    while (cur.length + t.trimEnd().length > MAX_LINE) {
      const room = Math.max(1, MAX_LINE - cur.length);
      lines.push(cur + t.slice(0, room));
      t = t.slice(room);
      cur = pad;
    }
    cur += t;
  }
  if (cur.trim().length) lines.push(cur.trimEnd());
  return lines;
}

/** `simplify → expand+contract → expand+contract` as `simplify → expand+contract ×2`. */
export function ruleList(rules: readonly string[]): string {
  const out: string[] = [];
  for (let j = 0; j < rules.length; ) {
    let n = 1;
    while (rules[j + n] === rules[j]) n++;
    out.push(n > 1 ? `${rules[j]} ×${n}` : rules[j]!);
    j += n;
  }
  return out.join(' → ');
}

export const RULE_MEANING: Readonly<Record<string, string>> = {
  simplify: 'δ-elimination: sum(x: [x = y]·g(x)) = g(y)',
  'fm-pairwise': 'sum over pairs j < l of a symmetric a_j·a_l = ½((sum_j a_j)² − sum_j a_j²), O(k·nnz) instead of O(k·nnz²)',
  'expand+contract': 'powers of sums expanded, then the summation order chosen by cost (Gramians such as UᵀU)',
  'split-default': 'sum over all pairs at the default + a correction on the observed tuples',
  'factor-shared-sum': 'a·S + b·S = (a + b)·S for one sum S: the walk runs once (ALS blocks)',
};

/** The firings of one term or gradient, numbered: the rule, the form it rewrote, its replacement. */
function traceLines(steps: readonly TraceStep[], free: readonly { name: string; space: string }[], names: PublicNames): string[] {
  if (steps.length === 0) return ['  trace:     (no rule fired)'];
  const w = String(steps.length).length;
  const pad = ' '.repeat(w);
  return [
    '  trace:',
    ...steps.flatMap((s, j) => [
      `    ${String(j + 1).padStart(w)}. ${s.rule}`,
      ...wrap(`    ${pad}    `, printForm(s.before, { free, names }), 8 + w),
      ...wrap(`    ${pad}  → `, printForm(s.after, { free, names }), 8 + w),
    ]),
  ];
}

export function explainCompiled(c: Compiled, opts: ExplainOptions = {}): string {
  const step = opts.step ?? stepSizesOf(c, c.sizes);
  const sizeOf = (s: string): number => step.get(s) ?? c.sizes.get(s) ?? 0;
  const names = publicNames(c.module.spaces, c.module.samplers);
  const out: string[] = [`model ${c.model.name} — costs per training step${opts.sizesFrom ? `, sizes from ${opts.sizesFrom}` : ' at the compiler\'s default sizes (no data loaded)'}`];
  out.push(...sizeLines(c, step));
  out.push('');
  const block = (title: string, x: CompiledExpr, free: readonly { name: string; space: string }[]): string[] => {
    const lines = [title];
    lines.push(...wrap('  written:   ', printForm(x.written, { free, names }), 13));
    const rules = x.steps.map((s) => s.rule);
    lines.push(...wrap('  rules:     ', rules.length ? ruleList(rules) : '(none fired)', 13));
    lines.push(...wrap('  rewritten: ', printForm(x.expr, { free, names }), 13));
    const before = cost(x.written, sizeOf);
    const after = cost(x.expr, sizeOf);
    lines.push(costLine('  cost as written: ', before));
    lines.push(costLine('  cost rewritten:  ', after) + verdict(rules.some((r) => r !== 'simplify'), before, after));
    if (opts.trace) lines.push(...(x.trace ? traceLines(x.trace, free, names) : ['  trace:     (not recorded: compile with `trace: true`)']));
    return lines;
  };
  const fired = new Set<string>();
  for (const t of c.terms) {
    t.steps.forEach((s) => fired.add(s.rule));
    out.push(...block(`${t.role} ${t.name}`, t, []), '');
  }
  for (const g of c.grads) {
    g.steps.forEach((s) => fired.add(s.rule));
    const free = g.out.map((i) => ({ name: i.name, space: i.space }));
    const axes = formFreeNames({ free, names }).join(', ');
    const rows = g.rows
      ? opts.atRows === undefined || opts.atRows.has(g.param)
        ? `  row-sparse: only the rows named by ${g.rows.sources.map((s) => names.tensor(columnKey(s.rel, s.col))).join(' ∪ ')} in a step's batch are computed and updated`
        : `  row-sparse, but a step's batch touches nearly every row of ${g.param}: computed densely, updated at the touched rows`
      : `  dense: computed and applied over all of ${g.param} each step`;
    out.push(...block(`gradient ∂objective/∂${g.param}[${axes}]`, g, free), ...wrap('', rows, 2), '');
  }
  const opt = c.model.train.optimizer;
  for (const b of c.blocks ?? []) {
    const hFree = b.hessian.out.map((i) => ({ name: i.name, space: i.space }));
    const gFree = b.gradAtZero.out.map((i) => ({ name: i.name, space: i.space }));
    const h = formFreeNames({ free: hFree, names });
    const g = formFreeNames({ free: gFree, names });
    const row = b.hasRowAxis ? `${h[0]}; ` : '';
    const k = b.hasRowAxis ? h.slice(1, g.length) : h.slice(0, g.length);
    const l = h.slice(g.length);
    const n = (b.hasRowAxis ? b.gradAtZero.out.slice(1) : b.gradAtZero.out).reduce((a, i) => a * sizeOf(i.space), 1);
    const solver = opt.kind === 'als' && opt.solver.kind === 'cg' ? `${opt.solver.steps} CG steps` : 'a Cholesky factorization';
    const rows = b.hasRowAxis ? `one ${n}×${n} system per ${names.space(b.gradAtZero.out[0]!.space)} ${h[0]}` : `one ${n}×${n} system`;
    [b.hessian, b.gradAtZero].forEach((x) => x.steps.forEach((st) => fired.add(st.rule)));
    out.push(`ALS block ${b.param}: ${rows}, H·${b.param}[${row}${k.join(', ')}] = −g(0), solved by ${solver}`);
    out.push(...block(`  H[${row}${k.join(', ')}; ${l.join(', ')}] = ∂²objective/∂${b.param}[${row}${k.join(', ')}]∂${b.param}[${row}${l.join(', ')}]`, b.hessian, hFree).map((x) => `  ${x}`.replace(/^ {2}(?= {2}\S)/, '')));
    out.push(...block(`  g(0)[${row}${g.slice(b.hasRowAxis ? 1 : 0).join(', ')}] = ∂objective/∂${b.param}[${g.join(', ')}] at ${b.param} = 0`, b.gradAtZero, gFree).map((x) => `  ${x}`.replace(/^ {2}(?= {2}\S)/, '')), '');
  }
  if (fired.size) {
    out.push('rules:');
    for (const r of [...fired].sort()) out.push(...wrap(`  ${r}: `, RULE_MEANING[r] ?? '', 4));
    out.push('');
  }
  const all = [...c.terms, ...c.grads];
  const before = all.reduce((a, x) => a + cost(x.written, sizeOf).flops, 0);
  const plan = trainingStepPlan(c, step, opts.atRows);
  const kernels = plan.steps.filter((s) => s.kind === 'kernel').length;
  out.push(`total per training step: ${formatCount(before)} FLOPs as written → ${formatCount(plan.cost.flops)} FLOPs as planned, ${formatBytes(plan.cost.bytes / 4)} of temps`);
  out.push(`  (the step's plan: ${kernels} kernels and ${plan.steps.length - kernels} host steps; temps shared by terms and gradients counted once)`);
  if (c.blocks?.length) out.push(`  (optimizer als: a step is one block update, here ${c.blocks[0]!.param}'s — terms, H and g(0) — and a sweep updates ${c.blocks.map((b) => b.param).join(', ')})`);
  const ub = c.model.train.batch;
  if (c.blocks?.length && ub.kind === 'users') {
    // runtime/train/als.ts alsBatches: the blocks whose rows are the batched domain
    const rowsOf = c.blocks.filter((b) => b.hasRowAxis && c.module.params.find((p) => p.name === b.param)?.shape[0] === ub.domain).map((b) => b.param);
    if (rowsOf.length) out.push(`  (batch ${ub.size} ${ub.domain}s: ${rowsOf.join(', ')} solved ${ub.size} rows at a time, H for ${ub.size} rows in memory; the other blocks on all the data)`);
  }
  return out.join('\n');
}

/** The sizes a step runs at, by public name, with what each means. */
function sizeLines(c: Compiled, step: Sizes): string[] {
  const parts: string[] = [];
  const notes: string[] = [];
  const batch = c.model.train.batch;
  for (const s of c.module.spaces.values()) {
    const n = step.get(s.name);
    if (n === undefined) continue;
    if (s.kind === 'dim') parts.push(`|${s.name}| = ${n}`);
    else if (s.kind === 'domain') {
      const total = step.get(totalKey(s.name));
      parts.push(total !== undefined && total !== n ? `|${s.name}| = ${n} of ${total} (a user batch)` : `|${s.name}| = ${n}`);
    } else if (s.kind === 'touched-rows') {
      if (n > 0) parts.push(`|${displayName(s)}| = ${n} (the rows of ${s.param} a step touches)`);
    } else {
      const total = step.get(totalKey(s.name)) ?? n;
      const pub = displayName(s);
      const sparse = s.kind === 'entries';
      const sample = s.kind === 'samples';
      if (sample) parts.push(`|${pub}| = ${n} (samples drawn per step)`);
      else if (sparse) parts.push(`|${pub}| = ${total} non-zeros, ${n} in a step's batch`);
      else if (total !== n) parts.push(`|${pub}| = ${total} tuples, B(${pub}) = ${n} per step`);
      else parts.push(`|${pub}| = ${n} tuples`);
    }
  }
  const batched = [...c.module.spaces.values()].some((s) => s.kind === 'relation' && (step.get(totalKey(s.name)) ?? 0) !== (step.get(s.name) ?? 0));
  if (batch.kind === 'tuples' || batched) {
    notes.push(
      `B(R) is the number of R's tuples in one training step (the mini-batch of \`train { … batch ${batch.kind === 'full' ? 'N' : batch.size} }\`; ` +
        'all of R when there is no batch): a mean over R divides by B(R), a sum over R is scaled by |R|/B(R).',
    );
  }
  if ([...c.module.spaces.values()].some((s) => s.kind === 'entries')) {
    notes.push('R.x ranges over the non-zero entries of sparse column x of R; for an entry n, x.row[n] is its row, x.feat[n] its feature, x.val[n] its value.');
  }
  notes.push('[a = b] is 1 when a = b and 0 otherwise; AᵀB is the matrix sum(u: A[u,k]·B[u,l]); ⟨A, B⟩ is sum(k, l: A[k,l]·B[k,l]).');
  return [...wrap('sizes: ', parts.join(', '), 7), ...notes.flatMap((n) => wrap('note: ', n, 6))];
}

// Codegen: one planned kernel step → recc's own JavaScript kernel for the CPU: the body of
// `function (out, p0, …)` that loops over the step's output cells with integer indices and writes
// each into `out` (a Float32Array). The expression code is kernel-body.ts's, shared with the gpu.js
// kernels; what differs from gpu.js:
// - output indices are nested loops (not one thread per cell), so a subterm of the outer indices is
//   computed once per outer iteration, not once per cell;
// - CSR walks loop over the segment's own bounds, and id columns, offsets and permutations are
//   Int32Arrays: no float32 index limit (any tensor that fits in memory);
// - row-vectorized CSR walks: when a step's value contains a CSR walk keyed by an outer output
//   index (∂U[a, k] = Σ_{t: user[t] = a} r[t]·V[item[t], k] + …), the row a is walked once and the
//   inner output indices (k) are the innermost loop, accumulating into a float64 row of sums, instead
//   of re-walking the row for every cell; likewise a split-K box over a relation walks its tuples
//   once with the free output indices inside, and a short output summed over a long index (a d×d
//   Gramian) loops the sum outermost; a partial Gramian symmetric in its two output indices sums the
//   cells b ≥ a and mirrors the rest (the same bits: the same products in the same order);
// - sums accumulate in float64 (JavaScript numbers), an inline sum over a dense index in four
//   interleaved partial sums; values are rounded to float32 when stored.
// Security: as for gpu.js, only generated identifiers (`out`, `p0`, `v3`, …), keywords, `Math.*`,
// `Float64Array` and finite numeric literals reach the source; user names only sanitized comments.
import { InternalError } from '../diagnostics/diagnostics.ts';
import { freeIdx, idx as mkIdx, idxKey, sum, type Expr, type ExprOf } from '../ir/nodes.ts';
import { substitute } from '../ir/walk.ts';
import { children, csrKey, csrOf, type Arg, type CsrLoop, type KernelPlan, type PlanIdx, type Step } from '../plan/plan.ts';
import { argLabel, commentText, Gen, int, needsTuple, rowMajor, splitSum } from './kernel-body.ts';

export interface EmittedJs {
  /** the function's body; its parameters are `params` */
  readonly source: string;
  /** `out`, then the step's arguments in order */
  readonly params: readonly string[];
  /** the step's arguments, in parameter order after `out` */
  readonly args: readonly Arg[];
}

/** A CSR walk of the step's value that is keyed by an output index: walked once per row. */
interface RowWalk {
  readonly s: ExprOf<'sum'>;
  readonly c: CsrLoop;
}

/**
 * The CSR walks (top-level sums, outside any other loop) whose key is an output index or a gather
 * through one, and the number of leading output indices that bind every key; undefined when that
 * leaves no inner output index to vectorize over.
 */
function rowWalks(step: Step): { walks: RowWalk[]; outer: number } | undefined {
  const outKeys = step.out.map((o) => idxKey(o));
  const bound = new Set(outKeys);
  const walks: RowWalk[] = [];
  let outer = 0;
  const seen = new Set<number>();
  const go = (e: Expr): void => {
    if (seen.has(e.id)) return;
    seen.add(e.id);
    if (e.op === 'reduce') return;
    if (e.op === 'sum') {
      const c = csrOf(e, bound);
      if (!c) return;
      const pos = outKeys.indexOf(idxKey(c.key.kind === 'var' ? c.key.idx : c.key.t));
      if (pos < 0 || [...freeIdx(e).keys()].some((k) => !bound.has(k))) return;
      walks.push({ s: e, c });
      outer = Math.max(outer, pos + 1);
      return;
    }
    for (const x of children(e)) go(x);
  };
  go(step.expr);
  return walks.length && outer < step.out.length ? { walks, outer } : undefined;
}

const flat = rowMajor;

/** Cells of a dense-rows step's float64 accumulator at most (it should stay in cache). */
const MAX_ROW_CELLS = 1 << 16;

/**
 * A step that is one sum over indices the output does not have, with no CSR walk at the top: looped
 * sum-outermost when the output is small (a d×d Gramian) and the sum long.
 */
function isDenseRows(step: Step, spaceSizes: Readonly<Record<string, number>>): boolean {
  const e = step.expr;
  if (e.op !== 'sum' || step.out.length === 0 || step.cells > MAX_ROW_CELLS) return false;
  if (csrOf(e, new Set(step.out.map((o) => idxKey(o))))) return false;
  const n = e.over.reduce((a, i) => a * (Object.hasOwn(spaceSizes, i.space) ? spaceSizes[i.space]! : 0), 1);
  return n >= 64;
}

/** Whether sum `s` over two free indices of one size is unchanged when they swap (a Gramian Σ_u U[u,a]·U[u,b]). */
function symmetricPair(s: Expr, free: readonly PlanIdx[]): boolean {
  if (free.length !== 2 || free[0]!.size !== free[1]!.size || free[0]!.space !== free[1]!.space) return false;
  const [a, b] = free.map((o) => mkIdx(o.name, o.space));
  return substitute(s, new Map([[idxKey(a!), { kind: 'var' as const, idx: b! }], [idxKey(b!), { kind: 'var' as const, idx: a! }]])).id === s.id;
}

/** Opens one loop per index, without hoisting (the caller evaluates at the innermost level). */
function openPlain(g: Gen, idx: readonly PlanIdx[]): string[] {
  return idx.map((i) => {
    const v = g.fresh('i');
    g.open(`for (let ${v} = 0; ${v} < ${int(i.size)}; ${v}++)`);
    g.bind(i, v);
    return v;
  });
}

/**
 * Opens one loop per index of `idx`, hoisting after each the subterms of `body` that no later loop
 * (nor an index of `later`, opened afterwards) changes; returns the loop variables.
 */
function openOut(g: Gen, idx: readonly PlanIdx[], body: Expr, later: readonly PlanIdx[] = []): string[] {
  const vars: string[] = [];
  idx.forEach((i, j) => {
    const v = g.fresh('i');
    g.open(`for (let ${v} = 0; ${v} < ${int(i.size)}; ${v}++)`);
    g.bind(i, v);
    vars.push(v);
    const rest = [...idx.slice(j + 1), ...later];
    if (rest.length) g.prehoist(body, g.availExcept(rest));
  });
  return vars;
}

/**
 * Walks row `c.key` once for every walk of `ws` (one CSR, one row: ∂P's Σ_t Q[i_t]·r_t and Σ_t
 * Q[i_t] read one pass over the row's tuples), adding each walk's body for every inner output cell
 * into its own accumulator. Each accumulator gets the same terms in the same order as in a walk of
 * its own, so the bytes are those of separate walks; the tuple's gathers are read once.
 */
function walkRows(g: Gen, ws: readonly RowWalk[], inner: readonly PlanIdx[], accs: readonly string[]): void {
  const c = ws[0]!.c;
  for (const acc of accs) g.line(`${acc}.fill(0.0);`);
  const key = g.ix(c.key);
  const off = g.arg(`off:${csrKey(c.rel, c.col)}`);
  const perm = g.arg(`perm:${csrKey(c.rel, c.col)}`);
  const lo = g.let(`${off}[${key}]`, 'w');
  const hi = g.let(`${off}[${key} + 1]`, 'w');
  const r = g.fresh('j');
  g.open(`for (let ${r} = ${lo}; ${r} < ${hi}; ${r}++)`);
  const t = ws.some((w) => needsTuple(w.s.body, w.c.t, c.rel, g.orderOf)) ? g.let(`${perm}[${r}]`, 'w') : r;
  const parts = ws.map((w) => {
    g.bind(w.c.t, t);
    g.bindWalk(w.c.t, { rel: c.rel, col: c.col, pos: r, key });
    g.remember(`e:${w.c.delta.id}`, '1.0');
    return { body: w.s.body, others: w.s.over.filter((i) => idxKey(i) !== idxKey(w.c.t)) };
  });
  // what depends on the tuple alone (its residual, the ids it gathers) is read once per tuple
  for (const p of parts) g.prehoist(p.body, g.availExcept([...inner, ...p.others]));
  const vars = inner.map((i, j) => {
    const v = g.fresh('i');
    g.open(`for (let ${v} = 0; ${v} < ${int(i.size)}; ${v}++)`);
    g.bind(i, v);
    const rest = inner.slice(j + 1);
    if (rest.length) for (const p of parts) g.prehoist(p.body, g.availExcept(rest));
    return v;
  });
  const at = flat(vars, inner.map((i) => i.size));
  parts.forEach((p, j) => {
    const value = g.expr(p.others.length ? sum(p.others, p.body) : p.body);
    g.line(`${accs[j]!}[${at}] += ${value};`);
  });
  for (let j = 0; j <= inner.length; j++) g.close();
}

/** The row walks grouped by the CSR and row they walk (each group: one pass over the row). */
function walkGroups(g: Gen, walks: readonly RowWalk[]): number[][] {
  const groups = new Map<string, number[]>();
  walks.forEach((w, j) => {
    const k = `${csrKey(w.c.rel, w.c.col)}\u0000${g.ix(w.c.key)}`;
    groups.set(k, [...(groups.get(k) ?? []), j]);
  });
  return [...groups.values()];
}

/** Emits the JavaScript kernel for a `kernel` step of `plan`. */
export function emitJsKernel(step: Step, plan: Pick<KernelPlan, 'sizes' | 'steps'>): EmittedJs {
  if (step.kind !== 'kernel') throw new InternalError(`codegen: step ${step.name} is a ${step.kind} step`);
  if (step.cells < 1) throw new InternalError(`codegen: step ${step.name} has no cells`);
  const g = new Gen(plan.sizes, step.args, {}, plan.steps, { csrLoop: 'native', unroll: true });
  const sizes = step.out.map((o) => o.size);
  if (step.order) {
    // cell r holds the value of tuple perm[r]
    const o = step.order;
    const t = step.out[0]!;
    if (step.out.length !== 1 || step.split) throw new InternalError(`codegen: CSR-ordered step ${step.name} has ${step.out.length} outputs`);
    const r = g.fresh('i');
    g.open(`for (let ${r} = 0; ${r} < ${int(step.cells)}; ${r}++)`);
    const tv = needsTuple(step.expr, t, o.rel, g.orderOf) ? g.let(`${g.arg(`perm:${csrKey(o.rel, o.col)}`)}[${r}]`, 'w') : r;
    g.bind(t, tv);
    g.bindWalk(t, { rel: o.rel, col: o.col, pos: r });
    g.line(`out[${r}] = ${g.expr(step.expr)};`);
    g.close();
  } else if (step.split && step.expr.op === 'sum' && columnBoxes(step, step.expr) < step.expr.over.length) {
    // the trailing summed indices are boxed one value each (Σ_t Σ_k U[user[t], k]² in boxes of
    // (256 tuples) × (1 column)): the chunks of one leading box share its tuples, so the box is
    // walked once with those indices innermost (unit stride), each chunk's partial sum in its own
    // float64 slot, added in the same order as chunk by chunk — the same bits
    const s = step.expr;
    const free = step.out.slice(0, -1);
    const chunks = step.out[step.out.length - 1]!.size;
    const cut = columnBoxes(step, s);
    const dims = step.split.dims;
    const tail = s.over.slice(cut).map((i, j) => ({ name: i.name, space: i.space, size: dims[cut + j]!.idx.size }));
    const inner = [...free, ...tail];
    const tailCells = tail.reduce((a, i) => a * i.size, 1);
    const cells = inner.reduce((a, i) => a * i.size, 1);
    const acc = g.fresh('s');
    g.line(`const ${acc} = new Float64Array(${int(cells)});`);
    const hv = g.fresh('i');
    g.open(`for (let ${hv} = 0; ${hv} < ${int(chunks / tailCells)}; ${hv}++)`);
    // the leading indices alone: splitSum reads only `over` and `body`, and the dims by position
    splitSum(g, { ...s, over: s.over.slice(0, cut) }, { ...step, split: { ...step.split, dims: dims.slice(0, cut) } }, hv, { inner, acc });
    const fv = g.fresh('i');
    const tv = g.fresh('i');
    g.open(`for (let ${fv} = 0; ${fv} < ${int(cells / tailCells)}; ${fv}++)`);
    g.open(`for (let ${tv} = 0; ${tv} < ${int(tailCells)}; ${tv}++)`);
    g.line(`out[${fv} * ${int(chunks)} + ${hv} * ${int(tailCells)} + ${tv}] = ${acc}[${fv} * ${int(tailCells)} + ${tv}];`);
    g.close();
    g.close();
    g.close();
  } else if (step.split) {
    const s = step.expr;
    if (s.op !== 'sum') throw new InternalError(`codegen: split step ${step.name} is not a sum`);
    // the chunk index is the last output axis; the others are the sum's free indices, which loop
    // inside each box (its tuples' gathers and per-tuple values are read once per box, not per cell)
    const free = step.out.slice(0, -1);
    const cells = free.reduce((a, i) => a * i.size, 1);
    const acc = g.fresh('s');
    g.line(`const ${acc} = new Float64Array(${int(cells)});`);
    const cv = g.fresh('i');
    const chunks = step.out[step.out.length - 1]!.size;
    g.open(`for (let ${cv} = 0; ${cv} < ${int(chunks)}; ${cv}++)`);
    const upper = symmetricPair(s, free);
    splitSum(g, s, step, cv, { inner: free, acc, upper });
    if (upper) {
      // (UᵀU)[b, a] = (UᵀU)[a, b] bit for bit: the same products (IEEE × commutes) summed in the same order
      const n = int(free[0]!.size);
      const a = g.fresh('i');
      const b = g.fresh('i');
      g.open(`for (let ${a} = 1; ${a} < ${n}; ${a}++)`);
      g.open(`for (let ${b} = 0; ${b} < ${a}; ${b}++)`);
      g.line(`${acc}[${a} * ${n} + ${b}] = ${acc}[${b} * ${n} + ${a}];`);
      g.close();
      g.close();
    }
    const f = g.fresh('i');
    g.open(`for (let ${f} = 0; ${f} < ${int(cells)}; ${f}++)`);
    g.line(`out[${f} * ${int(chunks)} + ${cv}] = ${acc}[${f}];`);
    g.close();
    g.close();
  } else {
    const rw = rowWalks(step);
    if (rw) {
      const outer = step.out.slice(0, rw.outer);
      const inner = step.out.slice(rw.outer);
      const innerCells = inner.reduce((a, i) => a * i.size, 1);
      const accs = rw.walks.map(() => {
        const acc = g.fresh('s');
        g.line(`const ${acc} = new Float64Array(${int(innerCells)});`);
        return acc;
      });
      const ov = openOut(g, outer, step.expr, inner);
      for (const group of walkGroups(g, rw.walks)) walkRows(g, group.map((j) => rw.walks[j]!), inner, group.map((j) => accs[j]!));
      const iv = openPlain(g, inner);
      const at = flat(iv, inner.map((i) => i.size));
      rw.walks.forEach((w, j) => g.remember(`e:${w.s.id}`, `${accs[j]!}[${at}]`));
      g.line(`out[${flat([...ov, ...iv], sizes)}] = ${g.expr(step.expr)};`);
      for (let j = 0; j < step.out.length; j++) g.close();
    } else if (isDenseRows(step, plan.sizes)) {
      // Σ_i body(i, out…): i outermost, the output cells innermost, each cell's sum in a float64 slot
      // (a Gramian UᵀU reads each row of U once, not once per cell)
      const e = step.expr as ExprOf<'sum'>;
      const acc = g.fresh('s');
      g.line(`const ${acc} = new Float64Array(${int(step.cells)});`);
      g.prehoist(e.body, g.availExcept([...e.over, ...step.out]));
      const depth = g.openLoops([...e.over], e.body);
      g.prehoist(e.body, g.availExcept(step.out));
      const vars = openOut(g, step.out, e.body);
      g.line(`${acc}[${flat(vars, sizes)}] += ${g.expr(e.body)};`);
      for (let j = 0; j < vars.length + depth; j++) g.close();
      const f = g.fresh('i');
      g.open(`for (let ${f} = 0; ${f} < ${int(step.cells)}; ${f}++)`);
      g.line(`out[${f}] = ${acc}[${f}];`);
      g.close();
    } else {
      const vars = openOut(g, step.out, step.expr);
      g.line(`out[${flat(vars, sizes)}] = ${g.expr(step.expr)};`);
      for (let j = 0; j < vars.length; j++) g.close();
    }
  }
  const head = [
    `${step.name}${step.out.length ? `[${step.out.map((i) => i.name).join(',')}]` : ''} = ${step.text}`,
    ...(step.split ? [`partial sums: ${step.split.dims.map((d) => `${d.idx.name} in boxes of ${d.chunk} (x${d.chunks})`).join(', ')}`] : []),
    ...step.args.map((a) => `${a.name}: ${argLabel(a)}`),
  ].map((l) => `  // ${commentText(l)}`);
  return { source: `${head.join('\n')}\n${g.body()}`, params: ['out', ...step.args.map((a) => a.name)], args: step.args };
}

/**
 * Where a split step's summed indices stop being boxed: the first of the trailing ones split into
 * boxes of one value each (a dense column index), behind at least one leading index; the length of
 * `over` when there are none such (or nothing leads them).
 */
function columnBoxes(step: Step, s: ExprOf<'sum'>): number {
  const dims = step.split!.dims;
  if (dims.length !== s.over.length) return s.over.length;
  let cut = dims.length;
  while (cut > 1 && dims[cut - 1]!.chunk === 1 && dims[cut - 1]!.chunks === dims[cut - 1]!.idx.size && dims[cut - 1]!.chunks > 1) cut--;
  return cut === dims.length || cut === 0 ? s.over.length : cut;
}

// Plan: decides *how* an IR expression runs (Halide's schedule): which subterms become kernels,
// over which thread indices, which long reductions are chunked and which relation sums are walked
// through a CSR index. Input: a hash-consed IR expression and the concrete sizes of its spaces.
// Output: a KernelPlan, plain JSON-serialisable data: ordered steps, each defining a temp tensor
// `tN` over its output indices (steps only read temps defined before them), the last one the result.
import { InternalError } from '../diagnostics/diagnostics.ts';
import { children, mapChildren } from '../ir/walk.ts';
import {
  assertNever,
  freeIdx,
  idx as mkIdx,
  idxKey,
  mul,
  reduce,
  sum,
  tensor,
  v,
  type Expr,
  type ExprOf,
  type Idx,
  type Ix,
  type TensorKind,
} from '../ir/nodes.ts';
import type { Sizes, Space } from '../ir/module.ts';
import { printIR } from '../ir/print.ts';
import { chunkSpace, isTupleSpace } from '../ir/spaces.ts';
import { substitute } from '../ir/walk.ts';

export interface PlanOptions {
  /** iterations summed sequentially by one thread of a chunked reduction (≤ 1024) */
  readonly chunk?: number;
  /** a reduction longer than this is split into chunks (split-K) rather than run inline */
  readonly maxInline?: number;
}

/** An index with its concrete extent. Chunk indices range over synthetic spaces named `#tN`. */
export interface PlanIdx {
  readonly name: string;
  readonly space: string;
  readonly size: number;
}

/** A kernel argument. `name` is generated (`p0`, `p1`, …); user names only ever appear as data here. */
export type Arg =
  | { readonly name: string; readonly kind: 'tensor'; readonly tensor: string; readonly tensorKind: TensorKind; readonly size: number }
  | { readonly name: string; readonly kind: 'temp'; readonly temp: string; readonly size: number }
  /** the id column `rel.col`, as floats */
  | { readonly name: string; readonly kind: 'ids'; readonly rel: string; readonly col: string; readonly size: number }
  /** CSR of `rel` by `col`: offsets (|domain|+1 entries) and the tuple permutation (|rel| entries) */
  | { readonly name: string; readonly kind: 'csr-offsets' | 'csr-perm'; readonly rel: string; readonly col: string; readonly size: number }
  /** the id column `rel.of` in the CSR order of `rel` by `col` (contiguous reads inside a walk) */
  | { readonly name: string; readonly kind: 'csr-ids'; readonly rel: string; readonly col: string; readonly of: string; readonly size: number };

/** Temps larger than this cannot be indexed exactly with float32 flat indices (webasm, GPUs). */
export const MAX_TEMP_CELLS = 2 ** 24;

/** The key of a CSR index in maps: relation and column, unambiguously joined. */
export function csrKey(rel: string, col: string): string {
  return JSON.stringify([rel, col]);
}

/** A relation sum walked through a CSR index: `sum(t in rel: δ(rel.col[t], key) * …)` */
export interface CsrUse {
  readonly rel: string;
  readonly col: string;
  /** the domain `col` holds ids of (the offsets array has size(domain)+1 entries) */
  readonly domain: string;
}

/** Chunking of a step's top-level sum: thread (out…, c) sums box c of the iteration space. */
export interface Split {
  /** the chunk index: last axis of the step's output */
  readonly chunkIdx: PlanIdx;
  /** per summed index: box edge (`chunk`) and number of boxes (`chunks`); chunks = 1 means whole */
  readonly dims: readonly { readonly idx: PlanIdx; readonly chunk: number; readonly chunks: number }[];
}

export interface Cost {
  /** floating-point operations per evaluation (transcendentals count 10) */
  readonly flops: number;
  /** bytes of the step's output */
  readonly bytes: number;
}

/**
 * One step defines temp `name`:
 * - `kernel`: one gpu.js thread per output cell evaluates `expr` (inline loops for inner sums);
 *   with `split`, `expr` is a sum and cell (o…, c) holds the partial sum over box c;
 * - `host-sum`: the float64 sum of every cell of temp `of` (closed reductions; accuracy);
 * - `host-eval`: a closed, loop-free scalar expression over earlier temps, evaluated in float64.
 */
export interface Step {
  readonly name: string;
  readonly kind: 'kernel' | 'host-sum' | 'host-eval';
  readonly expr: Expr;
  /** printIR of the step's expression (temps appear as `tN[...]`) */
  readonly text: string;
  readonly out: readonly PlanIdx[];
  readonly cells: number;
  readonly split?: Split;
  readonly of?: string;
  readonly args: readonly Arg[];
  readonly csr: readonly CsrUse[];
  readonly cost: Cost;
  /**
   * A per-tuple step stored in CSR order: its one output index is a tuple index `t` of `order.rel`,
   * and cell r holds the value for tuple perm[r] of the CSR of `order.rel` by `order.col`. Only
   * read inside CSR walks over that same index, at the walk's position (contiguous reads).
   */
  readonly order?: CsrUse;
}

export interface KernelPlan {
  readonly version: 1;
  /** printIR of the planned expression */
  readonly source: string;
  readonly out: readonly PlanIdx[];
  /** every space the plan mentions, synthetic chunk spaces included */
  readonly sizes: Readonly<Record<string, number>>;
  readonly steps: readonly Step[];
  /** the temp holding the result (the last step's) */
  readonly result: string;
  /** true when the result is a number (no output index) */
  readonly scalar: boolean;
  readonly cost: { readonly flops: number; readonly bytes: number };
}

/** One expression of a group plan and the temp holding its value. */
export interface GroupResult {
  readonly source: string;
  readonly out: readonly PlanIdx[];
  readonly result: string;
  readonly scalar: boolean;
}

/** Several expressions planned together: shared steps (common temps computed once), one result each. */
export interface GroupPlan {
  readonly version: 1;
  readonly sizes: Readonly<Record<string, number>>;
  readonly steps: readonly Step[];
  readonly results: readonly GroupResult[];
  readonly cost: { readonly flops: number; readonly bytes: number };
}

export const DEFAULT_CHUNK = 256;
export const DEFAULT_MAX_INLINE = 1024;

// ---------------------------------------------------------------------------------------------
// CSR detection, shared with the emitter so both agree on which loops walk an index

export interface CsrLoop {
  /** the relation tuple index the sum ranges over */
  readonly t: Idx;
  readonly rel: string;
  readonly col: string;
  readonly domain: string;
  /** the δ node that the CSR walk makes identically 1 */
  readonly delta: ExprOf<'eq'>;
  /** the id every visited tuple holds in `col`: an index bound outside the sum */
  readonly key: Ix;
}

function ixBoundBy(x: Ix, bound: ReadonlySet<string>): boolean {
  return bound.has(idxKey(x.kind === 'var' ? x.idx : x.t));
}

/** The δ factors common to every term of `body`. */
function commonDeltas(body: Expr): ExprOf<'eq'>[] {
  if (body.op === 'eq') return [body];
  if (body.op === 'mul') return body.args.filter((a): a is ExprOf<'eq'> => a.op === 'eq');
  if (body.op === 'add') {
    const [first, ...rest] = body.args.map(commonDeltas);
    return (first ?? []).filter((d) => rest.every((r) => r.includes(d)));
  }
  return [];
}

/**
 * `sum(t in rel, …: δ(rel.col[t], key) * …)` where `key` is bound outside the sum: loop over the
 * tuples whose `col` is `key` (a CSR segment) instead of every tuple. `bound` holds the index keys
 * bound where the sum is evaluated (thread indices and enclosing loops).
 */
export function csrOf(s: ExprOf<'sum'>, bound: ReadonlySet<string>): CsrLoop | undefined {
  const over = new Set(s.over.map(idxKey));
  for (const d of commonDeltas(s.body)) {
    for (const [g, key] of [
      [d.a, d.b],
      [d.b, d.a],
    ] as const) {
      // the tuple index must range over the relation itself (its space is named after it)
      if (g.kind !== 'gather' || !over.has(idxKey(g.t)) || g.t.space !== g.rel) continue;
      if (!ixBoundBy(key, bound)) continue;
      return { t: g.t, rel: g.rel, col: g.col, domain: g.domain, delta: d, key };
    }
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Rebuilding expressions (the structural helpers live in ir/walk.ts; re-exported for codegen)

export { children, mapChildren };

/** sum(A: sum(B: x)) → sum(A, B: x) when the names are distinct (one loop nest, one CSR check). */
function flattenSums(e: Expr, memo = new Map<number, Expr>()): Expr {
  const hit = memo.get(e.id);
  if (hit) return hit;
  let out = mapChildren(e, (x) => flattenSums(x, memo));
  if (out.op === 'sum' && out.body.op === 'sum') {
    const outer = new Set(out.over.map(idxKey));
    if (out.body.over.every((i) => !outer.has(idxKey(i)))) out = sum([...out.over, ...out.body.over], out.body.body);
  }
  memo.set(e.id, out);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Costs

const FLOPS_CALL = 10;

function flopsOf(e: Expr, size: (s: string) => number, bound: ReadonlySet<string>): number {
  switch (e.op) {
    case 'const':
    case 'size':
    case 'tensor':
    case 'ord':
      return 0;
    case 'eq':
      return 1;
    case 'add':
    case 'mul':
      return e.args.length - 1 + e.args.reduce((a, x) => a + flopsOf(x, size, bound), 0);
    case 'pow':
      return (Number.isInteger(e.exp) && Math.abs(e.exp) <= 4 ? Math.abs(e.exp) : FLOPS_CALL) + flopsOf(e.base, size, bound);
    case 'call':
      return FLOPS_CALL + flopsOf(e.arg, size, bound);
    case 'call2':
    case 'cmp':
      return 1 + flopsOf(e.a, size, bound) + flopsOf(e.b, size, bound);
    case 'select':
      return 1 + flopsOf(e.cond, size, bound) + flopsOf(e.a, size, bound) + flopsOf(e.b, size, bound);
    case 'sum': {
      const inner = new Set([...bound, ...e.over.map(idxKey)]);
      const body = flopsOf(e.body, size, inner) + 1;
      const c = csrOf(e, bound);
      let iters = 1;
      for (const i of e.over) {
        // a CSR walk visits |rel| / |domain| tuples on average
        iters *= c && idxKey(i) === idxKey(c.t) ? size(c.rel) / Math.max(1, size(c.domain)) : size(i.space);
      }
      return iters * body;
    }
    case 'reduce': {
      const inner = new Set([...bound, ...e.over.map(idxKey)]);
      return e.over.reduce((a, i) => a * size(i.space), 1) * (flopsOf(e.body, size, inner) + 1);
    }
    default:
      return assertNever(e);
  }
}

// ---------------------------------------------------------------------------------------------
// The planner

/**
 * Plans `e` evaluated over `out` (row-major in that order; [] for a scalar).
 * Rules, in the order they apply to a sum S met while planning a step with bound indices L
 * (the step's thread indices plus enclosing loop indices):
 * 1. LICM: S misses an index of L → S becomes its own step over its free indices (unless that
 *    temp would have more than MAX_TEMP_CELLS cells: then S stays inline);
 * 2. a closed step (L = ∅) hoists every sum, so the step itself is a float64 host expression;
 * 3. S longer than `maxInline` iterations (and not a CSR walk) → own step, chunked (split-K);
 * 4. S nested in a loop that sums over a data-sized space (domain or relation) → own step, so its
 *    free indices run in parallel (the Gramians of Σ_{k,l}(UᵀU)(VᵀV));
 * 5. S is a CSR walk (`sum(t in rel: δ(rel.col[t], key) * F(t) * G(t, …))`): the product F of the
 *    factors that depend on the tuple only (the residual of a loss, with its constants) becomes a
 *    per-tuple step over t, copied into the CSR's tuple order, so the walk reads it — and every
 *    other id column it gathers — contiguously, and does not recompute it per output column;
 * otherwise S stays inline as a loop. Equal subterms (same node id) become one step. A max/min
 * (`reduce`) is its own step over its free indices whenever that temp fits (else an inline loop).
 */
export function planExpr(e: Expr, out: readonly Idx[], spaces: ReadonlyMap<string, Space>, sizes: Sizes, opts: PlanOptions = {}): KernelPlan {
  const g = planGroup([{ expr: e, out }], spaces, sizes, opts);
  const r = g.results[0]!;
  const last = g.steps[g.steps.length - 1]!;
  if (last.name !== r.result || !sameOrder(last.out, out)) throw new InternalError('plan: the last step is not the result');
  return { version: 1, source: r.source, out: r.out, sizes: g.sizes, steps: g.steps, result: r.result, scalar: r.scalar, cost: g.cost };
}

/** `e` with every bound index renamed by nesting depth and position (a key for alpha-equivalence). */
function canonicalBound(e: Expr, depth = 0, memo = new Map<string, Expr>()): Expr {
  const key = `${e.id}|${depth}`;
  const hit = memo.get(key);
  if (hit) return hit;
  let out: Expr;
  if (e.op === 'sum' || e.op === 'reduce') {
    const fresh = e.over.map((i, j) => mkIdx(`%${depth}.${j}`, i.space));
    const body = canonicalBound(substitute(e.body, new Map(e.over.map((i, j): [string, Ix] => [idxKey(i), { kind: 'var', idx: fresh[j]! }]))), depth + 1, memo);
    out = e.op === 'sum' ? sum(fresh, body) : reduce(e.fn, fresh, body);
  } else out = mapChildren(e, (c) => canonicalBound(c, depth, memo));
  memo.set(key, out);
  return out;
}

/** Is `x` worth a per-tuple temp when several expressions of a group share it? */
function worthSharing(x: Expr): boolean {
  let ops = 0;
  let heavy = false;
  const go = (y: Expr): void => {
    if (y.op === 'sum' || y.op === 'reduce' || y.op === 'call') heavy = true;
    if (y.op !== 'const' && y.op !== 'size' && y.op !== 'tensor') ops++;
    if (y.op !== 'sum' && y.op !== 'reduce') for (const c of children(y)) go(c);
  };
  go(x);
  return heavy || ops >= 3;
}

/**
 * Plans several expressions together (the terms and gradients of one training step): one list of
 * steps, so a sum hoisted by one expression (a Gramian, a per-tuple dot product) is computed once
 * for all, and a per-tuple subexpression that two or more expressions contain (the residual
 * r − U_u·V_i of a loss and of each of its gradients) becomes one per-tuple step they all read.
 */
export function planGroup(
  items: readonly { readonly expr: Expr; readonly out: readonly Idx[] }[],
  spaces: ReadonlyMap<string, Space>,
  sizes: Sizes,
  opts: PlanOptions = {},
): GroupPlan {
  const chunk = opts.chunk ?? DEFAULT_CHUNK;
  const maxInline = opts.maxInline ?? DEFAULT_MAX_INLINE;
  if (!(chunk >= 1 && chunk <= 1024)) throw new InternalError(`plan: chunk ${chunk} outside 1..1024`);
  // every known size goes into the plan: `size` nodes (|user|, B(ratings)) are read by kernels too
  const allSizes = new Map<string, number>(sizes);
  const size = (s: string): number => {
    const sp = spaces.get(s);
    const n = allSizes.get(s) ?? sizes.get(s) ?? (sp?.kind === 'dim' ? sp.size : undefined);
    if (n === undefined) throw new InternalError(`plan: no size for space ${s}`);
    allSizes.set(s, n);
    return n;
  };
  const pidx = (i: Idx): PlanIdx => ({ name: i.name, space: i.space, size: size(i.space) });
  const keysOf = (is: readonly Idx[]): Set<string> => new Set(is.map(idxKey));
  const isDataSpace = (s: string): boolean => {
    const k = spaces.get(s)?.kind;
    return k === 'domain' || isTupleSpace(spaces.get(s));
  };
  const isRelation = (s: string): boolean => isTupleSpace(spaces.get(s));

  const steps: Step[] = [];
  const hoisted = new Map<number, { name: string; out: readonly Idx[] }>();
  const ordered = new Map<string, string>();
  let counter = 0;
  const fresh = (): string => `t${++counter}`;

  const itersOf = (s: ExprOf<'sum'>): number => s.over.reduce((a, i) => a * size(i.space), 1);
  const cellsOf = (is: Iterable<Idx>): number => {
    let n = 1;
    for (const i of is) n *= size(i.space);
    return n;
  };

  /**
   * The temp holding `x` over `o`, planned once per node up to a renaming of its free indices
   * (Σ_u U[u,k]·U[u,l] and Σ_u U[u,k]·U[u,b'] are one Gramian): the key renames o[j] to `%j`.
   */
  const canonOf = (x: Expr, o: readonly Idx[]): Expr =>
    canonicalBound(substitute(x, new Map(o.map((i, j): [string, Ix] => [idxKey(i), { kind: 'var', idx: mkIdx(`%${j}`, i.space) }]))));
  const hoist = (x: Expr, o: readonly Idx[]): Expr => {
    const canon = canonOf(x, o);
    let h = hoisted.get(canon.id);
    if (!h) {
      h = { name: planStep(x, o), out: o };
      hoisted.set(canon.id, h);
    }
    return tensor('temp', h.name, o.map(v));
  };

  /** Replaces hoisted sums in `x` by temp reads; L = bound index keys, inLoop = inside a sum. */
  const rewritten = new Map<string, Expr>();
  const rewrite = (x: Expr, L: ReadonlySet<string>, inLoop: boolean): Expr => {
    const key = `${x.id}|${inLoop ? 1 : 0}|${[...L].sort().join('\u0000')}`;
    let r = rewritten.get(key);
    if (!r) rewritten.set(key, (r = rewriteOnce(x, L, inLoop)));
    return r;
  };
  /** A max/min reduction as a loop in the current kernel. */
  const inlineReduce = (x: ExprOf<'reduce'>, L: ReadonlySet<string>): Expr => reduce(x.fn, x.over, rewrite(x.body, new Set([...L, ...keysOf(x.over)]), true));
  const rewriteOnce = (x: Expr, L: ReadonlySet<string>, inLoop: boolean): Expr => {
    if (x.op === 'reduce') {
      // a max/min is its own step over its free indices whenever that temp fits: computed once, and
      // shared by every expression of a group that holds it up to renaming (the shift m of a
      // logsumexp is read by the term and by each gradient); never split nor walked through a CSR
      // index: an inline loop of any length is exact
      return cellsOf(freeIdx(x).values()) <= MAX_TEMP_CELLS ? hoist(x, [...freeIdx(x).values()]) : inlineReduce(x, L);
    }
    if (x.op !== 'sum') {
      // LICM for transcendental calls: exp(f(t, s)) inside a loop that f does not depend on (the
      // embedding dimension of a gradient) is computed once per (t, s) as a temp, not once per loop step
      if (inLoop && x.op === 'call' && (x.fn === 'exp' || x.fn === 'log' || x.fn === 'sigmoid' || x.fn === 'softplus')) {
        const free = freeIdx(x);
        if (free.size > 0 && free.size < L.size && cellsOf(free.values()) <= MAX_TEMP_CELLS && [...free.values()].some((i) => isDataSpace(i.space))) {
          return hoist(x, [...free.values()]);
        }
      }
      return mapChildren(x, (c) => rewrite(c, L, inLoop));
    }
    const free = freeIdx(x);
    for (const k of free.keys()) if (!L.has(k)) throw new InternalError(`plan: index ${k} is not bound`);
    const csr = csrOf(x, L);
    const fits = cellsOf(free.values()) <= MAX_TEMP_CELLS;
    const doHoist =
      (free.size < L.size && fits) ||
      L.size === 0 ||
      (!csr && itersOf(x) > maxInline) ||
      (inLoop && fits && x.over.some((i) => isDataSpace(i.space)));
    if (!doHoist) {
      // a sum another expression of the group already has as a temp (up to renaming) is read, not
      // recomputed: a logsumexp's Σ exp in its term and inside the sigmoid of each gradient
      const known = hoisted.get(canonOf(x, [...free.values()]).id);
      if (known) return tensor('temp', known.name, [...free.values()].map(v));
      const inner = new Set([...L, ...keysOf(x.over)]);
      if (csr) return walkSum(x, csr, inner);
      return sum(x.over, rewrite(x.body, inner, true));
    }
    return hoist(x, [...free.values()]);
  };

  /** Rule 5: a CSR walk reads the per-tuple factor of its body from a CSR-ordered temp. */
  const walkSum = (x: ExprOf<'sum'>, c: CsrLoop, inner: ReadonlySet<string>): Expr => {
    const tk = idxKey(c.t);
    const factors = x.body.op === 'mul' ? x.body.args : [x.body];
    const per: Expr[] = [];
    const consts: Expr[] = [];
    const rest: Expr[] = [];
    for (const f of factors) {
      const fk = [...freeIdx(f).keys()];
      if (f.op === 'eq') rest.push(f);
      else if (fk.length === 0 && (f.op === 'const' || f.op === 'size' || f.op === 'tensor')) consts.push(f);
      else if (fk.length > 0 && fk.every((k) => k === tk)) per.push(f);
      else rest.push(f);
    }
    if (per.length === 0) return sum(x.over, rewrite(x.body, inner, true));
    const P = mul(...consts, ...per);
    // elementwise over reads at [t]: computed in CSR order directly; otherwise a natural-order
    // step (shared by every CSR that reads it) and a copy into CSR order
    const direct = (y: Expr): boolean =>
      y.op === 'tensor' ? y.ix.every((i) => i.kind === 'var' && idxKey(i.idx) === tk) : y.op !== 'sum' && y.op !== 'reduce' && y.op !== 'eq' && children(y).every(direct);
    const tSet = new Set([tk]);
    const src = direct(P) ? P : hoist(P, [c.t]);
    const key = `${src.id}|${csrKey(c.rel, c.col)}`;
    let name = ordered.get(key);
    if (!name) {
      name = push({ kind: 'kernel', expr: rewrite(src, tSet, false), out: [pidx(c.t)], order: { rel: c.rel, col: c.col, domain: c.domain } });
      ordered.set(key, name);
    }
    return sum(x.over, mul(...rest.map((f) => rewrite(f, inner, true)), tensor('temp', name, [v(c.t)])));
  };

  /** Plans the steps computing `x` over `o`; returns the name of the temp holding it. */
  const planStep = (x: Expr, o: readonly Idx[]): string => {
    const L = keysOf(o);
    if (x.op === 'reduce') return push({ kind: 'kernel', expr: inlineReduce(x, L), out: o.map(pidx) });
    if (o.length === 0 && x.op !== 'sum') {
      const body = rewrite(x, L, false);
      return push({ kind: 'host-eval', expr: body, out: [] });
    }
    if (x.op !== 'sum') return push({ kind: 'kernel', expr: rewrite(x, L, false), out: o.map(pidx) });
    const walk = csrOf(x, L);
    if (walk) return push({ kind: 'kernel', expr: walkSum(x, walk, new Set([...L, ...keysOf(x.over)])), out: o.map(pidx) });
    const body = rewrite(x.body, new Set([...L, ...keysOf(x.over)]), true);
    const s = sum(x.over, body);
    if (s.op !== 'sum') return push({ kind: 'kernel', expr: s, out: o.map(pidx) });
    if (csrOf(s, L) || itersOf(s) <= maxInline) return push({ kind: 'kernel', expr: s, out: o.map(pidx) });
    // split-K: partial sums over boxes of the iteration space, then a reduction over the boxes
    const split = chooseSplit(s, chunk, pidx);
    const partName = fresh();
    const chunks = chunkSpace(partName);
    const nChunks = split.dims.reduce((a, d) => a * d.chunks, 1);
    allSizes.set(chunks, nChunks);
    const ci = mkIdx('c', chunks);
    const chunkIdx = pidx(ci);
    push({ kind: 'kernel', expr: s, out: [...o.map(pidx), chunkIdx], split: { ...split, chunkIdx } }, partName);
    if (o.length === 0) return push({ kind: 'host-sum', expr: tensor('temp', partName, [v(ci)]), out: [], of: partName });
    return planStep(sum([ci], tensor('temp', partName, [...o.map(v), v(ci)])), o);
  };

  const orderOf = (temp: string): CsrUse | undefined => steps.find((p) => p.name === temp)?.order;

  const push = (s: Omit<Step, 'name' | 'text' | 'cells' | 'args' | 'csr' | 'cost'>, name = fresh()): string => {
    const cells = s.out.reduce((a, i) => a * i.size, 1);
    const bound = new Set(s.out.filter((i) => !s.split || i !== s.split.chunkIdx).map((i) => idxKey(i)));
    const { args, csr } = s.kind === 'kernel' ? collectArgs(s.expr, bound, s.split, size, orderOf, s.order && s.out[0] ? { t: s.out[0], ...s.order } : undefined) : { args: [], csr: [] };
    let perCell: number;
    if (s.kind === 'host-sum') perCell = 0;
    else if (s.split && s.expr.op === 'sum') {
      const inner = new Set([...bound, ...s.expr.over.map(idxKey)]);
      perCell = s.split.dims.reduce((a, d) => a * d.chunk, 1) * (flopsOf(s.expr.body, size, inner) + 1);
    } else perCell = flopsOf(s.expr, size, bound);
    const flops = s.kind === 'host-sum' ? (steps.find((p) => p.name === s.of)?.cells ?? 0) : cells * perCell;
    steps.push({ ...s, name, text: printIR(s.expr), cells, args, csr, cost: { flops, bytes: 4 * cells } });
    return name;
  };

  // per-tuple subexpressions that two or more of the expressions contain: one step each
  const roots = items.map((it) => flattenSums(it.expr));
  const shared = new Set<number>();
  if (roots.length > 1) {
    const count = new Map<number, number>();
    for (const r of roots) {
      const seen = new Set<number>();
      const go = (x: Expr): void => {
        if (seen.has(x.id)) return;
        seen.add(x.id);
        const f = [...freeIdx(x).values()];
        if (f.length === 1 && isRelation(f[0]!.space) && f[0]!.space === f[0]!.space && x.op !== 'tensor' && x.op !== 'eq' && worthSharing(x)) {
          count.set(x.id, (count.get(x.id) ?? 0) + 1);
        }
        for (const c of children(x)) go(c);
      };
      go(r);
    }
    for (const [id, n] of count) if (n >= 2) shared.add(id);
  }
  const substMemo = new Map<number, Expr>();
  const subst = (x: Expr): Expr => {
    let r = substMemo.get(x.id);
    if (r) return r;
    if (shared.has(x.id)) r = hoist(x, [...freeIdx(x).values()]);
    else r = mapChildren(x, subst);
    substMemo.set(x.id, r);
    return r;
  };

  const results: GroupResult[] = items.map((it, j) => {
    const root = shared.size ? subst(roots[j]!) : roots[j]!;
    for (const k of freeIdx(root).keys()) if (!keysOf(it.out).has(k)) throw new InternalError(`plan: free index ${k} is not an output index`);
    const result = planStep(root, it.out);
    return { source: printIR(it.expr), out: it.out.map(pidx), result, scalar: it.out.length === 0 };
  });
  const flops = steps.reduce((a, s) => a + s.cost.flops, 0);
  const bytes = steps.reduce((a, s) => a + s.cost.bytes, 0);
  return {
    version: 1,
    // own properties only (a space may be named `constructor`); read with Object.hasOwn
    sizes: Object.assign(Object.create(null) as Record<string, number>, Object.fromEntries([...allSizes].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))),
    steps,
    results,
    cost: { flops, bytes },
  };
}

function sameOrder(a: readonly PlanIdx[], b: readonly Idx[]): boolean {
  return a.length === b.length && a.every((x, j) => idxKey(x) === idxKey(b[j]!));
}

/** Boxes for a sum's iteration space: largest extents first, at most `chunk` iterations a box. */
function chooseSplit(s: ExprOf<'sum'>, chunk: number, pidx: (i: Idx) => PlanIdx): Omit<Split, 'chunkIdx'> {
  const order = s.over.map((i, j) => ({ i: pidx(i), j })).sort((a, b) => b.i.size - a.i.size || a.j - b.j);
  let budget = chunk;
  const dims = new Map<number, { idx: PlanIdx; chunk: number; chunks: number }>();
  for (const { i, j } of order) {
    const edge = i.size <= budget ? i.size : Math.max(1, budget);
    budget = Math.max(1, Math.floor(budget / edge));
    dims.set(j, { idx: i, chunk: edge, chunks: Math.ceil(i.size / edge) });
  }
  return { dims: s.over.map((_, j) => dims.get(j)!) };
}

/** A tuple index bound at a CSR position: inside a walk, or the thread of a CSR-ordered step. */
export interface WalkCtx {
  readonly rel: string;
  readonly col: string;
}

/** Arguments of a kernel step in first-use order, and the CSR indexes its loops walk. */
function collectArgs(
  e: Expr,
  bound: ReadonlySet<string>,
  split: Split | undefined,
  size: (s: string) => number,
  orderOf: (temp: string) => CsrUse | undefined,
  order: (CsrUse & { readonly t: PlanIdx }) | undefined,
): { args: Arg[]; csr: CsrUse[] } {
  const args: Arg[] = [];
  const csr: CsrUse[] = [];
  const seen = new Set<string>();
  const addArg = (key: string, make: (name: string) => Arg): void => {
    if (seen.has(key)) return;
    seen.add(key);
    args.push(make(`p${args.length}`));
  };
  const useCsr = (rel: string, col: string, domain: string): void => {
    const k = csrKey(rel, col);
    if (!csr.some((u) => u.rel === rel && u.col === col)) csr.push({ rel, col, domain });
    addArg(`perm:${k}`, (name) => ({ name, kind: 'csr-perm', rel, col, size: size(rel) }));
  };
  const ixArg = (x: Ix, walks: ReadonlyMap<string, WalkCtx & { walked: boolean }>): void => {
    if (x.kind !== 'gather') return;
    const w = walks.get(idxKey(x.t));
    // inside a walk, the walked column is the walk's key; other columns are read in CSR order
    if (w && w.rel === x.rel && w.walked && w.col === x.col) return;
    if (w && w.rel === x.rel) {
      addArg(`cids:${csrKey(w.rel, w.col)}\u0000${x.col}`, (name) => ({ name, kind: 'csr-ids', rel: w.rel, col: w.col, of: x.col, size: size(x.rel) }));
      return;
    }
    addArg(`ids:${x.rel}\u0000${x.col}`, (name) => ({ name, kind: 'ids', rel: x.rel, col: x.col, size: size(x.rel) }));
  };
  const memo = new Set<string>();
  // `known`: δ nodes a CSR walk makes identically 1 (the emitter reads no ids for them)
  const go = (x: Expr, b: ReadonlySet<string>, top: boolean, known: ReadonlySet<number>, walks: ReadonlyMap<string, WalkCtx & { walked: boolean }>): void => {
    const mk = `${x.id}|${[...b].sort().join(',')}|${[...known].join(',')}|${[...walks.keys()].join(',')}`;
    if (memo.has(mk)) return;
    memo.add(mk);
    switch (x.op) {
      case 'const':
      case 'size':
        return;
      case 'tensor': {
        const n = x.ix.reduce((a, i) => a * size(i.kind === 'var' ? i.idx.space : i.domain), 1);
        if (x.kind === 'temp') {
          const o = orderOf(x.name);
          if (o) {
            const i0 = x.ix[0];
            const w = i0 && i0.kind === 'var' ? walks.get(idxKey(i0.idx)) : undefined;
            if (x.ix.length !== 1 || !w || w.rel !== o.rel || w.col !== o.col) throw new InternalError(`plan: CSR-ordered temp ${x.name} read outside a walk over ${o.rel}.${o.col}`);
          }
          addArg(`temp:${x.name}`, (name) => ({ name, kind: 'temp', temp: x.name, size: n }));
        } else addArg(`tensor:${x.kind}\u0000${x.name}`, (name) => ({ name, kind: 'tensor', tensor: x.name, tensorKind: x.kind, size: n }));
        for (const i of x.ix) ixArg(i, walks);
        return;
      }
      case 'eq':
        if (known.has(x.id)) return;
        ixArg(x.a, walks);
        ixArg(x.b, walks);
        return;
      case 'ord':
        ixArg(x.ix, walks);
        return;
      case 'sum': {
        const c = top && split ? undefined : csrOf(x, b);
        let inner = walks;
        if (c) {
          const k = csrKey(c.rel, c.col);
          ixArg(c.key, walks);
          addArg(`off:${k}`, (name) => ({ name, kind: 'csr-offsets', rel: c.rel, col: c.col, size: size(c.domain) + 1 }));
          useCsr(c.rel, c.col, c.domain);
          inner = new Map([...walks, [idxKey(c.t), { rel: c.rel, col: c.col, walked: true }]]);
        }
        go(x.body, new Set([...b, ...x.over.map(idxKey)]), false, c ? new Set([...known, c.delta.id]) : known, inner);
        return;
      }
      case 'reduce':
        go(x.body, new Set([...b, ...x.over.map(idxKey)]), false, known, walks);
        return;
      default:
        for (const c of children(x)) go(c, b, false, known, walks);
    }
  };
  const walks = new Map<string, WalkCtx & { walked: boolean }>();
  if (order) {
    useCsr(order.rel, order.col, order.domain);
    walks.set(idxKey(order.t), { rel: order.rel, col: order.col, walked: false });
  }
  go(e, bound, true, new Set(), walks);
  return { args, csr };
}

/** One line per step, for `recc explain` and test failure messages. */
export function printPlan(p: KernelPlan): string {
  const lines: string[] = [];
  for (const s of p.steps) {
    const o = s.out.map((i) => i.name).join(',');
    const lhs = o ? `${s.name}[${o}]` : s.name;
    let how: string = s.kind;
    if (s.split) how += ` split ${s.split.dims.map((d) => `${d.idx.name}:${d.chunk}x${d.chunks}`).join(' ')}`;
    if (s.order) how += ` in csr order of ${s.order.rel}.${s.order.col}`;
    else if (s.csr.length) how += ` csr ${s.csr.map((c) => `${c.rel}.${c.col}`).join(' ')}`;
    const rhs = s.kind === 'host-sum' ? `sum of ${s.of}` : s.text;
    lines.push(`${lhs} = ${rhs}   -- ${how}; ${s.cells} cells, ${fmt(s.cost.flops)} flops, ${fmt(s.cost.bytes)} B`);
  }
  lines.push(`result ${p.result}: ${fmt(p.cost.flops)} flops, ${fmt(p.cost.bytes)} B`);
  return lines.join('\n');
}

function fmt(n: number): string {
  if (n < 1e3) return String(Math.round(n));
  if (n < 1e6) return `${(n / 1e3).toFixed(1)}k`;
  if (n < 1e9) return `${(n / 1e6).toFixed(1)}M`;
  return `${(n / 1e9).toFixed(1)}G`;
}

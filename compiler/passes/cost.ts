// The cost model — one for the whole compiler: the pipeline's choices (which form of a term is
// cheapest, the contraction order), the planner's per-step costs and `recc explain` all count with
// the functions below, so they weigh operations alike and agree on which loops are CSR walks.
// - `OP_FLOPS`: operations per node (a transcendental call counts 10, a square or reciprocal 1);
// - `spaceSize`: iterations of a loop nest, where δ(R.c[t], key) with `key` known before t's loop
//   pairs each key with its CSR segment (|R|/|domain| tuples), not with every tuple;
// - `cost`: an expression as the planner runs it — every loop node computed once over its free
//   indices (loop-invariant sums hoisted into temps), inner loop nodes materialized;
// - `inlineFlops`: one kernel thread evaluating an expression with its loops inline (plan steps).
// Sizes are hints at compile time and the data's sizes (a training step's batch) once it is known.
import { csrOf } from '../ir/csr-walk.ts';
import { assertNever, freeIdx, idxKey, type Expr, type ExprOf, type Idx, type Ix, type Op } from '../ir/nodes.ts';
import { children, nodes } from '../ir/walk.ts';

export interface Cost {
  /** floating-point operations per evaluation */
  readonly flops: number;
  /** elements of intermediates materialized per evaluation (float32 → ×4 bytes) */
  readonly memory: number;
}

export type SizeOf = (space: string) => number;

/** A transcendental (exp, log, sigmoid, softplus, a non-integer power) counts as this many operations. */
export const FLOPS_CALL = 10;

/**
 * Operations of one node per evaluation, not counting its children; a loop node's own cost is the
 * accumulation, once per iteration. A per-op table: a new op does not compile until it has a weight.
 */
export const OP_FLOPS: { readonly [K in Op]: (e: ExprOf<K>) => number } = {
  const: () => 0,
  size: () => 0,
  tensor: () => 0,
  ord: () => 0,
  add: (e) => e.args.length - 1,
  mul: (e) => e.args.length - 1,
  pow: (e) => (e.exp === 2 || e.exp === -1 ? 1 : FLOPS_CALL),
  call: () => FLOPS_CALL,
  call2: () => 1,
  cmp: () => 1,
  select: () => 1,
  eq: () => 1,
  sum: () => 1,
  reduce: () => 1,
};

export function opFlops(e: Expr): number {
  return (OP_FLOPS[e.op] as (x: Expr) => number)(e);
}

/** The index a δ side is keyed by: the variable itself, or the tuple index of a gather. */
function keyIdx(x: Ix): Idx {
  return x.kind === 'var' ? x.idx : x.t;
}

/**
 * Elements in the iteration space of `idxs` (a loop node's free and summed indices), discounting
 * δ-paired gathers in `body`: δ(R.c[t], key) visits one CSR segment of t per key (|R|/|domain|
 * tuples) when the key — an index, or a gather of another tuple — is known before t's loop (free
 * here: the walk is keyed by it); when the same node also binds the key, nothing serves the pairing
 * and the full product is counted.
 */
export function spaceSize(idxs: Iterable<Idx>, body: Expr | undefined, sizeOf: SizeOf, bound?: ReadonlySet<string>): number {
  const keys = new Map<string, Idx>();
  for (const i of idxs) keys.set(idxKey(i), i);
  let n = 1;
  for (const i of keys.values()) n *= sizeOf(i.space);
  if (body) {
    const fs = body.op === 'mul' ? body.args : [body];
    for (const f of fs) {
      if (f.op !== 'eq') continue;
      for (const [g, x] of [
        [f.a, f.b],
        [f.b, f.a],
      ] as const) {
        if (g.kind !== 'gather' || !keys.has(idxKey(g.t))) continue;
        const k = keyIdx(x);
        if (!keys.has(idxKey(k)) || bound?.has(idxKey(k)) || idxKey(k) === idxKey(g.t)) continue;
        // a gather key (another tuple's id) pairs only a tuple this node walks
        if (x.kind === 'gather' && !bound?.has(idxKey(g.t))) continue;
        n /= x.kind === 'var' ? sizeOf(x.idx.space) : sizeOf(g.domain);
        break;
      }
    }
  }
  return n;
}

/** Operations of a loop body per iteration, not counting nested loop nodes (each counted on its own). */
function localOps(body: Expr): number {
  const seen = new Set<number>();
  let ops = 0;
  const go = (e: Expr): void => {
    if (seen.has(e.id) || e.op === 'sum' || e.op === 'reduce') return;
    seen.add(e.id);
    ops += opFlops(e);
    children(e).forEach(go);
  };
  go(body);
  return ops + 1; // the accumulation
}

/** FLOPs and intermediates of `e` with every loop node computed once over its free indices. */
export function cost(e: Expr, sizeOf: SizeOf): Cost {
  let flops = 0;
  let memory = 0;
  const all = nodes(e);
  const sums = all.filter((n): n is Extract<Expr, { op: 'sum' | 'reduce' }> => n.op === 'sum' || n.op === 'reduce');
  const inner = new Set<number>();
  for (const s of sums) for (const n of nodes(s.body)) if (n.op === 'sum' || n.op === 'reduce') inner.add(n.id);
  for (const s of sums) {
    const loop = [...freeIdx(s).values(), ...s.over];
    flops += spaceSize(loop, s.body, sizeOf, new Set(s.over.map(idxKey))) * localOps(s.body);
    if (inner.has(s.id)) memory += spaceSize(freeIdx(s).values(), undefined, sizeOf);
  }
  return { flops, memory };
}

/**
 * FLOPs of one evaluation of `e` with the indices `bound` fixed (one kernel thread), loops inline:
 * a sum the planner walks through a CSR index (`csrOf`, the emitter's own test) visits |R|/|domain|
 * tuples on average, any other loop its whole space.
 */
export function inlineFlops(e: Expr, size: SizeOf, bound: ReadonlySet<string>): number {
  switch (e.op) {
    case 'const':
    case 'size':
    case 'tensor':
    case 'ord':
      return 0;
    case 'eq':
      return opFlops(e);
    case 'add':
    case 'mul':
      return opFlops(e) + e.args.reduce((a, x) => a + inlineFlops(x, size, bound), 0);
    case 'pow':
      return opFlops(e) + inlineFlops(e.base, size, bound);
    case 'call':
      return opFlops(e) + inlineFlops(e.arg, size, bound);
    case 'call2':
    case 'cmp':
      return opFlops(e) + inlineFlops(e.a, size, bound) + inlineFlops(e.b, size, bound);
    case 'select':
      return opFlops(e) + inlineFlops(e.cond, size, bound) + inlineFlops(e.a, size, bound) + inlineFlops(e.b, size, bound);
    case 'sum':
    case 'reduce': {
      const inner = new Set([...bound, ...e.over.map(idxKey)]);
      return loopTrips(e, bound, size) * (inlineFlops(e.body, size, inner) + opFlops(e));
    }
    default:
      return assertNever(e);
  }
}

/** Iterations of a loop node evaluated inline with `bound` fixed: a CSR walk visits |R|/|domain| tuples. */
export function loopTrips(e: ExprOf<'sum' | 'reduce'>, bound: ReadonlySet<string>, size: SizeOf): number {
  const c = e.op === 'sum' ? csrOf(e, bound) : undefined;
  let iters = 1;
  for (const i of e.over) iters *= c && idxKey(i) === idxKey(c.t) ? size(c.rel) / Math.max(1, size(c.domain)) : size(i.space);
  return iters;
}

export function formatCount(n: number): string {
  if (n < 1e3) return n.toFixed(0);
  const units = ['K', 'M', 'G', 'T', 'P', 'E'];
  let u = -1;
  let x = n;
  while (x >= 1e3 && u < units.length - 1) {
    x /= 1e3;
    u++;
  }
  return `${x.toFixed(x < 10 ? 2 : x < 100 ? 1 : 0)}${units[u]}`;
}

export function formatBytes(elements: number): string {
  const b = elements * 4;
  if (b < 1024) return `${b} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let u = -1;
  let x = b;
  while (x >= 1024 && u < units.length - 1) {
    x /= 1024;
    u++;
  }
  return `${x.toFixed(x < 10 ? 2 : 1)} ${units[u]}`;
}

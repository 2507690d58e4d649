// The cost model: FLOPs and intermediate memory of evaluating an expression *as written*, where every
// sum node is computed once over its free indices (so a loop-invariant sum is hoisted, as the
// planner does) and every inner sum is materialized; a max/min reduction counts as a sum does. A δ(rel.col[t], a) factor pairs each tuple t
// with one a, so it costs |t|, not |t|·|a| (a CSR gather). Sizes of data spaces are hints at
// compile time and real sizes once the data is loaded.
import { csrOf } from '../ir/csr-walk.ts';
import { assertNever, freeIdx, idxKey, type Expr, type Idx } from '../ir/nodes.ts';
import { children, nodes } from '../ir/walk.ts';

export interface Cost {
  /** floating-point operations per evaluation */
  readonly flops: number;
  /** elements of intermediates materialized per evaluation (float32 → ×4 bytes) */
  readonly memory: number;
}

export type SizeOf = (space: string) => number;

/**
 * Elements in the iteration space of `idx`, discounting δ-paired gathers in `body`: δ(R.c[t], a)
 * visits one a per t when a is known before the loop (free here: a CSR walk keyed by a); when the
 * same node also binds a, nothing serves the pairing and the full product is counted.
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
      const [g, x] = f.a.kind === 'gather' ? [f.a, f.b] : [f.b, f.a];
      if (g.kind === 'gather' && x.kind === 'var' && keys.has(idxKey(g.t)) && keys.has(idxKey(x.idx)) && !bound?.has(idxKey(x.idx))) n /= sizeOf(x.idx.space);
    }
  }
  return n;
}

/** Arithmetic nodes of a sum's body, not counting nested sums and reductions (each counted on its own). */
function localOps(body: Expr): number {
  const seen = new Set<number>();
  let ops = 0;
  const go = (e: Expr): void => {
    if (seen.has(e.id) || e.op === 'sum' || e.op === 'reduce') return;
    seen.add(e.id);
    switch (e.op) {
      case 'add':
      case 'mul':
        ops += e.args.length - 1;
        break;
      case 'const':
      case 'size':
      case 'tensor':
      case 'ord':
        break;
      case 'pow':
        ops += e.exp === 2 || e.exp === -1 ? 1 : 10;
        break;
      case 'call':
        ops += 10;
        break;
      default:
        ops += 1;
    }
    children(e).forEach(go);
  };
  go(body);
  return ops + 1; // the accumulation
}

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

// ---------------------------------------------------------------------------------------------
// The cost of a kernel step evaluated inline (the planner's per-cell cost)

const FLOPS_CALL = 10;

export function inlineFlops(e: Expr, size: (s: string) => number, bound: ReadonlySet<string>): number {
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
      return e.args.length - 1 + e.args.reduce((a, x) => a + inlineFlops(x, size, bound), 0);
    case 'pow':
      return (Number.isInteger(e.exp) && Math.abs(e.exp) <= 4 ? Math.abs(e.exp) : FLOPS_CALL) + inlineFlops(e.base, size, bound);
    case 'call':
      return FLOPS_CALL + inlineFlops(e.arg, size, bound);
    case 'call2':
    case 'cmp':
      return 1 + inlineFlops(e.a, size, bound) + inlineFlops(e.b, size, bound);
    case 'select':
      return 1 + inlineFlops(e.cond, size, bound) + inlineFlops(e.a, size, bound) + inlineFlops(e.b, size, bound);
    case 'sum': {
      const inner = new Set([...bound, ...e.over.map(idxKey)]);
      const body = inlineFlops(e.body, size, inner) + 1;
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
      return e.over.reduce((a, i) => a * size(i.space), 1) * (inlineFlops(e.body, size, inner) + 1);
    }
    default:
      return assertNever(e);
  }
}

// Structural helpers of the planner: flattening nested sums into one loop nest, an alpha-canonical
// key for temps equal up to renaming of indices (one Gramian for Σ_u U[u,k]·U[u,l] and its renamings),
// and the per-tuple subexpressions several expressions of a group share (the residual of a loss
// and of each of its gradients), which become one step each.
import { children, mapChildren, substitute } from '../ir/walk.ts';
import { freeIdx, idx as mkIdx, idxKey, reduce, sum, type Expr, type Idx, type Ix } from '../ir/nodes.ts';

/** sum(A: sum(B: x)) → sum(A, B: x) when the names are distinct (one loop nest, one CSR check). */
export function flattenSums(e: Expr, memo = new Map<number, Expr>()): Expr {
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

/** `e` with every bound index renamed by nesting depth and position (a key for alpha-equivalence). */
export function canonicalBound(e: Expr, depth = 0, memo = new Map<string, Expr>()): Expr {
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
 * A per-tuple node's key up to the name of its tuple index (and its bound ones): a loss's score
 * Σ_k P[likes.user[t'2],k]·… and its gradients' Σ_k P[likes.user[#0],k]·… are one key (the id
 * of the renamed sum, a node of its own: it never equals the id of a node keyed by identity).
 */
export function perTupleKey(x: Expr, t: Idx): number {
  return canonicalBound(substitute(x, new Map([[idxKey(t), { kind: 'var', idx: mkIdx('%t', t.space) }]]))).id;
}

/**
 * Per-tuple subexpressions (one free index, over a relation) that two or more of `roots` contain
 * (up to the names of their indices: perTupleKey) and that are worth a temp: the ids of the nodes a
 * group plans as one shared step (equal ones share its temp: the planner's hoist keys by renaming).
 */
export function sharedPerTuple(roots: readonly Expr[], isRelation: (space: string) => boolean): Set<number> {
  const shared = new Set<number>();
  if (roots.length <= 1) return shared;
  const count = new Map<number, number>();
  const nodes = new Map<number, number[]>();
  for (const r of roots) {
    const seen = new Set<number>();
    const keys = new Set<number>();
    const go = (x: Expr): void => {
      if (seen.has(x.id)) return;
      seen.add(x.id);
      const f = [...freeIdx(x).values()];
      if (f.length === 1 && isRelation(f[0]!.space) && x.op !== 'tensor' && x.op !== 'eq' && worthSharing(x)) {
        // a sum (a score, a normalizer) matches up to the names of its indices; others by identity
        const k = x.op === 'sum' ? perTupleKey(x, f[0]!) : x.id;
        if (!keys.has(k)) count.set(k, (count.get(k) ?? 0) + 1);
        keys.add(k);
        nodes.set(k, [...(nodes.get(k) ?? []), x.id]);
      }
      for (const c of children(x)) go(c);
    };
    go(r);
  }
  for (const [k, n] of count) if (n >= 2) for (const id of nodes.get(k)!) shared.add(id);
  return shared;
}

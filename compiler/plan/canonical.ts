// Structural helpers of the planner: flattening nested sums into one loop nest, an alpha-canonical
// key for temps equal up to renaming of indices (one Gramian for Σ_u U[u,k]·U[u,l] and its renamings),
// and the per-tuple subexpressions several expressions of a group share (the residual of a loss
// and of each of its gradients), which become one step each.
import { children, mapChildren, substitute } from '../ir/walk.ts';
import { add, freeIdx, idx as mkIdx, idxKey, mul, reduce, sum, type Expr, type Idx, type Ix } from '../ir/nodes.ts';

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

/** Whether `e` holds a node `p` accepts. */
function holds(e: Expr, p: (x: Expr) => boolean, seen = new Set<number>()): boolean {
  if (seen.has(e.id)) return false;
  seen.add(e.id);
  return p(e) || children(e).some((c) => holds(c, p, seen));
}

/**
 * Σ_t a(t) + Σ_t b(t) → Σ_t c·(a'(t) + b'(t)), c the factors the bodies share: sums of one add over
 * one relation's tuples (one index, no δ — CSR walks stay apart — and no max/min inside), the
 * factors of a term outside its sum (constants, hypers) moved inside. enmf's ∂h is
 * α·Σ_t P∘Q·ŝ_t + β·Σ_t P∘Q: two passes gathering the same rows, merged into one pass over
 * P∘Q·(α·ŝ_t + β) whose per-tuple factor the kernel reads once per tuple.
 */
export function mergeTupleSums(e: Expr, isRelation: (space: string) => boolean, memo = new Map<number, Expr>()): Expr {
  const hit = memo.get(e.id);
  if (hit) return hit;
  let out = mapChildren(e, (x) => mergeTupleSums(x, isRelation, memo));
  if (out.op === 'add') out = mergeAdd(out.args, isRelation);
  memo.set(e.id, out);
  return out;
}

function mergeAdd(args: readonly Expr[], isRelation: (space: string) => boolean): Expr {
  const groups = new Map<string, { outside: Expr[]; s: Extract<Expr, { op: 'sum' }> }[]>();
  const others: Expr[] = [];
  for (const a of args) {
    const factors = a.op === 'mul' ? a.args : [a];
    const sums = factors.filter((f): f is Extract<Expr, { op: 'sum' }> => f.op === 'sum' && f.over.length === 1 && isRelation(f.over[0]!.space) && !holds(f.body, (x) => x.op === 'eq' || x.op === 'reduce'));
    if (sums.length !== 1) {
      others.push(a);
      continue;
    }
    const s = sums[0]!;
    const outside = factors.filter((f) => f !== s);
    const k = s.over[0]!.space;
    groups.set(k, [...(groups.get(k) ?? []), { outside, s }]);
  }
  const merged: Expr[] = [];
  for (const parts of groups.values()) {
    const t = parts[0]!.s.over[0]!;
    const tk = idxKey(t);
    // t must be free nowhere it would capture: not in a factor moved inside, not free in another sum
    const clash = parts.some((p) => p.outside.some((f) => freeIdx(f).has(tk)) || freeIdx(p.s).has(tk) || holds(p.s.body, (x) => (x.op === 'sum' || x.op === 'reduce') && x.over.some((i) => idxKey(i) === tk)));
    if (parts.length < 2 || clash) {
      for (const p of parts) merged.push(p.outside.length ? mul(...p.outside, p.s) : p.s);
      continue;
    }
    const bodies = parts.map((p) => mul(...p.outside, substitute(p.s.body, new Map([[idxKey(p.s.over[0]!), { kind: 'var' as const, idx: t }]]))));
    const factorsOf = (b: Expr): readonly Expr[] => (b.op === 'mul' ? b.args : [b]);
    const common = factorsOf(bodies[0]!).filter((f) => f.op !== 'const' && bodies.every((b) => factorsOf(b).some((g) => g.id === f.id)));
    const rest = bodies.map((b) => {
      const drop = new Set(common.map((f) => f.id));
      return mul(...factorsOf(b).filter((f) => !drop.delete(f.id)));
    });
    merged.push(sum([t], mul(...common, add(...rest))));
  }
  return add(...others, ...merged);
}

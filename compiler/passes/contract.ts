// contract: choose the order in which a product term's indices are summed (opt_einsum's paths).
// Σ_{u,i,k,l} U[u,k]·V[i,k]·U[u,l]·V[i,l] becomes Σ_{k,l} (Σ_u U[u,k]U[u,l])·(Σ_i V[i,k]V[i,l]):
// an index that only one factor mentions is summed into that factor at once; then pairs of factors
// are combined, each pair summing what no other factor still needs. With up to EXACT_LIMIT factors
// every pairing order is searched for the least total work (opt_einsum's "optimal"); beyond, the
// pair with the smallest result goes next (its "greedy"). O(|U||I|d) → O((|U|+|I|)d²). Sizes treat
// δ(R.c[n], t) as a sparse join (one t per n), so FM's per-row sums are found, not an nnz² pair
// space. The order is kept as data: the nesting of the resulting sums.
import { freeIdx, idxKey, konst, mul, sum, type Expr, type Idx } from '../ir/nodes.ts';
import { spaceSize, type SizeOf } from './cost.ts';
import type { ProductTerm } from './expand.ts';

interface Item {
  readonly e: Expr;
  readonly idx: ReadonlyMap<string, Idx>;
}

const item = (e: Expr): Item => ({ e, idx: freeIdx(e) });

/** Factors beyond this many are ordered greedily (the exact search grows factorially). */
export const EXACT_LIMIT = 7;

/** Sums into `it` every index of `pending` that none of `others` mentions. */
function absorb(it: Item, others: readonly Item[], pending: ReadonlySet<string>): { item: Item; pending: Set<string> } {
  const own: Idx[] = [];
  for (const [k, i] of it.idx) if (pending.has(k) && !others.some((o) => o.idx.has(k))) own.push(i);
  const rest = new Set(pending);
  own.forEach((i) => rest.delete(idxKey(i)));
  return { item: own.length ? item(sum(own, it.e)) : it, pending: rest };
}

interface Plan {
  readonly work: number;
  readonly e: Expr;
  readonly pending: ReadonlySet<string>;
}

function merge(items: readonly Item[], a: number, b: number, pending: ReadonlySet<string>, sizeOf: SizeOf): { items: Item[]; pending: Set<string>; work: number } {
  const A = items[a]!;
  const B = items[b]!;
  const rest = items.filter((_, j) => j !== a && j !== b);
  const body = mul(A.e, B.e);
  const work = spaceSize(new Map([...A.idx, ...B.idx]).values(), body, sizeOf);
  const r = absorb(item(body), rest, pending);
  return { items: [...rest, r.item], pending: r.pending, work };
}

/** The least-work pairing order over every order (small inputs only). */
function exact(items: readonly Item[], pending: ReadonlySet<string>, sizeOf: SizeOf, memo: Map<string, Plan>): Plan {
  if (items.length === 1) return { work: 0, e: items[0]!.e, pending };
  const key = `${items.map((x) => x.e.id).sort((x, y) => x - y).join(',')}|${[...pending].sort().join(',')}`;
  const hit = memo.get(key);
  if (hit) return hit;
  let best: Plan | undefined;
  for (let a = 0; a < items.length; a++) {
    for (let b = a + 1; b < items.length; b++) {
      const m = merge(items, a, b, pending, sizeOf);
      const sub = exact(m.items, m.pending, sizeOf, memo);
      const work = m.work + sub.work;
      if (!best || work < best.work) best = { work, e: sub.e, pending: sub.pending };
    }
  }
  memo.set(key, best!);
  return best!;
}

/** opt_einsum's greedy: the pair whose result is smallest relative to its inputs goes next. */
function greedy(start: readonly Item[], pending0: ReadonlySet<string>, sizeOf: SizeOf): Plan {
  let items = [...start];
  let pending: ReadonlySet<string> = pending0;
  let total = 0;
  while (items.length > 1) {
    let best: { a: number; b: number; score: number; work: number } | undefined;
    for (let a = 0; a < items.length; a++) {
      for (let b = a + 1; b < items.length; b++) {
        const A = items[a]!;
        const B = items[b]!;
        const shared = [...A.idx.keys()].some((k) => B.idx.has(k));
        const union = new Map([...A.idx, ...B.idx]);
        const rest = items.filter((_, j) => j !== a && j !== b);
        const kept = [...union.entries()].filter(([k]) => !pending.has(k) || rest.some((r) => r.idx.has(k)));
        const body = mul(A.e, B.e);
        const work = spaceSize(union.values(), body, sizeOf);
        const out = spaceSize(kept.map(([, i]) => i), body, sizeOf);
        const score = out - spaceSize(A.idx.values(), A.e, sizeOf) - spaceSize(B.idx.values(), B.e, sizeOf);
        const s = score + (shared ? 0 : Number.MAX_SAFE_INTEGER / 4); // outer products last
        if (!best || s < best.score || (s === best.score && work < best.work)) best = { a, b, score: s, work };
      }
    }
    const m = merge(items, best!.a, best!.b, pending, sizeOf);
    items = m.items;
    pending = m.pending;
    total += m.work;
  }
  return { work: total, e: items[0]!.e, pending };
}

export function contractTerm(t: ProductTerm, sizeOf: SizeOf): Expr {
  let pending: Set<string> = new Set(t.over.map(idxKey));
  const byKey = new Map(t.over.map((i) => [idxKey(i), i] as const));
  const scalars = t.factors.filter((f) => freeIdx(f).size === 0);
  let items: Item[] = t.factors.filter((f) => freeIdx(f).size > 0).map(item);
  // lonely indices first
  items = items.map((it, j) => {
    const r = absorb(it, items.filter((_, o) => o !== j), pending);
    pending = r.pending;
    return r.item;
  });
  let core: Expr;
  if (items.length === 0) core = konst(1);
  else {
    const plan = items.length <= EXACT_LIMIT ? exact(items, pending, sizeOf, new Map()) : greedy(items, pending, sizeOf);
    core = plan.e;
    pending = new Set(plan.pending);
  }
  const leftover = [...pending].map((k) => byKey.get(k)!);
  return mul(konst(t.coef), ...scalars, sum(leftover, core));
}

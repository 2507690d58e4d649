// contract: choose the order in which a product term's indices are summed (opt_einsum's greedy path).
// Σ_{u,i,k,l} U[u,k]·V[i,k]·U[u,l]·V[i,l] becomes Σ_{k,l} (Σ_u U[u,k]U[u,l])·(Σ_i V[i,k]V[i,l]):
// an index that only one factor mentions is summed into that factor at once; otherwise the pair of
// factors whose product (after summing what no one else needs) is smallest is combined next.
// O(|U||I|d) → O((|U|+|I|)d²). The order is kept as data: the nesting of the resulting sums.
import { freeIdx, idxKey, konst, mul, sum, type Expr, type Idx } from '../ir/nodes.ts';
import { spaceSize, type SizeOf } from './cost.ts';
import type { ProductTerm } from './expand.ts';

interface Item {
  readonly e: Expr;
  readonly idx: ReadonlyMap<string, Idx>;
}

const item = (e: Expr): Item => ({ e, idx: freeIdx(e) });

export function contractTerm(t: ProductTerm, sizeOf: SizeOf): Expr {
  const pending = new Map(t.over.map((i) => [idxKey(i), i] as const));
  const scalars = t.factors.filter((f) => freeIdx(f).size === 0);
  let items: Item[] = t.factors.filter((f) => freeIdx(f).size > 0).map(item);

  /** Sums into `it` every pending index that none of `others` mentions. */
  const absorb = (it: Item, others: readonly Item[]): Item => {
    const own: Idx[] = [];
    for (const [k, i] of it.idx) if (pending.has(k) && !others.some((o) => o.idx.has(k))) own.push(i);
    if (own.length === 0) return it;
    own.forEach((i) => pending.delete(idxKey(i)));
    return item(sum(own, it.e));
  };

  // lonely indices first
  items = items.map((it, j) => absorb(it, items.filter((_, o) => o !== j)));

  while (items.length > 1) {
    let best: { a: number; b: number; score: number; work: number } | undefined;
    for (let a = 0; a < items.length; a++) {
      for (let b = a + 1; b < items.length; b++) {
        const A = items[a]!;
        const B = items[b]!;
        const shared = [...A.idx.keys()].some((k) => B.idx.has(k));
        const union = new Map([...A.idx, ...B.idx]);
        const rest = new Set(items.filter((_, j) => j !== a && j !== b));
        const kept = [...union.entries()].filter(([k]) => !pending.has(k) || [...rest].some((r) => r.idx.has(k)));
        const body = mul(A.e, B.e);
        const work = spaceSize(union.values(), body, sizeOf);
        const out = spaceSize(kept.map(([, i]) => i), undefined, sizeOf);
        const score = out - spaceSize(A.idx.values(), undefined, sizeOf) - spaceSize(B.idx.values(), undefined, sizeOf);
        const penalty = shared ? 0 : Number.MAX_SAFE_INTEGER / 4; // outer products last
        const s = score + penalty;
        if (!best || s < best.score || (s === best.score && work < best.work)) best = { a, b, score: s, work };
      }
    }
    const { a, b } = best!;
    const A = items[a]!;
    const B = items[b]!;
    const rest = items.filter((_, j) => j !== a && j !== b);
    items = [...rest, absorb(item(mul(A.e, B.e)), rest)];
  }
  const last = items[0];
  const leftover = [...pending.values()];
  const core = last ? sum(leftover, last.e) : sum(leftover, konst(1));
  return mul(konst(t.coef), ...scalars, core);
}

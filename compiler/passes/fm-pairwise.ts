// fm-pairwise: a sum over the distinct pairs of a sparse row's features with a symmetric body,
//   Σ_{n₁<n₂} g(n₁, n₂) = ½ (Σ_{n₁,n₂} g(n₁, n₂) − Σ_n g(n, n))          (g(a, b) = g(b, a))
// The unordered-pair sum comes from `j < l in x` as a guard ord(n₁) < ord(n₂); once it is gone,
// expand+contract turn Σ_{n₁,n₂} ⟨V_{j₁}, V_{j₂}⟩ x_{j₁} x_{j₂} into Σ_f (Σ_n V_{j,f} x_j)²: FM's
// O(k·nnz) form instead of O(k·nnz²) per row (Rendle 2010). One rule, for the rewrite driver.
import { idxKey, konst, mul, sub, sum, type Expr, type Ix } from '../ir/nodes.ts';
import { substitute } from '../ir/walk.ts';
import { rewrite, type Trace } from '../rewrite/engine.ts';
import { rule, type Rule } from '../rewrite/rule.ts';

type VarIx = Extract<Ix, { kind: 'var' }>;

/**
 * The pair-ordering guard ord(n₁) < ord(n₂) (positions of two variables over one space, as `j < l in
 * x` lowers), if `f` is one. Positions are exact and distinct within a space, so the identity holds
 * for whatever space they range over; a comparison of data values (a user column named `pos`) is
 * a `tensor` comparison and never matches. The only place that recognises the guard.
 */
export function orderingGuard(f: Expr): { n1: VarIx; n2: VarIx } | undefined {
  if (f.op !== 'cmp' || f.cmp !== '<' || f.a.op !== 'ord' || f.b.op !== 'ord') return undefined;
  const [a, b] = [f.a.ix, f.b.ix];
  if (a.kind !== 'var' || b.kind !== 'var' || a.idx.space !== b.idx.space) return undefined;
  return { n1: a, n2: b };
}

// Σ_{n₁,n₂} [n₁<n₂]·g(n₁,n₂)  →  ½ (Σ_{n₁,n₂} g(n₁,n₂) − Σ_{n₁} g(n₁,n₁))     g symmetric; O(nnz²) → O(nnz) after contraction
export const fmPairwise: Rule = rule(
  'fm-pairwise',
  'sum',
  (s) => {
    const factors = s.body.op === 'mul' ? s.body.args : [s.body];
    const bound = new Set(s.over.map(idxKey));
    for (const f of factors) {
      const pair = orderingGuard(f);
      if (!pair) continue;
      const [k1, k2] = [idxKey(pair.n1.idx), idxKey(pair.n2.idx)];
      if (!bound.has(k1) || !bound.has(k2)) continue;
      const g = mul(...factors.filter((x) => x !== f));
      const swapped = substitute(g, new Map<string, Ix>([[k1, pair.n2], [k2, pair.n1]]));
      if (swapped !== g) continue; // not symmetric: keep the ordered pair loop
      return { g, pair, k2 };
    }
    return undefined;
  },
  (s, { g, pair, k2 }) => {
    const diagonal = substitute(g, new Map<string, Ix>([[k2, pair.n1]]));
    const rest = s.over.filter((i) => idxKey(i) !== k2);
    return mul(konst(0.5), sub(sum(s.over, g), sum(rest, diagonal)));
  },
);

export const fmPairwiseRules: readonly Rule[] = [fmPairwise];

/** Applies fm-pairwise everywhere in `e`, bottom-up. Run on the objective before differentiation:
 * the derivative of a symmetric pair sum is a sum of non-symmetric halves the rule cannot see. */
export function rewritePairs(e: Expr, trace?: Trace): Expr {
  return rewrite(e, fmPairwiseRules, { trace });
}

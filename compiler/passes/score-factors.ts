// score-factors: `def score(u, i)` as a sum of user-side × item-side products over dims,
//   score(u, i) = Σ_t Σ_{k ∈ K_t} X_t[u, k] · Y_t[i, k],
// so that serving scores a block of users against every item as one matrix product, from two
// stored matrices (the run folder's serving/ files), without the model or the training data.
// From expand's sum-of-products form: each factor of a product goes to the side whose id it reads
// (factors reading neither id go to the user side, with the coefficient); an index summed on one
// side only stays summed inside that side; indices both sides share are the term's columns, and
// must be dims (a fixed width). A factor that reads both ids (sigmoid(U_u·V_i), a membership test
// of (u, i)) or a shared summed index over a domain or relation has no such form: the reason is
// returned instead, and serving says so.
import { freeIdx, idxKey, konst, mul, sum, type Expr, type Idx } from '../ir/nodes.ts';
import type { IRModule } from '../ir/module.ts';
import { expand } from './expand.ts';

/** One product: Σ_{k ∈ over} user[u, k] · item[i, k]; `over` are dims, empty for a width of 1. */
export interface FactorTerm {
  readonly user: Expr;
  readonly item: Expr;
  readonly over: readonly Idx[];
  /** both sides read their id: the term ranks items differently per user (not a bias or a constant) */
  readonly interaction: boolean;
}

export interface ScoreFactors {
  readonly kind: 'factors';
  /** interaction terms first, so that the leading columns of X and Y are the model's geometry */
  readonly terms: readonly FactorTerm[];
  readonly u: Idx;
  readonly i: Idx;
}

export interface NoFactors {
  readonly kind: 'unavailable';
  readonly reason: string;
}

/** score(u, i) over free u, i as user × item products, or why it is not one. */
export function factorScore(expr: Expr, u: Idx, i: Idx, spaces: IRModule['spaces']): ScoreFactors | NoFactors {
  const no = (reason: string): NoFactors => ({ kind: 'unavailable', reason: `score(u, i) is not a sum of user-side × item-side products: ${reason}` });
  const products = expand(expr, (x) => x, 256);
  if (!products) return no('it expands to more than 256 products');
  const uk = idxKey(u);
  const ik = idxKey(i);
  const terms: FactorTerm[] = [];
  for (const p of products) {
    const userF: Expr[] = [konst(p.coef)];
    const itemF: Expr[] = [];
    for (const f of p.factors) {
      const free = freeIdx(f);
      if (free.has(uk) && free.has(ik)) return no('one factor reads both the user and the item');
      (free.has(ik) ? itemF : userF).push(f);
    }
    const reads = (fs: readonly Expr[]): Set<string> => new Set(fs.flatMap((f) => [...freeIdx(f).keys()]));
    const ur = reads(userF);
    const ir = reads(itemF);
    const shared: Idx[] = [];
    const userOnly: Idx[] = [];
    const itemOnly: Idx[] = [];
    for (const k of p.over) {
      const key = idxKey(k);
      if (ur.has(key) && ir.has(key)) shared.push(k);
      else if (ir.has(key)) itemOnly.push(k);
      else userOnly.push(k);
    }
    for (const k of shared) {
      if (spaces.get(k.space)?.kind !== 'dim') return no(`the user and item sides share a sum over ${k.space}, which is not a dim`);
    }
    terms.push({ user: sum(userOnly, mul(...userF)), item: sum(itemOnly, mul(...itemF)), over: shared, interaction: ur.has(uk) && ir.has(ik) });
  }
  terms.sort((a, b) => Number(b.interaction) - Number(a.interaction));
  return { kind: 'factors', terms, u, i };
}

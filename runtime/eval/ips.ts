// Inverse-propensity-scored (IPS) ranking metrics: `metrics recall@20 ips, ndcg@20 ips(gamma = 0.8)`.
// Offline ranking metrics reward recommending popular items, because popular items are the ones
// users were exposed to and so could like in the test data. IPS weighs every relevant test item by
// 1 / its propensity, the probability that a like of it is observed, with
//   p_i = ((n_i + 1) / (n_max + 1))^γ,   n_i = the users who like i in training, n_max = max_j n_j,
// so the most popular item has p = 1 and weight 1, and rarer items count more. γ is given, or fitted
// by maximum likelihood on the training data (`fitGamma`). Per user, with Rel_u, top-K and the
// candidate set exactly as in runtime/eval/metrics.ts, and w_i = 1 / p_i (self-normalized: in [0, 1]):
//   IPS-Recall@K(u) = Σ_{i ∈ top-K ∩ Rel_u} w_i / Σ_{i ∈ Rel_u} w_i
//   IPS-NDCG@K(u)   = Σ_{r ≤ K, item_r ∈ Rel_u} w_{item_r} / log2(r+1)  /  Σ_{r=1}^{min(|Rel_u|,K)} w_(r) / log2(r+1)
// where w_(1) ≥ w_(2) ≥ … are Rel_u's weights sorted (the ideal list puts the rarest relevant items
// first). Both are averaged over the users the unweighted metrics average over. Derivations and a
// hand-computed example: docs/metrics.md ("Inverse-propensity-scored metrics").
import { topK, type RankingInput, type UserItems } from './metrics.ts';

/** n_i: how many users have item i among their training items (each user counted once). */
export function itemPopularity(train: UserItems, nItems: number): Float64Array {
  const n = new Float64Array(nItems);
  const stamp = new Int32Array(nItems).fill(-1);
  const nUsers = train.offsets.length - 1;
  for (let u = 0; u < nUsers; u++) {
    for (let j = train.offsets[u]!; j < train.offsets[u + 1]!; j++) {
      const i = train.items[j]!;
      if (stamp[i] === u) continue;
      stamp[i] = u;
      n[i]!++;
    }
  }
  return n;
}

/** The largest γ `fitGamma` searches; also the largest a model may give (compiler/check RC0616). */
export const MAX_GAMMA = 10;

/**
 * γ maximizing the leave-one-user-out likelihood of the training likes: user u picks each of its
 * items V_u from the whole catalogue with probability ∝ m_ui^γ, m_ui = n_i − [i ∈ V_u] + 1 (the
 * popularity of i among the *other* users, plus one), so
 *   ℓ(γ) = Σ_u Σ_{i ∈ V_u} [ γ · log m_ui − log Σ_j m_uj^γ ].
 * ℓ is concave (minus a log-sum-exp of functions linear in γ), so ℓ'(γ) = 0 has one root, found by
 * bisection on [0, MAX_GAMMA] (ℓ' falls monotonically); γ = 0 means popularity tells nothing.
 * Σ_j m_uj^γ = T(γ) − Σ_{j ∈ V_u} ((n_j+1)^γ − n_j^γ) with T(γ) = Σ_j (n_j+1)^γ: O(|I| + |likes|) per γ.
 */
export function fitGamma(train: UserItems, nItems: number): number {
  const n = itemPopularity(train, nItems);
  // each user's distinct items
  const nUsers = train.offsets.length - 1;
  const stamp = new Int32Array(nItems).fill(-1);
  const userItems: number[][] = [];
  for (let u = 0; u < nUsers; u++) {
    const v: number[] = [];
    for (let j = train.offsets[u]!; j < train.offsets[u + 1]!; j++) {
      const i = train.items[j]!;
      if (stamp[i] !== u) {
        stamp[i] = u;
        v.push(i);
      }
    }
    userItems.push(v);
  }
  // ℓ'(γ) = Σ_u [ Σ_{i ∈ V_u} log m_ui − |V_u| · Σ_j m_uj^γ log m_uj / Σ_j m_uj^γ ]
  const slope = (g: number): number => {
    let t0 = 0, t1 = 0;
    for (let j = 0; j < nItems; j++) {
      const a = Math.pow(n[j]! + 1, g);
      t0 += a;
      t1 += a * Math.log(n[j]! + 1);
    }
    let d = 0;
    for (const v of userItems) {
      if (v.length === 0) continue;
      let z0 = t0, z1 = t1, own = 0;
      for (const i of v) {
        // m = n_i for i ∈ V_u (n_i ≥ 1 there); n^γ log n is 0 at n = 1
        const hi = Math.pow(n[i]! + 1, g), lo = Math.pow(n[i]!, g);
        z0 -= hi - lo;
        z1 -= hi * Math.log(n[i]! + 1) - lo * Math.log(n[i]!);
        own += Math.log(n[i]!);
      }
      d += own - v.length * (z1 / z0);
    }
    return d;
  };
  let lo = 0, hi = MAX_GAMMA;
  if (slope(lo) <= 0) return 0;
  if (slope(hi) >= 0) return hi;
  for (let it = 0; it < 60; it++) {
    const mid = (lo + hi) / 2;
    if (slope(mid) > 0) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** w_i = 1 / p_i = ((n_max + 1) / (n_i + 1))^γ: 1 for the most popular item, larger for rarer ones. */
export function ipsWeights(popularity: Float64Array, gamma: number): Float64Array {
  let max = 0;
  for (const x of popularity) if (x > max) max = x;
  return popularity.map((x) => Math.pow((max + 1) / (x + 1), gamma));
}

export interface IpsReport {
  readonly k: number;
  readonly users: number;
  readonly recall: number;
  readonly ndcg: number;
}

/**
 * Mean IPS-Recall@K and IPS-NDCG@K (formulas at the top) over users with ≥ 1 relevant item and ≥ 1
 * candidate: the users, candidates, ties and top-K of `rankingMetrics`, with item weights `weights`.
 */
export function ipsRankingMetrics(input: RankingInput, weights: Float64Array): IpsReport {
  const { nUsers, nItems, train, test, k } = input;
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`ranking metrics need an integer K ≥ 1, got ${k}`);
  if (weights.length !== nItems) throw new RangeError(`${weights.length} propensity weights for ${nItems} items`);
  const excluded = new Int32Array(nItems).fill(-1);
  const relevant = new Int32Array(nItems).fill(-1);
  let users = 0, recall = 0, ndcg = 0;
  const relW: number[] = [];
  for (let u = 0; u < nUsers; u++) {
    const stamp = u + 1;
    for (let j = train.offsets[u]!; j < train.offsets[u + 1]!; j++) excluded[train.items[j]!] = stamp;
    relW.length = 0;
    for (let j = test.offsets[u]!; j < test.offsets[u + 1]!; j++) {
      const i = test.items[j]!;
      if (excluded[i] !== stamp && relevant[i] !== stamp) {
        relevant[i] = stamp;
        relW.push(weights[i]!);
      }
    }
    if (relW.length === 0) continue;
    let nCand = 0;
    for (let i = 0; i < nItems; i++) if (excluded[i] !== stamp) nCand++;
    if (nCand === 0) continue;
    const scores = input.scores(u);
    if (scores.length !== nItems) throw new RangeError(`scores(${u}) has ${scores.length} entries, expected ${nItems}`);
    const ranked = topK(scores, k, excluded, stamp);
    let hitW = 0, dcg = 0;
    for (let r = 1; r <= Math.min(k, ranked.length); r++) {
      const i = ranked[r - 1]!;
      if (relevant[i] !== stamp) continue;
      hitW += weights[i]!;
      dcg += weights[i]! / Math.log2(r + 1);
    }
    let total = 0;
    for (const w of relW) total += w;
    relW.sort((a, b) => b - a);
    let idcg = 0;
    for (let r = 1; r <= Math.min(relW.length, k); r++) idcg += relW[r - 1]! / Math.log2(r + 1);
    users++;
    recall += hitW / total;
    ndcg += idcg > 0 ? dcg / idcg : 0;
  }
  return { k, users, recall: users > 0 ? recall / users : NaN, ndcg: users > 0 ? ndcg / users : NaN };
}

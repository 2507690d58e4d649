// IPS ranking metrics (runtime/eval/ips.ts, docs/metrics.md "Inverse-propensity-scored metrics"),
// every expected number worked out by hand in the comments.
import { describe, expect, it } from 'vitest';
import { fitGamma, ipsRankingMetrics, ipsWeights, itemPopularity, MAX_GAMMA } from '../../runtime/eval/ips.ts';
import { rankingMetrics, userItems } from '../../runtime/eval/metrics.ts';

const L2_3 = Math.log2(3); // discount of rank 2

describe('IPS-Recall@K and IPS-NDCG@K, hand-computed', () => {
  // items 0..3; training: u0 {0}, u1 {0, 1}, u2 {0, 2} (u2 listed twice: a repeat counts once)
  // popularity n = [3, 1, 1, 0], n_max = 3; γ = 1: w_i = (n_max+1)/(n_i+1) = [4/4, 4/2, 4/2, 4/1] = [1, 2, 2, 4]
  const train = userItems(new Int32Array([0, 1, 1, 2, 2, 2]), new Int32Array([0, 0, 1, 0, 2, 2]), 3);
  // test: u0 {1, 3}, u1 {3}, u2 nothing (not averaged)
  const test = userItems(new Int32Array([0, 0, 1]), new Int32Array([1, 3, 3]), 3);
  const scores = [
    [0.99, 0.9, 0.5, 0.1], // u0: candidates 1, 2, 3 ranked [1, 2, 3]; K = 2 → top [1, 2]: item 1 hit at rank 1
    [0, 0, 0.2, 0.8], // u1: candidates 2, 3 ranked [3, 2] → item 3 hit at rank 1
    [0, 0, 0, 0],
  ];
  const input = { nUsers: 3, nItems: 4, scores: (u: number) => Float64Array.from(scores[u]!), train, test, k: 2 };

  it('popularity and weights', () => {
    expect([...itemPopularity(train, 4)]).toEqual([3, 1, 1, 0]);
    expect([...ipsWeights(itemPopularity(train, 4), 1)]).toEqual([1, 2, 2, 4]);
    // γ = 0.5: w = √(4/(n+1)) = [1, √2, √2, 2]
    expect([...ipsWeights(itemPopularity(train, 4), 0.5)].map((x) => +x.toFixed(12))).toEqual([1, +Math.SQRT2.toFixed(12), +Math.SQRT2.toFixed(12), 2]);
  });

  it('two users, γ = 1', () => {
    const r = ipsRankingMetrics(input, ipsWeights(itemPopularity(train, 4), 1));
    // u0: IPS-Recall = w_1 / (w_1 + w_3) = 2 / (2 + 4) = 1/3   (plain recall: 1/2)
    //     IPS-NDCG: DCG = w_1 / log2 2 = 2; ideal order by weight [3, 1]: IDCG = 4/1 + 2/log2 3
    // u1: the only relevant item at rank 1: IPS-Recall = 1, IPS-NDCG = 1
    expect(r.users).toBe(2);
    expect(r.recall).toBeCloseTo((1 / 3 + 1) / 2, 12);
    expect(r.ndcg).toBeCloseTo((2 / (4 + 2 / L2_3) + 1) / 2, 12);
    // the popular hit counts less than in the unweighted metrics
    const plain = rankingMetrics(input);
    expect(plain.recall).toBeCloseTo((1 / 2 + 1) / 2, 12);
    expect(r.recall).toBeLessThan(plain.recall);
  });

  it('γ = 0 gives every item weight 1: the unweighted Recall@K and NDCG@K', () => {
    const r = ipsRankingMetrics(input, ipsWeights(itemPopularity(train, 4), 0));
    const plain = rankingMetrics(input);
    expect(r.recall).toBeCloseTo(plain.recall, 12);
    expect(r.ndcg).toBeCloseTo(plain.ndcg, 12);
  });
});

describe('γ by maximum likelihood (fitGamma)', () => {
  // ℓ(γ) = Σ_u Σ_{i ∈ V_u} [γ log m_ui − log Σ_j m_uj^γ], m_uj = n_j − [j ∈ V_u] + 1
  it('popularity that predicts nothing: γ = 0', () => {
    // items 0, 1; u0 {0}, u1 {0}, u2 {1}: n = [2, 1]
    // u0, u1: m = [2−1+1, 1+1] = [2, 2] → γ log 2 − log(2·2^γ) = −log 2: constant
    // u2: m = [2+1, 1−1+1] = [3, 1] → 0 − log(3^γ + 1): falls with γ, so ℓ is largest at γ = 0
    expect(fitGamma(userItems(new Int32Array([0, 1, 2]), new Int32Array([0, 0, 1]), 3), 2)).toBe(0);
  });

  it('an interior optimum where the hand-derived ℓ′ vanishes', () => {
    // items 0, 1, 2 (2 liked by nobody); u0 {0}, u1 {0}, u2 {1}: n = [2, 1, 0]
    // u0, u1: m = [2, 2, 1] → ℓ_u = γ log 2 − log(2·2^γ + 1),  ℓ_u′ = log 2 − 2·2^γ log 2 / (2·2^γ + 1) = log 2 / (2^(γ+1) + 1)
    // u2:     m = [3, 1, 1] → ℓ_u = −log(3^γ + 2),            ℓ_u′ = −3^γ log 3 / (3^γ + 2)
    // ℓ′(γ) = 2 log 2 / (2^(γ+1) + 1) − 3^γ log 3 / (3^γ + 2): ℓ′(0) = (2 log 2 − log 3)/3 > 0, ℓ′(1) = (2 log 2 − 3 log 3)/5 < 0
    const dl = (g: number): number => (2 * Math.log(2)) / (2 ** (g + 1) + 1) - (3 ** g * Math.log(3)) / (3 ** g + 2);
    const g = fitGamma(userItems(new Int32Array([0, 1, 2]), new Int32Array([0, 0, 1]), 3), 3);
    expect(g).toBeGreaterThan(0);
    expect(g).toBeLessThan(1);
    expect(Math.abs(dl(g))).toBeLessThan(1e-12);
  });

  it('agrees with ℓ written out over every item, maximized on a grid', () => {
    // 6 users, 5 items, a popular head and a tail; ℓ computed directly (no O(|likes|) shortcut)
    const V = [[0, 1], [0, 2], [0, 1, 3], [0], [1, 4], [0, 1, 2]];
    const us = V.flatMap((v, u) => v.map(() => u)), is = V.flat();
    const train = userItems(Int32Array.from(us), Int32Array.from(is), V.length);
    const n = [0, 1, 2, 3, 4].map((j) => V.filter((v) => v.includes(j)).length);
    const ell = (g: number): number =>
      V.reduce((a, v) => {
        const m = n.map((nj, j) => nj - (v.includes(j) ? 1 : 0) + 1);
        const z = m.reduce((s, x) => s + x ** g, 0);
        return a + v.reduce((s, i) => s + g * Math.log(m[i]!) - Math.log(z), 0);
      }, 0);
    let best = 0;
    for (let g = 0; g <= MAX_GAMMA; g += 1e-4) if (ell(g) > ell(best)) best = g;
    expect(Math.abs(fitGamma(train, 5) - best)).toBeLessThan(2e-4);
  });
});

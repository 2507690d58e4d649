import { describe, expect, it } from 'vitest';
import { aucOf, globalAuc, listMetrics, logloss, LOGLOSS_EPS, mae, rankingMetrics, rmse, sigmoid, topK, userItems } from '../../runtime/eval/metrics.ts';

const L2_3 = Math.log2(3); // discount of rank 2

describe('rating metrics', () => {
  it('rmse and mae by hand', () => {
    expect(rmse([1, 2, 3], [1, 2, 5])).toBeCloseTo(Math.sqrt(4 / 3), 15);
    expect(mae([1, 2, 3], [1, 2, 5])).toBeCloseTo(2 / 3, 15);
    expect(rmse(new Float32Array([0.5]), [0])).toBe(0.5);
    expect(() => rmse([1], [1, 2])).toThrow(RangeError);
  });
});

describe('topK', () => {
  it('orders by score, ties by lower item index, skips excluded items, ranks NaN last', () => {
    expect([...topK([3, 1, 3, 2], 3)]).toEqual([0, 2, 3]);
    expect([...topK([3, 1, 3, 2], 3, new Int32Array([7, 0, 0, 0]), 7)]).toEqual([2, 3, 1]);
    expect([...topK([NaN, 1, -Infinity, 2], 4)]).toEqual([3, 1, 0, 2]);
    expect([...topK([1, 2], 5)]).toEqual([1, 0]);
    expect([...topK([1, 2], 0)]).toEqual([]);
  });
});

describe('ranking metrics, hand-computed', () => {
  // user 0: items 0..5 scored 0.9 .. 0.4, trained on {0}, test {2, 5}; K = 3
  // candidates ranked 1, 2, 3, 4, 5 → top-3 = [1, 2, 3], one hit (item 2) at rank 2
  const s0 = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4];
  it('one user', () => {
    const m = listMetrics([1, 2, 3], (i) => i === 2 || i === 5, 2, 3);
    expect(m.recall).toBe(1 / 2);
    expect(m.precision).toBe(1 / 3);
    expect(m.ndcg).toBeCloseTo(1 / L2_3 / (1 + 1 / L2_3), 15); // DCG = 1/log2 3, IDCG = 1 + 1/log2 3
    expect(m.hr).toBe(1);
    expect(m.mrr).toBe(1 / 2);
    // AUC: positives 0.7, 0.4 vs negatives 0.8, 0.6, 0.5 → pairs won: 2 + 0 of 6
    expect(aucOf(new Float64Array([0.7, 0.4]), new Float64Array([0.8, 0.6, 0.5]))).toBe(1 / 3);
  });

  it('ties count ½ in AUC; no hit gives zeros', () => {
    expect(aucOf(new Float64Array([1, 1]), new Float64Array([1, 0]))).toBe(0.75);
    expect(listMetrics([0, 1], () => false, 3, 2)).toEqual({ recall: 0, precision: 0, ndcg: 0, hr: 0, mrr: 0 });
  });

  it('averages over users with relevant items; a test item seen in training is not relevant', () => {
    // user 1: scores rise with the item index, trained on {5}, test {4, 5} → relevant {4}, ranked first
    // user 2: no test items → not averaged
    const scores = [s0, [0.1, 0.2, 0.3, 0.4, 0.5, 0.6], [1, 1, 1, 1, 1, 1]];
    const train = userItems(new Int32Array([0, 1, 2]), new Int32Array([0, 5, 3]), 3);
    const test = userItems(new Int32Array([0, 0, 1, 1]), new Int32Array([2, 5, 4, 5]), 3);
    const r = rankingMetrics({ nUsers: 3, nItems: 6, scores: (u) => Float32Array.from(scores[u]), train, test, k: 3 });
    expect(r.users).toBe(2);
    expect(r.recall).toBeCloseTo((1 / 2 + 1) / 2, 7);
    expect(r.precision).toBeCloseTo(1 / 3, 7);
    expect(r.ndcg).toBeCloseTo((1 / L2_3 / (1 + 1 / L2_3) + 1) / 2, 7);
    expect(r.hr).toBe(1);
    expect(r.mrr).toBeCloseTo(0.75, 7);
    expect(r.auc).toBeCloseTo((1 / 3 + 1) / 2, 7);
  });

  it('a perfect and a reversed scorer give AUC 1 and 0', () => {
    const train = userItems(new Int32Array([]), new Int32Array([]), 1);
    const test = userItems(new Int32Array([0, 0]), new Int32Array([1, 3]), 1);
    const run = (s: number[]) => rankingMetrics({ nUsers: 1, nItems: 5, scores: () => s, train, test, k: 2 });
    const good = run([0, 9, 1, 8, 2]);
    expect([good.auc, good.recall, good.ndcg, good.precision]).toEqual([1, 1, 1, 1]);
    const bad = run([9, 0, 8, 1, 7]);
    expect([bad.auc, bad.recall, bad.ndcg, bad.hr, bad.mrr]).toEqual([0, 0, 0, 0, 0]);
  });
});

// the cases of docs/metrics.md, "Binary-label metrics"
describe('binary-label metrics, hand-computed', () => {
  it('sigmoid is exact at 0 and ±ln 3 and does not overflow', () => {
    expect(sigmoid(0)).toBe(0.5);
    expect(sigmoid(Math.log(3))).toBeCloseTo(0.75, 15);
    expect(sigmoid(-Math.log(3))).toBeCloseTo(0.25, 15);
    expect(sigmoid(1000)).toBe(1);
    expect(sigmoid(-1000)).toBe(0);
  });

  it('logloss of logits: scores (0, ln 3, −ln 3), labels (1, 1, 0) → (ln 2 + 2 ln 4/3) / 3', () => {
    const want = (Math.log(2) + 2 * Math.log(4 / 3)) / 3; // = ln(32/9)/3 ≈ 0.422837
    expect(logloss([0, Math.log(3), -Math.log(3)], [1, 1, 0])).toBeCloseTo(want, 14);
    expect(want).toBeCloseTo(0.422837, 6);
    // −1/+1 labels mean the same (positive iff label > 0)
    expect(logloss([0, Math.log(3), -Math.log(3)], [1, 1, -1])).toBeCloseTo(want, 14);
  });

  it('logloss clips p to [1e-7, 1 − 1e-7]: a confident mistake costs −ln 1e-7 ≈ 16.118, not ∞', () => {
    expect(LOGLOSS_EPS).toBe(1e-7);
    expect(logloss([100], [0])).toBeCloseTo(-Math.log(1e-7), 6);
    expect(logloss([-100], [1])).toBeCloseTo(16.118096, 5);
    expect(logloss([100], [1])).toBeCloseTo(1e-7, 12);
    expect(Number.isNaN(logloss([NaN], [1]))).toBe(true);
    expect(() => logloss([], [])).toThrow(RangeError);
  });

  it('global AUC: scores (0.9, 0.3, 0.5, 0.5, 0.1), labels (1, 0, 1, 0, 0) → 5.5 / 6', () => {
    // positives 0.9, 0.5; negatives 0.3, 0.5, 0.1: 0.9 wins 3 pairs, 0.5 wins 2 and ties 1 (½)
    expect(globalAuc([0.9, 0.3, 0.5, 0.5, 0.1], [1, 0, 1, 0, 0])).toBeCloseTo(5.5 / 6, 15);
    expect(globalAuc([0.9, 0.3, 0.5, 0.5, 0.1], [1, -1, 1, -1, -1])).toBeCloseTo(5.5 / 6, 15);
    expect(globalAuc(Float32Array.from([1, 2, 3]), [0, 0, 1])).toBe(1);
    expect(globalAuc([1, 2, 3], [1, 1, 0])).toBe(0);
    expect(globalAuc([5, 5], [1, 0])).toBe(0.5);
    // NaN scores rank last; one class only → NaN
    expect(globalAuc([NaN, 0], [1, 0])).toBe(0);
    expect(Number.isNaN(globalAuc([1, 2], [1, 1]))).toBe(true);
  });
});

// ItemCF (`neighbours S[item, item] = cosine(likes, top = M)`, runtime/train/neighbours.ts and
// runtime/eval/neighbour-scores.ts) on a hand-computed example.
import { describe, expect, it } from 'vitest';
import { cosineNeighbours } from '../../runtime/train/neighbours.ts';
import { neighbourScores } from '../../runtime/eval/neighbour-scores.ts';
import { userItems } from '../../runtime/eval/metrics.ts';
import { compileSource } from '../../compiler/compile.ts';

// users' likes: u0 {0, 1}, u1 {0, 1, 2}, u2 {1, 2}, u3 {2, 3} (u1's like of 2 given twice: counted once)
const us = Int32Array.from([0, 0, 1, 1, 1, 1, 2, 2, 3, 3]);
const is = Int32Array.from([0, 1, 0, 1, 2, 2, 1, 2, 2, 3]);
// V_0 = {u0, u1}, V_1 = {u0, u1, u2}, V_2 = {u1, u2, u3}, V_3 = {u3}; cosines |V_i ∩ V_j| / √(|V_i||V_j|):
//   S01 = 2/√6 ≈ 0.816, S02 = 1/√6 ≈ 0.408, S12 = 2/√9 ≈ 0.667, S23 = 1/√3 ≈ 0.577, S03 = S13 = 0
const r6 = Math.sqrt(6), r3 = Math.sqrt(3);

describe('cosine neighbours, hand-computed', () => {
  const t = cosineNeighbours(us, is, 4, 4, 2);
  it('keeps each item\'s top 2 by cosine, best first, −1/0 padding', () => {
    // row 0: 1 (2/√6), 2 (1/√6) · row 1: 0 (2/√6), 2 (2/3) · row 2: 1 (2/3), 3 (1/√3), dropping 0 (1/√6) · row 3: 2 (1/√3), pad
    expect([...t.items]).toEqual([1, 2, 0, 2, 1, 3, 2, -1]);
    const want = [2 / r6, 1 / r6, 2 / r6, 2 / 3, 2 / 3, 1 / r3, 1 / r3, 0];
    [...t.weights].forEach((w, k) => expect(w).toBeCloseTo(want[k]!, 6));
  });

  it('with top ≥ the co-occurring items, every non-zero cosine, symmetric', () => {
    const full = cosineNeighbours(us, is, 4, 4, 3);
    const S = Array.from({ length: 4 }, () => [0, 0, 0, 0]);
    for (let i = 0; i < 4; i++) for (let m = 0; m < 3; m++) if (full.items[i * 3 + m]! >= 0) S[i]![full.items[i * 3 + m]!] = full.weights[i * 3 + m]!;
    for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) expect(S[i]![j]).toBeCloseTo(S[j]![i]!, 7);
    expect(S[0]![2]).toBeCloseTo(1 / r6, 6);
    expect(S[0]![3]).toBe(0);
  });

  it('score(u, i) = Σ_{j ∈ likes[u]} S[j, i] through the table', () => {
    const ui = userItems(Int32Array.from([0, 0, 3, 3]), Int32Array.from([0, 1, 2, 3]), 4);
    const s = { offsets: ui.offsets, walked: ui.items, top: t.top, items: t.items, weights: t.weights, coef: 1 };
    // u0 walks rows 0 and 1: item 0 gets S10 = 2/√6, item 1 gets S01 = 2/√6, item 2 gets S02 + S12 = 1/√6 + 2/3
    const u0 = neighbourScores(s, 0, new Float64Array(4));
    [2 / r6, 2 / r6, 1 / r6 + 2 / 3, 0].forEach((x, i) => expect(u0[i]).toBeCloseTo(x, 6));
    // u3 walks rows 2 and 3: item 1 gets 2/3, item 3 gets 1/√3 (row 2), item 2 gets 1/√3 (row 3); S20 was cut by top = 2
    const u3 = neighbourScores(s, 3, new Float64Array(4));
    [0, 2 / 3, 1 / r3, 1 / r3].forEach((x, i) => expect(u3[i]).toBeCloseTo(x, 6));
  });
});

describe('the neighbour form of def score', () => {
  const model = (score: string): string => `index user, item
data ratings(user: user, item: item, rating: float) from "r.tsv" format tsv
data likes = ratings where rating >= 4
neighbours S[item, item] = cosine(likes, top = 5)
def score(u, i) = ${score}
`;
  it('is recognised as a walk over the user\'s likes, with its coefficient', () => {
    const r = compileSource('m.recmodel', model('2 * sum(j in item: ((u, j) in likes) * S[j, i])'));
    expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(r.compiled!.score!.neighbours).toEqual({ kind: 'neighbours', table: 'S', relation: 'likes', userColumn: 'user', itemColumn: 'item', coef: 2 });
  });
  it('anything else reading the table is RC0623', () => {
    for (const bad of ['S[i, i]', 'sum(j in item: S[j, i])', 'sum(j in item: ((u, j) in likes) * S[i, j] * S[j, i])']) {
      const r = compileSource('m.recmodel', model(bad));
      expect(r.diagnostics.map((d) => d.code), bad).toContain('RC0623');
      expect(r.compiled).toBeUndefined();
    }
  });
});

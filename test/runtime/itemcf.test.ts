// ItemCF (`neighbours S[item, item] = cosine(likes, top = M)`, runtime/train/neighbours.ts and
// runtime/eval/neighbour-scores.ts) on a hand-computed example.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readNpy } from '../../runtime/output/npy.ts';
import { recc } from '../helpers/cli.ts';
import { EXAMPLES_DIR } from '../helpers/examples.ts';
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

describe('an ItemCF run folder (examples/itemcf.recmodel on the bundled data)', () => {
  const root = mkdtempSync(join(tmpdir(), 'recc-itemcf-run-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const run = join(root, 'run');

  it('`recc recommend` equals a dense brute force: cosines of the walked likes, top 50 per row, Σ over the user\'s likes', () => {
    const r = recc('run', join(EXAMPLES_DIR, 'itemcf.recmodel'), '--out', run, '--quiet');
    expect(r.code, r.stderr).toBe(0);
    const metrics = JSON.parse(readFileSync(join(run, 'metrics.json'), 'utf8')) as { final: Record<string, number> };
    expect(metrics.final['ndcg@20']).toBeGreaterThan(0);
    // the training likes, from the run folder's walk CSR; ids from ids/
    const off = readNpy(join(run, 'serving', 'walk-offsets.npy')).data as Int32Array;
    const walked = readNpy(join(run, 'serving', 'walk-items.npy')).data as Int32Array;
    const seenOff = readNpy(join(run, 'serving', 'seen-offsets.npy')).data as Int32Array;
    const seen = readNpy(join(run, 'serving', 'seen-items.npy')).data as Int32Array;
    const users = JSON.parse(readFileSync(join(run, 'ids', 'user.json'), 'utf8')) as string[];
    const items = JSON.parse(readFileSync(join(run, 'ids', 'item.json'), 'utf8')) as string[];
    const nU = users.length, nI = items.length;
    // dense user × item incidence (distinct), then S = AᵀA / √(|V_i||V_j|), diagonal 0
    const A = Array.from({ length: nU }, (_, u) => new Set(walked.subarray(off[u]!, off[u + 1]!)));
    const deg = new Float64Array(nI);
    A.forEach((s) => s.forEach((i) => deg[i]!++));
    const S = Array.from({ length: nI }, () => new Float64Array(nI));
    for (const s of A) for (const i of s) for (const j of s) if (i !== j) S[i]![j]! += 1;
    for (let i = 0; i < nI; i++) {
      for (let j = 0; j < nI; j++) S[i]![j] = S[i]![j]! > 0 ? S[i]![j]! / Math.sqrt(deg[i]! * deg[j]!) : 0;
      // keep the row's top 50 (ties: lower j)
      const keep = new Set([...S[i]!.keys()].filter((j) => S[i]![j]! > 0).sort((a, b) => S[i]![b]! - S[i]![a]! || a - b).slice(0, 50));
      for (let j = 0; j < nI; j++) if (!keep.has(j)) S[i]![j] = 0;
    }
    for (const u of [0, 7, 123]) {
      const score = new Float64Array(nI);
      for (let p = off[u]!; p < off[u + 1]!; p++) for (let i = 0; i < nI; i++) score[i]! += S[walked[p]!]![i]!;
      const excluded = new Set(seen.subarray(seenOff[u]!, seenOff[u + 1]!));
      const want = [...score.keys()].filter((i) => !excluded.has(i)).sort((a, b) => score[b]! - score[a]! || a - b).slice(0, 5);
      const out = recc('recommend', run, '--user', users[u]!, '--top', '5');
      expect(out.code, out.stderr).toBe(0);
      const got = out.stdout.trim().split('\n').slice(1).map((l) => /^\s*\d+\.\s+(\S+)\s+(-?\d+\.\d+)/.exec(l)!);
      expect(got.map((m) => m[1])).toEqual(want.map((i) => items[i]));
      got.forEach((m, r) => expect(Number(m[2])).toBeCloseTo(score[want[r]!]!, 3));
    }
  });

  it('`recc similar --item` lists the item\'s row of the table; vector-only commands say why not', () => {
    const sim = recc('similar', run, '--item', '7', '--top', '3');
    expect(sim.code, sim.stderr).toBe(0);
    expect(sim.stdout.trim().split('\n')).toHaveLength(4);
    const user = recc('similar', run, '--user', '3');
    expect(user.code).not.toBe(0);
    expect(user.stderr).toContain('neighbour model (ItemCF)');
    const kv = recc('export', run, '--kv', join(root, 'kv'));
    expect(kv.code).not.toBe(0);
    expect(kv.stderr).toContain('no user vectors');
  });
});

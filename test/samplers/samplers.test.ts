// Samplers, statistically: uniform and popularity^α draws match their target distributions by a
// chi-square goodness-of-fit test at significance 0.001 on 200,000 draws; `logq` equals the log of
// the empirical frequency within 5 standard errors; `exclude = likes` never returns an excluded id
// unless all its redraws failed, and its logq is the exact probability of that procedure; in-batch
// sets are exactly the batch's positives; the same seed gives the same draws (a whole training run
// included).
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileSource } from '../../compiler/compile.ts';
import type { Sampler } from '../../compiler/ir/module.ts';
import { EXCLUDE_RETRIES } from '../../compiler/lower/lower.ts';
import { createBackend } from '../../runtime/backends/backends.ts';
import type { Relation } from '../../runtime/data/load.ts';
import { repoRoot } from '../../runtime/data/data-paths.ts';
import { Rng } from '../../runtime/data/rng.ts';
import { distribution, drawSamples, isExcluded, type Distribution } from '../../runtime/train/samplers.ts';
import { train } from '../../runtime/train/train.ts';
import { TINY_PREAMBLE, tinyDataset } from '../helpers/tiny-dataset.ts';

const DRAWS = 200_000;
const SIGNIFICANCE = 0.001;
/** the standard normal quantile of 1 − SIGNIFICANCE */
const Z = 3.0902;
if (SIGNIFICANCE !== 0.001) throw new Error('Z is the 0.999 quantile: update both together');

/** The (1 − α) quantile of χ² with k degrees of freedom (Wilson–Hilferty; within 1% for k ≥ 10). */
function chi2Critical(k: number): number {
  const a = 2 / (9 * k);
  return k * Math.pow(1 - a + Z * Math.sqrt(a), 3);
}

/** Pearson's statistic of observed counts against expected probabilities (cells with p > 0). */
function chi2(counts: ArrayLike<number>, p: ArrayLike<number>, n: number): { stat: number; df: number } {
  let stat = 0;
  let cells = 0;
  for (let j = 0; j < p.length; j++) {
    if (p[j]! <= 0) continue;
    const e = n * p[j]!;
    stat += (counts[j]! - e) ** 2 / e;
    cells++;
  }
  return { stat, df: cells - 1 };
}

function histogram(dist: Distribution, n: number, size: number, seed: number): Float64Array {
  const rng = new Rng(seed);
  const counts = new Float64Array(size);
  for (let k = 0; k < n; k++) counts[dist.draw(rng)]!++;
  return counts;
}

const ds = tinyDataset({ users: 30, items: 60, tuples: 3000, seed: 11, skew: 1.2 });
const likes = ds.train.get('likes')!;
const ITEMS = 60;
const perTuple = (dist: 'uniform' | 'pop', alpha: number, extra: Partial<Extract<Sampler, { kind: 'per-tuple' }>> = {}): Sampler => ({
  kind: 'per-tuple', rel: 'likes', col: '~j', variable: 'j', domain: 'item', dist, alpha, source: 'likes', ...extra,
});

describe('sampler distributions (chi-square at significance 0.001, 200k draws)', () => {
  for (const [name, s] of [
    ['uniform', perTuple('uniform', 1)],
    ['pop α = 0.75', perTuple('pop', 0.75)],
    ['pop α = 1', perTuple('pop', 1)],
    ['pop α = 0 (uniform)', perTuple('pop', 0)],
  ] as const) {
    it(`${name}: draws match q, and logq = log of the empirical frequency`, () => {
      const dist = distribution(s, ITEMS, likes);
      const q = Float64Array.from(dist.logq, Math.exp);
      expect(q.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
      if (s.dist === 'pop' && s.alpha > 0) {
        // q ∝ count^α in the source relation
        const counts = new Float64Array(ITEMS);
        likes.ids.get('item')!.forEach((j) => counts[j]!++);
        const w = Float64Array.from(counts, (c) => (c > 0 ? Math.pow(c, s.alpha) : 0));
        const tot = w.reduce((a, b) => a + b, 0);
        w.forEach((x, j) => expect(q[j]!).toBeCloseTo(x / tot, 12));
      } else q.forEach((x) => expect(x).toBeCloseTo(1 / ITEMS, 12));
      const h = histogram(dist, DRAWS, ITEMS, 5);
      const { stat, df } = chi2(h, q, DRAWS);
      expect(stat, `χ²(${df}) = ${stat.toFixed(1)}, critical ${chi2Critical(df).toFixed(1)}`).toBeLessThan(chi2Critical(df));
      for (let j = 0; j < ITEMS; j++) {
        if (q[j] === 0) {
          expect(h[j], `item ${j} has q = 0 but was drawn`).toBe(0);
          continue;
        }
        const expected = DRAWS * q[j]!;
        if (expected < 400) continue; // log of a small count is too noisy for a tight tolerance
        // the log of a count has standard error ≈ 1/√expected
        expect(Math.abs(Math.log(h[j]! / DRAWS) - dist.logq[j]!), `item ${j}`).toBeLessThan(5 / Math.sqrt(expected));
      }
    });
  }

  it('a skewed popularity distribution is not mistaken for uniform (the test has power)', () => {
    const dist = distribution(perTuple('pop', 1), ITEMS, likes);
    const h = histogram(dist, DRAWS, ITEMS, 5);
    const { stat, df } = chi2(h, new Float64Array(ITEMS).fill(1 / ITEMS), DRAWS);
    expect(stat).toBeGreaterThan(chi2Critical(df));
  });
});

/** A batch of n tuples, all of user u, to draw per-tuple negatives for. */
function batchOf(u: number, n: number): Relation {
  return { ...likes, size: n, ids: new Map([['user', new Int32Array(n).fill(u)], ['item', new Int32Array(n)]]), values: new Map([['rating', new Float64Array(n)]]) };
}

describe('exclude = likes: rejection of the user\'s own positives', () => {
  const exclude = { rel: 'likes', col: 'item', keyCol: 'user', tupleCol: 'user', owner: 'user', retries: EXCLUDE_RETRIES };

  it(`never returns a positive of a typical user (its mass^${EXCLUDE_RETRIES + 1} is negligible), and logq is the renormalized q`, () => {
    // ~8 positives per user out of 60 items
    const sparse = tinyDataset({ users: 30, items: 60, tuples: 240, seed: 12, skew: 0.5 }).train.get('likes')!;
    const s = perTuple('pop', 0.75, { exclude });
    const dist = distribution(s, ITEMS, likes, { rel: sparse, owners: 30 });
    const ex = dist.exclusion!;
    let checked = 0;
    for (let u = 0; u < 30; u++) {
      // a user whose positives hold mass P returns one only with probability P^(R+1): skip heavy users
      let P = 0;
      for (let j = 0; j < ITEMS; j++) if (isExcluded(ex, u, j)) P += Math.exp(dist.logq[j]!);
      if (20_000 * Math.pow(P, EXCLUDE_RETRIES + 1) > 1e-4) continue;
      checked++;
      const rel = new Map([['likes', batchOf(u, 20_000)]]);
      drawSamples([s], [dist], rel, new Rng(u + 1));
      const draws = rel.get('likes')!.ids.get('~j')!;
      const logq = rel.get('likes')!.values.get('~j#logq')!;
      draws.forEach((j, t) => {
        expect(isExcluded(ex, u, j), `user ${u} drew its positive ${j}`).toBe(false);
        expect(logq[t]).toBeCloseTo(dist.logq[j]! + ex.logAllowed[u]!, 10);
      });
    }
    expect(checked).toBeGreaterThan(5);
  });

  it('with a user whose positives hold most of the mass, excluded ids come back only after every retry failed, at the exact rate', () => {
    // user 0 likes the 50 most popular items: P (their mass) is close to 1
    const n = 1000;
    const heavy: Relation = {
      ...likes, size: n,
      ids: new Map([['user', new Int32Array(n)], ['item', Int32Array.from({ length: n }, (_, t) => t % 50)]]),
      values: new Map([['rating', new Float64Array(n)]]),
    };
    const s = perTuple('pop', 0.75, { exclude });
    const dist = distribution(s, ITEMS, likes, { rel: heavy, owners: 30 });
    const ex = dist.exclusion!;
    const rel = new Map([['likes', batchOf(0, DRAWS)]]);
    drawSamples([s], [dist], rel, new Rng(99));
    const draws = rel.get('likes')!.ids.get('~j')!;
    const logq = rel.get('likes')!.values.get('~j#logq')!;
    // the procedure's exact distribution for user 0, from the logq it reports
    const p = new Float64Array(ITEMS);
    for (let j = 0; j < ITEMS; j++) p[j] = Math.exp(dist.logq[j]! + (isExcluded(ex, 0, j) ? ex.logExcluded[0]! : ex.logAllowed[0]!));
    expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 10);
    const h = new Float64Array(ITEMS);
    draws.forEach((j, t) => {
      h[j]!++;
      expect(logq[t]).toBeCloseTo(Math.log(p[j]!), 10);
    });
    const { stat, df } = chi2(h, p, DRAWS);
    expect(stat, `χ²(${df}) = ${stat.toFixed(1)}`).toBeLessThan(chi2Critical(df));
    // P^(R+1) of the draws are positives: returned only after R redraws that were all positives
    let P = 0;
    for (let j = 0; j < 50; j++) P += Math.exp(dist.logq[j]!);
    const returned = [...draws].filter((j) => j < 50).length / DRAWS;
    const expected = Math.pow(P, EXCLUDE_RETRIES + 1);
    expect(Math.abs(returned - expected)).toBeLessThan(5 * Math.sqrt((expected * (1 - expected)) / DRAWS) + 1e-9);
  });
});

describe('in-batch negatives', () => {
  it("the set is exactly the batch's positives, with logq = log of their frequency in the training relation", () => {
    const s: Sampler = { kind: 'set', space: 'J~', domain: 'item', dist: 'inbatch', alpha: 1, count: 0, source: 'likes', sourceCol: 'item' };
    const dist = distribution(s, ITEMS, likes);
    const counts = new Float64Array(ITEMS);
    likes.ids.get('item')!.forEach((j) => counts[j]!++);
    const items = Int32Array.from([5, 0, 5, 17, 59, 3]);
    const batch: Relation = { ...likes, size: items.length, ids: new Map([['user', new Int32Array(items.length)], ['item', items]]), values: new Map([['rating', new Float64Array(items.length)]]) };
    const rel = new Map([['likes', batch]]);
    drawSamples([s], [dist], rel, new Rng(1));
    const set = rel.get('J~')!;
    expect([...set.ids.get('id')!]).toEqual([...items]);
    expect(set.size).toBe(items.length);
    set.values.get('logq')!.forEach((lq, k) => expect(lq).toBeCloseTo(Math.log(counts[items[k]!]! / likes.size), 12));
  });
});

describe('reproducibility', () => {
  const samplers: Sampler[] = [
    perTuple('pop', 0.75),
    { kind: 'set', space: 'J~', domain: 'item', dist: 'uniform', alpha: 1, count: 50, source: 'likes' },
  ];
  const draw = (seed: number): [number[], number[]] => {
    const dists = samplers.map((s) => distribution(s, ITEMS, likes));
    const rel = new Map([['likes', batchOf(3, 500)]]);
    const rng = new Rng(seed);
    drawSamples(samplers, dists, rel, rng);
    drawSamples(samplers, dists, rel, rng); // a second step
    return [[...rel.get('likes')!.ids.get('~j')!], [...rel.get('J~')!.ids.get('id')!]];
  };

  it('the same seed gives the same draws; another seed gives others', () => {
    expect(draw(7)).toEqual(draw(7));
    expect(draw(7)).not.toEqual(draw(8));
  });

  it('a training run with samplers reproduces exactly (same seed ⇒ same params)', () => {
    const text = `${TINY_PREAMBLE}
loss L = mean((u, i) in likes, j ~ pop(item, 0.75, exclude = likes), J ~ pop(item, 0.5) x 4:
           bpr(score(u, i), score(u, j)) + sampled_softmax(score(u, i), logq(i), logsumexp(j2 in J: corrected(score(u, j2), logq(j2)))))
train { optimizer adam(lr = 0.05) steps 6 batch 16 seed 5 }`;
    const c = compileSource(join(repoRoot(), 'test', 'samplers', 'repro.recmodel'), text).compiled!;
    expect(c).toBeDefined();
    const tiny = tinyDataset({ users: 8, items: 12, tuples: 64, seed: 2, skew: 1 });
    const run = (): Float32Array[] => [...train(c, tiny, { backend: createBackend('reference', c.module.spaces) }).params.values()];
    const a = run();
    const b = run();
    expect(a.map((x) => [...x])).toEqual(b.map((x) => [...x]));
  });
});

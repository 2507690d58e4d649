import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../runtime/data/data-paths.ts';
import { generateRatings, oracleRmse, SMALL_SPEC, syntheticSmall, toUData } from '../../runtime/data/synthetic.ts';

describe('synthetic ratings', () => {
  const d = syntheticSmall();

  it('examples/data/synthetic-ratings.tsv is byte-identical to the generator (run make-synthetic.ts if not)', () => {
    const file = readFileSync(join(repoRoot(), 'examples', 'data', 'synthetic-ratings.tsv'), 'utf8');
    expect(file.length).toBeLessThan(1 << 20);
    expect(file === toUData(d)).toBe(true);
  });

  it('has the planted shape: sizes, distinct pairs, ≥ 20 ratings per user, half-star ratings in 1..5', () => {
    expect(d.users.length).toBe(30000);
    const pairs = new Set<number>();
    const perUser = new Int32Array(600);
    for (let t = 0; t < d.users.length; t++) {
      pairs.add(d.users[t] * 400 + d.items[t]);
      perUser[d.users[t]]++;
    }
    expect(pairs.size).toBe(30000);
    expect(Math.min(...perUser)).toBeGreaterThanOrEqual(20);
    expect(d.ratings.every((r) => r >= 1 && r <= 5 && Number.isInteger(2 * r))).toBe(true);
    expect(new Set(d.items).size).toBeLessThanOrEqual(400);
  });

  it('the planted oracle scores about the noise std, far below a global-mean predictor', () => {
    const oracle = oracleRmse(d);
    expect(oracle).toBeGreaterThan(0.45);
    expect(oracle).toBeLessThan(0.55);
    const mean = d.ratings.reduce((a, b) => a + b, 0) / d.ratings.length;
    const base = Math.sqrt(d.ratings.reduce((a, r) => a + (r - mean) ** 2, 0) / d.ratings.length);
    expect(base).toBeGreaterThan(oracle + 0.3);
  });

  it('is deterministic in the seed', () => {
    const small = { ...SMALL_SPEC, nUsers: 30, nItems: 40, nRatings: 900, minPerUser: 20, maxPerUser: 40 };
    expect(generateRatings(small).ratings).toEqual(generateRatings(small).ratings);
    expect(generateRatings({ ...small, seed: 1 }).ratings).not.toEqual(generateRatings(small).ratings);
  });
});

// `recc cv`: every fold of a kfold split trains, and fold f's metrics are exactly what `recc run` gives
// for the same model written with `kfold k fold f` (the oracle: one fold at a time, by hand); the
// summary rows are the folds' mean/std/min/max; a split that is not kfold is the user's error.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { recc } from '../helpers/cli.ts';
import { repoRoot } from '../../runtime/data/data-paths.ts';

const example = join(repoRoot(), 'examples', 'mf-gramian.recmodel');
const data = join(repoRoot(), 'examples', 'data', 'synthetic-ratings.tsv');
const small = ['--steps', '4', '--set', 'd=4', '--mode', 'cpu', '--quiet'];

describe('recc cv', () => {
  it('trains every fold; each fold matches a run of that fold alone; mean/std/min/max summarize them', () => {
    const dir = mkdtempSync(join(tmpdir(), 'recc-cv-'));
    const r = recc('cv', example, '--folds', '3', ...small, '-o', join(dir, 'cv'));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const cv = JSON.parse(readFileSync(join(dir, 'cv', 'cv.json'), 'utf8'));
    expect(cv.k).toBe(3);
    expect(cv.folds.map((f: { fold: number }) => f.fold)).toEqual([0, 1, 2]);
    const rmse = cv.folds.map((f: { metrics: { rmse: number } }) => f.metrics.rmse) as number[];
    expect(new Set(rmse).size).toBe(3); // three different held-out folds
    // fold 1 by hand: the same model with its split written as `kfold 3 fold 1 seed 7`
    const text = readFileSync(example, 'utf8').replace(/split ratings: .*/, 'split ratings: kfold 3 fold 1 seed 7');
    writeFileSync(join(dir, 'fold1.recmodel'), text);
    const one = recc('run', join(dir, 'fold1.recmodel'), '--data', data, ...small, '-o', join(dir, 'run1'));
    expect(one.code).toBe(0);
    const m = JSON.parse(readFileSync(join(dir, 'run1', 'metrics.json'), 'utf8'));
    expect(m.final.rmse).toBe(rmse[1]);
    const mean = rmse.reduce((a, b) => a + b, 0) / 3;
    expect(cv.summary.rmse.mean).toBeCloseTo(mean, 12);
    expect(cv.summary.rmse.std).toBeCloseTo(Math.sqrt(rmse.reduce((a, b) => a + (b - mean) ** 2, 0) / 3), 12);
    expect(cv.summary.rmse.min).toBe(Math.min(...rmse));
    expect(cv.summary.rmse.max).toBe(Math.max(...rmse));
    const csv = readFileSync(join(dir, 'cv', 'folds.csv'), 'utf8').trim().split('\n');
    expect(csv[0]).toBe('fold,rmse,mae,steps,seconds');
    expect(csv.map((l) => l.split(',')[0])).toEqual(['fold', '0', '1', '2', 'mean', 'std', 'min', 'max']);
    expect(r.stdout).toMatch(/\| mean \|/);
  });

  it('refuses a split that is not kfold (without --folds), and a setting it does not know', () => {
    const r = recc('cv', example, ...small);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/needs a `kfold k` split \(the model's split is holdout\).*--folds K/);
    const bad = recc('cv', example, '--folds', '2', '--quiet', '--set', 'lr=-1');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/lr must be a positive number/);
  });
});

// `recc sweep` driven by the model's `sweep { … }` block: its axes and settings are the sweep's, the
// flags override them (--set fixes an axis, --trials wins over `trials`; --param replaces the block), and
// --retrain trains the best configuration on train+validation and reports test once. A model with no
// block and no --param is a usage error.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../runtime/data/data-paths.ts';
import { parseAxis, randomConfig } from '../../cli/experiment/space.ts';

const bin = join(repoRoot(), 'bin', 'recc.js');
const example = join(repoRoot(), 'examples', 'mf-gramian.recmodel');
const data = join(repoRoot(), 'examples', 'data', 'synthetic-ratings.tsv');

/** mf-gramian with a validation part and a block of its own (absolute data path: the model lives in a temp folder) */
function model(dir: string, block: string): string {
  const text = readFileSync(example, 'utf8')
    .replace('"data/synthetic-ratings.tsv"', JSON.stringify(data))
    .replace('split ratings: holdout 0.2 seed 7', 'split ratings: holdout 0.2 seed 7, validate 0.1')
    .replace(/\nsweep \{[\s\S]*\}\n/, `\n${block}\n`);
  const path = join(dir, 'm.recmodel');
  writeFileSync(path, text);
  return path;
}

describe('recc sweep with a sweep block', () => {
  it('takes its axes and settings from the block, overridden by the flags; --retrain reports test once', () => {
    const dir = mkdtempSync(join(tmpdir(), 'recc-sweep-block-'));
    const path = model(dir, 'sweep {\n  trials 3  seed 5  objective mae\n  lr ~ loguniform(1e-3, 1e-1)\n  d in [8, 16]\n  l2w ~ uniform(0, 0.1)\n  gramw ~ loguniform(1e-3, 1)\n}');
    const out = join(dir, 'sw');
    const r = spawnSync(process.execPath, [bin, 'sweep', path, '--set', 'l2w=0.05,d=3', '--trials', '1', '--steps', '2', '--mode', 'cpu', '--out', out, '--retrain', '--quiet'], { cwd: repoRoot(), encoding: 'utf8', timeout: 300_000 });
    expect(r.status, r.stderr).toBe(0);
    const spec = JSON.parse(readFileSync(join(out, 'sweep.json'), 'utf8'));
    // d and l2w dropped by --set, the others as the block wrote them
    expect(spec.params).toEqual(['lr=loguniform(0.001,0.1)', 'gramw=loguniform(0.001,1)']);
    expect(spec).toMatchObject({ search: 'random', seed: 5, trials: 1, objective: 'mae', direction: 'min', fixed: { l2w: 0.05, d: 3, steps: 2 } });
    expect(spec.folds).toBeUndefined();
    const [trial] = JSON.parse(readFileSync(join(out, 'trials.json'), 'utf8')) as { config: Record<string, number>; objective: number; metrics: { mae: number } }[];
    expect(trial!.config).toEqual(randomConfig(spec.params.map(parseAxis), 5, 0));
    expect(trial!.objective).toBe(trial!.metrics.mae);
    const retrain = JSON.parse(readFileSync(join(out, 'retrain.json'), 'utf8'));
    expect(retrain).toMatchObject({ trial: 0, config: trial!.config, trainedOn: 'train+validation', steps: 2, testSeenBySelection: false });
    // train+validation: the 30000 tuples less the 20% test part (the trials trained on 21000)
    expect(retrain.protocol).toContain('24000 train / 6000 test');
    expect(Number.isFinite(retrain.test.rmse)).toBe(true);
    expect(readFileSync(join(out, 'retrain.md'), 'utf8')).toContain('trained on train+validation');
    expect(r.stdout).toContain('# retrain of the best trial');
  }, 300_000);

  it('needs an axis: a sweep block or --param', () => {
    const dir = mkdtempSync(join(tmpdir(), 'recc-sweep-block-'));
    const path = model(dir, '');
    const r = spawnSync(process.execPath, [bin, 'sweep', path, '--out', join(dir, 'never')], { cwd: repoRoot(), encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('recc sweep needs an axis: a `sweep { … }` block');
  });

  it('with --param the command line is the whole sweep; a search other than random or grid is refused', () => {
    const dir = mkdtempSync(join(tmpdir(), 'recc-sweep-block-'));
    // the block's `folds 5` is not read: the objective then needs a validation part, which the example lacks
    const no = spawnSync(process.execPath, [bin, 'sweep', example, '--param', 'd=4,8', '--out', join(dir, 'never')], { cwd: repoRoot(), encoding: 'utf8' });
    expect(no.status).toBe(1);
    expect(no.stderr).toContain('pass --folds K');
    const r = spawnSync(process.execPath, [bin, 'sweep', example, '--search', 'sideways'], { cwd: repoRoot(), encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--search takes random or grid');
  });

  it('gives each trial --threads (by default the cores shared among --jobs): the objectives are the same bytes for any count', () => {
    const dir = mkdtempSync(join(tmpdir(), 'recc-sweep-block-'));
    const path = model(dir, '');
    const objectives = (threads: string[]): number[] => {
      const out = join(dir, `sw${threads.join('')}`);
      const r = spawnSync(process.execPath, [bin, 'sweep', path, '--param', 'lr=0.01,0.03', '--search', 'grid', '--jobs', '2', ...threads, '--steps', '3', '--mode', 'wasm', '--out', out, '--quiet'], { cwd: repoRoot(), encoding: 'utf8', timeout: 300_000 });
      expect(r.status, r.stderr).toBe(0);
      const trials = JSON.parse(readFileSync(join(out, 'trials.json'), 'utf8')) as { trial: number; objective: number | null; error?: string }[];
      expect(trials.map((t) => t.error ?? null)).toEqual([null, null]);
      return trials.sort((a, b) => a.trial - b.trial).map((t) => t.objective!);
    };
    const shared = objectives([]);
    expect(shared.every(Number.isFinite)).toBe(true);
    expect(objectives(['--threads', '3'])).toEqual(shared);
  }, 300_000);
});

// `recc sweep`: trials run as child processes, --jobs at a time; a sweep killed (with its children)
// after some trials finished, then rerun with the same command line, runs only the others: the
// finished trial folders are untouched, the ledger has each trial once, and every configuration is
// the one its (seed, trial) draws. The objective with --folds is each trial's mean over the folds.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../runtime/data/data-paths.ts';
import { parseAxis, randomConfig } from '../../cli/experiment/space.ts';

const bin = join(repoRoot(), 'bin', 'recc.js');
const example = join(repoRoot(), 'examples', 'mf-gramian.recmodel');
const params = ['--param', 'lr=loguniform(1e-3,1e-1)', '--param', 'gramw=0.01,0.1'];
const argv = (out: string, seed = 3): string[] => [bin, 'sweep', example, ...params, '--folds', '2', '--trials', '5', '--jobs', '2', '--seed', String(seed), '--steps', '3', '--set', 'd=4', '--mode', 'cpu', '--out', out];

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('recc sweep', () => {
  it('survives a kill: the rerun runs only the unfinished trials', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'recc-sweep-')), 'sw');
    const trials = join(out, 'trials');
    const finished = (): string[] => (existsSync(trials) ? readdirSync(trials).filter((f) => /^\d+$/.test(f)) : []);
    // first run: killed, children included (its own process group), once a trial has finished
    const first = spawn(process.execPath, argv(out), { cwd: repoRoot(), detached: true, stdio: 'ignore' });
    const deadline = Date.now() + 240_000;
    while (finished().length === 0 && Date.now() < deadline) await sleep(200);
    process.kill(-first.pid!, 'SIGKILL');
    await new Promise((r) => first.once('exit', r));
    const before = new Map(finished().map((f) => [f, { mtime: statSync(join(trials, f, 'trial.json')).mtimeMs, text: readFileSync(join(trials, f, 'trial.json'), 'utf8') }]));
    expect(before.size).toBeGreaterThan(0);
    expect(before.size).toBeLessThan(5);

    const second = spawnSync(process.execPath, argv(out), { cwd: repoRoot(), encoding: 'utf8', timeout: 400_000 });
    expect(second.status, second.stderr).toBe(0);
    expect(second.stderr).toContain(`resumed: ${before.size} finished, ${5 - before.size} to run`);
    for (const [f, b] of before) {
      expect(readFileSync(join(trials, f, 'trial.json'), 'utf8')).toBe(b.text);
      expect(statSync(join(trials, f, 'trial.json')).mtimeMs).toBe(b.mtime);
    }
    expect(finished().sort()).toEqual(['0000', '0001', '0002', '0003', '0004']);
    expect(readdirSync(trials).filter((f) => f.includes('.tmp-'))).toEqual([]);
    const ledger = readFileSync(join(out, 'trials.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { trial: number });
    expect(ledger.map((r) => r.trial).sort()).toEqual([0, 1, 2, 3, 4]);

    const all = JSON.parse(readFileSync(join(out, 'trials.json'), 'utf8')) as { trial: number; config: Record<string, number>; objective: number; folds: { rmse: number }[] }[];
    const axes = params.filter((p) => p !== '--param').map(parseAxis);
    for (const t of all) {
      expect(t.config).toEqual(randomConfig(axes, 3, t.trial));
      expect(t.folds).toHaveLength(2);
      expect(t.objective).toBeCloseTo((t.folds[0]!.rmse + t.folds[1]!.rmse) / 2, 12);
    }
    const best = JSON.parse(readFileSync(join(out, 'best.json'), 'utf8'));
    expect(best.value).toBe(Math.min(...all.map((t) => t.objective)));
    expect(readFileSync(join(out, 'trials.csv'), 'utf8').split('\n')[0]).toBe('trial,lr,gramw,objective,rmse,mae,seconds,error');
    // the same folder with another sweep is refused, not mixed
    const other = spawnSync(process.execPath, argv(out, 4), { cwd: repoRoot(), encoding: 'utf8' });
    expect(other.status).toBe(1);
    expect(other.stderr).toContain('holds a different sweep');
  }, 700_000);

  it('needs held-out data other than test for its objective', () => {
    const r = spawnSync(process.execPath, [bin, 'sweep', example, '--param', 'd=4,8', '--out', join(tmpdir(), 'never')], { cwd: repoRoot(), encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('add `, validate 0.1` to the model\'s split, or pass --folds K');
  });
});

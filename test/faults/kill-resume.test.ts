// Kill and resume: a run SIGKILLed at random steps (several times over, each time resumed with
// `recc run --resume`) ends with byte-identical params, the same loss log (but its timings) and the
// same metrics as an uninterrupted run of the same seed — for a full-batch model (mf-gramian), a
// mini-batch model with an evaluation every epoch (mf-biased) and a sampled loss (bpr), two seeds
// each, 20 kill points in all. The runs are real child processes of bin/recc.js with a checkpoint
// after every step, so many kills land while a checkpoint is being written. A kill while the run
// folder is being saved leaves OUT either absent or whole, never a mix.
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { recc } from '../helpers/cli.ts';
import { checkpointStep, lossWithoutTiming, metricsWithoutTime, paramBytes, picker, seededVariant, spawnRecc, when } from './helpers.ts';

const root = mkdtempSync(join(tmpdir(), 'recc-kill-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const STEPS = 40;
/** model, the seeds it trains with, and how many kills each seed's run takes */
const CHAINS = [
  { model: 'mf-gramian', seed: 11, kills: 3 },
  { model: 'mf-gramian', seed: 12, kills: 3 },
  { model: 'mf-biased', seed: 21, kills: 4 },
  { model: 'mf-biased', seed: 22, kills: 3 },
  { model: 'bpr', seed: 31, kills: 4 },
  { model: 'bpr', seed: 32, kills: 3 },
];
const pick = picker(20261202);
/** a guard against a hang, not a speed limit: 26 child processes start here, seconds each on a loaded machine */
const LIMIT = 600_000;

interface KillPoint {
  readonly chain: string;
  /** the step the test waited for, and the last checkpoint when the process was gone */
  readonly target: number;
  readonly checkpointAtKill: number;
  readonly signal: string | null;
}

/** Runs `chain` with SIGKILLs at random steps; resolves with its kill points (the run stays unfinished). */
async function killChain(c: (typeof CHAINS)[number], model: string, out: string): Promise<KillPoint[]> {
  const ck = join(`${out}.partial`, 'checkpoint.bin');
  const targets = new Set<number>();
  // kill points in the first 60% of the run: a quiet machine runs a step in milliseconds, and the polling
  // must see the target step before the run reaches its end
  while (targets.size < c.kills) targets.add(pick(1, Math.floor(STEPS * 0.6)));
  const points: KillPoint[] = [];
  let argv = ['run', model, '--out', out, '--steps', String(STEPS), '--checkpoint-every', '1', '-q'];
  for (const t of [...targets].sort((a, b) => a - b)) {
    const child = spawnRecc(argv);
    const target = Math.max(t, checkpointStep(ck) + 1);
    await when(child, () => checkpointStep(ck) >= target, `step ${target}`);
    child.proc.kill('SIGKILL');
    const e = await child.exited;
    points.push({ chain: `${c.model} seed ${c.seed}`, target, checkpointAtKill: checkpointStep(ck), signal: e.signal });
    argv = ['run', '--resume', out, '--checkpoint-every', '1', '-q'];
  }
  return points;
}

describe('SIGKILL at random steps, then --resume: the same numbers as a run never stopped', () => {
  it('20 kill points over mf-gramian (full batch), mf-biased (mini-batch) and bpr (sampled), two seeds each', async () => {
    expect(CHAINS.reduce((n, c) => n + c.kills, 0)).toBe(20);
    const runs = CHAINS.map((c, j) => ({ c, model: seededVariant(join(root, 'models'), c.model, c.seed), out: join(root, `killed-${j}`), base: join(root, `base-${j}`) }));
    // the killed runs, all at once (child processes; nothing in this process blocks the polling meanwhile)
    const points = (await Promise.all(runs.map((r) => killChain(r.c, r.model, r.out)))).flat();
    // then, in this process: each killed run resumed to its end, and an uninterrupted run of the same seed
    for (const r of runs) {
      const resumed = recc('run', '--resume', r.out, '-q');
      expect(resumed.code, resumed.stderr).toBe(0);
      const base = recc('run', r.model, '--out', r.base, '--steps', String(STEPS), '-q');
      expect(base.code, base.stderr).toBe(0);
      const name = `${r.c.model} seed ${r.c.seed}`;
      const a = paramBytes(r.base);
      const b = paramBytes(r.out);
      expect([...b.keys()], name).toEqual([...a.keys()]);
      for (const [f, bytes] of a) expect(Buffer.compare(bytes, b.get(f)!), `${name}: params/${f}`).toBe(0);
      expect(lossWithoutTiming(r.out), name).toBe(lossWithoutTiming(r.base));
      expect(metricsWithoutTime(r.out), name).toEqual(metricsWithoutTime(r.base));
      expect(existsSync(`${r.out}.partial`) || existsSync(`${r.out}.lock`), `${name}: nothing left beside the run`).toBe(false);
    }
    console.log(`kill points (target step → last checkpoint at the kill):\n${points.map((p) => `  ${p.chain}: ${p.target} → ${p.checkpointAtKill}`).join('\n')}`);
    expect(points).toHaveLength(20);
    for (const p of points) {
      expect(p.signal, `${p.chain}: killed, not finished`).toBe('SIGKILL');
      expect(p.checkpointAtKill).toBeLessThan(STEPS);
    }
  }, LIMIT);
});

describe('a kill while the run folder is being saved', () => {
  it('leaves OUT absent (the run resumable from OUT.partial) or whole, never a mix; the resumed run is the same', async () => {
    const model = seededVariant(join(root, 'models'), 'mf-biased', 41);
    const base = join(root, 'save-base');
    expect(recc('run', model, '--out', base, '--steps', '6', '-q').code).toBe(0);
    const whole = ['explain.json', 'ids', 'loss.csv', 'metrics.json', 'model.recmodel', 'params', 'report.html', 'report.md', 'run.json', 'serving'];
    for (const delay of [0, 2, 5]) {
      const out = join(root, `save-kill-${delay}`);
      const child = spawnRecc(['run', model, '--out', out, '--steps', '6', '--checkpoint-secs', '0', '-q']);
      // the end-of-training checkpoint comes just before the folder is written: kill around then
      await when(child, () => checkpointStep(join(`${out}.partial`, 'checkpoint.bin')) === 6 || existsSync(out), 'the save');
      await new Promise((r) => setTimeout(r, delay));
      child.proc.kill('SIGKILL');
      await child.exited;
      // whole: every file of the run; a kill just after the rename may leave the same run's final checkpoint in it
      if (existsSync(out)) {
        const files = readdirSync(out).sort();
        if (files.includes('checkpoint.bin')) expect(checkpointStep(join(out, 'checkpoint.bin'))).toBe(6);
        expect(files.filter((f) => f !== 'checkpoint.bin'), `killed ${delay} ms into the save`).toEqual(whole);
        rmSync(join(out, 'checkpoint.bin'), { force: true });
      }
      else expect(checkpointStep(join(`${out}.partial`, 'checkpoint.bin'))).toBe(6);
      if (!existsSync(out)) expect(recc('run', '--resume', out, '-q').code).toBe(0);
      expect(readdirSync(out).sort()).toEqual(whole);
      const a = paramBytes(base);
      const b = paramBytes(out);
      for (const [f, bytes] of a) expect(Buffer.compare(bytes, b.get(f)!), `params/${f}`).toBe(0);
      expect(lossWithoutTiming(out)).toBe(lossWithoutTiming(base));
    }
  }, LIMIT);
});

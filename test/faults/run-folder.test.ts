// Run folders under faults: an --out that is not empty is refused (and --force clears it), default
// folders never collide, two runs on one folder (the second is refused by the lock; a dead run's lock
// is taken over), Ctrl-C (a checkpoint, exit 130, a resume with the same numbers), a
// full disk while saving (a user error naming the file, nothing lost) and while checkpointing (the old
// checkpoint kept), and checkpoints that are damaged or not this run's (a clear user error, never 70).
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Rng } from '../../runtime/data/rng.ts';
import { defaultRunFolder } from '../../runtime/output/run-folder.ts';
import { readCheckpoint, writeCheckpoint, type CheckpointIdentity } from '../../runtime/train/checkpoint.ts';
import { EXAMPLES_DIR } from '../helpers/examples.ts';
import { recc, type CliResult } from '../helpers/cli.ts';
import { checkpointStep, lossWithoutTiming, paramBytes, spawnRecc, when } from './helpers.ts';

const root = mkdtempSync(join(tmpdir(), 'recc-faults-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const tmp = (name: string): string => join(root, name);
/** a guard against a hang (child processes take seconds each on a loaded machine), not a speed limit */
const LIMIT = 600_000;

/** A user's error: exit 1, the message on stderr, no stack, never "internal error". */
function expectUserError(r: CliResult, ...says: (string | RegExp)[]): void {
  expect(r.code, r.stderr).toBe(1);
  expect(r.stderr).not.toContain('internal error');
  expect(r.stderr).not.toContain('    at ');
  for (const s of says) expect(r.stderr).toMatch(s);
}

const GRAMIAN = join(EXAMPLES_DIR, 'mf-gramian.recmodel');

describe('--out: a folder is one whole run', () => {
  it('a folder with other files is refused, naming it and --force; --force clears it first', () => {
    const out = tmp('busy');
    mkdirSync(out);
    writeFileSync(join(out, 'notes.txt'), 'mine');
    expectUserError(recc('run', GRAMIAN, '--steps', '1', '-q', '--out', out), `--out ${out}: the folder is not empty`, '--force');
    expect(readFileSync(join(out, 'notes.txt'), 'utf8')).toBe('mine');
    expect(existsSync(`${out}.partial`) || existsSync(`${out}.lock`)).toBe(false);
    const forced = recc('run', GRAMIAN, '--steps', '1', '-q', '--out', out, '--force');
    expect(forced.code, forced.stderr).toBe(0);
    expect(existsSync(join(out, 'notes.txt'))).toBe(false);
    expect(existsSync(join(out, 'metrics.json'))).toBe(true);
  });

  it('a finished run is refused too (with --init as the way to build on it), and --resume of it says it is finished', () => {
    const out = tmp('done');
    expect(recc('run', GRAMIAN, '--steps', '1', '-q', '--out', out).code).toBe(0);
    expectUserError(recc('run', GRAMIAN, '--steps', '1', '-q', '--out', out), 'holds a finished run of model `mf_gramian`', `--init ${out}`);
    expectUserError(recc('run', '--resume', out), `${out} is a finished run, there is nothing to resume`);
    expectUserError(recc('run', '--resume', tmp('never-ran')), 'there is no interrupted run');
    expectUserError(recc('run', GRAMIAN, '--steps', '1', '-q', '--out', join(out, 'loss.csv')), 'is a file, not a folder');
  });

  it('--resume takes none of the settings a run keeps: a usage error', () => {
    const r = recc('run', '--resume', tmp('done'), '--data', 'x.tsv');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--data cannot be given with --resume');
  });

  it('default folders are named by time and model, and never reuse a name', () => {
    const at = new Date('2026-12-02T16:15:07.123Z');
    const first = defaultRunFolder('mf_gramian', at, root);
    expect(first).toBe(join(root, '20261202-161507-mf_gramian'));
    mkdirSync(first);
    expect(defaultRunFolder('mf_gramian', at, root)).toBe(`${first}-2`);
    mkdirSync(`${first}-2.partial`);
    expect(defaultRunFolder('mf_gramian', at, root)).toBe(`${first}-3`);
  });
});

describe('interrupted runs', () => {
  // the model (own copy of the data, so the data can be changed) and its uninterrupted run
  const dir = tmp('biased');
  mkdirSync(dir);
  cpSync(join(EXAMPLES_DIR, 'data', 'synthetic-ratings.tsv'), join(dir, 'synthetic-ratings.tsv'));
  const text = readFileSync(join(EXAMPLES_DIR, 'mf-biased.recmodel'), 'utf8').replace('"data/synthetic-ratings.tsv"', '"synthetic-ratings.tsv"');
  const model = join(dir, 'mf-biased.recmodel');
  writeFileSync(model, text);
  const base = tmp('biased-base');
  const STEPS = '10';
  /** a checkpoint of mf-gramian, kept from the killed run of the lock test */
  let foreign = Buffer.alloc(0);

  it('two runs on one folder: the second is refused by the lock; a killed run\'s lock is taken over', async () => {
    const out = tmp('shared');
    const first = spawnRecc(['run', GRAMIAN, '--out', out, '--steps', '2000', '--checkpoint-every', '1', '-q']);
    await when(first, () => checkpointStep(join(`${out}.partial`, 'checkpoint.bin')) >= 1, 'its first checkpoint');
    const second = recc('run', GRAMIAN, '--out', out, '--steps', '2', '-q');
    expectUserError(second, `${out} is being written by another recc run (pid ${first.proc.pid}`);
    expectUserError(recc('run', '--resume', out, '-q'), 'is being written by another recc run');
    first.proc.kill('SIGKILL');
    await first.exited;
    foreign = readFileSync(join(`${out}.partial`, 'checkpoint.bin'));
    // its partial run and its lock stay; the same command line continues it after taking the lock over
    expect(existsSync(`${out}.lock`)).toBe(true);
    const third = recc('run', GRAMIAN, '--out', out, '--steps', '30');
    expect(third.code, third.stderr).toBe(0);
    expect(third.stderr).toMatch(/was locked by a run that is gone \(pid \d+.*taken over/);
    expect(third.stderr).toContain('holds an interrupted run of this model; continuing it');
    expect(existsSync(`${out}.lock`) || existsSync(`${out}.partial`)).toBe(false);
  }, LIMIT);

  it('Ctrl-C: the step ends, a checkpoint, exit 130 with how to resume; a full disk while saving loses nothing; the resumed run is the same', async () => {
    const b = recc('run', model, '--out', base, '--steps', STEPS, '-q');
    expect(b.code, b.stderr).toBe(0);
    const out = tmp('interrupted');
    const child = spawnRecc(['run', model, '--out', out, '--steps', STEPS, '--checkpoint-secs', '0']);
    let stderr = '';
    child.proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    await when(child, () => /step +1\/\d+ /.test(stderr), 'its first step');
    child.proc.kill('SIGINT');
    const e = await child.exited;
    expect(e.code, e.stderr).toBe(130);
    expect(e.stderr).toContain('SIGINT: finishing this step and saving a checkpoint');
    expect(e.stderr).toContain(`continue it with \`recc run --resume ${out}\``);
    const stoppedAt = checkpointStep(join(`${out}.partial`, 'checkpoint.bin'));
    expect(stoppedAt).toBeGreaterThanOrEqual(1);
    expect(existsSync(out)).toBe(false);

    // damaged or foreign checkpoints and changed inputs: each a user error naming the cause
    const ck = join(`${out}.partial`, 'checkpoint.bin');
    const good = readFileSync(ck);
    const cases: [string, () => void, RegExp][] = [
      ['truncated', () => writeFileSync(ck, good.subarray(0, Math.floor(good.length / 2))), /is not a usable checkpoint: it is truncated/],
      ['empty', () => writeFileSync(ck, ''), /is not a usable checkpoint: it does not start with a recc checkpoint header/],
      ['bad JSON', () => writeFileSync(ck, Buffer.from(good.toString('latin1').replace('"format":1', '"format":1,,'), 'latin1')), /its header is not valid JSON/],
      ['an altered array byte', () => writeFileSync(ck, Buffer.concat([good.subarray(0, good.length - 3), Buffer.from([good[good.length - 3]! ^ 0xff]), good.subarray(good.length - 2)])), /do not match their checksum/],
      ['the model edited', () => writeFileSync(model, text.replace('seed 42', 'seed 43')), /the model \(its file, its imports or its --set values\) changed.*seed 42, not 43/],
      ['the data changed', () => writeFileSync(join(dir, 'synthetic-ratings.tsv'), readFileSync(join(EXAMPLES_DIR, 'data', 'synthetic-ratings.tsv'), 'utf8') + 'u9999\ti1\t3\t1\n'), /the data \(its files, --data or --test\) changed/],
    ];
    for (const [what, damage, says] of cases) {
      damage();
      const r = recc('run', '--resume', out, '-q');
      expect(r.code, `${what}: ${r.stderr}`).toBe(1);
      expectUserError(r, says);
      expect(r.stderr, what).toContain(out);
      writeFileSync(ck, good);
      writeFileSync(model, text);
      cpSync(join(EXAMPLES_DIR, 'data', 'synthetic-ratings.tsv'), join(dir, 'synthetic-ratings.tsv'));
    }
    // a checkpoint of another model in its place (the killed mf-gramian run's, above): refused by name
    expect(foreign.length).toBeGreaterThan(0);
    writeFileSync(ck, foreign);
    expectUserError(recc('run', '--resume', out, '-q'), /it is a checkpoint of model `mf_gramian`, not `mf_biased`/);
    writeFileSync(ck, good);

    // a full disk while the run folder is written (U.npy's temp file is /dev/full): a user error naming the file
    const pdir = join(`${out}.partial`, 'params');
    mkdirSync(pdir, { recursive: true });
    symlinkSync('/dev/full', join(pdir, `U.npy.tmp-${process.pid}`));
    const full = recc('run', '--resume', out, '-q');
    expectUserError(full, `cannot write ${join(pdir, 'U.npy')}: no space left on the device (ENOSPC)`, `continue with \`recc run --resume ${out}\``);
    expect(existsSync(out)).toBe(false);
    expect(checkpointStep(ck)).toBe(Number(STEPS)); // the trained state is kept
    rmSync(join(pdir, `U.npy.tmp-${process.pid}`), { force: true }); // write.ts removes a failed temp file itself

    const resumed = recc('run', '--resume', out, '-q');
    expect(resumed.code, resumed.stderr).toBe(0);
    const a = paramBytes(base);
    const c = paramBytes(out);
    for (const [f, bytes] of a) expect(Buffer.compare(bytes, c.get(f)!), `params/${f}`).toBe(0);
    expect(lossWithoutTiming(out)).toBe(lossWithoutTiming(base));
    expect(readdirSync(root).filter((f) => f.startsWith('interrupted'))).toEqual(['interrupted']);
  }, LIMIT);

});

describe('checkpoint files', () => {
  it('an rng restored from its state draws what the original would have drawn next (the Box–Muller spare too)', () => {
    const a = new Rng(7).fork(2);
    for (let j = 0; j < 5; j++) a.uniform();
    a.normal();
    const b = Rng.fromState(JSON.parse(JSON.stringify(a.state())) as ReturnType<Rng['state']>);
    expect([b.normal(), b.uint32(), b.int(1000), b.uniform()]).toEqual([a.normal(), a.uint32(), a.int(1000), a.uniform()]);
    expect(() => Rng.fromState({ seed: 1, stream: 0, words: [0, 0, 0, 0], spare: null })).toThrow(RangeError);
  });

  it('a full disk while checkpointing keeps the previous checkpoint whole and leaves no temp file', () => {
    const dir = tmp('ckpt-disk');
    mkdirSync(dir);
    const path = join(dir, 'checkpoint.bin');
    const identity: CheckpointIdentity = { recc: '0', model: 'm', modelHash: 'h', dataHash: 'd', seed: 1, mode: 'cpu' };
    const state = (step: number) => ({
      step,
      params: new Map([['U', Float32Array.of(step, 2, 3)]]),
      optimizer: { slots: new Map([['U', [new Float32Array(3)]]]), step },
      steps: { batcher: null, userBatcher: null, samples: null, rowCapacity: {} },
      log: [{ step, epoch: step, lr: 0.1, terms: { loss: Number.NaN }, total: Number.POSITIVE_INFINITY, ms: 1 }],
      evals: [],
      extra: { json: { best: { step } }, tensors: new Map([['best/U', Float32Array.of(9)]]) },
    });
    writeCheckpoint(path, identity, state(1));
    symlinkSync('/dev/full', join(dir, `.checkpoint.bin.tmp-${process.pid}`));
    expect(() => writeCheckpoint(path, identity, state(2))).toThrow(expect.objectContaining({ code: 'ENOSPC' }));
    expect(readdirSync(dir)).toEqual(['checkpoint.bin']);
    const back = readCheckpoint(path);
    expect(back.state.step).toBe(1);
    expect(back.state.params.get('U')).toEqual(Float32Array.of(1, 2, 3));
    expect(back.state.log[0]!.terms.loss).toBeNaN();
    expect(back.state.log[0]!.total).toBe(Number.POSITIVE_INFINITY);
    expect(back.state.extra.json).toEqual({ best: { step: 1 } });
    expect(back.state.extra.tensors.get('best/U')).toEqual(Float32Array.of(9));
  });
});

// The exported trainer under torch.distributed: a 2-process gloo run (127.0.0.1, float64) logs the
// same per-step objective, term by term, as the 1-process run of the same package — sharded tuples
// and entries, domain-sharded sums, all-reduced Gramians, per-tuple and shared samples — for the
// steps after updates too (the gradients summed over ranks are the single-process gradient); for
// mf-gramian also under torchrun itself.
// Skips, saying why, without Python 3 + torch.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { pythonRuntimeFiles, torchPackage } from '../../compiler/codegen/torch/package.ts';
import { compileForData } from '../../cli/commands/common.ts';
import { findTorchPython } from '../../cli/commands/export-torch.ts';
import { loadRuntime, type Runtime } from '../../cli/lib/runtime.ts';

const python = findTorchPython();
const why = python ? '' : ' (skipped: no Python 3 with torch and numpy; apt-get install python3-torch python3-numpy, or set RECC_PYTHON)';
if (!python) console.warn(`test/export/torch-ddp.test.ts${why}`);

const dir = mkdtempSync(join(tmpdir(), 'recc-ddp-'));
const lines = (file: string, n: number): string => readFileSync(join('examples/data', file), 'utf8').split('\n').slice(0, n).join('\n') + '\n';
writeFileSync(join(dir, 'ratings.tsv'), lines('synthetic-ratings.tsv', 3000));
writeFileSync(join(dir, 'clicks.libsvm'), lines('synthetic-ctr.libsvm', 3000));

let rt: Runtime;
beforeAll(async () => {
  rt = await loadRuntime();
});

function readLog(file: string): number[][] {
  return readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => l.split(',').slice(3, -1).map(Number));
}

/**
 * The exported package's 4 float64 steps, logged: `nproc` workers started by train.py --nproc (a
 * file rendezvous in a fresh folder: no port another job could take or join), or by torchrun
 * (--standalone: a free port; `--redirects 9:1 --tee 9:1`, a map naming no real local rank, because
 * Debian's 1.13 torchrun under Python 3.11 fails on the default "0": IntFlag no longer lists NONE).
 * --timeout 120: a rank left waiting in a collective fails within 2 minutes instead of hanging, and
 * train.py --nproc then stops the other worker; the spawn's own limit is the last guard.
 */
function runPackage(python: string, out: string, nproc: number, launcher: 'nproc' | 'torchrun'): number[][] {
  const log = join(out, `loss-${launcher}-${nproc}.csv`);
  const args = ['--steps', '4', '--dtype', 'float64', '--no-eval', '--device', 'cpu', '--log', log, '--timeout', '120'];
  const argv =
    launcher === 'torchrun'
      ? ['-m', 'torch.distributed.run', '--standalone', '--nproc_per_node', String(nproc), '--redirects', '9:1', '--tee', '9:1', join(out, 'train.py'), ...args]
      : [join(out, 'train.py'), ...args, '--nproc', String(nproc)];
  const p = spawnSync(python, argv, { encoding: 'utf8', timeout: 300_000, killSignal: 'SIGKILL' });
  if (p.status !== 0) throw new Error(`${launcher} ${nproc} process(es) failed${p.error ? ` (${p.error.message})` : ''}:\n${p.stderr}`);
  return readLog(log);
}

/** The two runs agree at every step, every term, within 1e-9 relative; the objective moves. */
function expectSameSteps(one: number[][], two: number[][]): void {
  expect(one.length).toBe(4);
  expect(two.length).toBe(4);
  expect(one[3]!.reduce((a, b) => a + b, 0)).not.toBe(one[0]!.reduce((a, b) => a + b, 0));
  one.forEach((row, s) => row.forEach((x, j) => expect(Math.abs(two[s]![j]! - x)).toBeLessThanOrEqual(1e-9 * Math.max(1e-12, Math.abs(x)))));
}

describe.skipIf(!python)(`2-process DDP run = 1-process run, step by step${why}`, () => {
  for (const [model, data] of [
    ['mf-gramian', 'ratings.tsv'],
    ['enmf', 'ratings.tsv'],
    ['mf-biased', 'ratings.tsv'],
    ['sampled-softmax', 'ratings.tsv'],
    ['fm', 'clicks.libsvm'],
  ] as const) {
    it(`${model}: every term of every step within 1e-9 relative${model === 'mf-gramian' ? ' (train.py --nproc 2 and torchrun)' : ''}`, () => {
      const r = compileForData(rt, `examples/${model}.recmodel`, { sets: new Map() }, { data: join(dir, data) });
      if (!r) throw new Error(`${model} did not compile`);
      const out = join(dir, model);
      rt.torchExport.writeTorchPackage(out, r.compiled, r.ds, torchPackage(r.compiled, '0.1.0'), pythonRuntimeFiles());
      const one = runPackage(python!, out, 1, 'nproc');
      expectSameSteps(one, runPackage(python!, out, 2, 'nproc'));
      if (model === 'mf-gramian') expectSameSteps(one, runPackage(python!, out, 2, 'torchrun'));
    });
  }
});

// The exported trainer under torch.distributed: a 2-process gloo run (127.0.0.1, float64) logs the
// same per-step objective, term by term, as the 1-process run of the same package — sharded tuples
// and entries, domain-sharded sums, all-reduced Gramians, per-tuple and shared samples — for the
// steps after updates too (the gradients summed over ranks are the single-process gradient).
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

let port = 29600 + (process.pid % 200);

describe.skipIf(!python)(`2-process DDP run = 1-process run, step by step${why}`, () => {
  for (const [model, data] of [
    ['mf-gramian', 'ratings.tsv'],
    ['enmf', 'ratings.tsv'],
    ['mf-biased', 'ratings.tsv'],
    ['sampled-softmax', 'ratings.tsv'],
    ['fm', 'clicks.libsvm'],
  ] as const) {
    it(`${model}: every term of every step within 1e-9 relative`, () => {
      const r = compileForData(rt, `examples/${model}.recmodel`, { sets: new Map() }, { data: join(dir, data) });
      if (!r) throw new Error(`${model} did not compile`);
      const out = join(dir, model);
      rt.torchExport.writeTorchPackage(out, r.compiled, r.ds, torchPackage(r.compiled, '0.1.0'), pythonRuntimeFiles());
      const run = (nproc: number): number[][] => {
        const log = join(out, `loss-${nproc}.csv`);
        const p = spawnSync(python!, [join(out, 'train.py'), '--steps', '4', '--dtype', 'float64', '--no-eval', '--log', log, '--nproc', String(nproc), '--port', String(port++)], {
          encoding: 'utf8',
          // a guard against a hang (a rank left waiting in a collective), not a speed limit: fail instead of blocking the suite
          timeout: 300_000,
          killSignal: 'SIGKILL',
        });
        if (p.status !== 0) throw new Error(`train.py --nproc ${nproc} failed${p.error ? ` (${p.error.message})` : ''}:\n${p.stderr}`);
        return readLog(log);
      };
      const one = run(1);
      const two = run(2);
      expect(one.length).toBe(4);
      expect(two.length).toBe(4);
      // the objective moves (the updates ran), and the two runs agree at every step
      expect(one[3]!.reduce((a, b) => a + b, 0)).not.toBe(one[0]!.reduce((a, b) => a + b, 0));
      one.forEach((row, s) => row.forEach((x, j) => expect(Math.abs(two[s]![j]! - x)).toBeLessThanOrEqual(1e-9 * Math.max(1e-12, Math.abs(x)))));
    });
  }
});

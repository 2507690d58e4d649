// `recc export RUN --target torch` (issue 16): a package exported from a run folder starts from the
// run's trained params (its .npy files, rows matched through its id maps), not from the initializers.
// The exported objective on the whole training data at those params (train.py --objective, float64)
// equals recc's float64 reference interpreter at the trained params term by term (1e-9 relative);
// `--init initial` starts from the initializers, another objective (so that match can fail); the package's
// evaluation with no training steps reproduces the run's test metric; and `--check` of a run
// compares at the trained params. Skips, saying why, without Python 3 + torch.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { compileForData } from '../../cli/commands/common.ts';
import { findTorchPython } from '../../cli/commands/export-torch.ts';
import { loadRuntime, type Runtime } from '../../cli/lib/runtime.ts';
import { evalScalar } from '../../compiler/ir/interp.ts';
import { makeEnv } from '../../runtime/exec/env.ts';
import { readParams } from '../../runtime/output/run-folder.ts';
import { recc } from '../helpers/cli.ts';
import { EXAMPLES_DIR } from '../helpers/examples.ts';

const python = findTorchPython();
const why = python ? '' : ' (skipped: no Python 3 with torch and numpy; apt-get install python3-torch python3-numpy, or set RECC_PYTHON)';
if (!python) console.warn(`test/export/torch-trained.test.ts${why}`);

const dir = mkdtempSync(join(tmpdir(), 'recc-torch-trained-'));
const data = join(dir, 'ratings.tsv');
writeFileSync(data, readFileSync(join(EXAMPLES_DIR, 'data', 'synthetic-ratings.tsv'), 'utf8').split('\n').slice(0, 300).join('\n') + '\n');

/** train.py --objective at the package's starting params: each term and the total, float64 */
function exportedObjective(pkg: string, init: 'trained' | 'initial'): { terms: Record<string, number>; total: number; params: string } {
  const out = join(pkg, `objective-${init}.json`);
  const p = spawnSync(python!, [join(pkg, 'train.py'), '--objective', out, '--dtype', 'float64', '--device', 'cpu', '--init', init], { encoding: 'utf8', timeout: 120_000 });
  if (p.status !== 0) throw new Error(`train.py --objective failed:\n${p.stderr}`);
  return JSON.parse(readFileSync(out, 'utf8'));
}

let rt: Runtime;
beforeAll(async () => {
  rt = await loadRuntime();
});

const rel = (a: number, b: number): number => Math.abs(a - b) / Math.max(Math.abs(b), 1e-300);

describe.skipIf(!python)(`a package exported from a run starts at the run's trained params${why}`, () => {
  for (const [model, sets, metric] of [
    ['mf-biased', ['d=4'], 'rmse'],
    ['enmf', ['d=4'], 'ndcg@20'],
  ] as const) {
    it(`${model}: exported objective at the trained params = recc's reference there (1e-9 relative); the run's test ${metric} reproduced`, () => {
      const run = join(dir, `${model}-run`);
      const pkg = join(dir, `${model}-torch`);
      const model_ = join(EXAMPLES_DIR, `${model}.recmodel`);
      const setArgs = sets.flatMap((s) => ['--set', s]);
      const r = recc('run', model_, '--data', data, ...setArgs, '--steps', '25', '--out', run, '--quiet');
      expect(r.code, r.stderr).toBe(0);
      const e = recc('export', run, '--target', 'torch', '-o', pkg);
      expect(e.code, e.stderr).toBe(0);
      expect(e.stdout).toContain('trained values');

      // recc's float64 reference interpreter at the run's trained params, whole training data
      const l = compileForData(rt, model_, { sets: new Map(sets.map((s) => [s.split('=')[0]!, Number(s.split('=')[1])])) }, { data });
      if (!l) throw new Error(`${model} did not compile`);
      const trained = readParams(run, l.compiled, l.ds).params;
      expect(trained.size).toBe(l.compiled.module.params.length);
      const refAt = (params: ReadonlyMap<string, Float32Array>) => {
        const env32 = makeEnv(l.compiled, l.sizes, params, l.ds.train);
        // the consts as the float64 numbers model.py's HYPERS hold (recc's executors keep them as float32)
        const consts = [...l.compiled.model.consts].map(([name, value]) => [name, { data: Float64Array.of(value), shape: [] }] as const);
        const env = { ...env32, tensors: new Map([...env32.tensors, ...consts]) };
        return new Map(l.compiled.terms.map((t) => [t.name, evalScalar(t.expr, env)]));
      };
      const ref = refAt(trained);
      const got = exportedObjective(pkg, 'trained');
      expect(got.params).toBe('trained');
      for (const [name, v] of ref) expect({ name, ok: rel(got.terms[name]!, v) <= 1e-9, got: got.terms[name], ref: v }).toEqual({ name, ok: true, got: got.terms[name], ref: v });

      // --init initial: the initializers (torch's own draws), another objective; so the match above
      // is the trained params', not any params'
      const init = exportedObjective(pkg, 'initial');
      expect(init.params).toBe('initial');
      expect(rel(init.total, got.total)).toBeGreaterThan(1e-3);

      // no training steps: the package's evaluation at the trained params is the run's final test metric
      const mfile = join(pkg, 'metrics.json');
      const p = spawnSync(python!, [join(pkg, 'train.py'), '--steps', '0', '--device', 'cpu', '--metrics', mfile], { encoding: 'utf8', timeout: 120_000 });
      expect(p.status, p.stderr).toBe(0);
      const exported = (JSON.parse(readFileSync(mfile, 'utf8')) as { evals: { metrics: Record<string, number> }[] }).evals.at(-1)!.metrics[metric]!;
      const recced = (JSON.parse(readFileSync(join(run, 'metrics.json'), 'utf8')) as { final: Record<string, number> }).final[metric]!;
      expect(Math.abs(exported - recced)).toBeLessThanOrEqual(1e-4 * Math.abs(recced));

      // --check of a run folder: terms and gradients at the trained params
      const c = recc('export', run, '--target', 'torch', '-o', join(dir, `${model}-checked`), '--check');
      expect(c.code, c.stdout + c.stderr).toBe(0);
      expect(c.stdout).toContain("at the run's trained params");
      expect(c.stdout).toContain('check passed');
    });
  }
});

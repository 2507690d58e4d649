// bench/gpu/als: seconds and host↔device bytes per ALS sweep on webgpu, the row solves on the host (as
// before issue 12's last item: H and g(0) read back, solveRows in float64, the params uploaded with every
// evaluation: als.ts's updateBlock) against the solves on the device (als-device.ts: params resident,
// H and g kept there, only the loss terms and a status word back). Both variants train the same example
// from the same initial params, one sweep each in turn (interleaved, so load on a shared machine hits
// both alike), after one warm-up sweep each; prints the median of `--sweeps` sweeps, the bytes each way
// of the last sweep, the ratio of the medians and each variant's objective after its last sweep.
// On a software adapter (lavapipe) the seconds measure the CPU's share of the solves and the overheads.
//   npx tsx bench/gpu/als.ts [--example ials] [--sweeps 5] [--data PATH (e.g. ML-100K's u.data)]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compileSource } from '../../compiler/compile.ts';
import { repoRoot } from '../../runtime/data/data-paths.ts';
import { loadDataset } from '../../runtime/data/dataset.ts';
import { evalMany } from '../../runtime/exec/backend.ts';
import { makeEnv, sizesFor } from '../../runtime/exec/env.ts';
import { WebGpuBackend } from '../../runtime/exec/webgpu/backend.ts';
import { adapterLine } from '../../runtime/exec/webgpu/device.ts';
import { AlsOnDevice } from '../../runtime/train/als-device.ts';
import { blockShape, updateBlock } from '../../runtime/train/als.ts';
import { initParams } from '../../runtime/train/init.ts';
import { median, option } from '../common.ts';

const example = option('example', 'ials');
const sweeps = Number(option('sweeps', '5'));
const data = option('data', '');

const path = join(repoRoot(), 'examples', `${example}.recmodel`);
const text = readFileSync(path, 'utf8');
const first = compileSource(path, text).compiled!;
const ds = loadDataset(first.model, data ? { data } : {});
const sizes = sizesFor(first, ds, ds.train, ds.train);
const compiled = compileSource(path, text, { sizes }).compiled!;
const opt = compiled.model.train.optimizer;
if (opt.kind !== 'als' || !compiled.blocks) throw new Error(`${example} is not trained by optimizer als`);
const solver = opt.solver;
if (compiled.model.train.batch.kind === 'users') console.log('note: `batch N users` is ignored here: every block is solved whole');

const backend = new WebGpuBackend(compiled.module.spaces);
const a = backend.device.adapter;
console.log(`examples/${example}.recmodel${data ? ` on ${data}` : ''}: ${[...sizes].map(([k, v]) => `|${k}| = ${v}`).join(', ')}; webgpu on ${adapterLine(a)}${a.fallback ? ' (lavapipe: the CPU runs the kernels)' : ''}`);

interface Variant {
  readonly name: string;
  readonly env: ReturnType<typeof makeEnv>;
  readonly sweep: () => void;
  readonly objective: () => number;
  readonly ms: number[];
  bytes: { toDevice: number; toHost: number };
}

function variant(name: string, onDevice: boolean): Variant {
  const params = initParams(compiled, sizes, compiled.model.train.seed);
  const env = makeEnv(compiled, sizes, params, ds.train);
  const dev = onDevice ? new AlsOnDevice(backend, compiled, params) : undefined;
  const terms = compiled.terms.map((t) => t.expr);
  const sweep = (): void => {
    for (const block of compiled.blocks!) {
      const { rows, n } = blockShape(block, sizes);
      const r = dev ? dev.update(block, env, rows, n, solver) : updateBlock(compiled, block, backend, env, solver);
      if (r.singularRow >= 0) throw new Error(`${name}: H(${block.param}) row ${r.singularRow} is not positive definite`);
    }
  };
  const objective = (): number => (dev ? dev.terms(env) : evalMany(backend, terms, [], env).scalars).reduce((x, y) => x + y, 0);
  return { name, env, sweep, objective, ms: [], bytes: { toDevice: 0, toHost: 0 } };
}

const variants = [variant('host solve (before)', false), variant('device solve (after)', true)];
for (let s = 0; s <= sweeps; s++) {
  // alternate which variant goes first
  for (const v of s % 2 ? [...variants].reverse() : variants) {
    const t = backend.device.traffic;
    const before = { ...t };
    const t0 = performance.now();
    v.sweep();
    // a sweep's work is done when its last readback (the status, or H and g) came back
    const ms = performance.now() - t0;
    if (s > 0) v.ms.push(ms);
    v.bytes = { toDevice: t.toDevice - before.toDevice, toHost: t.toHost - before.toHost };
  }
}
console.log(`median of ${sweeps} sweeps after 1 warm-up sweep each, interleaved; solver ${solver.kind}${solver.kind === 'cg' ? `(${solver.steps})` : ''}`);
console.log('variant                  s/sweep   B to device/sweep   B to host/sweep   objective after');
for (const v of variants) {
  console.log(`${v.name.padEnd(22)} ${(median(v.ms) / 1000).toFixed(3).padStart(9)} ${String(v.bytes.toDevice).padStart(19)} ${String(v.bytes.toHost).padStart(17)}   ${v.objective().toPrecision(8)}`);
}
console.log(`ratio host/device seconds per sweep: ${(median(variants[0]!.ms) / median(variants[1]!.ms)).toFixed(2)}`);
backend.dispose();

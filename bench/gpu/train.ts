// bench/gpu/train: seconds per epoch of the four model families (mf-gramian and enmf full batch, bpr
// and mf-biased in mini-batches) at the ML-100K shape (943 × 1682, 100,000 ratings) and the ML-1M
// shape (6040 × 3706, 1,000,209), on webgpu (params resident on the device) against recc's js CPU
// kernels, with the host↔device bytes a step moves after warm-up (device.ts's byte counter). Each run
// goes through the real pipeline (the example compiled for the data, an 80/20 holdout, train.ts) for
// 1 warm-up step plus `--steps` timed ones (no evaluation); the median step time is extrapolated to an
// epoch. On a software adapter (lavapipe) the numbers measure overheads, not a GPU: printed beside them.
// Mode `webgpu-wgsl` runs every kernel as recc's own WGSL (codegen/wgsl.ts, what webgpu uses past
// gpu.js's 2^24 cells or one storage binding) instead of gpu.js's, to compare the two on the same steps.
//   npx tsx bench/gpu/train.ts [--modes js,webgpu,webgpu-wgsl] [--steps 4] [--shapes ml100k,ml1m] [--models mf-gramian,enmf,bpr,mf-biased]
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileSource, type Compiled } from '../../compiler/compile.ts';
import { createBackend, type BackendMode } from '../../runtime/backends/backends.ts';
import { repoRoot } from '../../runtime/data/data-paths.ts';
import { loadDataset } from '../../runtime/data/dataset.ts';
import { generateRatings, ML1M_SPEC, syntheticMl1m, toUData } from '../../runtime/data/synthetic.ts';
import { sizesFor } from '../../runtime/exec/env.ts';
import { WebGpuBackend } from '../../runtime/exec/webgpu/backend.ts';
import { adapterLine } from '../../runtime/exec/webgpu/device.ts';
import { train } from '../../runtime/train/train.ts';
import { option } from '../common.ts';

const modes = option('modes', 'js,webgpu').split(',');
const timedSteps = Number(option('steps', '4'));
const shapes = option('shapes', 'ml100k,ml1m').split(',');
const models = option('models', 'mf-gramian,enmf,bpr,mf-biased').split(',');

const dir = mkdtempSync(join(tmpdir(), 'recc-bench-gpu-'));
const shapeFiles = new Map<string, string>();
for (const sh of shapes) {
  const r =
    sh === 'ml100k' ? generateRatings({ ...ML1M_SPEC, nUsers: 943, nItems: 1682, nRatings: 100_000, seed: 100_000, maxPerUser: 737 }) : sh === 'ml1m' ? syntheticMl1m() : undefined;
  if (!r) throw new Error(`unknown shape ${sh} (ml100k, ml1m)`);
  const file = join(dir, `${sh}.tsv`);
  writeFileSync(file, toUData(r));
  shapeFiles.set(sh, file);
}

/** The example compiled for the data (as `recc run` does), its evaluation off: the bench times steps. */
function load(model: string, data: string): { compiled: Compiled; ds: ReturnType<typeof loadDataset> } {
  const path = join(repoRoot(), 'examples', `${model}.recmodel`);
  const text = readFileSync(path, 'utf8');
  const first = compileSource(path, text).compiled!;
  const ds = loadDataset(first.model, { data });
  const sizes = sizesFor(first, ds, ds.train, ds.train);
  const c = compileSource(path, text, { sizes }).compiled!;
  return { compiled: { ...c, model: { ...c.model, evaluate: { ...c.model.evaluate, metrics: [], every: undefined } } }, ds };
}

console.log(`seconds per epoch: median of ${timedSteps} steps after 1 warm-up step × steps per epoch (80% of the ratings train); node ${process.version}`);
let notedAdapter = false;
console.log('model        shape     train rows  steps/epoch   mode          ms/step   s/epoch   B to device/step  B to host/step  loss');
for (const sh of shapes) {
  for (const m of models) {
    const { compiled, ds } = load(m, shapeFiles.get(sh)!);
    const n = ds.train.get(ds.primary)!.size;
    for (const mode of modes) {
      const backend = mode === 'webgpu-wgsl' ? new WebGpuBackend(compiled.module.spaces, undefined, { wgsl: 'always' }) : createBackend(mode as BackendMode, compiled.module.spaces);
      if (backend instanceof WebGpuBackend && !notedAdapter) {
        notedAdapter = true;
        const a = backend.device.adapter;
        console.log(`  webgpu adapter: ${adapterLine(a)}${a.fallback ? ' — lavapipe: measures overheads, not a GPU' : ''}`);
      }
      const traffic: { toDevice: number; toHost: number }[] = [];
      let last = backend instanceof WebGpuBackend ? { ...backend.device.traffic } : undefined;
      const r = train(compiled, ds, {
        backend,
        steps: 1 + timedSteps,
        onStep: () => {
          if (!(backend instanceof WebGpuBackend) || !last) return;
          const now = backend.device.traffic;
          traffic.push({ toDevice: now.toDevice - last.toDevice, toHost: now.toHost - last.toHost });
          last = { ...now };
        },
      });
      const timed = r.log.slice(1).map((l) => l.ms).sort((x, y) => x - y);
      const ms = timed.length ? (timed[(timed.length - 1) >> 1]! + timed[timed.length >> 1]!) / 2 : NaN;
      const warm = traffic.slice(1);
      const bytes = (k: 'toDevice' | 'toHost'): string => (warm.length ? String(Math.max(...warm.map((t) => t[k]))) : '-');
      const b = compiled.model.train.batch;
      const stepsPerEpoch = b.kind === 'tuples' && b.size < n ? Math.ceil(n / b.size) : 1;
      console.log(
        `${m.padEnd(12)} ${sh.padEnd(8)} ${String(n).padStart(10)} ${String(stepsPerEpoch).padStart(12)}   ${mode.padEnd(11)} ${ms.toFixed(1).padStart(9)} ${((ms * stepsPerEpoch) / 1000).toFixed(2).padStart(9)} ${bytes('toDevice').padStart(18)} ${bytes('toHost').padStart(15)}  ${(r.log.at(-1)?.total ?? NaN).toFixed(5)}`,
      );
      backend.dispose();
    }
  }
}

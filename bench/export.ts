// bench/export: time per training step of the exported PyTorch package (recc export --target torch)
// vs recc's own backend on the same model and data: mf-gramian and ENMF at the ML-1M shape
// (synthetic: 6040 users × 3706 items, 1M ratings). Interleaved A B A B, medians of the per-step
// times each run logs after its first (warm-up) steps; the ratio is torch / recc.
//   npx tsx bench/export.ts [--steps 12] [--reps 2] [--mode js|wasm|webasm|cpu] (default js) [--device cpu|cuda] [--shape ml1m|small]
// On a CUDA machine: bench/export-cuda.sh runs this with --device cuda.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pythonRuntimeFiles, torchPackage } from '../compiler/codegen/torch/package.ts';
import { compileForData } from '../cli/commands/common.ts';
import { findTorchPython } from '../cli/commands/export-torch.ts';
import { loadRuntime } from '../cli/lib/runtime.ts';
import { generateRatings, ML1M_SPEC, SMALL_SPEC, toUData } from '../runtime/data/synthetic.ts';
import { option } from './common.ts';

const steps = Number(option('steps', '12'));
const reps = Number(option('reps', '2'));
const mode = option('mode', 'js');
const device = option('device', 'cpu');
const shape = option('shape', 'ml1m');
const python = findTorchPython();
if (!python) {
  console.log('bench/export: no Python 3 with torch (apt-get install python3-torch python3-numpy); nothing to compare');
  process.exit(0);
}
const rt = await loadRuntime();
const dir = mkdtempSync(join(tmpdir(), 'recc-bench-export-'));
const data = join(dir, 'ratings.tsv');
writeFileSync(data, toUData(generateRatings(shape === 'ml1m' ? ML1M_SPEC : SMALL_SPEC)));

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};
const warm = Math.min(2, steps - 1);

function torchStep(pkg: string): number {
  const log = join(pkg, 'loss.csv');
  const p = spawnSync(python!, [join(pkg, 'train.py'), '--steps', String(steps), '--no-eval', '--device', device, '--log', log], { encoding: 'utf8' });
  if (p.status !== 0) throw new Error(p.stderr);
  const ms = readFileSync(log, 'utf8').trim().split('\n').slice(1 + warm).map((l) => Number(l.split(',').at(-1)));
  return median(ms);
}

for (const model of ['mf-gramian', 'enmf']) {
  const r = compileForData(rt, `examples/${model}.recmodel`, { sets: new Map() }, { data });
  if (!r) throw new Error(`${model} did not compile`);
  const pkg = join(dir, model);
  rt.torchExport.writeTorchPackage(pkg, r.compiled, r.ds, torchPackage(r.compiled, '0.1.0'), pythonRuntimeFiles());
  const reccStep = (): number => {
    const backend = rt.backends.createBackend(mode as 'webasm', r.compiled.module.spaces);
    // no evaluation: step times only
    const quiet = { ...r.compiled, model: { ...r.compiled.model, evaluate: { metrics: [], every: undefined } } };
    const res = rt.train.train(quiet, r.ds, { backend, steps });
    backend.dispose();
    return median(res.log.slice(warm).map((s) => s.ms));
  };
  const a: number[] = [];
  const b: number[] = [];
  for (let k = 0; k < reps; k++) {
    a.push(torchStep(pkg));
    b.push(reccStep());
  }
  const t = median(a);
  const rc = median(b);
  console.log(`${model.padEnd(11)} ${shape}: torch (${device}) ${t.toFixed(1)} ms/step · recc (${mode}) ${rc.toFixed(1)} ms/step · torch/recc ${(t / rc).toFixed(2)}`);
}

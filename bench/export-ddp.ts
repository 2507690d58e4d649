// bench/export-ddp: issue 16's acceptance 2 — the exported PyTorch package trained by 2 processes
// under torch.distributed (DDP, gloo on CPU, 127.0.0.1) on ML-100K:
//   (a) examples/mf-biased on u1.base → test RMSE on u1.test (the bar: ≤ 0.93)
//   (b) examples/enmf on the implicit protocol (u.data, ratings ≥ 4, each user's last 20% of likes by
//       time held out, all items ranked) → NDCG@20 (the bar: ≥ 0.15)
//   (c) the per-step objective of the 2-process run against the 1-process run of the same package
//       (float64, the first --steps steps, every term): the largest absolute and relative difference
// Each model trains for the length its train block gives. The workers are started by train.py --nproc
// (a file rendezvous) or, with --launcher torchrun, by torchrun --standalone (see test/export/torch-ddp).
//   npx tsx bench/export-ddp.ts [--launcher nproc|torchrun] [--steps 20]
// Needs ../shared/data/ml-100k (or $RECC_DATA_DIR) and a Python 3 with torch; says so and exits 0 without.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pythonRuntimeFiles, torchPackage } from '../compiler/codegen/torch/package.ts';
import { compileForData } from '../cli/commands/common.ts';
import { findTorchPython } from '../cli/commands/export-torch.ts';
import { loadRuntime } from '../cli/lib/runtime.ts';
import { missingDataReason, ml100kDir } from '../runtime/data/data-paths.ts';
import { option } from './common.ts';

const launcher = option('launcher', 'nproc');
const steps = Number(option('steps', '20'));
if (launcher !== 'nproc' && launcher !== 'torchrun') throw new Error(`--launcher is nproc or torchrun, not ${launcher}`);
const python = findTorchPython();
const ml = ml100kDir();
if (!python || !ml) {
  console.log(`bench/export-ddp: ${!python ? 'no Python 3 with torch (apt-get install python3-torch python3-numpy)' : missingDataReason()}; nothing to run`);
  process.exit(0);
}
const rt = await loadRuntime();
const dir = mkdtempSync(join(tmpdir(), 'recc-bench-ddp-'));

function exportPackage(model: string, data: { data: string; test?: string }): string {
  const r = compileForData(rt, `examples/${model}.recmodel`, { sets: new Map() }, data);
  if (!r) throw new Error(`${model} did not compile`);
  const pkg = join(dir, model);
  rt.torchExport.writeTorchPackage(pkg, r.compiled, r.ds, torchPackage(r.compiled, '0.1.0'), pythonRuntimeFiles());
  return pkg;
}

/** train.py in `nproc` workers; its stderr is kept for a failure's message. */
function train(pkg: string, nproc: number, args: readonly string[]): void {
  const argv =
    nproc > 1 && launcher === 'torchrun'
      ? ['-m', 'torch.distributed.run', '--standalone', '--nproc_per_node', String(nproc), '--redirects', '9:1', '--tee', '9:1', join(pkg, 'train.py'), ...args]
      : [join(pkg, 'train.py'), ...args, '--nproc', String(nproc)];
  const p = spawnSync(python!, argv, { encoding: 'utf8', timeout: 3_600_000, killSignal: 'SIGKILL' });
  if (p.status !== 0) throw new Error(`train.py (${nproc} process(es), ${launcher}) failed${p.error ? ` (${p.error.message})` : ''}:\n${p.stderr.slice(-4000)}`);
}

function finalMetrics(pkg: string, nproc: number): { metrics: Record<string, number>; steps: number; seconds: number } {
  const file = join(pkg, `metrics-${nproc}.json`);
  const t0 = performance.now();
  train(pkg, nproc, ['--device', 'cpu', '--metrics', file, '--timeout', '600']);
  const m = JSON.parse(readFileSync(file, 'utf8')) as { steps: number; world: number; evals: { metrics: Record<string, number> }[] };
  if (m.world !== nproc) throw new Error(`${pkg}: ran on ${m.world} process(es), not ${nproc}`);
  return { metrics: m.evals.at(-1)!.metrics, steps: m.steps, seconds: (performance.now() - t0) / 1000 };
}

/** Every term of the first `steps` steps, float64, as train.py --log writes them. */
function stepLog(pkg: string, nproc: number): number[][] {
  const log = join(pkg, `loss-${nproc}.csv`);
  train(pkg, nproc, ['--device', 'cpu', '--steps', String(steps), '--dtype', 'float64', '--no-eval', '--log', log, '--timeout', '600']);
  return readFileSync(log, 'utf8').trim().split('\n').slice(1).map((l) => l.split(',').slice(3, -1).map(Number));
}

const mfb = exportPackage('mf-biased', { data: join(ml, 'u1.base'), test: join(ml, 'u1.test') });
const enmf = exportPackage('enmf', { data: join(ml, 'u.data') });
console.log(`bench/export-ddp: 2-process torch.distributed (gloo, CPU, ${launcher}) of exported packages on ML-100K; torch from ${python}`);

const a = finalMetrics(mfb, 2);
console.log(`(a) mf-biased u1.base → u1.test: test RMSE ${a.metrics.rmse!.toFixed(4)} (bar ≤ 0.93) · MAE ${a.metrics.mae!.toFixed(4)} · ${a.steps} steps in ${a.seconds.toFixed(1)} s`);
const b = finalMetrics(enmf, 2);
console.log(`(b) enmf implicit protocol: NDCG@20 ${b.metrics['ndcg@20']!.toFixed(4)} (bar ≥ 0.15) · Recall@20 ${b.metrics['recall@20']!.toFixed(4)} · ${b.steps} steps in ${b.seconds.toFixed(1)} s`);

for (const [name, pkg] of [['mf-biased', mfb], ['enmf', enmf]] as const) {
  const one = stepLog(pkg, 1);
  const two = stepLog(pkg, 2);
  if (one.length !== steps || two.length !== steps) throw new Error(`${name}: logged ${one.length} and ${two.length} steps, not ${steps}`);
  let abs = 0;
  let rel = 0;
  one.forEach((row, s) =>
    row.forEach((x, j) => {
      const d = Math.abs(two[s]![j]! - x);
      abs = Math.max(abs, d);
      rel = Math.max(rel, d / Math.max(Math.abs(x), 1e-300));
    }),
  );
  console.log(`(c) ${name}: per-step objective, 2 vs 1 process(es), ${steps} float64 steps × ${one[0]!.length} terms: max |Δ| ${abs.toExponential(2)}, max relative ${rel.toExponential(2)}`);
}

// bench/fm: seconds per training epoch of examples/fm.recmodel (batch 2048, k = 4) compiled with its
// rewrites (the pair sum becomes ½Σ_f((Σ_j V_jf x_j)² − Σ_j V_jf² x_j²): O(k·nnz) per row) vs as
// written (compileSource with rewrite: false, allowDense: true), side by side in one run on gpu.js
// webasm, on the bundled synthetic CTR data (24,000 training rows × 4 non-zeros) and a larger synthetic
// set (1M rows × 10 non-zeros: runtime/synthetic.ts generateCtr's four fields plus six random
// context fields). Each side trains through runtime/train.ts for --steps steps after a warm-up step;
// the median step time × steps per epoch is the epoch time. A side whose planned kernels exceed
// --max-flops per step is not run: its planned FLOPs and the cost model's figures are printed.
// For scale, the same forward + backward in plain TypeScript (float64, no gpu.js) with the naive
// O(k·nnz²) pair loop and with the O(k·nnz) form, over one epoch of the same rows.
//   npx tsx bench/fm.ts [--mode webasm|cpu] [--steps 5] [--shapes ctr,1m] [--max-flops 2e10]
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileSource, type Compiled } from '../compiler/compile.ts';
import { formatBytes, formatCount, type Cost } from '../compiler/passes/cost.ts';
import { GpuBackend } from '../runtime/backends/backends.ts';
import type { Relation } from '../runtime/data/load.ts';
import { repoRoot } from '../runtime/data/data-paths.ts';
import { loadDataset, type Dataset } from '../runtime/data/dataset.ts';
import type { ExecMode } from '../runtime/exec/executor.ts';
import { Rng } from '../runtime/data/rng.ts';
import { CTR_FIELDS, CTR_SPEC, generateCtr } from '../runtime/data/synthetic.ts';
import { initParams, train } from '../runtime/train/train.ts';
import { Batcher } from '../runtime/train/steps.ts';
import { makeEnv, sizesFor } from '../runtime/exec/env.ts';
import { median, option } from './common.ts';

const opt = option;
const mode = opt('mode', 'webasm') as ExecMode;
const timedSteps = Number(opt('steps', '5'));
const shapes = opt('shapes', 'ctr,1m').split(',');
/** a side is run only if one step's planned kernels do at most this many FLOPs */
const MAX_FLOPS = Number(opt('max-flops', '2e10'));
const FILE = join(repoRoot(), 'examples', 'fm.recmodel');
const source = readFileSync(FILE, 'utf8');
const tmp = mkdtempSync(join(tmpdir(), 'recc-bench-fm-'));

/** 1M rows × 10 non-zeros, libsvm: generateCtr's user, item, category, hour + six context fields of 100 values */
function bigCtr(): string {
  const EXTRA = 6, VOCAB = 100;
  const d = generateCtr({ ...CTR_SPEC, nUsers: 50_000, nItems: 20_000, nRows: 1_000_000, seed: 1_000_000 });
  const rng = new Rng(99);
  const lines = new Array<string>(d.labels.length);
  for (let t = 0; t < d.labels.length; t++) {
    let l = String(d.labels[t]);
    for (let a = 0; a < CTR_FIELDS; a++) l += ` ${d.features[t * CTR_FIELDS + a]! + 1}:1`;
    for (let e = 0; e < EXTRA; e++) l += ` ${d.nFeatures + e * VOCAB + rng.int(VOCAB) + 1}:1`;
    lines[t] = l;
  }
  return lines.join('\n') + '\n';
}

function dataFor(shape: string): { label: string; path: string | undefined } {
  if (shape === 'ctr') return { label: 'synthetic CTR (bundled)', path: undefined };
  if (shape === '1m') {
    const path = join(tmp, 'ctr-1m-x10.libsvm');
    writeFileSync(path, bigCtr());
    return { label: '1M rows × 10 nnz', path };
  }
  throw new Error(`unknown shape ${shape}`);
}

/** compiled for the sizes of one training batch (kernels bake sizes, as `recc run` plans them) */
function compileFor(ds: Dataset, first: Compiled, batch: ReadonlyMap<string, Relation>, rewrite: boolean): Compiled {
  const sizes = sizesFor(first, ds, batch, ds.train);
  const r = compileSource(FILE, source, { sizes, rewrite, allowDense: !rewrite });
  if (!r.compiled) throw new Error(`examples/fm.recmodel does not compile (rewrite ${rewrite}): ${r.diagnostics.map((d) => d.message).join('; ')}`);
  // training only: the bench measures steps, not metrics
  return { ...r.compiled, model: { ...r.compiled.model, evaluate: { ...r.compiled.model.evaluate, metrics: [] } } };
}

function modelCost(c: Compiled): { written: Cost; compiled: Cost } {
  const all = [...c.terms, ...c.grads];
  const sum = (f: (e: (typeof all)[number]) => Cost): Cost => ({ flops: all.reduce((a, e) => a + f(e).flops, 0), memory: all.reduce((a, e) => a + f(e).memory, 0) });
  return { written: sum((e) => e.costWritten), compiled: sum((e) => e.cost) };
}

/**
 * One epoch of FM forward + backward (logistic loss, batch-mean gradients, no update) in plain
 * TypeScript over the training rows: the pair term by the naive loop over j < l (O(k·nnz²) per row) or
 * by Σ_f (Σ_j V_jf x_j)² (O(k·nnz)). Returns ms and a checksum of the gradients.
 */
function hostEpoch(ds: Dataset, k: number, naive: boolean): { ms: number; check: number } {
  const rel = ds.train.get('clicks')!;
  const ent = ds.train.get('clicks~x')!;
  const nF = ds.ids.get('feature').size;
  const rowOf = ent.ids.get('row')!, feat = ent.ids.get('feat')!, val = ent.values.get('val')!;
  const label = rel.values.get('label')!;
  const off = new Int32Array(rel.size + 1);
  for (let n = 0; n < ent.size; n++) off[rowOf[n]! + 1]++;
  for (let t = 0; t < rel.size; t++) off[t + 1]! += off[t]!;
  const order = new Int32Array(ent.size);
  const fill = off.slice(0, rel.size);
  for (let n = 0; n < ent.size; n++) order[fill[rowOf[n]!]!++] = n;
  const rng = new Rng(3);
  const w = Float64Array.from({ length: nF }, () => 0.01 * rng.normal());
  const V = Float64Array.from({ length: nF * k }, () => 0.05 * rng.normal());
  const gw = new Float64Array(nF), gV = new Float64Array(nF * k);
  const s = new Float64Array(k);
  const t0 = performance.now();
  for (let t = 0; t < rel.size; t++) {
    const a = off[t]!, b = off[t + 1]!;
    let z = 0;
    for (let p = a; p < b; p++) z += w[feat[order[p]!]!]! * val[order[p]!]!;
    if (naive) {
      for (let p = a; p < b; p++) {
        for (let q = p + 1; q < b; q++) {
          const j = feat[order[p]!]! * k, l = feat[order[q]!]! * k;
          let dot = 0;
          for (let f = 0; f < k; f++) dot += V[j + f]! * V[l + f]!;
          z += dot * val[order[p]!]! * val[order[q]!]!;
        }
      }
    } else {
      let sq = 0;
      s.fill(0);
      for (let p = a; p < b; p++) {
        const j = feat[order[p]!]! * k, x = val[order[p]!]!;
        for (let f = 0; f < k; f++) {
          s[f]! += V[j + f]! * x;
          sq += V[j + f]! * V[j + f]! * x * x;
        }
      }
      let ss = 0;
      for (let f = 0; f < k; f++) ss += s[f]! * s[f]!;
      z += 0.5 * (ss - sq);
    }
    const g = (1 / (1 + Math.exp(-z)) - label[t]!) / rel.size;
    for (let p = a; p < b; p++) {
      const j = feat[order[p]!]!, x = val[order[p]!]!;
      gw[j]! += g * x;
      for (let f = 0; f < k; f++) {
        // ∂/∂V_jf = x_j Σ_{l ≠ j} V_lf x_l
        let acc: number;
        if (naive) {
          acc = 0;
          for (let q = a; q < b; q++) if (q !== p) acc += V[feat[order[q]!]! * k + f]! * val[order[q]!]!;
        } else acc = s[f]! - V[j * k + f]! * x;
        gV[j * k + f]! += g * x * acc;
      }
    }
  }
  const ms = performance.now() - t0;
  return { ms, check: gw.reduce((x, y) => x + y, 0) + gV.reduce((x, y) => x + y, 0) };
}

console.log(`examples/fm.recmodel (k = 4, batch 2048, Adam): seconds per epoch on gpu.js ${mode}, node ${process.version}`);
console.log(`epoch = median of ${timedSteps} steps after 1 warm-up step × steps per epoch; all rows of the training side (80%)\n`);
console.log('data                      rows   nnz/row   steps/epoch   rewritten s/epoch   as written s/epoch   speed-up   planned FLOPs/step (rewritten / as written)');
const costLines: string[] = [];
const hostLines: string[] = [];
for (const shape of shapes) {
  const data = dataFor(shape);
  const first = compileSource(FILE, source).compiled!;
  const ds = loadDataset(first.model, data.path ? { data: data.path } : {});
  const rows = ds.train.get('clicks')!.size;
  const nnz = ds.train.get('clicks~x')!.size / rows;
  const batchSize = first.model.train.batch.kind === 'tuples' ? first.model.train.batch.size : rows;
  const probe = new Batcher(ds.train.get('clicks')!, batchSize, new Rng(1)).next(ds.train);
  const batch = new Map(ds.train);
  for (const [n, r] of probe) batch.set(n, r);
  const stepsPerEpoch = Math.ceil(rows / batchSize);
  const result: Record<'rewritten' | 'written', { s?: number; flops: number }> = { rewritten: { flops: 0 }, written: { flops: 0 } };
  let fastCompiled: Compiled | undefined;
  for (const side of ['rewritten', 'written'] as const) {
    const c = compileFor(ds, first, batch, side === 'rewritten');
    if (side === 'rewritten') fastCompiled = c;
    const backend = new GpuBackend(mode, c.module.spaces);
    const sizes = sizesFor(c, ds, batch, ds.train);
    const env = makeEnv(c, sizes, initParams(c, sizesFor(c, ds, ds.train, ds.train), 1), batch);
    result[side].flops = backend.planGroup(c.terms.map((t) => t.expr), c.grads.map((g) => ({ expr: g.expr, out: g.out })), env).cost.flops;
    if (result[side].flops <= MAX_FLOPS) {
      const r = train(c, ds, { backend, steps: 1 + timedSteps });
      result[side].s = (median(r.log.slice(1).map((l) => l.ms)) * stepsPerEpoch) / 1000;
      const fb = backend.fallbacks().length;
      if (fb) console.log(`  warning: ${fb} kernels of the ${side} side fell back from ${mode}`);
    }
    backend.dispose();
  }
  const { rewritten: f, written: w } = result;
  const wText = w.s !== undefined ? w.s.toFixed(2) : 'not run';
  console.log(
    `${data.label.padEnd(24)} ${String(rows).padStart(7)} ${nnz.toFixed(1).padStart(9)} ${String(stepsPerEpoch).padStart(13)} ${f.s!.toFixed(2).padStart(19)} ${wText.padStart(20)} ${(w.s !== undefined ? `${(w.s / f.s!).toFixed(1)}×` : '—').padStart(10)}   ${formatCount(f.flops)} / ${formatCount(w.flops)} (${(w.flops / f.flops).toExponential(1)}×)`,
  );
  if (w.s === undefined) {
    console.log(`  as written: not run — one step's planned kernels do ${formatCount(w.flops)} FLOPs (> --max-flops ${formatCount(MAX_FLOPS)}): the pair sum and its gradients pair every entry of the batch with every other, not only entries of the same row`);
  }
  const m = modelCost(fastCompiled!);
  costLines.push(`  ${data.label.padEnd(24)} as written: ${formatCount(m.written.flops)} FLOPs, ${formatBytes(m.written.memory)} intermediate · rewritten: ${formatCount(m.compiled.flops)} FLOPs, ${formatBytes(m.compiled.memory)} · ${(m.written.flops / m.compiled.flops).toExponential(1)}× fewer FLOPs`);
  // each form three times, interleaved (JIT warm-up), the median kept
  const runs = { naive: [] as number[], fast: [] as number[] };
  let naive = { ms: 0, check: 0 }, fast = naive;
  for (let r = 0; r < 3; r++) {
    naive = hostEpoch(ds, 4, true);
    fast = hostEpoch(ds, 4, false);
    runs.naive.push(naive.ms);
    runs.fast.push(fast.ms);
  }
  naive = { ...naive, ms: median(runs.naive) };
  fast = { ...fast, ms: median(runs.fast) };
  hostLines.push(`  ${data.label.padEnd(24)} naive O(k·nnz²) pair loop ${naive.ms.toFixed(0).padStart(6)} ms · O(k·nnz) form ${fast.ms.toFixed(0).padStart(6)} ms · ${(naive.ms / fast.ms).toFixed(1)}×  (gradient checksums ${naive.check.toExponential(6)} / ${fast.check.toExponential(6)})`);
}
console.log('\ncost model (compiler/passes/cost.ts), per step (one batch of 2048 rows), summed over the terms and gradients:');
for (const l of costLines) console.log(l);
console.log('\nplain TypeScript, float64, one epoch of forward + backward (no gpu.js, no optimizer), k = 4, median of 3:');
for (const l of hostLines) console.log(l);
rmSync(tmp, { recursive: true, force: true });

// bench/whole-data: one epoch of examples/enmf.recmodel's whole-data ("non-sampling") objective —
// the `whole` loss over every user × item pair, the L2 term, and the gradients w.r.t. P, Q and h, all
// in one evalMany call as a full-batch training step does it (one step = one epoch) — compiled
// rewritten (split-default + Gramians: O((|user| + |item|)·d² + |likes|·d)) vs as written (every
// |user|·|item| pair: compileSource with rewrite: false, allowDense: true), side by side in one run, at
// the ML-100K shape (u.data when present, else synthetic of that shape) and the ML-1M shape
// (syntheticMl1m()), d = 64, on gpu.js webasm. The training side of the example's split (likes = rating
// ≥ 4, last 20% per user held out) is what an epoch sees. When the as-written plan exceeds
// --max-slow-flops it is not run: the planned kernels' FLOPs and the cost model's figures are printed.
//   npx tsx bench/whole-data.ts [--mode webasm|cpu] [--reps 3] [--shapes ml100k,ml1m] [--max-slow-flops 5e10]
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileSource, type Compiled } from '../compiler/compile.ts';
import { formatBytes, formatCount, type Cost } from '../compiler/passes/cost.ts';
import { evalMany } from '../runtime/exec/backend.ts';
import { GpuBackend } from '../runtime/backends/backends.ts';
import { ml100kDir, repoRoot } from '../runtime/data/data-paths.ts';
import { loadDataset, type Dataset } from '../runtime/data/dataset.ts';
import type { ExecMode } from '../runtime/exec/executor.ts';
import { generateRatings, ML1M_SPEC, syntheticMl1m, toUData } from '../runtime/data/synthetic.ts';
import { initParams } from '../runtime/train/train.ts';
import { makeEnv, sizesFor } from '../runtime/exec/env.ts';
import { median, option } from './common.ts';

const opt = option;
const mode = opt('mode', 'webasm') as ExecMode;
const reps = Number(opt('reps', '3'));
const shapes = opt('shapes', 'ml100k,ml1m').split(',');
/** the as-written side is timed only up to this many planned FLOPs per epoch (about a minute on webasm) */
const MAX_SLOW_FLOPS = Number(opt('max-slow-flops', '5e10'));
const D = 64;
const FILE = join(repoRoot(), 'examples', 'enmf.recmodel');
const source = readFileSync(FILE, 'utf8');
const sets = new Map([['d', D]]);
const tmp = mkdtempSync(join(tmpdir(), 'recc-bench-whole-'));

/** the data file of a shape: ML-100K u.data when present, else synthetic ratings in u.data layout */
function dataFor(shape: string): { label: string; path: string; source: string } {
  if (shape === 'ml100k') {
    const dir = ml100kDir();
    if (dir) return { label: 'ML-100K', path: join(dir, 'u.data'), source: 'u.data' };
    const spec = { ...ML1M_SPEC, nUsers: 943, nItems: 1682, nRatings: 100_000, seed: 100_000, maxPerUser: 737 };
    const path = join(tmp, 'ml100k-shape.tsv');
    writeFileSync(path, toUData(generateRatings(spec)));
    return { label: 'ML-100K', path, source: 'synthetic (ML-100K shape)' };
  }
  if (shape === 'ml1m') {
    const path = join(tmp, 'ml1m-shape.tsv');
    writeFileSync(path, toUData(syntheticMl1m()));
    return { label: 'ML-1M', path, source: 'syntheticMl1m()' };
  }
  throw new Error(`unknown shape ${shape}`);
}

function compileFor(ds: Dataset, first: Compiled, rewrite: boolean): Compiled {
  const sizes = sizesFor(first, ds, ds.train, ds.train);
  const r = compileSource(FILE, source, { sets, sizes, rewrite, allowDense: !rewrite });
  if (!r.compiled) throw new Error(`examples/enmf.recmodel does not compile (rewrite ${rewrite}): ${r.diagnostics.map((d) => d.message).join('; ')}`);
  return r.compiled;
}

/** the cost model's figures for the whole step: every term and gradient, as written and as compiled */
function modelCost(c: Compiled): { written: Cost; compiled: Cost } {
  const all = [...c.terms, ...c.grads];
  const sum = (f: (e: (typeof all)[number]) => Cost): Cost => ({
    flops: all.reduce((a, e) => a + f(e).flops, 0),
    memory: all.reduce((a, e) => a + f(e).memory, 0),
  });
  return { written: sum((e) => e.costWritten), compiled: sum((e) => e.cost) };
}

console.log(`examples/enmf.recmodel: whole + l2 and ∂/∂P, ∂/∂Q, ∂/∂h in one evalMany (one full-batch step = one epoch), d = ${D}`);
console.log(`gpu.js ${mode}, node ${process.version}; median of ${reps} epochs after a warm-up epoch (kernel compilation, CSR indexes)\n`);
console.log('shape     users × items   train likes   rewritten ms   as written ms   speed-up   planned FLOPs (rewritten / as written)   objective (rewritten / as written)');
const costLines: string[] = [];
/** ms per planned FLOP of the as-written step where it was timed: estimates the shapes too slow to run */
let slowRate: { msPerFlop: number; label: string } | undefined;
for (const shape of shapes) {
  const data = dataFor(shape);
  const first = compileSource(FILE, source, { sets }).compiled!;
  const ds = loadDataset(first.model, { data: data.path });
  const fast = compileFor(ds, first, true);
  const slow = compileFor(ds, first, false);
  const sizes = sizesFor(fast, ds, ds.train, ds.train);
  const params = initParams(fast, sizes, fast.model.train.seed);
  const env = makeEnv(fast, sizes, params, ds.train);
  const backend = new GpuBackend(mode, fast.module.spaces);
  const epoch = (c: Compiled): { ms: number; objective: number } => {
    const t0 = performance.now();
    const r = evalMany(backend, c.terms.map((t) => t.expr), c.grads.map((g) => ({ expr: g.expr, out: g.out })), env);
    return { ms: performance.now() - t0, objective: r.scalars.reduce((a, b) => a + b, 0) };
  };
  const time = (c: Compiled): { ms: number; objective: number } => {
    const warm = epoch(c);
    const runs = Array.from({ length: reps }, () => epoch(c).ms);
    return { ms: median(runs), objective: warm.objective };
  };
  const planned = (c: Compiled): number =>
    backend.planGroup(c.terms.map((t) => t.expr), c.grads.map((g) => ({ expr: g.expr, out: g.out })), env).cost.flops;
  const fastFlops = planned(fast);
  const slowFlops = planned(slow);
  const f = time(fast);
  const s = slowFlops <= MAX_SLOW_FLOPS ? time(slow) : undefined;
  const nU = sizes.get('user')!, nI = sizes.get('item')!;
  console.log(
    `${data.label.padEnd(8)} ${`${nU} × ${nI}`.padStart(14)} ${String(ds.train.get('likes')!.size).padStart(13)} ${f.ms.toFixed(1).padStart(14)} ${(s ? s.ms.toFixed(1) : 'not run').padStart(15)} ${(s ? `${(s.ms / f.ms).toFixed(1)}×` : '—').padStart(10)}   ${`${formatCount(fastFlops)} / ${formatCount(slowFlops)} (${(slowFlops / fastFlops).toFixed(0)}×)`.padEnd(40)} ${f.objective.toPrecision(7)} / ${s ? s.objective.toPrecision(7) : '—'}`,
  );
  if (s) slowRate ??= { msPerFlop: s.ms / slowFlops, label: data.label };
  else {
    const est = slowRate ? ` ≈ ${((slowFlops * slowRate.msPerFlop) / 1000).toFixed(0)} s per epoch at the as-written rate measured at ${slowRate.label} (≈ ${((slowFlops * slowRate.msPerFlop) / f.ms).toFixed(0)}× the rewritten epoch)` : '';
    console.log(`  as written: not run — its planned kernels do ${formatCount(slowFlops)} FLOPs per epoch (> --max-slow-flops ${formatCount(MAX_SLOW_FLOPS)})${est}`);
  }
  const fb = backend.fallbacks();
  if (fb.length) console.log(`  warning: ${fb.length} kernels fell back from ${mode}`);
  backend.dispose();
  const m = modelCost(fast);
  costLines.push(
    `  ${data.label.padEnd(8)} as written: ${formatCount(m.written.flops)} FLOPs, ${formatBytes(m.written.memory)} intermediate · rewritten: ${formatCount(m.compiled.flops)} FLOPs, ${formatBytes(m.compiled.memory)} · ${(m.written.flops / m.compiled.flops).toFixed(0)}× fewer FLOPs`,
  );
  console.log(`  data: ${data.source}, training side of the example's split`);
}

console.log('\ncost model (compiler/passes/cost.ts), per epoch, summed over the terms and gradients:');
for (const l of costLines) console.log(l);
rmSync(tmp, { recursive: true, force: true });

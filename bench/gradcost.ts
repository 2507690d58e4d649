// bench/gradcost: what a whole-data term adds to a training step once its gradients are cheap (issue
// 10's cheap-gradient invariant). Two spellings that used to leave a join of the liked pairs with
// themselves in their gradients or loss —
//   number: w0 · mean(u in user, i in item: (((u, i) in likes) − score)²)   (membership as a 0/1 number)
//   ials:   mean(u, i: conf(u, i)·(pref(u, i) − score)²), pref = ((u, i) in likes), conf = 1 + α·pref
// — are each timed against the same model without the whole-data term (an observed loss on the liked
// pairs and an L2 on them: `base`). One full-batch step = every term and every gradient in one
// evalMany call, as the trainer runs it; gpu.js webasm; synthetic data only (never downloaded): the
// ML-1M shape (syntheticMl1m: 6,040 users × 3,706 items, 1,000,209 ratings, likes = rating ≥ 4) and an
// ML-100K-like shape. Runs are interleaved (base, number, ials, base, …) and the medians compared; the
// planned FLOPs (the plan's steps, by the one cost model) are printed next to the times.
//   npx tsx bench/gradcost.ts [--mode webasm|cpu] [--reps 3] [--shapes ml100k,ml1m] [--d 64]
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileSource, type Compiled } from '../compiler/compile.ts';
import { formatCount } from '../compiler/passes/cost.ts';
import { evalMany } from '../runtime/exec/backend.ts';
import { GpuBackend } from '../runtime/backends/backends.ts';
import { loadDataset } from '../runtime/data/dataset.ts';
import type { ExecMode } from '../runtime/exec/executor.ts';
import { generateRatings, ML1M_SPEC, syntheticMl1m, toUData } from '../runtime/data/synthetic.ts';
import { initParams } from '../runtime/train/train.ts';
import { makeEnv, sizesFor } from '../runtime/exec/env.ts';
import { median, option } from './common.ts';

const mode = option('mode', 'webasm') as ExecMode;
const reps = Number(option('reps', '3'));
const shapes = option('shapes', 'ml100k,ml1m').split(',');
const D = Number(option('d', '64'));
const tmp = mkdtempSync(join(tmpdir(), 'recc-bench-gradcost-'));

const PREAMBLE = `index user, item
data ratings(user: user, item: item, rating: float, time: int) from "ratings.tsv" format tsv
data likes = ratings where rating >= 4
dim d = ${D}
const alpha = 10, w0 = 0.05, lambda = 0.01
param P[user, d] ~ normal(0, 0.01)
param Q[item, d] ~ normal(0, 0.01)
def score(u, i) = P[u] . Q[i]
def pref(u, i) = ((u, i) in likes)
def conf(u, i) = 1 + alpha * pref(u, i)
loss obs = mean((u, i) in likes: (1 - score(u, i))^2)
reg l2 = lambda * mean((u, i) in likes: P[u] . P[u] + Q[i] . Q[i])
`;
const MODELS: Record<string, string> = {
  base: '',
  number: 'loss whole = w0 * mean(u in user, i in item: (((u, i) in likes) - score(u, i))^2)\n',
  ials: 'loss whole = mean(u in user, i in item: conf(u, i) * (pref(u, i) - score(u, i))^2)\n',
};
const TRAIN = 'train { optimizer adam(lr = 0.01) steps 1 batch full seed 1 }\n';

function dataFor(shape: string): { label: string; path: string } {
  const path = join(tmp, `${shape}.tsv`);
  if (shape === 'ml1m') writeFileSync(path, toUData(syntheticMl1m()));
  else if (shape === 'ml100k') writeFileSync(path, toUData(generateRatings({ ...ML1M_SPEC, nUsers: 943, nItems: 1682, nRatings: 100_000, seed: 100_000, maxPerUser: 737 })));
  else throw new Error(`unknown shape ${shape} (ml100k, ml1m)`);
  return { label: shape === 'ml1m' ? 'ML-1M' : 'ML-100K', path };
}

console.log(`bench/gradcost: one full-batch step (every term and gradient, one evalMany), d = ${D}, gpu.js ${mode}, node ${process.version}`);
console.log(`median of ${reps} interleaved steps per model after a warm-up step; synthetic data\n`);
for (const shape of shapes) {
  const data = dataFor(shape);
  const runs = Object.entries(MODELS).map(([name, term]) => {
    const text = `model ${name}\n${PREAMBLE}${term}${TRAIN}`;
    const first = compileSource(`${name}.recmodel`, text).compiled;
    if (!first) throw new Error(`${name} does not compile`);
    const ds = loadDataset(first.model, { data: data.path });
    const sizes = sizesFor(first, ds, ds.train, ds.train);
    const r = compileSource(`${name}.recmodel`, text, { sizes });
    if (!r.compiled) throw new Error(`${name} does not compile at the data's sizes: ${r.diagnostics.map((x) => x.message).join('; ')}`);
    const c: Compiled = r.compiled;
    const params = initParams(c, sizes, 1);
    const env = makeEnv(c, sizes, params, ds.train);
    const backend = new GpuBackend(mode, c.module.spaces);
    const exprs = c.terms.map((t) => t.expr);
    const grads = c.grads.map((g) => ({ expr: g.expr, out: g.out }));
    const planned = backend.planGroup(exprs, grads, env).cost.flops;
    const step = (): number => {
      const t0 = performance.now();
      evalMany(backend, exprs, grads, env);
      return performance.now() - t0;
    };
    step(); // kernel compilation, CSR indexes
    return { name, backend, step, planned, ms: [] as number[], likes: ds.train.get('likes')!.size, users: sizes.get('user')!, items: sizes.get('item')! };
  });
  for (let k = 0; k < reps; k++) for (const r of runs) r.ms.push(r.step());
  const base = runs[0]!;
  const b = median(base.ms);
  console.log(`${data.label}: ${base.users} users × ${base.items} items, ${base.likes} liked pairs in training`);
  console.log('  model     ms/step   planned FLOPs   time / base   FLOPs / base');
  for (const r of runs) {
    const m = median(r.ms);
    console.log(`  ${r.name.padEnd(8)} ${m.toFixed(1).padStart(8)}   ${formatCount(r.planned).padStart(13)}   ${`${(m / b).toFixed(2)}×`.padStart(11)}   ${`${(r.planned / base.planned).toFixed(2)}×`.padStart(12)}`);
    const fb = r.backend.fallbacks();
    if (fb.length) console.log(`    warning: ${fb.length} kernels fell back from ${mode}`);
    r.backend.dispose();
  }
}
rmSync(tmp, { recursive: true, force: true });

// bench/gramian: time per evaluation of the `gram` term of examples/mf-gramian.recmodel and of its
// gradient w.r.t. U, rewritten (Gramian) vs as written (all-pairs kernel), side by side in one run,
// at the ML-100K and ML-1M shapes on gpu.js webasm; then the cost model's figures at ML-20M.
//   npx tsx bench/gramian.ts [--mode webasm|cpu] [--reps 3]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compileSource, type Compiled, type CompiledExpr } from '../compiler/compile.ts';
import { grad } from '../compiler/autodiff/grad.ts';
import { idx } from '../compiler/ir/nodes.ts';
import { cost, formatBytes, formatCount } from '../compiler/passes/cost.ts';
import { optimize } from '../compiler/passes/pipeline.ts';
import { GpuBackend } from '../runtime/backends/backends.ts';
import type { Env, TensorValue } from '../compiler/ir/interp.ts';
import { Rng } from '../runtime/data/rng.ts';
import { repoRoot } from '../runtime/data/data-paths.ts';
import type { ExecMode } from '../runtime/exec/executor.ts';
import { option } from './common.ts';

const opt = option;
const mode = opt('mode', 'webasm') as ExecMode;
const reps = Number(opt('reps', '3'));
const D = 64;
const source = readFileSync(join(repoRoot(), 'examples', 'mf-gramian.recmodel'), 'utf8');

function compileAt(users: number, items: number, rewrite: boolean): Compiled {
  const sizes = new Map([['user', users], ['item', items], ['ratings', 1], ['ratings#total', 1], ['ratings#batch', 1]]);
  const r = compileSource('examples/mf-gramian.recmodel', source, { sets: new Map([['d', D]]), sizes, rewrite, allowDense: !rewrite });
  if (!r.compiled) throw new Error(`examples/mf-gramian.recmodel does not compile: ${r.diagnostics.map((d) => d.message).join('; ')}`);
  return r.compiled;
}

function envFor(users: number, items: number): Env {
  const rng = new Rng(7);
  const randn = (n: number): Float32Array => Float32Array.from({ length: n }, () => 0.1 * rng.normal());
  const tensors = new Map<string, TensorValue>([
    ['U', { data: randn(users * D), shape: ['user', 'd'] }],
    ['V', { data: randn(items * D), shape: ['item', 'd'] }],
    ['l2w', { data: Float32Array.of(0.1), shape: [] }],
    ['gramw', { data: Float32Array.of(0.5), shape: [] }],
  ]);
  const sizes = new Map([['user', users], ['item', items], ['d', D], ['ratings', 0], ['ratings#batch', 0], ['ratings#total', 1]]);
  return { sizes, tensors, ids: new Map() };
}

function timeIt(f: () => void): number {
  f(); // warm-up: kernel compilation
  const t0 = performance.now();
  for (let r = 0; r < reps; r++) f();
  return (performance.now() - t0) / reps;
}

const a = idx('a', 'user');
const b = idx('b', 'd');
/** The gram term, and ∂gram/∂U[a, b] through the same pipeline (rewritten or as written). */
/** Largest temp a kernel can index exactly in float32 (2^24 cells), with headroom. */
const MAX_TEMP_CELLS = 12_000_000;

/** The as-written gradient, one block of user rows at a time (rows of ∂/∂U depend only on their own U row). */
function naiveGradientInBlocks(backend: GpuBackend, e: CompiledExpr, env: Env, users: number, items: number, block: number): Float32Array {
  const out = new Float32Array(users * D);
  const U = env.tensors.get('U')!.data as Float32Array;
  for (let u0 = 0; u0 < users; u0 += block) {
    const u1 = Math.min(users, u0 + block);
    const sizes = new Map(env.sizes);
    sizes.set('user', u1 - u0);
    const tensors = new Map(env.tensors);
    tensors.set('U', { data: U.subarray(u0 * D, u1 * D), shape: ['user', 'd'] });
    const g = backend.tensor(e.expr, [a, b], { ...env, sizes, tensors });
    // the written mean divides by |user|, here the block's size: rescale to the whole domain
    const scale = (u1 - u0) / users;
    for (let j = 0; j < g.length; j++) out[u0 * D + j] = g[j]! * scale;
  }
  void items;
  return out;
}

const pick = (c: Compiled, rewrite: boolean): { term: CompiledExpr; grad: CompiledExpr } => {
  const term = c.terms.find((t) => t.name === 'gram')!;
  const sizeOf = (s: string): number => c.sizes.get(s) ?? 1;
  const g = grad(term.written, 'U', [a, b]);
  const o = optimize(g, { sizeOf, rewrite });
  return { term, grad: { written: g, expr: o.expr, steps: o.steps, costWritten: cost(g, sizeOf), cost: cost(o.expr, sizeOf) } };
};

console.log(`gram term of examples/mf-gramian.recmodel, d = ${D}, gpu.js ${mode}, mean of ${reps} evaluations after a warm-up\n`);
console.log('shape                 what        rewritten ms   as written ms   speed-up   FLOP ratio (planned kernels)');
for (const [label, users, items] of [['ML-100K 943×1682', 943, 1682], ['ML-1M 6040×3706', 6040, 3706]] as const) {
  const fast = pick(compileAt(users, items, true), true);
  const slow = pick(compileAt(users, items, false), false);
  const env = envFor(users, items);
  const backend = new GpuBackend(mode, compileAt(users, items, true).module.spaces);
  let check = 0;
  for (const what of ['term', 'gradient'] as const) {
    const [fastE, slowE] = what === 'term' ? [fast.term, slow.term] : [fast.grad, slow.grad];
    const run = (e: CompiledExpr): (() => void) =>
      what === 'term' ? () => void (check += backend.scalar(e.expr, env)) : () => void (check += backend.tensor(e.expr, [a, b], env)[0]!);
    const tFast = timeIt(run(fastE));
    if (what === 'gradient') {
      // the naive gradient Σ_i 2·s(a,i)·V[i,b] materializes the |user|×|item| score matrix; evaluate it
      // in blocks of users (each block's temp fits float32 indexing), and check it against the Gramian form
      const block = Math.min(users, Math.floor(MAX_TEMP_CELLS / items));
      let blocked: Float32Array | undefined;
      const tBlocks = timeIt(() => {
        blocked = naiveGradientInBlocks(backend, slowE, env, users, items, block);
      });
      const fastG = backend.tensor(fastE.expr, [a, b], env);
      let err = 0;
      let scale = 0;
      for (let j = 0; j < fastG.length; j++) {
        err = Math.max(err, Math.abs(fastG[j]! - blocked![j]!));
        scale = Math.max(scale, Math.abs(fastG[j]!));
      }
      const flops = 4 * users * items * D;
      console.log(
        `${label.padEnd(21)} ${'gradient*'.padEnd(10)} ${tFast.toFixed(2).padStart(12)} ${tBlocks.toFixed(2).padStart(15)} ${(tBlocks / tFast).toFixed(1).padStart(9)}× ${(flops / backend.plan(fastE.expr, [a, b], env).cost.flops).toFixed(1).padStart(10)}×   (blocks of ${block} users; max |Δ| / max |g| = ${(err / scale).toExponential(1)})`,
      );
    }
    if (what === 'gradient') continue;
    // what the planned kernels really do (the cost model assumes every sum is computed once)
    const slowFlops = backend.plan(slowE.expr, [], env).cost.flops;
    const flopRatio = slowFlops / backend.plan(fastE.expr, [], env).cost.flops;
    const tSlow = timeIt(run(slowE));
    console.log(
      `${label.padEnd(21)} ${what.padEnd(10)} ${tFast.toFixed(2).padStart(12)} ${tSlow.toFixed(2).padStart(15)} ${`${(tSlow / tFast).toFixed(1)}`.padStart(9)}× ${flopRatio.toFixed(1).padStart(10)}×`,
    );
  }
  const fb = backend.fallbacks();
  if (fb.length) console.log(`  warning: ${fb.length} kernels fell back from ${mode}`);
  backend.dispose();
  void check;
}

console.log('\n* the as-written gradient materializes the score matrix block by block (the fair naive kernel)');
console.log('\ncost model at the ML-20M shape (138493 users × 26744 items, d = 64), per evaluation:');
const c20 = compileAt(138_493, 26_744, true);
const sizes20 = (s: string): number => c20.sizes.get(s) ?? 1;
const p20 = pick(c20, true);
for (const [what, e] of [['gram term', p20.term], ['∂gram/∂U', p20.grad]] as const) {
  const w = cost(e.written, sizes20);
  const r = cost(e.expr, sizes20);
  console.log(`  ${what.padEnd(10)} as written: ${formatCount(w.flops)} FLOPs, ${formatBytes(w.memory)} intermediate · rewritten: ${formatCount(r.flops)} FLOPs, ${formatBytes(r.memory)} · ${(w.flops / r.flops).toFixed(0)}× fewer FLOPs`);
}

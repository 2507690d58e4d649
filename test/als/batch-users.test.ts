// Mini-batch ALS (issue 15, "mini-batches of users where the model uses them"): with `batch N users`,
// a block whose rows are users is solved N rows at a time, each batch's H_r and g_r(0) from the batch's
// world (its tuples, its rows, |user| = N). For random small models, in the float64 reference:
//   - every batch's rows land on the exact minimizer of the model's batch objective over them (the
//     compiler's gradient of the batch objective wrt those rows ≈ 0, relative 1e-8), for any model;
//   - where every term that reads the block scales alike under the batch (iALS, ENMF: sums over the
//     users; explicit MF with per-observation L2: means over the ratings), the batched update is the
//     whole-data update (the same rows to 1e-9), the full gradient wrt the block vanishes and the
//     objective never increases across half-sweeps.
import { describe, expect, it } from 'vitest';
import type { Compiled } from '../../compiler/compile.ts';
import type { Env, TensorValue } from '../../compiler/ir/interp.ts';
import type { Dataset } from '../../runtime/data/dataset.ts';
import { ReferenceBackend } from '../../runtime/exec/backend.ts';
import { alsBatches, batchEnv, isBatchedBlock, updateBlock, updateBlockBatched } from '../../runtime/train/als.ts';
import { compileFor, dataset, env64 } from '../helpers/als-data.ts';
import { prng } from '../helpers/ir-env.ts';

const SAME_SCALE: Record<string, string> = {
  'whole-data implicit (iALS)': `const c_pos = 1, c_neg = 0.1, lambda = 0.05
param U[user, d] ~ normal(0, 0.5)
param V[item, d] ~ normal(0, 0.5)
def y(u, i) = (u, i) in likes ? 1 : 0
def c(u, i) = (u, i) in likes ? c_pos : c_neg
loss whole = sum(u in user, i in item: c(u, i) * (y(u, i) - U[u] . V[i])^2) / |user|
reg l2 = lambda * (sum(U^2) + sum(V^2)) / |user|
train { optimizer als blocks V, U batch 3 users }`,
  'ENMF with h': `const c_pos = 1, c_neg = 0.1, lambda = 0.05
param P[user, d] ~ normal(0, 0.5)
param Q[item, d] ~ normal(0, 0.5)
param h[d] ~ normal(1, 0.2)
def score(u, i) = sum(k in d: P[u, k] * Q[i, k] * h[k])
def y(u, i) = (u, i) in likes ? 1 : 0
def c(u, i) = (u, i) in likes ? c_pos : c_neg
loss whole = sum(u in user, i in item: c(u, i) * (y(u, i) - score(u, i))^2) / |user|
reg l2 = lambda * (sum(P^2) + sum(Q^2) + sum(h^2)) / |user|
train { optimizer als blocks P, Q, h batch 2 users }`,
  'explicit MF with biases, per-observation L2': `const lambda = 0.1
param U[user, d] ~ normal(0, 0.5)
param V[item, d] ~ normal(0, 0.5)
param bu[user] = 0
param bi[item] = 0
param mu = 3
def score(u, i) = U[u] . V[i] + bu[u] + bi[i] + mu
loss mse = mean((u, i, r) in likes: (r - score(u, i))^2)
reg l2 = lambda * mean((u, i, r) in likes: U[u] . U[u] + V[i] . V[i] + bu[u]^2 + bi[i]^2)
train { optimizer als blocks U, V, bu, bi, mu batch 3 users }`,
};

// the loss is a sum over ratings (scaled |likes|/|likes in B| under a batch), the L2 a sum over users
// (scaled |user|/|B|): the batch objective's row minimizer is not the whole objective's
const MIXED_SCALE = `const lambda = 0.05
param U[user, d] ~ normal(0, 0.5)
param V[item, d] ~ normal(0, 0.5)
loss wmse = sum((u, i, r, w) in likes: w * (r - U[u] . V[i])^2)
reg l2 = lambda * (sum(U^2) + sum(V^2))
train { optimizer als blocks U, V batch 3 users }`;

const ref = new ReferenceBackend();
const objective = (c: Compiled, env: Env): number => c.terms.reduce((s, t) => s + ref.scalar(t.expr, env), 0);
const maxAbs = (a: ArrayLike<number>): number => Array.from(a).reduce((m, x) => Math.max(m, Math.abs(x)), 0);
const copyEnv = (c: Compiled, env: Env): Env => {
  const tensors = new Map<string, TensorValue>(env.tensors);
  for (const p of c.module.params) tensors.set(p.name, { data: Float64Array.from(env.tensors.get(p.name)!.data), shape: p.shape });
  return { ...env, tensors };
};

function setup(text: string, seed: number): { c: Compiled; ds: Dataset; env: Env } {
  const rnd = prng(seed * 104729);
  const users = 6 + Math.floor(rnd() * 4), items = 5 + Math.floor(rnd() * 4);
  const ds = dataset(users, items, Math.floor(users * items * 0.4), seed);
  const c = compileFor(text, ds);
  return { c, ds, env: env64(c, ds, seed) };
}

/** After a batched update of `param`: each batch's gradient of its batch objective wrt its rows, relative. */
function batchGradients(c: Compiled, ds: Dataset, env: Env, param: string, scale: number): number {
  const { domain, batches } = alsBatches(c, ds)!;
  const g = c.grads.find((x) => x.param === param)!;
  let worst = 0;
  for (const b of batches) worst = Math.max(worst, maxAbs(ref.tensor(g.expr, g.out, batchEnv(c, env, domain, env.sizes.get(domain)!, b))) / scale);
  return worst;
}

describe('ALS with `batch N users`: each batch of rows solved exactly (float64 reference)', () => {
  for (const [name, text] of Object.entries(SAME_SCALE)) {
    it(`${name}: batched = whole-data update; the gradient vanishes; the objective never increases`, () => {
      for (const seed of [1, 2, 3]) {
        const { c, ds, env } = setup(text, seed);
        const batched = alsBatches(c, ds)!;
        expect(batched.batches.length).toBeGreaterThan(1);
        const usersBlocks = c.blocks!.filter((b) => isBatchedBlock(c, b, batched.domain)).map((b) => b.param);
        expect(usersBlocks.length).toBeGreaterThan(0);
        let before = objective(c, env);
        for (let sweep = 0; sweep < 2; sweep++) {
          for (const block of c.blocks!) {
            const g = c.grads.find((x) => x.param === block.param)!;
            const scale = Math.max(1, maxAbs(ref.tensor(g.expr, g.out, env)));
            if (isBatchedBlock(c, block, batched.domain)) {
              const whole = copyEnv(c, env);
              expect(updateBlock(c, block, ref, whole, { kind: 'cholesky' }).singularRow).toBe(-1);
              expect(updateBlockBatched(c, block, ref, env, batched.domain, batched.batches, { kind: 'cholesky' })).toBe(-1);
              expect(batchGradients(c, ds, env, block.param, scale), `seed ${seed}: batch gradient wrt ${block.param}`).toBeLessThan(1e-8);
              const a = env.tensors.get(block.param)!.data;
              const b = whole.tensors.get(block.param)!.data;
              const diff = Array.from(a).reduce((m, x, k) => Math.max(m, Math.abs(x - b[k]!)), 0);
              expect(diff / Math.max(1, maxAbs(b)), `seed ${seed}: batched vs whole-data rows of ${block.param}`).toBeLessThan(1e-9);
            } else expect(updateBlock(c, block, ref, env, { kind: 'cholesky' }).singularRow).toBe(-1);
            const after = objective(c, env);
            expect(maxAbs(ref.tensor(g.expr, g.out, env)) / scale, `seed ${seed}, sweep ${sweep}: |∂L/∂${block.param}|`).toBeLessThan(1e-8);
            expect(after, `seed ${seed}, sweep ${sweep}, block ${block.param}: the objective increased`).toBeLessThanOrEqual(before + 1e-12 * Math.abs(before));
            before = after;
          }
        }
      }
    });
  }

  it('terms that scale differently under a batch: each batch still lands on its batch objective\'s minimizer, which is not the whole-data one', () => {
    for (const seed of [1, 2]) {
      const { c, ds, env } = setup(MIXED_SCALE, seed);
      const batched = alsBatches(c, ds)!;
      const block = c.blocks!.find((b) => b.param === 'U')!;
      const g = c.grads.find((x) => x.param === 'U')!;
      const scale = Math.max(1, maxAbs(ref.tensor(g.expr, g.out, env)));
      const whole = copyEnv(c, env);
      updateBlock(c, block, ref, whole, { kind: 'cholesky' });
      expect(updateBlockBatched(c, block, ref, env, batched.domain, batched.batches, { kind: 'cholesky' })).toBe(-1);
      expect(batchGradients(c, ds, env, 'U', scale)).toBeLessThan(1e-8);
      // the whole-data gradient does not vanish: the batch objective weighs loss and L2 differently
      expect(maxAbs(ref.tensor(g.expr, g.out, env)) / scale).toBeGreaterThan(1e-6);
    }
  });

  it('without user batches smaller than the domain there is nothing to batch', () => {
    const { c, ds } = setup(SAME_SCALE['whole-data implicit (iALS)']!.replace('batch 3 users', 'batch 100 users'), 1);
    expect(alsBatches(c, ds)).toBeUndefined();
    const { c: c2, ds: ds2 } = setup(SAME_SCALE['whole-data implicit (iALS)']!.replace(' batch 3 users', ''), 1);
    expect(alsBatches(c2, ds2)).toBeUndefined();
  });
});

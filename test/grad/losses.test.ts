// Gradient checks for every std/losses def, through the whole compiler (parse → check → lower with
// samplers → autodiff → rewrite): for a random direction t, ⟨∇f, t⟩ ≈ (f(x+εt) − f(x−εt)) / 2ε in
// float64 through the reference interpreter, with the samples of one seeded draw held fixed (the
// draw is part of the data, as in a training step). Both the gradient as derived (after
// δ-elimination) and as rewritten by the pipeline are checked.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileSource, type Compiled } from '../../compiler/compile.ts';
import { add } from '../../compiler/ir/nodes.ts';
import { evalScalar, evalTensor, type Env, type TensorValue } from '../../compiler/ir/interp.ts';
import { repoRoot } from '../../runtime/data/data-paths.ts';
import { Rng } from '../../runtime/data/rng.ts';
import { distribution, drawSamples } from '../../runtime/train/samplers.ts';
import { logqTableName } from '../../compiler/ir/spaces.ts';
import { initParams } from '../../runtime/train/train.ts';
import { makeEnv, sizesFor } from '../../runtime/exec/env.ts';
import { prng } from '../helpers/ir-env.ts';
import { TINY_PREAMBLE, tinyDataset } from '../helpers/tiny-dataset.ts';

/** One loss term per std def (and per sampler form), named by what it exercises. */
const LOSSES: Record<string, string> = {
  mse: 'loss L = mean((u, i, r) in likes: mse(r, score(u, i)))',
  mae: 'loss L = mean((u, i, r) in likes: mae(r, score(u, i)))',
  wmse: 'loss L = mean((u, i, r) in likes: wmse(1, score(u, i), 1 + r))',
  logistic: 'loss L = mean((u, i, r) in likes: logistic(r >= 3 ? 1 : 0, score(u, i)))',
  'bce (p-sale: positives + uniform negatives)': 'loss L = mean((u, i) in likes, j ~ uniform(item): bce(1, score(u, i)) + bce(0, score(u, j)))',
  'bpr (uniform negative)': 'loss L = mean((u, i) in likes, j ~ uniform(item): bpr(score(u, i), score(u, j)))',
  'bpr (pop negative, exclude = likes)': 'loss L = mean((u, i) in likes, j ~ pop(item, 0.75, exclude = likes): bpr(score(u, i), score(u, j)))',
  hinge: 'loss L = mean((u, i) in likes, j ~ uniform(item): hinge(score(u, i), score(u, j), margin))',
  'neg_pos + neg_neg': 'loss L = mean((u, i) in likes, J ~ uniform(item) x 4: neg_pos(score(u, i)) + sum(j in J: neg_neg(score(u, j))))',
  neg_logistic: 'loss L = mean((u, i) in likes, j ~ pop(item, 0.5): neg_logistic(score(u, i), score(u, j)))',
  'nce_pos + nce_neg (log-Q)': 'loss L = mean((u, i) in likes, J ~ pop(item, 0.75) x 4: nce_pos(score(u, i), logq(i) + log(k)) + sum(j in J: nce_neg(score(u, j), logq(j) + log(k))))',
  'sampled_softmax + corrected (pop set)': 'loss L = mean((u, i) in likes, J ~ pop(item, 0.75) x 5: sampled_softmax(score(u, i), logq(i), logsumexp(j in J: corrected(score(u, j), logq(j)))))',
  'softmax_xent (in-batch negatives)': 'loss L = mean((u, i) in likes, J ~ inbatch(item): softmax_xent(corrected(score(u, i), logq(i)), logsumexp(j in J: corrected(score(u, j), logq(j)))))',
  'softmax_xent (full softmax over item)': 'loss L = mean((u, i) in likes: softmax_xent(score(u, i), logsumexp(j in item: score(u, j))))',
  // max/min aggregations: subgradients (the argmax element's derivative) on inputs without ties
  'max: hinge against the hardest of a sampled set': 'loss L = mean((u, i) in likes, J ~ uniform(item) x 4: max(j in J: hinge(score(u, i), score(u, j), margin)))',
  'max over the in-batch set (duplicates tie exactly)': 'loss L = mean((u, i) in likes, J ~ inbatch(item): max(j in J: score(u, j)) - score(u, i))',
  'min over a whole domain': 'loss L = mean((u, i) in likes: score(u, i) - min(j in item: score(u, j)))',
  'max over a relation\'s tuples, and a max over a dim': 'loss L = max((u, i) in likes: score(u, i)^2) + mean(u in user: max(f in d: U[u, f]))',
};

const PARAMS = ['U', 'V', 'b'];

function compileLoss(body: string, batch: number): Compiled {
  const text = `${TINY_PREAMBLE}\n${body}\ntrain { optimizer adam(lr = 0.01) steps 1 batch ${batch} seed 3 }\n`;
  const r = compileSource(join(repoRoot(), 'test', 'grad', 'tiny.recmodel'), text, { allowDense: true });
  if (!r.compiled) throw new Error(r.diagnostics.map((d) => `${d.code} ${d.message}`).join('\n'));
  return r.compiled;
}

/** A training step's environment in float64: params, the relation, one seeded draw of every sampler. */
function stepEnv(c: Compiled, seed: number): Env {
  const ds = tinyDataset({ users: 4, items: 6, tuples: 9, seed, skew: 1 });
  const full = ds.train;
  const sizes0 = sizesFor(c, ds, full, full);
  const params = initParams(c, sizes0, seed);
  const dists = c.module.samplers.map((s) =>
    distribution(s, sizes0.get(s.domain)!, full.get(s.source ?? 'likes'), s.kind === 'per-tuple' && s.exclude ? { rel: full.get(s.exclude.rel), owners: sizes0.get(s.exclude.owner)! } : undefined),
  );
  const drawn = new Map(full);
  drawSamples(c.module.samplers, dists, drawn, new Rng(seed).fork(2));
  const sizes = sizesFor(c, ds, drawn, full);
  const tables = new Map<string, TensorValue>(c.module.samplers.map((s, j) => [logqTableName(s), { data: dists[j]!.logq, shape: [s.domain] }]));
  const env = makeEnv(c, sizes, params, drawn, tables);
  // float64 throughout: params from their float32 init, data columns from the float64 relations
  const tensors = new Map<string, TensorValue>(env.tensors);
  for (const p of PARAMS) tensors.set(p, { data: Float64Array.from(env.tensors.get(p)!.data), shape: env.tensors.get(p)!.shape });
  for (const [name, rel] of drawn) for (const [col, a] of rel.values) tensors.set(`${name}.${col}`, { data: a, shape: [name] });
  return { ...env, tensors };
}

function perturb(env: Env, name: string, dir: Float64Array, eps: number): Env {
  const base = env.tensors.get(name)!;
  const tensors = new Map<string, TensorValue>(env.tensors);
  tensors.set(name, { data: Float64Array.from(base.data, (x, j) => x + eps * dir[j]!), shape: base.shape });
  return { ...env, tensors };
}

describe('std/losses: compiled gradients match central finite differences (float64, fixed samples)', () => {
  for (const [name, body] of Object.entries(LOSSES)) {
    it(name, () => {
      // a full batch: every tuple is in the step, so the objective is a fixed function of the params
      const c = compileLoss(body, 9);
      const objective = add(...c.module.terms.map((t) => t.expr));
      for (let seed = 1; seed <= 3; seed++) {
        const env = stepEnv(c, seed);
        const f0 = evalScalar(objective, env);
        expect(Number.isFinite(f0), `${name}: objective ${f0}`).toBe(true);
        const rnd = prng(seed * 104729);
        let largest = 0;
        for (const g of c.grads) {
          const n = env.tensors.get(g.param)!.data.length;
          const dir = Float64Array.from({ length: n }, () => rnd() * 2 - 1);
          const eps = 1e-5;
          const fd = (evalScalar(objective, perturb(env, g.param, dir, eps)) - evalScalar(objective, perturb(env, g.param, dir, -eps))) / (2 * eps);
          largest = Math.max(largest, Math.abs(fd));
          for (const [form, expr] of [['derived', g.written], ['rewritten', g.expr]] as const) {
            const gv = evalTensor(expr, env, g.out);
            const dot = gv.reduce((acc, x, j) => acc + x * dir[j]!, 0);
            expect(Math.abs(dot - fd), `${name} ∂/∂${g.param} (${form}) seed ${seed}: ${dot} vs ${fd}`).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(fd)));
          }
        }
        // not vacuous: the objective moves with the params
        expect(largest, `${name}: every directional derivative is ~0`).toBeGreaterThan(1e-3);
      }
    });
  }
});

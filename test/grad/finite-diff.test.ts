// Gradient checks (JAX style): for a random direction t, ⟨∇f(x), t⟩ ≈ (f(x+εt) − f(x−εt)) / 2ε,
// in float64 through the reference interpreter, for the symbolic gradient both as derived and as
// rewritten by the pipeline.
import { describe, expect, it } from 'vitest';
import { grad } from '../../compiler/autodiff/grad.ts';
import { evalScalar, evalTensor, type Env, type TensorValue } from '../../compiler/ir/interp.ts';
import {
  add, call, call2, cmp, idx, konst, mul, neg, pow, reduce, select, sub, sum, tensor, v, type Expr, type Idx, type UnaryFn,
} from '../../compiler/ir/nodes.ts';
import { nodes } from '../../compiler/ir/walk.ts';
import { optimize } from '../../compiler/passes/pipeline.ts';
import { prng, randomEnv } from '../helpers/ir-env.ts';

const u = idx('u', 'user');
const i = idx('i', 'item');
const k = idx('k', 'd');
const t = idx('t', 'ratings');
const g = (col: string, domain: string) => ({ kind: 'gather' as const, rel: 'ratings', col, domain, t });
const score = add(
  sum([k], mul(tensor('param', 'U', [g('user', 'user'), v(k)]), tensor('param', 'V', [g('item', 'item'), v(k)]), tensor('param', 'h', [v(k)]))),
  tensor('param', 'bu', [g('user', 'user')]),
  tensor('param', 'mu', []),
);
const r = tensor('data', 'ratings.rating', [v(t)]);
const allScore = sum([k], mul(tensor('param', 'U', [v(u), v(k)]), tensor('param', 'V', [v(i), v(k)])));
const overObs = (body: Expr): Expr => sum([t], body);

const fns: readonly UnaryFn[] = ['exp', 'sigmoid', 'logsigmoid', 'softplus', 'tanh'];
/** the score of the tuple's user with item x, h-weighted */
const userScore = (x: Idx): Expr =>
  sum([k], mul(tensor('param', 'U', [g('user', 'user'), v(k)]), tensor('param', 'V', [v(x), v(k)]), tensor('param', 'h', [v(k)])));
const j = idx('j', 'item');
/** logsumexp over items as lowered: m + log Σ_i exp(f_i − m), m = max_j f_j */
const shiftedLse = add(reduce('max', [j], userScore(j)), call('log', sum([i], call('exp', sub(userScore(i), reduce('max', [j], userScore(j)))))));
const plainLse = call('log', sum([i], call('exp', userScore(i))));
const cases: Record<string, Expr> = {
  'squared error': overObs(pow(sub(r, score), 2)),
  'all-pairs square': sum([u, i], pow(allScore, 2)),
  'log(1 + s²)': overObs(call('log', add(konst(1), pow(score, 2)))),
  'sqrt(1 + s²)': overObs(call('sqrt', add(konst(1), pow(score, 2)))),
  'hinge max(0, 1 − r·s)': overObs(call2('max', konst(0), sub(konst(1), mul(r, score)))),
  'select(s > 0, s², −s)': overObs(select(cmp('>', score, konst(0)), pow(score, 2), neg(score))),
  'min(s, 1)·r': overObs(mul(call2('min', score, konst(1)), r)),
  '1/(1 + s²)': overObs(pow(add(konst(1), pow(score, 2)), -1)),
  ...Object.fromEntries(fns.map((f) => [`${f}(s)`, overObs(mul(call(f, score), r))])),
  // max/min reductions: random inputs have no ties, so the subgradient is the gradient
  'max over items of the user score, per tuple': overObs(mul(reduce('max', [i], userScore(i)), r)),
  'min over d of U·V·h, per tuple': overObs(reduce('min', [k], mul(tensor('param', 'U', [g('user', 'user'), v(k)]), tensor('param', 'V', [g('item', 'item'), v(k)]), tensor('param', 'h', [v(k)])))),
  'closed max over all (u, i) pairs, squared': pow(reduce('max', [u, i], allScore), 2),
  'hinge on the hardest item: max_i max(0, 1 + s_i − s)': overObs(reduce('max', [i], call2('max', konst(0), add(konst(1), userScore(i), neg(score))))),
  'max-shifted logsumexp over items, per tuple': overObs(sub(shiftedLse, score)),
};

const params: Record<string, readonly string[]> = { U: ['user', 'd'], V: ['item', 'd'], bu: ['user'], h: ['d'], mu: [] };

function perturb(env: Env, name: string, dir: Float64Array, eps: number): Env {
  const base = env.tensors.get(name)!;
  const data = Float64Array.from(base.data, (x, j) => x + eps * dir[j]!);
  const tensors = new Map<string, TensorValue>(env.tensors);
  tensors.set(name, { data, shape: base.shape });
  return { ...env, tensors };
}

describe('symbolic gradients match central finite differences', () => {
  for (const [name, f] of Object.entries(cases)) {
    it(name, () => {
      for (let seed = 1; seed <= 4; seed++) {
        const env = randomEnv(
          {
            sizes: { user: 3, item: 4, d: 3, ratings: 7 },
            tensors: params,
            relations: { ratings: { ids: { user: 'user', item: 'item' }, values: ['rating'] } },
          },
          seed,
        );
        const rnd = prng(seed * 7919);
        for (const [p, shape] of Object.entries(params)) {
          const out: Idx[] = shape.map((s, j) => idx(`o${j}`, s));
          const symbolic = grad(f, p, out);
          const rewritten = optimize(symbolic, { sizeOf: () => 50 }).expr;
          const n = env.tensors.get(p)!.data.length;
          const dir = Float64Array.from({ length: n }, () => rnd() * 2 - 1);
          const eps = 1e-6;
          const fd = (evalScalar(f, perturb(env, p, dir, eps)) - evalScalar(f, perturb(env, p, dir, -eps))) / (2 * eps);
          for (const gexpr of [symbolic, rewritten]) {
            const gv = evalTensor(gexpr, env, out);
            const dot = gv.reduce((acc, x, j) => acc + x * dir[j]!, 0);
            expect(Math.abs(dot - fd), `${name} ∂/∂${p} seed ${seed}: ${dot} vs ${fd}`).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(fd)));
          }
        }
      }
    });
  }
});

describe('max/min subgradients', () => {
  const env = randomEnv(
    { sizes: { user: 3, item: 4, d: 3, ratings: 7 }, tensors: params, relations: { ratings: { ids: { user: 'user', item: 'item' }, values: ['rating'] } } },
    5,
  );
  it('give a tie to one element: max over k of the same 3μ has derivative 3 in μ, not 3·|d|', () => {
    for (const fn of ['max', 'min'] as const) {
      const f = reduce(fn, [k], mul(konst(3), tensor('param', 'mu', [])));
      expect(evalScalar(grad(f, 'mu', []), env)).toBeCloseTo(3, 12);
    }
  });
  it('are 0 over an empty space, as the max is', () => {
    const empty = { ...env, sizes: new Map([...env.sizes, ['none', 0]]) };
    const f = reduce('max', [idx('e', 'none')], tensor('param', 'mu', []));
    expect(evalScalar(f, empty)).toBe(0);
    expect(evalScalar(grad(f, 'mu', []), empty)).toBe(0);
  });
  it("cancel the shift's ∂m terms of a max-shifted logsumexp symbolically", () => {
    for (const [p, shape] of Object.entries(params)) {
      const out: Idx[] = shape.map((s, q) => idx(`o${q}`, s));
      const shifted = grad(overObs(shiftedLse), p, out);
      // no argmax indicator survives: the gradient is the softmax-weighted one of the plain form
      expect(nodes(shifted).some((n) => n.op === 'cmp'), p).toBe(false);
      const plain = evalTensor(grad(overObs(plainLse), p, out), env, out);
      const got = evalTensor(shifted, env, out);
      got.forEach((x, q) => expect(x).toBeCloseTo(plain[q]!, 12));
    }
  });
});

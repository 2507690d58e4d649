// Generated gpu.js kernels (webasm and cpu) agree with the float64 interpreter on a corpus of
// hand-built IR expressions: Gramian contractions, observed-pair losses with gathers, their
// CSR-gathered gradients, biased scores, elementwise builtins, free output indices, long reductions.
import { afterAll, describe, it } from 'vitest';
import { expect } from 'vitest';
import {
  add,
  call,
  call2,
  cmp,
  div,
  eq,
  idx,
  konst,
  mul,
  pow,
  select,
  sub,
  sum,
  tensor,
  v,
  type Expr,
  type Idx,
  type Ix,
} from '../../compiler/ir/nodes.ts';
import { evalTensor } from '../../compiler/ir/interp.ts';
import { planExpr, printPlan, type PlanOptions } from '../../compiler/plan/plan.ts';
import { Executor, type ExecMode } from '../../runtime/exec/executor.ts';
import { a, b, c, expectClose, gather, i, k, l, makeFixture, t, u, type FixtureSizes } from './fixtures.ts';

const U = (r: Ix, d: Ix): Expr => tensor('param', 'U', [r, d]);
const V = (r: Ix, d: Ix): Expr => tensor('param', 'V', [r, d]);
const rating = tensor('data', 'ratings.rating', [v(t)]);
const hyper = (n: string): Expr => tensor('hyper', n, []);
const dot = (x: Ix, y: Ix, kk: Idx = k): Expr => sum([kk], mul(U(x, v(kk)), V(y, v(kk))));
/** residual of an observed pair: U[user[t]]·V[item[t]] − r[t] */
const resid = sub(dot(gather('user'), gather('item')), rating);
const biasedResid = sub(
  add(hyper('mu'), tensor('param', 'bu', [gather('user')]), tensor('param', 'bi', [gather('item')]), dot(gather('user'), gather('item'))),
  rating,
);

interface Case {
  readonly name: string;
  readonly expr: Expr;
  readonly out: readonly Idx[];
  readonly sizes: FixtureSizes;
  readonly opts?: PlanOptions;
  readonly rtol?: number;
  /** what interp evaluates instead (an alpha-renamed `expr`: interp does not restore shadowed slots) */
  readonly ref?: Expr;
}

const small: FixtureSizes = { users: 23, items: 17, d: 5, nnz: 300 };
const mid: FixtureSizes = { users: 1500, items: 1300, d: 8, nnz: 5000, seed: 7 };

const sig = (x: Expr): Expr => call('sigmoid', x);
const score = dot(v(u), v(i));

const cases: Case[] = [
  {
    name: 'Gramian contraction tree Σ_kl (UᵀU)(VᵀV)',
    expr: sum([k, l], mul(sum([u], mul(U(v(u), v(k)), U(v(u), v(l)))), sum([i], mul(V(v(i), v(k)), V(v(i), v(l)))))),
    out: [],
    sizes: small,
  },
  {
    name: 'Gramian over > 1024 users (split-K)',
    expr: sum([k, l], mul(sum([u], mul(U(v(u), v(k)), U(v(u), v(l)))), sum([i], mul(V(v(i), v(k)), V(v(i), v(l)))))),
    out: [],
    sizes: mid,
  },
  {
    name: 'all-pairs squared score Σ_ui (U_u·V_i)² (dense, no rewrite)',
    expr: sum([u, i], pow(score, 2)),
    out: [],
    sizes: small,
  },
  { name: 'observed squared-error loss', expr: sum([t], pow(resid, 2)), out: [], sizes: small },
  {
    name: 'loss + λ·(‖U‖² + ‖V‖²)',
    expr: add(
      sum([t], pow(resid, 2)),
      mul(hyper('lambda'), add(sum([u, k], pow(U(v(u), v(k)), 2)), sum([i, k], pow(V(v(i), v(k)), 2)))),
    ),
    out: [],
    sizes: mid,
  },
  {
    name: 'gradient wrt U via CSR by user',
    expr: sum([t], mul(konst(2), eq(gather('user'), v(a)), resid, V(gather('item'), v(b)))),
    out: [a, b],
    sizes: small,
  },
  {
    name: 'gradient wrt V via CSR by item',
    expr: sum([t], mul(konst(2), eq(gather('item'), v(c)), resid, U(gather('user'), v(b)))),
    out: [c, b],
    sizes: small,
  },
  {
    name: 'gradient wrt U, larger relation',
    expr: sum([t], mul(konst(2), eq(gather('user'), v(a)), resid, V(gather('item'), v(b)))),
    out: [a, b],
    sizes: { users: 150, items: 400, d: 4, nnz: 3000, seed: 5 },
  },
  {
    name: 'gradient as a sum of terms sharing the δ, plus a regularizer',
    expr: add(
      sum([t], add(mul(eq(gather('user'), v(a)), resid, V(gather('item'), v(b))), mul(eq(gather('user'), v(a)), U(v(a), v(b)), rating))),
      mul(hyper('lambda'), U(v(a), v(b))),
    ),
    out: [a, b],
    sizes: small,
  },
  { name: 'biased-score loss', expr: sum([t], pow(biasedResid, 2)), out: [], sizes: small },
  {
    name: 'biased-score gradient wrt bu',
    expr: sum([t], mul(konst(2), eq(v(a), gather('user')), biasedResid)),
    out: [a],
    sizes: small,
  },
  {
    name: 'logistic loss (BCE with logits) on observed pairs',
    expr: sum([t], call('softplus', mul(konst(-1), dot(gather('user'), gather('item'))))),
    out: [],
    sizes: small,
  },
  {
    name: 'elementwise builtins over free indices',
    expr: add(
      sig(mul(konst(4), score)),
      call('softplus', mul(konst(30), score)),
      call('logsigmoid', mul(konst(-20), score)),
      call('exp', score),
      call('log', add(konst(2), score)),
      call('tanh', score),
      call('relu', score),
      call('step', score),
      call('sign', score),
      call('abs', score),
      call('sqrt', add(konst(3), score)),
      call2('max', score, konst(0.1)),
      call2('min', score, tensor('param', 'bu', [v(u)])),
      select(cmp('<', score, konst(0)), konst(-7), pow(add(konst(2), score), 3)),
      cmp('>=', tensor('param', 'bu', [v(u)]), tensor('param', 'bi', [v(i)])),
      div(konst(1), add(konst(5), score)),
      pow(add(konst(4), score), -0.5),
      pow(add(konst(4), score), 1.5),
    ),
    out: [u, i],
    sizes: small,
    rtol: 1e-5,
  },
  {
    name: 'free output indices with a hoisted Gramian: U (VᵀV)',
    expr: sum([l], mul(U(v(u), v(l)), sum([i], mul(V(v(i), v(l)), V(v(i), v(k)))))),
    out: [u, k],
    sizes: { users: 50, items: 1300, d: 8, nnz: 10, seed: 9 },
  },
  {
    name: 'output order differs from first use (transposed)',
    expr: mul(U(v(u), v(k)), tensor('param', 'bu', [v(u)])),
    out: [k, u],
    sizes: small,
  },
  {
    name: 'loop-invariant norm hoisted out of a score matrix (cosine)',
    expr: div(score, call('sqrt', add(konst(1e-3), sum([l], pow(U(v(u), v(l)), 2))))),
    out: [u, i],
    sizes: small,
  },
  {
    name: 'per-tuple softmax normalizer over all items (hoisted, split)',
    expr: sum([t], sub(call('log', sum([i], call('exp', dot(gather('user'), v(i))))), dot(gather('user'), gather('item')))),
    out: [],
    sizes: { users: 30, items: 1500, d: 4, nnz: 200, seed: 3 },
  },
  {
    name: 'δ between plain variables is an equality test',
    expr: sum([u], mul(eq(v(u), v(a)), tensor('param', 'bu', [v(u)]), U(v(a), v(b)))),
    out: [a, b],
    sizes: small,
  },
  {
    name: 'an inner sum rebinding an output index (shadowing)',
    expr: mul(U(v(u), v(k)), sum([k], mul(U(v(u), v(k)), V(v(i), v(k)))), V(v(i), v(k))),
    ref: mul(U(v(u), v(k)), sum([l], mul(U(v(u), v(l)), V(v(i), v(l)))), V(v(i), v(k))),
    out: [u, i, k],
    sizes: small,
  },
  {
    name: 'long closed reduction > 1024',
    expr: sum([idx('j', 'long')], pow(tensor('param', 'x_long', [v(idx('j', 'long'))]), 2)),
    out: [],
    sizes: { ...small, dims: { long: 5000 } },
  },
  {
    name: 'long closed reduction > 65,535',
    expr: sum([idx('j', 'huge')], mul(tensor('param', 'x_huge', [v(idx('j', 'huge'))]), konst(3))),
    out: [],
    sizes: { ...small, dims: { huge: 70001 } },
  },
  {
    name: 'long split-K reduction > 65,535 with a free index',
    expr: sum([idx('j', 'huge')], mul(tensor('param', 'x_huge', [v(idx('j', 'huge'))]), U(v(u), v(k)))),
    out: [u, k],
    sizes: { users: 3, items: 2, d: 2, nnz: 4, dims: { huge: 70001 } },
  },
  {
    name: 'recursive split (small chunks): reduction of reductions',
    expr: sum([idx('j', 'huge')], mul(tensor('param', 'x_huge', [v(idx('j', 'huge'))]), U(v(u), v(k)))),
    out: [u, k],
    sizes: { users: 3, items: 2, d: 2, nnz: 4, dims: { huge: 70001 } },
    opts: { chunk: 16, maxInline: 64 },
  },
  {
    name: 'two-index split (boxes over u and i)',
    expr: sum([u, i], mul(tensor('param', 'bu', [v(u)]), tensor('param', 'bi', [v(i)]))),
    out: [],
    sizes: mid,
  },
];

const executors = new Map<ExecMode, Executor>();
const exec = (m: ExecMode): Executor => {
  let e = executors.get(m);
  if (!e) executors.set(m, (e = new Executor(m, { strict: true })));
  return e;
};
afterAll(() => {
  for (const e of executors.values()) e.destroy();
});

describe.each(['js', 'webasm', 'cpu', 'wasm'] as const)('%s kernels match interp', (mode) => {
  it.each(cases.map((c) => [c.name, c] as const))('%s', (_, cs) => {
    const fx = makeFixture(cs.sizes);
    const plan = planExpr(cs.expr, cs.out, fx.spaces, fx.sizes, cs.opts);
    const want = evalTensor(cs.ref ?? cs.expr, fx.env, cs.out);
    const ex = exec(mode);
    const got = ex.run(plan, fx.env32);
    if (cs.out.length === 0) expect(typeof got).toBe('number');
    expectClose(got, cs.out.length ? want : want[0]!, cs.rtol ?? 2e-5, `${cs.name}\n${printPlan(plan)}`);
    // a second run reuses the compiled kernels and gives the same numbers
    const again = ex.run(plan, fx.env32);
    expect(again).toEqual(got);
    expect(ex.fallbacks()).toEqual([]);
  });
});

// max/min reductions (`reduce` nodes): generated gpu.js kernels (webasm and cpu) agree with the
// float64 interpreter on hand-built IR — per-output and per-tuple extrema, closed ones, a long one,
// an empty space (0 by definition), the max-shifted logsumexp where the unshifted one overflows
// float32 — and on the symbolic subgradients, planned as a group the way a training step is.
import { afterAll, describe, expect, it } from 'vitest';
import { grad } from '../../compiler/autodiff/grad.ts';
import {
  add, call, idx, konst, mul, reduce, sub, sum, tensor, v, type Expr, type Idx, type Ix,
} from '../../compiler/ir/nodes.ts';
import { evalTensor } from '../../compiler/ir/interp.ts';
import { nodes } from '../../compiler/ir/walk.ts';
import { planExpr, planGroup, printPlan } from '../../compiler/plan/plan.ts';
import { emitKernel } from '../../compiler/codegen/gpujs.ts';
import { optimize } from '../../compiler/passes/pipeline.ts';
import { Executor, type ExecMode } from '../../runtime/exec/executor.ts';
import { compileSource } from '../../compiler/compile.ts';
import { ReferenceBackend } from '../../runtime/exec/backend.ts';
import { GpuBackend } from '../../runtime/backends/backends.ts';
import { train } from '../../runtime/train/train.ts';
import { TINY_PREAMBLE, tinyDataset } from '../helpers/tiny-dataset.ts';
import { a, b, c, expectClose, gather, i, k, makeFixture, t, u, type FixtureSizes } from './fixtures.ts';

const U = (r: Ix, d: Ix): Expr => tensor('param', 'U', [r, d]);
const V = (r: Ix, d: Ix): Expr => tensor('param', 'V', [r, d]);
const dot = (x: Ix, y: Ix): Expr => sum([k], mul(U(x, v(k)), V(y, v(k))));
const small: FixtureSizes = { users: 23, items: 17, d: 5, nnz: 300 };
const j = idx('j', 'item');
const e = idx('e', 'empty');
const h = idx('h', 'huge');

/** logsumexp over items of s·f_ui, as the compiler lowers it: m + log Σ_i exp(s·f_ui − m) */
const shiftedLse = (scale: number): Expr => {
  const f = (x: Idx): Expr => mul(konst(scale), dot(gather('user'), v(x)));
  const m = reduce('max', [j], f(j));
  return add(m, call('log', sum([i], call('exp', sub(f(i), m)))));
};

interface Case {
  readonly name: string;
  readonly expr: Expr;
  readonly out: readonly Idx[];
  readonly sizes: FixtureSizes;
  readonly rtol?: number;
}

const cases: Case[] = [
  { name: 'max over items per user', expr: reduce('max', [i], dot(v(u), v(i))), out: [u], sizes: small },
  { name: 'min over items per user', expr: reduce('min', [i], dot(v(u), v(i))), out: [u], sizes: small },
  { name: 'min over d per (user, item)', expr: reduce('min', [k], mul(U(v(u), v(k)), V(v(i), v(k)))), out: [u, i], sizes: small },
  { name: 'closed max over every (user, item) pair', expr: reduce('max', [u, i], dot(v(u), v(i))), out: [], sizes: small },
  {
    name: 'per-tuple max over items inside a sum over tuples',
    expr: sum([t], sub(reduce('max', [i], dot(gather('user'), v(i))), dot(gather('user'), gather('item')))),
    out: [],
    sizes: small,
  },
  {
    name: 'max over a long space (70,001, inline loop)',
    expr: reduce('max', [h], mul(tensor('param', 'x_huge', [v(h)]), tensor('param', 'bu', [v(u)]))),
    out: [u],
    sizes: { ...small, dims: { huge: 70001 } },
  },
  { name: 'max-shifted logsumexp per tuple', expr: sum([t], shiftedLse(1)), out: [], sizes: small },
  {
    // logits up to ~300: exp overflows float32 (and float64 is fine): only the shifted form is finite
    name: 'max-shifted logsumexp with logits beyond float32 exp range',
    expr: sum([t], shiftedLse(300)),
    out: [],
    sizes: small,
  },
];

const executors = new Map<ExecMode, Executor>();
const exec = (m: ExecMode): Executor => {
  let x = executors.get(m);
  if (!x) executors.set(m, (x = new Executor(m, { strict: true })));
  return x;
};
afterAll(() => {
  for (const x of executors.values()) x.destroy();
});

describe.each(['js', 'webasm', 'cpu', 'wasm'] as const)('max/min kernels on %s match interp', (mode) => {
  it.each(cases.map((cs) => [cs.name, cs] as const))('%s', (_, cs) => {
    const fx = makeFixture(cs.sizes);
    const plan = planExpr(cs.expr, cs.out, fx.spaces, fx.sizes);
    const want = evalTensor(cs.expr, fx.env, cs.out);
    const got = exec(mode).run(plan, fx.env32);
    expectClose(got, cs.out.length ? want : want[0]!, cs.rtol ?? 2e-5, `${cs.name}\n${printPlan(plan)}`);
    expect(exec(mode).fallbacks()).toEqual([]);
  });

  it('a max over an empty space is 0, in the interpreter and in kernels', () => {
    const fx = makeFixture({ ...small, dims: { empty: 0 } });
    // (bodies that read no empty array: gpu.js refuses zero-length arguments)
    const bu = tensor('param', 'bu', [v(u)]);
    for (const [expr, out] of [
      [reduce('max', [e], tensor('hyper', 'mu', [])), []],
      [add(bu, reduce('min', [e], mul(bu, bu))), [u]],
    ] as const) {
      const want = evalTensor(expr, fx.env, out);
      if (out.length === 0) expect(want[0]).toBe(0);
      const got = exec(mode).run(planExpr(expr, out, fx.spaces, fx.sizes), fx.env32);
      expectClose(got, out.length ? want : want[0]!);
    }
  });

  it('the unshifted logsumexp overflows where the shifted one does not (why the shift)', () => {
    const fx = makeFixture(small);
    const f = (x: Idx): Expr => mul(konst(300), dot(gather('user'), v(x)));
    const plain = sum([t], call('log', sum([i], call('exp', f(i)))));
    const got = exec(mode).run(planExpr(plain, [], fx.spaces, fx.sizes), fx.env32) as number;
    expect(Number.isFinite(got)).toBe(false);
    const shifted = exec(mode).run(planExpr(sum([t], shiftedLse(300)), [], fx.spaces, fx.sizes), fx.env32) as number;
    expect(Number.isFinite(shifted)).toBe(true);
  });

  it('subgradients of a max and a min (planned as one group) match interp', () => {
    const fx = makeFixture({ users: 19, items: 13, d: 4, nnz: 60, seed: 8 });
    // worst item per observed pair, a hardest-dimension min, and a shifted logsumexp
    const objective = add(
      sum([t], sub(reduce('max', [i], dot(gather('user'), v(i))), dot(gather('user'), gather('item')))),
      mul(konst(0.5), sum([u], reduce('min', [k], mul(U(v(u), v(k)), U(v(u), v(k)))))),
      sum([t], shiftedLse(2)),
    );
    const sizeOf = (s: string): number => fx.sizes.get(s)!;
    const gu = optimize(grad(objective, 'U', [a, b]), { sizeOf, spaces: fx.spaces }).expr;
    const gv = optimize(grad(objective, 'V', [c, b]), { sizeOf, spaces: fx.spaces }).expr;
    const plan = planGroup([{ expr: objective, out: [] }, { expr: gu, out: [a, b] }, { expr: gv, out: [c, b] }], fx.spaces, fx.sizes);
    const [loss, dU, dV] = exec(mode).runGroup(plan, fx.env32);
    expectClose(loss!, evalTensor(objective, fx.env, [])[0]!);
    expectClose(dU!, evalTensor(gu, fx.env, [a, b]), 1e-4, 'dU');
    expectClose(dV!, evalTensor(gv, fx.env, [c, b]), 1e-4, 'dV');
    // not vacuous: the max terms do reach V, through one item per tuple
    expect(Array.from(dV as Float32Array).some((x) => x !== 0)).toBe(true);
  });
});

describe('max/min in plans and kernel sources', () => {
  it('a reduction is one step over its free indices, shared by the term and every gradient', () => {
    const fx = makeFixture(small);
    const objective = sum([t], shiftedLse(1));
    const sizeOf = (s: string): number => fx.sizes.get(s)!;
    const gu = optimize(grad(objective, 'U', [a, b]), { sizeOf, spaces: fx.spaces }).expr;
    const gv = optimize(grad(objective, 'V', [c, b]), { sizeOf, spaces: fx.spaces }).expr;
    // the shift's ∂m terms cancel symbolically: no argmax indicator in either gradient
    for (const g of [gu, gv]) expect(nodes(g).some((n) => n.op === 'cmp')).toBe(false);
    const plan = planGroup([{ expr: objective, out: [] }, { expr: gu, out: [a, b] }, { expr: gv, out: [c, b] }], fx.spaces, fx.sizes);
    const maxSteps = plan.steps.filter((s) => s.text.includes('max('));
    expect(maxSteps.map((s) => s.text), printPlan({ ...plan, version: 1, source: '', out: [], result: '', scalar: true })).toHaveLength(1);
  });

  it('emit only generated identifiers and finite literals', () => {
    const fx = makeFixture(small);
    const plan = planExpr(reduce('max', [i], dot(v(u), v(i))), [u], fx.spaces, fx.sizes);
    for (const s of plan.steps) {
      if (s.kind !== 'kernel') continue;
      const src = emitKernel(s, plan).source.replace(/\/\/[^\n]*/g, '');
      const words = src.match(/[A-Za-z_$][\w$]*/g) ?? [];
      const allowed = new Set(['function', 'const', 'let', 'for', 'if', 'break', 'return', 'this', 'thread', 'x', 'Math', 'max', 'min']);
      expect(words.filter((w) => !allowed.has(w) && !/^[pvijsw]\d+$/.test(w)), src).toEqual([]);
      expect(src).not.toMatch(/Infinity|NaN/);
    }
  });
});

describe('a model with max and min aggregations trains', () => {
  // the hardest of 4 sampled negatives (row-sparse gradients), a max over the batch's tuples, a min
  // over a dim, and the max-shifted sampled softmax: gpu.js follows the float64 reference step by step
  const text = `${TINY_PREAMBLE}
loss hard = mean((u, i) in likes, J ~ uniform(item) x 4: max(j in J: hinge(score(u, i), score(u, j), margin)))
loss ssm = mean((u, i) in likes, J ~ pop(item, 0.75) x 3: sampled_softmax(score(u, i), logq(i), logsumexp(j in J: corrected(score(u, j), logq(j)))))
reg peak = 0.1 * max((u, i) in likes: score(u, i)^2)
reg low = 0.1 * mean(u in user: -min(f in d: U[u, f]))
train { optimizer adam(lr = 0.05) steps 8 batch 6 seed 3 }
`;
  it.each(['js', 'webasm', 'cpu', 'wasm'] as const)('on %s, as on the reference backend', (mode) => {
    const r = compileSource('/tmp/max-min.recmodel', text);
    expect(r.diagnostics.map((d) => d.code)).toEqual([]);
    // V's gradient is row-sparse: the argmax indicator is evaluated at the touched rows too
    expect(r.compiled!.grads.find((g) => g.param === 'V')?.rows).toBeDefined();
    // 20 tuples in batches of 6: every fourth batch has 2, so kernels of the same source run at two output sizes
    const ds = tinyDataset({ users: 5, items: 7, tuples: 20, seed: 11, skew: 1 });
    const ref = train(r.compiled!, ds, { backend: new ReferenceBackend() });
    const gpu = new GpuBackend(mode, r.compiled!.module.spaces);
    const got = train(r.compiled!, ds, { backend: gpu });
    expect(gpu.fallbacks()).toEqual([]);
    gpu.dispose();
    expect(got.diverged).toBeUndefined();
    expect(got.log.length).toBe(8);
    got.log.forEach((s, q) => {
      const want = ref.log[q]!;
      for (const [name, x] of Object.entries(s.terms)) {
        expect(Math.abs(x - want.terms[name]!), `step ${s.step} term ${name}: ${x} vs ${want.terms[name]}`).toBeLessThan(1e-4 * Math.max(1, Math.abs(want.terms[name]!)));
      }
    });
    // (not asserted to fall: each step draws other negatives for another mini-batch)
    got.log.forEach((s) => expect(Number.isFinite(s.total)).toBe(true));
  });
});

// The executor's caches and checks: CSR indexes built by counting sort and keyed by the identity
// of the id array (a new mini-batch gets a new index), kernels compiled once, the backend that
// really ran recorded, plans refused for envs of other sizes.
import { describe, expect, it } from 'vitest';
import { eq, konst, mul, sub, sum, tensor, v, type Expr, type Ix } from '../../compiler/ir/nodes.ts';
import { evalTensor } from '../../compiler/ir/interp.ts';
import { planExpr, planGroup } from '../../compiler/plan/plan.ts';
import { buildCsr, Executor } from '../../runtime/exec/executor.ts';
import { a, b, c, expectClose, gather, k, makeFixture, rng, t } from './fixtures.ts';

const U = (r: Ix, d: Ix): Expr => tensor('param', 'U', [r, d]);
const V = (r: Ix, d: Ix): Expr => tensor('param', 'V', [r, d]);
const resid = sub(sum([k], mul(U(gather('user'), v(k)), V(gather('item'), v(k)))), tensor('data', 'ratings.rating', [v(t)]));
const gradU = sum([t], mul(konst(2), eq(gather('user'), v(a)), resid, V(gather('item'), v(b))));

describe('buildCsr', () => {
  it('groups tuples by id, stably, and reports the longest segment', () => {
    const c = buildCsr(Int32Array.of(2, 0, 2, 1, 2), 4);
    expect(Array.from(c.offsets)).toEqual([0, 1, 2, 5, 5]);
    expect(Array.from(c.perm)).toEqual([1, 3, 0, 2, 4]);
    expect(c.maxSeg).toBe(3);
  });
  it('rejects an id outside the domain', () => {
    expect(() => buildCsr([0, 4], 4, 'ratings.user')).toThrow(/ratings\.user\[1\] = 4/);
  });
});

describe.each(['js', 'webasm', 'cpu', 'wasm'] as const)('Executor on %s', (mode) => {
  it('rebuilds the CSR index when a mini-batch brings a new id array, reusing kernels', () => {
    const fx = makeFixture({ users: 31, items: 19, d: 4, nnz: 200, seed: 21 });
    const plan = planExpr(gradU, [a, b], fx.spaces, fx.sizes);
    const ex = new Executor(mode, { strict: true });
    ex.compile(plan);
    const first = ex.run(plan, fx.env32);
    expectClose(first, evalTensor(gradU, fx.env, [a, b]));
    // a new batch: same size, other tuples
    const r = rng(99);
    const ids = new Map(fx.env.ids);
    ids.set('ratings.user', Int32Array.from({ length: 200 }, () => Math.floor(31 * r())));
    const env2 = { ...fx.env, ids };
    const second = ex.run(plan, { ...fx.env32, ids });
    expectClose(second, evalTensor(gradU, env2, [a, b]));
    expect(second).not.toEqual(first);
    const kernels = ex.report();
    expect(kernels.every((x) => x.backend === { js: 'JsKernel', webasm: 'WebAssemblyKernel', cpu: 'CPUKernel', wasm: 'WasmKernel' }[mode])).toBe(true);
    // one kernel per step unless the CSR bound (a power of two) changed between the batches
    expect(kernels.length).toBeLessThanOrEqual(plan.steps.filter((x) => x.kind === 'kernel').length + 1);
    expect(ex.fallbacks()).toEqual([]);
    ex.destroy();
  });

  it('runs a group plan: each result equals the interpreter, shared temps computed once', () => {
    const fx = makeFixture({ users: 37, items: 23, d: 4, nnz: 300, seed: 5 });
    const gradV = sum([t], mul(konst(2), eq(gather('item'), v(c)), resid, U(gather('user'), v(b))));
    const loss = sum([t], mul(resid, resid));
    const plan = planGroup([{ expr: loss, out: [] }, { expr: gradU, out: [a, b] }, { expr: gradV, out: [c, b] }], fx.spaces, fx.sizes);
    // the residual is one natural-order step that the loss and both CSR orders read
    expect(plan.steps.filter((s) => s.text.includes('sum(k in d:'))).toHaveLength(1);
    const ex = new Executor(mode, { strict: true });
    const [l, gu, gv] = ex.runGroup(plan, fx.env32);
    expectClose(l!, evalTensor(loss, fx.env, [])[0]!);
    expectClose(gu!, evalTensor(gradU, fx.env, [a, b]));
    expectClose(gv!, evalTensor(gradV, fx.env, [c, b]));
    expect(ex.fallbacks()).toEqual([]);
    ex.destroy();
  });

  it('refuses an env whose sizes differ from the plan', () => {
    const fx = makeFixture({ users: 5, items: 4, d: 2, nnz: 10 });
    const plan = planExpr(gradU, [a, b], fx.spaces, fx.sizes);
    const ex = new Executor(mode);
    expect(() => ex.run(plan, { ...fx.env32, sizes: new Map([...fx.sizes, ['ratings', 11]]) })).toThrow(/plan again/);
    ex.destroy();
  });
});

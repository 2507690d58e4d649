// The planner's decisions, as data: LICM hoisting, split-K and closed chunked sums, CSR walks,
// common subexpressions computed once, a JSON-serialisable plan with costs.
import { describe, expect, it } from 'vitest';
import { add, eq, konst, mul, pow, sub, sum, tensor, v, type Expr, type Ix } from '../../compiler/ir/nodes.ts';
import { planExpr, printPlan } from '../../compiler/codegen/plan.ts';
import { a, b, gather, i, k, l, makeFixture, t, u } from './fixtures.ts';

const U = (r: Ix, d: Ix): Expr => tensor('param', 'U', [r, d]);
const V = (r: Ix, d: Ix): Expr => tensor('param', 'V', [r, d]);
const rating = tensor('data', 'ratings.rating', [v(t)]);
const gramU = sum([u], mul(U(v(u), v(k)), U(v(u), v(l))));
const gramV = sum([i], mul(V(v(i), v(k)), V(v(i), v(l))));
const resid = sub(sum([k], mul(U(gather('user'), v(k)), V(gather('item'), v(k)))), rating);
const ml1m = makeFixture({ users: 6040, items: 3706, d: 32, nnz: 10, seed: 1 });
const sizes = new Map([...ml1m.sizes, ['ratings', 1_000_209]]);

describe('planExpr', () => {
  it('hoists the two Gramians into d×d steps (split-K over 6040 users) and keeps a small final step', () => {
    const p = planExpr(sum([k, l], mul(gramU, gramV)), [], ml1m.spaces, sizes);
    const text = printPlan(p);
    const finals = p.steps.filter((s) => s.out.map((x) => x.name).join(',') === 'k,l');
    expect(finals.map((s) => s.text), text).toEqual(['sum(c in #t1: t1[k,l,c])', 'sum(c in #t3: t3[k,l,c])']);
    expect(p.steps[0]!.split?.dims.map((d) => [d.idx.name, d.chunk, d.chunks])).toEqual([['u', 256, 24]]);
    const last = p.steps[p.steps.length - 1]!;
    expect(last.text).toBe('sum(k in d, l in d: t2[k,l]*t4[k,l])');
    expect(last.cells).toBe(1);
    expect(p.scalar).toBe(true);
    expect(JSON.parse(JSON.stringify(p)).steps.length).toBe(p.steps.length);
  });

  it('computes a closed loss as chunked partial sums added on the host, the dot product inline', () => {
    const p = planExpr(sum([t], pow(resid, 2)), [], ml1m.spaces, sizes);
    expect(p.steps.map((s) => s.kind)).toEqual(['kernel', 'host-sum']);
    expect(p.steps[0]!.cells).toBe(Math.ceil(1_000_209 / 256));
    expect(p.steps[0]!.text).toContain('sum(k in d:');
    expect(p.steps[1]!.of).toBe(p.steps[0]!.name);
  });

  it('walks the gradient through a CSR index and hoists the per-tuple residual sum', () => {
    const grad = sum([t], mul(konst(2), eq(gather('user'), v(a)), resid, V(gather('item'), v(b))));
    const p = planExpr(grad, [a, b], ml1m.spaces, sizes);
    expect(p.steps).toHaveLength(2);
    const [e, g] = p.steps;
    expect(e!.out.map((x) => x.name)).toEqual(['t']);
    expect(e!.csr).toEqual([]);
    expect(g!.csr).toEqual([{ rel: 'ratings', col: 'user', domain: 'user' }]);
    expect(g!.args.map((x) => x.kind).sort()).toEqual(['csr-offsets', 'csr-perm', 'data', 'ids', 'param', 'temp'].map((x) => (x === 'data' || x === 'param' ? 'tensor' : x)).sort());
    // about |ratings|·d multiply-adds, not |user|·|ratings|
    expect(g!.cost.flops).toBeLessThan(1e9);
    expect(p.cost.flops).toBeGreaterThan(0);
  });

  it('computes a common subexpression once', () => {
    const e = add(sum([k, l], mul(gramU, gramV)), sum([k, l], pow(gramU, 2)));
    const p = planExpr(e, [], ml1m.spaces, sizes);
    const gramSteps = p.steps.filter((s) => s.text.startsWith('sum(u in user'));
    expect(gramSteps).toHaveLength(1);
    expect(p.steps[p.steps.length - 1]!.kind).toBe('host-eval');
  });

  it('hoists a sum that misses an enclosing index (LICM), keeps one that uses all inline', () => {
    const norm = sum([l], pow(U(v(u), v(l)), 2));
    const cos = mul(sum([k], mul(U(v(u), v(k)), V(v(i), v(k)))), pow(norm, -0.5));
    const p = planExpr(cos, [u, i], ml1m.spaces, sizes);
    expect(p.steps).toHaveLength(2);
    expect(p.steps[0]!.out.map((x) => x.name)).toEqual(['u']);
    expect(p.steps[1]!.text).toContain('sum(k in d');
  });

  it('rejects an expression whose free index is not an output', () => {
    expect(() => planExpr(U(v(u), v(k)), [u], ml1m.spaces, sizes)).toThrow(/not an output/);
  });
});

// The planner's decisions, as data: LICM hoisting, split-K and closed chunked sums, CSR walks,
// common subexpressions computed once, a JSON-serialisable plan with costs.
import { describe, expect, it } from 'vitest';
import { add, eq, konst, mul, pow, sub, sum, tensor, v, type Expr, type Ix } from '../../compiler/ir/nodes.ts';
import { planExpr, planGroup, printPlan } from '../../compiler/plan/plan.ts';
import { a, b, gather, i, k, l, makeFixture, t, u } from './fixtures.ts';
import { idx } from '../../compiler/ir/nodes.ts';

const a2 = idx('a2', 'item');

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

  it('walks the gradient through a CSR index, reading the per-tuple residual in CSR order', () => {
    const grad = sum([t], mul(konst(2), eq(gather('user'), v(a)), resid, V(gather('item'), v(b))));
    const p = planExpr(grad, [a, b], ml1m.spaces, sizes);
    expect(p.steps, printPlan(p)).toHaveLength(3);
    const [e, o, g] = p.steps;
    // the residual with its constant, once per tuple, in natural order
    expect(e!.out.map((x) => x.name)).toEqual(['t']);
    expect(e!.csr).toEqual([]);
    expect(e!.text).toContain('sum(k in d:');
    // copied into the CSR order of ratings by user
    expect(o!.order).toEqual({ rel: 'ratings', col: 'user', domain: 'user' });
    expect(o!.text).toBe(`${e!.name}[t]`);
    expect(g!.csr).toEqual([{ rel: 'ratings', col: 'user', domain: 'user' }]);
    // the walk reads the ordered residual and item ids in CSR order; no natural-order id column
    expect(g!.args.map((x) => x.kind).sort()).toEqual(['csr-ids', 'csr-offsets', 'csr-perm', 'temp', 'tensor']);
    expect(g!.text).toContain(`*${o!.name}[t]`);
    expect(g!.text).not.toContain('ratings.rating');
    // about |ratings|·d multiply-adds, not |user|·|ratings|
    expect(g!.cost.flops).toBeLessThan(1e9);
    expect(p.cost.flops).toBeGreaterThan(0);
  });

  it('computes an elementwise per-tuple factor directly in CSR order (no natural-order step)', () => {
    const grad = sum([t], mul(konst(-2), eq(gather('item'), v(a)), rating, U(gather('user'), v(b))));
    const p = planExpr(grad, [a, b], ml1m.spaces, sizes);
    expect(p.steps.map((s) => [s.text, s.order?.col])).toEqual([
      ['(-2)*ratings.rating[t]', 'item'],
      [expect.stringContaining('sum(t in ratings:'), undefined],
    ]);
  });

  it('keeps a sum inline when hoisting it would make a temp too large for float32 indexing', () => {
    const big = makeFixture({ users: 6040, items: 3706, d: 4, nnz: 10, seed: 1 });
    // Σ_i (U_a·V_i) V_ib: LICM would make an |user|×|item| temp of 22.4M cells
    const g = sum([i], mul(sum([k], mul(U(v(a), v(k)), V(v(i), v(k)))), V(v(i), v(b))));
    const p = planExpr(g, [a, b], big.spaces, big.sizes);
    expect(p.steps.every((s) => s.cells <= 2 ** 24), printPlan(p)).toBe(true);
  });

  it('plans a group: the shared per-tuple residual and Gramians are computed once for all', () => {
    const loss = sum([t], pow(resid, 2));
    const gU = sum([t], mul(konst(2), eq(gather('user'), v(a)), resid, V(gather('item'), v(b))));
    const gV = sum([t], mul(konst(2), eq(gather('item'), v(a2)), resid, U(gather('user'), v(b))));
    const gram = sum([k, l], mul(gramU, gramV));
    const g = planGroup([{ expr: loss, out: [] }, { expr: gU, out: [a, b] }, { expr: gV, out: [a2, b] }, { expr: gram, out: [] }, { expr: gram, out: [] }], ml1m.spaces, sizes);
    const text = g.steps.map((s) => `${s.name} = ${s.text}`).join('\n');
    // one step evaluates the residual (with its dot product) over the tuples; everyone reads it
    expect(g.steps.filter((s) => s.text.includes('sum(k in d:')), text).toHaveLength(1);
    expect(g.steps.filter((s) => s.text.startsWith('sum(u in user')), text).toHaveLength(1);
    expect(g.steps.filter((s) => s.order).map((s) => s.order!.col).sort(), text).toEqual(['item', 'user']);
    expect(g.results).toHaveLength(5);
    expect(g.results[3]!.result).not.toBe(g.results[4]!.result);
    // single plans agree with the group on the step count they would need on their own
    expect(planExpr(loss, [], ml1m.spaces, sizes).steps.length + planExpr(gU, [a, b], ml1m.spaces, sizes).steps.length).toBeGreaterThan(0);
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

describe('planGroup: a sum one expression holds as a temp is read by the others', () => {
  it("sampled softmax: the normalizer Σ_j exp(…) of the term is read by the gradients' sigmoids, not recomputed", async () => {
    const { readFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { compileSource } = await import('../../compiler/compile.ts');
    const { batchKey, totalKey } = await import('../../compiler/ir/spaces.ts');
    const { repoRoot } = await import('../../runtime/data/data-paths.ts');
    const file = join(repoRoot(), 'examples', 'sampled-softmax.recmodel');
    const rel = (n: string, x: number): [string, number][] => [[n, x], [batchKey(n), x], [totalKey(n), x]];
    const given = new Map<string, number>([['user', 943], ['item', 1682], ...rel('likes', 1024), ...rel('ratings', 100_000), ...rel('J~', 50)]);
    const c = compileSource(file, readFileSync(file, 'utf8'), { sizes: given }).compiled!;
    const all = new Map([...c.sizes, ...rel('U#rows', 640), ...rel('V#rows', 800)]);
    const g = planGroup([...c.terms.map((x) => ({ expr: x.expr, out: [] })), ...c.grads.map((x) => ({ expr: x.rows!.expr, out: x.rows!.out }))], c.module.spaces, all);
    const text = printPlan({ ...g, source: '', out: [], result: '', scalar: false });
    // Σ_{s ∈ J} exp(score − log Q − max) over the batch's tuples: one step computes it
    const normalizers = g.steps.filter((s) => /^sum\(s in J~: exp\(/.test(s.text));
    expect(normalizers.length, text).toBe(1);
    expect(g.steps.filter((s) => s.text.includes('sum(s in J~: exp(')).length, text).toBe(1);
    expect(g.steps.filter((s) => s.text.includes(`log(${normalizers[0]!.name}[`)).length, text).toBeGreaterThanOrEqual(2);
  });
});

describe('planGroup: sums over one relation added together are one pass', () => {
  const gU = (d: Ix): Expr => U(gather('user'), d);
  const gV = (d: Ix): Expr => V(gather('item'), d);
  const w = tensor('hyper', 'w', []);
  // ∂h-like: w·Σ_t U[u_t,k]·V[i_t,k]·r_t + 3·Σ_t U[u_t,k]·V[i_t,k] (two gathers of the same rows)
  const two = add(mul(w, sum([t], mul(gU(v(k)), gV(v(k)), rating))), mul(konst(3), sum([t], mul(gU(v(k)), gV(v(k))))));

  it('Σ_t a + Σ_t b walks the tuples once, the shared factors outside the per-tuple add', () => {
    const g = planGroup([{ expr: two, out: [k] }], ml1m.spaces, sizes);
    const walks = g.steps.filter((s) => s.kind === 'kernel' && s.text.includes('sum(t in ratings:'));
    expect(walks.map((s) => s.text), printPlan({ ...g, source: '', out: [], result: '', scalar: false })).toHaveLength(1);
    expect(walks[0]!.text).toMatch(/U\[ratings\.user\[t\],k\]\*V\[ratings\.item\[t\],k\]\*\(/);
  });

  it('keeps CSR walks (a δ in the body) apart', () => {
    const walk = (x: Expr): Expr => sum([t], mul(x, gV(v(k)), eq(v(a), gather('user'))));
    const g = planGroup([{ expr: add(walk(rating), mul(konst(2), walk(konst(1)))), out: [a, k] }], ml1m.spaces, sizes);
    const walks = g.steps.filter((s) => s.csr.length > 0 && !s.order);
    expect(walks).toHaveLength(1);
    expect(walks[0]!.text.match(/sum\(t in ratings: /g)).toHaveLength(2);
  });
});

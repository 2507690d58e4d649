// Property: for random small sizes and values, every rewritten term (and every rewritten gradient)
// equals the term as written, evaluated naively by the float64 reference interpreter (≤ 1e-9).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { grad } from '../../compiler/autodiff/grad.ts';
import { evalScalar, evalTensor } from '../../compiler/ir/interp.ts';
import {
  add, div, freeIdx, idx, konst, mul, pow, size, sub, sum, tensor, v, type Expr, type Idx,
} from '../../compiler/ir/nodes.ts';
import { nodes } from '../../compiler/ir/walk.ts';
import { cost } from '../../compiler/passes/cost.ts';
import { optimize } from '../../compiler/passes/pipeline.ts';
import { maxRelErr, randomEnv, relErr } from '../helpers/ir-env.ts';

const u = idx('u', 'user');
const i = idx('i', 'item');
const k = idx('k', 'd');
const t = idx('t', 'ratings');
const P = (name: string, ...ix: Idx[]): Expr => tensor('param', name, ix.map(v));
const dot = (a: Idx, b: Idx): Expr => sum([k], mul(P('U', a, k), P('V', b, k)));
const dotH = (a: Idx, b: Idx): Expr => sum([k], mul(P('U', a, k), P('V', b, k), P('h', k)));
const gather = (col: string, domain: string) => ({ kind: 'gather' as const, rel: 'ratings', col, domain, t });
const obsScore = add(
  sum([k], mul(tensor('param', 'U', [gather('user', 'user'), v(k)]), tensor('param', 'V', [gather('item', 'item'), v(k)]))),
  tensor('param', 'bu', [gather('user', 'user')]),
);

const allPairs = (body: Expr): Expr => sum([u, i], body);
const variants: Record<string, Expr> = {
  'Σ (U·V)²': allPairs(pow(dot(u, i), 2)),
  'Σ (U·V + bu + bi)²': allPairs(pow(add(dot(u, i), P('bu', u), P('bi', i)), 2)),
  'Σ (U·V + bu + bi + mu)²': allPairs(pow(add(dot(u, i), P('bu', u), P('bi', i), P('mu')), 2)),
  'Σ (Σ_k U V h)²': allPairs(pow(dotH(u, i), 2)),
  '3 · Σ (U·V)²': mul(konst(3), allPairs(pow(dot(u, i), 2))),
  'w · mean (U·V)²': mul(tensor('hyper', 'w', []), div(allPairs(pow(dot(u, i), 2)), mul(size('user'), size('item')))),
  'Σ (2·U·V − bu)² (scaled inside)': allPairs(pow(sub(mul(konst(2), dot(u, i)), P('bu', u)), 2)),
  'Σ_obs (r − U·V − bu)²': sum([t], pow(sub(tensor('data', 'ratings.rating', [v(t)]), obsScore), 2)),
  'Σ (U·V)² + Σ_obs (r − s)²': add(allPairs(pow(dot(u, i), 2)), sum([t], pow(sub(tensor('data', 'ratings.rating', [v(t)]), obsScore), 2))),
  'sum(U²)/|user|': div(sum([u, k], pow(P('U', u, k), 2)), size('user')),
};

const spec = (nu: number, ni: number, nd: number, nt: number) => ({
  sizes: { user: nu, item: ni, d: nd, ratings: nt },
  tensors: { U: ['user', 'd'], V: ['item', 'd'], bu: ['user'], bi: ['item'], mu: [], h: ['d'], w: [] },
  relations: { ratings: { ids: { user: 'user', item: 'item' }, values: ['rating'] } },
});

const hints = (s: string): number => ({ user: 6040, item: 3706, d: 64, ratings: 1_000_209 } as Record<string, number>)[s] ?? 1000;

const sizesArb = fc.record({
  nu: fc.integer({ min: 1, max: 6 }),
  ni: fc.integer({ min: 1, max: 6 }),
  nd: fc.integer({ min: 1, max: 4 }),
  nt: fc.integer({ min: 1, max: 12 }),
  seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
});

/** True when some sum iterates over users and items at once (an all-pairs loop survived). */
function hasAllPairsLoop(e: Expr): boolean {
  return nodes(e).some((n) => {
    if (n.op !== 'sum') return false;
    const spaces = new Set([...n.over, ...freeIdx(n).values()].map((x) => x.space));
    return spaces.has('user') && spaces.has('item');
  });
}

describe('expand+contract preserves values', () => {
  for (const [name, e] of Object.entries(variants)) {
    it(name, () => {
      const o = optimize(e, { sizeOf: hints });
      if (name.startsWith('Σ (') || name.startsWith('3') || name.startsWith('w')) {
        expect(hasAllPairsLoop(o.expr), `all-pairs loop left in ${name}`).toBe(false);
        expect(cost(o.expr, hints).flops).toBeLessThan(cost(e, hints).flops / 10);
      }
      fc.assert(
        fc.property(sizesArb, ({ nu, ni, nd, nt, seed }) => {
          const env = randomEnv(spec(nu, ni, nd, nt), seed);
          expect(relErr(evalScalar(e, env), evalScalar(o.expr, env))).toBeLessThanOrEqual(1e-9);
        }),
        { numRuns: 60 },
      );
    });
  }
});

describe('rewritten gradients equal naive gradients', () => {
  const params: Record<string, readonly string[]> = { U: ['user', 'd'], V: ['item', 'd'], bu: ['user'], bi: ['item'], h: ['d'], mu: [] };
  for (const [name, e] of Object.entries(variants)) {
    it(name, () => {
      for (const [p, shape] of Object.entries(params)) {
        const out = shape.map((s, j) => idx(`o${j}`, s));
        const g = grad(e, p, out);
        const o = optimize(g, { sizeOf: hints });
        if (hasAllPairsLoop(e) && !name.includes('obs')) expect(hasAllPairsLoop(o.expr), `${p}: all-pairs loop left`).toBe(false);
        fc.assert(
          fc.property(sizesArb, ({ nu, ni, nd, nt, seed }) => {
            const env = randomEnv(spec(nu, ni, nd, nt), seed);
            expect(maxRelErr(evalTensor(g, env, out), evalTensor(o.expr, env, out))).toBeLessThanOrEqual(1e-9);
          }),
          { numRuns: 25 },
        );
      }
    });
  }
});

describe('the Gramian gradient is 2·U·(VᵀV)', () => {
  it('costs O((|U|+|I|)d²) at the ML-1M shape and reads U[a,·] against a d×d Gramian', () => {
    const a = idx('a', 'user');
    const b = idx('b', 'd');
    const o = optimize(grad(allPairs(pow(dot(u, i), 2)), 'U', [a, b]), { sizeOf: hints });
    const flops = cost(o.expr, hints).flops;
    expect(flops).toBeLessThan(4 * (6040 + 3706) * 64 * 64);
    // the only sum over items is a d×d Gramian: free indices are two d's
    const itemSums = nodes(o.expr).filter((n) => n.op === 'sum' && n.over.some((x) => x.space === 'item'));
    expect(itemSums.length).toBeGreaterThan(0);
    for (const s of itemSums) expect([...freeIdx(s).values()].map((x) => x.space)).toEqual(['d', 'd']);
  });
});

describe('the interpreter scopes indices', () => {
  it('an inner sum that rebinds an outer index name leaves the outer binding intact', () => {
    // U[u,k] · Σ_k V[i,k] · V[i,k] with the outer k free: the outer read must see the outer k
    const env = randomEnv(spec(2, 2, 3, 1), 5);
    const inner = sum([k], mul(P('V', i, k), P('V', i, k)));
    const shadowed = mul(P('U', u, k), inner, P('V', i, k));
    const k2 = idx('k2', 'd');
    const renamed = mul(P('U', u, k), sum([k2], mul(P('V', i, k2), P('V', i, k2))), P('V', i, k));
    expect(maxRelErr(evalTensor(shadowed, env, [u, i, k]), evalTensor(renamed, env, [u, i, k]))).toBe(0);
  });
});

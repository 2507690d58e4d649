// Property: split-default + contraction equals the naive whole-data loss (every user×item pair,
// label and confidence defined by membership) and its gradients, on random small models — with
// `h` weights and per-item negative weights — in float64, relative error ≤ 1e-9.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { grad } from '../../compiler/autodiff/grad.ts';
import { evalScalar, evalTensor } from '../../compiler/ir/interp.ts';
import type { Space } from '../../compiler/ir/module.ts';
import {
  cmp, eq, freeIdx, idx, konst, mul, pow, select, sub, sum, tensor, v, type Expr, type Idx,
} from '../../compiler/ir/nodes.ts';
import { nodes } from '../../compiler/ir/walk.ts';
import { cost } from '../../compiler/passes/cost.ts';
import { optimize } from '../../compiler/passes/pipeline.ts';
import { simplify } from '../../compiler/passes/simplify.ts';
import { maxRelErr, randomEnv, relErr } from '../helpers/ir-env.ts';

const u = idx('u', 'user');
const i = idx('i', 'item');
const k = idx('k', 'd');
const m = idx("likes'm", 'likes');
const P = (name: string, ...ix: Idx[]): Expr => tensor('param', name, ix.map(v));
const member = (a: Idx, b: Idx): Expr =>
  sum([m], mul(eq({ kind: 'gather', rel: 'likes', col: 'user', domain: 'user', t: m }, v(a)), eq({ kind: 'gather', rel: 'likes', col: 'item', domain: 'item', t: m }, v(b))));
const isLiked = (a: Idx, b: Idx): Expr => cmp('!=', member(a, b), konst(0));
const score = sum([k], mul(P('P', u, k), P('Q', i, k), P('h', k)));
const y = select(isLiked(u, i), konst(1), konst(0));
const cPos = tensor('hyper', 'c_pos', []);
const cNeg = tensor('hyper', 'c_neg', []);

const spaces: ReadonlyMap<string, Space> = new Map<string, Space>([
  ['user', { kind: 'domain', name: 'user' }],
  ['item', { kind: 'domain', name: 'item' }],
  ['d', { kind: 'dim', name: 'd', size: 3 }],
  ['likes', { kind: 'relation', name: 'likes', columns: new Map([['user', 'user'], ['item', 'item']]) }],
]);

const variants: Record<string, Expr> = {
  'ENMF: c(u,i)·(y − s)², constant c_neg': sum([u, i], mul(select(isLiked(u, i), cPos, cNeg), pow(sub(y, score), 2))),
  'eALS: per-item negative weight w[i]': sum([u, i], mul(select(isLiked(u, i), cPos, mul(cNeg, P('w', i))), pow(sub(y, score), 2))),
  'membership as a 0/1 factor': sum([u, i], pow(sub(mul(konst(2), y), score), 2)),
};

const hints = (s: string): number => ({ user: 6040, item: 3706, d: 64, likes: 500_000 } as Record<string, number>)[s] ?? 1000;
const params: Record<string, readonly string[]> = { P: ['user', 'd'], Q: ['item', 'd'], h: ['d'], w: ['item'] };

function envFor(nu: number, ni: number, nl: number, seed: number) {
  const env = randomEnv(
    {
      sizes: { user: nu, item: ni, d: 3, likes: Math.min(nl, nu * ni) },
      tensors: { ...params, c_pos: [], c_neg: [] },
      relations: { likes: { ids: { user: 'user', item: 'item' }, distinct: true } },
    },
    seed,
  );
  return env;
}

const arb = fc.record({
  nu: fc.integer({ min: 1, max: 5 }),
  ni: fc.integer({ min: 1, max: 5 }),
  nl: fc.integer({ min: 1, max: 10 }),
  seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
});

/** An all-pairs loop that also tests membership: what split-default must remove. */
function allPairsWithMembership(e: Expr): boolean {
  return nodes(e).some((n) => {
    if (n.op !== 'sum') return false;
    const sp = new Set([...n.over, ...freeIdx(n).values()].map((x) => x.space));
    return sp.has('user') && sp.has('item');
  });
}

describe('split-default + contraction preserve the whole-data loss', () => {
  for (const [name, e] of Object.entries(variants)) {
    it(name, () => {
      const o = optimize(e, { sizeOf: hints, spaces });
      expect(o.steps.map((s) => s.rule)).toContain('split-default');
      expect(allPairsWithMembership(o.expr)).toBe(false);
      expect(cost(o.expr, hints).flops).toBeLessThan(cost(e, hints).flops / 10);
      fc.assert(
        fc.property(arb, ({ nu, ni, nl, seed }) => {
          const env = envFor(nu, ni, nl, seed);
          expect(relErr(evalScalar(e, env), evalScalar(o.expr, env))).toBeLessThanOrEqual(1e-9);
        }),
        { numRuns: 60 },
      );
    });
  }
});

describe('and its gradients', () => {
  for (const [name, e] of Object.entries(variants)) {
    it(name, () => {
      for (const [p, shape] of Object.entries(params)) {
        const out = shape.map((s, j) => idx(`o${j}`, s));
        const g = simplify(grad(e, p, out));
        const o = optimize(g, { sizeOf: hints, spaces });
        if (p !== 'w') expect(allPairsWithMembership(o.expr), `∂/∂${p}`).toBe(false);
        // no |user|×d×d or |item|×d×d intermediate (the published ENMF code materializes one)
        for (const n of nodes(o.expr)) {
          if (n.op !== 'sum') continue;
          const free = [...freeIdx(n).values()].map((x) => x.space);
          expect(free.filter((s) => s === 'd').length >= 2 && free.some((s) => s === 'user' || s === 'item'), `∂/∂${p}: ${free}`).toBe(false);
        }
        fc.assert(
          fc.property(arb, ({ nu, ni, nl, seed }) => {
            const env = envFor(nu, ni, nl, seed);
            expect(maxRelErr(evalTensor(g, env, out), evalTensor(o.expr, env, out))).toBeLessThanOrEqual(1e-9);
          }),
          { numRuns: 25 },
        );
      }
    });
  }
});

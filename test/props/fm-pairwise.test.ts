// Property: the FM pair sum over distinct non-zeros of each sparse row (as `j < l in x` lowers it)
// equals its rewritten O(k·nnz) form ½Σ_f((Σ_j V_jf x_j)² − Σ_j V_jf² x_j²), for the loss and the
// gradients, on random sparse rows (float64). The identity subtracts Σ_j a_j² from (Σ_j a_j)², so
// the rewritten form cancels by construction: it is held to 1e-6 relative, not 1e-9 (float64
// cancellation grows with (Σ|a|)² / |result| on rows whose pairs nearly cancel).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { grad } from '../../compiler/autodiff/grad.ts';
import { evalScalar, evalTensor } from '../../compiler/ir/interp.ts';
import { entriesSpace, type Space } from '../../compiler/ir/spaces.ts';
import { add, call, cmp, eq, idx, mul, neg, ord, sum, tensor, v, type Expr, type Idx, type Ix } from '../../compiler/ir/nodes.ts';
import { nodes } from '../../compiler/ir/walk.ts';
import { cost } from '../../compiler/passes/cost.ts';
import { optimize } from '../../compiler/passes/pipeline.ts';
import { rewritePairs } from '../../compiler/passes/fm-pairwise.ts';
import { simplify } from '../../compiler/passes/simplify.ts';
import { maxRelErr, randomEnv, relErr } from '../helpers/ir-env.ts';

const E = 'clicks~x';
const t = idx('t', 'clicks');
const n1 = idx('n1', E);
const n2 = idx('n2', E);
const n = idx('n', E);
const k = idx('k', 'k');
const feat = (m: Idx): Ix => ({ kind: 'gather', rel: E, col: 'feat', domain: 'feature', t: m });
const row = (m: Idx): Expr => eq({ kind: 'gather', rel: E, col: 'row', domain: 'clicks', t: m }, v(t));
const val = (m: Idx): Expr => tensor('data', `${E}.val`, [v(m)]);
const pos = (m: Idx): Expr => ord(v(m));
const V = (m: Idx): Expr => tensor('param', 'V', [feat(m), v(k)]);

const pairs = sum([n1, n2], mul(row(n1), row(n2), cmp('<', pos(n1), pos(n2)), sum([k], mul(V(n1), V(n2))), val(n1), val(n2)));
const linear = sum([n], mul(row(n), tensor('param', 'w', [feat(n)]), val(n)));
const yhat = add(tensor('param', 'w0', []), linear, pairs);
const label = tensor('data', 'clicks.label', [v(t)]);
const cases: Record<string, Expr> = {
  'Σ_rows pair sum': sum([t], pairs),
  'FM logistic loss': sum([t], call('softplus', mul(neg(label), yhat))),
  'FM squared loss': sum([t], mul(add(label, neg(yhat)), add(label, neg(yhat)))),
};

const spaces = new Map<string, Space>([
  ['feature', { kind: 'domain', name: 'feature' }],
  ['k', { kind: 'dim', name: 'k', size: 3 }],
  ['clicks', { kind: 'relation', name: 'clicks', columns: new Map([['label', 'float']]) }],
  [E, entriesSpace('clicks', 'x', 'feature')],
]);
const hints = (s: string): number => ({ feature: 10_000, k: 8, clicks: 100_000, [E]: 1_000_000 } as Record<string, number>)[s] ?? 1000;

function envFor(rows: number, nnz: number, nf: number, seed: number) {
  const env = randomEnv(
    {
      sizes: { feature: nf, k: 3, clicks: rows, [E]: nnz },
      tensors: { V: ['feature', 'k'], w: ['feature'], w0: [] },
      relations: { clicks: { ids: {}, values: ['label'] }, [E]: { ids: { row: 'clicks', feat: 'feature' }, values: ['val'] } },
    },
    seed,
  );
  return env;
}

const arb = fc.record({
  rows: fc.integer({ min: 1, max: 4 }),
  nnz: fc.integer({ min: 1, max: 12 }),
  nf: fc.integer({ min: 1, max: 6 }),
  seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
});

const pairLoop = (e: Expr): boolean => nodes(e).some((x) => x.op === 'cmp');

describe('fm-pairwise', () => {
  for (const [name, e] of Object.entries(cases)) {
    it(name, () => {
      const o = optimize(e, { sizeOf: hints, spaces });
      expect(o.steps.map((s) => s.rule)).toContain('fm-pairwise');
      expect(pairLoop(o.expr)).toBe(false);
      expect(cost(o.expr, hints).flops).toBeLessThan(cost(e, hints).flops / 100);
      fc.assert(
        fc.property(arb, ({ rows, nnz, nf, seed }) => {
          const env = envFor(rows, nnz, nf, seed);
          expect(relErr(evalScalar(e, env), evalScalar(o.expr, env))).toBeLessThanOrEqual(1e-6);
        }),
        { numRuns: 60 },
      );
      for (const [p, shape] of [['V', ['feature', 'k']], ['w', ['feature']], ['w0', []]] as const) {
        const out = shape.map((s, j) => idx(`o${j}`, s));
        const g = simplify(grad(rewritePairs(e), p, out));
        const naive = simplify(grad(e, p, out));
        const og = optimize(g, { sizeOf: hints, spaces });
        expect(pairLoop(og.expr), `∂/∂${p} keeps a pair loop`).toBe(false);
        fc.assert(
          fc.property(arb, ({ rows, nnz, nf, seed }) => {
            const env = envFor(rows, nnz, nf, seed);
            expect(maxRelErr(evalTensor(naive, env, out), evalTensor(og.expr, env, out))).toBeLessThanOrEqual(1e-6);
          }),
          { numRuns: 25 },
        );
      }
    });
  }
});

// Real sizes: a kernel whose output passes 2^24 cells (gpu.js's exact float32 index limit) runs on
// the js and wasm executors, which index with integers; its cells match a float64 computation on a strided
// sample. gpu.js refuses the same step with a message that names the limit and the way out.
// Memory: the output (17 M float32 cells, 68 MB) and a small relation; no param of that size.
import { describe, expect, it } from 'vitest';
import { eq, idx, mul, sum, tensor, v, type Ix } from '../../compiler/ir/nodes.ts';
import type { Space } from '../../compiler/ir/module.ts';
import { planExpr } from '../../compiler/plan/plan.ts';
import { emitKernel } from '../../compiler/codegen/gpujs.ts';
import { MAX_EXACT_INDEX } from '../../compiler/ir/limits.ts';
import { Executor } from '../../runtime/exec/executor.ts';
import { rng } from './fixtures.ts';

const USERS = 2 ** 18 + 3;
const D = 65;
const ITEMS = 50;
const NNZ = 200_000;

describe('a kernel over more than 2^24 cells', () => {
  const a = idx('a', 'user');
  const k = idx('k', 'd');
  const t = idx('t', 'ratings');
  const g = (col: string): Ix => ({ kind: 'gather', rel: 'ratings', col, domain: col, t });
  const spaces = new Map<string, Space>([
    ['user', { kind: 'domain', name: 'user' }],
    ['item', { kind: 'domain', name: 'item' }],
    ['d', { kind: 'dim', name: 'd', size: D }],
    ['ratings', { kind: 'relation', name: 'ratings', columns: new Map([['user', 'user'], ['item', 'item'], ['rating', 'float']]) }],
  ]);
  const sizes = new Map([['user', USERS], ['item', ITEMS], ['d', D], ['ratings', NNZ]]);
  // ∂U-shaped: G[a, k] = Σ_{t: user[t] = a} r[t]·V[item[t], k]
  const e = sum([t], mul(eq(g('user'), v(a)), tensor('data', 'ratings.rating', [v(t)]), tensor('param', 'V', [g('item'), v(k)])));
  const plan = planExpr(e, [a, k], spaces, sizes);

  it('is planned as one step past the float32 index limit', () => {
    const last = plan.steps[plan.steps.length - 1]!;
    expect(last.cells).toBe(USERS * D);
    expect(last.cells).toBeGreaterThan(MAX_EXACT_INDEX);
  });

  it.each(['js', 'wasm'] as const)('runs on %s and matches float64 on a strided sample of cells', (mode) => {
    const r = rng(17);
    const users = Int32Array.from({ length: NNZ }, () => Math.floor(r() * USERS));
    // some tuples on the last rows, whose cells sit past 2^24
    for (let j = 0; j < 200; j++) users[j] = USERS - 1 - (j % 7);
    const items = Int32Array.from({ length: NNZ }, () => Math.floor(r() * ITEMS));
    const rating = Float32Array.from({ length: NNZ }, () => 1 + 4 * r());
    const V = Float32Array.from({ length: ITEMS * D }, () => r() * 2 - 1);
    const env = {
      sizes,
      tensors: new Map([
        ['ratings.rating', { data: rating, shape: ['ratings'] }],
        ['V', { data: V, shape: ['item', 'd'] }],
      ]),
      ids: new Map([
        ['ratings.user', users],
        ['ratings.item', items],
      ]),
    };
    const ex = new Executor(mode, { strict: true });
    const got = ex.run(plan, env);
    expect(ex.fallbacks()).toEqual([]);
    ex.destroy();
    if (typeof got === 'number') throw new Error('expected a tensor');
    expect(got.length).toBe(USERS * D);
    // sampled rows: every 1009th, and the last seven (cells beyond 2^24)
    const rows = new Set<number>();
    for (let u = 0; u < USERS; u += 1009) rows.add(u);
    for (let j = 0; j < 7; j++) rows.add(USERS - 1 - j);
    const want = new Map<number, Float64Array>([...rows].map((u) => [u, new Float64Array(D)]));
    for (let q = 0; q < NNZ; q++) {
      const row = want.get(users[q]!);
      if (row) for (let c = 0; c < D; c++) row[c] += rating[q]! * V[items[q]! * D + c]!;
    }
    let checked = 0;
    let worst = { err: 0, at: '' };
    for (const [u, row] of want) {
      for (let c = 0; c < D; c++) {
        const err = Math.abs(got[u * D + c]! - row[c]!) / Math.max(1, Math.abs(row[c]!));
        if (err > worst.err) worst = { err, at: `(${u}, ${c})` };
        checked++;
      }
    }
    expect(worst.err, `worst relative error at cell ${worst.at}`).toBeLessThanOrEqual(1e-6);
    expect(checked).toBeGreaterThan(260 * D);
    expect(want.get(USERS - 1)!.some((x) => x !== 0)).toBe(true);
  });

  it('is refused by gpu.js with the limit and the js mode named', () => {
    const last = plan.steps[plan.steps.length - 1]!;
    expect(() => emitKernel(last, plan)).toThrow(/beyond 2\^24 = 16,777,216 cells per tensor or kernel .*--mode js/);
  });
});

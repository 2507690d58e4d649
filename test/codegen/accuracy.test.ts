// Closed reductions are chunked (≤ 256 terms per thread) and the partials added in float64 on
// the host, so a sum of a million float32 terms stays within 1e-5 of the float64 result —
// a sequential float32 sum does not.
import { describe, expect, it } from 'vitest';
import { idx, mul, sum, tensor, v } from '../../compiler/ir/nodes.ts';
import type { Space } from '../../compiler/ir/module.ts';
import { planExpr } from '../../compiler/plan/plan.ts';
import { Executor } from '../../runtime/exec/executor.ts';
import { rng } from './fixtures.ts';

const N = 1_000_000;

describe.each(['js', 'webasm', 'cpu', 'wasm'] as const)('closed sum over 1,000,000 terms on %s', (mode) => {
  it('matches float64 within 1e-5 relative', () => {
    const r = rng(11);
    const x = Float32Array.from({ length: N }, () => r());
    const y = Float32Array.from({ length: N }, () => r());
    const j = idx('j', 'n');
    const spaces = new Map<string, Space>([['n', { kind: 'domain', name: 'n' }]]);
    const sizes = new Map([['n', N]]);
    const e = sum([j], mul(tensor('param', 'x', [v(j)]), tensor('param', 'y', [v(j)])));
    let want = 0;
    let f32 = Math.fround(0);
    for (let q = 0; q < N; q++) {
      want += x[q]! * y[q]!;
      f32 = Math.fround(f32 + Math.fround(x[q]! * y[q]!));
    }
    const plan = planExpr(e, [], spaces, sizes);
    const ex = new Executor(mode, { strict: true });
    const got = ex.run(plan, { sizes, tensors: new Map([['x', { data: x, shape: ['n'] }], ['y', { data: y, shape: ['n'] }]]), ids: new Map() });
    ex.destroy();
    expect(typeof got).toBe('number');
    const rel = Math.abs((got as number) - want) / Math.abs(want);
    expect(rel).toBeLessThan(1e-5);
    // the naive float32 running sum is measurably worse (documents why chunking exists)
    expect(Math.abs(f32 - want) / Math.abs(want)).toBeGreaterThan(rel);
  });
});

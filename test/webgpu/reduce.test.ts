// The device sum of partials (runtime/exec/webgpu/reduce.ts) is as accurate as the float64 loop over
// them that the host ran before: 8 bytes come back (hi, lo) and hi + lo matches the float64 sum of
// the float32 inputs to 1e-12 relative even with heavy cancellation, where a plain float32 tree is off
// by ~1e-7. Lengths around the workgroup's size and none at all. Skipped where no adapter answers.
import { afterAll, describe, expect, it } from 'vitest';
import { Rng } from '../../runtime/data/rng.ts';
import { reduceSource, REDUCE_THREADS } from '../../runtime/exec/webgpu/reduce.ts';
import { openTestDevice } from './available.ts';

const { device, skip } = openTestDevice();
afterAll(() => device?.close());

function deviceSum(x: Float32Array): { value: number; bytes: number } {
  const dev = device!;
  const src = dev.id();
  const out = dev.id();
  dev.upload(src, x, 'partials');
  dev.post({ op: 'compute', source: reduceSource(x.length), buffers: [src, out], alloc: [{ id: out, n: 2 }], groups: [1] });
  const before = dev.traffic.toHost;
  const [r] = dev.read([out]);
  dev.post({ op: 'free', ids: [src, out] });
  return { value: r![0]! + r![1]!, bytes: dev.traffic.toHost - before };
}

describe.skipIf(skip !== undefined)(`partial sums added on the device${skip ? ` — skipped: ${skip}` : ''}`, () => {
  it.each([0, 1, REDUCE_THREADS - 1, REDUCE_THREADS, REDUCE_THREADS + 1, 12_289])('%i partials: exact to float64 rounding, 8 bytes back', (n) => {
    const rng = new Rng(n + 1);
    const x = Float32Array.from({ length: n }, () => rng.normal(0, 1) * 1000);
    let want = 0;
    for (const v of x) want += v;
    const got = deviceSum(x);
    expect(got.bytes).toBe(8);
    expect(Math.abs(got.value - want)).toBeLessThanOrEqual(1e-12 * Math.max(1, x.reduce((a, v) => a + Math.abs(v), 0)));
  });

  it('heavy cancellation (1e8 + small terms − 1e8, 1,000,003 partials) to 1e-12 of the float64 sum', () => {
    const n = 1_000_003;
    const rng = new Rng(9);
    const x = new Float32Array(n);
    for (let j = 0; j < n; j++) x[j] = Math.fround(rng.uniform() * 2 - 1);
    x[0] = 1e8;
    x[n - 1] = -1e8;
    let want = 0;
    for (const v of x) want += v;
    const got = deviceSum(x);
    // a float32 tree would lose everything below 1e8 · 2⁻²⁴ ≈ 6 per addition into the big term
    expect(Math.abs(got.value - want), `device ${got.value} vs float64 ${want}`).toBeLessThan(1e-12 * 2e8);
  });
});

// The step pool (runtime/exec/step-pool.ts): arrays are zeroed fresh views (new identities) into one
// buffer that the next step reuses; a step that asks for more overflows into buffers of its own and
// the next reset grows the main one; what is derived from a pooled array (its CSR, its float32 copy)
// comes from the same pool, and what is not pooled never does.
import { describe, expect, it } from 'vitest';
import { buildCsr } from '../../runtime/exec/executor.ts';
import { StepPool } from '../../runtime/exec/step-pool.ts';

describe('the step pool', () => {
  it('hands out zeroed fresh views that the next step reuses', () => {
    const pool = new StepPool(1024);
    const a = pool.int32(10);
    a.fill(7);
    const b = pool.float64(3);
    expect(StepPool.of(a)).toBe(pool);
    expect(a.buffer).toBe(b.buffer);
    expect(b.byteOffset % 8).toBe(0);
    pool.reset();
    const c = pool.int32(10);
    expect(c).not.toBe(a); // a new identity …
    expect(c.buffer).toBe(a.buffer); // … on the same memory
    expect(c.byteOffset).toBe(a.byteOffset);
    expect([...c]).toEqual(Array(10).fill(0));
    expect(StepPool.of(new Int32Array(4))).toBeUndefined();
  });

  it('overflows into buffers of its own, then grows', () => {
    const pool = new StepPool(64);
    const first = pool.uint8(48);
    const big = pool.float32(100);
    expect(big.buffer).not.toBe(first.buffer);
    expect(StepPool.of(big)).toBe(pool);
    pool.reset();
    const again = pool.float32(100);
    const more = pool.uint8(48);
    expect(again.buffer).toBe(more.buffer); // the main buffer now holds the whole step
    expect(again.buffer.byteLength).toBeGreaterThanOrEqual(448);
  });

  it('is where a CSR of pooled ids lives, and only then', () => {
    const pool = new StepPool();
    const ids = pool.int32(6);
    ids.set([2, 0, 2, 1, 0, 2]);
    const csr = buildCsr(ids, 3);
    expect([...csr.offsets]).toEqual([0, 2, 3, 6]);
    expect([...csr.perm]).toEqual([1, 4, 3, 0, 2, 5]);
    expect(StepPool.of(csr.perm)).toBe(pool);
    expect(StepPool.of(csr.offsets)).toBe(pool);
    const plain = buildCsr(Int32Array.from(ids), 3);
    expect([...plain.perm]).toEqual([...csr.perm]);
    expect(StepPool.of(plain.perm)).toBeUndefined();
  });
});

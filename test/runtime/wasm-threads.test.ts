// The wasm thread pool (runtime/exec/wasm/threads.ts) under stress: thousands of synchronous
// dispatches on 4 threads with every row checked, pools opened and closed one after another (as a
// test suite's runs do), and a worker that dies behind the pool's back: the run still ends, with the
// same bytes (the calling thread takes the dead worker's range after a short claim timeout), and
// later runs do not wait for that worker again. A lost wake-up or a dead worker must never hang.
import { afterEach, describe, expect, it } from 'vitest';
import { genFunction } from '../../compiler/codegen/wasm/gen.ts';
import { IMPORTS } from '../../compiler/codegen/wasm/kernel.ts';
import { parseKernel } from '../../compiler/codegen/parse.ts';
import { Arena, SCRATCH_ALIGN } from '../../runtime/exec/wasm/memory.ts';
import { ThreadPool } from '../../runtime/exec/wasm/threads.ts';

const ROWS = 1001;
// each row computed whole by one thread: out[r] = 2·p0[r] + r
const fn = genFunction(parseKernel(`for (let i0 = 0; i0 < ${ROWS}; i0++) {\n  const v1 = p0[i0];\n  out[i0] = 2.0 * v1 + i0;\n}`), ['f32']);

function setup(threads: number, opts?: ConstructorParameters<typeof ThreadPool>[2]) {
  const arena = new Arena({ initial: 1 << 20 });
  const module = new WebAssembly.Module(fn.bytes);
  const env = Object.fromEntries(IMPORTS.map((f) => [f.name, Math[f.name as 'exp']]));
  const kernel = new WebAssembly.Instance(module, { env: { mem: arena.memory, ...env } }).exports.kernel as (...a: number[]) => void;
  const input = arena.resident(new Float32Array(ROWS));
  const out = arena.buffer({}, ROWS);
  const scratch = arena.scratch({}, 16 * threads);
  const pool = new ThreadPool(threads, arena.memory, opts);
  pools.push(pool);
  const args = [arena.addressOf(out)!, arena.addressOf(input)!, scratch];
  /** one dispatch with inputs from `k`; true when every row is right */
  const run = (k: number): boolean => {
    for (let r = 0; r < ROWS; r++) input[r] = (k * 7 + r) % 1000;
    pool.run(0, module, kernel, args, 16, ROWS);
    for (let r = 0; r < ROWS; r++) if (out[r] !== 2 * ((k * 7 + r) % 1000) + r) return false;
    return true;
  };
  return { pool, run };
}

const pools: ThreadPool[] = [];
afterEach(() => pools.splice(0).forEach((p) => p.close()));

describe('the wasm thread pool', () => {
  it('runs thousands of dispatches on 4 threads, every row right', () => {
    expect(fn.rows).toBe(ROWS);
    const { pool, run } = setup(4);
    let bad = 0;
    for (let k = 0; k < 3000; k++) if (!run(k)) bad++;
    expect(bad).toBe(0);
    expect(pool.revoked).toBe(0);
  });

  it('opens and closes pools one after another without waiting on a stale one', () => {
    for (let n = 0; n < 12; n++) {
      const { pool, run } = setup(2 + (n % 3));
      for (let k = 0; k < 50; k++) expect(run(k + n)).toBe(true);
      pool.close();
      expect(() => run(0)).toThrow(/closed/);
    }
  });

  // killed behind the pool's back, either with its exit event delivered (the event loop ran: the
  // pool knows it is gone) or not (the calling thread never yielded: the job is revoked after claimMs)
  it.each([
    ['its exit event delivered', true],
    ['its exit event not delivered (the job is revoked)', false],
  ])('finishes the run when a worker died, %s: the calling thread runs its range', async (_, delivered) => {
    const claimMs = 200;
    const { pool, run } = setup(3, { claimMs });
    expect(run(1)).toBe(true);
    const dying = pool.workers[1]!.terminate();
    if (delivered) await dying;
    else Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000); // a synchronous second: the thread ends
    expect(run(2)).toBe(true);
    expect(pool.takenOver).toBeGreaterThanOrEqual(1);
    if (!delivered) expect(pool.revoked).toBeGreaterThanOrEqual(1);
    for (let k = 3; k < 40; k++) expect(run(k)).toBe(true);
    // the dead worker gets no more jobs: not one claim timeout (a revoke) per run (a loaded machine
    // may make the live worker miss one now and then)
    expect(pool.revoked).toBeLessThanOrEqual(4);
    await dying;
  });

  it('finishes runs that start before its workers have started', () => {
    // the first job is posted while the workers' threads are still starting (no await in between)
    const { pool, run } = setup(4, { claimMs: 10_000 });
    expect(run(5)).toBe(true);
    expect(pool.revoked).toBe(0);
  });

  it('keeps scratch on pages of its own, so threads writing their rows share no page with each other or anything else', () => {
    const arena = new Arena({ initial: 1 << 20 });
    arena.buffer({}, 3); // the arena's next free byte is no longer page-aligned
    for (const bytes of [16, 1024, 5000]) {
      const before = arena.buffer({}, 1);
      const ptr = arena.scratch({}, bytes);
      const after = arena.buffer({}, 1);
      expect(ptr % SCRATCH_ALIGN).toBe(0);
      expect(ptr - arena.addressOf(before)!).toBeGreaterThanOrEqual(4);
      expect(arena.addressOf(after)! - (ptr + bytes)).toBeGreaterThanOrEqual(SCRATCH_ALIGN);
    }
  });
});

// The wasm mode's memory: one shared WebAssembly.Memory that every kernel (on every thread) imports,
// managed as a bump arena in two parts. Below `mark`: resident arrays (params adopted by the trainer,
// updated in place by the optimizer, so they never cross into the kernels again). Above it: a cache
// (copies of data columns, ids and CSR arrays by identity, step buffers, scratch rows) and per-run
// copies of what may change between runs; the cache is dropped whole (top = mark) between runs when
// it outgrows its budget, and everything in it is then copied again on next use.
// Shared memory also means a view made before the memory grows stays valid (its SharedArrayBuffer is
// never detached), so arrays handed out keep working.
import { InternalError } from '../../../compiler/diagnostics/diagnostics.ts';
import { MAX_PAGES } from '../../../compiler/codegen/wasm/kernel.ts';
import { SizeLimitError } from '../../../compiler/ir/limits.ts';

const PAGE = 65536;
const ALIGN = 16;
/**
 * Where threads' scratch rows start, and how far apart. Two threads whose rows lay within one page
 * (the ∂P/∂Q kernels' 1 KiB accumulators, side by side) ran the CSR gradient kernels of enmf at ML-1M
 * d=64 in 23, 23 and 20 ms on two threads against 19, 17 and 12 ms on one; a page apart, 11, 9.5 and
 * 7 ms (this VM, AMD EPYC, 2026-12-04; bench/peers/recc-run.ts).
 */
export const SCRATCH_ALIGN = 4096;
const MIN_BUDGET = 8 << 20;

type Typed = Float32Array | Int32Array;

export interface ArenaOptions {
  /** bytes the cache may hold before it is dropped between runs (default: twice what the first run
   * cached, at least 8 MiB — a mini-batch's columns are new arrays every step, so a fixed large budget
   * let them pile up: 250 MB of RSS for ML-100K's mf-biased) */
  readonly cacheBudget?: number;
  /** initial size in bytes (default 16 MiB) */
  readonly initial?: number;
}

export class Arena {
  readonly memory: WebAssembly.Memory;
  private top = ALIGN; // address 0 stays unused
  private mark = ALIGN;
  /** generation of the cache: entries of an older one are gone */
  private gen = 0;
  private readonly owned = new WeakMap<object, number>();
  private readonly cached = new WeakMap<object, { ptr: number; gen: number }>();
  private budget: number | undefined;
  private runs = 0;

  constructor(opts: ArenaOptions = {}) {
    const pages = Math.ceil((opts.initial ?? 16 << 20) / PAGE);
    this.memory = new WebAssembly.Memory({ initial: pages, maximum: MAX_PAGES, shared: true });
    this.budget = opts.cacheBudget;
  }

  /** bytes in use: resident and cached */
  get used(): number {
    return this.top;
  }

  get residentBytes(): number {
    return this.mark;
  }

  private alloc(bytes: number): number {
    const ptr = this.top;
    const end = ptr + Math.ceil(Math.max(bytes, 1) / ALIGN) * ALIGN;
    if (end > MAX_PAGES * PAGE) throw new SizeLimitError(`the wasm kernels need ${end.toLocaleString('en-US')} bytes of memory, beyond WebAssembly's 4 GiB; use --mode js (no such limit), smaller dims or less data`);
    const have = this.memory.buffer.byteLength;
    if (end > have) {
      const want = Math.min(MAX_PAGES * PAGE, Math.max(end, have * 1.5));
      try {
        this.memory.grow(Math.ceil((want - have) / PAGE));
      } catch {
        // the host could not give that much memory (1.5× growth) — then exactly what is needed
        try {
          this.memory.grow(Math.ceil((end - have) / PAGE));
        } catch {
          throw new SizeLimitError(`the wasm kernels need ${end.toLocaleString('en-US')} bytes of memory, more than this machine gives WebAssembly; use --mode js, smaller dims or less data`);
        }
      }
    }
    this.top = end;
    return ptr;
  }

  private view<A extends Typed>(like: A, ptr: number, n: number): A {
    const v = (like instanceof Int32Array ? new Int32Array(this.memory.buffer, ptr, n) : new Float32Array(this.memory.buffer, ptr, n)) as A;
    this.owned.set(v, ptr);
    return v;
  }

  /** A resident copy of `src` (below the mark; lives as long as the arena). Drops the cache first. */
  resident(src: Float32Array): Float32Array {
    this.drop();
    const v = this.view(src, this.alloc(src.byteLength), src.length);
    v.set(src);
    this.mark = this.top;
    return v;
  }

  /** The address of an array this arena made, if it is one. */
  addressOf(a: object): number | undefined {
    return this.owned.get(a);
  }

  /** The address of `src` in memory: itself, or its cached copy (made now if absent or dropped). */
  cachedCopy(src: Typed): number {
    const own = this.owned.get(src);
    if (own !== undefined) return own;
    const c = this.cached.get(src);
    if (c && c.gen === this.gen) return c.ptr;
    const ptr = this.alloc(src.byteLength);
    this.bytes(src, ptr).set(src);
    this.cached.set(src, { ptr, gen: this.gen });
    return ptr;
  }

  /** A buffer of `n` cells kept for `key` (a step) while the cache lives; a view into memory. */
  buffer(key: object, n: number): Float32Array {
    const c = this.cached.get(key);
    if (c && c.gen === this.gen) {
      const v = this.views.get(key);
      if (v && v.length === n) return v;
    }
    const v = this.view(new Float32Array(0), this.alloc(n * 4), n);
    this.cached.set(key, { ptr: this.owned.get(v)!, gen: this.gen });
    this.views.set(key, v);
    return v;
  }
  private readonly views = new WeakMap<object, Float32Array>();

  /**
   * `bytes` of scratch kept for `key` while the cache lives (grown when asked for more), starting on
   * a 4 KiB boundary with at least 4 KiB free after it: threads' scratch rows (runner.ts lays them
   * out a whole number of SCRATCH_ALIGN apart) then share no cache line, nor a page, with each other
   * or with an array another thread writes.
   */
  scratch(key: object, bytes: number): number {
    const c = this.cached.get(key);
    const have = this.scratchSize.get(key) ?? 0;
    if (c && c.gen === this.gen && have >= bytes) return c.ptr;
    const ptr = Math.ceil(this.alloc(bytes + 2 * SCRATCH_ALIGN) / SCRATCH_ALIGN) * SCRATCH_ALIGN;
    this.cached.set(key, { ptr, gen: this.gen });
    this.scratchSize.set(key, bytes);
    return ptr;
  }
  private readonly scratchSize = new WeakMap<object, number>();

  /** A copy of `src` for one run: the region is reused by the next run (see `beginRun`). */
  transient(src: Typed): number {
    const n = src.byteLength;
    const end = this.runAt + Math.ceil(Math.max(n, 1) / ALIGN) * ALIGN;
    if (this.runRegion === undefined || end > this.runRegion.bytes) {
      // the first run, or a run that copies more than any before: a fresh region (the old one
      // stays until the cache is dropped)
      // sized for this run's copies so far and this one, and at least twice the last region, so
      // that a run which copies many arrays settles on one region after a few runs (a region per
      // array would take fresh memory every run)
      const bytes = Math.max(2 * end, 2 * (this.runRegion?.bytes ?? 0), 1 << 17);
      this.runRegion = { ptr: this.alloc(bytes), bytes, gen: this.gen };
      this.runAt = 0;
    }
    const ptr = this.runRegion.ptr + this.runAt;
    this.runAt += Math.ceil(Math.max(n, 1) / ALIGN) * ALIGN;
    this.bytes(src, ptr).set(src);
    return ptr;
  }
  private runRegion: { ptr: number; bytes: number; gen: number } | undefined;
  private runAt = 0;

  /** Starts a run: drops the cache when it outgrew its budget; reuses the per-run region. */
  beginRun(): void {
    if (this.runs++ === 1 && this.budget === undefined) this.budget = Math.max(MIN_BUDGET, 2 * (this.top - this.mark));
    if (this.budget !== undefined && this.top - this.mark > this.budget) this.drop();
    if (this.runRegion && this.runRegion.gen !== this.gen) this.runRegion = undefined;
    this.runAt = 0;
  }

  /** Forgets every cached copy, buffer and scratch row (they are made again on next use). */
  drop(): void {
    this.top = this.mark;
    this.gen++;
    this.runRegion = undefined;
    this.runAt = 0;
  }

  private bytes(like: Typed, ptr: number): Typed {
    if (ptr % 4 !== 0) throw new InternalError('wasm memory: misaligned array');
    return like instanceof Int32Array ? new Int32Array(this.memory.buffer, ptr, like.length) : new Float32Array(this.memory.buffer, ptr, like.length);
  }
}

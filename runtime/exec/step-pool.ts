// Memory for what a mini-batch step derives from its batch and drops at the next one: the batch's
// columns, its drawn samples, touched rows, CSR indexes and float32 copies. Each array is a fresh
// view (its identity is new, so caches keyed by identity never see a stale one) into one buffer
// that every step reuses, instead of a fresh ArrayBuffer each: those are allocated and zeroed
// outside the JS heap and each counts toward the next full garbage collection (~300 KB per step of
// a 4096-tuple batch, collected on the main thread and its helpers).
// Lifetime: from `reset` (the start of a step) to the next `reset`. Arrays derived from a pooled
// array (a CSR of a batch's ids) come from the same pool (`StepPool.of`); nothing else may.
const ALIGN = 8;

/** Where a function's zeroed arrays come from: a step's pool, or the heap (`heapArrays`). */
export interface Arrays {
  int32(n: number): Int32Array;
  float32(n: number): Float32Array;
  float64(n: number): Float64Array;
  uint8(n: number): Uint8Array;
}

/** Fresh arrays, for what lives longer than a step. */
export const heapArrays: Arrays = {
  int32: (n) => new Int32Array(n),
  float32: (n) => new Float32Array(n),
  float64: (n) => new Float64Array(n),
  uint8: (n) => new Uint8Array(n),
};

export class StepPool implements Arrays {
  private static readonly owners = new WeakMap<ArrayBuffer, StepPool>();
  private buf: ArrayBuffer;
  private at = 0;
  /** bytes asked for since the last reset, including what overflowed into extra buffers */
  private asked = 0;

  constructor(initialBytes = 1 << 20) {
    this.buf = this.own(new ArrayBuffer(initialBytes));
  }

  /** The pool an array's memory belongs to, if any. */
  static of(a: ArrayBufferView): StepPool | undefined {
    return a.buffer instanceof ArrayBuffer ? StepPool.owners.get(a.buffer) : undefined;
  }

  private own(b: ArrayBuffer): ArrayBuffer {
    StepPool.owners.set(b, this);
    return b;
  }

  /** Starts a step: every array handed out before is dead; the buffer grows to the last step's need. */
  reset(): void {
    if (this.asked > this.buf.byteLength) this.buf = this.own(new ArrayBuffer(Math.ceil(this.asked * 1.5)));
    this.at = 0;
    this.asked = 0;
  }

  private place(bytes: number): [ArrayBuffer, number] {
    const size = Math.ceil(Math.max(bytes, 1) / ALIGN) * ALIGN;
    this.asked += size;
    if (this.at + size <= this.buf.byteLength) {
      const at = this.at;
      this.at += size;
      return [this.buf, at];
    }
    // past the buffer this step: a buffer of its own (the next reset makes the main one large enough)
    return [this.own(new ArrayBuffer(size)), 0];
  }

  /** n int32 cells, zeroed */
  int32(n: number): Int32Array {
    const [b, at] = this.place(4 * n);
    return new Int32Array(b, at, n).fill(0);
  }

  /** n float32 cells, zeroed */
  float32(n: number): Float32Array {
    const [b, at] = this.place(4 * n);
    return new Float32Array(b, at, n).fill(0);
  }

  /** n float64 cells, zeroed */
  float64(n: number): Float64Array {
    const [b, at] = this.place(8 * n);
    return new Float64Array(b, at, n).fill(0);
  }

  /** n bytes, zeroed */
  uint8(n: number): Uint8Array {
    const [b, at] = this.place(n);
    return new Uint8Array(b, at, n).fill(0);
  }
}

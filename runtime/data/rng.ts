// Seeded deterministic PRNG: xoshiro128** (Blackman & Vigna) over 32-bit integer ops only, seeded
// by splitmix32, so a seed gives the same stream on every machine and JS engine (no Math.random).
// Takes: a seed (any finite number; its low 53 integer bits matter). Gives: uniform [0,1) doubles
// with 53 random bits, unbiased integers, normals (Box–Muller), shuffles, and independent streams
// via fork(stream), which depends only on (seed, stream), never on how many numbers were drawn.
// A generator's whole state is plain data (`state()`, `Rng.fromState`), so a checkpoint can resume
// a stream exactly where it stopped.

/** splitmix32 step: returns [next state, output]; a bijective avalanche mix of the state. */
function splitmix32(state: number): [number, number] {
  const s = (state + 0x9e3779b9) | 0;
  let z = s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  z ^= z >>> 16;
  return [s, z >>> 0];
}

/** Fold a finite number's integer part (up to 2^53) into two 32-bit words. */
function seedWords(seed: number): [number, number] {
  if (!Number.isFinite(seed)) throw new RangeError(`rng seed must be finite, got ${seed}`);
  const t = Math.trunc(Math.abs(seed));
  const lo = t % 0x100000000 >>> 0;
  const hi = (Math.floor(t / 0x100000000) >>> 0) ^ (seed < 0 ? 0x80000000 : 0);
  return [lo, hi];
}

/** Everything a generator is, as JSON-safe data: its origin and the four xoshiro words (+ a kept normal). */
export interface RngState {
  readonly seed: number;
  readonly stream: number;
  readonly words: readonly [number, number, number, number];
  /** the second Box–Muller variate not yet returned, or null */
  readonly spare: number | null;
}

const TWO_POW_32 = 0x100000000;
const TWO_POW_53 = 9007199254740992;

export class Rng {
  readonly seed: number;
  private readonly streamId: number;
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;
  /** second Box–Muller variate, kept for the next normal() call */
  private spare: number | undefined = undefined;

  constructor(seed: number, stream = 0) {
    this.seed = seed;
    this.streamId = stream >>> 0;
    const [lo, hi] = seedWords(seed);
    // state = splitmix32 chain over (lo, hi, stream) so distinct (seed, stream) pairs diverge
    let st = lo;
    let out: number;
    [st, out] = splitmix32(st ^ Math.imul(hi, 0x27d4eb2f));
    [st, out] = splitmix32(st ^ out ^ Math.imul(this.streamId, 0x165667b1));
    [st, this.s0] = splitmix32(st ^ out);
    [st, this.s1] = splitmix32(st);
    [st, this.s2] = splitmix32(st);
    [st, this.s3] = splitmix32(st);
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1; // all-zero state is a fixed point
  }

  /** This generator's state now: `Rng.fromState(r.state())` draws exactly what `r` would draw next. */
  state(): RngState {
    return { seed: this.seed, stream: this.streamId, words: [this.s0 >>> 0, this.s1 >>> 0, this.s2 >>> 0, this.s3 >>> 0], spare: this.spare ?? null };
  }

  /** A generator in a saved state; throws RangeError for data that is not one. */
  static fromState(st: RngState): Rng {
    const words = st?.words;
    const ok =
      Array.isArray(words) &&
      words.length === 4 &&
      words.every((w) => Number.isInteger(w) && w >= 0 && w < TWO_POW_32) &&
      words.some((w) => w !== 0) &&
      Number.isInteger(st.stream) &&
      st.stream >= 0 &&
      st.stream < TWO_POW_32 &&
      (st.spare === null || Number.isFinite(st.spare));
    if (!ok || !Number.isFinite(st.seed)) throw new RangeError('not an rng state');
    const r = new Rng(st.seed, st.stream);
    [r.s0, r.s1, r.s2, r.s3] = words.map((w) => w | 0) as [number, number, number, number];
    r.spare = st.spare ?? undefined;
    return r;
  }

  /** Next raw 32-bit unsigned integer: xoshiro128** result = rotl(s1·5, 7)·9. */
  uint32(): number {
    const r = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return r;
  }

  /** Uniform double in [0, 1) with 53 random bits: (a·2^26 + b) / 2^53, a: 27 bits, b: 26 bits */
  uniform(): number {
    const a = this.uint32() >>> 5; // 27 bits
    const b = this.uint32() >>> 6; // 26 bits
    return (a * 67108864 + b) / TWO_POW_53;
  }

  /** Unbiased integer in [0, n) for 1 ≤ n ≤ 2^32, by rejection of the top partial range. */
  int(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > TWO_POW_32) throw new RangeError(`rng.int(n) needs an integer 1 ≤ n ≤ 2^32, got ${n}`);
    // accept x < limit, where limit is the largest multiple of n not above 2^32
    const limit = TWO_POW_32 - (TWO_POW_32 % n);
    for (;;) {
      const x = this.uint32();
      if (x < limit) return x % n;
    }
  }

  /** Standard normal by Box–Muller: z₀ = √(−2 ln u₁)·cos 2πu₂, z₁ = √(−2 ln u₁)·sin 2πu₂. */
  normal(mean = 0, std = 1): number {
    if (this.spare !== undefined) {
      const z = this.spare;
      this.spare = undefined;
      return mean + std * z;
    }
    const u1 = 1 - this.uniform(); // (0, 1], so ln u₁ is finite
    const u2 = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u1));
    const th = 2 * Math.PI * u2;
    this.spare = r * Math.sin(th);
    return mean + std * r * Math.cos(th);
  }

  /** Fisher–Yates shuffle in place (uniform over permutations); returns the same array. */
  shuffle<T extends { length: number; [i: number]: unknown }>(a: T): T {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
    return a;
  }

  /** A uniformly random permutation of 0..n-1. */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    return this.shuffle(p);
  }

  /**
   * An independent generator for `stream` (e.g. one per epoch or per purpose). It depends only on
   * this generator's (seed, stream id) and the argument, so forking is reproducible at any time.
   */
  fork(stream: number): Rng {
    if (!Number.isInteger(stream) || stream < 0) throw new RangeError(`rng.fork(stream) needs a non-negative integer, got ${stream}`);
    // nested forks combine stream ids through a mix, so fork(a).fork(b) ≠ fork(b).fork(a) in general
    const combined = this.streamId === 0 ? stream + 1 : (Math.imul(this.streamId ^ 0x9e3779b9, 0x85ebca6b) + stream + 1) >>> 0;
    return new Rng(this.seed, combined);
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** Shorthand constructor. */
export function rng(seed: number): Rng {
  return new Rng(seed);
}

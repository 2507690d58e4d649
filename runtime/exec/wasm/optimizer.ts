// The optimizer update and the finiteness check as WebAssembly over the wasm mode's memory: params,
// optimizer slots and the step's gradients all lie in the arena (memory.ts), so an update is one call
// with their addresses — no copies, no JS loop over a million floats. Each rule is the one of
// runtime/train/optimizer.ts, operation for operation in float32 (every sum, product, quotient and
// square root rounded to float32, as a float32 framework computes it; wasm has no fused multiply-add),
// so the numbers are the JS update's bits; four elements at a time in f32x4 lanes:
//   sgd:      θ ← θ − η·g                      momentum: m ← μ·m + g;  θ ← θ − η·m
//   adagrad:  s ← s + g·g;  θ ← θ − (η·g) / (√s + ε)
//   adam:     m ← β₁m + (1−β₁)g;  v ← β₂v + ((1−β₂)g)g;  θ ← θ − (η·(m/c₁)) / (√(v/c₂) + ε)
// (Adam's two divisions and square root were computed in float64 until 2026-12-03: 3.1–3.9 ns an
// element, a quarter of a bpr step at ML-1M d=64; in f32x4 lanes they cost a fraction of that.)
// Every kernel walks segments alike: `n` rows of `width` elements, param row rows[r] (or r when
// `rows` is 0: a dense gradient is one row as wide as the param), gradient row r (`atRows`: the
// gradient holds the touched rows only) or rows[r] (a dense gradient read at the touched rows).
import { Code, encodeModule, Op, Simd, T } from '../../../compiler/codegen/wasm/binary.ts';
import { MAX_PAGES } from '../../../compiler/codegen/wasm/kernel.ts';

export type UpdateRule = 'sgd' | 'momentum' | 'adagrad' | 'adam';

/** Where one segment walk reads and writes (byte addresses; `rows` 0 when dense). */
export interface Segments {
  readonly p: number;
  readonly g: number;
  readonly rows: number;
  readonly n: number;
  readonly width: number;
  readonly atRows: boolean;
}

// parameters: i32 p, g, rows, n, width, atRows, s0, s1, out; f64 lr, h1 … h7
const [P, G, ROWS, N, WIDTH, AT_ROWS, S0, S1, OUT] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
const [LR, H1, H2, H3, H4, H5, H6, H7] = [9, 10, 11, 12, 13, 14, 15, 16];
const PARAMS = [...Array<number>(9).fill(T.i32), ...Array<number>(8).fill(T.f64)] as (typeof T.i32 | typeof T.f64)[];
const SELECT = 0x1b;
const RETURN = 0x0f;
const I32_STORE = 0x36;

/**
 * How a body computes: on one float32, or on four neighbours at once in f32x4 lanes (each lane the
 * scalar operations in the same order: the same bits).
 */
interface Lanes {
  readonly t: typeof T.f32 | typeof T.v128;
  /** the float32(s) at the address on the stack */
  load(c: Code): void;
  /** stack: address, value → stores the value */
  store(c: Code): void;
  /** a binary op, or sqrt */
  op(c: Code, name: 'mul' | 'add' | 'sub' | 'div' | 'sqrt'): void;
  /** hyper-parameter h (a function parameter; its splat for lanes) */
  hyper(c: Code, h: number): void;
}

const SCALAR_OPS = { mul: Op.f32Mul, add: Op.f32Add, sub: Op.f32Sub, div: Op.f32Div, sqrt: Op.f32Sqrt } as const;
const SIMD_OPS = { mul: Simd.f32x4Mul, add: Simd.f32x4Add, sub: Simd.f32x4Sub, div: Simd.f32x4Div, sqrt: Simd.f32x4Sqrt } as const;

/** one float32 (a hyper-parameter is an f64 function parameter, rounded to float32 at each use) */
const scalar: Lanes = {
  t: T.f32,
  load: (c) => c.mem(Op.f32Load, 2),
  store: (c) => c.mem(Op.f32Store, 2),
  op: (c, name) => c.op(SCALAR_OPS[name]),
  hyper: (c, h) => c.get(h).op(Op.f32DemoteF64),
};

/** f32x4 lanes; `splats` maps each hyper-parameter to its splat local */
function quads(splats: ReadonlyMap<number, number>): Lanes {
  return {
    t: T.v128,
    load: (c) => c.simd(Simd.v128Load, 2, 0),
    store: (c) => c.simd(Simd.v128Store, 2, 0),
      op: (c, name) => c.simd(SIMD_OPS[name]),
    hyper: (c, h) => c.get(splats.get(h)!),
  };
}

/** A body for one element (the tail) or a lanes' worth: `j` and `gAt` hold the first element's byte addresses. */
type Body = (c: Code, j: number, gAt: number, v: Lanes, locals: (t: Lanes['t']) => number) => void;

/**
 * The segment walk. Within a row, four elements at a time go through `body` on f32x4 lanes, the rest
 * one by one on scalars.
 */
function segmentKernel(body: Body, hypers: readonly number[] = []): Code {
  const c = new Code(PARAMS.length);
  const r = c.local(T.i32);
  const k = c.local(T.i32);
  const pRow = c.local(T.i32);
  const j = c.local(T.i32);
  const gAt = c.local(T.i32);
  const splats = new Map(hypers.map((h) => [h, c.local(T.v128)]));
  const byType = new Map<number, number[]>();
  // locals per type, handed out in order for each body (the scalar and the lanes body share none)
  const pool = (): ((t: Lanes['t']) => number) => {
    const used = new Map<number, number>();
    return (t) => {
      const n = used.get(t) ?? 0;
      used.set(t, n + 1);
      const list = byType.get(t) ?? [];
      byType.set(t, list);
      while (list.length <= n) list.push(c.local(t));
      return list[n]!;
    };
  };
  for (const [h, l] of splats) c.get(h).op(Op.f32DemoteF64).simd(Simd.f32x4Splat).set(l);
  c.i32(0).set(r);
  c.op(Op.block, 0x40, Op.loop, 0x40);
  c.get(r).get(N).op(Op.i32GeS, Op.br_if, 1);
  // param row: rows[r], or r without rows (its load reads address 0 then, which is never used)
  c.get(ROWS).get(r).i32(4).op(Op.i32Mul, Op.i32Add).mem(Op.i32Load, 2).get(r).get(ROWS).op(SELECT).set(pRow);
  // byte addresses of the row's first element in the param and in the gradient
  c.get(P).get(pRow).get(WIDTH).op(Op.i32Mul).i32(4).op(Op.i32Mul, Op.i32Add).set(j);
  c.get(G).get(r).get(pRow).get(AT_ROWS).op(SELECT).get(WIDTH).op(Op.i32Mul).i32(4).op(Op.i32Mul, Op.i32Add).set(gAt);
  c.i32(0).set(k);
  const loop = (step: number, v: Lanes): void => {
    c.op(Op.block, 0x40, Op.loop, 0x40);
    c.get(k).i32(step).op(Op.i32Add).get(WIDTH).op(Op.i32GtS, Op.br_if, 1);
    body(c, j, gAt, v, pool());
    c.get(j).i32(4 * step).op(Op.i32Add).set(j);
    c.get(gAt).i32(4 * step).op(Op.i32Add).set(gAt);
    c.get(k).i32(step).op(Op.i32Add).set(k);
    c.op(Op.br, 0, Op.end, Op.end);
  };
  loop(4, quads(splats));
  loop(1, scalar);
  c.get(r).i32(1).op(Op.i32Add).set(r);
  c.op(Op.br, 0, Op.end, Op.end);
  return c;
}

/** Pushes the byte address in slot `slot` of the param element at byte address j: slot + (j − p). */
function slotAt(c: Code, slot: number, j: number): Code {
  return c.get(slot).get(j).get(P).op(Op.i32Sub, Op.i32Add);
}

/**
 * One rule's kernel. Hypers: lr; momentum h1 = μ; adagrad h1 = ε; adam h1 = β₁, h2 = 1 − β₁, h3 = β₂,
 * h4 = 1 − β₂, h5 = ε, h6 = c₁, h7 = c₂.
 */
function ruleKernel(rule: UpdateRule, unbiased: { readonly c1: boolean; readonly c2: boolean } = { c1: false, c2: false }): Code {
  const used: Record<UpdateRule, number[]> = { sgd: [LR], momentum: [LR, H1], adagrad: [LR, H1], adam: [LR, H1, H2, H3, H4, H5, H6, H7] };
  const body: Body = (c, j, gAt, v, local) => {
    const gv = local(v.t), m = local(v.t), s = local(v.t);
    c.get(gAt);
    v.load(c);
    c.set(gv);
    /** the slot value `value` leaves, stored at slot `slot`, kept in `back` */
    const keep = (slot: number, value: () => void, back: number): void => {
      slotAt(c, slot, j);
      value();
      c.tee(back);
      v.store(c);
    };
    /** θ ← θ − step(), stored */
    const descend = (stepValue: () => void): void => {
      c.get(j).get(j);
      v.load(c);
      stepValue();
      v.op(c, 'sub');
      v.store(c);
    };
    switch (rule) {
      case 'sgd':
        // θ − η·g
        descend(() => {
          v.hyper(c, LR);
          c.get(gv);
          v.op(c, 'mul');
        });
        return;
      case 'momentum':
        // m ← μ·m + g; θ − η·m
        keep(S0, () => {
          v.hyper(c, H1);
          v.load(slotAt(c, S0, j));
          v.op(c, 'mul');
          c.get(gv);
          v.op(c, 'add');
        }, m);
        descend(() => {
          v.hyper(c, LR);
          c.get(m);
          v.op(c, 'mul');
        });
        return;
      case 'adagrad':
        // s ← s + g·g; θ − (η·g) / (√s + ε)
        keep(S0, () => {
          v.load(slotAt(c, S0, j));
          c.get(gv).get(gv);
          v.op(c, 'mul');
          v.op(c, 'add');
        }, s);
        descend(() => {
          v.hyper(c, LR);
          c.get(gv);
          v.op(c, 'mul');
          c.get(s);
          v.op(c, 'sqrt');
          v.hyper(c, H1);
          v.op(c, 'add');
          v.op(c, 'div');
        });
        return;
      case 'adam':
        // m ← β₁·m + (1−β₁)·g
        keep(S0, () => {
          v.hyper(c, H1);
          v.load(slotAt(c, S0, j));
          v.op(c, 'mul');
          v.hyper(c, H2);
          c.get(gv);
          v.op(c, 'mul');
          v.op(c, 'add');
        }, m);
        // v ← β₂·v + ((1−β₂)·g)·g
        keep(S1, () => {
          v.hyper(c, H3);
          v.load(slotAt(c, S1, j));
          v.op(c, 'mul');
          v.hyper(c, H4);
          c.get(gv);
          v.op(c, 'mul');
          c.get(gv);
          v.op(c, 'mul');
          v.op(c, 'add');
        }, s);
        // θ − (η·(m/c₁)) / (√(v/c₂) + ε)
        descend(() => {
          // (a bias correction c that has reached 1 in float32 — βᵗ below 2⁻²⁵: after ~165 steps for
          // β₁ = 0.9 — divides nothing: x/1 is x, and its division is left out)
          v.hyper(c, LR);
          c.get(m);
          if (!unbiased.c1) {
            v.hyper(c, H6);
            v.op(c, 'div');
          }
          v.op(c, 'mul');
          c.get(s);
          if (!unbiased.c2) {
            v.hyper(c, H7);
            v.op(c, 'div');
          }
          v.op(c, 'sqrt');
          v.hyper(c, H5);
          v.op(c, 'add');
          v.op(c, 'div');
        });
        return;
    }
  };
  return segmentKernel(body, used[rule]);
}

/** The finiteness check: writes (i32, at `out`) the byte address of the first gradient element that is not finite, else 0. */
function finiteKernel(): Code {
  return segmentKernel((c, _j, gAt, v, local) => {
    const x = local(v.t);
    // x − x is 0 for a finite x, NaN for ±∞ and NaN
    c.get(gAt);
    v.load(c);
    if (v === scalar) {
      c.tee(x).get(x).op(Op.f32Sub).f64(0).op(Op.f32DemoteF64, Op.f32Eq, Op.i32Eqz, Op.if, 0x40);
      c.get(OUT).get(gAt).mem(I32_STORE, 2);
      c.op(RETURN, Op.end);
      return;
    }
    // four with a non-finite lane leave the lanes' loop (br 2 from inside the `if`): the scalar loop
    // goes on from those four and names the element
    c.tee(x).get(x).simd(Simd.f32x4Sub).f64(0).op(Op.f32DemoteF64).simd(Simd.f32x4Splat).simd(Simd.f32x4Eq).simd(Simd.i32x4AllTrue);
    c.op(Op.i32Eqz, Op.if, 0x40, Op.br, 2, Op.end);
  });
}

type Fn = (...a: number[]) => void;

/** The update and check kernels over one memory, each instantiated on first use. */
export class WasmOptimizer {
  private readonly fns = new Map<string, Fn>();
  constructor(private readonly memory: WebAssembly.Memory) {}

  private fn(name: string, make: () => Code): Fn {
    let f = this.fns.get(name);
    if (!f) {
      const module = new WebAssembly.Module(encodeModule([], PARAMS, make(), MAX_PAGES));
      f = new WebAssembly.Instance(module, { env: { mem: this.memory } }).exports.kernel as Fn;
      this.fns.set(name, f);
    }
    return f;
  }

  /**
   * The byte address of the first non-finite gradient element of the segments, or 0 when all are
   * finite; `out` is 4 bytes of scratch in the memory.
   */
  firstNonFinite(s: Segments, out: number): number {
    new Int32Array(this.memory.buffer, out, 1)[0] = 0;
    this.fn('finite', finiteKernel)(s.p, s.g, s.rows, s.n, s.width, s.atRows ? 1 : 0, 0, 0, out, 0, 0, 0, 0, 0, 0, 0, 0);
    return new Int32Array(this.memory.buffer, out, 1)[0]!;
  }

  /** One update of the segments' params by `rule`; s0, s1: the slots' addresses (0 when unused); hypers as ruleKernel says. */
  update(rule: UpdateRule, s: Segments, s0: number, s1: number, lr: number, h: readonly number[]): void {
    const [h1 = 0, h2 = 0, h3 = 0, h4 = 0, h5 = 0, h6 = 0, h7 = 0] = h;
    const unbiased = { c1: rule === 'adam' && Math.fround(h6) === 1, c2: rule === 'adam' && Math.fround(h7) === 1 };
    this.fn(`${rule}${unbiased.c1 ? '-c1' : ''}${unbiased.c2 ? '-c2' : ''}`, () => ruleKernel(rule, unbiased))(s.p, s.g, s.rows, s.n, s.width, s.atRows ? 1 : 0, s0, s1, 0, lr, h1, h2, h3, h4, h5, h6, h7);
  }
}

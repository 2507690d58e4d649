// The optimizer update and the finiteness check as WebAssembly over the wasm mode's memory: params,
// optimizer slots and the step's gradients all lie in the arena (memory.ts), so an update is one call
// with their addresses — no copies, no JS loop over a million floats. Each rule is the one of
// runtime/train/optimizer.ts, operation for operation in float64 with the float32 slots rounded on
// store and read back (wasm has no fused multiply-add), so the numbers are the JS update's bits:
//   sgd:      θ ← θ − η·g                      momentum: m ← μ·m + g;  θ ← θ − η·m
//   adagrad:  s ← s + g·g;  θ ← θ − (η·g) / (√s + ε)
//   adam:     m ← β₁m + (1−β₁)g;  v ← β₂v + ((1−β₂)g)g;  θ ← θ − (η·(m/c₁)) / (√(v/c₂) + ε)
// Every kernel walks segments alike: `n` rows of `width` elements, param row rows[r] (or r when
// `rows` is 0: a dense gradient is one row as wide as the param), gradient row r (`atRows`: the
// gradient holds the touched rows only) or rows[r] (a dense gradient read at the touched rows).
import { Code, encodeModule, Op, T } from '../../../compiler/codegen/wasm/binary.ts';
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
 * The segment walk: `body(j, gAt, done)` per element, j the param element's byte address, gAt the
 * gradient element's; `done` is the branch depth that leaves both loops (for an early exit).
 */
function segmentKernel(declare: (c: Code) => void, body: (c: Code, j: number, gAt: number) => void): Code {
  const c = new Code(PARAMS.length);
  declare(c);
  const r = c.local(T.i32);
  const k = c.local(T.i32);
  const pRow = c.local(T.i32);
  const j = c.local(T.i32);
  const gAt = c.local(T.i32);
  c.i32(0).set(r);
  c.op(Op.block, 0x40, Op.loop, 0x40);
  c.get(r).get(N).op(Op.i32GeS, Op.br_if, 1);
  // param row: rows[r], or r without rows (its load reads address 0 then, which is never used)
  c.get(ROWS).get(r).i32(4).op(Op.i32Mul, Op.i32Add).mem(Op.i32Load, 2).get(r).get(ROWS).op(SELECT).set(pRow);
  // byte addresses of the row's first element in the param and in the gradient
  c.get(P).get(pRow).get(WIDTH).op(Op.i32Mul).i32(4).op(Op.i32Mul, Op.i32Add).set(j);
  c.get(G).get(r).get(pRow).get(AT_ROWS).op(SELECT).get(WIDTH).op(Op.i32Mul).i32(4).op(Op.i32Mul, Op.i32Add).set(gAt);
  c.i32(0).set(k);
  c.op(Op.block, 0x40, Op.loop, 0x40);
  c.get(k).get(WIDTH).op(Op.i32GeS, Op.br_if, 1);
  body(c, j, gAt);
  c.get(j).i32(4).op(Op.i32Add).set(j);
  c.get(gAt).i32(4).op(Op.i32Add).set(gAt);
  c.get(k).i32(1).op(Op.i32Add).set(k);
  c.op(Op.br, 0, Op.end, Op.end);
  c.get(r).i32(1).op(Op.i32Add).set(r);
  c.op(Op.br, 0, Op.end, Op.end);
  return c;
}

/** Pushes the byte address in slot `slot` of the param element at byte address j: slot + (j − p). */
function slotAt(c: Code, slot: number, j: number): Code {
  return c.get(slot).get(j).get(P).op(Op.i32Sub, Op.i32Add);
}

/** Pushes the float32 at the address on the stack, as f64. */
function load(c: Code): Code {
  return c.mem(Op.f32Load, 2).op(Op.f64PromoteF32);
}

/** Stores f64 local `value` as float32 at the address `at` pushes; local `back` gets the stored value read back. */
function store(c: Code, at: () => void, value: number, back: number): void {
  at();
  c.get(value).op(Op.f32DemoteF64).mem(Op.f32Store, 2);
  c.get(value).op(Op.f32DemoteF64, Op.f64PromoteF32).set(back);
}

/**
 * One rule's kernel. Hypers: lr; momentum h1 = μ; adagrad h1 = ε; adam h1 = β₁, h2 = 1 − β₁, h3 = β₂,
 * h4 = 1 − β₂, h5 = ε, h6 = c₁, h7 = c₂.
 */
function ruleKernel(rule: UpdateRule): Code {
  let gv = 0, a = 0, m = 0, v = 0;
  return segmentKernel(
    (c) => {
      gv = c.local(T.f64);
      a = c.local(T.f64);
      m = c.local(T.f64);
      v = c.local(T.f64);
    },
    (c, j, gAt) => {
      c.get(gAt);
      load(c).set(gv);
      switch (rule) {
        case 'sgd':
          // θ − η·g
          c.get(j).get(j);
          load(c).get(LR).get(gv).op(Op.f64Mul, Op.f64Sub, Op.f32DemoteF64).mem(Op.f32Store, 2);
          return;
        case 'momentum':
          // μ·m + g, then θ − η·m
          c.get(H1);
          load(slotAt(c, S0, j)).op(Op.f64Mul).get(gv).op(Op.f64Add).set(a);
          store(c, () => slotAt(c, S0, j), a, m);
          c.get(j).get(j);
          load(c).get(LR).get(m).op(Op.f64Mul, Op.f64Sub, Op.f32DemoteF64).mem(Op.f32Store, 2);
          return;
        case 'adagrad':
          // s + g·g, then θ − (η·g) / (√s + ε)
          load(slotAt(c, S0, j)).get(gv).get(gv).op(Op.f64Mul, Op.f64Add).set(a);
          store(c, () => slotAt(c, S0, j), a, m);
          c.get(j).get(j);
          load(c).get(LR).get(gv).op(Op.f64Mul).get(m).op(Op.f64Sqrt).get(H1).op(Op.f64Add, Op.f64Div, Op.f64Sub, Op.f32DemoteF64).mem(Op.f32Store, 2);
          return;
        case 'adam':
          // β₁·m + (1−β₁)·g
          c.get(H1);
          load(slotAt(c, S0, j)).op(Op.f64Mul).get(H2).get(gv).op(Op.f64Mul, Op.f64Add).set(a);
          store(c, () => slotAt(c, S0, j), a, m);
          // β₂·v + ((1−β₂)·g)·g
          c.get(H3);
          load(slotAt(c, S1, j)).op(Op.f64Mul).get(H4).get(gv).op(Op.f64Mul).get(gv).op(Op.f64Mul, Op.f64Add).set(a);
          store(c, () => slotAt(c, S1, j), a, v);
          // θ − (η·(m/c₁)) / (√(v/c₂) + ε)
          c.get(j).get(j);
          load(c).get(LR).get(m).get(H6).op(Op.f64Div, Op.f64Mul).get(v).get(H7).op(Op.f64Div, Op.f64Sqrt).get(H5).op(Op.f64Add, Op.f64Div, Op.f64Sub, Op.f32DemoteF64).mem(Op.f32Store, 2);
          return;
      }
    },
  );
}

/** The finiteness check: writes (i32, at `out`) the byte address of the first gradient element that is not finite, else 0. */
function finiteKernel(): Code {
  let x = 0;
  const c = segmentKernel(
    (c) => {
      x = c.local(T.f64);
    },
    (c, _j, gAt) => {
      // x − x is 0 for a finite x, NaN for ±∞ and NaN
      c.get(gAt);
      load(c).tee(x).get(x).op(Op.f64Sub).f64(0).op(Op.f64Eq, Op.i32Eqz, Op.if, 0x40);
      c.get(OUT).get(gAt).mem(I32_STORE, 2);
      c.op(RETURN, Op.end);
    },
  );
  return c;
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
    this.fn(rule, () => ruleKernel(rule))(s.p, s.g, s.rows, s.n, s.width, s.atRows ? 1 : 0, s0, s1, 0, lr, h1, h2, h3, h4, h5, h6, h7);
  }
}

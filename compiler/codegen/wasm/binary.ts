// WebAssembly binary encoder: just what recc's kernels need — one module importing a shared memory
// and a few Math functions, one exported function. LEB128, section framing, and the opcodes
// (scalar i32/f64/f32, bulk memory.fill, and the f64x2 and f32x4 SIMD subsets) as named bytes. Hand-written
// rather than binaryen/wabt from npm: ~150 lines with no dependency, and the kernels need no
// optimizer (the plan and the js emitter already hoist and fuse).

/** Value types. */
export const T = { i32: 0x7f, f64: 0x7c, f32: 0x7d, v128: 0x7b } as const;
export type ValType = (typeof T)[keyof typeof T];

/** Unsigned LEB128. */
export function uleb(n: number): number[] {
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`wasm: bad unsigned ${n}`);
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return out;
}

/** Signed LEB128 of a 32-bit integer. */
export function sleb(n: number): number[] {
  if (!Number.isInteger(n) || n < -(2 ** 31) || n >= 2 ** 31) throw new Error(`wasm: bad i32 ${n}`);
  const out: number[] = [];
  let v = n | 0;
  for (;;) {
    const b = v & 0x7f;
    v >>= 7;
    if ((v === 0 && (b & 0x40) === 0) || (v === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

export function f64Bytes(x: number): number[] {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setFloat64(0, x, true);
  return [...b];
}

function str(s: string): number[] {
  const b = [...new TextEncoder().encode(s)];
  return [...uleb(b.length), ...b];
}

function vec(items: number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

/** Opcodes (single byte), by the names of the text format. */
export const Op = {
  block: 0x02,
  loop: 0x03,
  if: 0x04,
  else: 0x05,
  end: 0x0b,
  br: 0x0c,
  br_if: 0x0d,
  call: 0x10,
  localGet: 0x20,
  localSet: 0x21,
  localTee: 0x22,
  i32Load: 0x28,
  f32Load: 0x2a,
  f64Load: 0x2b,
  f32Store: 0x38,
  f64Store: 0x39,
  i32Const: 0x41,
  f64Const: 0x44,
  i32Eqz: 0x45,
  i32Eq: 0x46,
  i32Ne: 0x47,
  i32LtS: 0x48,
  i32GtS: 0x4a,
  i32LeS: 0x4c,
  i32GeS: 0x4e,
  f32Eq: 0x5b,
  f64Eq: 0x61,
  f64Ne: 0x62,
  f64Lt: 0x63,
  f64Gt: 0x64,
  f64Le: 0x65,
  f64Ge: 0x66,
  i32Add: 0x6a,
  i32Sub: 0x6b,
  i32Mul: 0x6c,
  i32DivU: 0x6e,
  i32And: 0x71,
  i32Or: 0x72,
  i32Shl: 0x74,
  f32Sqrt: 0x91,
  f32Add: 0x92,
  f32Sub: 0x93,
  f32Mul: 0x94,
  f32Div: 0x95,
  f64Abs: 0x99,
  f64Neg: 0x9a,
  f64Floor: 0x9c,
  f64Sqrt: 0x9f,
  f64Add: 0xa0,
  f64Sub: 0xa1,
  f64Mul: 0xa2,
  f64Div: 0xa3,
  f64Min: 0xa4,
  f64Max: 0xa5,
  f32DemoteF64: 0xb6,
  f64ConvertI32S: 0xb7,
  f64PromoteF32: 0xbb,
} as const;

/** SIMD opcodes (after the 0xfd prefix). */
export const Simd = {
  v128Load: 0x00,
  v128Store: 0x0b,
  f32x4Splat: 0x13,
  f64x2Splat: 0x14,
  f64x2ExtractLane: 0x21,
  f64x2ReplaceLane: 0x22,
  v128Load64Zero: 0x5d,
  v128Store64Lane: 0x5b,
  f32x4DemoteF64x2Zero: 0x5e,
  f64x2PromoteLowF32x4: 0x5f,
  f32x4Eq: 0x41,
  i32x4AllTrue: 0xa3,
  f32x4Sqrt: 0xe3,
  f32x4Add: 0xe4,
  f32x4Sub: 0xe5,
  f32x4Mul: 0xe6,
  f32x4Div: 0xe7,
  f64x2Abs: 0xec,
  f64x2Neg: 0xed,
  f64x2Sqrt: 0xef,
  f64x2Add: 0xf0,
  f64x2Sub: 0xf1,
  f64x2Mul: 0xf2,
  f64x2Div: 0xf3,
  f64x2Min: 0xf4,
  f64x2Max: 0xf5,
} as const;

/** A function body under construction: locals by type, then instruction bytes. */
export class Code {
  readonly bytes: number[] = [];
  private readonly locals: ValType[] = [];

  constructor(readonly nParams: number) {}

  local(t: ValType): number {
    this.locals.push(t);
    return this.nParams + this.locals.length - 1;
  }

  op(...b: number[]): this {
    this.bytes.push(...b);
    return this;
  }

  i32(n: number): this {
    return this.op(Op.i32Const, ...sleb(n));
  }

  f64(x: number): this {
    return this.op(Op.f64Const, ...f64Bytes(x));
  }

  get(l: number): this {
    return this.op(Op.localGet, ...uleb(l));
  }

  set(l: number): this {
    return this.op(Op.localSet, ...uleb(l));
  }

  tee(l: number): this {
    return this.op(Op.localTee, ...uleb(l));
  }

  /** a load or store with its natural alignment (log2 bytes) and offset 0 */
  mem(op: number, align: number): this {
    return this.op(op, align, 0);
  }

  simd(op: number, ...imm: number[]): this {
    return this.op(0xfd, ...uleb(op), ...imm);
  }

  /** memory.fill (dest, value, length on the stack) */
  fill(): this {
    return this.op(0xfc, ...uleb(11), 0x00);
  }

  /** the encoded body: local declarations (runs of equal types) and code */
  encode(): number[] {
    const runs: number[][] = [];
    for (let j = 0; j < this.locals.length; ) {
      let k = j;
      while (k < this.locals.length && this.locals[k] === this.locals[j]) k++;
      runs.push([...uleb(k - j), this.locals[j]!]);
      j = k;
    }
    const body = [...vec(runs), ...this.bytes, Op.end];
    return [...uleb(body.length), ...body];
  }
}

export interface FuncImport {
  readonly name: string;
  readonly params: readonly ValType[];
  readonly results: readonly ValType[];
}

/**
 * A module: imports memory `env.mem` (shared, `maxPages`) and functions `env.<name>`, defines one
 * function `params → ()` exported as `kernel`. Imported functions have indices 0…n−1.
 */
export function encodeModule(imports: readonly FuncImport[], params: readonly ValType[], code: Code, maxPages: number): Uint8Array<ArrayBuffer> {
  const types = [...imports.map((f) => [0x60, ...vec(f.params.map((p) => [p])), ...vec(f.results.map((r) => [r]))]), [0x60, ...vec(params.map((p) => [p])), 0x00]];
  const imp = [
    [...str('env'), ...str('mem'), 0x02, 0x03, ...uleb(1), ...uleb(maxPages)],
    ...imports.map((f, j) => [...str('env'), ...str(f.name), 0x00, ...uleb(j)]),
  ];
  const kernelIdx = imports.length;
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec(types)),
    ...section(2, vec(imp)),
    ...section(3, vec([uleb(kernelIdx)])),
    ...section(7, vec([[...str('kernel'), 0x00, ...uleb(kernelIdx)]])),
    ...section(10, vec([code.encode()])),
  ]);
}

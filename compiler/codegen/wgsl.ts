// Codegen: one planned kernel step → recc's own WGSL compute shader, for the webgpu kernels gpu.js
// cannot run: gpu.js declares every `const` of a kernel as f32 (its WGSL decays int-typed
// initializers), so its flat indices are exact only below 2^24, and it binds each array whole, so no
// array may pass the adapter's maxStorageBufferBindingSize. Here the schedule is the gpu.js kernel's
// (gpujs.ts emitKernelBody: one thread per output cell, the same loops, hoisting and split-K boxes),
// read back by parse.ts's parser of the kernel statement language, and typed the way wasm/gen.ts
// types it: indices, loop counters, ids and CSR offsets are i32 (ids are stored as exact float32
// values and converted on read), values f32, so a flat index is exact up to 2^31 − 1. A CSR index of
// 2^24 tuples or more is stored as int32 bits instead (`bits`), bound as array<i32> (never loaded as
// f32: small ints are subnormal floats, which a GPU may flush) and never packed.
// Tiling: an argument larger than one binding is bound as several windows of its buffer (`tiles`,
// `tile` cells each) and read through a function that picks the window; the output is written through
// one window per launch, the launch's first cell (`base`) and count in a uniform. Small arguments may
// share one packed buffer (runtime/exec/webgpu/pack.ts) to keep within the adapter's binding count.
// Math follows gpu.js's WGSL (log1p as log(1 + x), pow, tanh), so both paths compute the same values.
// Security: the source holds only generated names (prefixed `a_`, `l_`), WGSL keywords and builtins,
// integer and float literals; user names appear nowhere (not even in comments).
import { InternalError } from '../diagnostics/diagnostics.ts';
import { INT_LIMIT_TEXT, MAX_INT_INDEX } from '../ir/limits.ts';
import type { Arg, KernelPlan, Step } from '../plan/plan.ts';
import { emitKernelBody, type EmitSpec } from './gpujs.ts';
import { binaryKind, parseKernel, Unsupported, type Expr, type Stmt } from './parse.ts';

/** Threads per workgroup of a WGSL kernel. */
export const WGSL_WORKGROUP = 64;

/**
 * How the kernel reaches one argument: its own binding(s), or a range of the packed buffer. `bits`: an
 * integer argument stored as int32 bits (a CSR index past float32's 2^24 positions), not float32 values.
 */
export type ArgPlace = { readonly kind: 'bound'; readonly tiles: number; readonly bits?: boolean } | { readonly kind: 'packed'; readonly offset: number };

export interface WgslLayout {
  /** per step argument, in order */
  readonly places: readonly ArgPlace[];
  /** cells per window of a tiled argument (a multiple of 64) */
  readonly tile: number;
  /** whether a packed buffer is bound (after the arguments' bindings, before the output) */
  readonly packed: boolean;
}

/** One storage binding of the kernel, in binding order (binding 0 is the launch uniform). */
export type WgslBinding = { readonly kind: 'arg'; readonly arg: number; readonly tile: number } | { readonly kind: 'pack' } | { readonly kind: 'out' };

export interface EmittedWgsl {
  readonly source: string;
  /** the storage bindings, from binding 1 */
  readonly bindings: readonly WgslBinding[];
}

/** Whether an argument holds ids or CSR positions (float32 values that are integers), read as i32. */
export function intArg(a: Arg): boolean {
  return a.kind === 'ids' || a.kind === 'csr-offsets' || a.kind === 'csr-perm' || a.kind === 'csr-ids';
}

/** The WGSL kernel of a `kernel` step; the launch uniform is { base, count, width, 0 } (u32). */
export function emitWgslKernel(step: Step, plan: Pick<KernelPlan, 'sizes' | 'steps'>, spec: EmitSpec, layout: WgslLayout): EmittedWgsl {
  if (layout.places.length !== step.args.length) throw new InternalError(`wgsl: ${layout.places.length} places for ${step.args.length} arguments of ${step.name}`);
  if (!(Number.isInteger(layout.tile) && layout.tile > 0 && layout.tile % WGSL_WORKGROUP === 0)) throw new InternalError(`wgsl: tile of ${layout.tile} cells`);
  const k = emitKernelBody(step, plan, spec, { thread: 'tid', maxIndex: MAX_INT_INDEX, limitText: INT_LIMIT_TEXT });
  let stmts: Stmt[];
  let result: Expr;
  try {
    stmts = parseKernel(k.body);
    const last = parseKernel(`const res = ${k.result};`)[0];
    if (last?.k !== 'decl') throw new Unsupported('result');
    result = last.init;
  } catch (e) {
    if (e instanceof Unsupported) throw new InternalError(`wgsl: the kernel of ${step.name} is outside the statement language: ${e.message}`);
    throw e;
  }
  const g = new WgslGen(step.args, layout);
  g.types.set('tid', 'i32');
  const body: string[] = [];
  g.stmts(stmts, body, 1);
  body.push(`  a_out[cell] = ${g.as(result, 'f32')};`);
  const decl: string[] = ['struct Launch { base : u32, count : u32, width : u32, pad : u32 }', '@group(0) @binding(0) var<uniform> launch : Launch;'];
  const bindings: WgslBinding[] = [];
  const fns: string[] = [];
  step.args.forEach((a, j) => {
    const p = layout.places[j]!;
    if (p.kind !== 'bound') return;
    if (!(Number.isInteger(p.tiles) && p.tiles >= 1)) throw new InternalError(`wgsl: ${p.tiles} tiles`);
    const elem = p.bits ? 'i32' : 'f32';
    if (p.bits && !intArg(a)) throw new InternalError(`wgsl: int32 bits for ${a.kind} argument ${a.name}`);
    for (let t = 0; t < p.tiles; t++) {
      bindings.push({ kind: 'arg', arg: j, tile: t });
      decl.push(`@group(0) @binding(${bindings.length}) var<storage, read> ${bufName(j, p.tiles, t)} : array<${elem}>;`);
    }
    if (p.tiles > 1) {
      // the window of flat cell i: t = i / tile, read at i − t·tile
      const lines = [`fn rd_${j}(i : i32) -> ${elem} {`, `  let t : i32 = i / ${layout.tile};`, `  let o : i32 = i - t * ${layout.tile};`];
      for (let t = 0; t < p.tiles - 1; t++) lines.push(`  if (t == ${t}) { return ${bufName(j, p.tiles, t)}[o]; }`);
      lines.push(`  return ${bufName(j, p.tiles, p.tiles - 1)}[o];`, '}');
      fns.push(lines.join('\n'));
    }
  });
  if (layout.packed) {
    bindings.push({ kind: 'pack' });
    decl.push(`@group(0) @binding(${bindings.length}) var<storage, read> a_pk : array<f32>;`);
  }
  bindings.push({ kind: 'out' });
  decl.push(`@group(0) @binding(${bindings.length}) var<storage, read_write> a_out : array<f32>;`);
  const source = [
    ...decl,
    ...fns,
    `@compute @workgroup_size(${WGSL_WORKGROUP})`,
    'fn main(@builtin(global_invocation_id) gid : vec3<u32>) {',
    '  let cell : u32 = gid.x + gid.y * launch.width;',
    '  if (cell >= launch.count) { return; }',
    '  let l_tid : i32 = i32(launch.base + cell);',
    ...body,
    '}',
  ].join('\n');
  return { source, bindings };
}

function bufName(arg: number, tiles: number, t: number): string {
  return tiles === 1 ? `a_${arg}` : `a_${arg}_${t}`;
}

type Ty = 'i32' | 'f32' | 'bool';

/** Typed WGSL text of the statement language; every local is `l_` + its generated name. */
class WgslGen {
  readonly types = new Map<string, Ty>();
  private readonly argAt = new Map<string, number>();

  constructor(
    private readonly args: readonly Arg[],
    private readonly layout: WgslLayout,
  ) {
    args.forEach((a, j) => this.argAt.set(a.name, j));
  }

  private local(name: string): string {
    if (!/^[a-z]\w*$/.test(name)) throw new InternalError(`wgsl: name ${name}`);
    return `l_${name}`;
  }

  /** `arr[at]` of a kernel argument, f32 as stored */
  private read(arr: string, at: string): string {
    const j = this.argAt.get(arr);
    if (j === undefined) throw new InternalError(`wgsl: unknown array ${arr}`);
    const p = this.layout.places[j]!;
    if (p.kind === 'packed') return `a_pk[${p.offset} + ${at}]`;
    return p.tiles === 1 ? `a_${j}[${at}]` : `rd_${j}(${at})`;
  }

  private isIntArray(arr: string): boolean {
    const j = this.argAt.get(arr);
    if (j === undefined) throw new InternalError(`wgsl: unknown array ${arr}`);
    return intArg(this.args[j]!);
  }

  typeOf(e: Expr): Ty {
    switch (e.k) {
      case 'num':
        return e.float ? 'f32' : 'i32';
      case 'name': {
        const t = this.types.get(e.name);
        if (!t) throw new InternalError(`wgsl: unknown name ${e.name}`);
        return t;
      }
      case 'index':
        return this.isIntArray(e.arr) ? 'i32' : 'f32';
      case 'neg':
        return 'f32';
      case 'not':
        return 'bool';
      case 'cond':
        return this.typeOf(e.a) === 'f32' || this.typeOf(e.b) === 'f32' ? 'f32' : 'i32';
      case 'math':
        return this.intDiv(e) ? 'i32' : 'f32';
      case 'bin':
        return this.binType(e.op, e.a, e.b);
    }
  }

  /** ⌊i / n⌋ of a non-negative index and a positive integer literal (thread decoding, split-K boxes) */
  private intDiv(e: Extract<Expr, { k: 'math' }>): boolean {
    const a = e.args[0];
    return e.fn === 'floor' && e.args.length === 1 && a?.k === 'bin' && a.op === '/' && this.typeOf(a.a) === 'i32' && a.b.k === 'num' && !a.b.float && a.b.value > 0;
  }

  private binType(op: string, a: Expr, b: Expr): Ty {
    const kind = binaryKind(op, a, b, this.typeOf(a) === 'i32', this.typeOf(b) === 'i32');
    return kind === 'bool' ? 'bool' : kind === 'int' ? 'i32' : 'f32';
  }

  /** The expression as type `to` (i32 → f32 converts; f32 → i32 is a kernel bug). */
  as(e: Expr, to: Ty): string {
    const from = this.typeOf(e);
    const code = this.expr(e);
    if (from === to) return code;
    if (from === 'i32' && to === 'f32') return e.k === 'num' ? floatLit(e.value) : `f32(${code})`;
    throw new InternalError(`wgsl: a ${from} where a ${to} is needed`);
  }

  expr(e: Expr): string {
    switch (e.k) {
      case 'num':
        return e.float ? floatLit(e.value) : intLit(e.value);
      case 'name':
        this.typeOf(e);
        return this.local(e.name);
      case 'index': {
        const at = this.as(e.at, 'i32');
        const v = this.read(e.arr, at);
        if (!this.isIntArray(e.arr)) return v;
        const p = this.layout.places[this.argAt.get(e.arr)!]!;
        return p.kind === 'bound' && p.bits ? v : `i32(${v})`;
      }
      case 'neg':
        return `(-${this.as(e.a, 'f32')})`;
      case 'not':
        return `(!${this.as(e.a, 'bool')})`;
      case 'cond': {
        const ty = this.typeOf(e);
        return `select(${this.as(e.b, ty)}, ${this.as(e.a, ty)}, ${this.as(e.c, 'bool')})`;
      }
      case 'math':
        return this.math(e);
      case 'bin':
        return this.bin(e.op, e.a, e.b);
    }
  }

  private math(e: Extract<Expr, { k: 'math' }>): string {
    if (this.intDiv(e)) {
      const d = e.args[0] as Extract<Expr, { k: 'bin' }>;
      return `(${this.as(d.a, 'i32')} / ${this.as(d.b, 'i32')})`;
    }
    const arity = e.fn === 'max' || e.fn === 'min' || e.fn === 'pow' ? 2 : 1;
    if (e.args.length !== arity) throw new InternalError(`wgsl: Math.${e.fn} with ${e.args.length} arguments`);
    const xs = e.args.map((a) => this.as(a, 'f32'));
    switch (e.fn) {
      case 'exp':
      case 'log':
      case 'sqrt':
      case 'abs':
      case 'tanh':
      case 'floor':
      case 'max':
      case 'min':
        return `${e.fn}(${xs.join(', ')})`;
      case 'log1p':
        return `log(1.0 + ${xs[0]!})`;
      case 'pow':
        // JavaScript's x ** 0 is 1 for every x (gpu.js's _pow)
        return `select(pow(${xs[0]!}, ${xs[1]!}), 1.0, ${xs[1]!} == 0.0)`;
      default:
        throw new InternalError(`wgsl: Math.${e.fn}`);
    }
  }

  private bin(op: string, a: Expr, b: Expr): string {
    if (op === '||' || op === '&&') return `(${this.as(a, 'bool')} ${op} ${this.as(b, 'bool')})`;
    const cmp: Record<string, string> = { '===': '==', '!==': '!=', '<': '<', '<=': '<=', '>': '>', '>=': '>=' };
    const c = cmp[op];
    if (c) {
      const ty: Ty = this.typeOf(a) === 'i32' && this.typeOf(b) === 'i32' ? 'i32' : 'f32';
      return `(${this.as(a, ty)} ${c} ${this.as(b, ty)})`;
    }
    if (!['+', '-', '*', '/'].includes(op)) throw new InternalError(`wgsl: operator ${op}`);
    const ty = this.binType(op, a, b);
    return `(${this.as(a, ty)} ${op} ${this.as(b, ty)})`;
  }

  stmts(ss: readonly Stmt[], out: string[], depth: number): void {
    for (const s of ss) this.stmt(s, out, depth);
  }

  private stmt(s: Stmt, out: string[], depth: number): void {
    const pad = '  '.repeat(depth);
    switch (s.k) {
      case 'decl': {
        const ty = this.typeOf(s.init);
        const code = this.as(s.init, ty);
        if (this.types.has(s.name)) throw new InternalError(`wgsl: ${s.name} declared twice`);
        this.types.set(s.name, ty);
        out.push(`${pad}${s.mutable ? 'var' : 'let'} ${this.local(s.name)} : ${ty} = ${code};`);
        return;
      }
      case 'assign': {
        const ty = this.types.get(s.name);
        if (!ty) throw new InternalError(`wgsl: assignment to ${s.name}`);
        out.push(`${pad}${this.local(s.name)} ${s.add ? '+=' : '='} ${this.as(s.value, ty)};`);
        return;
      }
      case 'for': {
        if (this.types.has(s.v)) throw new InternalError(`wgsl: ${s.v} declared twice`);
        this.types.set(s.v, 'i32');
        const v = this.local(s.v);
        out.push(`${pad}for (var ${v} : i32 = ${this.as(s.from, 'i32')}; ${v} < ${this.as(s.to, 'i32')}; ${v} += ${intLit(s.step)}) {`);
        this.stmts(s.body, out, depth + 1);
        out.push(`${pad}}`);
        return;
      }
      case 'block':
        out.push(`${pad}{`);
        this.stmts(s.body, out, depth + 1);
        out.push(`${pad}}`);
        return;
      case 'if':
        out.push(`${pad}if (${this.as(s.c, 'bool')}) {`);
        this.stmts(s.body, out, depth + 1);
        out.push(`${pad}}`);
        return;
      case 'break':
        out.push(`${pad}break;`);
        return;
      case 'f64array':
      case 'store':
      case 'fill':
        throw new InternalError(`wgsl: a ${s.k} statement in a gpu.js kernel body`);
    }
  }
}

/** A finite float literal in f32's range (a constant beyond it is ±max, as gpu.js writes it). */
function floatLit(v: number): string {
  if (!Number.isFinite(v)) throw new InternalError(`wgsl: literal ${v}`);
  if (Math.abs(v) > 3.4028234663852886e38) return v > 0 ? '0x1.fffffep+127' : '(-0x1.fffffep+127)';
  const s = String(v);
  const f = /[.e]/.test(s) ? s : `${s}.0`;
  return v < 0 ? `(${f})` : f;
}

function intLit(v: number): string {
  if (!Number.isSafeInteger(v) || v < 0 || v > MAX_INT_INDEX) throw new InternalError(`wgsl: integer literal ${v}`);
  return String(v);
}

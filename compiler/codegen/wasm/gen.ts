// Codegen: a js kernel's statements (parse.ts) → one WebAssembly function over a shared memory.
// The loop structure is js.ts's (row-vectorized CSR walks, sum-outermost Gramians, split-K boxes,
// hoisting), so there is one schedule per plan step; here each operation becomes the same IEEE
// operation in wasm: values are f64 (JavaScript numbers), ids, offsets and indices i32, float32
// arrays are read with f64.promote_f32 and written with f32.demote_f64 (a Float32Array store), and
// exp/log/log1p/tanh/pow are JavaScript's own Math functions, imported. So a wasm kernel writes the
// same bits as the js kernel of its step.
// - SIMD: an innermost loop whose body is straight-line f64 arithmetic over cells at unit stride of
//   its index (∂U's `acc[k] += V[item, k]·r`, a Gramian row) runs two iterations per f64x2 lane
//   pair; each lane does its iteration's operations in the same order, so the bits do not change.
// - Unroll-and-jam: a CSR walk's tuple loop (per-tuple consts, then acc[i] += x over the row) runs two
//   tuples per pass over the float64 accumulator row, acc[i] = (acc[i] + x_j) + x_{j+1}: the same
//   additions in the same order, the row loaded and stored half as often.
// - A one-cell float64 row (a closed sum's split-K box accumulator, `s0[0] += x`) lives in an f64
//   local, not in scratch memory: the same float64 adds without a store and a load per term.
// - Threads: a kernel whose body is one loop over its output rows (after its float64 scratch rows,
//   each cleared inside the loop before use) takes the row range [lo, hi) as parameters; each row is
//   computed whole by one thread, so results do not depend on how rows are split.
// Function parameters: out, p0…pn−1 (byte addresses), scratch (this thread's float64 rows), lo, hi.
import { Code, encodeModule, Op, Simd, T, type FuncImport } from './binary.ts';
import { binaryKind, Unsupported, type Expr, type Stmt } from '../parse.ts';

export type Elem = 'f32' | 'i32' | 'f64';
type Ty = 'i32' | 'f64' | 'bool';

/** JavaScript's Math functions the kernels call, imported (same results as the js kernels). */
export const IMPORTS: readonly FuncImport[] = [
  { name: 'exp', params: [T.f64], results: [T.f64] },
  { name: 'log', params: [T.f64], results: [T.f64] },
  { name: 'log1p', params: [T.f64], results: [T.f64] },
  { name: 'tanh', params: [T.f64], results: [T.f64] },
  { name: 'pow', params: [T.f64, T.f64], results: [T.f64] },
];
const IMPORT_IDX = new Map(IMPORTS.map((f, j) => [f.name, j]));

/** The most pages a kernel's memory may have: all of wasm32's 4 GiB. */
export const MAX_PAGES = 65536;

export interface WasmFunction {
  readonly bytes: Uint8Array<ArrayBuffer>;
  /** output rows the kernel can split between threads (its one top-level loop), else undefined */
  readonly rows: number | undefined;
  /** bytes of float64 scratch one invocation needs */
  readonly scratchBytes: number;
  /** innermost loops run with f64x2 SIMD */
  readonly simdLoops: number;
  /** CSR walks run two tuples per pass over their accumulator row */
  readonly jammedLoops: number;
}

interface Local {
  readonly idx: number;
  readonly ty: Ty;
}

const SHIFT: Record<Elem, number> = { f32: 2, i32: 2, f64: 3 };

class FnGen {
  readonly c: Code;
  private readonly locals = new Map<string, Local>();
  private readonly arrays = new Map<string, { ptr: number; elem: Elem }>();
  /** float64 rows of one cell (a split-K box's or a reduction's accumulator), held in an f64 local:
   * `s0[0] += x` through memory is a store-to-load chain on every term, ~3.6 ns a term (enmf's loss
   * over its liked pairs and its L2 sums at ML-1M: 1.9, 1.4 and 0.9 ms a step); in a local, an add */
  private readonly scalarRows = new Map<string, number>();
  /** enclosing labels, innermost last: 'exit' (a for loop's block, the target of break) or other */
  private labels: string[] = [];
  private scratchAt = 0;
  private readonly scratchParam: number;
  readonly lo: number;
  readonly hi: number;
  simdLoops = 0;
  /** types of names a loop body being planned for SIMD declares, before they are emitted */
  readonly pending = new Map<string, Ty>();

  constructor(argElems: readonly Elem[]) {
    const n = argElems.length + 4;
    this.c = new Code(n);
    this.arrays.set('out', { ptr: 0, elem: 'f32' });
    argElems.forEach((e, j) => this.arrays.set(`p${j}`, { ptr: j + 1, elem: e }));
    this.scratchParam = argElems.length + 1;
    this.lo = argElems.length + 2;
    this.hi = argElems.length + 3;
  }

  get scratchBytes(): number {
    return this.scratchAt;
  }

  private local(name: string, ty: Ty): Local {
    const had = this.locals.get(name);
    // a SIMD loop's scalar remainder declares its body's names again
    if (had && had.ty === ty) return had;
    if (had || this.arrays.has(name)) throw new Unsupported(`${name} declared twice`);
    const l = { idx: this.c.local(ty === 'f64' ? T.f64 : T.i32), ty };
    this.locals.set(name, l);
    return l;
  }

  /** the element type of an array, undefined when the name is none */
  elemOf(name: string): Elem | undefined {
    return this.arrays.get(name)?.elem;
  }

  /** whether `name` is a one-cell float64 row held in a local (never vectorized: see scalarRows) */
  isScalarRow(name: string): boolean {
    return this.scalarRows.has(name);
  }

  private arr(name: string): { ptr: number; elem: Elem } {
    const a = this.arrays.get(name);
    if (!a) throw new Unsupported(`unknown array ${name}`);
    return a;
  }

  private coerce(from: Ty, to: Ty): void {
    if (from === to || (from !== 'f64' && to !== 'f64')) return;
    if (to === 'f64') this.c.op(Op.f64ConvertI32S);
    else throw new Unsupported('a float where an integer is needed');
  }

  private f64(e: Expr): void {
    this.coerce(this.expr(e), 'f64');
  }

  private int(e: Expr): void {
    const t = this.expr(e);
    if (t === 'f64') throw new Unsupported('a float index');
  }

  /** pushes the byte address of arr[at] */
  private addr(arr: string, at: Expr): Elem {
    const a = this.arr(arr);
    this.c.get(a.ptr);
    this.int(at);
    this.c.i32(SHIFT[a.elem]).op(Op.i32Shl, Op.i32Add);
    return a.elem;
  }

  private load(elem: Elem): Ty {
    if (elem === 'f32') this.c.mem(Op.f32Load, 2).op(Op.f64PromoteF32);
    else if (elem === 'f64') this.c.mem(Op.f64Load, 3);
    else this.c.mem(Op.i32Load, 2);
    return elem === 'i32' ? 'i32' : 'f64';
  }

  expr(e: Expr): Ty {
    const c = this.c;
    switch (e.k) {
      case 'num':
        if (e.float) {
          c.f64(e.value);
          return 'f64';
        }
        c.i32(e.value);
        return 'i32';
      case 'name': {
        const l = this.locals.get(e.name);
        if (!l) throw new Unsupported(`unknown name ${e.name}`);
        c.get(this.alias.get(e.name) ?? l.idx);
        return l.ty;
      }
      case 'index': {
        // a one-cell row: every index in bounds is 0
        const row = this.scalarRows.get(e.arr);
        if (row !== undefined) {
          c.get(row);
          return 'f64';
        }
        return this.load(this.addr(e.arr, e.at));
      }
      case 'neg':
        this.f64(e.a);
        c.op(Op.f64Neg);
        return 'f64';
      case 'not':
        if (this.expr(e.a) !== 'bool') throw new Unsupported('! of a number');
        c.op(Op.i32Eqz);
        return 'bool';
      case 'cond': {
        if (this.expr(e.c) === 'f64') throw new Unsupported('a float condition');
        const ty = this.typeOf(e.a) === 'f64' || this.typeOf(e.b) === 'f64' ? 'f64' : 'i32';
        c.op(Op.if, ty === 'f64' ? T.f64 : T.i32);
        this.labels.push('if');
        this.coerce(this.expr(e.a), ty);
        c.op(Op.else);
        this.coerce(this.expr(e.b), ty);
        c.op(Op.end);
        this.labels.pop();
        return ty;
      }
      case 'math':
        return this.math(e.fn, e.args);
      case 'bin':
        return this.bin(e.op, e.a, e.b);
    }
  }

  /** the type an expression has, without emitting it */
  typeOf(e: Expr): Ty {
    switch (e.k) {
      case 'num':
        return e.float ? 'f64' : 'i32';
      case 'name': {
        const l = this.locals.get(e.name)?.ty ?? this.pending.get(e.name);
        if (!l) throw new Unsupported(`unknown name ${e.name}`);
        return l;
      }
      case 'index':
        return this.scalarRows.has(e.arr) || this.arr(e.arr).elem !== 'i32' ? 'f64' : 'i32';
      case 'neg':
        return 'f64';
      case 'not':
        return 'bool';
      case 'cond':
        return this.typeOf(e.a) === 'f64' || this.typeOf(e.b) === 'f64' ? 'f64' : 'i32';
      case 'math':
        return e.fn === 'floor' && e.args[0]?.k === 'bin' && e.args[0].op === '/' && this.intDiv(e.args[0].a, e.args[0].b) ? 'i32' : 'f64';
      case 'bin':
        return this.binType(e.op, e.a, e.b);
    }
  }

  private intDiv(a: Expr, b: Expr): boolean {
    return this.typeOf(a) === 'i32' && b.k === 'num' && !b.float && b.value > 0;
  }

  private binType(op: string, a: Expr, b: Expr): Ty {
    const kind = binaryKind(op, a, b, this.typeOf(a) === 'i32', this.typeOf(b) === 'i32');
    return kind === 'bool' ? 'bool' : kind === 'int' ? 'i32' : 'f64';
  }

  private bin(op: string, a: Expr, b: Expr): Ty {
    const c = this.c;
    if (op === '||' || op === '&&') {
      if (this.expr(a) !== 'bool' || this.expr(b) !== 'bool') throw new Unsupported(`${op} of numbers`);
      c.op(op === '||' ? Op.i32Or : Op.i32And);
      return 'bool';
    }
    const cmp: Record<string, [number, number]> = {
      '===': [Op.i32Eq, Op.f64Eq],
      '!==': [Op.i32Ne, Op.f64Ne],
      '<': [Op.i32LtS, Op.f64Lt],
      '<=': [Op.i32LeS, Op.f64Le],
      '>': [Op.i32GtS, Op.f64Gt],
      '>=': [Op.i32GeS, Op.f64Ge],
    };
    const ta = this.typeOf(a);
    const tb = this.typeOf(b);
    if (ta === 'bool' || tb === 'bool') throw new Unsupported(`${op} of a condition`);
    if (cmp[op]) {
      const ints = ta === 'i32' && tb === 'i32';
      this.coerce(this.expr(a), ints ? 'i32' : 'f64');
      this.coerce(this.expr(b), ints ? 'i32' : 'f64');
      c.op(cmp[op][ints ? 0 : 1]);
      return 'bool';
    }
    const ty = this.binType(op, a, b);
    this.coerce(this.expr(a), ty);
    this.coerce(this.expr(b), ty);
    const ops: Record<string, [number, number]> = { '+': [Op.i32Add, Op.f64Add], '-': [Op.i32Sub, Op.f64Sub], '*': [Op.i32Mul, Op.f64Mul], '/': [-1, Op.f64Div] };
    const o = ops[op];
    if (!o) throw new Unsupported(`operator ${op}`);
    c.op(o[ty === 'i32' ? 0 : 1]);
    return ty;
  }

  private math(fn: string, args: readonly Expr[]): Ty {
    const c = this.c;
    const arity = fn === 'max' || fn === 'min' || fn === 'pow' ? 2 : 1;
    if (args.length !== arity) throw new Unsupported(`Math.${fn} with ${args.length} arguments`);
    const a = args[0]!;
    if (fn === 'floor' && a.k === 'bin' && a.op === '/' && this.intDiv(a.a, a.b)) {
      // ⌊i / n⌋ of a non-negative index (split-K box coordinates)
      this.int(a.a);
      this.int(a.b);
      c.op(Op.i32DivU);
      return 'i32';
    }
    args.forEach((x) => this.f64(x));
    const native: Record<string, number> = { abs: Op.f64Abs, sqrt: Op.f64Sqrt, floor: Op.f64Floor, max: Op.f64Max, min: Op.f64Min };
    if (native[fn] !== undefined) c.op(native[fn]);
    else c.op(Op.call, IMPORT_IDX.get(fn)!);
    return 'f64';
  }

  stmts(ss: readonly Stmt[]): void {
    for (const s of ss) this.stmt(s);
  }

  stmt(s: Stmt, outer?: { from: number; to: number }): void {
    const c = this.c;
    switch (s.k) {
      case 'decl': {
        const ty = this.typeOf(s.init);
        const want: Ty = ty === 'bool' ? 'i32' : ty;
        this.coerce(this.expr(s.init), want);
        c.set(this.local(s.name, want).idx);
        return;
      }
      case 'f64array': {
        if (this.labels.length) throw new Unsupported('a float64 row inside a loop');
        if (s.n === 1) {
          // wasm locals start at zero, as new Float64Array(1) does
          this.scalarRows.set(s.name, this.c.local(T.f64));
          return;
        }
        const l = this.c.local(T.i32);
        this.arrays.set(s.name, { ptr: l, elem: 'f64' });
        c.get(this.scratchParam).i32(this.scratchAt).op(Op.i32Add).set(l);
        // new Float64Array(n) is zeros
        c.get(l).i32(0).i32(s.n * 8).fill();
        this.scratchAt += Math.ceil((s.n * 8) / 16) * 16;
        return;
      }
      case 'assign': {
        const l = this.locals.get(s.name);
        if (!l) throw new Unsupported(`assignment to ${s.name}`);
        if (s.add) c.get(l.idx);
        this.coerce(this.expr(s.value), l.ty === 'bool' ? 'i32' : l.ty);
        if (s.add) c.op(l.ty === 'f64' ? Op.f64Add : Op.i32Add);
        c.set(l.idx);
        return;
      }
      case 'store': {
        const row = this.scalarRows.get(s.arr);
        if (row !== undefined) {
          // the same float64 add as through a Float64Array cell, which stores a float64 exactly
          if (s.add) c.get(row);
          this.f64(s.value);
          if (s.add) c.op(Op.f64Add);
          c.set(row);
          return;
        }
        const elem = this.addr(s.arr, s.at);
        if (elem === 'i32') throw new Unsupported('a store into an integer array');
        if (s.add) {
          // JavaScript's a[i] += x: read, add in float64, round on store
          const t = this.c.local(T.i32);
          c.tee(t).get(t);
          this.load(elem);
          this.f64(s.value);
          c.op(Op.f64Add);
        } else this.f64(s.value);
        if (elem === 'f32') c.op(Op.f32DemoteF64).mem(Op.f32Store, 2);
        else c.mem(Op.f64Store, 3);
        return;
      }
      case 'fill': {
        const row = this.scalarRows.get(s.arr);
        if (row !== undefined) {
          c.f64(0).set(row);
          return;
        }
        const a = this.arr(s.arr);
        const n = this.rowLength(s.arr);
        c.get(a.ptr).i32(0).i32(n * 8).fill();
        return;
      }
      case 'block':
        this.stmts(s.body);
        return;
      case 'if':
        if (this.expr(s.c) === 'f64') throw new Unsupported('a float condition');
        c.op(Op.if, 0x40);
        this.labels.push('if');
        this.stmts(s.body);
        this.labels.pop();
        c.op(Op.end);
        return;
      case 'break': {
        const at = this.labels.lastIndexOf('exit');
        if (at < 0) throw new Unsupported('break outside a loop');
        c.op(Op.br, this.labels.length - 1 - at);
        return;
      }
      case 'for':
        this.forLoop(s, outer);
        return;
    }
  }

  private readonly rowLengths = new Map<string, number>();
  registerRows(ss: readonly Stmt[]): void {
    for (const s of ss) if (s.k === 'f64array') this.rowLengths.set(s.name, s.n);
  }
  private rowLength(name: string): number {
    const n = this.rowLengths.get(name);
    if (n === undefined) throw new Unsupported(`fill of ${name}`);
    return n;
  }

  private forLoop(s: Extract<Stmt, { k: 'for' }>, outer?: { from: number; to: number }): void {
    const c = this.c;
    const v = this.local(s.v, 'i32');
    if (outer) c.get(outer.from);
    else this.int(s.from);
    c.set(v.idx);
    if (s.step === 4 && this.unrolled(s, outer)) return;
    const vec = s.step === 1 ? vectorPlan(s, this) : undefined;
    const around = s.step === 1 && !vec && !outer ? outerPlan(s, this) : undefined;
    if (vec) {
      this.simdLoops++;
      this.loop(v.idx, s.to, 2, outer, () => this.vectorBody(s.body, s.v, vec), true);
    } else if (around) {
      this.simdLoops++;
      this.loop(v.idx, s.to, 2, outer, () => this.outerBody(s.body, s.v, around), true);
    } else {
      const jam = s.step === 1 && !outer ? jammed(s, this) : undefined;
      if (jam) {
        this.jammedLoops++;
        this.loop(v.idx, s.to, 2, outer, () => this.stmts(jam), true);
      }
    }
    this.loop(v.idx, s.to, s.step, outer, () => this.stmts(s.body), false);
  }
  /** tuple loops run two tuples per pass over their accumulator row (`jammed`) */
  jammedLoops = 0;

  /** block { loop { if (v (+1 when pairs) ≥ to) break; body; v += step; continue } } */
  private loop(v: number, to: Expr, step: number, outer: { to: number } | undefined, body: () => void, pairs: boolean): void {
    const c = this.c;
    c.op(Op.block, 0x40);
    this.labels.push('exit');
    c.op(Op.loop, 0x40);
    this.labels.push('loop');
    c.get(v);
    if (pairs) c.i32(1).op(Op.i32Add);
    if (outer) c.get(outer.to);
    else this.int(to);
    c.op(Op.i32GeS, Op.br_if, 1);
    body();
    c.get(v).i32(step).op(Op.i32Add).set(v).op(Op.br, 0);
    c.op(Op.end);
    this.labels.pop();
    c.op(Op.end);
    this.labels.pop();
  }

  // --- SIMD -----------------------------------------------------------------------------------
  private readonly vlocals = new Map<string, number>();
  /** a loop index read from another local (the iteration a lane or a pair of blocks is at) */
  private readonly alias = new Map<string, number>();

  /**
   * js.ts's unrolled inline sum — `for (i = 0; i < n; i += 4) { {…; s0 += x(i)} {w = i + 1; …; s1 +=
   * x(w)} … }`, four partial sums, each block the first at i + u — as two f64x2 accumulators
   * (s0, s1) and (s2, s3): each partial sum gets the same terms in the same order.
   */
  private unrolled(s: Extract<Stmt, { k: 'for' }>, outer: { from: number; to: number } | undefined): boolean {
    const c = this.c;
    const u = unrolledPlan(s, this);
    if (!u) return false;
    this.simdLoops++;
    const acc = u.accs.map((name) => this.locals.get(name)!.idx);
    const pair = [c.local(T.v128), c.local(T.v128)];
    for (let h = 0; h < 2; h++) c.get(acc[2 * h]!).simd(Simd.f64x2Splat).get(acc[2 * h + 1]!).simd(Simd.f64x2ReplaceLane, 1).set(pair[h]!);
    const v = this.locals.get(s.v)!.idx;
    const at2 = c.local(T.i32);
    this.loop(v, s.to, 4, outer, () => {
      for (let h = 0; h < 2; h++) {
        if (h === 1) {
          c.get(v).i32(2).op(Op.i32Add).set(at2);
          this.alias.set(s.v, at2);
        }
        this.vectorBody(u.body, s.v, u.plan);
        c.get(pair[h]!);
        this.vexpr(u.value, s.v, u.plan);
        c.simd(Simd.f64x2Add).set(pair[h]!);
      }
      this.alias.delete(s.v);
    }, false);
    for (let h = 0; h < 2; h++) {
      c.get(pair[h]!).simd(Simd.f64x2ExtractLane, 0).set(acc[2 * h]!);
      c.get(pair[h]!).simd(Simd.f64x2ExtractLane, 1).set(acc[2 * h + 1]!);
    }
    return true;
  }

  /** pushes the current value of loop index `v` (its alias when a lane or block pair moved it) */
  private vget(v: string): void {
    this.c.get(this.alias.get(v) ?? this.locals.get(v)!.idx);
  }

  private vectorBody(body: readonly Stmt[], v: string, plan: VectorPlan): void {
    const c = this.c;
    for (const st of body) {
      if (st.k === 'decl' && !plan.vector.has(st.name)) {
        // a scalar of the loop body (its value does not depend on the index)
        const l = this.locals.get(st.name) ?? this.local(st.name, this.typeOf(st.init) === 'f64' ? 'f64' : 'i32');
        this.coerce(this.expr(st.init), l.ty);
        c.set(l.idx);
      } else if (st.k === 'decl') {
        this.vexpr(st.init, v, plan);
        let l = this.vlocals.get(st.name);
        if (l === undefined) this.vlocals.set(st.name, (l = c.local(T.v128)));
        c.set(l);
      } else if (st.k === 'store') this.vstore(st, v, plan);
      else throw new Unsupported('a vector loop statement');
    }
  }

  /** a store at unit stride of the loop index: two cells, each lane's value */
  private vstore(st: Extract<Stmt, { k: 'store' }>, v: string, plan: VectorPlan): void {
    const c = this.c;
    const a = this.arr(st.arr);
    const addr = c.local(T.i32);
    this.addr(st.arr, st.at);
    c.set(addr);
    c.get(addr);
    if (st.add) {
      c.get(addr);
      this.vload(a.elem);
    }
    this.vexpr(st.value, v, plan);
    if (st.add) c.simd(Simd.f64x2Add);
    if (a.elem === 'f32') c.simd(Simd.f32x4DemoteF64x2Zero).simd(Simd.v128Store64Lane, 2, 0, 0);
    else c.simd(Simd.v128Store, 3, 0);
  }

  /**
   * The body of a loop vectorized around its inner loops (outerPlan): each lane runs one iteration
   * of the outer index, the inner loops' control stays scalar (it does not depend on the lane), and
   * names that depend on the outer index are f64x2 pairs; so each lane does its iteration's
   * operations in order (a dense U·G row: lanes over the output column, every load a pair or a splat).
   */
  private outerBody(body: readonly Stmt[], v: string, plan: VectorPlan): void {
    const c = this.c;
    for (const st of body) {
      if (st.k === 'decl' || (st.k === 'assign' && !plan.vector.has(st.name))) {
        if (st.k === 'decl' && plan.vector.has(st.name)) {
          this.vexpr(st.init, v, plan);
          let l = this.vlocals.get(st.name);
          if (l === undefined) this.vlocals.set(st.name, (l = c.local(T.v128)));
          c.set(l);
        } else this.stmt(st);
      } else if (st.k === 'assign') {
        const l = this.vlocals.get(st.name);
        if (l === undefined) throw new Unsupported(`vector ${st.name} before its declaration`);
        if (st.add) c.get(l);
        this.vexpr(st.value, v, plan);
        if (st.add) c.simd(Simd.f64x2Add);
        c.set(l);
      } else if (st.k === 'store') this.vstore(st, v, plan);
      else if (st.k === 'block') this.outerBody(st.body, v, plan);
      else if (st.k === 'for') {
        const w = this.local(st.v, 'i32');
        this.int(st.from);
        c.set(w.idx);
        this.loop(w.idx, st.to, st.step, undefined, () => this.outerBody(st.body, v, plan), false);
      } else throw new Unsupported('a vector loop statement');
    }
  }

  private vload(elem: Elem): void {
    if (elem === 'f32') this.c.simd(Simd.v128Load64Zero, 2, 0).simd(Simd.f64x2PromoteLowF32x4);
    else if (elem === 'f64') this.c.simd(Simd.v128Load, 3, 0);
    else throw new Unsupported('a vector of integers');
  }

  /** pushes an f64x2 of the expression at iterations v and v+1 */
  private vexpr(e: Expr, v: string, plan: VectorPlan): void {
    const c = this.c;
    if (!dependsOn(e, v, plan.vector)) {
      this.f64(e);
      c.simd(Simd.f64x2Splat);
      return;
    }
    switch (e.k) {
      case 'name': {
        const l = this.vlocals.get(e.name);
        if (l === undefined) throw new Unsupported(`vector ${e.name}`);
        c.get(l);
        return;
      }
      case 'index': {
        if (unitStride(e.at, v, plan.vector)) {
          this.addr(e.arr, e.at);
          this.vload(this.arr(e.arr).elem);
          return;
        }
        // another stride: one scalar load per lane, the second at index v + 1
        this.expr(e);
        c.simd(Simd.f64x2Splat);
        const next = c.local(T.i32);
        this.vget(v);
        c.i32(1).op(Op.i32Add).set(next);
        const was = this.alias.get(v);
        this.alias.set(v, next);
        this.expr(e);
        if (was === undefined) this.alias.delete(v);
        else this.alias.set(v, was);
        c.simd(Simd.f64x2ReplaceLane, 1);
        return;
      }
      case 'neg':
        this.vexpr(e.a, v, plan);
        c.simd(Simd.f64x2Neg);
        return;
      case 'bin': {
        const ops: Record<string, number> = { '+': Simd.f64x2Add, '-': Simd.f64x2Sub, '*': Simd.f64x2Mul, '/': Simd.f64x2Div };
        this.vexpr(e.a, v, plan);
        this.vexpr(e.b, v, plan);
        c.simd(ops[e.op]!);
        return;
      }
      case 'math': {
        const ops: Record<string, number> = { abs: Simd.f64x2Abs, sqrt: Simd.f64x2Sqrt, max: Simd.f64x2Max, min: Simd.f64x2Min };
        e.args.forEach((a) => this.vexpr(a, v, plan));
        c.simd(ops[e.fn]!);
        return;
      }
      default:
        throw new Unsupported(`vector ${e.k}`);
    }
  }
}

interface VectorPlan {
  /** names whose value differs between iterations (the loop index and what depends on it) */
  readonly vector: ReadonlySet<string>;
}

function dependsOn(e: Expr, v: string, vector: ReadonlySet<string>): boolean {
  switch (e.k) {
    case 'num':
      return false;
    case 'name':
      return e.name === v || vector.has(e.name);
    case 'index':
      return dependsOn(e.at, v, vector);
    case 'neg':
    case 'not':
      return dependsOn(e.a, v, vector);
    case 'cond':
      return [e.c, e.a, e.b].some((x) => dependsOn(x, v, vector));
    case 'math':
      return e.args.some((x) => dependsOn(x, v, vector));
    case 'bin':
      return dependsOn(e.a, v, vector) || dependsOn(e.b, v, vector);
  }
}

/** `base + v` (or `v`) with base free of the loop: consecutive cells for consecutive iterations */
function unitStride(at: Expr, v: string, vector: ReadonlySet<string>): boolean {
  if (at.k === 'name' && at.name === v) return true;
  if (at.k !== 'bin' || at.op !== '+') return false;
  const a = dependsOn(at.a, v, vector);
  const b = dependsOn(at.b, v, vector);
  if (a && b) return false;
  return a ? unitStride(at.a, v, vector) : b ? unitStride(at.b, v, vector) : false;
}

function sameExpr(a: Expr, b: Expr): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * Whether an innermost loop can run as f64x2 pairs of iterations: straight-line `const`s and array
 * stores, float arithmetic on values that depend on the index only through unit-stride reads of
 * float arrays, stores at unit stride, and no array both stored and read at another cell.
 */
function vectorPlan(s: Extract<Stmt, { k: 'for' }>, g: FnGen): VectorPlan | undefined {
  if (!s.body.every((st) => st.k === 'store' || (st.k === 'decl' && !st.mutable))) return undefined;
  return guarded(g, s.v, () => planVector(s.v, s.body, g));
}

/** runs a SIMD planner with the loop index typed, undefined when it meets anything unsupported */
function guarded<R>(g: FnGen, v: string, plan: () => R | undefined): R | undefined {
  g.pending.clear();
  g.pending.set(v, 'i32');
  try {
    return plan();
  } catch (e) {
    if (e instanceof Unsupported) return undefined;
    throw e;
  } finally {
    g.pending.clear();
  }
}

/** names an expression reads */
function names(e: Expr): string[] {
  switch (e.k) {
    case 'num':
      return [];
    case 'name':
      return [e.name];
    case 'index':
      return names(e.at);
    case 'neg':
    case 'not':
      return names(e.a);
    case 'cond':
      return [...names(e.c), ...names(e.a), ...names(e.b)];
    case 'math':
      return e.args.flatMap(names);
    case 'bin':
      return [...names(e.a), ...names(e.b)];
  }
}

/**
 * The SIMD plan of straight-line statements over loop index v (`value`: an extra expression that
 * must vectorize too, an unrolled block's partial-sum term), or undefined.
 */
function planVector(v: string, body: readonly Stmt[], g: FnGen, value?: Expr): VectorPlan | undefined {
  const vector = new Set<string>();
  const stored = new Map<string, Expr>();
  for (const st of body) if (st.k === 'store') stored.set(st.arr, st.at);
  const okVec = (e: Expr): boolean => vectorizable(e, v, vector, stored, g);
  for (const st of body) {
    if (st.k === 'decl') {
      if (st.mutable) return undefined;
      if (dependsOn(st.init, v, vector)) {
        if (!okVec(st.init)) return undefined;
        vector.add(st.name);
        g.pending.set(st.name, 'f64');
      } else {
        if (!okVec(st.init)) return undefined;
        const t = g.typeOf(st.init);
        g.pending.set(st.name, t === 'bool' ? 'i32' : t);
      }
    } else if (st.k === 'store') {
      if (g.isScalarRow(st.arr) || !unitStride(st.at, v, vector) || !okVec(st.value)) return undefined;
      if (g.typeOf({ k: 'index', arr: st.arr, at: st.at }) !== 'f64') return undefined;
    } else return undefined;
  }
  if (value) return dependsOn(value, v, vector) && okVec(value) ? { vector } : undefined;
  return stored.size ? { vector } : undefined;
}

/**
 * Whether `e` can be computed for iterations v and v + 1 as one f64x2 (or once, then splat, when it
 * does not depend on v): float arithmetic on unit-stride reads of float arrays (or lane-by-lane
 * reads whose address depends on v alone); an array the loop stores into is read only at the cell
 * being stored.
 */
function vectorizable(e: Expr, v: string, vector: ReadonlySet<string>, stored: ReadonlyMap<string, Expr>, g: FnGen): boolean {
  const okVec = (x: Expr): boolean => vectorizable(x, v, vector, stored, g);
  if (!dependsOn(e, v, vector)) {
    // a scalar read of an array this loop stores into could see a cell another lane writes
    const reads: string[] = [];
    const collect = (x: Expr): void => {
      if (x.k === 'index') reads.push(x.arr);
      if (x.k === 'bin') (collect(x.a), collect(x.b));
      if (x.k === 'neg' || x.k === 'not') collect(x.a);
      if (x.k === 'cond') [x.c, x.a, x.b].forEach(collect);
      if (x.k === 'math') x.args.forEach(collect);
      if (x.k === 'index') collect(x.at);
    };
    collect(e);
    return reads.every((r) => !stored.has(r)) && g.typeOf(e) !== 'bool';
  }
  switch (e.k) {
    case 'name':
      return vector.has(e.name);
    case 'index': {
      const st = stored.get(e.arr);
      if (g.typeOf(e) !== 'f64' || g.isScalarRow(e.arr)) return false;
      if (st) return unitStride(e.at, v, vector) && sameExpr(st, e.at);
      // any index that depends on the loop only through the index itself (lanes load one by one)
      return !names(e.at).some((n) => vector.has(n));
    }
    case 'neg':
      return okVec(e.a);
    case 'bin':
      return ['+', '-', '*', '/'].includes(e.op) && okVec(e.a) && okVec(e.b);
    case 'math':
      return ['abs', 'sqrt', 'max', 'min'].includes(e.fn) && e.args.every(okVec);
    default:
      return false;
  }
}

/**
 * Whether a loop with inner loops can run as f64x2 pairs of its own iterations (FnGen.outerBody):
 * statements are declarations, assignments to names declared inside it, stores at unit stride of
 * its index and inner counted loops whose bounds do not depend on it (no `if`, `break` or row
 * fill); every value that depends on the index is vectorizable. A name is a pair when its
 * declaration or any assignment to it depends on the index (found to a fixpoint: an accumulator
 * of an inner loop becomes one when its terms do).
 */
function outerPlan(s: Extract<Stmt, { k: 'for' }>, g: FnGen): VectorPlan | undefined {
  const flatBody: Stmt[] = [];
  const declared = new Set<string>();
  const walk = (ss: readonly Stmt[]): boolean =>
    ss.every((st) => {
      flatBody.push(st);
      if (st.k === 'decl') declared.add(st.name);
      if (st.k === 'for') declared.add(st.v);
      if (st.k === 'block' || st.k === 'for') return walk(st.body);
      return st.k === 'decl' || st.k === 'assign' || st.k === 'store';
    });
  if (!walk(s.body) || !flatBody.some((st) => st.k === 'for')) return undefined;
  if (flatBody.some((st) => st.k === 'assign' && !declared.has(st.name))) return undefined;
  const vector = new Set<string>();
  for (let changed = true; changed; ) {
    changed = false;
    for (const st of flatBody) {
      const x = st.k === 'decl' ? st.init : st.k === 'assign' ? st.value : undefined;
      const name = st.k === 'decl' || st.k === 'assign' ? st.name : undefined;
      if (x && name && !vector.has(name) && dependsOn(x, s.v, vector)) (vector.add(name), (changed = true));
    }
  }
  const stored = new Map<string, Expr>();
  for (const st of flatBody) if (st.k === 'store') stored.set(st.arr, st.at);
  return guarded(g, s.v, () => {
    const ok = (e: Expr): boolean => vectorizable(e, s.v, vector, stored, g);
    // stores only at the loop's own level: inside an inner loop, two lanes could meet at one cell
    const check = (ss: readonly Stmt[], depth: number): boolean =>
      ss.every((st) => {
        switch (st.k) {
          case 'decl': {
            if (!ok(st.init)) return false;
            const t = g.typeOf(st.init);
            if (vector.has(st.name) && t !== 'f64') return false;
            g.pending.set(st.name, t === 'bool' ? 'i32' : t);
            return true;
          }
          case 'assign':
            return ok(st.value);
          case 'store':
            return depth === 0 && !g.isScalarRow(st.arr) && unitStride(st.at, s.v, vector) && ok(st.value) && g.typeOf({ k: 'index', arr: st.arr, at: st.at }) === 'f64';
          case 'block':
            return check(st.body, depth);
          case 'for':
            if (dependsOn(st.from, s.v, vector) || dependsOn(st.to, s.v, vector)) return false;
            g.pending.set(st.v, 'i32');
            return check(st.body, depth + 1);
          default:
            return false;
        }
      });
    return check(s.body, 0) && stored.size ? { vector } : undefined;
  });
}

/** The unrolled sum's first block as a SIMD plan, when the other three are it at i + 1, + 2, + 3. */
function unrolledPlan(s: Extract<Stmt, { k: 'for' }>, g: FnGen): { accs: string[]; body: Stmt[]; value: Expr; plan: VectorPlan } | undefined {
  if (s.body.length !== 4 || !s.body.every((b) => b.k === 'block')) return undefined;
  const blocks = s.body.map((b) => (b as Extract<Stmt, { k: 'block' }>).body);
  const accs: string[] = [];
  const canon: string[] = [];
  for (const [u, b] of blocks.entries()) {
    const last = b[b.length - 1];
    if (!last || last.k !== 'assign' || !last.add) return undefined;
    accs.push(last.name);
    let rest = b.slice(0, -1);
    const rename = new Map<string, string>();
    if (u > 0) {
      const w = rest[0];
      if (!w || w.k !== 'decl' || w.init.k !== 'bin' || w.init.op !== '+' || w.init.a.k !== 'name' || w.init.a.name !== s.v || w.init.b.k !== 'num' || w.init.b.value !== u || w.init.b.float) return undefined;
      rename.set(w.name, s.v);
      rest = rest.slice(1);
    }
    let n = 0;
    for (const st of rest) if (st.k === 'decl') rename.set(st.name, `#${n++}`);
    canon.push(JSON.stringify([...rest, { k: 'assign', name: '', add: true, value: last.value }], (key, x: unknown) => (typeof x === 'string' && rename.has(x) && (key === 'name') ? rename.get(x) : x)));
  }
  if (new Set(accs).size !== 4 || canon.some((x) => x !== canon[0])) return undefined;
  if (accs.some((a) => g.typeOf({ k: 'name', name: a }) !== 'f64')) return undefined;
  const body = blocks[0]!.slice(0, -1);
  const value = (blocks[0]![blocks[0]!.length - 1] as Extract<Stmt, { k: 'assign' }>).value;
  if (!body.every((st) => st.k === 'decl' && !st.mutable)) return undefined;
  const plan = guarded(g, s.v, () => planVector(s.v, body, g, value));
  return plan ? { accs, body, value, plan } : undefined;
}

/**
 * Whether the body is float64 scratch rows then one loop over the output rows from 0, each row
 * clearing every scratch row before it reads it: then its rows can be split between threads.
 */
function splittable(ss: readonly Stmt[]): number | undefined {
  const rows = ss.filter((s) => s.k === 'f64array').map((s) => s.name);
  const rest = ss.filter((s) => s.k !== 'f64array');
  if (rest.length !== 1) return undefined;
  const f = rest[0]!;
  if (f.k !== 'for' || f.step !== 1 || f.from.k !== 'num' || f.from.value !== 0 || f.to.k !== 'num' || f.to.float) return undefined;
  for (const r of rows) {
    const first = f.body.find((s) => JSON.stringify(s).includes(`"${r}"`));
    if (!first || first.k !== 'fill' || first.arr !== r) return undefined;
  }
  return f.to.value;
}

/** The wasm module of one kernel body: params out, p0…, scratch, lo, hi (all i32). */
export function genFunction(body: readonly Stmt[], argElems: readonly Elem[]): WasmFunction {
  const g = new FnGen(argElems);
  g.registerRows(body);
  const rows = splittable(body);
  for (const s of body) g.stmt(s, rows !== undefined && s.k === 'for' ? { from: g.lo, to: g.hi } : undefined);
  const params = [...argElems.map(() => T.i32), T.i32, T.i32, T.i32, T.i32];
  return { bytes: encodeModule(IMPORTS, params, g.c, MAX_PAGES), rows, scratchBytes: g.scratchBytes, simdLoops: g.simdLoops, jammedLoops: g.jammedLoops };
}

/** `e` with names renamed by `map` */
function renameExpr(e: Expr, map: ReadonlyMap<string, string>): Expr {
  switch (e.k) {
    case 'num':
      return e;
    case 'name':
      return map.has(e.name) ? { k: 'name', name: map.get(e.name)! } : e;
    case 'index':
      return { ...e, at: renameExpr(e.at, map) };
    case 'bin':
      return { ...e, a: renameExpr(e.a, map), b: renameExpr(e.b, map) };
    case 'neg':
    case 'not':
      return { ...e, a: renameExpr(e.a, map) };
    case 'cond':
      return { ...e, c: renameExpr(e.c, map), a: renameExpr(e.a, map), b: renameExpr(e.b, map) };
    case 'math':
      return { ...e, args: e.args.map((x) => renameExpr(x, map)) };
  }
}

/**
 * A CSR walk's tuple loop run two tuples per pass (unroll-and-jam): `for (j …) { per-tuple consts;
 * for (i …) { consts; acc[i] += x } }` becomes, for tuples j and j + 1, both tuples' consts and one
 * inner loop storing acc[i] = (acc[i] + x_j) + x_{j+1} — the same two float64 additions in the same
 * order as two passes (a float64 row stores exactly), so the same bits, with the accumulator row
 * loaded and stored once per two tuples. Only when every store is such an accumulation into a float64
 * row at cells the tuple does not choose, and nothing else reads a stored row. The caller runs the
 * last tuple of an odd count as written.
 */
function jammed(s: Extract<Stmt, { k: 'for' }>, g: FnGen): Stmt[] | undefined {
  const pre = s.body.slice(0, -1);
  const inner = s.body[s.body.length - 1];
  // per-tuple consts, and a split-K box's `if (t >= n) { break; }` (each copy checks its own tuple;
  // a break leaves the pair loop and the caller's loop runs the tuple before it as written)
  const guard = (st: Stmt): boolean => st.k === 'if' && st.body.length === 1 && st.body[0]!.k === 'break';
  if (!inner || inner.k !== 'for' || inner.step !== 1 || !pre.every((st) => (st.k === 'decl' && !st.mutable) || guard(st))) return undefined;
  if (!inner.body.every((st) => (st.k === 'decl' && !st.mutable) || st.k === 'store')) return undefined;
  const stores = inner.body.filter((st): st is Extract<Stmt, { k: 'store' }> => st.k === 'store');
  if (!stores.length) return undefined;
  const perTuple = new Set([s.v, ...pre.map((st) => (st as Extract<Stmt, { k: 'decl' }>).name), ...inner.body.flatMap((st) => (st.k === 'decl' ? [st.name] : []))]);
  const rows = new Set(stores.map((st) => st.arr));
  const readsRow = (e: Expr): boolean => (e.k === 'index' && rows.has(e.arr)) || sub(e).some(readsRow);
  for (const st of stores) {
    if (!st.add || g.elemOf(st.arr) !== 'f64' || names(st.at).some((n) => perTuple.has(n)) || !names(st.at).includes(inner.v)) return undefined;
    if (readsRow(st.value)) return undefined;
  }
  if (new Set(stores.map((st) => st.arr)).size !== stores.length) return undefined;
  for (const st of [...pre, ...inner.body]) if ((st.k === 'decl' && readsRow(st.init)) || (st.k === 'if' && readsRow(st.c))) return undefined;
  if (names(inner.from).some((n) => perTuple.has(n)) || names(inner.to).some((n) => perTuple.has(n))) return undefined;
  const map = new Map([...perTuple].map((n) => [n, `${n}'`]));
  const second = (st: Extract<Stmt, { k: 'decl' }>): Stmt => ({ ...st, name: map.get(st.name)!, init: renameExpr(st.init, map) });
  const secondPre = (st: Stmt): Stmt => (st.k === 'decl' ? second(st) : st.k === 'if' ? { ...st, c: renameExpr(st.c, map) } : st);
  const decls = (ss: readonly Stmt[]): Extract<Stmt, { k: 'decl' }>[] => ss.filter((st): st is Extract<Stmt, { k: 'decl' }> => st.k === 'decl');
  const body: Stmt[] = [
    ...decls(inner.body),
    ...decls(inner.body).map(second),
    ...stores.map((st): Stmt => ({ k: 'store', arr: st.arr, at: st.at, add: false, value: { k: 'bin', op: '+', a: { k: 'bin', op: '+', a: { k: 'index', arr: st.arr, at: st.at }, b: st.value }, b: renameExpr(st.value, map) } })),
  ];
  return [
    { k: 'decl', name: map.get(s.v)!, mutable: false, init: { k: 'bin', op: '+', a: { k: 'name', name: s.v }, b: { k: 'num', text: '1', value: 1, float: false } } },
    ...pre,
    ...pre.map(secondPre),
    { ...inner, body },
  ];
}

/** an expression's direct subexpressions */
function sub(e: Expr): Expr[] {
  switch (e.k) {
    case 'num':
    case 'name':
      return [];
    case 'index':
      return [e.at];
    case 'bin':
      return [e.a, e.b];
    case 'neg':
    case 'not':
      return [e.a];
    case 'cond':
      return [e.c, e.a, e.b];
    case 'math':
      return [...e.args];
  }
}

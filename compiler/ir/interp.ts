// The reference interpreter: evaluates any IR expression in float64, naively (every sum is a loop
// exactly as written; a max/min reduction too, its value reused while its free indices stay put).
// It is the oracle for rewrites, gradients and generated kernels, so it is deliberately simple:
// the expression is compiled once into closures over a frame of index slots.
import { InternalError } from '../diagnostics/diagnostics.ts';
import { assertNever, evalCmp, evalUnary, freeIdx, idxKey, type Expr, type Idx, type Ix } from './nodes.ts';
import type { Sizes } from './module.ts';
import { columnKey } from './spaces.ts';

export interface TensorValue {
  readonly data: ArrayLike<number>;
  /** one space name per axis, row-major */
  readonly shape: readonly string[];
}

export interface Env {
  readonly sizes: Sizes;
  /** params by name, data columns by `rel.col`, hypers by name (shape []) */
  readonly tensors: ReadonlyMap<string, TensorValue>;
  /** id columns by `rel.col` */
  readonly ids: ReadonlyMap<string, ArrayLike<number>>;
}

type Frame = Int32Array;
type Fn = (f: Frame) => number;

export function tensorKey(e: Extract<Expr, { op: 'tensor' }>): string {
  return e.name;
}

/** Evaluates a closed expression to a number. */
export function evalScalar(e: Expr, env: Env): number {
  const free = [...freeIdx(e).values()];
  if (free.length) throw new InternalError(`evalScalar: free indices ${free.map((i) => i.name).join(', ')}`);
  return evalTensor(e, env, [])[0]!;
}

/** Evaluates an expression over its free indices `out` (row-major in that order). */
export function evalTensor(e: Expr, env: Env, out: readonly Idx[]): Float64Array {
  const slots = new Map<string, number>();
  const slotOf = (i: Idx): number => {
    const k = idxKey(i);
    let s = slots.get(k);
    if (s === undefined) slots.set(k, (s = slots.size));
    return s;
  };
  out.forEach(slotOf);
  for (const k of freeIdx(e).keys()) {
    if (!slots.has(k)) throw new InternalError(`evalTensor: free index ${k} not in output`);
  }
  const fn = compile(e, env, slotOf);
  const dims = out.map((i) => sizeOf(env, i.space));
  const total = dims.reduce((a, b) => a * b, 1);
  const result = new Float64Array(total);
  const frame = new Int32Array(Math.max(1, slots.size + 64));
  const outSlots = out.map((i) => slots.get(idxKey(i))!);
  for (let flat = 0; flat < total; flat++) {
    let rem = flat;
    for (let a = dims.length - 1; a >= 0; a--) {
      frame[outSlots[a]!] = rem % dims[a]!;
      rem = Math.floor(rem / dims[a]!);
    }
    result[flat] = fn(frame);
  }
  return result;
}

export function sizeOf(env: Env, space: string): number {
  const n = env.sizes.get(space);
  if (n === undefined) throw new InternalError(`no size for space ${space}`);
  return n;
}

function compile(e: Expr, env: Env, slotOf: (i: Idx) => number): Fn {
  const go = (x: Expr): Fn => compile(x, env, slotOf);
  switch (e.op) {
    case 'const': {
      const c = e.value;
      return () => c;
    }
    case 'size': {
      const n = sizeOf(env, e.space);
      return () => n;
    }
    case 'tensor': {
      const t = env.tensors.get(tensorKey(e));
      if (!t) throw new InternalError(`no value for tensor ${e.name}`);
      if (t.shape.length !== e.ix.length) throw new InternalError(`${e.name}: rank ${t.shape.length}, accessed with ${e.ix.length}`);
      const strides: number[] = [];
      let s = 1;
      for (let a = t.shape.length - 1; a >= 0; a--) {
        strides[a] = s;
        s *= sizeOf(env, t.shape[a]!);
      }
      const ixs = e.ix.map((x) => compileIx(x, env, slotOf));
      const data = t.data;
      if (ixs.length === 0) return () => data[0]!;
      if (ixs.length === 1) {
        const [i0] = ixs as [Fn];
        return (f) => data[i0(f)]!;
      }
      if (ixs.length === 2) {
        const [i0, i1] = ixs as [Fn, Fn];
        const s0 = strides[0]!;
        return (f) => data[i0(f) * s0 + i1(f)]!;
      }
      return (f) => {
        let off = 0;
        for (let a = 0; a < ixs.length; a++) off += ixs[a]!(f) * strides[a]!;
        return data[off]!;
      };
    }
    case 'add': {
      const fs = e.args.map(go);
      return (f) => {
        let s = 0;
        for (const g of fs) s += g(f);
        return s;
      };
    }
    case 'mul': {
      const fs = e.args.map(go);
      return (f) => {
        let p = 1;
        for (const g of fs) p *= g(f);
        return p;
      };
    }
    case 'pow': {
      const b = go(e.base);
      const n = e.exp;
      if (n === 2) return (f) => {
        const x = b(f);
        return x * x;
      };
      if (n === -1) return (f) => 1 / b(f);
      return (f) => Math.pow(b(f), n);
    }
    case 'call': {
      const a = go(e.arg);
      const fn = e.fn;
      return (f) => evalUnary(fn, a(f));
    }
    case 'call2': {
      const a = go(e.a);
      const b = go(e.b);
      return e.fn === 'max' ? (f) => Math.max(a(f), b(f)) : (f) => Math.min(a(f), b(f));
    }
    case 'cmp': {
      const a = go(e.a);
      const b = go(e.b);
      const op = e.cmp;
      return (f) => (evalCmp(op, a(f), b(f)) ? 1 : 0);
    }
    case 'select': {
      const c = go(e.cond);
      const a = go(e.a);
      const b = go(e.b);
      return (f) => (c(f) !== 0 ? a(f) : b(f));
    }
    case 'eq': {
      const a = compileIx(e.a, env, slotOf);
      const b = compileIx(e.b, env, slotOf);
      return (f) => (a(f) === b(f) ? 1 : 0);
    }
    case 'ord':
      return compileIx(e.ix, env, slotOf);
    case 'sum': {
      const body = go(e.body);
      const slots = e.over.map(slotOf);
      const ns = e.over.map((i) => sizeOf(env, i.space));
      // an inner sum may rebind an enclosing index's name: save and restore its slot
      if (slots.length === 1) {
        const [s0] = slots as [number];
        const [n0] = ns as [number];
        return (f) => {
          const saved = f[s0]!;
          let acc = 0;
          for (let a = 0; a < n0; a++) {
            f[s0] = a;
            acc += body(f);
          }
          f[s0] = saved;
          return acc;
        };
      }
      const rec = (f: Frame, level: number): number => {
        if (level === slots.length) return body(f);
        let acc = 0;
        const s = slots[level]!;
        for (let a = 0; a < ns[level]!; a++) {
          f[s] = a;
          acc += rec(f, level + 1);
        }
        return acc;
      };
      return (f) => {
        const saved = slots.map((s) => f[s]!);
        const acc = rec(f, 0);
        slots.forEach((s, j) => (f[s] = saved[j]!));
        return acc;
      };
    }
    case 'reduce': {
      // max/min: the first element starts the running extremum (an empty space gives 0); argmax and
      // argmin keep the position of the first element that beats it strictly (as the kernels do). The
      // value depends only on the free indices, so it is kept while their slots hold the same ids (a
      // max inside a loop it does not depend on, e.g. m in Σ_j exp(f_j − m), is computed once per change)
      const body = go(e.body);
      const slots = e.over.map(slotOf);
      const ns = e.over.map((i) => sizeOf(env, i.space));
      const freeSlots = [...freeIdx(e).values()].map(slotOf);
      const fn = e.fn;
      const arg = fn === 'argmax' || fn === 'argmin';
      let lastKey: number[] | undefined;
      let last = 0;
      return (f) => {
        if (lastKey && freeSlots.every((s, j) => f[s] === lastKey![j])) return last;
        const saved = slots.map((s) => f[s]!);
        let acc = 0;
        let best = 0;
        let any = false;
        const rec = (level: number): void => {
          if (level === slots.length) {
            const x = body(f);
            if (arg) {
              if (!any || (fn === 'argmax' ? x > best : x < best)) {
                best = x;
                acc = f[slots[0]!]!;
              }
            } else acc = !any ? x : fn === 'max' ? Math.max(acc, x) : Math.min(acc, x);
            any = true;
            return;
          }
          const s = slots[level]!;
          for (let a = 0; a < ns[level]!; a++) {
            f[s] = a;
            rec(level + 1);
          }
        };
        rec(0);
        slots.forEach((s, j) => (f[s] = saved[j]!));
        lastKey = freeSlots.map((s) => f[s]!);
        last = acc;
        return acc;
      };
    }
    default:
      return assertNever(e);
  }
}

function compileIx(x: Ix, env: Env, slotOf: (i: Idx) => number): Fn {
  if (x.kind === 'var') {
    const s = slotOf(x.idx);
    return (f) => f[s]!;
  }
  const col = env.ids.get(columnKey(x.rel, x.col));
  if (!col) throw new InternalError(`no id column ${x.rel}.${x.col}`);
  const s = slotOf(x.t);
  return (f) => col[f[s]!]!;
}

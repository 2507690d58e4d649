// The IR's node types and what is computed from their structure alone: index keys, free indices and
// the scalar meaning of functions and comparisons. No constructors: nodes are made only by the smart
// constructors of nodes.ts, which re-exports everything here. Split from nodes.ts so that the
// folding rules (fold.ts), which nodes.ts applies, can name the types without an import cycle.
import { InternalError } from '../diagnostics/diagnostics.ts';
import type { SizeSym } from './spaces.ts';

export interface Idx {
  readonly name: string;
  readonly space: string;
}

/** An index position of a tensor access: a variable, or a relation column gathered at a tuple. */
export type Ix =
  | { readonly kind: 'var'; readonly idx: Idx }
  /** `rel.col[t]` — the id (in `domain`) that column `col` holds at tuple `t` of `rel` */
  | { readonly kind: 'gather'; readonly rel: string; readonly col: string; readonly domain: string; readonly t: Idx };

/** What a tensor leaf refers to. Params are learned; data are relation value columns (`rel.col`);
 * hypers are scalar hyperparameters (const) kept symbolic so a compiled artifact can be rerun with
 * --set; temps are intermediates materialized by the planner (codegen/plan.ts). */
export type TensorKind = 'param' | 'data' | 'hyper' | 'temp';

export type UnaryFn = 'exp' | 'log' | 'sqrt' | 'abs' | 'sigmoid' | 'logsigmoid' | 'softplus' | 'relu' | 'tanh' | 'step' | 'sign';
export type BinaryFn = 'max' | 'min';
/** what a `reduce` node takes over its iteration space: the extremum, or (`arg…`, over one index)
 * the 0-based position of that index at the first element attaining it */
export type ReduceFn = 'max' | 'min' | 'argmax' | 'argmin';
export type CmpOp = '<' | '<=' | '>' | '>=' | '==' | '!=';

export type Expr =
  | { readonly op: 'const'; readonly id: number; readonly value: number }
  /** a size symbol (ir/spaces.ts); `space` is its key in a Sizes map, `sym` says what it counts */
  | { readonly op: 'size'; readonly id: number; readonly space: string; readonly sym: SizeSym }
  | { readonly op: 'tensor'; readonly id: number; readonly kind: TensorKind; readonly name: string; readonly ix: readonly Ix[] }
  | { readonly op: 'add'; readonly id: number; readonly args: readonly Expr[] }
  | { readonly op: 'mul'; readonly id: number; readonly args: readonly Expr[] }
  | { readonly op: 'pow'; readonly id: number; readonly base: Expr; readonly exp: number }
  | { readonly op: 'call'; readonly id: number; readonly fn: UnaryFn; readonly arg: Expr }
  | { readonly op: 'call2'; readonly id: number; readonly fn: BinaryFn; readonly a: Expr; readonly b: Expr }
  | { readonly op: 'cmp'; readonly id: number; readonly cmp: CmpOp; readonly a: Expr; readonly b: Expr }
  | { readonly op: 'select'; readonly id: number; readonly cond: Expr; readonly a: Expr; readonly b: Expr }
  /** Kronecker delta: 1 where two index positions hold the same id, else 0 (from differentiation) */
  | { readonly op: 'eq'; readonly id: number; readonly a: Ix; readonly b: Ix }
  | { readonly op: 'sum'; readonly id: number; readonly over: readonly Idx[]; readonly body: Expr }
  /** max or min of body over the iteration space of `over` (binders, like a sum's); 0 when that space is empty */
  | { readonly op: 'reduce'; readonly id: number; readonly fn: ReduceFn; readonly over: readonly Idx[]; readonly body: Expr }
  /** the id an index position holds as a number: a variable's 0-based position, a gather's id */
  | { readonly op: 'ord'; readonly id: number; readonly ix: Ix };

export type Op = Expr['op'];
export type ExprOf<K extends Op> = Extract<Expr, { op: K }>;

export function idxKey(i: Idx): string {
  return `${i.name}:${i.space}`;
}

export function ixKey(x: Ix): string {
  return x.kind === 'var' ? idxKey(x.idx) : `${x.rel}.${x.col}@${idxKey(x.t)}`;
}

export const v = (idx: Idx): Ix => ({ kind: 'var', idx });
export const idx = (name: string, space: string): Idx => ({ name, space });

// ---------------------------------------------------------------------------------------------
// Free indices

const freeMemo = new WeakMap<Expr, ReadonlyMap<string, Idx>>();

/** The index variables an expression depends on that no enclosing sum binds. */
export function freeIdx(e: Expr): ReadonlyMap<string, Idx> {
  const hit = freeMemo.get(e);
  if (hit) return hit;
  const out = new Map<string, Idx>();
  const addIx = (x: Ix): void => {
    const i = x.kind === 'var' ? x.idx : x.t;
    out.set(idxKey(i), i);
  };
  const addAll = (m: ReadonlyMap<string, Idx>): void => m.forEach((i, k) => out.set(k, i));
  switch (e.op) {
    case 'const':
    case 'size':
      break;
    case 'tensor':
      e.ix.forEach(addIx);
      break;
    case 'add':
    case 'mul':
      e.args.forEach((a) => addAll(freeIdx(a)));
      break;
    case 'pow':
      addAll(freeIdx(e.base));
      break;
    case 'call':
      addAll(freeIdx(e.arg));
      break;
    case 'call2':
    case 'cmp':
      addAll(freeIdx(e.a));
      addAll(freeIdx(e.b));
      break;
    case 'select':
      addAll(freeIdx(e.cond));
      addAll(freeIdx(e.a));
      addAll(freeIdx(e.b));
      break;
    case 'eq':
      addIx(e.a);
      addIx(e.b);
      break;
    case 'ord':
      addIx(e.ix);
      break;
    case 'sum':
    case 'reduce': {
      addAll(freeIdx(e.body));
      for (const i of e.over) out.delete(idxKey(i));
      break;
    }
    default:
      assertNever(e);
  }
  freeMemo.set(e, out);
  return out;
}

export function freeKeys(e: Expr): ReadonlySet<string> {
  return new Set(freeIdx(e).keys());
}

export function assertNever(x: never): never {
  throw new InternalError(`unexpected IR node ${JSON.stringify(x)}`);
}

// ---------------------------------------------------------------------------------------------
// Scalar semantics shared by the interpreter, constant folding and codegen tests

export function evalUnary(fn: UnaryFn, x: number): number {
  switch (fn) {
    case 'exp':
      return Math.exp(x);
    case 'log':
      return Math.log(x);
    case 'sqrt':
      return Math.sqrt(x);
    case 'abs':
      return Math.abs(x);
    case 'sigmoid':
      return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
    case 'logsigmoid':
      return -softplus(-x);
    case 'softplus':
      return softplus(x);
    case 'relu':
      return Math.max(0, x);
    case 'tanh':
      return Math.tanh(x);
    case 'step':
      return x > 0 ? 1 : 0;
    case 'sign':
      return x > 0 ? 1 : x < 0 ? -1 : 0;
    default:
      return assertNever(fn);
  }
}

/** log(1 + e^x), stable for large |x| */
export function softplus(x: number): number {
  return Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
}

export function evalCmp(op: CmpOp, a: number, b: number): boolean {
  switch (op) {
    case '<':
      return a < b;
    case '<=':
      return a <= b;
    case '>':
      return a > b;
    case '>=':
      return a >= b;
    case '==':
      return a === b;
    case '!=':
      return a !== b;
    default:
      return assertNever(op);
  }
}

// What lowering computes for an AST expression before it is a scalar IR expression: a Value (a
// scalar, a row vector over a dim, an index position, a sparse row, a sample set, a whole tensor),
// the helpers that combine Values elementwise, and the Unsupported error that becomes RC0590.
// Pure functions of their arguments: no lowering state lives here.
import type * as ast from '../syntax/ast.ts';
import type { Expr, Idx, Ix } from '../ir/nodes.ts';

/** A lowered value: a scalar expression, a row vector over a dim, an index, or a whole tensor. */
export type Value =
  | { readonly kind: 'scalar'; readonly e: Expr }
  | { readonly kind: 'row'; readonly dim: string; readonly at: (k: Idx) => Expr }
  | {
      readonly kind: 'index';
      readonly ix: Ix;
      readonly domain: string;
      readonly logq?: Expr;
      /** for `j in x`: the entry of the sparse row that j walks (x[j] reads its value) */
      readonly entry?: { readonly space: string; readonly n: Idx };
    }
  /** a sparse row `x` of tuple t: its non-zeros are the tuples of entries space `entries` with row = t */
  | { readonly kind: 'sparse'; readonly entries: string; readonly domain: string; readonly t: Idx }
  /** a sample set `J ~ pop(item) x K`: a space of K sampled ids shared by the batch */
  | { readonly kind: 'samples'; readonly space: string; readonly domain: string }
  | { readonly kind: 'whole'; readonly name: string };

/** The values of the names in scope (def parameters, bound variables). */
export type Scope = ReadonlyMap<string, Value>;

/** A construct that checks but cannot be lowered yet: reported as RC0590 by lower.ts, never thrown out. */
export class Unsupported extends Error {
  constructor(readonly span: ast.Expr['span'], readonly what: string) {
    super(what);
  }
}

export function asScalar(val: Value, at: ast.Expr): Expr {
  if (val.kind === 'scalar') return val.e;
  throw new Unsupported(at.span, `expected a scalar here, found a ${val.kind === 'row' ? 'row vector' : val.kind}`);
}

/** Applies a scalar op elementwise, broadcasting scalars over rows. */
export function lift(a: Value, b: Value, f: (x: Expr, y: Expr) => Expr, at: ast.Expr): Value {
  if (a.kind === 'row' || b.kind === 'row') {
    const dim = a.kind === 'row' ? a.dim : (b as { dim: string }).dim;
    const ea = (k: Idx): Expr => (a.kind === 'row' ? a.at(k) : asScalar(a, at));
    const eb = (k: Idx): Expr => (b.kind === 'row' ? b.at(k) : asScalar(b, at));
    return { kind: 'row', dim, at: (k) => f(ea(k), eb(k)) };
  }
  return { kind: 'scalar', e: f(asScalar(a, at), asScalar(b, at)) };
}

export function lift1(a: Value, f: (x: Expr) => Expr, at: ast.Expr): Value {
  return a.kind === 'row' ? { kind: 'row', dim: a.dim, at: (k) => f(a.at(k)) } : { kind: 'scalar', e: f(asScalar(a, at)) };
}

export function indexOf(val: Value, at: ast.Expr): Ix {
  if (val.kind === 'index') return val.ix;
  throw new Unsupported(at.span, 'expected an index variable here');
}

/** A numeric literal or const, possibly negated (exponents must be known at compile time). */
export function constNumber(e: ast.Expr, consts: ReadonlyMap<string, number>): number | undefined {
  if (e.kind === 'NumberLit') return e.value;
  if (e.kind === 'IdentExpr') return consts.get(e.name);
  if (e.kind === 'UnaryExpr' && e.op === '-') {
    const n = constNumber(e.arg, consts);
    return n === undefined ? undefined : -n;
  }
  return undefined;
}

/** A sparse-row argument for applyDef: row t of relation `rel`'s sparse column `column`. */
export interface SparseArg {
  readonly kind: 'sparse-row';
  readonly rel: string;
  readonly column: string;
  readonly domain: string;
  readonly t: Idx;
}

export function sparseRowArg(rel: string, column: string, domain: string, t: Idx): SparseArg {
  return { kind: 'sparse-row', rel, column, domain, t };
}

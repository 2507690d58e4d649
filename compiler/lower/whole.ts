// Whole tensors: a param used without indices (`sum(V^2)`) is a lazy elementwise map, kept until a
// reduction (`sum`, `mean` of a whole tensor) binds its axes to fresh indices.
import type * as ast from '../syntax/ast.ts';
import { idx, v, type Expr, type Idx } from '../ir/nodes.ts';
import type { LowerState } from './context.ts';
import { Unsupported, type Value } from './values.ts';

/** Elementwise map over a whole tensor, kept lazy until a reduction binds its axes. */
export function wholeMap(ctx: LowerState, name: string, f: (x: Expr) => Expr): Value {
  const { wholeFns } = ctx;
  // a key of the lowering's own table (never a space or tensor name): the lexer keeps `~` out of user names
  const key = ctx.fresh(`${name}~`);
  const prev = wholeFns.get(name);
  const g = prev ? (x: Expr) => f(prev.f(x)) : f;
  wholeFns.set(key, { name: wholeFns.get(name)?.name ?? name, f: g });
  return { kind: 'whole', name: key };
}

/** The elements of a whole tensor (or a scalar) as an expression over fresh indices, and those indices. */
export function wholeBody(ctx: LowerState, val: Value, at: ast.Expr): { e: Expr; over: Idx[] } {
  if (val.kind === 'scalar') return { e: val.e, over: [] };
  if (val.kind !== 'whole') throw new Unsupported(at.span, 'expected a tensor');
  const entry = ctx.wholeFns.get(val.name);
  const base = entry?.name ?? val.name;
  const shape = ctx.paramShape.get(base)!;
  const over = shape.map((s) => idx(ctx.fresh(s.slice(0, 1)), s));
  const leaf = ctx.ir.tensor('param', base, over.map(v));
  return { e: entry ? entry.f(leaf) : leaf, over };
}

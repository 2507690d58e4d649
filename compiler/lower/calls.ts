// Calls: a def applied to arguments (inlined, with its own scope), `sum`/`mean` of a whole tensor,
// elementwise builtins, `logq` (a sampler's log-probability), and the row-vector builtins `norm` and
// `cosine`.
import type * as ast from '../syntax/ast.ts';
import { idx, type UnaryFn } from '../ir/nodes.ts';
import { totalSize } from '../ir/spaces.ts';
import type { LowerCtx } from './context.ts';
import { defMemoKey } from './def-memo.ts';
import { lift, lift1, Unsupported, type Scope, type Value } from './values.ts';
import { wholeBody } from './whole.ts';

const UNARY: Readonly<Record<string, UnaryFn>> = {
  exp: 'exp', log: 'log', sqrt: 'sqrt', abs: 'abs', sigmoid: 'sigmoid', logsigmoid: 'logsigmoid',
  softplus: 'softplus', relu: 'relu', tanh: 'tanh',
};

export function lowerCall(ctx: LowerCtx, e: ast.CallExpr, scope: Scope, stack: readonly string[]): Value {
  // like lowerExpr: no closure or destructuring per call, the context's fields are read where needed
  const ir = ctx.ir;
  const name = e.callee.name;
  const args = e.args.map((a) => a.value);
  const def = ctx.model.defs.get(name);
  if (def) {
    if (stack.includes(name)) throw new Unsupported(e.span, `\`${name}\` calls itself`);
    const inner = new Map(scope);
    def.params.forEach((p, j) => inner.set(p.name, ctx.lowerExpr(args[j]!, scope, stack)));
    const key = ctx.defMemo && defMemoKey(name, inner, ctx.pureDefs);
    const hit = key && ctx.defMemo!.get(key);
    if (hit) return hit;
    const val = ctx.lowerExpr(def.body, inner, [...stack, name]);
    if (key && val.kind === 'scalar') ctx.defMemo!.set(key, val);
    return val;
  }
  if (name === 'sum' || name === 'mean') {
    if (args.length !== 1) throw new Unsupported(e.span, `${name}(…) of a whole tensor takes one argument`);
    const { e: body, over } = wholeBody(ctx, ctx.lowerExpr(args[0]!, scope, stack), args[0]!);
    const s = ir.sum(over, body);
    if (name === 'mean') return { kind: 'scalar', e: ir.div(s, ir.mul(...over.map((i) => ir.size(i.space)))) };
    // a whole-tensor sum over the batched domain sees the batch's rows: scale by |D|/|B|
    const batched = over.filter((i) => i.space === ctx.batchDomain);
    return { kind: 'scalar', e: ir.mul(s, ...batched.map((i) => ir.div(ir.size(totalSize(i.space)), ir.size(i.space)))) };
  }
  const fn = UNARY[name];
  if (fn) return lift1(ctx.lowerExpr(args[0]!, scope, stack), (x) => ir.call(fn, x), e);
  switch (name) {
    case 'logq': {
      const a = ctx.lowerExpr(args[0]!, scope, stack);
      if (a.kind !== 'index') throw new Unsupported(e.span, '`logq` takes an index variable');
      if (a.logq) return { kind: 'scalar', e: a.logq };
      // logq(i) of an id the sampler did not draw (NCE's positive): the sampler's log-probability table
      const table = ctx.samplerTables.get(a.domain);
      if (!table) throw new Unsupported(e.span, `\`logq\` needs a sampler over \`${a.domain}\``);
      return { kind: 'scalar', e: ir.tensor('data', table, [a.ix]) };
    }
    case 'log1p':
      return lift1(ctx.lowerExpr(args[0]!, scope, stack), (x) => ir.call('log', ir.add(ir.konst(1), x)), e);
    case 'min':
    case 'max':
      if (args.length !== 2) throw new Unsupported(e.span, `\`${name}(…)\` of a whole tensor is not supported by the compiler yet`);
      return lift(ctx.lowerExpr(args[0]!, scope, stack), ctx.lowerExpr(args[1]!, scope, stack), (x, y) => ir.call2(name, x, y), e);
    case 'clip': {
      const lo = ctx.lowerExpr(args[1]!, scope, stack);
      const hi = ctx.lowerExpr(args[2]!, scope, stack);
      const clipped = lift(ctx.lowerExpr(args[0]!, scope, stack), lo, (x, y) => ir.call2('max', x, y), e);
      return lift(clipped, hi, (x, y) => ir.call2('min', x, y), e);
    }
    case 'norm': {
      const a = ctx.lowerExpr(args[0]!, scope, stack);
      if (a.kind !== 'row') throw new Unsupported(e.span, '`norm` takes a row vector');
      const k = idx(ctx.fresh('k'), a.dim);
      return { kind: 'scalar', e: ir.pow(ir.sum([k], ir.pow(a.at(k), 2)), 0.5) };
    }
    case 'cosine': {
      const a = ctx.lowerExpr(args[0]!, scope, stack);
      const b = ctx.lowerExpr(args[1]!, scope, stack);
      if (a.kind !== 'row' || b.kind !== 'row') throw new Unsupported(e.span, '`cosine` takes two row vectors');
      const k1 = idx(ctx.fresh('k'), a.dim);
      const k2 = idx(ctx.fresh('k'), a.dim);
      const k3 = idx(ctx.fresh('k'), a.dim);
      const d = ir.sum([k1], ir.mul(a.at(k1), b.at(k1)));
      return { kind: 'scalar', e: ir.div(d, ir.mul(ir.pow(ir.sum([k2], ir.pow(a.at(k2), 2)), 0.5), ir.pow(ir.sum([k3], ir.pow(b.at(k3), 2)), 0.5))) };
    }
    default:
      throw new Unsupported(e.callee.span, `\`${name}(…)\` is not supported by the compiler yet`);
  }
}

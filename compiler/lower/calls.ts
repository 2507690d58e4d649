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
  const { model, batchDomain, samplerTables, defMemo, pureDefs } = ctx;
  const { add, call, call2, div, konst, mul, pow, size, sum, tensor } = ctx.ir;
  const name = e.callee.name;
  const args = e.args.map((a) => a.value);
  const go = (x: ast.Expr): Value => ctx.lowerExpr(x, scope, stack);
  const def = model.defs.get(name);
  if (def) {
    if (stack.includes(name)) throw new Unsupported(e.span, `\`${name}\` calls itself`);
    const inner = new Map(scope);
    def.params.forEach((p, j) => inner.set(p.name, go(args[j]!)));
    const key = defMemo && defMemoKey(name, inner, pureDefs);
    const hit = key && defMemo!.get(key);
    if (hit) return hit;
    const val = ctx.lowerExpr(def.body, inner, [...stack, name]);
    if (key && val.kind === 'scalar') defMemo!.set(key, val);
    return val;
  }
  if (name === 'sum' || name === 'mean') {
    if (args.length !== 1) throw new Unsupported(e.span, `${name}(…) of a whole tensor takes one argument`);
    const { e: body, over } = wholeBody(ctx, go(args[0]!), args[0]!);
    const s = sum(over, body);
    if (name === 'mean') return { kind: 'scalar', e: div(s, mul(...over.map((i) => size(i.space)))) };
    // a whole-tensor sum over the batched domain sees the batch's rows: scale by |D|/|B|
    const batched = over.filter((i) => i.space === batchDomain);
    return { kind: 'scalar', e: mul(s, ...batched.map((i) => div(size(totalSize(i.space)), size(i.space)))) };
  }
  const fn = UNARY[name];
  if (fn) return lift1(go(args[0]!), (x) => call(fn, x), e);
  switch (name) {
    case 'logq': {
      const a = go(args[0]!);
      if (a.kind !== 'index') throw new Unsupported(e.span, '`logq` takes an index variable');
      if (a.logq) return { kind: 'scalar', e: a.logq };
      // logq(i) of an id the sampler did not draw (NCE's positive): the sampler's log-probability table
      const table = samplerTables.get(a.domain);
      if (!table) throw new Unsupported(e.span, `\`logq\` needs a sampler over \`${a.domain}\``);
      return { kind: 'scalar', e: tensor('data', table, [a.ix]) };
    }
    case 'log1p':
      return lift1(go(args[0]!), (x) => call('log', add(konst(1), x)), e);
    case 'min':
    case 'max':
      if (args.length !== 2) throw new Unsupported(e.span, `\`${name}(…)\` of a whole tensor is not supported by the compiler yet`);
      return lift(go(args[0]!), go(args[1]!), (x, y) => call2(name, x, y), e);
    case 'clip': {
      const lo = go(args[1]!);
      const hi = go(args[2]!);
      const clipped = lift(go(args[0]!), lo, (x, y) => call2('max', x, y), e);
      return lift(clipped, hi, (x, y) => call2('min', x, y), e);
    }
    case 'norm': {
      const a = go(args[0]!);
      if (a.kind !== 'row') throw new Unsupported(e.span, '`norm` takes a row vector');
      const k = idx(ctx.fresh('k'), a.dim);
      return { kind: 'scalar', e: pow(sum([k], pow(a.at(k), 2)), 0.5) };
    }
    case 'cosine': {
      const a = go(args[0]!);
      const b = go(args[1]!);
      if (a.kind !== 'row' || b.kind !== 'row') throw new Unsupported(e.span, '`cosine` takes two row vectors');
      const k1 = idx(ctx.fresh('k'), a.dim);
      const k2 = idx(ctx.fresh('k'), a.dim);
      const k3 = idx(ctx.fresh('k'), a.dim);
      const d = sum([k1], mul(a.at(k1), b.at(k1)));
      return { kind: 'scalar', e: div(d, mul(pow(sum([k2], pow(a.at(k2), 2)), 0.5), pow(sum([k3], pow(b.at(k3), 2)), 0.5))) };
    }
    default:
      throw new Unsupported(e.callee.span, `\`${name}(…)\` is not supported by the compiler yet`);
  }
}

// Expressions: an AST expression in a scope → a Value. Arithmetic lifts over row vectors, `a . b`
// becomes Σ_k a_k·b_k, `|R|` the relation's total count, `(x…) in R` a sum of δs over R's tuples,
// tensor reads scalars, rows or whole tensors. Calls and aggregations are lowered by calls.ts and
// aggregate.ts, reached through the context.
import type * as ast from '../syntax/ast.ts';
import { idx, v, type Ix } from '../ir/nodes.ts';
import { columnKey, ENTRY_VAL, totalSize } from '../ir/spaces.ts';
import type { LowerCtx } from './context.ts';
import { asScalar, constNumber, indexOf, lift, lift1, Unsupported, type Scope, type Value } from './values.ts';
import { wholeMap } from './whole.ts';

/** Reads a tensor: bare (`whole`), a row `U[u]`, or a scalar `U[u, k]`. */
function access(ctx: LowerCtx, name: string, indices: readonly Ix[]): Value {
  const { tensor } = ctx.ir;
  const shape = ctx.paramShape.get(name)!;
  if (indices.length === shape.length) return { kind: 'scalar', e: tensor('param', name, indices) };
  if (indices.length === shape.length - 1) {
    const dim = shape[shape.length - 1]!;
    return { kind: 'row', dim, at: (k) => tensor('param', name, [...indices, v(k)]) };
  }
  return { kind: 'whole', name };
}

export function lowerExpr(ctx: LowerCtx, e: ast.Expr, scope: Scope, stack: readonly string[]): Value {
  // Called for every node of every term and inlined def: the context's fields are read where a case
  // needs them, and no closure is made per call (its garbage was a visible part of `recc check`).
  const ir = ctx.ir;
  switch (e.kind) {
    case 'NumberLit':
      return { kind: 'scalar', e: ir.konst(e.value) };
    case 'StringLit':
      throw new Unsupported(e.span, 'a string is not a value');
    case 'IdentExpr': {
      const bound = scope.get(e.name);
      if (bound) return bound;
      if (ctx.model.consts.has(e.name)) return { kind: 'scalar', e: ir.tensor('hyper', e.name, []) };
      if (ctx.paramShape.has(e.name)) {
        const shape = ctx.paramShape.get(e.name)!;
        return shape.length === 0 ? { kind: 'scalar', e: ir.tensor('param', e.name, []) } : { kind: 'whole', name: e.name };
      }
      if (ctx.model.dims.has(e.name)) return { kind: 'scalar', e: ir.konst(ctx.model.dims.get(e.name)!) };
      throw new Unsupported(e.span, `\`${e.name}\` cannot be used as a value here`);
    }
    case 'UnaryExpr': {
      const a = ctx.lowerExpr(e.arg, scope, stack);
      return e.op === '-' ? lift1(a, ir.neg, e) : lift1(a, (x) => ir.sub(ir.konst(1), x), e);
    }
    case 'BinaryExpr': {
      const a = ctx.lowerExpr(e.left, scope, stack);
      if (e.op === '^') {
        const n = constNumber(e.right, ctx.model.consts);
        if (n === undefined) throw new Unsupported(e.right.span, 'an exponent must be a number');
        if (a.kind === 'whole') return wholeMap(ctx, a.name, (x) => ir.pow(x, n));
        return lift1(a, (x) => ir.pow(x, n), e);
      }
      const b = ctx.lowerExpr(e.right, scope, stack);
      switch (e.op) {
        case '+':
          return lift(a, b, (x, y) => ir.add(x, y), e);
        case '-':
          return lift(a, b, ir.sub, e);
        case '*':
          return lift(a, b, (x, y) => ir.mul(x, y), e);
        case '/':
          return lift(a, b, ir.div, e);
        case '.': {
          if (a.kind !== 'row' || b.kind !== 'row') throw new Unsupported(e.opSpan, '`.` needs two row vectors');
          const k = idx(ctx.fresh('k'), a.dim);
          return { kind: 'scalar', e: ir.sum([k], ir.mul(a.at(k), b.at(k))) };
        }
        case '<':
        case '<=':
        case '>':
        case '>=':
        case '==':
        case '!=': {
          const op = e.op;
          return lift(a, b, (x, y) => ir.cmp(op, x, y), e);
        }
        case 'and':
          return lift(a, b, (x, y) => ir.mul(ir.cmp('!=', x, ir.konst(0)), ir.cmp('!=', y, ir.konst(0))), e);
        case 'or':
          return lift(a, b, (x, y) => ir.call2('max', ir.cmp('!=', x, ir.konst(0)), ir.cmp('!=', y, ir.konst(0))), e);
        default:
          throw new Unsupported(e.opSpan, `operator ${e.op}`);
      }
    }
    case 'TernaryExpr': {
      const c = asScalar(ctx.lowerExpr(e.cond, scope, stack), e.cond);
      const a = ctx.lowerExpr(e.then, scope, stack);
      const b = ctx.lowerExpr(e.else, scope, stack);
      return lift(a, b, (x, y) => ir.select(ir.cmp('!=', c, ir.konst(0)), x, y), e);
    }
    case 'SizeExpr': {
      const n = e.name.name;
      return { kind: 'scalar', e: ir.size(ctx.spaces.get(n)?.kind === 'relation' || n === ctx.batchDomain ? totalSize(n) : n) };
    }
    case 'IndexExpr': {
      const name = e.target.name;
      const bound = scope.get(name);
      if (bound?.kind === 'sparse' && e.indices.length === 1) {
        // x[j] for j walking x: the entry's value; any other feature of a sparse row reads as 0
        const j = ctx.lowerExpr(e.indices[0]!, scope, stack);
        if (j.kind !== 'index' || j.entry?.space !== bound.entries) {
          throw new Unsupported(e.span, `\`${name}[…]\` can only read the features a \`j in ${name}\` binding walks`);
        }
        return { kind: 'scalar', e: ir.tensor('data', columnKey(bound.entries, ENTRY_VAL), [v(j.entry.n)]) };
      }
      if (bound?.kind === 'row' && e.indices.length === 1) {
        const k = indexOf(ctx.lowerExpr(e.indices[0]!, scope, stack), e.indices[0]!);
        if (k.kind !== 'var') throw new Unsupported(e.span, 'a row is indexed by a dim variable');
        return { kind: 'scalar', e: bound.at(k.idx) };
      }
      if (!ctx.paramShape.has(name)) throw new Unsupported(e.target.span, `\`${name}\` cannot be indexed`);
      return access(ctx, name, e.indices.map((x) => indexOf(ctx.lowerExpr(x, scope, stack), x)));
    }
    case 'MemberExpr': {
      // (x₁…xₙ) in R  =  Σ_{t∈R} Π_j δ(R.col_j[t], x_j)   (1 on R's tuples when R has no duplicates)
      const rel = e.relation.name;
      const cols = [...ctx.relationCols.get(rel)!].filter(([, type]) => ctx.spaces.get(type)?.kind === 'domain');
      // one bound name per relation (a quote cannot occur in user names), so every spelling of
      // the same membership test is the same hash-consed node
      const t = idx(`${rel}'m`, rel);
      const deltas = e.tuple.map((x, j) => {
        const [col, domain] = cols[j]!;
        return ir.eq({ kind: 'gather', rel, col, domain, t }, indexOf(ctx.lowerExpr(x, scope, stack), x));
      });
      return { kind: 'scalar', e: ir.sum([t], ir.mul(...deltas)) };
    }
    case 'CallExpr':
      return ctx.lowerCall(e, scope, stack);
    case 'AggregateExpr':
      return ctx.lowerAggregate(e, scope, stack);
    default: {
      const never: never = e;
      throw new Unsupported((never as ast.Expr).span, 'unknown expression');
    }
  }
}

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
  const { model, spaces, relationCols, batchDomain, paramShape } = ctx;
  const { add, call2, cmp, div, eq, konst, mul, neg, pow, select, size, sub, sum, tensor } = ctx.ir;
  const go = (x: ast.Expr): Value => ctx.lowerExpr(x, scope, stack);
  switch (e.kind) {
    case 'NumberLit':
      return { kind: 'scalar', e: konst(e.value) };
    case 'StringLit':
      throw new Unsupported(e.span, 'a string is not a value');
    case 'IdentExpr': {
      const bound = scope.get(e.name);
      if (bound) return bound;
      if (model.consts.has(e.name)) return { kind: 'scalar', e: tensor('hyper', e.name, []) };
      if (paramShape.has(e.name)) {
        const shape = paramShape.get(e.name)!;
        return shape.length === 0 ? { kind: 'scalar', e: tensor('param', e.name, []) } : { kind: 'whole', name: e.name };
      }
      if (model.dims.has(e.name)) return { kind: 'scalar', e: konst(model.dims.get(e.name)!) };
      throw new Unsupported(e.span, `\`${e.name}\` cannot be used as a value here`);
    }
    case 'UnaryExpr': {
      const a = go(e.arg);
      return e.op === '-' ? lift1(a, neg, e) : lift1(a, (x) => sub(konst(1), x), e);
    }
    case 'BinaryExpr': {
      const a = go(e.left);
      if (e.op === '^') {
        const n = constNumber(e.right, model.consts);
        if (n === undefined) throw new Unsupported(e.right.span, 'an exponent must be a number');
        if (a.kind === 'whole') return wholeMap(ctx, a.name, (x) => pow(x, n));
        return lift1(a, (x) => pow(x, n), e);
      }
      const b = go(e.right);
      switch (e.op) {
        case '+':
          return lift(a, b, (x, y) => add(x, y), e);
        case '-':
          return lift(a, b, sub, e);
        case '*':
          return lift(a, b, (x, y) => mul(x, y), e);
        case '/':
          return lift(a, b, div, e);
        case '.': {
          if (a.kind !== 'row' || b.kind !== 'row') throw new Unsupported(e.opSpan, '`.` needs two row vectors');
          const k = idx(ctx.fresh('k'), a.dim);
          return { kind: 'scalar', e: sum([k], mul(a.at(k), b.at(k))) };
        }
        case '<':
        case '<=':
        case '>':
        case '>=':
        case '==':
        case '!=': {
          const op = e.op;
          return lift(a, b, (x, y) => cmp(op, x, y), e);
        }
        case 'and':
          return lift(a, b, (x, y) => mul(cmp('!=', x, konst(0)), cmp('!=', y, konst(0))), e);
        case 'or':
          return lift(a, b, (x, y) => call2('max', cmp('!=', x, konst(0)), cmp('!=', y, konst(0))), e);
        default:
          throw new Unsupported(e.opSpan, `operator ${e.op}`);
      }
    }
    case 'TernaryExpr': {
      const c = asScalar(go(e.cond), e.cond);
      const a = go(e.then);
      const b = go(e.else);
      return lift(a, b, (x, y) => select(cmp('!=', c, konst(0)), x, y), e);
    }
    case 'SizeExpr': {
      const n = e.name.name;
      return { kind: 'scalar', e: size(spaces.get(n)?.kind === 'relation' || n === batchDomain ? totalSize(n) : n) };
    }
    case 'IndexExpr': {
      const name = e.target.name;
      const bound = scope.get(name);
      if (bound?.kind === 'sparse' && e.indices.length === 1) {
        // x[j] for j walking x: the entry's value; any other feature of a sparse row reads as 0
        const j = go(e.indices[0]!);
        if (j.kind !== 'index' || j.entry?.space !== bound.entries) {
          throw new Unsupported(e.span, `\`${name}[…]\` can only read the features a \`j in ${name}\` binding walks`);
        }
        return { kind: 'scalar', e: tensor('data', columnKey(bound.entries, ENTRY_VAL), [v(j.entry.n)]) };
      }
      if (bound?.kind === 'row' && e.indices.length === 1) {
        const k = indexOf(go(e.indices[0]!), e.indices[0]!);
        if (k.kind !== 'var') throw new Unsupported(e.span, 'a row is indexed by a dim variable');
        return { kind: 'scalar', e: bound.at(k.idx) };
      }
      if (!paramShape.has(name)) throw new Unsupported(e.target.span, `\`${name}\` cannot be indexed`);
      return access(ctx, name, e.indices.map((x) => indexOf(go(x), x)));
    }
    case 'MemberExpr': {
      // (x₁…xₙ) in R  =  Σ_{t∈R} Π_j δ(R.col_j[t], x_j)   (1 on R's tuples when R has no duplicates)
      const rel = e.relation.name;
      const cols = [...relationCols.get(rel)!].filter(([, type]) => spaces.get(type)?.kind === 'domain');
      // one bound name per relation (a quote cannot occur in user names), so every spelling of
      // the same membership test is the same hash-consed node
      const t = idx(`${rel}'m`, rel);
      const deltas = e.tuple.map((x, j) => {
        const [col, domain] = cols[j]!;
        return eq({ kind: 'gather', rel, col, domain, t }, indexOf(go(x), x));
      });
      return { kind: 'scalar', e: sum([t], mul(...deltas)) };
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

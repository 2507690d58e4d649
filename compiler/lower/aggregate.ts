// Aggregations: `sum`, `mean`, `max`, `min` and `logsumexp` over the iteration space of their
// bindings (bindings.ts, samplers.ts). Σ over a relation's tuples runs over the current batch and is
// scaled by N/B; `mean` divides by the batch (over a sparse row, by its non-zeros); max/min are the
// batch's extremum; logsumexp is shifted by its max so float32 neither overflows nor takes log 0.
import type * as ast from '../syntax/ast.ts';
import { idx, idxKey, v, type Expr, type Idx, type Ix } from '../ir/nodes.ts';
import { batchSize, isTupleSpace, totalSize } from '../ir/spaces.ts';
import { substitute } from '../ir/walk.ts';
import { bindPair, bindRange, bindTuple, type Bound } from './bindings.ts';
import type { LowerCtx } from './context.ts';
import { bindSample } from './samplers.ts';
import { asScalar, Unsupported, type Scope, type Value } from './values.ts';

export function lowerAggregate(ctx: LowerCtx, e: ast.AggregateExpr, scope: Scope, stack: readonly string[]): Value {
  const { spaces, batchDomain } = ctx;
  const { add, call, call2, div, konst, mul, reduce, size, sub, sum } = ctx.ir;
  const st: Bound = {
    inner: new Map(scope),
    over: [],
    guards: [],
    guardedSpaces: new Set(),
    outerRel: [...scope.values()].reduce<Bound['outerRel']>(
      (acc, val) => (val.kind === 'index' && val.ix.kind === 'gather' ? { rel: val.ix.rel, t: val.ix.t } : acc),
      undefined,
    ),
  };
  for (const b of e.bindings) {
    switch (b.kind) {
      case 'TupleBinding':
        bindTuple(ctx, b, st);
        break;
      case 'RangeBinding':
        bindRange(ctx, b, st);
        break;
      case 'SampleBinding':
        bindSample(ctx, b, st);
        break;
      case 'PairBinding':
        bindPair(ctx, b, st);
        break;
    }
  }
  const { inner, over, guards, guardedSpaces } = st;
  if ((e.op === 'max' || e.op === 'min') && guards.length) {
    // a guard restricts a sum by multiplying it by 0; a max would count those zeros as elements
    throw new Unsupported(e.opSpan, `the \`${e.op}\` aggregation over the features of a sparse row is not supported yet`);
  }
  const body = mul(...guards, asScalar(ctx.lowerExpr(e.body, inner, stack), e.body));
  // max/min over the iteration space, whatever its kind: never scaled by N/B nor divided (over a
  // mini-batch it is the batch's extremum); 0 over an empty space (compiler/ir/nodes.ts `reduce`)
  if (e.op === 'max' || e.op === 'min') return { kind: 'scalar', e: reduce(e.op, over, body) };
  if (e.op === 'logsumexp') {
    if (guards.length) throw new Unsupported(e.opSpan, '`logsumexp` over the features of a sparse row is not supported yet');
    // logsumexp(j: f_j) = m + log Σ_j exp(f_j − m) with m = max_j f_j (its own copy of the bound
    // indices): exact for any m, and with the max every exponent is ≤ 0 and the sum ≥ 1, so float32
    // neither overflows nor takes log 0 whatever the logits. No stop-gradient is needed: the chain
    // rule gives ∂m·(1 − Σ_j softmax_j), and autodiff/grad.ts builds it so that this cancels
    // symbolically (S⁻¹·S = 1 on the same hash-consed S), leaving the softmax-weighted Σ_j p_j ∂f_j
    // of the unshifted form. See docs/language.md, "Sampled and full softmax".
    const mOver = over.map((i) => idx(ctx.fresh(i.name), i.space));
    const m = reduce('max', mOver, substitute(body, new Map(over.map((i, j): [string, Ix] => [idxKey(i), v(mOver[j]!)]))));
    return { kind: 'scalar', e: add(m, call('log', sum(over, call('exp', sub(body, m))))) };
  }
  const s = sum(over, body);
  const count = (i: Idx): Expr => size(isTupleSpace(spaces.get(i.space)) ? batchSize(i.space) : i.space);
  // over a sparse row's features the count is the row's non-zeros (the guards' sum); an empty row
  // has mean 0, not 0/0
  if (e.op === 'mean' && guards.length) return { kind: 'scalar', e: div(s, call2('max', sum(over, mul(...guards)), konst(1))) };
  if (e.op === 'mean') return { kind: 'scalar', e: div(s, mul(...over.map(count))) };
  // Σ over a relation's tuples runs over the current batch: scale by N/B for an unbiased estimate
  // (not a sparse row's entries: those sums are exact, restricted to one row by their guard)
  const rels = over.filter((i) => (isTupleSpace(spaces.get(i.space)) && !guardedSpaces.has(i.space)) || i.space === batchDomain);
  return { kind: 'scalar', e: mul(s, ...rels.map((i) => div(size(totalSize(i.space)), count(i)))) };
}

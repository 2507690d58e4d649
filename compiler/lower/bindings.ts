// Bindings of an aggregation: each adds its index variables to the iteration space, its names to the
// scope and, for a sparse row, the guards that restrict the space. A tuple binding `(u, i, r) in R`
// sums over R's tuples (id columns gathered, value columns read as data); `k in d` over a domain or
// dim; `j in J` over a sample set; `j in x` over the entries of sparse row x with row = t; `j < l in
// x` over two entries n₁, n₂ of that row with ord(n₁) < ord(n₂). Sample bindings are in samplers.ts.
import type * as ast from '../syntax/ast.ts';
import { idx, v, type Expr, type Idx } from '../ir/nodes.ts';
import { columnKey, ENTRY_FEAT, ENTRY_ROW, entriesName, isTupleSpace, SAMPLE_ID, SAMPLE_LOGQ } from '../ir/spaces.ts';
import type { LowerState } from './context.ts';
import { Unsupported, type Value } from './values.ts';

/** What the bindings of one aggregation have built so far. */
export interface Bound {
  readonly inner: Map<string, Value>;
  readonly over: Idx[];
  /** factors that restrict the iteration: δ(E.row[n], t) for sparse-row walks, pair orderings */
  readonly guards: Expr[];
  /** spaces restricted by a guard (a sparse row's entries): their sums are exact, never scaled */
  readonly guardedSpaces: Set<string>;
  /** the relation of the last tuple binding: per-tuple samplers attach to it */
  outerRel: { readonly rel: string; readonly t: Idx } | undefined;
}

export function bindTuple(ctx: LowerState, b: Extract<ast.Binding, { kind: 'TupleBinding' }>, st: Bound): void {
  const { spaces, relationCols, sparseColumns } = ctx;
  const { tensor } = ctx.ir;
  const rel = b.relation.name;
  const t = idx(ctx.fresh('t'), rel);
  st.over.push(t);
  const cols = [...relationCols.get(rel)!];
  st.outerRel = { rel, t };
  b.vars.forEach((name, j) => {
    const [col, type] = cols[j]!;
    const sparseCol = sparseColumns.get(rel)?.get(col);
    if (sparseCol) st.inner.set(name.name, { kind: 'sparse', entries: entriesName(rel, col), domain: sparseCol, t });
    else if (type === 'float' || type === 'int') st.inner.set(name.name, { kind: 'scalar', e: tensor('data', columnKey(rel, col), [v(t)]) });
    else if (spaces.get(type)?.kind === 'domain') st.inner.set(name.name, { kind: 'index', ix: { kind: 'gather', rel, col, domain: type, t }, domain: type });
    else throw new Unsupported(name.span, `column \`${col}\` of type ${type} cannot be bound yet`);
  });
}

export function bindRange(ctx: LowerState, b: Extract<ast.Binding, { kind: 'RangeBinding' }>, st: Bound): void {
  const { spaces } = ctx;
  const { eq, tensor } = ctx.ir;
  const bound = st.inner.get(b.range.name);
  if (bound?.kind === 'sparse') {
    // j in x: Σ over the entries n of x's relation with row[n] = t, j = feat[n]
    const n = idx(ctx.fresh('n'), bound.entries);
    st.over.push(n);
    st.guardedSpaces.add(bound.entries);
    st.guards.push(eq({ kind: 'gather', rel: bound.entries, col: ENTRY_ROW, domain: bound.t.space, t: n }, v(bound.t)));
    st.inner.set(b.var.name, {
      kind: 'index',
      ix: { kind: 'gather', rel: bound.entries, col: ENTRY_FEAT, domain: bound.domain, t: n },
      domain: bound.domain,
      entry: { space: bound.entries, n },
    });
    return;
  }
  if (bound?.kind === 'samples') {
    // j in J: every id of the sample set, with its sampling log-probability
    const sIdx = idx(ctx.fresh('s'), bound.space);
    st.over.push(sIdx);
    st.inner.set(b.var.name, {
      kind: 'index',
      ix: { kind: 'gather', rel: bound.space, col: SAMPLE_ID, domain: bound.domain, t: sIdx },
      domain: bound.domain,
      logq: tensor('data', columnKey(bound.space, SAMPLE_LOGQ), [v(sIdx)]),
    });
    return;
  }
  const space = b.range.name;
  if (!spaces.has(space) || isTupleSpace(spaces.get(space))) {
    throw new Unsupported(b.span, `ranging over \`${space}\` is not supported by the compiler yet`);
  }
  const i = idx(ctx.fresh(b.var.name), space);
  st.over.push(i);
  st.inner.set(b.var.name, { kind: 'index', ix: v(i), domain: space });
}

export function bindPair(ctx: LowerState, b: Extract<ast.Binding, { kind: 'PairBinding' }>, st: Bound): void {
  const { cmp, eq, ord } = ctx.ir;
  // j < l in x: two entries n₁, n₂ of x's row with ord(n₁) < ord(n₂), their positions among
  // the entries (each unordered pair once; fm-pairwise recognises this guard)
  const row = st.inner.get(b.row.name);
  if (row?.kind !== 'sparse') throw new Unsupported(b.span, '`j < l in x` needs a sparse row `x`');
  const pair = [b.first, b.second].map((name) => {
    const n = idx(ctx.fresh('n'), row.entries);
    st.over.push(n);
    st.guardedSpaces.add(row.entries);
    st.guards.push(eq({ kind: 'gather', rel: row.entries, col: ENTRY_ROW, domain: row.t.space, t: n }, v(row.t)));
    st.inner.set(name.name, {
      kind: 'index',
      ix: { kind: 'gather', rel: row.entries, col: ENTRY_FEAT, domain: row.domain, t: n },
      domain: row.domain,
      entry: { space: row.entries, n },
    });
    return n;
  });
  st.guards.push(cmp('<', ord(v(pair[0]!)), ord(v(pair[1]!))));
}

// Row support of a gradient: which rows of ∂L/∂P[a, …] can be nonzero. A sampled or mini-batch
// term reaches a row of P only through a δ that ties the row to an id column of the batch:
//   ∂/∂V[a,k] = Σ_{t∈B} δ(a, likes.item[t])·F(t,k) + Σ_{t∈B} δ(a, likes.~j[t])·G(t,k)
// is zero outside {likes.item[t]} ∪ {likes.~j[t]}. When every term of the gradient has such a δ,
// the gradient is evaluated at those rows only (`a := P#rows.row[r]`, r over the touched rows) and
// the optimizer updates those rows only. Any term without one (an L2 penalty over every row, a
// Gramian) makes the gradient dense. The analysis is conservative: "dense" is always correct.
import { freeKeys, idx, idxKey, type Expr, type Idx, type Ix } from '../ir/nodes.ts';
import { TOUCHED_ROW, touchedRowsSpace, type Space } from '../ir/spaces.ts';
import { substitute } from '../ir/walk.ts';

/** An id column whose values (over the current batch) bound the nonzero rows. */
export interface RowSource {
  readonly rel: string;
  readonly col: string;
}

type Support =
  /** the expression does not depend on the row index */
  | { readonly kind: 'none' }
  /** nonzero only at the ids the sources hold */
  | { readonly kind: 'rows'; readonly sources: readonly RowSource[] }
  | { readonly kind: 'dense' };

const NONE: Support = { kind: 'none' };
const DENSE: Support = { kind: 'dense' };

/** Unary functions with f(0) = 0: they keep a zero row zero. */
const ZERO_PRESERVING = new Set(['sqrt', 'abs', 'relu', 'tanh', 'sign']);

function union(parts: readonly Support[]): Support {
  const sources = new Map<string, RowSource>();
  for (const p of parts) {
    if (p.kind !== 'rows') return DENSE;
    for (const s of p.sources) sources.set(`${s.rel}\u0000${s.col}`, s);
  }
  return { kind: 'rows', sources: [...sources.values()] };
}

/** The row support of `e` along the free index `row` (by idxKey). */
function supportOf(e: Expr, row: string, memo: Map<number, Support>): Support {
  const hit = memo.get(e.id);
  if (hit) return hit;
  const go = (x: Expr): Support => supportOf(x, row, memo);
  let out: Support;
  switch (e.op) {
    case 'const':
    case 'size':
      out = NONE;
      break;
    case 'tensor':
      out = e.ix.some((x) => x.kind === 'var' && idxKey(x.idx) === row) ? DENSE : NONE;
      break;
    case 'eq': {
      const gatherAgainstRow = (a: Ix, b: Ix): RowSource | undefined =>
        a.kind === 'var' && idxKey(a.idx) === row && b.kind === 'gather' ? { rel: b.rel, col: b.col } : undefined;
      const src = gatherAgainstRow(e.a, e.b) ?? gatherAgainstRow(e.b, e.a);
      const mentions = [e.a, e.b].some((x) => x.kind === 'var' && idxKey(x.idx) === row);
      out = src ? { kind: 'rows', sources: [src] } : mentions ? DENSE : NONE;
      break;
    }
    case 'mul': {
      // a product is zero wherever one factor is: the narrowest row-bounded factor bounds it
      const parts = e.args.map(go);
      const rows = parts.filter((p): p is Extract<Support, { kind: 'rows' }> => p.kind === 'rows');
      out = rows.length ? rows.reduce((a, b) => (b.sources.length < a.sources.length ? b : a)) : parts.some((p) => p.kind === 'dense') ? DENSE : NONE;
      break;
    }
    case 'add': {
      const parts = e.args.map(go);
      out = parts.every((p) => p.kind === 'none') ? NONE : union(parts);
      break;
    }
    case 'sum':
      out = go(e.body);
      break;
    case 'pow': {
      const b = go(e.base);
      out = b.kind === 'rows' && e.exp < 0 ? DENSE : b;
      break;
    }
    case 'call': {
      const a = go(e.arg);
      out = a.kind === 'rows' && !ZERO_PRESERVING.has(e.fn) ? DENSE : a;
      break;
    }
    case 'select': {
      const parts = [go(e.cond), go(e.a), go(e.b)];
      out = parts.every((p) => p.kind === 'none') ? NONE : parts[0]!.kind === 'none' ? union(parts.slice(1)) : DENSE;
      break;
    }
    default: {
      // comparisons, max/min, reductions other than Σ: dense as soon as they mention the row
      out = freeKeys(e).has(row) ? DENSE : NONE;
    }
  }
  memo.set(e.id, out);
  return out;
}

/**
 * The id columns bounding the nonzero rows of `e` along its free index `row`, or undefined when the
 * gradient is dense in `row` (some term is nonzero at rows the batch does not touch).
 */
export function rowSupport(e: Expr, row: Idx): readonly RowSource[] | undefined {
  const s = supportOf(e, idxKey(row), new Map());
  return s.kind === 'rows' ? s.sources : undefined;
}

export interface RowGradient {
  readonly param: string;
  /** the touched-rows relation space (`P#rows`), one tuple per touched row */
  readonly space: string;
  /** the domain of the param's first axis */
  readonly domain: string;
  /** the id columns whose values in the current batch are the touched rows */
  readonly sources: readonly RowSource[];
  /** the gradient at touched row r: `expr` with the row index replaced by `P#rows.row[r]` */
  readonly expr: Expr;
  /** `r` over the touched rows, then the param's other axes */
  readonly out: readonly Idx[];
}

/**
 * The touched-rows form of a gradient over `out` (first axis a domain), or undefined when it is
 * dense. Rows outside the support are exactly zero, so evaluating at the touched rows loses nothing.
 */
export function rowGradient(param: string, e: Expr, out: readonly Idx[], spaces: ReadonlyMap<string, Space>): RowGradient | undefined {
  const [lead, ...rest] = out;
  if (!lead || spaces.get(lead.space)?.kind !== 'domain') return undefined;
  const sources = rowSupport(e, lead);
  if (!sources) return undefined;
  const space = touchedRowsSpace(param, lead.space).name;
  const r = idx("r'", space);
  const at: Ix = { kind: 'gather', rel: space, col: TOUCHED_ROW, domain: lead.space, t: r };
  return { param, space, domain: lead.space, sources, expr: substitute(e, new Map([[idxKey(lead), at]])), out: [r, ...rest] };
}

/** The relation spaces of the touched-rows forms, to add to the module's space table. */
export function rowSpaces(grads: readonly RowGradient[]): Map<string, Space> {
  return new Map(grads.map((g) => [g.space, touchedRowsSpace(g.param, g.domain)]));
}

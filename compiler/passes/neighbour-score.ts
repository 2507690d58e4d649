// neighbour-score: `def score(u, i)` as ItemCF's walk over the user's liked items,
//   score(u, i) = c · Σ_{t ∈ R, R.user[t] = u} S[R.item[t], i]      (r_u = c · A[u,:] · S)
// with S a `neighbours` table (sparse: each item's top-M neighbours). Written, e.g., as
// `sum(j in item: ((u, j) in likes) * S[j, i])`; after δ-elimination (simplify) it is one product
// of the table read at a gathered item column and a δ on the user column, under a sum over R's tuples.
// Evaluation and serving run this form directly (runtime/eval/neighbour-scores.ts) instead of the
// pairs form, which would read S densely. Anything else that reads a table is reported (RC0623).
import { idxKey, type Expr, type Idx } from '../ir/nodes.ts';
import type { IRModule } from '../ir/module.ts';
import { expand } from './expand.ts';
import { simplify } from './simplify.ts';

export interface NeighbourScore {
  readonly kind: 'neighbours';
  /** the neighbours table S */
  readonly table: string;
  /** the relation walked per user, and its user and item columns */
  readonly relation: string;
  readonly userColumn: string;
  readonly itemColumn: string;
  readonly coef: number;
}

/** The neighbour form of score(u, i) over free u, i reading table(s) `tables`, or why it is not one. */
export function neighbourScore(expr: Expr, u: Idx, i: Idx, tables: ReadonlySet<string>, spaces: IRModule['spaces']): NeighbourScore | { kind: 'unavailable'; reason: string } {
  const no = (reason: string) => ({ kind: 'unavailable' as const, reason: `score(u, i) reads a neighbours table but is not c · Σ_{j ∈ likes[u]} S[j, i]: ${reason}` });
  const products = expand(simplify(expr, undefined, spaces), (x) => x, 16);
  if (!products || products.length !== 1) return no('it is not a single product (write `sum(j in item: ((u, j) in likes) * S[j, i])`)');
  const p = products[0]!;
  const [t] = p.over;
  if (p.over.length !== 1 || !t || spaces.get(t.space)?.kind !== 'relation') return no('the sum is not over the tuples of one relation');
  let table: { name: string; col: string } | undefined;
  let userCol: string | undefined;
  for (const f of p.factors) {
    if (f.op === 'tensor' && f.kind === 'param' && tables.has(f.name) && f.ix.length === 2) {
      const [a, b] = f.ix;
      if (table || a!.kind !== 'gather' || a!.rel !== t.space || idxKey(a!.t) !== idxKey(t) || b!.kind !== 'var' || idxKey(b!.idx) !== idxKey(i))
        return no(`\`${f.name}\` must be read as ${f.name}[j, i] with j the user's liked item`);
      table = { name: f.name, col: a!.col };
      continue;
    }
    if (f.op === 'eq') {
      const sides = [f.a, f.b];
      const g = sides.find((x) => x.kind === 'gather' && x.rel === t.space && idxKey(x.t) === idxKey(t));
      const other = sides.find((x) => x !== g);
      if (g?.kind === 'gather' && other?.kind === 'var' && idxKey(other.idx) === idxKey(u) && userCol === undefined) {
        userCol = g.col;
        continue;
      }
    }
    return no('a factor other than the table and the membership of (u, j) in the relation');
  }
  if (!table || !userCol) return no('it does not walk the user\'s tuples of one relation');
  return { kind: 'neighbours', table: table.name, relation: t.space, userColumn: userCol, itemColumn: table.col, coef: p.coef };
}

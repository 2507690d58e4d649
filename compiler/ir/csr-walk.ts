// CSR walks: which relation sums a kernel walks through a CSR index instead of looping over every
// tuple — `sum(t in rel: δ(rel.col[t], key) * …)` with `key` bound outside the sum. One definition,
// read by the cost model (passes/cost.ts), the planner and the emitter, so all three agree on
// which loops visit a CSR segment (|rel|/|domain| tuples on average) and which visit every tuple.
import { idxKey, type Expr, type ExprOf, type Idx, type Ix } from './nodes.ts';

export interface CsrLoop {
  /** the relation tuple index the sum ranges over */
  readonly t: Idx;
  readonly rel: string;
  readonly col: string;
  readonly domain: string;
  /** the δ node that the CSR walk makes identically 1 */
  readonly delta: ExprOf<'eq'>;
  /** the id every visited tuple holds in `col`: an index bound outside the sum */
  readonly key: Ix;
}

function ixBoundBy(x: Ix, bound: ReadonlySet<string>): boolean {
  return bound.has(idxKey(x.kind === 'var' ? x.idx : x.t));
}

/** The δ factors common to every term of `body`. */
export function commonDeltas(body: Expr): ExprOf<'eq'>[] {
  if (body.op === 'eq') return [body];
  if (body.op === 'mul') return body.args.filter((a): a is ExprOf<'eq'> => a.op === 'eq');
  if (body.op === 'add') {
    const [first, ...rest] = body.args.map(commonDeltas);
    return (first ?? []).filter((d) => rest.every((r) => r.includes(d)));
  }
  return [];
}

/**
 * `sum(t in rel, …: δ(rel.col[t], key) * …)` where `key` is bound outside the sum: loop over the
 * tuples whose `col` is `key` (a CSR segment) instead of every tuple. `bound` holds the index keys
 * bound where the sum is evaluated (thread indices and enclosing loops).
 */
export function csrOf(s: ExprOf<'sum'>, bound: ReadonlySet<string>): CsrLoop | undefined {
  const over = new Set(s.over.map(idxKey));
  for (const d of commonDeltas(s.body)) {
    for (const [g, key] of [
      [d.a, d.b],
      [d.b, d.a],
    ] as const) {
      // the tuple index must range over the relation itself (its space is named after it)
      if (g.kind !== 'gather' || !over.has(idxKey(g.t)) || g.t.space !== g.rel) continue;
      if (!ixBoundBy(key, bound)) continue;
      return { t: g.t, rel: g.rel, col: g.col, domain: g.domain, delta: d, key };
    }
  }
  return undefined;
}

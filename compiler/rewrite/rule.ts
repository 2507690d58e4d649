// Rule: one local rewrite as data (tinygrad's PatternMatcher entries, Halide's Simplify_* rules).
// A rule rewrites nodes of one op: `match` is its guard — it returns what the rewrite needs, or
// undefined where the rule does not apply — and `apply` builds the replacement from that. Both are
// pure. Each rule's math is the one-line comment above its definition, e.g.
//   // Σ_{x,…} δ(x, y)·g(x)  →  Σ_{…} g(y)
// `engine.ts` runs lists of rules to a fixpoint; `passes/*.ts` hold the lists.
// Constant folding is deliberately not a rule list: it is part of the smart constructors' canonical
// form (ir/nodes.ts: 2+3 is the node 5, x·0 is 0, c·x + c'·x is (c+c')·x), on which hash-consing's
// `===`, like-term merging and the rules' own guards (`select(c, g, 0)`, dropped empty sums) rely.
// As a pass it would make a node's identity depend on whether folding had run yet.
import type { Expr, ExprOf, Op } from '../ir/nodes.ts';

export interface Rule {
  readonly name: string;
  /** the op of the nodes it rewrites */
  readonly op: Op;
  /** the replacement of `e` (a node of `op`), or undefined where the guard fails */
  readonly apply: (e: Expr) => Expr | undefined;
}

/** A rule over nodes of `op`: `match` is the guard (bindings, or undefined), `apply` the rewrite. */
export function rule<K extends Op, M>(
  name: string,
  op: K,
  match: (e: ExprOf<K>) => M | undefined,
  apply: (e: ExprOf<K>, m: M) => Expr | undefined,
): Rule {
  return {
    name,
    op,
    apply: (e) => {
      if (e.op !== op) return undefined;
      const m = match(e as ExprOf<K>);
      return m === undefined ? undefined : apply(e as ExprOf<K>, m);
    },
  };
}

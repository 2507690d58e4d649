// Rule: one local rewrite as data (tinygrad's PatternMatcher entries, Halide's Simplify_* rules).
// A rule rewrites nodes of one op: `match` is its guard — it returns what the rewrite needs, or
// undefined where the rule does not apply — and `apply` builds the replacement from that. Both are
// pure. Each rule's math is the one-line comment above its definition, e.g.
//   // Σ_{x,…} δ(x, y)·g(x)  →  Σ_{…} g(y)
// `engine.ts` runs lists of rules to a fixpoint; `passes/*.ts` hold the lists.
// Constant folding is a rule list too, but not one this driver runs: ir/fold.ts's `foldRules`
// (`FoldRule`: the same name, math comment, guard and replacement, over a node about to be built) are
// applied by the smart constructors of ir/nodes.ts as they build each node, so 2+3 is the node 5 and
// x·0 is 0 from the start. Hash-consing's `===` and the rules here rely on that (`select(c, g, 0)`,
// dropped empty sums); as a later pass it would make a node's identity depend on whether folding had
// run yet. Canonicalization — flattening add/mul, merging like terms (c·x + c'·x → (c+c')·x) and
// factors (x·x → x²), the structural sort — is no rule: it is the constructors' own code.
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

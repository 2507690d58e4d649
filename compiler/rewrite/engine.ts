// The rewrite driver: runs a list of rules over an expression to a fixpoint. Bottom-up (children
// first), memoized by node id (hash-consing makes equal subtrees one node, rewritten once), and at
// each node the first rule of the list that fires wins; its replacement is rewritten again until no
// rule fires. A step bound turns a rule set that loops into an InternalError naming the last rule.
// `trace` sees every firing, in order: `recc explain --trace` prints them.
import { InternalError } from '../diagnostics/diagnostics.ts';
import type { Expr } from '../ir/nodes.ts';
import { mapChildren } from '../ir/walk.ts';
import type { Rule } from './rule.ts';

/** Called once per rule firing: the rule's name, the node it rewrote and its replacement. */
export type Trace = (rule: string, before: Expr, after: Expr) => void;

export interface RewriteOptions {
  readonly trace?: Trace;
  /** firings allowed before the driver gives up (a rule set without a fixpoint is a compiler bug) */
  readonly maxSteps?: number;
}

/** Far above what any model needs (a large generated model fires a few thousand rules). */
export const MAX_STEPS = 200_000;

/** The replacement of `e` by the first rule of `rules` that fires at its root (no recursion). */
export function applyFirst(e: Expr, rules: readonly Rule[], trace?: Trace): Expr | undefined {
  for (const r of rules) {
    if (r.op !== e.op) continue;
    const next = r.apply(e);
    if (next === undefined || next === e) continue;
    trace?.(r.name, e, next);
    return next;
  }
  return undefined;
}

/** `root` with `rules` applied bottom-up until none fires anywhere. */
export function rewrite(root: Expr, rules: readonly Rule[], opts: RewriteOptions = {}): Expr {
  const maxSteps = opts.maxSteps ?? MAX_STEPS;
  const memo = new Map<number, Expr>();
  let steps = 0;
  const go = (e: Expr): Expr => {
    const hit = memo.get(e.id);
    if (hit) return hit;
    let out = mapChildren(e, go);
    for (const r of rules) {
      if (r.op !== out.op) continue;
      const next = r.apply(out);
      if (next === undefined || next === out) continue;
      if (++steps > maxSteps) throw new InternalError(`rewrite found no fixpoint after ${maxSteps} steps; last rule ${r.name}`);
      opts.trace?.(r.name, out, next);
      out = go(next);
      break;
    }
    memo.set(e.id, out);
    memo.set(out.id, out); // a fixpoint: rewriting it again changes nothing
    return out;
  };
  return go(root);
}

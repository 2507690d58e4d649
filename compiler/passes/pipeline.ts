// The pass pipeline over one expression: simplify (δ-elimination) → for every sum, expand to
// sum-of-products normal form and contract each product by cost, and try split-default on
// membership-weighted sums → keep whichever form the cost model says is cheapest. Gramian forms, bias terms, `h` weights, constants and
// the gradients' U(VᵀV) all come out of this one mechanism; nothing matches `score^2` by spelling.
import { add, type Expr } from '../ir/nodes.ts';
import { printIR } from '../ir/print.ts';
import { mapChildren } from '../ir/walk.ts';
import { contractTerm } from './contract.ts';
import { cost, type Cost, type SizeOf } from './cost.ts';
import { expand } from './expand.ts';
import { eliminateDirectDeltas, simplify } from './simplify.ts';
import { splitDefault } from './split-default.ts';
import { fmPairwise } from './fm-pairwise.ts';
import type { Space } from '../ir/module.ts';

export interface RewriteStep {
  readonly rule: string;
  readonly before: string;
  readonly after: string;
  readonly costBefore: Cost;
  readonly costAfter: Cost;
}

export interface Optimized {
  readonly expr: Expr;
  readonly steps: readonly RewriteStep[];
}

export interface OptimizeOptions {
  readonly sizeOf: SizeOf;
  /** expansion guard: products per normal form */
  readonly maxTerms?: number;
  /** when false, return the simplified form as written (for tests and `--no-rewrite`) */
  readonly rewrite?: boolean;
  /** the module's spaces: enables split-default, which must know which spaces are relations */
  readonly spaces?: ReadonlyMap<string, Space>;
}

export function optimize(e: Expr, opts: OptimizeOptions): Optimized {
  const steps: RewriteStep[] = [];
  const record = (rule: string, before: Expr, after: Expr): void => {
    steps.push({ rule, before: printIR(before), after: printIR(after), costBefore: cost(before, opts.sizeOf), costAfter: cost(after, opts.sizeOf) });
  };
  const simplified = simplify(e);
  if (simplified !== e) record('simplify', e, simplified);
  if (opts.rewrite === false) return { expr: simplified, steps };

  const memo = new Map<number, Expr>();
  const go = (x: Expr): Expr => {
    const hit = memo.get(x.id);
    if (hit) return hit;
    let out: Expr;
    const pairs = x.op === 'sum' ? fmPairwise(x) : undefined;
    if (pairs) {
      // never costlier than the ordered pair loop: apply it, then optimize what it produced
      out = go(simplify(pairs));
      record('fm-pairwise', x, pairs);
    } else if (x.op === 'sum') {
      const asWritten = mapChildren(x, go);
      out = asWritten;
      let best = cost(asWritten, opts.sizeOf);
      const terms = expand(x, go, opts.maxTerms ?? 64);
      if (terms && !(terms.length === 1 && terms[0]!.factors.length <= 1)) {
        // contraction can leave Σ_t δ(t, R.c[n])·g(t) (a bound tuple paired with a gather): eliminate it
        const rewritten = eliminateDirectDeltas(add(...terms.map((t) => contractTerm(t, opts.sizeOf))));
        const after = cost(rewritten, opts.sizeOf);
        if (after.flops < best.flops * 0.999) {
          record('expand+contract', asWritten, rewritten);
          out = rewritten;
          best = after;
        }
      }
      const split = opts.spaces ? splitDefault(x, opts.spaces) : undefined;
      if (split) {
        const rewritten = go(simplify(split));
        const after = cost(rewritten, opts.sizeOf);
        if (after.flops < best.flops * 0.999) {
          record('split-default', out, split);
          out = rewritten;
          best = after;
        }
      }
    } else out = mapChildren(x, go);
    memo.set(x.id, out);
    return out;
  };
  return { expr: go(simplified), steps };
}

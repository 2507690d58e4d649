// The pass pipeline over one expression: a flat, named list (tinygrad's full_rewrite_to_sink).
// `rules` passes run a rule list to a fixpoint with the driver (rewrite/engine.ts); `search` passes
// are algorithms that choose by cost, as opt_einsum chooses a contraction path. Gramian forms, bias
// terms, `h` weights, constants and the gradients' U(VᵀV) all come out of expand+contract; nothing
// matches `score^2` by spelling.
//
// Worked example: the Gramian regularizer of examples/mf-gramian.recmodel, as `recc explain --trace`
// and the planner (printPlan) print it at the default sizes (|user| = |item| = 1000, d = 32):
//   written    |user|^(-1)*|item|^(-1)*gramw*sum(i1 in item, u1 in user: sum(k1 in d: U[u1,k1]*V[i1,k1])^2)
//   expand     sum(i1 in item, u1 in user: sum(k1 in d: U[u1,k1]*V[i1,k1])^2)
//            → sum(#0 in user, #1 in d, #2 in d, #3 in item: U[#0,#1]*U[#0,#2]*V[#3,#1]*V[#3,#2])
//   contract → sum(#1 in d, #2 in d: sum(#0 in user: U[#0,#1]*U[#0,#2])*sum(#3 in item: V[#3,#1]*V[#3,#2]))
//   planned    t1[#1,#2] = sum(#0 in user: U[#0,#1]*U[#0,#2])   -- kernel; 1024 cells, 2.0M flops, 4.1k B
//              t2[#1,#2] = sum(#3 in item: V[#3,#1]*V[#3,#2])   -- kernel; 1024 cells, 2.0M flops, 4.1k B
//              t3 = sum(#1 in d, #2 in d: t1[#1,#2]*t2[#1,#2])   -- kernel; 1 cells, 2.0k flops, 4 B
//              t4 = |user|^(-1)*|item|^(-1)*gramw*t3   -- host-eval; 1 cells, 5 flops, 4 B
// i.e. gramw/(|U||I|)·⟨UᵀU, VᵀV⟩: 66.0M FLOPs as written, 4.10M rewritten. Its gradient by U comes
// out of the same two searches as 2·gramw/(|U||I|)·U(VᵀV) (test/rewrite/golden.test.ts pins both).
import { add, type Expr } from '../ir/nodes.ts';
import { printIR } from '../ir/print.ts';
import { mapChildren } from '../ir/walk.ts';
import { applyFirst, rewrite, type Trace } from '../rewrite/engine.ts';
import type { Rule } from '../rewrite/rule.ts';
import { contractTerm } from './contract.ts';
import { cost, type Cost, type SizeOf } from './cost.ts';
import { expand, termToExpr } from './expand.ts';
import { eliminateDirectDeltas, simplify, simplifyRulesFor } from './simplify.ts';
import { splitDefault } from './split-default.ts';
import { fmPairwiseRules } from './fm-pairwise.ts';
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
  /** when false, run the rule passes only: the simplified form as written (tests, `--no-rewrite`) */
  readonly rewrite?: boolean;
  /** the module's spaces: enables split-default, which must know which spaces are relations */
  readonly spaces?: ReadonlyMap<string, Space>;
  /** sees every rule that fires and every search result kept, in order (`recc explain --trace`) */
  readonly trace?: Trace;
}

interface PassCtx {
  readonly sizeOf: SizeOf;
  readonly maxTerms: number;
  readonly spaces?: ReadonlyMap<string, Space>;
  readonly trace?: Trace;
  /** one line of explain's `rules:` list: a rule pass that changed something, a search form kept */
  readonly record: (step: string, before: Expr, after: Expr) => void;
}

export interface Pass {
  readonly name: string;
  /** `rules`: a rule list run to a fixpoint by the driver; `search`: an algorithm choosing by cost */
  readonly kind: 'rules' | 'search';
  readonly run: (e: Expr, ctx: PassCtx) => Expr;
}

const rulePass = (name: string, rules: (ctx: PassCtx) => readonly Rule[]): Pass => ({
  name,
  kind: 'rules',
  run: (e, ctx) => {
    const out = rewrite(e, rules(ctx), { trace: ctx.trace });
    if (out !== e) ctx.record(name, e, out);
    return out;
  },
});

const searchPass = (name: string, run: Pass['run']): Pass => ({ name, kind: 'search', run });

export const pipeline: readonly Pass[] = [
  // Σ_x δ(x, y)·g(x) → g(y), with the rules that expose δ factors (simplify.ts) and, given the
  // module's spaces, the membership-indicator rules (indicator.ts: m² = m, R's own tuple is in R)
  rulePass('simplify', (ctx) => simplifyRulesFor(ctx.spaces)),
  // per sum, bottom-up: fm-pairwise where it matches, else the cheapest of as written,
  // expand+contract and split-default (see cheapestForm)
  searchPass('cheapest-form', cheapestForm),
];

export function optimize(e: Expr, opts: OptimizeOptions): Optimized {
  const steps: RewriteStep[] = [];
  const ctx: PassCtx = {
    sizeOf: opts.sizeOf,
    maxTerms: opts.maxTerms ?? 64,
    spaces: opts.spaces,
    trace: opts.trace,
    record: (rule, before, after) => {
      steps.push({ rule, before: printIR(before), after: printIR(after), costBefore: cost(before, opts.sizeOf), costAfter: cost(after, opts.sizeOf) });
    },
  };
  const passes = opts.rewrite === false ? pipeline.filter((p) => p.kind === 'rules') : pipeline;
  return { expr: passes.reduce((x, p) => p.run(x, ctx), e), steps };
}

/**
 * Bottom-up over the sums of `e`, each sum (its children already in their cheapest forms) becomes:
 *   fm-pairwise's form where that rule matches (never costlier than the ordered pair loop), then
 *   optimized again; otherwise the cheapest of
 *   - as written,
 *   - expand (sum-of-products normal form) then contract each product by cost (expand.ts, contract.ts),
 *   - split-default (membership-weighted sums, split-default.ts), then optimized again;
 * a later candidate replaces an earlier one only when at least 0.1% cheaper. The trace shows the
 * rules inside a candidate only when the candidate is kept.
 */
function cheapestForm(e: Expr, ctx: PassCtx): Expr {
  const { sizeOf, trace } = ctx;
  const memo = new Map<number, Expr>();
  /** runs `f` with its trace events held back; they reach the trace only if `keep` is called */
  const tentative = <T>(f: (t: Trace | undefined) => T): { value: T; keep: () => void } => {
    if (!trace) return { value: f(undefined), keep: () => {} };
    const held: [string, Expr, Expr][] = [];
    const value = f((r, b, a) => held.push([r, b, a]));
    return { value, keep: () => held.forEach(([r, b, a]) => trace(r, b, a)) };
  };
  const go = (x: Expr): Expr => {
    const hit = memo.get(x.id);
    if (hit) return hit;
    let out: Expr;
    const pairs = x.op === 'sum' ? applyFirst(x, fmPairwiseRules, trace) : undefined;
    if (pairs) {
      out = go(simplify(pairs, trace, ctx.spaces));
      ctx.record('fm-pairwise', x, pairs);
    } else if (x.op === 'sum') {
      const asWritten = mapChildren(x, go);
      out = asWritten;
      let best = cost(asWritten, sizeOf);
      const contracted = tentative((t) => expandContract(x, go, ctx, t));
      if (contracted.value) {
        const after = cost(contracted.value, sizeOf);
        if (after.flops < best.flops * 0.999) {
          contracted.keep();
          ctx.record('expand+contract', asWritten, contracted.value);
          out = contracted.value;
          best = after;
        }
      }
      const split = ctx.spaces ? splitDefault(x, ctx.spaces) : undefined;
      if (split) {
        const rewritten = tentative((t) => {
          t?.('split-default', x, split);
          return go(simplify(split, t, ctx.spaces));
        });
        const after = cost(rewritten.value, sizeOf);
        if (after.flops < best.flops * 0.999) {
          rewritten.keep();
          ctx.record('split-default', out, split);
          out = rewritten.value;
          best = after;
        }
      }
    } else out = mapChildren(x, go);
    memo.set(x.id, out);
    return out;
  };
  return go(e);
}

/** `s` in sum-of-products normal form with each product contracted by cost, or undefined when the
 * normal form is too big or is a single factor (nothing to contract). */
function expandContract(s: Expr, go: (x: Expr) => Expr, ctx: PassCtx, trace: Trace | undefined): Expr | undefined {
  const terms = expand(s, go, ctx.maxTerms);
  if (!terms || (terms.length === 1 && terms[0]!.factors.length <= 1)) return undefined;
  const contracted = terms.map((t) => contractTerm(t, ctx.sizeOf));
  if (trace) {
    const expanded = add(...terms.map(termToExpr));
    trace('expand', s, expanded);
    trace('contract', expanded, add(...contracted));
  }
  // contraction can leave Σ_t δ(t, R.c[n])·g(t) (a bound tuple paired with a gather): eliminate it
  return eliminateDirectDeltas(add(...contracted), trace);
}

// Plan: the planner's entry. It decides *how* an IR expression runs (Halide's schedule): which
// subterms become kernels, over which thread indices, which long reductions are chunked and which
// relation sums are walked through a CSR index. Input: a hash-consed IR expression and the concrete
// sizes of its spaces. Output: a KernelPlan, plain JSON-serialisable data: ordered steps, each
// defining a temp `tN` over its output indices (steps only read earlier temps), the last the result.
//
// Files: types.ts (the plan as data) · group.ts (planGroup: LICM, host sums, split-K, CSR walks) ·
// args.ts (kernel arguments) · canonical.ts (flattening, alpha-canonical temps, shared per-tuple
// steps) · split-k.ts (chunking) · print.ts (printPlan). CSR-walk detection is ir/csr-walk.ts.
import { InternalError } from '../diagnostics/diagnostics.ts';
import { idxKey, type Expr, type Idx } from '../ir/nodes.ts';
import type { Sizes, Space } from '../ir/module.ts';
import { planGroup } from './group.ts';
import type { KernelPlan, PlanIdx, PlanOptions } from './types.ts';

export * from './types.ts';
export { csrOf, type CsrLoop } from '../ir/csr-walk.ts';
export { children, mapChildren } from '../ir/walk.ts';
export { collectArgs, type WalkCtx } from './args.ts';
export { planGroup } from './group.ts';
export { printPlan } from './print.ts';

/**
 * Plans `e` evaluated over `out` (row-major in that order; [] for a scalar).
 * Rules, in the order they apply to a sum S met while planning a step with bound indices L
 * (the step's thread indices plus enclosing loop indices):
 * 1. LICM: S misses an index of L → S becomes its own step over its free indices (unless that
 *    temp would have more than MAX_TEMP_CELLS cells: then S stays inline);
 * 2. a closed step (L = ∅) hoists every sum, so the step itself is a float64 host expression;
 * 3. S longer than `maxInline` iterations (and not a CSR walk) → own step, chunked (split-K);
 * 4. S nested in a loop that sums over a data-sized space (domain or relation) → own step, so its
 *    free indices run in parallel (the Gramians of Σ_{k,l}(UᵀU)(VᵀV));
 * 5. S is a CSR walk (`sum(t in rel: δ(rel.col[t], key) * F(t) * G(t, …))`): the product F of the
 *    factors that depend on the tuple only (the residual of a loss, with its constants) becomes a
 *    per-tuple step over t, copied into the CSR's tuple order, so the walk reads it — and every
 *    other id column it gathers — contiguously, and does not recompute it per output column;
 * otherwise S stays inline as a loop. Equal subterms (same node id) become one step. A max/min
 * (`reduce`) is its own step over its free indices whenever that temp fits (else an inline loop).
 */
export function planExpr(e: Expr, out: readonly Idx[], spaces: ReadonlyMap<string, Space>, sizes: Sizes, opts: PlanOptions = {}): KernelPlan {
  const g = planGroup([{ expr: e, out }], spaces, sizes, opts);
  const r = g.results[0]!;
  const last = g.steps[g.steps.length - 1]!;
  if (last.name !== r.result || !sameOrder(last.out, out)) throw new InternalError('plan: the last step is not the result');
  return { version: 1, source: r.source, out: r.out, sizes: g.sizes, steps: g.steps, result: r.result, scalar: r.scalar, cost: g.cost };
}

function sameOrder(a: readonly PlanIdx[], b: readonly Idx[]): boolean {
  return a.length === b.length && a.every((x, j) => idxKey(x) === idxKey(b[j]!));
}

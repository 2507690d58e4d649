// The cheap-gradient invariant (Baur–Strassen: reverse mode costs a small constant times the
// function): for every term recc accepts, the planned cost of its gradient by each param is at most
// GRADIENT_COST_FACTOR × the term's planned cost. Both are planned by compiler/plan (LICM, per-tuple
// steps, CSR walks) at a training step's sizes, their steps counted by the one cost model
// (passes/cost.ts); the gradient's cost is what it adds to a step that computes the term — reverse
// mode reuses the forward values, as planGroup shares their temps — and a row-sparse gradient is
// planned at its touched rows, as the trainer runs it.
// compile.ts computes the objective's gradient per param; only when one breaks the bound (or still
// visits every pair of two domains) are the terms that mention the param differentiated one by one,
// to name the term at fault:
//   - RC0530 (error unless --allow-dense): the term's gradient still loops over all pairs, though the
//     term itself does not;
//   - RC0532 (warning): the term's gradient costs more than GRADIENT_COST_FACTOR × the term.
// Writing a dense gradient costs one operation per cell of the param however cheap the term, so the
// bound allows that much on top: cost(∂term/∂W) ≤ 4·cost(term) + |W|.
import type { Model } from './check/model.ts';
import type { Diagnostic } from './diagnostics/diagnostics.ts';
import type { Expr, Idx } from './ir/nodes.ts';
import { nodes } from './ir/walk.ts';
import { formatCount, type Cost } from './passes/cost.ts';
import type { RowGradient } from './passes/row-support.ts';
import type { Sizes, Space } from './ir/module.ts';
import { planGroup } from './plan/plan.ts';

/** What the check reads of compile.ts's CompiledExpr, CompiledTerm and CompiledGrad. */
interface Costed {
  readonly written: Expr;
  readonly expr: Expr;
  readonly cost: Cost;
}
interface Term extends Costed {
  readonly name: string;
  readonly role: 'loss' | 'reg';
}
interface Gradient extends Costed {
  readonly param: string;
  readonly out: readonly Idx[];
  readonly rows?: RowGradient;
}

export const GRADIENT_COST_FACTOR = 4;

/** A term (no `out`) or a gradient, as the planner takes it. */
type Planned = Costed & { readonly out?: readonly Idx[]; readonly rows?: RowGradient };

export interface GradientCheck {
  readonly model: Model;
  readonly terms: readonly Term[];
  readonly grads: readonly Gradient[];
  readonly sizeOf: (space: string) => number;
  /** planned FLOPs of terms (out = []) and gradients planned together (see plannedCost) */
  readonly planned: (xs: readonly Planned[]) => number;
  /** ∂term/∂param, rewritten by the same pipeline as the objective's gradient */
  readonly termGradient: (term: Term, grad: Gradient) => Costed & { readonly rows?: RowGradient };
  /** the domains of a loop over every pair of two domains left in `e` at catalogue scale, if any */
  readonly dense: (e: Costed) => string[] | undefined;
  readonly allowDense: boolean;
}

const mentions = (t: Term, param: string): boolean =>
  nodes(t.written).some((n) => n.op === 'tensor' && n.kind === 'param' && n.name === param);

/** Cells of a gradient: the product of its output axes' sizes. */
const cells = (g: Gradient, sizeOf: (s: string) => number): number => g.out.reduce((n, i) => n * sizeOf(i.space), 1);

/** cost(∂term/∂W) ≤ 4·cost(term) + |W| (see the header). */
export function withinBound(gradFlops: number, termFlops: number, gradCells: number): boolean {
  return gradFlops <= GRADIENT_COST_FACTOR * termFlops + gradCells;
}

/**
 * Planned FLOPs of expressions planned together, as a training step plans its terms and gradients
 * (temps they share — a residual, a softmax's normalizer, a Gramian — computed once), at the step's
 * `sizes`. A gradient with a touched-rows form is planned at its touched rows: at most |domain| of
 * them, at most as many as its sources' tuples.
 */
export function plannedCost(spaces: ReadonlyMap<string, Space>, sizes: Sizes): (xs: readonly Planned[]) => number {
  const memo = new Map<string, number>();
  return (xs) => {
    const items = xs.map((x) => (x.rows ? { expr: x.rows.expr, out: x.rows.out } : { expr: x.expr, out: x.out ?? [] }));
    const key = items.map((i) => `${i.expr.id}:${i.out.map((o) => `${o.name}@${o.space}`).join(',')}`).join(' ');
    let hit = memo.get(key);
    if (hit !== undefined) return hit;
    const at = new Map(sizes);
    for (const x of xs) {
      if (!x.rows) continue;
      const touched = x.rows.sources.reduce((a, s) => a + (sizes.get(s.rel) ?? 0), 0);
      at.set(x.rows.space, Math.max(1, Math.min(sizes.get(x.rows.domain) ?? touched, touched)));
    }
    hit = items.length ? planGroup(items, spaces, at).cost.flops : 0;
    memo.set(key, hit);
    return hit;
  };
}

export function gradientCostDiagnostics(c: GradientCheck): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const g of c.grads) {
    // a term reported all-pairs itself (RC0530) has an all-pairs gradient too: not said twice
    const terms = c.terms.filter((t) => mentions(t, g.param) && !c.dense(t));
    const termFlops = c.planned(terms);
    const n = cells(g, c.sizeOf);
    if (!c.dense(g) && withinBound(c.planned([...terms, g]) - termFlops, termFlops, n)) continue;
    for (const t of terms) {
      const tg = c.termGradient(t, g);
      const decl = c.model.terms.find((x) => x.name === t.name)!.decl;
      const pairs = c.dense(tg);
      if (pairs) {
        out.push({
          code: 'RC0530',
          severity: c.allowDense ? 'warning' : 'error',
          message: `the gradient of ${t.role} \`${t.name}\` by \`${g.param}\` still visits every ${pairs.map((d) => `\`${d}\``).join(' × ')} pair after rewriting`,
          span: decl.name.span,
          label: `${formatCount(tg.cost.flops)} FLOPs per evaluation, against the term's ${formatCount(t.cost.flops)}`,
          notes: [{ message: `cost at ${[...new Set(pairs)].map((d) => `|${d}| = ${c.sizeOf(d)}`).join(', ')}; the term itself has a contracted form, its derivative does not` }],
          help: c.allowDense ? 'running it exactly, in chunks, because --allow-dense was given' : 'sample the negatives instead, or pass --allow-dense to run it exactly (slow)',
        });
        continue;
      }
      const tf = c.planned([t]);
      const gf = c.planned([t, { ...tg, out: g.out }]) - tf;
      if (!withinBound(gf, tf, n)) {
        const ratio = tf > 0 ? `${(gf / tf).toFixed(1)}×` : 'more than';
        out.push({
          code: 'RC0532',
          severity: 'warning',
          message: `the gradient of ${t.role} \`${t.name}\` by \`${g.param}\` costs ${ratio} the term`,
          span: decl.name.span,
          label: `${formatCount(gf)} FLOPs planned for the gradient, ${formatCount(tf)} for the term`,
          notes: [{ message: `reverse mode should cost at most ${GRADIENT_COST_FACTOR}× the term (plus one operation per cell of \`${g.param}\`); the rewrites found no form that does` }],
          help: 'run `recc explain` to see the gradient\'s rewritten form and its cost',
        });
      }
    }
  }
  return out;
}

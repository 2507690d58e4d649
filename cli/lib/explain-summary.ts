// explain.json: what `recc explain` prints, as data for a run's HTML report (runtime/output/run-report.ts
// reads it): every term, gradient and ALS block with the rules that fired, its form as written and
// rewritten, and its cost per training step before and after, at the step's sizes on the run's data;
// then the whole step as planned. Costs come from the one cost model (compiler/passes/cost.ts).
import type { Compiled, CompiledExpr } from '../../compiler/compile.ts';
import { ruleList, RULE_MEANING, trainingStepPlan } from '../../compiler/explain.ts';
import { formFreeNames, printForm } from '../../compiler/ir/print.ts';
import { publicNames, publicSizes } from '../../compiler/ir/spaces.ts';
import { cost, formatBytes, formatCount, type Cost } from '../../compiler/passes/cost.ts';
import type { ExplainSummary } from '../../runtime/output/run-report.ts';

type Item = ExplainSummary['items'][number];

const costOf = (c: Cost): Item['before'] => ({ flops: c.flops, memory: c.memory, flopsText: formatCount(c.flops), memoryText: formatBytes(c.memory) });

/** The summary at one training step's sizes `step` (runtime/train/step-sizes.ts), gradients at `atRows` where row-sparse. */
export function explainSummary(c: Compiled, step: ReadonlyMap<string, number>, atRows: ReadonlySet<string>): ExplainSummary {
  const sizeOf = (s: string): number => step.get(s) ?? c.sizes.get(s) ?? 0;
  const names = publicNames(c.module.spaces, c.module.samplers);
  const fired = new Set<string>();
  const item = (kind: Item['kind'], name: string, x: CompiledExpr, out: readonly { name: string; space: string }[]): Item => {
    const free = out.map((i) => ({ name: i.name, space: i.space }));
    const rules = x.steps.map((s) => s.rule);
    rules.forEach((r) => fired.add(r));
    return {
      kind,
      name,
      rules: ruleList(rules),
      written: printForm(x.written, { free, names }),
      rewritten: printForm(x.expr, { free, names }),
      before: costOf(cost(x.written, sizeOf)),
      after: costOf(cost(x.expr, sizeOf)),
    };
  };
  const items: Item[] = [
    ...c.terms.map((t) => item(t.role, t.name, t, [])),
    ...c.grads.map((g) => item('gradient', `∂/∂${g.param}[${formFreeNames({ free: g.out.map((i) => ({ name: i.name, space: i.space })), names }).join(', ')}]`, g, g.out)),
    ...(c.blocks ?? []).flatMap((b) => [item('als', `H of ${b.param}`, b.hessian, b.hessian.out), item('als', `g(0) of ${b.param}`, b.gradAtZero, b.gradAtZero.out)]),
  ];
  const plan = trainingStepPlan(c, step, atRows);
  const kernels = plan.steps.filter((s) => s.kind === 'kernel').length;
  const flopsWritten = [...c.terms, ...c.grads].reduce((a, x) => a + cost(x.written, sizeOf).flops, 0);
  return {
    sizes: Object.fromEntries(publicSizes(c.module.spaces, step)),
    items,
    rules: Object.fromEntries([...fired].sort().map((r) => [r, RULE_MEANING[r] ?? ''])),
    step: {
      flopsWritten,
      flopsPlanned: plan.cost.flops,
      tempElements: plan.cost.bytes / 4,
      kernels,
      hostSteps: plan.steps.length - kernels,
      text:
        `Per training step: ${formatCount(flopsWritten)} FLOPs as written → ${formatCount(plan.cost.flops)} FLOPs as planned, ` +
        `${formatBytes(plan.cost.bytes / 4)} of temps; ${kernels} kernels and ${plan.steps.length - kernels} host steps.`,
    },
  };
}

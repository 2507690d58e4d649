// explain: a compiled model as text — for every loss/reg term and every param's gradient, the form
// as written, each rule that fired, the final form, and FLOPs and intermediate memory per
// evaluation before and after, with the ratio; with `trace`, every rule that fired (from a model
// compiled with `trace: true`). Pure: returns a string.
import type { Compiled, CompiledExpr, TraceStep } from './compile.ts';
import { printIR } from './ir/print.ts';
import { publicSizes } from './ir/spaces.ts';
import { formatBytes, formatCount, type Cost } from './passes/cost.ts';

function costLine(label: string, c: Cost): string {
  return `${label}${formatCount(c.flops)} FLOPs, ${formatBytes(c.memory)} of intermediates`;
}

function ratio(before: Cost, after: Cost): string {
  if (after.flops <= 0) return '';
  const r = before.flops / after.flops;
  return r >= 1.05 ? `  (${r >= 100 ? r.toFixed(0) : r.toFixed(1)}× fewer FLOPs)` : '  (no cheaper form found; kept as written)';
}

export interface ExplainOptions {
  /** print every rule that fired, in order, per term and gradient (`recc explain --trace`) */
  readonly trace?: boolean;
}

/** The firings of one term or gradient, numbered: the rule, the node it rewrote, its replacement. */
function traceLines(steps: readonly TraceStep[]): string[] {
  if (steps.length === 0) return ['  trace:     (no rule fired)'];
  const w = String(steps.length).length;
  return [
    '  trace:',
    ...steps.flatMap((s, j) => [
      `    ${String(j + 1).padStart(w)}. ${s.rule}`,
      `    ${' '.repeat(w)}    ${printIR(s.before)}`,
      `    ${' '.repeat(w)}  → ${printIR(s.after)}`,
    ]),
  ];
}

function block(title: string, c: CompiledExpr, opts: ExplainOptions): string[] {
  const lines = [title, `  written:   ${printIR(c.written)}`];
  const rules = c.steps.map((s) => s.rule);
  lines.push(`  rules:     ${rules.length ? rules.join(' → ') : '(none fired)'}`);
  if (opts.trace) lines.push(...(c.trace ? traceLines(c.trace) : ['  trace:     (not recorded: compile with `trace: true`)']));
  lines.push(`  rewritten: ${printIR(c.expr)}`);
  lines.push(costLine('  cost as written: ', c.costWritten));
  lines.push(costLine('  cost rewritten:  ', c.cost) + ratio(c.costWritten, c.cost));
  return lines;
}

/** `c` as text; `trace` needs `c` compiled with `trace: true` (compile.ts). */
export function explainCompiled(c: Compiled, opts: ExplainOptions = {}): string {
  const sizes = publicSizes(c.module.spaces, c.sizes).map(([k, v]) => `|${k}| = ${v}`).join(', ');
  const out = [`model ${c.model.name} — costs per evaluation at ${sizes}`, ''];
  for (const t of c.terms) out.push(...block(`${t.role} ${t.name}`, t, opts), '');
  for (const g of c.grads) {
    const rows = g.rows
      ? `  row-sparse: only the rows named by ${g.rows.sources.map((s) => `${s.rel}.${s.col}`).join(' ∪ ')} in a step's batch are computed and updated`
      : `  dense: computed and applied over all of ${g.param} each step`;
    out.push(...block(`gradient ∂objective/∂${g.param}[${g.out.map((i) => i.name).join(', ')}]`, g, opts), rows, '');
  }
  const before = [...c.terms, ...c.grads].reduce((a, x) => a + x.costWritten.flops, 0);
  const after = [...c.terms, ...c.grads].reduce((a, x) => a + x.cost.flops, 0);
  out.push(`total per training step: ${formatCount(before)} FLOPs as written → ${formatCount(after)} FLOPs rewritten (${(before / Math.max(1, after)).toFixed(1)}×)`);
  return out.join('\n');
}

// explain: a compiled model as text — for every loss/reg term and every param's gradient, the form
// as written, each rule that fired, the final form, and FLOPs and intermediate memory per
// evaluation before and after, with the ratio. Pure: returns a string.
import type { Compiled, CompiledExpr } from './compile.ts';
import { printIR } from './ir/print.ts';
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
  /** after each term's rules, every rewrite step in order: the rule, the form it produced, its cost */
  readonly trace?: boolean;
}

function block(title: string, c: CompiledExpr, opts: ExplainOptions): string[] {
  const lines = [title, `  written:   ${printIR(c.written)}`];
  const rules = c.steps.map((s) => s.rule);
  lines.push(`  rules:     ${rules.length ? rules.join(' → ') : '(none fired)'}`);
  if (opts.trace) c.steps.forEach((s, j) => lines.push(`    ${j + 1}. ${s.rule}: ${s.after}`, costLine('       ', s.costAfter)));
  lines.push(`  rewritten: ${printIR(c.expr)}`);
  lines.push(costLine('  cost as written: ', c.costWritten));
  lines.push(costLine('  cost rewritten:  ', c.cost) + ratio(c.costWritten, c.cost));
  return lines;
}

export function explainCompiled(c: Compiled, opts: ExplainOptions = {}): string {
  const sizes = [...c.sizes].filter(([k]) => !k.includes('#')).map(([k, v]) => `|${k}| = ${v}`).join(', ');
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

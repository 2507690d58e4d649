// A plan as text: one line per step (its expression, how it runs, cells, FLOPs and bytes), for
// `recc explain` and test failure messages.
import type { KernelPlan } from './types.ts';

/** One line per step, for `recc explain` and test failure messages. */
export function printPlan(p: KernelPlan): string {
  const lines: string[] = [];
  for (const s of p.steps) {
    const o = s.out.map((i) => i.name).join(',');
    const lhs = o ? `${s.name}[${o}]` : s.name;
    let how: string = s.kind;
    if (s.split) how += ` split ${s.split.dims.map((d) => `${d.idx.name}:${d.chunk}x${d.chunks}`).join(' ')}`;
    if (s.order) how += ` in csr order of ${s.order.rel}.${s.order.col}`;
    else if (s.csr.length) how += ` csr ${s.csr.map((c) => `${c.rel}.${c.col}`).join(' ')}`;
    const rhs = s.kind === 'host-sum' ? `sum of ${s.of}` : s.text;
    lines.push(`${lhs} = ${rhs}   -- ${how}; ${s.cells} cells, ${fmt(s.cost.flops)} flops, ${fmt(s.cost.bytes)} B`);
  }
  lines.push(`result ${p.result}: ${fmt(p.cost.flops)} flops, ${fmt(p.cost.bytes)} B`);
  return lines.join('\n');
}

function fmt(n: number): string {
  if (n < 1e3) return String(Math.round(n));
  if (n < 1e6) return `${(n / 1e3).toFixed(1)}k`;
  if (n < 1e9) return `${(n / 1e6).toFixed(1)}M`;
  return `${(n / 1e9).toFixed(1)}G`;
}

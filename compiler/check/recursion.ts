// Check pass 1d — recursion. Defs are inlined, so a def may not reach itself through calls (RC0505,
// one report per cycle, naming the path).
import type * as A from '../syntax/ast.ts';
import { error, type Report } from './report.ts';
import type { CallGraph } from './resolve.ts';

export function checkRecursion(defs: ReadonlyMap<string, A.DefDecl>, calls: CallGraph, report: Report): void {
  // Defs that reach no cycle at all are found first, in one pass: the search from each def skips
  // them (they cannot lead back to it), so it stays linear on long chains and shared callees.
  const cyclic = new Set<string>();
  const state = new Map<string, 'open' | 'done'>();
  const reachesCycle = (f: string): boolean => {
    const st = state.get(f);
    if (st === 'open') return true;
    if (st === 'done') return cyclic.has(f);
    state.set(f, 'open');
    let found = false;
    for (const c of calls.get(f) ?? []) if (reachesCycle(c.callee)) found = true;
    state.set(f, 'done');
    if (found) cyclic.add(f);
    return found;
  };
  for (const f of defs.keys()) reachesCycle(f);
  const reported = new Set<string>();
  for (const start of defs.keys()) {
    if (!cyclic.has(start)) continue;
    const path: string[] = [];
    const onPath = new Set<string>();
    const visit = (f: string): boolean => {
      if (!cyclic.has(f)) return false;
      if (onPath.has(f)) {
        if (f !== start) return false;
        const cycle = [...path, f];
        if (!cycle.some((x) => reported.has(x))) {
          cycle.forEach((x) => reported.add(x));
          const d = defs.get(start)!;
          const via = path.slice(1);
          report(error('RC0505', `\`${start}\` calls itself${via.length ? ' through ' + via.map((x) => `\`${x}\``).join(' → ') : ''}`, d.name.span, 'recursive def', {
            notes: [{ message: `cycle: ${cycle.join(' → ')}` }],
            help: 'defs are inlined, so they cannot be recursive; unroll the recursion by hand',
          }));
        }
        return true;
      }
      onPath.add(f);
      path.push(f);
      for (const c of calls.get(f) ?? []) if (visit(c.callee)) return true;
      path.pop();
      onPath.delete(f);
      return false;
    };
    visit(start);
  }

}

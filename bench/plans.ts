// bench/plans: prints the kernel plans of every term and gradient of a model at given sizes.
//   npx tsx bench/plans.ts examples/mf-gramian.recmodel [users items ratings batch]
import { readFileSync } from 'node:fs';
import { compileSource } from '../compiler/compile.ts';
import { planExpr, planGroup, printPlan } from '../compiler/plan/plan.ts';
import { printIR } from '../compiler/ir/print.ts';
import { batchKey, totalKey } from '../compiler/ir/spaces.ts';

const [file, u = '6040', i = '3706', n = '1000209', b = n] = process.argv.slice(2);
const sizes = new Map([['user', +u], ['item', +i], ['ratings', +b], [totalKey('ratings'), +n], [batchKey('ratings'), +b]]);
const c = compileSource(file!, readFileSync(file!, 'utf8'), { sizes }).compiled!;
const all = new Map(c.sizes);
for (const t of c.terms) console.log(`term ${t.name}: ${printIR(t.expr)}\n${printPlan(planExpr(t.expr, [], c.module.spaces, all))}\n`);
for (const g of c.grads) console.log(`grad ${g.param}: ${printIR(g.expr)}\n${printPlan(planExpr(g.expr, g.out, c.module.spaces, all))}\n`);
if (process.argv.includes('--group')) {
  const g = planGroup([...c.terms.map((t) => ({ expr: t.expr, out: [] })), ...c.grads.map((x) => ({ expr: x.expr, out: x.out }))], c.module.spaces, all);
  console.log('group plan:');
  console.log(printPlan({ ...g, source: '', out: [], result: g.results.map((r) => r.result).join(','), scalar: false }));
}

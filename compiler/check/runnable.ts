// What `recc run` would refuse later, refused by `check` at once (issue 11): a param too large for the
// backends at its dims alone (RC0550; at the data's sizes `compile`/`run` judge it with `paramSizeDiagnostics`),
// and metrics with no `def score` to compute them from (RC0551).
import type * as A from '../syntax/ast.ts';
import type { Diagnostic } from '../diagnostics/diagnostics.ts';
import { describeCells, LIMIT_TEXT, sizeFits } from '../ir/limits.ts';
import type { Model } from './model.ts';
import { error, type Report } from './report.ts';

export function checkRunnable(model: Model, evaluate: A.EvaluateBlock | undefined, report: Report): void {
  paramSizeDiagnostics(model, undefined).forEach(report);
  const metrics = evaluate?.entries.find((e) => e.kind === 'Metrics');
  if (metrics && model.evaluate.metrics.length > 0 && !model.defs.has('score'))
    report(
      error('RC0551', 'metrics need a `def score` to compute them from', metrics.span, 'no `def score` in the model', {
        help: 'add e.g. `def score(u, i) = U[u] . V[i]` (the model\'s prediction for a test tuple), or remove the `metrics` entry',
      }),
    );
}

/**
 * RC0550 for each param with more cells than the backends can index: at its dims alone when `sizes`
 * is undefined (check), else at `sizes` (each domain's size in the loaded data).
 */
export function paramSizeDiagnostics(model: Model, sizes: ((domain: string) => number) | undefined): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const p of model.params) {
    const factors = p.shape.flatMap((a): [string, number][] => (a.kind === 'dim' ? [[a.name, a.size]] : sizes ? [[a.name, sizes(a.name)]] : []));
    const cells = factors.reduce((n, [, k]) => n * k, 1);
    if (sizeFits(cells)) continue;
    const dims = [...new Set(p.shape.filter((a) => a.kind === 'dim').map((a) => `\`${a.name}\``))];
    out.push(
      error('RC0550', `param \`${p.name}\` is too large to run: ${describeCells(factors)}${sizes ? ' at the data\'s sizes' : ''}`, p.decl.name.span, 'too many cells', {
        help: `recc runs at most ${LIMIT_TEXT}${dims.length ? `; lower ${dims.join(' or ')}` : ''}${sizes ? ' or train on less data' : ''}`,
      }),
    );
  }
  return out;
}

// `recc report DIR`: writes (again) DIR/report.html, the self-contained HTML report of a run folder
// (runtime/output/run-report.ts), a sweep folder (cli/experiment/sweep-html.ts) or a `recc cv` folder
// (cli/experiment/cv-html.ts), from the files in it. Runs, sweeps and cv write it themselves when they
// end; this redraws one (a sweep still running or killed, a folder from an older recc, a moved one).
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { command, UsageError, UserError } from '../lib/args.ts';
import type { Runtime } from '../lib/runtime.ts';
import { writeCvReport } from '../experiment/cv-html.ts';
import { writeSweepReport } from '../experiment/sweep-html.ts';

/** What kind of folder `dir` is, by the file that only that kind writes. */
export function reportKind(dir: string): 'sweep' | 'cv' | 'run' | undefined {
  if (existsSync(join(dir, 'sweep.json'))) return 'sweep';
  if (existsSync(join(dir, 'cv.json'))) return 'cv';
  if (existsSync(join(dir, 'metrics.json'))) return 'run';
  return undefined;
}

export const report = command({
  name: 'report',
  summary: 'write the HTML report (report.html) of a run, sweep or cv folder again',
  description:
    'The report is one self-contained file that opens offline: charts (Vega-Lite, inlined), the configuration,\n' +
    'protocol, sizes, timings and, for a run, the rewrites and costs of a training step (explain.json).\n' +
    '`recc run`, `recc sweep` and `recc cv` write it when they finish; this draws it again from the folder\'s files.',
  operands: [{ name: 'DIR', meaning: 'a folder written by `recc run`, `recc sweep` or `recc cv`' }],
  flags: [],
  // a run's report reads the runtime's run-folder module; sweeps and cv need none of the runtime
  needsRuntime: ({ operands }) => operands[0] !== undefined && reportKind(operands[0]) === 'run',
  run: ({ operands }, runtime: () => Runtime) => {
    const dir = operands[0]!.replace(/\/+$/, '') || '/';
    if (!existsSync(dir)) throw new UsageError(`no such folder: ${dir}`);
    if (!statSync(dir).isDirectory()) throw new UsageError(`${dir} is a file; recc report takes the folder a run, sweep or cv wrote`);
    const kind = reportKind(dir);
    let path: string;
    if (kind === 'sweep') path = writeSweepReport(dir);
    else if (kind === 'cv') path = writeCvReport(dir);
    else if (kind === 'run') {
      path = runtime().runReport.writeRunReport(dir);
    } else {
      const partial = existsSync(`${dir}.partial`) ? `; ${dir}.partial holds an unfinished run (\`recc run --resume ${dir}\` finishes it, and writes its report)` : '';
      throw new UserError(`${dir} is not a run, sweep or cv folder (it has no metrics.json, sweep.json or cv.json)${partial}`);
    }
    process.stdout.write(`${path}\n`);
    return 0;
  },
});

// A sweep folder's report.html (runtime/output/html-page.ts), from the folder's files alone (sweep.json,
// trials.json), so `recc report DIR` draws a sweep still running or killed as well as a finished one:
// the best trial and its config, the best objective so far over the trials, each hyperparameter
// against the objective (scatter, and parallel coordinates with two axes or more), and every trial.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { htmlPageParts, type Page, type Section } from '../../runtime/output/html-page.ts';
import { bestSoFar, parallelCoordinates, sweepScatter } from '../../runtime/output/report-charts.ts';
import { writeFileAtomic } from '../../runtime/output/write.ts';
import { UserError } from '../lib/args.ts';
import { SweepFolder, type TrialRecord } from './sweep-folder.ts';
import { parseAxis } from './space.ts';

/** The report page of the sweep in `dir`. */
export function sweepPage(dir: string): Page {
  const spec = SweepFolder.spec(dir);
  const path = join(dir, 'trials.json');
  let trials: TrialRecord[] = [];
  if (existsSync(path)) {
    try {
      trials = JSON.parse(readFileSync(path, 'utf8')) as TrialRecord[];
    } catch (err) {
      throw new UserError(`${path} is not valid JSON (${(err as Error).message}); rerun the sweep's command line to rewrite it`);
    }
  }
  // the axes as the trials hold them (whether given by --param or by the model's sweep block)
  const axes = [...new Set(trials.flatMap((t) => Object.keys(t.config)))];
  // axes searched log-uniformly are drawn on log scales (an axis not spelled as --param's SPEC falls back to its values' spread)
  const logAxes = new Set(spec.params.flatMap((p) => { try { return [parseAxis(p)]; } catch { return []; } }).filter((a) => a.kind === 'loguniform').map((a) => a.name));
  const sign = spec.direction === 'min' ? 1 : -1;
  const ok = trials.filter((t) => t.objective !== null && Number.isFinite(t.objective));
  const ranked = [...ok].sort((a, b) => sign * (a.objective! - b.objective!) || a.trial - b.trial);
  const best = ranked[0];
  const what = spec.folds ? `mean ${spec.objective} over ${spec.folds} folds` : `validation ${spec.objective}`;
  const sections: Section[] = [{ kind: 'heading', text: 'Best trial' }];
  sections.push({
    kind: 'keyvalue',
    entries: best
      ? [
          ['trial', String(best.trial)],
          [what, String(Number(best.objective!.toPrecision(6)))],
          ...Object.entries(best.config).map(([k, v]): [string, string] => [k, String(v)]),
          ...Object.entries(best.test).map(([k, v]): [string, string] => [`test ${k}`, String(Number(v.toPrecision(6)))]),
        ]
      : [['best', 'no trial finished with a finite objective yet']],
  });
  const charts: [string, Record<string, unknown> | undefined][] = [
    [`${what}: each trial, and the best so far (${spec.direction === 'min' ? 'lower' : 'higher'} is better)`, bestSoFar(trials, spec.direction, spec.objective)],
    [`each hyperparameter against ${what}`, sweepScatter(trials, axes, spec.objective, logAxes)],
    ['parallel coordinates: every trial across its hyperparameters, coloured by the objective', parallelCoordinates(trials, axes, spec.objective, logAxes)],
  ];
  sections.push({ kind: 'heading', text: 'Search' });
  for (const [title, spec] of charts) if (spec) sections.push({ kind: 'chart', title, spec });
  if (ok.length === 0) sections.push({ kind: 'text', text: '(no finished trial with a finite objective to chart)' });

  const metrics = [...new Set(trials.flatMap((t) => Object.keys(t.metrics)))];
  const tests = [...new Set(trials.flatMap((t) => Object.keys(t.test)))];
  const failed = trials.filter((t) => !ok.includes(t)).sort((a, b) => a.trial - b.trial);
  sections.push({ kind: 'heading', text: `Trials (${trials.length} of ${spec.trials} finished, best first)` });
  sections.push({
    kind: 'table',
    columns: ['trial', ...axes, 'objective', ...metrics, ...tests.map((m) => `test ${m}`), 'seconds', ...(failed.length ? ['error'] : [])],
    rows: [...ranked, ...failed].map((t) => [
      t.trial, ...axes.map((a) => t.config[a] ?? null), t.objective, ...metrics.map((m) => t.metrics[m] ?? null), ...tests.map((m) => t.test[m] ?? null),
      Number(t.seconds.toFixed(2)), ...(failed.length ? [t.error ?? null] : []),
    ]),
  });
  sections.push({ kind: 'heading', text: 'Sweep' });
  sections.push({
    kind: 'keyvalue',
    entries: [
      ['model', spec.model],
      ['search', `${spec.search}, seed ${spec.seed}, ${spec.trials} trials`],
      ['objective', `${what} (${spec.direction === 'min' ? 'minimized' : 'maximized'})`],
      ['axes', spec.params.join('  ') || axes.join(', ')],
      ['fixed', Object.entries(spec.fixed).map(([k, v]) => `${k}=${v}`).join(', ') || '(none)'],
      ['mode', spec.mode],
      ...(spec.data ? [['data', spec.data] as [string, string]] : []),
    ],
  });
  return { title: `recc sweep: ${spec.model.split('/').pop()}`, subtitle: `${spec.search} search · ${trials.length} of ${spec.trials} trials · objective ${what}`, sections };
}

/** Writes report.html into the sweep folder `dir`; returns its path. */
export function writeSweepReport(dir: string): string {
  const path = join(dir, 'report.html');
  writeFileAtomic(path, htmlPageParts(sweepPage(dir)));
  return path;
}

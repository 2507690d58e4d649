// A cross-validation folder's report.html (runtime/output/html-page.ts), from its cv.json: each metric
// per fold with the mean, and the per-fold table with mean, std, min and max (cv-report.ts's table).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { htmlPageParts, type Page, type Section } from '../../runtime/output/html-page.ts';
import { foldChart } from '../../runtime/output/report-charts.ts';
import { writeFileAtomic } from '../../runtime/output/write.ts';
import { UserError } from '../lib/args.ts';
import { cvSummary, cvTable } from './cv-report.ts';
import type { CrossValidation } from './folds.ts';

/** The report page of the cross-validation in `dir` (its cv.json). */
export function cvPage(dir: string): Page {
  const path = join(dir, 'cv.json');
  if (!existsSync(path)) throw new UserError(`${dir} is not a cross-validation folder (no cv.json)`);
  let cv: CrossValidation;
  try {
    cv = JSON.parse(readFileSync(path, 'utf8')) as CrossValidation;
  } catch (err) {
    throw new UserError(`${path} is not valid JSON (${(err as Error).message}); rerun \`recc cv\` to rewrite it`);
  }
  const summary = cvSummary(cv);
  const sections: Section[] = [{ kind: 'heading', text: 'Mean over the folds' }];
  sections.push({ kind: 'keyvalue', entries: Object.entries(summary).map(([m, s]): [string, string] => [m, `${s.mean.toFixed(4)} ± ${s.std.toFixed(4)} (min ${s.min.toFixed(4)}, max ${s.max.toFixed(4)})`]) });
  sections.push({ kind: 'heading', text: 'Per fold' });
  for (const m of Object.keys(summary)) {
    const spec = foldChart(m, cv.folds.map((f) => ({ fold: f.fold, value: f.metrics[m] ?? NaN })));
    if (spec) sections.push({ kind: 'chart', title: `${m} per fold (dashed: the mean)`, spec });
  }
  const { columns, rows } = cvTable(cv);
  sections.push({ kind: 'table', columns, rows: rows.map((r) => columns.map((c) => r[c] ?? null)) });
  sections.push({ kind: 'heading', text: 'Protocol' });
  sections.push({
    kind: 'keyvalue',
    entries: [
      ['protocol', cv.protocol],
      ['folds', `${cv.k} (seed ${cv.seed})`],
      ['settings', Object.entries(cv.bindings).map(([k, v]) => `${k}=${v}`).join(', ') || "(the model's)"],
      ['time', `${cv.folds.reduce((a, f) => a + f.seconds, 0).toFixed(1)} s training over all folds`],
    ],
  });
  return { title: `recc cv: ${cv.model}`, subtitle: `${cv.k}-fold cross-validation · ${cv.protocol}`, sections };
}

/** Writes report.html into the cross-validation folder `dir`; returns its path. */
export function writeCvReport(dir: string): string {
  const path = join(dir, 'report.html');
  writeFileAtomic(path, htmlPageParts(cvPage(dir)));
  return path;
}

// A cross-validation's results as files: folds.csv (one row per fold, then mean/std/min/max rows),
// cv.json (the folds and each metric's summary, like Cornac's CVResult) and the same table as Markdown.
import { join } from 'node:path';
import { summarize, toCsv, toMarkdown, type Row, type Summary } from './table.ts';
import type { CrossValidation } from './folds.ts';

/** Each metric's mean/std/min/max over the folds, in the folds' metric order. */
export function cvSummary(cv: CrossValidation): Record<string, Summary> {
  const names = [...new Set(cv.folds.flatMap((f) => Object.keys(f.metrics)))];
  return Object.fromEntries(names.map((m) => [m, summarize(cv.folds.map((f) => f.metrics[m] ?? NaN))]));
}

/** The per-fold table with mean, std, min and max rows: its columns and rows. */
export function cvTable(cv: CrossValidation): { columns: string[]; rows: Row[] } {
  const summary = cvSummary(cv);
  const metrics = Object.keys(summary);
  const columns = ['fold', ...metrics, 'steps', 'seconds'];
  const rows: Row[] = cv.folds.map((f) => ({ fold: String(f.fold), ...f.metrics, steps: f.steps, seconds: Number(f.seconds.toFixed(3)), ...(f.diverged ? { fold: `${f.fold} (diverged)` } : {}) }));
  for (const stat of ['mean', 'std', 'min', 'max'] as const) rows.push({ fold: stat, ...Object.fromEntries(metrics.map((m) => [m, summary[m]![stat]])) });
  return { columns, rows };
}

/** Writes cv.json and folds.csv into `dir` through `write` (atomic); returns the Markdown table. */
export function writeCv(dir: string, cv: CrossValidation, write: (path: string, text: string) => void): string {
  const { columns, rows } = cvTable(cv);
  write(join(dir, 'folds.csv'), toCsv(columns, rows));
  write(join(dir, 'cv.json'), JSON.stringify({ ...cv, summary: cvSummary(cv) }, null, 2) + '\n');
  const md = toMarkdown(columns, rows);
  write(join(dir, 'cv.md'), `# ${cv.model}: ${cv.k}-fold cross-validation\n\n${cv.protocol}\n\n${md}`);
  return md;
}

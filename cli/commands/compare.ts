// `recc compare RUN...`: the configurations and metrics of several run folders side by side, one row
// per run: the model, its `--set` values (run.json), steps, seconds, the test metrics of its saved
// params and, with a validation part, the validation metrics of those params. Markdown on stdout
// (a table that also reads as text), or CSV with --csv. Also takes `recc cv` folders (cv.json: the
// folds' means) so cross-validated and single-split results can share a table. --readme FILE writes
// the table between FILE's markers (cli/experiment/readme-table.ts): the README's ranking table.
import { existsSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { command, UsageError, UserError } from '../lib/args.ts';
import { summarize, toCsv, toMarkdown, type Row } from '../experiment/table.ts';
import { writeReadmeTable } from '../experiment/readme-table.ts';

interface Entry {
  readonly name: string;
  readonly model: string;
  readonly settings: Readonly<Record<string, number>>;
  readonly cells: Readonly<Record<string, number | string | null>>;
  readonly metrics: Readonly<Record<string, number>>;
}

type Json = Record<string, unknown>;
const read = (p: string): Json => JSON.parse(readFileSync(p, 'utf8')) as Json;

function entryOf(dir: string): Entry {
  const name = basename(resolve(dir));
  if (existsSync(join(dir, 'cv.json'))) {
    const cv = read(join(dir, 'cv.json')) as { model: string; k: number; bindings: Record<string, number>; folds: { metrics: Record<string, number>; steps: number }[] };
    const names = [...new Set(cv.folds.flatMap((f) => Object.keys(f.metrics)))];
    const metrics = Object.fromEntries(names.map((m) => [m, summarize(cv.folds.map((f) => f.metrics[m] ?? NaN)).mean]));
    const settings = Object.fromEntries(Object.entries(cv.bindings).filter(([k]) => k !== 'steps' && k !== 'epochs'));
    return { name, model: cv.model, settings, cells: { protocol: `${cv.k}-fold CV (mean)`, steps: cv.folds[0]?.steps ?? null, seconds: null }, metrics };
  }
  if (!existsSync(join(dir, 'metrics.json'))) throw new UserError(`${dir} is not a run folder (no metrics.json) nor a \`recc cv\` folder (no cv.json)`);
  const m = read(join(dir, 'metrics.json')) as { model: string; steps: number; seconds: number; final: Record<string, number>; validation: { history: { step: number; metrics: Record<string, number> }[] } | null; params?: { step: number } };
  const run = existsSync(join(dir, 'run.json')) ? (read(join(dir, 'run.json')) as { sets?: Record<string, number> }) : {};
  const step = m.params?.step;
  const val = m.validation?.history.filter((e) => e.step === step).at(-1) ?? m.validation?.history.at(-1);
  const metrics = { ...m.final, ...Object.fromEntries(Object.entries(val?.metrics ?? {}).map(([k, v]) => [`val ${k}`, v])) };
  return { name, model: m.model, settings: run.sets ?? {}, cells: { protocol: m.validation ? 'test (validation)' : 'test', steps: m.steps, seconds: m.seconds }, metrics };
}

export const compare = command({
  name: 'compare',
  summary: 'the configurations and metrics of run folders side by side (Markdown, or CSV)',
  description:
    'One row per folder: the model, its --set values, steps, seconds, and the test metrics of its saved params\n' +
    '(with a validation part, also `val METRIC`); a `recc cv` folder gives the mean over its folds.\n' +
    '--sort METRIC orders the rows (errors such as rmse ascending, other metrics descending). --readme FILE writes the Markdown\n' +
    'table between the `<!-- recc compare:begin -->` and `<!-- recc compare:end -->` lines of FILE (the README\'s ranking table).',
  operands: [{ name: 'RUN', meaning: 'a run folder (`recc run --out`) or a `recc cv` folder', repeat: true }],
  flags: [
    { kind: 'boolean', name: 'csv', meaning: 'print CSV instead of a Markdown table' },
    { kind: 'string', name: 'sort', arg: 'METRIC', meaning: 'order the rows by this metric, best first', default: 'the order given' },
    { kind: 'string', name: 'readme', arg: 'FILE', meaning: 'also write the Markdown table between the recc compare markers of FILE', default: 'stdout only' },
  ],
  needsRuntime: () => false,
  run: ({ operands, flags }) => {
    let entries = operands.map(entryOf);
    const settings = [...new Set(entries.flatMap((e) => Object.keys(e.settings)))];
    const metrics = [...new Set(entries.flatMap((e) => Object.keys(e.metrics)))];
    if (flags.sort !== undefined) {
      const key = flags.sort;
      if (!metrics.includes(key)) throw new UserError(`--sort ${key}: no folder has that metric (they have ${metrics.join(', ')})`);
      const sign = /^(val )?(rmse|mae|logloss)$/.test(key) ? 1 : -1;
      entries = [...entries].sort((a, b) => sign * ((a.metrics[key] ?? (sign > 0 ? Infinity : -Infinity)) - (b.metrics[key] ?? (sign > 0 ? Infinity : -Infinity))));
    }
    const columns = ['run', 'model', ...settings, 'protocol', 'steps', 'seconds', ...metrics];
    const rows: Row[] = entries.map((e) => ({ run: e.name, model: e.model, ...e.settings, ...e.cells, ...e.metrics }));
    if (flags.readme !== undefined && flags.csv) throw new UsageError('--readme writes the Markdown table; leave out --csv');
    const table = flags.csv ? toCsv(columns, rows) : toMarkdown(columns, rows);
    process.stdout.write(table);
    if (flags.readme !== undefined) {
      if (!existsSync(flags.readme)) throw new UserError(`--readme ${flags.readme}: no such file`);
      const changed = writeReadmeTable(flags.readme, table);
      process.stderr.write(`${flags.readme}: the table between the recc compare markers ${changed ? 'rewritten' : 'unchanged'}\n`);
    }
    return 0;
  },
});

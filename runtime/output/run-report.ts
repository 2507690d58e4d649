// A run folder's report.html (html-page.ts), built from the folder's own files, so that `recc report DIR`
// regenerates exactly what the run wrote: metrics.json (results, protocol, sizes, timings, every
// evaluation), loss.csv (each term per step), run.json (how it was run), model.recmodel and, when the
// run wrote it, explain.json (cli/lib/explain-summary.ts: the rewrites that fired, costs before/after).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { htmlPageParts, type Section } from './html-page.ts';
import { lossChart, metricCharts, type EvalPoint, type LossRow } from './report-charts.ts';
import { RunFolderError } from './run-folder.ts';
import { writeFileAtomic } from './write.ts';

export const RUN_REPORT_FILE = 'report.html';

/** a cost from the compiler's cost model, with its own rendering (`1.2M`, `4.0 KiB`) */
interface Cost {
  readonly flops: number;
  /** elements of intermediates (float32) */
  readonly memory: number;
  readonly flopsText: string;
  readonly memoryText: string;
}

/** explain.json: the compiler's account of one training step (written by cli/lib/explain-summary.ts). */
export interface ExplainSummary {
  /** the sizes costs are computed at, by public name */
  readonly sizes: Readonly<Record<string, number>>;
  readonly items: readonly {
    readonly kind: 'loss' | 'reg' | 'gradient' | 'als';
    readonly name: string;
    /** the rules that fired, in order, repeats folded (`expand+contract ×2`) */
    readonly rules: string;
    readonly written: string;
    readonly rewritten: string;
    readonly before: Cost;
    readonly after: Cost;
  }[];
  /** what each rule that fired does */
  readonly rules: Readonly<Record<string, string>>;
  /** the whole step as planned, and that in words */
  readonly step: { readonly flopsWritten: number; readonly flopsPlanned: number; readonly tempElements: number; readonly kernels: number; readonly hostSteps: number; readonly text: string };
}

/** A JSON file of the folder; undefined when absent, an error naming it when it is not JSON. */
function readJson(dir: string, name: string): Record<string, unknown> | undefined {
  const path = join(dir, name);
  if (!existsSync(path)) return undefined;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new RunFolderError(`${path} is not valid JSON (${(err as Error).message}); rerun the run to rewrite it`);
  }
}

/** loss.csv's rows: step, epoch, lr, one column per term, total, ms. */
export function readLossCsv(text: string): { terms: string[]; rows: (LossRow & { ms: number })[] } {
  const [head, ...lines] = text.trim().split('\n');
  const cols = (head ?? '').split(',');
  const at = (c: string): number => cols.indexOf(c);
  const terms = cols.slice(at('lr') + 1, at('total'));
  if (at('step') !== 0 || at('lr') < 0 || at('total') < 0) return { terms: [], rows: [] };
  const rows = lines.map((l) => {
    const v = l.split(',').map(Number);
    return { step: v[0]!, terms: Object.fromEntries(terms.map((t, j) => [t, v[at('lr') + 1 + j]!])), total: v[at('total')]!, ms: v[at('ms')] ?? NaN };
  });
  return { terms, rows };
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const median = (xs: readonly number[]): number => {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const fmt = (x: number, digits = 4): string => (Number.isInteger(x) ? String(x) : x.toFixed(digits));

/** metrics.json's `earlyStop` (run-folder.ts writeMetrics) */
interface EarlyStopJson {
  readonly metric: string;
  readonly direction: string;
  readonly patience: number;
  readonly minDelta: number;
  readonly stoppedAt: number | null;
  readonly bestStep: number | null;
  readonly bestValue: number | null;
}

/** The early-stopping rule and what it did, in words. */
function earlyStopText(e: EarlyStopJson): string {
  const rule = `on ${e.metric} (${e.direction === 'min' ? 'lower' : 'higher'} is better), patience ${e.patience}${e.minDelta ? `, min delta ${e.minDelta}` : ''}`;
  const best = e.bestStep !== null && e.bestValue !== null ? `; best ${fmt(e.bestValue)} at step ${e.bestStep}` : '';
  return `${rule}${best}${e.stoppedAt !== null ? `; stopped after step ${e.stoppedAt}` : ''}`;
}

/** The report's sections for the run in `dir`. */
export function runReportPage(dir: string): { title: string; subtitle: string; sections: Section[] } {
  const metrics = readJson(dir, 'metrics.json');
  if (!metrics) throw new RunFolderError(`${dir} is not a run folder (no metrics.json); \`recc report\` takes a folder written by \`recc run\`, \`recc sweep\` or \`recc cv\``);
  const run = readJson(dir, 'run.json');
  const explain = readJson(dir, 'explain.json') as ExplainSummary | undefined;
  const loss = existsSync(join(dir, 'loss.csv')) ? readLossCsv(readFileSync(join(dir, 'loss.csv'), 'utf8')) : { terms: [], rows: [] };
  const model = String(metrics.model ?? 'run');
  const sections: Section[] = [];

  // results first: the final test metrics, where the params come from
  const final = (metrics.final ?? {}) as Record<string, number>;
  const params = metrics.params as { from?: string } | undefined;
  const diverged = metrics.diverged as { term: string; step: number; value: number } | null;
  sections.push({ kind: 'heading', text: 'Results' });
  if (diverged) sections.push({ kind: 'text', text: `Training diverged: term ${diverged.term} became ${diverged.value} at step ${diverged.step}.` });
  sections.push({
    kind: 'keyvalue',
    entries: [
      ...Object.entries(final).map(([k, v]): [string, string] => [`test ${k}`, typeof v === 'number' ? fmt(v) : String(v)]),
      ['params from', params?.from ?? '—'],
      ['evaluations measured on', String(metrics.evaluatedOn ?? '—')],
      ...(typeof metrics.note === 'string' ? [['note', metrics.note] as [string, string]] : []),
    ],
  });

  // curves
  const lossSpec = lossChart(loss.rows);
  sections.push({ kind: 'heading', text: 'Loss' });
  if (lossSpec) sections.push({ kind: 'chart', title: `loss per term over ${loss.rows.length} steps`, spec: lossSpec });
  else sections.push({ kind: 'text', text: '(no finite loss values were logged)' });
  const history = (Array.isArray(metrics.history) ? metrics.history : []) as EvalPoint[];
  const test = metrics.test as { step: number; epoch: number; metrics: Record<string, number> } | null;
  // with a validation part, the final test measurement is one more point, at the params' step
  const points = metrics.evaluatedOn === 'validation' && test ? [...history, { step: test.step, epoch: test.epoch, on: 'test', metrics: test.metrics }] : history;
  const charts = metricCharts(points);
  sections.push({ kind: 'heading', text: 'Metrics' });
  if (charts.length === 0) sections.push({ kind: 'text', text: '(no evaluations)' });
  for (const c of charts) sections.push({ kind: 'chart', title: `${c.metric} over steps`, spec: c.spec });

  // how it was run
  const sizes = (metrics.sizes ?? {}) as Record<string, number>;
  const sets = (run?.sets ?? {}) as Record<string, number>;
  sections.push({ kind: 'heading', text: 'Configuration' });
  sections.push({
    kind: 'keyvalue',
    entries: [
      ['model', String(run?.model ?? model)],
      ['--set', Object.keys(sets).length ? Object.entries(sets).map(([k, v]) => `${k}=${v}`).join(', ') : '(none)'],
      ['backend', String(metrics.backend ?? '—')],
      ['seed', String(metrics.seed ?? '—')],
      ['length', run?.steps != null ? `--steps ${run.steps}` : run?.epochs != null ? `--epochs ${run.epochs}` : "the model's"],
      ...(run?.data ? [['data', String(run.data)] as [string, string]] : []),
      ...(run?.init ? [['warm start', String(run.init)] as [string, string]] : []),
      ...(metrics.earlyStop ? [['early stopping', earlyStopText(metrics.earlyStop as EarlyStopJson)] as [string, string]] : []),
    ],
  });
  sections.push({ kind: 'heading', text: 'Protocol and sizes' });
  sections.push({ kind: 'keyvalue', entries: [['protocol', String(metrics.protocol ?? '—')], ...Object.entries(sizes).map(([k, v]): [string, string] => [`|${k}|`, String(v)])] });
  const ms = loss.rows.map((r) => r.ms);
  const seconds = num(metrics.seconds);
  sections.push({ kind: 'heading', text: 'Timings' });
  sections.push({
    kind: 'keyvalue',
    entries: [
      ['steps', String(metrics.steps ?? loss.rows.length)],
      ['training time', seconds === undefined ? '—' : `${seconds.toFixed(2)} s`],
      ['median step', ms.length ? `${median(ms).toFixed(2)} ms` : '—'],
      ['steps per second', seconds && num(metrics.steps) ? (Number(metrics.steps) / seconds).toFixed(1) : '—'],
      ['evaluations', String(history.length)],
    ],
  });

  // what the compiler did
  sections.push({ kind: 'heading', text: 'Explain: rewrites and costs per training step' });
  if (!explain) sections.push({ kind: 'text', text: '(no explain.json in this folder)' });
  else {
    sections.push({ kind: 'keyvalue', entries: Object.entries(explain.sizes).map(([k, v]): [string, string] => [`|${k}|`, String(v)]) });
    sections.push({
      kind: 'table',
      columns: ['', 'rules fired', 'FLOPs as written', 'FLOPs rewritten', 'temps as written', 'temps rewritten'],
      rows: explain.items.map((x) => [`${x.kind} ${x.name}`, x.rules || '(none)', x.before.flopsText, x.after.flopsText, x.before.memoryText, x.after.memoryText]),
    });
    sections.push({ kind: 'text', text: explain.step.text });
    if (Object.keys(explain.rules).length) sections.push({ kind: 'keyvalue', entries: Object.entries(explain.rules) });
    sections.push({ kind: 'pre', text: explain.items.map((x) => `${x.kind} ${x.name}\n  written:   ${x.written}\n  rewritten: ${x.rewritten}`).join('\n\n') });
  }
  const source = join(dir, 'model.recmodel');
  if (existsSync(source)) sections.push({ kind: 'heading', text: 'Model' }, { kind: 'pre', text: readFileSync(source, 'utf8') });

  const subtitle = `${metrics.steps ?? '?'} steps${seconds === undefined ? '' : ` in ${seconds.toFixed(1)} s`} · ${metrics.protocol ?? ''}`;
  return { title: `recc run: ${model}`, subtitle, sections };
}

/** Writes report.html into the run folder `dir` (from its files); returns its path. */
export function writeRunReport(dir: string): string {
  const path = join(dir, RUN_REPORT_FILE);
  writeFileAtomic(path, htmlPageParts(runReportPage(dir)));
  return path;
}

// The reports' charts as Vega-Lite specs (drawn by html-page.ts): pure functions from numbers to specs.
//   lossChart       each loss term (and the total) over steps; log y where every value is positive and
//                   they span two decades or more; long runs are averaged into at most MAX_POINTS buckets
//   metricCharts    each metric over steps, one line per part measured (validation, test), thinned to
//                   MAX_POINTS evaluations a line
//   foldChart       a metric per fold, with the mean as a rule
//   sweepScatter    each swept hyperparameter against the objective (log x where the axis spans decades)
//   bestSoFar       each trial's objective in trial order, and the best so far as a step line
//   parallelCoordinates  every trial as a line across its hyperparameters (each axis scaled to [0, 1]), coloured by the objective
type Spec = Record<string, unknown>;

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';
const WIDTH = 640;

/** Points per line of a loss chart: beyond this, consecutive steps are averaged. */
export const MAX_POINTS = 400;

/** ratio max/min at or above which an axis of positive values is drawn on a log scale */
const DECADES = 100;

/** True when the values are all positive and span two decades or more: a log scale shows them. */
export function spansDecades(values: readonly number[]): boolean {
  const xs = values.filter(Number.isFinite);
  if (xs.length < 2 || xs.some((x) => x <= 0)) return false;
  return Math.max(...xs) / Math.min(...xs) >= DECADES;
}

export interface LossRow {
  readonly step: number;
  readonly terms: Readonly<Record<string, number>>;
  readonly total: number;
}

/** Means of consecutive rows, at most `max` buckets; a bucket's step is its last. */
export function bucketed(rows: readonly LossRow[], max = MAX_POINTS): LossRow[] {
  const per = Math.max(1, Math.ceil(rows.length / max));
  if (per === 1) return [...rows];
  const out: LossRow[] = [];
  for (let j = 0; j < rows.length; j += per) {
    const chunk = rows.slice(j, j + per).filter((r) => Number.isFinite(r.total));
    if (chunk.length === 0) continue;
    const mean = (f: (r: LossRow) => number): number => chunk.reduce((a, r) => a + f(r), 0) / chunk.length;
    const terms = Object.fromEntries(Object.keys(chunk[0]!.terms).map((k) => [k, mean((r) => r.terms[k]!)]));
    out.push({ step: chunk[chunk.length - 1]!.step, terms, total: mean((r) => r.total) });
  }
  return out;
}

/** Each term and the total over steps; undefined without a finite value. */
export function lossChart(rows: readonly LossRow[]): Spec | undefined {
  const values = bucketed(rows).flatMap((r) => [
    ...Object.entries(r.terms).map(([term, value]) => ({ step: r.step, term, value })),
    ...(Object.keys(r.terms).length > 1 ? [{ step: r.step, term: 'total', value: r.total }] : []),
  ]).filter((v) => Number.isFinite(v.value));
  if (values.length === 0) return undefined;
  // a log scale cannot show a term at zero or below: such a term keeps the scale linear
  const log = spansDecades(values.map((v) => v.value));
  return {
    $schema: SCHEMA,
    width: WIDTH,
    height: 260,
    data: { values },
    mark: { type: 'line', interpolate: 'linear' },
    encoding: {
      x: { field: 'step', type: 'quantitative', title: 'step' },
      y: { field: 'value', type: 'quantitative', title: log ? 'value (log scale)' : 'value', scale: log ? { type: 'log' } : { zero: false } },
      color: { field: 'term', type: 'nominal', title: 'term' },
      tooltip: [{ field: 'term' }, { field: 'step' }, { field: 'value', format: '.5g' }],
    },
  };
}

export interface EvalPoint {
  readonly step: number;
  readonly epoch: number;
  readonly on: string;
  readonly metrics: Readonly<Record<string, number>>;
}

/** At most `max` of each part's evaluations: every k-th, and always the last. */
export function thinned(evals: readonly EvalPoint[], max = MAX_POINTS): EvalPoint[] {
  const parts = [...new Set(evals.map((e) => e.on))];
  return parts.flatMap((on) => {
    const xs = evals.filter((e) => e.on === on);
    const per = Math.ceil(xs.length / max);
    return per <= 1 ? xs : xs.filter((_, j) => j % per === 0 || j === xs.length - 1);
  });
}

/** One chart per metric: its value over steps, a line per part measured (validation, test); at most MAX_POINTS points a line. */
export function metricCharts(all: readonly EvalPoint[]): { metric: string; spec: Spec }[] {
  const evals = thinned(all);
  const metrics = [...new Set(evals.flatMap((e) => Object.keys(e.metrics)))];
  return metrics.flatMap((metric) => {
    const values = evals.flatMap((e) => (Number.isFinite(e.metrics[metric]) ? [{ step: e.step, epoch: e.epoch, on: e.on, value: e.metrics[metric]! }] : []));
    if (values.length === 0) return [];
    return [{
      metric,
      spec: {
        $schema: SCHEMA,
        width: WIDTH,
        height: 200,
        data: { values },
        mark: { type: 'line', point: true },
        encoding: {
          x: { field: 'step', type: 'quantitative', title: 'step' },
          y: { field: 'value', type: 'quantitative', title: metric, scale: { zero: false } },
          color: { field: 'on', type: 'nominal', title: 'measured on' },
          tooltip: [{ field: 'on' }, { field: 'step' }, { field: 'epoch', format: '.2f' }, { field: 'value', format: '.5g' }],
        },
      },
    }];
  });
}

/** A metric per fold as points, with the mean over the folds as a horizontal rule. */
export function foldChart(metric: string, folds: readonly { fold: number; value: number }[]): Spec | undefined {
  const values = folds.filter((f) => Number.isFinite(f.value)).map((f) => ({ fold: String(f.fold), value: f.value }));
  if (values.length === 0) return undefined;
  const y = { field: 'value', type: 'quantitative', title: metric, scale: { zero: false } };
  return {
    $schema: SCHEMA,
    width: Math.min(WIDTH, 80 * values.length + 80),
    height: 200,
    data: { values },
    layer: [
      { mark: { type: 'point', filled: true, size: 80 }, encoding: { x: { field: 'fold', type: 'ordinal', title: 'fold', axis: { labelAngle: 0 } }, y, tooltip: [{ field: 'fold' }, { field: 'value', format: '.5g' }] } },
      { mark: { type: 'rule', strokeDash: [4, 4] }, encoding: { y: { aggregate: 'mean', ...y } } },
    ],
  };
}

export interface TrialPoint {
  readonly trial: number;
  readonly config: Readonly<Record<string, number>>;
  /** null: failed or diverged */
  readonly objective: number | null;
}

const finiteTrials = (trials: readonly TrialPoint[]): (TrialPoint & { objective: number })[] =>
  trials.filter((t): t is TrialPoint & { objective: number } => t.objective !== null && Number.isFinite(t.objective));

/** An axis is drawn on a log scale when it was searched log-uniformly (`logAxes`) or its values span decades. */
const logAxis = (ok: readonly TrialPoint[], axis: string, logAxes: ReadonlySet<string>): boolean =>
  logAxes.has(axis) ? ok.every((t) => t.config[axis]! > 0) : spansDecades(ok.map((t) => t.config[axis]!));

/** One scatter per swept hyperparameter: its value against the objective (log x where searched log-uniformly or spanning decades). */
export function sweepScatter(trials: readonly TrialPoint[], axes: readonly string[], objective: string, logAxes: ReadonlySet<string> = new Set()): Spec | undefined {
  const ok = finiteTrials(trials);
  if (ok.length === 0 || axes.length === 0) return undefined;
  const values = ok.map((t) => ({ trial: t.trial, objective: t.objective, ...t.config }));
  return {
    $schema: SCHEMA,
    data: { values },
    hconcat: axes.map((axis) => ({
      width: Math.max(160, Math.min(300, Math.floor(900 / axes.length))),
      height: 200,
      mark: { type: 'point', filled: true },
      encoding: {
        x: { field: axis, type: 'quantitative', title: axis, scale: logAxis(ok, axis, logAxes) ? { type: 'log' } : { zero: false } },
        y: { field: 'objective', type: 'quantitative', title: objective, scale: { zero: false } },
        tooltip: [{ field: 'trial' }, { field: axis, format: '.4g' }, { field: 'objective', format: '.5g' }],
      },
    })),
  };
}

/** Every trial as a line across its hyperparameters, each axis scaled to [0, 1] (log as in sweepScatter), coloured by the objective. */
export function parallelCoordinates(trials: readonly TrialPoint[], axes: readonly string[], objective: string, logAxes: ReadonlySet<string> = new Set()): Spec | undefined {
  const ok = finiteTrials(trials);
  if (ok.length === 0 || axes.length < 2) return undefined;
  const scaled = new Map<string, (v: number) => number>();
  for (const axis of axes) {
    const log = logAxis(ok, axis, logAxes);
    const f = (v: number): number => (log ? Math.log10(v) : v);
    const xs = ok.map((t) => f(t.config[axis]!));
    const lo = Math.min(...xs);
    const hi = Math.max(...xs);
    scaled.set(axis, (v) => (hi > lo ? (f(v) - lo) / (hi - lo) : 0.5));
  }
  const values = ok.flatMap((t) => axes.map((axis) => ({ trial: t.trial, objective: t.objective, axis, value: t.config[axis]!, position: scaled.get(axis)!(t.config[axis]!) })));
  return {
    $schema: SCHEMA,
    width: Math.max(300, 160 * axes.length),
    height: 240,
    data: { values },
    mark: { type: 'line', opacity: 0.7 },
    encoding: {
      x: { field: 'axis', type: 'nominal', sort: axes, title: null, axis: { labelAngle: 0 } },
      y: { field: 'position', type: 'quantitative', title: 'position in the range searched', axis: { format: '.0%' } },
      detail: { field: 'trial', type: 'nominal' },
      color: { field: 'objective', type: 'quantitative', title: objective, scale: { scheme: 'viridis' } },
      tooltip: [{ field: 'trial' }, { field: 'axis' }, { field: 'value', format: '.4g' }, { field: 'objective', format: '.5g' }],
    },
  };
}

/** Each trial's objective in trial order, and the best so far (lower or higher is better) as a step line. */
export function bestSoFar(trials: readonly TrialPoint[], direction: 'min' | 'max', objective: string): Spec | undefined {
  const ok = finiteTrials(trials).sort((a, b) => a.trial - b.trial);
  if (ok.length === 0) return undefined;
  let best = ok[0]!.objective;
  const values = ok.map((t) => {
    best = direction === 'min' ? Math.min(best, t.objective) : Math.max(best, t.objective);
    return { trial: t.trial, objective: t.objective, best };
  });
  const x = { field: 'trial', type: 'quantitative', title: 'trial', axis: { tickMinStep: 1 } };
  const y = { type: 'quantitative', title: objective, scale: { zero: false } };
  return {
    $schema: SCHEMA,
    width: WIDTH,
    height: 220,
    data: { values },
    layer: [
      { mark: { type: 'point', filled: true, opacity: 0.6 }, encoding: { x, y: { field: 'objective', ...y }, tooltip: [{ field: 'trial' }, { field: 'objective', format: '.5g' }] } },
      { mark: { type: 'line', interpolate: 'step-after', color: '#d62728' }, encoding: { x, y: { field: 'best', ...y } } },
    ],
  };
}

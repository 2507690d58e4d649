// The `sweep { … }` block (pass 3): the hyperparameter search `recc sweep` runs when the command line
// gives no --param. Each axis names something a trial may change — a const or dim of the model, the
// optimizer's `lr`, or the run's `steps`/`epochs` (cli/experiment/overrides.ts applies those) — and a
// list of values or a range. The settings (`search`, `trials`, `seed`, `objective`, `folds`) are the
// defaults of the command line's flags, which override them. Codes RC0600–RC0614.
import type * as A from '../syntax/ast.ts';
import { joinSpans, type Span } from '../diagnostics/source.ts';
import type { MetricInfo, SweepAxisInfo, SweepInfo, TrainInfo } from './model.ts';
import { didYouMean, error, warning, type Report } from './report.ts';

/** The names a sweep axis may take besides consts and dims, each with the values it accepts. */
const SETTINGS = {
  lr: { ok: (v: number) => v > 0, what: 'a positive number' },
  steps: { ok: (v: number) => Number.isSafeInteger(v) && v >= 0, what: 'a whole number ≥ 0' },
  epochs: { ok: (v: number) => Number.isSafeInteger(v) && v >= 1, what: 'a whole number ≥ 1' },
} as const;

/** Distributions of a range axis: uniform on [lo, hi]; log-uniform (log x uniform, lo > 0); int: whole numbers lo..hi, uniform. */
const DISTRIBUTIONS = ['uniform', 'loguniform', 'int'] as const;
const SEARCHES = ['random', 'grid'] as const;

export interface SweepContext {
  readonly consts: ReadonlyMap<string, number>;
  readonly dims: ReadonlyMap<string, number>;
  readonly train: TrainInfo;
  readonly metrics: readonly MetricInfo[];
}

const metricText = (m: MetricInfo): string => (m.k === undefined ? m.name : `${m.name}@${m.k}`);

export function sweepInfo(block: A.SweepBlock, ctx: SweepContext, report: Report): SweepInfo {
  const seen = new Map<string, Span>();
  const axes: SweepAxisInfo[] = [];
  let search: SweepInfo['search'] = 'random';
  let trials: number | undefined;
  let trialsSpan: Span | undefined;
  let seed = 0;
  let objective: string | undefined;
  let folds: number | undefined;
  const wholeAtLeast = (n: A.NumberLit, min: number, what: string): number | undefined => {
    if (Number.isSafeInteger(n.value) && n.value >= min) return n.value;
    report(error('RC0607', `${what} must be a whole number of at least ${min}`, n.span, `found ${n.text}`));
    return undefined;
  };
  const swept = new Map<string, Span>();
  for (const e of block.entries) {
    const key = e.kind === 'Axis' ? `axis ${e.axis.name.name}` : e.kind;
    const prev = e.kind === 'Axis' ? swept.get(e.axis.name.name) : seen.get(key);
    if (prev) {
      const word = e.kind === 'Axis' ? `\`${e.axis.name.name}\` is swept` : `\`${e.kind.toLowerCase()}\` is given`;
      report(error('RC0604', `${word} twice in the sweep`, e.span, 'given again here', { notes: [{ message: 'first given at {at}', span: prev }], help: 'keep one of them' }));
      continue;
    }
    if (e.kind === 'Axis') swept.set(e.axis.name.name, e.span);
    else seen.set(key, e.span);
    switch (e.kind) {
      case 'Search': {
        const w = e.value.name;
        if (w === 'random' || w === 'grid') search = w;
        else report(error('RC0605', `unknown search \`${w}\``, e.value.span, 'not a search', { help: didYouMean(w, SEARCHES) ?? 'a sweep searches `random` (seeded draws) or `grid` (every combination of the lists)' }));
        break;
      }
      case 'Trials':
        trials = wholeAtLeast(e.value, 1, 'the number of trials');
        trialsSpan = e.span;
        break;
      case 'Folds':
        folds = wholeAtLeast(e.value, 2, 'the number of folds');
        break;
      case 'Seed':
        seed = wholeAtLeast(e.value, 0, "the sweep's seed") ?? 0;
        break;
      case 'Objective': {
        const m = e.metric;
        const text = m.k ? `${m.name.name}@${m.k.text}` : m.name.name;
        const known = ctx.metrics.map(metricText);
        if (known.includes(text)) objective = text;
        else
          report(error('RC0606', `the sweep's objective \`${text}\` is not a metric of the \`evaluate\` block`, m.span, 'not computed', {
            help: known.length ? (didYouMean(text, known) ?? `the model computes ${known.map((k) => `\`${k}\``).join(', ')}`) : 'add it to the model\'s `evaluate { metrics … }`',
          }));
        break;
      }
      case 'Axis': {
        const a = axisInfo(e.axis, ctx, report);
        if (a) axes.push(a);
        break;
      }
    }
  }
  if (swept.size === 0) report(error('RC0610', 'the sweep has no axis', block.span, 'nothing to search', { help: 'add one, e.g. `lr ~ loguniform(1e-3, 1e-1)` or `d in [16, 32, 64]`' }));
  if (swept.has('steps') && swept.has('epochs'))
    report(error('RC0609', 'a sweep may change `steps` or `epochs`, not both', swept.get('epochs')!, 'second stopping rule', { help: 'a trial stops after `steps` updates or after `epochs` passes; sweep one of them' }));
  if (search === 'grid') {
    for (const a of block.entries) {
      if (a.kind === 'Axis' && a.axis.kind === 'Range')
        report(error('RC0605', `a grid search needs a list of values for every axis; \`${a.axis.name.name}\` is a range`, a.axis.span, 'a range', { help: `list its values, e.g. \`${a.axis.name.name} in [${a.axis.lo.text}, ${a.axis.hi.text}]\`, or use \`search random\`` }));
    }
    if (trialsSpan) report(warning('RC0611', 'a grid search runs every combination of the lists; `trials` is ignored', trialsSpan, 'ignored', 'remove it, or use `search random`'));
  }
  return { search, seed, axes, ...(trials !== undefined ? { trials } : {}), ...(objective !== undefined ? { objective } : {}), ...(folds !== undefined ? { folds } : {}) };
}

/** One axis, checked against what its name is; undefined (reported) when it is not sweepable. */
function axisInfo(a: A.SweepAxis, ctx: SweepContext, report: Report): SweepAxisInfo | undefined {
  const name = a.name.name;
  const isDim = ctx.dims.has(name);
  const setting = !isDim && !ctx.consts.has(name) && name in SETTINGS ? SETTINGS[name as keyof typeof SETTINGS] : undefined;
  if (!isDim && !ctx.consts.has(name) && !setting) {
    const candidates = [...ctx.consts.keys(), ...ctx.dims.keys(), ...Object.keys(SETTINGS)];
    report(error('RC0600', `the sweep cannot change \`${name}\`: it is no const or dim of the model, nor \`lr\`, \`steps\` or \`epochs\``, a.name.span, 'not sweepable', {
      help: didYouMean(name, candidates) ?? `sweepable names here: ${candidates.map((c) => `\`${c}\``).join(', ')}`,
    }));
    return undefined;
  }
  if (name === 'lr' && setting && ctx.train.optimizer.kind === 'als') {
    report(error('RC0608', '`optimizer als` has no learning rate to sweep', a.name.span, 'no lr', { help: 'ALS solves each block exactly; sweep its consts (e.g. the L2 weight) instead' }));
    return undefined;
  }
  // what the values must be: a dim a positive whole number, a setting its rule, a const any number
  const rule = isDim ? { ok: (v: number) => Number.isSafeInteger(v) && v >= 1, what: 'a whole number ≥ 1 (a dim)' } : setting;
  const bad = (n: A.SignedNumber): boolean => rule !== undefined && !rule.ok(n.value);
  const whole = isDim || name === 'steps' || name === 'epochs';
  if (a.kind === 'List') {
    const wrong = a.values.find(bad);
    if (wrong) {
      report(error('RC0603', `\`${name}\` must be ${rule!.what}`, wrong.span, `found ${wrong.text}`));
      return undefined;
    }
    const dup = a.values.find((v, j) => a.values.findIndex((w) => w.value === v.value) !== j);
    if (dup) {
      report(error('RC0604', `the value ${dup.text} is listed twice for \`${name}\``, dup.span, 'listed again here', { help: 'each value is one trial of a grid; list it once' }));
      return undefined;
    }
    return { name, kind: 'list', values: a.values.map((v) => v.value) };
  }
  const dist = a.dist.name;
  if (!(DISTRIBUTIONS as readonly string[]).includes(dist)) {
    report(error('RC0601', `unknown distribution \`${dist}\``, a.dist.span, 'not a distribution', {
      help: didYouMean(dist, DISTRIBUTIONS) ?? 'ranges are `uniform(a, b)`, `loguniform(a, b)` (a > 0; for ranges spanning decades) and `int(a, b)` (whole numbers)',
    }));
    return undefined;
  }
  const { lo, hi } = a;
  if (!(lo.value < hi.value)) {
    report(error('RC0602', "a range's low end must be below its high end", joinSpans(lo.span, hi.span), `${lo.text} is not below ${hi.text}`, { help: `write \`${dist}(${hi.text}, ${lo.text})\`` }));
    return undefined;
  }
  if (dist === 'loguniform' && !(lo.value > 0)) {
    report(error('RC0602', 'a log-uniform range needs a positive low end', lo.span, `found ${lo.text}`, { help: 'log-uniform draws log x uniformly; use `uniform(a, b)` for a range that includes 0' }));
    return undefined;
  }
  if (dist === 'int' && !(Number.isSafeInteger(lo.value) && Number.isSafeInteger(hi.value))) {
    const at = Number.isSafeInteger(lo.value) ? hi : lo;
    report(error('RC0602', '`int(a, b)` takes whole numbers', at.span, `found ${at.text}`, { help: 'use `uniform(a, b)` for real numbers' }));
    return undefined;
  }
  const wrong = [lo, hi].find(bad);
  if (wrong) {
    report(error('RC0603', `\`${name}\` must be ${rule!.what}`, wrong.span, `found ${wrong.text}`));
    return undefined;
  }
  if (whole && dist === 'uniform') {
    report(error('RC0603', `\`${name}\` takes whole numbers: draw it with \`int(a, b)\` or \`loguniform(a, b)\` (rounded), or list its values`, a.dist.span, '`uniform` draws real numbers', { help: `write \`${name} ~ int(${lo.text}, ${hi.text})\`` }));
    return undefined;
  }
  if (whole && !(Number.isSafeInteger(lo.value) && Number.isSafeInteger(hi.value))) {
    const at = Number.isSafeInteger(lo.value) ? hi : lo;
    report(error('RC0603', `\`${name}\` takes whole numbers`, at.span, `found ${at.text}`));
    return undefined;
  }
  // a whole-number axis drawn log-uniformly is rounded (cli/experiment/space.ts)
  return { name, kind: dist === 'loguniform' ? 'loguniform' : 'uniform', lo: lo.value, hi: hi.value, whole: whole || dist === 'int' };
}


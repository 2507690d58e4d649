// The checker (stage 3): AST → checked Model. Runs names → types (indices + shapes) → model
// semantics, stopping after the first sub-pass that reported an error, so later passes may assume
// earlier invariants (Prisma). Never throws on user input; `throw` is for recc bugs (InternalError).
// Output: the `Model` of model.ts with defaults filled in, plus every diagnostic, sorted by position.
import type * as A from '../syntax/ast.ts';
import { hasErrors, type Diagnostic } from '../diagnostics/diagnostics.ts';
import type { AlsInfo, BatchInfo, ParamInfo, DefInfo, EarlyStopInfo, EvaluateInfo, MetricInfo, Model, OptimizerInfo, ScheduleInfo, SplitInfo, TermInfo, TrainInfo, ValidateInfo } from './model.ts';
import type { Span } from '../diagnostics/source.ts';
import { evalConst } from './consts.ts';
import type { Env } from './env.ts';
import { checkNames } from './names.ts';
import { checkRunnable, whereWithConsts } from './runnable.ts';
import { assertNever, didYouMean, error, warning, type Report } from './report.ts';
import type { ImportedFile } from './imports.ts';
import { checkTypes, type TypesResult } from './shapes.ts';
import { sweepInfo } from './sweep.ts';

export interface CheckOptions {
  /** `--set name=value` overrides of consts and dims */
  readonly sets?: ReadonlyMap<string, number>;
  /** the files the program imports, resolved and parsed by imports.ts (their defs and consts join the model) */
  readonly imports?: readonly ImportedFile[];
}

export interface CheckResult {
  readonly model: Model | undefined;
  readonly diagnostics: Diagnostic[];
}

export function check(program: A.Program, opts?: CheckOptions): CheckResult {
  try {
    return checkProgram(program, opts);
  } catch (e) {
    // a stack overflow on absurdly deep expressions is the one user-caused exception; bugs rethrow
    if (!(e instanceof RangeError)) throw e;
    return {
      model: undefined,
      diagnostics: [error('RC0112', 'the model is nested too deeply to check', { file: program.file, start: 0, end: 0 }, undefined, { help: 'split deep expressions with defs' })],
    };
  }
}

function checkProgram(program: A.Program, opts?: CheckOptions): CheckResult {
  const diagnostics: Diagnostic[] = [];
  const report: Report = (d) => diagnostics.push(d);
  const done = (model: Model | undefined): CheckResult => {
    // imported files first (in import order), then the model's own file, each by position
    const order = new Map<string, number>((opts?.imports ?? []).map((f, k) => [f.program.file, k]));
    const rank = (f: string): number => (f === program.file ? order.size : (order.get(f) ?? -1));
    diagnostics.sort((a, b) => rank(a.span.file) - rank(b.span.file) || a.span.start - b.span.start);
    return { model: hasErrors(diagnostics) ? undefined : model, diagnostics };
  };
  const env = checkNames(program, opts?.sets ?? new Map(), report, opts?.imports ?? []);
  if (hasErrors(diagnostics)) return done(undefined);
  const types = checkTypes(env, report);
  if (hasErrors(diagnostics)) return done(undefined);
  const built = buildModel(env, types, report);
  const consts = { globals: env.globals, consts: env.consts, dims: env.dims };
  if (!hasErrors(diagnostics)) checkRunnable(built, env.evaluate, consts, report);
  return done({ ...built, relations: built.relations.map((r) => whereWithConsts(r, consts)) });
}

// ---------------------------------------------------------------------------------------------
// Pass 3 — model semantics: terms and params, train and evaluate settings, the split.

export const DEFAULT_TRAIN: TrainInfo = {
  optimizer: { kind: 'sgd', lr: 0.01, momentum: 0 },
  schedule: { kind: 'constant' },
  length: { unit: 'epochs', count: 10 },
  batch: { kind: 'full' },
  seed: 42,
};
export const DEFAULT_SEED = 42;

const OPTIMIZERS = {
  sgd: { lr: 0.01, momentum: 0 },
  adagrad: { lr: 0.01, eps: 1e-10 },
  adam: { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8 },
  als: { sweeps: 15 },
} as const;
const SOLVERS = { cholesky: [], cg: ['steps'] } as const;
const SCHEDULES = { constant: [], step: ['factor', 'every'], exponential: ['factor'] } as const;
/** metric → whether `@k` is required (true), optional (undefined) or not allowed (false) */
const METRICS: Readonly<Record<string, boolean | undefined>> = {
  rmse: false, mae: false, auc: false, logloss: false,
  recall: true, precision: true, ndcg: true, hr: true, map: true, mrr: undefined,
};

/**
 * The model's name when it has no `model` line: its file name without the extension, made an
 * identifier (other characters become `_`, a leading digit gets a `_`), since the name reaches run
 * folders, plan.json and generated code, which accept identifiers only: `my-model.recmodel` is my_model.
 */
export function fileBase(path: string): string {
  const base = (path.split(/[\\/]/).pop() ?? path).replace(/\.[^.]*$/, '').replace(/[^A-Za-z0-9_]/g, '_');
  if (base === '') return 'model';
  return /^[0-9]/.test(base) ? `_${base}` : base;
}

function buildModel(env: Env, types: TypesResult, report: Report): Model {
  const program = env.program;
  const num = (e: A.Expr): number | undefined => evalConst(e, env, report);
  const positiveInt = (n: A.NumberLit, what: string): number => {
    if (!Number.isInteger(n.value) || n.value < 1) report(error('RC0513', `${what} must be a positive integer`, n.span, `found ${n.text}`));
    return n.value;
  };

  // Terms and the params they reach.
  const terms: TermInfo[] = env.terms.map((t) => ({ name: t.name.name, role: t.role, body: t.body, decl: t }));
  const tables = [...env.params.values()].filter((p) => p.decl.neighbours);
  if (!terms.some((t) => t.role === 'loss') && tables.length === 0) {
    const first = program.decls[0];
    report(error('RC0501', 'the model has no loss term', first ? first.span : { file: program.file, start: 0, end: 0 }, undefined, {
      help: 'add one, e.g. `loss fit = mean((u, i, r) in ratings: (r - score(u, i))^2)`',
    }));
  }
  const used = new Set<string>();
  for (const t of env.terms) {
    const ps = types.termParams.get(t.name.name) ?? new Set<string>();
    ps.forEach((p) => used.add(p));
    if (ps.size === 0)
      report(warning('RC0502', `the ${t.role} term \`${t.name.name}\` does not depend on any param`, t.name.span, 'constant term', 'its gradient is zero; it only shifts the reported objective'));
  }
  neighbourRules(env, tables, used, report);
  for (const p of env.params.values())
    if (!used.has(p.name) && !p.decl.neighbours) report(warning('RC0503', `param \`${p.name}\` is never used`, p.decl.name.span, 'unused param', 'no term depends on it, so training never changes it'));

  // Split.
  let split: SplitInfo | undefined;
  const s = env.split;
  if (s) {
    const rel = env.relations.get(s.relation.name);
    const relation = s.relation.name;
    const m = s.method;
    // `by COLUMN` names a numeric column of the split relation (a derived relation has its base's columns)
    const needTime = (col: A.Ident | undefined): { timeColumn?: string } => {
      if (!col) return {};
      const c = rel?.columns.find((c) => c.name === col.name);
      if (rel && !(c && (c.type.kind === 'int' || c.type.kind === 'float'))) {
        const numeric = rel.columns.filter((c) => c.type.kind === 'int' || c.type.kind === 'float').map((c) => `\`${c.name}\``);
        report(error('RC0516', c ? `\`by ${col.name}\`: column \`${col.name}\` of \`${relation}\` is not numeric` : `\`by ${col.name}\` needs a numeric column \`${col.name}\` in \`${relation}\``, col.span, c ? 'not an int or float column' : `no column \`${col.name}\``, {
          help: numeric.length ? `order by a numeric column of \`${relation}\`: ${numeric.join(', ')}` : `declare one, e.g. \`data ${relation}(..., ${col.name}: int)\``,
        }));
      }
      return { timeColumn: col.name };
    };
    const seed = (n: A.NumberLit | undefined): number => {
      if (n && (!Number.isInteger(n.value) || n.value < 0)) report(error('RC0513', 'a seed must be a non-negative integer', n.span, `found ${n.text}`));
      return n ? n.value : DEFAULT_SEED;
    };
    switch (m.kind) {
      case 'Holdout':
        if (!(m.fraction.value > 0 && m.fraction.value < 1)) report(error('RC0513', 'a holdout fraction must lie strictly between 0 and 1', m.fraction.span, `found ${m.fraction.text}`, { help: 'e.g. `holdout 0.2`' }));
        const byCol = needTime(m.timeColumn);
        if (m.perUser && rel && rel.columns[0]?.type.kind !== 'domain')
          report(error('RC0516', `\`per user\` needs \`${relation}\` to start with an index column`, m.span, 'no user column', { help: 'the first index column is the one the split groups by' }));
        split = { kind: 'holdout', relation, fraction: m.fraction.value, seed: seed(m.seed), byTime: m.byTime, perUser: m.perUser, ...byCol };
        break;
      case 'LeaveOneOut':
        split = { kind: 'leave_one_out', relation, byTime: m.byTime, seed: seed(m.seed), ...needTime(m.timeColumn) };
        break;
      case 'KFold': {
        const k = m.k.value;
        if (!Number.isInteger(k) || k < 2) report(error('RC0513', 'kfold needs an integer k of at least 2', m.k.span, `found ${m.k.text}`));
        const fold = m.fold?.value ?? 0;
        if (m.fold && (!Number.isInteger(fold) || fold < 0 || fold >= k))
          report(error('RC0513', `the fold must be an integer in 0..${Math.max(0, k - 1)}`, m.fold.span, `found ${m.fold.text}`, { help: 'folds are numbered from 0' }));
        split = { kind: 'kfold', relation, k, fold, seed: seed(m.seed) };
        break;
      }
      case 'Files':
        split = { kind: 'files', relation, train: m.train, test: m.test };
        break;
      default:
        assertNever(m);
    }
    if (split && s.validate) split = { ...split, validate: validateInfo(s.validate, m, split, seed, report) };
  }

  const train = env.train ? trainInfo(env.train, env, num, positiveInt, report) : DEFAULT_TRAIN;
  const evaluate = env.evaluate ? evaluateInfo(env.evaluate, env.split, positiveInt, report, num) : { metrics: [], every: undefined };
  return {
    name: env.model?.name.name ?? fileBase(program.file),
    file: program.file,
    domains: env.domains,
    dims: env.dims,
    consts: env.consts,
    relations: [...env.relations.values()],
    split,
    params: [...env.params.values()].filter((p) => !p.decl.neighbours),
    neighbours: tables.filter((p) => p.neighbours),
    defs: new Map<string, DefInfo>(
      [...env.defs.values()].map((d) => [d.name.name, { name: d.name.name, params: d.params.map((p) => ({ name: p.name.name, ...(p.type ? { type: p.type.name } : {}) })), body: d.body, decl: d }]),
    ),
    terms,
    train,
    evaluate,
    ...(env.sweep ? { sweep: sweepInfo(env.sweep, { consts: env.consts, dims: env.dims, train, metrics: evaluate.metrics }, report) } : {}),
  };
}

/**
 * A `neighbours` table is read by `def score` only (RC0621: not by a loss or reg term, whose gradient
 * it would not have), and a model with one is an ItemCF-style model: no params or loss terms besides
 * it (RC0622; mixing a neighbour score with trained factors is not supported yet).
 */
function neighbourRules(env: Env, tables: readonly ParamInfo[], usedByTerms: ReadonlySet<string>, report: Report): void {
  if (tables.length === 0) return;
  for (const t of tables)
    if (usedByTerms.has(t.name))
      report(error('RC0621', `neighbours table \`${t.name}\` is used by a loss or reg term`, t.decl.name.span, 'read by a term', { help: `read it in \`def score\` only, e.g. \`def score(u, i) = sum(j in item: ((u, j) in likes) * ${t.name}[j, i])\`` }));
  const trained = [...env.params.values()].find((p) => !p.decl.neighbours);
  const term = env.terms[0];
  if (trained || term)
    report(error('RC0622', 'a model with a neighbours table cannot also have trained params or loss terms (yet)', trained ? trained.decl.name.span : term!.name.span, trained ? 'a trained param' : 'a loss or reg term', {
      notes: [{ message: `the neighbours table \`${tables[0]!.name}\` is declared at {at}`, span: tables[0]!.decl.name.span }],
      help: 'write the neighbour model (ItemCF) and the factor model as two model files and compare them with `recc compare`',
    }));
}

/** Positional-or-named arguments against an ordered list of names; unknown names are reported. */
function namedArgs(args: readonly A.NamedArg[], names: readonly string[], what: string, code: string, num: (e: A.Expr) => number | undefined, report: Report): Map<string, { value: number; span: Span }> {
  const out = new Map<string, { value: number; span: Span }>();
  let pos = 0;
  for (const a of args) {
    const name = a.name ? a.name.name : names[pos++];
    if (name === undefined || !names.includes(name)) {
      const help = a.name ? didYouMean(a.name.name, names) : undefined;
      report(error(code, a.name ? `${what} has no argument \`${a.name.name}\`` : `${what} takes at most ${names.length} argument${names.length === 1 ? '' : 's'}`, a.span, 'unexpected argument', {
        help: help ?? (names.length ? `its arguments are ${names.map((n) => `\`${n}\``).join(', ')}` : `${what} takes no arguments`),
      }));
      continue;
    }
    if (out.has(name)) {
      report(error('RC0514', `${what} is given \`${name}\` twice`, a.span, 'given again here'));
      continue;
    }
    const v = num(a.value);
    if (v !== undefined) out.set(name, { value: v, span: a.value.span });
  }
  return out;
}

function trainInfo(
  block: A.TrainBlock,
  env: Env,
  num: (e: A.Expr) => number | undefined,
  positiveInt: (n: A.NumberLit, what: string) => number,
  report: Report,
): TrainInfo {
  const seen = new Map<string, Span>();
  let optimizer: OptimizerInfo = DEFAULT_TRAIN.optimizer;
  let schedule: ScheduleInfo = DEFAULT_TRAIN.schedule;
  let length = DEFAULT_TRAIN.length;
  let batch: BatchInfo = DEFAULT_TRAIN.batch;
  let seed = DEFAULT_TRAIN.seed;
  let blocks: readonly string[] | undefined;
  let solver: AlsInfo['solver'] = { kind: 'cholesky' };
  for (const e of block.entries) {
    const key = e.kind === 'Epochs' || e.kind === 'Steps' ? 'Length' : e.kind;
    const prev = seen.get(key);
    if (prev) {
      const word = e.kind.toLowerCase();
      const conflict = key === 'Length' && block.entries.find((x) => x.span === prev)?.kind !== e.kind;
      report(error('RC0514', conflict ? 'give either `epochs` or `steps`, not both' : `\`${word}\` is given twice`, e.span, conflict ? 'second stopping rule' : 'given again here', {
        notes: [{ message: 'first given at {at}', span: prev }],
        help: conflict ? 'training stops after `epochs N` passes over the data or after `steps N` updates' : `keep one \`${word}\` entry`,
      }));
      continue;
    }
    seen.set(key, e.span);
    switch (e.kind) {
      case 'Optimizer': {
        const name = e.name.name;
        if (name !== 'sgd' && name !== 'adagrad' && name !== 'adam' && name !== 'als') {
          const help = didYouMean(name, Object.keys(OPTIMIZERS));
          report(error('RC0504', `unknown optimizer \`${name}\``, e.name.span, 'not an optimizer', { help: help ?? 'optimizers are `sgd`, `adagrad`, `adam` and `als`' }));
          break;
        }
        if (name === 'als') {
          const got = namedArgs(e.args, ['sweeps'], '`als`', 'RC0504', num, report);
          const sweeps = got.get('sweeps');
          if (sweeps && !(Number.isInteger(sweeps.value) && sweeps.value > 0)) report(error('RC0513', 'the number of sweeps must be a positive integer', sweeps.span, `found ${sweeps.value}`));
          optimizer = { kind: 'als', sweeps: sweeps?.value ?? OPTIMIZERS.als.sweeps, blocks: undefined, solver };
          break;
        }
        const defaults: Readonly<Record<string, number>> = OPTIMIZERS[name];
        const got = namedArgs(e.args, Object.keys(defaults), `\`${name}\``, 'RC0504', num, report);
        const v = (k: string): number => got.get(k)?.value ?? defaults[k]!;
        const lr = got.get('lr');
        if (lr && !(lr.value > 0)) report(error('RC0513', 'the learning rate must be positive', lr.span, `found ${lr.value}`));
        optimizer =
          name === 'sgd'
            ? { kind: 'sgd', lr: v('lr'), momentum: v('momentum') }
            : name === 'adagrad'
              ? { kind: 'adagrad', lr: v('lr'), eps: v('eps') }
              : { kind: 'adam', lr: v('lr'), beta1: v('beta1'), beta2: v('beta2'), eps: v('eps') };
        break;
      }
      case 'Schedule': {
        const name = e.name.name;
        if (name !== 'constant' && name !== 'step' && name !== 'exponential') {
          const help = didYouMean(name, Object.keys(SCHEDULES));
          report(error('RC0512', `unknown schedule \`${name}\``, e.name.span, 'not a schedule', { help: help ?? 'schedules are `constant`, `step(factor, every = N)` and `exponential(factor)`' }));
          break;
        }
        const got = namedArgs(e.args, SCHEDULES[name], `\`${name}\``, 'RC0512', num, report);
        const need = (k: string): number => {
          const x = got.get(k);
          if (!x) {
            report(error('RC0512', `\`${name}\` needs \`${k}\``, e.span, `missing \`${k}\``, { help: name === 'step' ? 'write `schedule step(0.5, every = 100)`' : 'write `schedule exponential(0.99)`' }));
            return 1;
          }
          if (!(x.value > 0)) report(error('RC0513', `\`${k}\` must be positive`, x.span, `found ${x.value}`));
          return x.value;
        };
        schedule = name === 'constant' ? { kind: 'constant' } : name === 'step' ? { kind: 'step', factor: need('factor'), every: need('every') } : { kind: 'exponential', factor: need('factor') };
        break;
      }
      case 'Epochs':
      case 'Steps':
        length = { unit: e.kind === 'Epochs' ? 'epochs' : 'steps', count: positiveInt(e.value, `the number of ${e.kind.toLowerCase()}`) };
        break;
      case 'Batch': {
        if (e.full || !e.size) {
          batch = { kind: 'full' };
          break;
        }
        const size = positiveInt(e.size, 'a batch size');
        if (!e.unit) {
          batch = { kind: 'tuples', size };
          break;
        }
        const u = e.unit.name;
        const domain = env.domains.find((d) => d === u || d + 's' === u);
        if (!domain) {
          report(error('RC0516', `\`batch ${e.size.text} ${u}\` names no index domain`, e.unit.span, 'not a domain', {
            help: didYouMean(u, env.domains.flatMap((d) => [d, d + 's'])) ?? `write \`batch ${e.size.text}\` for tuples or \`batch ${e.size.text} ${env.domains[0] ?? 'user'}s\``,
          }));
          break;
        }
        batch = { kind: 'users', size, domain };
        break;
      }
      case 'Seed':
        if (!Number.isInteger(e.value.value) || e.value.value < 0) report(error('RC0513', 'a seed must be a non-negative integer', e.value.span, `found ${e.value.text}`));
        seed = e.value.value;
        break;
      case 'Blocks': {
        const params = [...env.globals.values()].filter((g) => g.kind === 'param').map((g) => g.name);
        const seenBlock = new Set<string>();
        for (const n of e.names) {
          if (!params.includes(n.name)) {
            report(error('RC0560', `\`blocks\` names \`${n.name}\`, which is not a param`, n.span, 'not a param', { help: didYouMean(n.name, params) ?? `the params are ${params.map((p) => `\`${p}\``).join(', ')}` }));
          } else if (seenBlock.has(n.name)) {
            report(error('RC0514', `\`${n.name}\` is listed twice in \`blocks\``, n.span, 'listed again here', { help: 'each block is updated once per sweep; list it once' }));
          }
          seenBlock.add(n.name);
        }
        blocks = e.names.map((n) => n.name);
        break;
      }
      case 'Solver': {
        const name = e.name.name;
        if (name !== 'cholesky' && name !== 'cg') {
          report(error('RC0560', `unknown solver \`${name}\``, e.name.span, 'not a solver', { help: didYouMean(name, Object.keys(SOLVERS)) ?? 'solvers are `cholesky` and `cg(steps = 3)`' }));
          break;
        }
        const got = namedArgs(e.args, SOLVERS[name], `\`${name}\``, 'RC0560', num, report);
        const steps = got.get('steps');
        if (steps && !(Number.isInteger(steps.value) && steps.value > 0)) report(error('RC0513', 'the number of CG steps must be a positive integer', steps.span, `found ${steps.value}`));
        solver = name === 'cholesky' ? { kind: 'cholesky' } : { kind: 'cg', steps: steps?.value ?? 3 };
        break;
      }
      default:
        assertNever(e);
    }
  }
  if (optimizer.kind === 'als') {
    optimizer = { ...optimizer, blocks, solver };
    // ALS solves each block on all the data (or on user batches): a tuple batch would be silently ignored
    const tuples = block.entries.find((x) => x.kind === 'Batch' && !x.full && x.size && !x.unit);
    if (tuples && tuples.kind === 'Batch')
      report(warning('RC0670', `\`batch ${tuples.size!.text}\` (tuples) has no effect under \`optimizer als\``, tuples.span, 'ignored by `als`',
        'ALS solves each block on all the training data; remove it, or write `batch N users` to solve the user rows N at a time'));
  } else {
    const stray = block.entries.find((x) => x.kind === 'Blocks' || x.kind === 'Solver');
    if (stray) {
      report(error('RC0560', `\`${stray.kind.toLowerCase()}\` is a setting of \`optimizer als\``, stray.span, `ignored by \`${optimizer.kind}\``, {
        help: 'write `optimizer als(sweeps = 15)` for alternating exact block updates, or remove this entry',
      }));
    }
  }
  return { optimizer, schedule, length, batch, seed };
}

/**
 * The split's `validate` clause: a fraction in (0, 1) that leaves a training part beside the test
 * part; leave_one_out takes none (it moves one more tuple per user), every other split needs one.
 */
function validateInfo(v: A.ValidateClause, m: A.SplitMethod, split: SplitInfo, seed: (n: A.NumberLit | undefined) => number, report: Report): ValidateInfo {
  const f = v.fraction;
  const vseed = v.seed ? seed(v.seed) : 'seed' in split ? split.seed : DEFAULT_SEED;
  if (m.kind === 'LeaveOneOut') {
    if (f) report(error('RC0550', '`leave_one_out` validates with one tuple per user, not a fraction', f.span, 'no fraction here', { help: 'write `leave_one_out, validate`: each user\'s next tuple goes to validation' }));
    return { fraction: undefined, seed: vseed };
  }
  if (!f) {
    report(error('RC0550', '`validate` needs the fraction of tuples to move to validation', v.span, 'missing fraction', { help: 'e.g. `validate 0.1`' }));
    return { fraction: undefined, seed: vseed };
  }
  if (!(f.value > 0 && f.value < 1)) {
    report(error('RC0513', 'a validation fraction must lie strictly between 0 and 1', f.span, `found ${f.text}`, { help: 'e.g. `validate 0.1`' }));
    return { fraction: f.value, seed: vseed };
  }
  // the test part's share of the relation: holdout's fraction, one fold of k (files: a separate file)
  const test = split.kind === 'holdout' ? split.fraction : split.kind === 'kfold' && split.k >= 2 ? 1 / split.k : 0;
  if (test > 0 && test < 1 && f.value + test >= 1)
    report(error('RC0513', `test (${+test.toFixed(4)}) and validation (${f.text}) together take the whole relation`, f.span, 'nothing left to train on', {
      help: 'the two fractions are of the same relation; together they must stay below 1, e.g. `holdout 0.2, validate 0.1`',
    }));
  return { fraction: f.value, seed: vseed };
}

/** The metrics `ips` may weight: per-user sums over relevant items (runtime/eval/ips.ts). */
const IPS_METRICS: readonly string[] = ['recall', 'ndcg'];

/** `ips` / `ips(gamma = G)` after a metric: RC0615 on another metric, RC0616 for a bad argument. */
function ipsInfo(name: string, ips: NonNullable<A.MetricRef['ips']>, num: (e: A.Expr) => number | undefined, report: Report): { gamma?: number } | undefined {
  if (!IPS_METRICS.includes(name)) {
    report(error('RC0615', `\`${name}\` has no inverse-propensity-scored form`, ips.span, '`ips` not allowed here', { help: `\`ips\` weights ${IPS_METRICS.map((x) => `\`${x}@K\``).join(' and ')}; write e.g. \`ndcg@20 ips\`` }));
    return undefined;
  }
  const got = namedArgs(ips.args, ['gamma'], '`ips`', 'RC0616', num, report);
  const gamma = got.get('gamma');
  if (gamma && !(gamma.value >= 0 && gamma.value <= 10)) {
    report(error('RC0616', 'the propensity exponent `gamma` must lie in [0, 10]', gamma.span, `found ${gamma.value}`, { help: 'propensity ∝ popularity^gamma; leave it out (`ips`) to fit it by maximum likelihood' }));
    return undefined;
  }
  return gamma ? { gamma: gamma.value } : {};
}

/** Errors (rmse, mae, logloss) go down as a model improves; ranking metrics and auc go up. */
const MINIMIZED = new Set(['rmse', 'mae', 'logloss']);

function evaluateInfo(block: A.EvaluateBlock, split: A.SplitDecl | undefined, positiveInt: (n: A.NumberLit, what: string) => number, report: Report, num: (e: A.Expr) => number | undefined): EvaluateInfo {
  const metrics: MetricInfo[] = [];
  let every: EvaluateInfo['every'];
  let stop: Extract<A.EvaluateEntry, { kind: 'EarlyStop' }> | undefined;
  const seen = new Map<string, Span>();
  const word = { Metrics: 'metrics', Every: 'every', EarlyStop: 'early_stop' } as const;
  for (const e of block.entries) {
    const key = e.kind;
    const prev = seen.get(key);
    if (prev) {
      report(error('RC0514', `\`${word[key]}\` is given twice`, e.span, 'given again here', { notes: [{ message: 'first given at {at}', span: prev }], help: key === 'Metrics' ? 'list every metric in one `metrics` entry' : `keep one \`${word[key]}\` entry` }));
      continue;
    }
    seen.set(key, e.span);
    if (e.kind === 'Every') {
      every = { unit: e.unit, count: positiveInt(e.value, 'an evaluation interval') };
      continue;
    }
    if (e.kind === 'EarlyStop') {
      stop = e;
      continue;
    }
    const names = new Set<string>();
    for (const m of e.metrics) {
      const name = m.name.name;
      const rule = METRICS[name];
      const full = (m.k ? `${name}@${m.k.text}` : name) + (m.ips ? ' ips' : '');
      if (!(name in METRICS)) {
        const help = didYouMean(name, Object.keys(METRICS));
        report(error('RC0510', `unknown metric \`${name}\``, m.name.span, 'not a metric', { help: help ?? `metrics are ${Object.keys(METRICS).map((x) => `\`${x}\``).join(', ')}` }));
        continue;
      }
      if (rule === true && !m.k) {
        report(error('RC0510', `\`${name}\` needs a cutoff`, m.span, 'missing `@k`', { help: `write \`${name}@10\`` }));
        continue;
      }
      if (rule === false && m.k) {
        report(error('RC0510', `\`${name}\` takes no cutoff`, m.span, `\`@${m.k.text}\` not allowed`, { help: `write \`${name}\`` }));
        continue;
      }
      if (m.k) positiveInt(m.k, 'a metric cutoff');
      if (names.has(full)) {
        report(error('RC0514', `metric \`${full}\` is listed twice`, m.span, 'listed again here'));
        continue;
      }
      names.add(full);
      const ips = m.ips ? ipsInfo(name, m.ips, num, report) : undefined;
      metrics.push({ name, ...(m.k ? { k: m.k.value } : {}), ...(ips ? { ips } : {}) });
    }
  }
  const earlyStop = stop && earlyStopInfo(stop, metrics, every !== undefined, split, block.span, positiveInt, report);
  return { metrics, every, ...(earlyStop ? { earlyStop } : {}) };
}

/**
 * `early_stop on M patience N [min_delta X]`: M must be one of the block's metrics (so it is computed),
 * measured on a validation split (else stopping would tune on test), at evaluations during training.
 */
function earlyStopInfo(
  e: Extract<A.EvaluateEntry, { kind: 'EarlyStop' }>,
  metrics: readonly MetricInfo[],
  hasEvery: boolean,
  split: A.SplitDecl | undefined,
  block: Span,
  positiveInt: (n: A.NumberLit, what: string) => number,
  report: Report,
): EarlyStopInfo | undefined {
  const name = e.metric.name.name;
  const k = e.metric.k?.value;
  const full = e.metric.k ? `${name}@${e.metric.k.text}` : name;
  const patience = positiveInt(e.patience, 'the patience (evaluations without improvement)');
  const minDelta = e.minDelta?.value ?? 0;
  let ok = true;
  const target = metrics.find((m) => m.name === name && m.k === k && (m.ips !== undefined) === (e.metric.ips !== undefined));
  if (!target) {
    ok = false;
    const listed = metrics.map((m) => (m.k === undefined ? m.name : `${m.name}@${m.k}`));
    report(error('RC0551', `\`early_stop\` watches \`${full}\`, which the evaluate block does not compute`, e.metric.span, 'not among `metrics`', {
      help: listed.length ? `add it to \`metrics\` or stop on one of ${listed.map((x) => `\`${x}\``).join(', ')}` : `add \`metrics ${full}\` to the evaluate block`,
    }));
  }
  if (!split?.validate) {
    ok = false;
    report(error('RC0551', '`early_stop` needs a validation split', e.span, 'would choose the params on the test split', {
      ...(split ? { notes: [{ message: 'the split is declared at {at}', span: split.span }] } : {}),
      help: split ? `add a validation part to the split: \`split ${split.relation.name}: …, validate 0.1\`` : 'declare a split with a validation part, e.g. `split ratings: holdout 0.2, validate 0.1`',
    }));
  }
  if (!hasEvery) {
    ok = false;
    report(error('RC0551', '`early_stop` needs evaluations during training', e.span, 'the metric is only measured at the end', { notes: [{ message: 'in the evaluate block at {at}', span: block }], help: 'add `every N steps` or `every N epochs` to the evaluate block' }));
  }
  if (e.minDelta && !(minDelta >= 0)) report(error('RC0513', '`min_delta` must be zero or positive', e.minDelta.span, `found ${e.minDelta.text}`));
  if (!ok || !target) return undefined;
  return { metric: target, patience, minDelta, direction: MINIMIZED.has(name) ? 'min' : 'max' };
}

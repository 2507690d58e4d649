// `recc sweep FILE [--param NAME=SPEC…]`: a hyperparameter search, spelled in the model's `sweep { … }`
// block (compiler/check/sweep.ts) or on the command line: with --param the command line is the whole
// sweep and the block is not read; without, the block's axes and settings are used, each setting
// overridden by its flag and an axis fixed by --set dropped. Each trial is one configuration of
// the axes (cli/experiment/space.ts: a grid, or seeded random draws), trained by a child process
// (`recc sweep --out DIR --trial N`, which reads the sweep from DIR/sweep.json), up to --jobs at a
// time; its objective is a validation metric, or with --folds K the mean over K folds of
// cross-validation. The folder (cli/experiment/sweep-folder.ts) holds every trial and makes a killed
// sweep resumable: rerun the same command line and finished trials are not run again. --retrain then
// trains the best configuration once more and reports test (cli/experiment/retrain.ts).
import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { command, UsageError, UserError } from '../lib/args.ts';
import type { Runtime } from '../lib/runtime.ts';
import { checkWithBindings, crossValidate, trainOne } from '../experiment/folds.ts';
import { cvSummary } from '../experiment/cv-report.ts';
import { axisText, gridConfigs, parseAxis, randomConfig, type Axis, type Config } from '../experiment/space.ts';
import { retrainBest } from '../experiment/retrain.ts';
import { SweepFolder, type SweepSpec, type TrialRecord } from '../experiment/sweep-folder.ts';
import { writeSweepReport } from '../experiment/sweep-html.ts';
import { ALLOW_DENSE_FLAG, modelFile, SET_FLAG, THREADS_FLAG } from './common.ts';
import { DEFAULT_MODE, MODES } from './run.ts';

/** Metrics that are errors (lower is better); every other metric is maximized. */
const MINIMIZED = new Set(['rmse', 'mae', 'logloss']);

export const sweep = command({
  name: 'sweep',
  summary: 'hyperparameter search: grid or seeded random trials, in parallel, resumable',
  description:
    "The sweep is the model's `sweep { … }` block, each setting overridden by its flag and an axis fixed by --set NAME=V dropped;\n" +
    'with --param the command line is the whole sweep (the block is not read). Axes are consts and dims of the model, or lr, steps, epochs: --param d=16,32,64 (a list), --param lr=loguniform(1e-4,1e-1),\n' +
    '--param l2w=uniform(0,1), --param d=int(8,64), --param d=logint(8,256), or --param lr=1e-4..1e-1 (log-uniform when it spans two decades or more).\n' +
    "The objective is a metric of the model's `evaluate`, on the split's validation part, or with --folds K its mean over K folds.\n" +
    'Writes trials/NNNN/trial.json, trials.jsonl, trials.csv, trials.json, best.json and sweep.md into --out; the same\n' +
    'command line on the same folder resumes a killed sweep without rerunning finished trials. --retrain then trains the best\n' +
    'configuration on train+validation (with --folds: on the split\'s training side) and reports test once (retrain.json, retrain.md).',
  operands: [{ name: 'FILE', meaning: 'a .recmodel file' }],
  flags: [
    { kind: 'list', name: 'param', arg: 'NAME=SPEC', meaning: 'an axis of the search: a list of values or a range (repeatable); given, the sweep block is not read', default: "the model's `sweep { … }` block" },
    { kind: 'string', name: 'search', arg: 'random|grid', meaning: 'random draws (seeded) or every combination of the lists', default: "the sweep block's, else random" },
    { kind: 'count', name: 'trials', arg: 'N', min: 1, meaning: 'the number of random trials (grid: every combination)', default: "the sweep block's, else 20" },
    { kind: 'count', name: 'seed', arg: 'N', min: 0, meaning: 'the seed of the random draws', default: "the sweep block's, else 0" },
    { kind: 'count', name: 'folds', arg: 'K', min: 2, meaning: "objective: the mean over K folds (the model's split becomes `kfold K`)", default: "the sweep block's, else the validation part of the split" },
    { kind: 'string', name: 'objective', arg: 'METRIC', meaning: 'the metric to optimize (rmse, mae, logloss are minimized, others maximized)', default: "the sweep block's, else the early_stop metric, else the model's first" },
    { kind: 'boolean', name: 'retrain', meaning: 'after the sweep, train the best configuration on train+validation and report test once' },
    { kind: 'count', name: 'jobs', short: 'j', arg: 'N', min: 1, value: 1, meaning: 'trials run at once, each in its own process' },
    { kind: 'string', name: 'out', short: 'o', arg: 'DIR', meaning: 'the sweep folder (an existing one with the same sweep is resumed)', default: 'runs/MODEL-sweep' },
    { ...SET_FLAG, meaning: 'a fixed value for every trial: a const or dim, or lr, steps, epochs (repeatable)' },
    { kind: 'count', name: 'steps', arg: 'N', min: 0, meaning: "every trial's length in updates", default: "the model's steps or epochs" },
    { kind: 'count', name: 'epochs', arg: 'N', min: 1, meaning: "every trial's length in passes over the training data", default: "the model's steps or epochs" },
    { kind: 'string', name: 'data', arg: 'FILE', meaning: "training data, replacing the model's primary relation's file", default: 'the file the model names' },
    { kind: 'choice', name: 'mode', choices: MODES, value: DEFAULT_MODE, meaning: 'where the kernels run, as for `recc run --mode`' },
    { ...THREADS_FLAG, meaning: "with --mode wasm: threads each trial's kernels run on (the same bytes for any N)", default: 'the cores shared among --jobs (at least 1 each); all of them for --retrain' },
    { kind: 'count', name: 'trial', arg: 'N', min: 0, meaning: 'run only trial N of the sweep in --out (what the child processes run)', default: 'every trial' },
    { kind: 'boolean', name: 'quiet', short: 'q', meaning: 'no progress lines on stderr' },
    ALLOW_DENSE_FLAG,
  ],
  needsRuntime: () => true,
  run: (args, runtime: () => Runtime) => {
    const { operands, flags } = args;
    if (flags.trial !== undefined) {
      if (flags.out === undefined) throw new UsageError('--trial needs --out DIR (the sweep folder)');
      return runTrial(runtime(), flags.out, flags.trial, flags.threads ?? availableParallelism());
    }
    if (flags.steps !== undefined && flags.epochs !== undefined) throw new UsageError('give either --steps or --epochs, not both');
    if (flags.search !== undefined && flags.search !== 'random' && flags.search !== 'grid') throw new UsageError(`--search takes random or grid, not \`${flags.search}\``);
    const path = resolve(modelFile(operands[0]!));
    const cliAxes = flags.param.map(parseAxis);
    const dup = cliAxes.find((a, j) => cliAxes.findIndex((b) => b.name === a.name) !== j);
    if (dup) throw new UsageError(`--param ${dup.name} is given twice`);
    const fixed = new Map(flags.set);
    if (flags.steps !== undefined) fixed.set('steps', flags.steps);
    if (flags.epochs !== undefined) fixed.set('epochs', flags.epochs);
    const clash = cliAxes.find((a) => fixed.has(a.name));
    if (clash) throw new UsageError(`${clash.name} is both swept (--param) and fixed (--set, --steps or --epochs)`);
    // the model with the fixed values: its sweep block, its metrics, and whether the objective has a validation part
    const checked = checkWithBindings(path, fixed);
    if (!checked) return 1;
    const model = checked.model;
    const block = cliAxes.length ? undefined : model.sweep;
    const axes = cliAxes.length ? cliAxes : blockAxes(block?.axes ?? [], fixed);
    if (axes.length === 0)
      throw new UsageError(`recc sweep needs an axis: a \`sweep { … }\` block in ${operands[0]} (e.g. \`sweep { lr ~ loguniform(1e-4, 1e-1) }\`) or --param NAME=SPEC`);
    const search = (flags.search ?? block?.search ?? 'random') as SweepSpec['search'];
    const folds = flags.folds ?? block?.folds;
    const metrics = model.evaluate.metrics.map((m) => (m.k === undefined ? m.name : `${m.name}@${m.k}`));
    const objective = flags.objective ?? block?.objective ?? (model.evaluate.earlyStop ? metrics.find((m) => m.startsWith(model.evaluate.earlyStop!.metric.name)) : undefined) ?? metrics[0];
    if (objective === undefined) throw new UserError(`${operands[0]}: the model's \`evaluate { metrics … }\` names no metric for the sweep to optimize`);
    if (!metrics.includes(objective)) throw new UsageError(`--objective ${objective} is not one of the model's metrics (${metrics.join(', ')})`);
    if (folds === undefined && !model.split?.validate)
      throw new UserError(`${operands[0]}: the objective needs held-out data other than test: add \`, validate 0.1\` to the model's split, or pass --folds K (cross-validation)`);
    const configs = search === 'grid' ? gridConfigs(axes) : undefined;
    const spec: SweepSpec = {
      version: 1,
      model: path,
      params: axes.map(axisText),
      search,
      seed: flags.seed ?? block?.seed ?? 0,
      trials: configs ? configs.length : (flags.trials ?? block?.trials ?? 20),
      ...(folds !== undefined ? { folds } : {}),
      objective,
      direction: MINIMIZED.has(objective.replace(/@.*/, '')) ? 'min' : 'max',
      fixed: Object.fromEntries(fixed),
      mode: flags.mode,
      ...(flags.data !== undefined ? { data: resolve(flags.data) } : {}),
      allowDense: flags['allow-dense'],
    };
    const out = flags.out ?? `runs/${model.name}-sweep`;
    const folder = new SweepFolder(out);
    // each trial a share of the cores: --jobs processes of --threads each should not outnumber them
    const threads = flags.threads ?? Math.max(1, Math.floor(availableParallelism() / flags.jobs));
    return runSweep(folder, spec, axes.map((a) => a.name), flags.jobs, threads, flags.quiet).then((code) =>
      code === 0 && flags.retrain ? retrainBest(runtime(), folder, spec, flags.quiet, flags.threads ?? availableParallelism()) : code,
    );
  },
});

/**
 * The block's axes less those the command line fixes: a name --set gives, and `steps`/`epochs` when
 * --steps, --epochs or --set fixes either (a run has one stopping rule).
 */
function blockAxes(block: readonly Axis[], fixed: ReadonlyMap<string, number>): Axis[] {
  const length = fixed.has('steps') || fixed.has('epochs');
  return block.filter((a) => !fixed.has(a.name) && !(length && (a.name === 'steps' || a.name === 'epochs')));
}

/** Trial `i`'s configuration. */
function configOf(spec: SweepSpec, i: number): Config {
  const axes = spec.params.map(parseAxis);
  return spec.search === 'grid' ? gridConfigs(axes)[i]! : randomConfig(axes, spec.seed, i);
}

const BIN = fileURLToPath(new URL('../../bin/recc.js', import.meta.url));

async function runSweep(folder: SweepFolder, spec: SweepSpec, axes: readonly string[], jobs: number, threads: number, quiet: boolean): Promise<number> {
  const log = (s: string): void => {
    if (!quiet) process.stderr.write(s + '\n');
  };
  const state = folder.open(spec);
  const done = folder.finished();
  const inLedger = folder.ledger();
  for (const r of done.values()) if (!inLedger.has(r.trial)) folder.appendLedger(r); // finished as the sweep was killed
  const pending = Array.from({ length: spec.trials }, (_, i) => i).filter((i) => !done.has(i));
  log(`recc sweep: ${spec.search} search, ${spec.trials} trials${state === 'resumed' ? ` (resumed: ${done.size} finished, ${pending.length} to run)` : ''}, ${Math.min(jobs, Math.max(1, pending.length))} at a time, in ${folder.dir}/`);
  const running = new Set<ReturnType<typeof spawn>>();
  const stop = (signal: NodeJS.Signals): void => {
    for (const c of running) c.kill(signal);
    process.exit(130);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const startTrial = (i: number): Promise<void> =>
    new Promise((resolveTrial) => {
      const child = spawn(process.execPath, [BIN, 'sweep', spec.model, '--out', folder.dir, '--trial', String(i), '--threads', String(threads), '--quiet'], { stdio: ['ignore', 'ignore', 'pipe'] });
      running.add(child);
      let stderr = '';
      child.stderr!.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
      child.on('close', (code) => {
        running.delete(child);
        let r = folder.finished().get(i);
        if (!r) {
          // the child ended without a trial folder: the failure is the trial's result (a deterministic one reruns the same way)
          r = { trial: i, config: configOf(spec, i), objective: null, metrics: {}, test: {}, seconds: 0, error: `exit ${code}: ${stderr.trim().split('\n').slice(-3).join(' / ') || 'no message'}` };
          folder.writeTrial(r);
        }
        folder.appendLedger(r);
        done.set(i, r);
        const { best } = folder.writeTables(spec, axes, [...done.values()]);
        log(`  trial ${i}: ${Object.entries(r.config).map(([k, v]) => `${k}=${v}`).join(' ')} → ${r.objective === null ? `failed (${r.error ?? 'diverged'})` : `${spec.objective} ${r.objective.toFixed(4)}`}  [${done.size}/${spec.trials}; best ${best ? `${best.objective!.toFixed(4)} (trial ${best.trial})` : '—'}]`);
        resolveTrial();
      });
    });
  const queue = [...pending];
  const worker = async (): Promise<void> => {
    for (let i = queue.shift(); i !== undefined; i = queue.shift()) await startTrial(i);
  };
  await Promise.all(Array.from({ length: Math.min(jobs, Math.max(1, queue.length)) }, worker));
  process.removeListener('SIGINT', stop);
  process.removeListener('SIGTERM', stop);
  const { markdown, best } = folder.writeTables(spec, axes, [...done.values()]);
  writeSweepReport(folder.dir);
  const what = spec.folds ? `mean ${spec.objective} over ${spec.folds} folds` : `validation ${spec.objective}`;
  process.stdout.write(
    `${markdown}` +
      (best ? `best: trial ${best.trial} (${Object.entries(best.config).map(([k, v]) => `${k}=${v}`).join(', ')}): ${what} ${best.objective!.toFixed(4)}\n` : 'no trial finished with a finite objective\n') +
      `sweep folder: ${folder.dir}/ (trials.csv, trials.json, trials.jsonl, best.json, sweep.md, report.html)\n`,
  );
  return best ? 0 : 1;
}

/** A child process's work: trial `i` of the sweep in `dir`, written to its trial folder. */
function runTrial(rt: Runtime, dir: string, i: number, threads: number): number {
  const folder = new SweepFolder(dir);
  const spec = SweepFolder.spec(dir);
  if (i >= spec.trials) throw new UsageError(`--trial ${i}: the sweep in ${dir} has ${spec.trials} trials (0..${spec.trials - 1})`);
  const config = configOf(spec, i);
  const bindings = new Map([...Object.entries(spec.fixed), ...Object.entries(config)]);
  const opts = { mode: spec.mode as (typeof MODES)[number], threads, allowDense: spec.allowDense, data: { data: spec.data } };
  const started = performance.now();
  let record: TrialRecord;
  if (spec.folds !== undefined) {
    const cv = crossValidate(rt, spec.model, { ...opts, bindings, folds: spec.folds });
    if (!cv) return 1;
    const means = Object.fromEntries(Object.entries(cvSummary(cv)).map(([m, s]) => [m, s.mean]));
    const diverged = cv.folds.some((f) => f.diverged);
    const value = means[spec.objective];
    record = {
      trial: i, config, objective: diverged || value === undefined || !Number.isFinite(value) ? null : value, metrics: means, test: {},
      folds: cv.folds.map((f) => f.metrics), seconds: (performance.now() - started) / 1000, ...(diverged ? { error: 'a fold diverged' } : {}),
    };
  } else {
    const c = checkWithBindings(spec.model, bindings);
    if (!c) return 1;
    const one = trainOne(rt, c.model, c.train, opts);
    if (!one) return 1;
    const value = one.validation[spec.objective];
    record = {
      trial: i, config, objective: one.diverged || value === undefined || !Number.isFinite(value) ? null : value, metrics: one.validation, test: one.test,
      seconds: (performance.now() - started) / 1000, ...(one.diverged ? { error: 'diverged' } : {}),
    };
  }
  folder.writeTrial(record);
  return 0;
}

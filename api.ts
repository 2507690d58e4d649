// recc as a library, for scripts that run experiments in JS/TS:
//   import { check, compile, train, evaluate, recommend } from 'recc';
//   const exp = compile('examples/mf-gramian.recmodel', { sets: { d: 16 } });
//   const run = train(exp, { steps: 100 });
//   const metrics = evaluate(exp, run.params);            // { rmse: …, mae: … } on the split's test part
// Each function is one stage the CLI runs (`recc check`, the compile + data load of `recc run`, its
// training loop, its evaluation, `recc recommend`); errors in the model throw a ReccError whose message
// is the rendered diagnostics (file:line:col, caret, help), as the CLI prints them.
import { readFileSync } from 'node:fs';
import { checkSource, compileModel, type Compiled } from './compiler/compile.ts';
import type { Model } from './compiler/check/model.ts';
import { hasErrors, renderDiagnostics, type Diagnostic } from './compiler/diagnostics/diagnostics.ts';
import type { SourceFile } from './compiler/diagnostics/source.ts';
import { loadDataset, type Dataset } from './runtime/data/dataset.ts';
import { sizesFor } from './runtime/exec/env.ts';
import { createBackend, type BackendMode } from './runtime/backends/backends.ts';
import { evaluateModel, type EvalSide } from './runtime/eval/evaluate.ts';
import { train as trainLoop, type TrainResult, type StepLog } from './runtime/train/train.ts';
import { loadServingModel } from './runtime/serve/serving-model.ts';
import { formatText, recommendUsers } from './runtime/serve/recommend.ts';
import { readItemTitles } from './runtime/serve/item-file.ts';

export type { Compiled, Model, Dataset, TrainResult, StepLog, BackendMode, EvalSide, Diagnostic };

/** The model has errors (or a run folder no longer compiles): `message` is the rendered diagnostics. */
export class ReccError extends Error {
  constructor(message: string, readonly diagnostics: readonly Diagnostic[] = []) {
    super(message);
  }
}

export interface ModelOptions {
  /** values for the model's consts and dims, as `--set` gives them */
  readonly sets?: Readonly<Record<string, number>>;
}

export interface CheckResult {
  /** the checked model; undefined when it has errors */
  readonly model: Model | undefined;
  readonly diagnostics: readonly Diagnostic[];
  /** the diagnostics rendered as the CLI prints them ('' when there are none) */
  readonly text: string;
}

const render = (ds: readonly Diagnostic[], sources: ReadonlyMap<string, SourceFile>): string => (ds.length ? renderDiagnostics(ds, (f) => sources.get(f)) : '');

/** `recc check FILE`: parses and checks a model file; never throws on errors in the model. */
export function check(path: string, opts: ModelOptions = {}): CheckResult {
  const r = checkSource(path, readFileSync(path, 'utf8'), { sets: new Map(Object.entries(opts.sets ?? {})) });
  return { model: hasErrors(r.diagnostics) ? undefined : r.model, diagnostics: r.diagnostics, text: render(r.diagnostics, r.sources) };
}

/** A model compiled for its data: what train, evaluate take. */
export interface Experiment {
  readonly compiled: Compiled;
  readonly dataset: Dataset;
}

export interface CompileOptions extends ModelOptions {
  /** replaces the primary relation's data file */
  readonly data?: string;
  /** a test file instead of the model's split */
  readonly test?: string;
  /** run terms that stay all-pairs after rewriting (RC0530 becomes a warning) */
  readonly allowDense?: boolean;
}

/** Checks the model, loads its data (split as declared) and compiles it for the data's sizes; throws ReccError on errors. */
export function compile(path: string, opts: CompileOptions = {}): Experiment {
  const r = checkSource(path, readFileSync(path, 'utf8'), { sets: new Map(Object.entries(opts.sets ?? {})) });
  if (hasErrors(r.diagnostics) || !r.model) throw new ReccError(render(r.diagnostics, r.sources), r.diagnostics);
  const model = r.model;
  const dataset = loadDataset(model, { data: opts.data, test: opts.test });
  const sized = compileModel(model, { allowDense: opts.allowDense, sizes: (module) => sizesFor({ model, module }, dataset, dataset.train, dataset.train) });
  if (hasErrors(sized.diagnostics) || !sized.compiled) throw new ReccError(render(sized.diagnostics, r.sources), sized.diagnostics);
  return { compiled: sized.compiled, dataset };
}

export interface TrainOptions {
  /** stop after this many updates (default: the model's `train { … }`) */
  readonly steps?: number;
  /** stop after this many passes over the training data */
  readonly epochs?: number;
  /** the backend the kernels run on (default webasm, as `recc run`) */
  readonly mode?: BackendMode;
  /** params to start from, by name (e.g. a previous result's `params`) */
  readonly init?: ReadonlyMap<string, Float32Array>;
  readonly onStep?: (s: StepLog) => void;
}

/** Trains the experiment's model on its training data (the loop of `recc run`). */
export function train(exp: Experiment, opts: TrainOptions = {}): TrainResult {
  const backend = createBackend(opts.mode ?? 'webasm', exp.compiled.module.spaces);
  try {
    return trainLoop(exp.compiled, exp.dataset, { backend, steps: opts.steps, epochs: opts.epochs, init: opts.init, onStep: opts.onStep });
  } finally {
    backend.dispose();
  }
}

/** The model's `evaluate { metrics … }` for `params` on the test part (or the validation part). */
export function evaluate(exp: Experiment, params: ReadonlyMap<string, Float32Array>, opts: { readonly on?: EvalSide; readonly mode?: BackendMode } = {}): Record<string, number> {
  const backend = createBackend(opts.mode ?? 'webasm', exp.compiled.module.spaces);
  try {
    return { ...evaluateModel(exp.compiled, exp.dataset, params, backend, 0, 0, opts.on ?? 'test').metrics };
  } finally {
    backend.dispose();
  }
}

/** `recc recommend RUN --user ID`: the top `top` unseen items for a user of a run folder written by `recc run`, as lines of text. */
export function recommend(runDir: string, user: string, opts: { readonly top?: number; readonly items?: string } = {}): string[] {
  // the run folder's serving/ files alone (runtime/output/serving-files.ts): the model is not compiled again
  const m = loadServingModel(runDir);
  const titles = opts.items === undefined ? undefined : readItemTitles(opts.items);
  return formatText(m, recommendUsers(m, [user], opts.top ?? 10), titles);
}

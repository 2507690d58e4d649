// k-fold cross-validation: a model whose split is `kfold k` trains once per fold. The checked model is
// plain data, so fold f is the same model with `split.fold = f` (what `--set fold=2` cannot say: fold
// is part of the split, not a const); each fold loads its data, compiles for that fold's sizes and
// trains from the same seed. Each fold's metrics are the test metrics of the params it ends with (the
// held-out fold; with `, validate F` the evaluations during training are on validation, as in `recc run`).
import { existsSync, readFileSync, statSync } from 'node:fs';
import { checkSource, compileModel } from '../../compiler/compile.ts';
import { hasErrors, renderDiagnostics, type Diagnostic } from '../../compiler/diagnostics/diagnostics.ts';
import type { SourceFile } from '../../compiler/diagnostics/source.ts';
import type { Model } from '../../compiler/check/model.ts';
import type { DataOptions } from '../../runtime/data/dataset.ts';
import type { BackendMode } from '../../runtime/backends/backends.ts';
import { UsageError, UserError } from '../lib/args.ts';
import type { Runtime } from '../lib/runtime.ts';
import { splitBindings, withTrainOverrides } from './overrides.ts';

export interface FoldResult {
  readonly fold: number;
  readonly steps: number;
  readonly seconds: number;
  /** the held-out fold's metrics of the params the fold's run ends with */
  readonly metrics: Readonly<Record<string, number>>;
  readonly diverged: boolean;
}

export interface CrossValidation {
  readonly model: string;
  readonly k: number;
  readonly seed: number;
  readonly protocol: string;
  /** the bindings as given (consts, dims and training settings) */
  readonly bindings: Readonly<Record<string, number>>;
  readonly folds: readonly FoldResult[];
}

export interface CvOptions {
  /** NAME=VALUE: consts and dims of the model, or lr / steps / epochs (overrides.ts) */
  readonly bindings: ReadonlyMap<string, number>;
  readonly mode: BackendMode;
  readonly allowDense: boolean;
  readonly data: DataOptions;
  /** k: replaces the model's split by `kfold k` on the same relation and seed (keeping `validate`) */
  readonly folds?: number;
  /** with mode wasm: the threads each training's kernels run on (default 1; the same bytes for any number) */
  readonly threads?: number;
  /** called as each fold starts and ends (progress) */
  readonly onFold?: (fold: number, k: number, result?: FoldResult) => void;
}

/** Diagnostics on stderr, rendered with their source lines (as cli/commands/common.ts prints them). */
function printDiagnostics(r: { readonly diagnostics: readonly Diagnostic[]; readonly sources: ReadonlyMap<string, SourceFile> }): void {
  if (r.diagnostics.length) process.stderr.write(renderDiagnostics(r.diagnostics, (f) => r.sources.get(f)) + '\n');
}

/** A model file named on the command line; a missing one (or a folder) is a usage error. */
function modelFile(path: string): string {
  if (!existsSync(path)) throw new UsageError(`no such model file: ${path}`);
  if (!statSync(path).isFile()) throw new UsageError(`${path} is a folder, not a model file`);
  return path;
}

/** The names `--set` may give this model (its consts and dims). */
function declaredNames(path: string, text: string): Set<string> {
  const bare = checkSource(path, text);
  return new Set([...(bare.model?.consts.keys() ?? []), ...(bare.model?.dims.keys() ?? [])]);
}

/** Checks the model with the bindings; undefined (diagnostics printed) when it has errors. */
export function checkWithBindings(path: string, bindings: ReadonlyMap<string, number>): { model: Model; train: ReturnType<typeof splitBindings>['train'] } | undefined {
  const text = readFileSync(modelFile(path), 'utf8');
  const { sets, train } = splitBindings(bindings, declaredNames(path, text));
  const checked = checkSource(path, text, { sets });
  if (hasErrors(checked.diagnostics) || !checked.model) {
    printDiagnostics(checked);
    return undefined;
  }
  if (checked.diagnostics.length) printDiagnostics(checked);
  return { model: withTrainOverrides(checked.model, train), train };
}

/** Trains every fold of the model's `kfold k` split; undefined when the model has errors (printed). */
export function crossValidate(rt: Runtime, path: string, opts: CvOptions): CrossValidation | undefined {
  const c = checkWithBindings(path, opts.bindings);
  if (!c) return undefined;
  const { model, train: length } = c;
  const split = opts.folds === undefined ? model.split : asKfold(model.split, opts.folds);
  if (split?.kind !== 'kfold')
    throw new UserError(`${path}: cross-validation needs a \`kfold k\` split (the model's split is ${split ? split.kind : 'not declared'}); e.g. \`split ratings: kfold 5 seed 1\`, or pass --folds K`);
  const folds: FoldResult[] = [];
  let protocol = '';
  for (let fold = 0; fold < split.k; fold++) {
    opts.onFold?.(fold, split.k);
    const one = trainOne(rt, { ...model, split: { ...split, fold } }, length, opts);
    if (!one) return undefined;
    protocol = one.protocol;
    const result: FoldResult = { fold, steps: one.steps, seconds: one.seconds, metrics: one.test, diverged: one.diverged };
    folds.push(result);
    opts.onFold?.(fold, split.k, result);
  }
  return { model: model.name, k: split.k, seed: split.seed, protocol: protocol.replace(/fold \d+/, 'fold f'), bindings: Object.fromEntries(opts.bindings), folds };
}

/** `split` as `kfold k` on the same relation, seed (files: 0) and validate clause. */
function asKfold(split: Model['split'], k: number): Model['split'] {
  if (!split) return undefined;
  const seed = split.kind === 'files' ? 0 : split.seed;
  return { kind: 'kfold', relation: split.relation, k, fold: 0, seed, ...(split.validate ? { validate: split.validate } : {}) };
}

export interface OneRun {
  readonly protocol: string;
  readonly steps: number;
  readonly seconds: number;
  readonly diverged: boolean;
  /** the test metrics of the params the run ends with */
  readonly test: Readonly<Record<string, number>>;
  /** with a validation part: its metrics for the params the run ends with (the best evaluation under
   * early stopping, else the last); empty without one */
  readonly validation: Readonly<Record<string, number>>;
}

/** Loads `m`'s data, compiles for its sizes and trains once; undefined when compiling fails (printed). */
export function trainOne(rt: Runtime, m: Model, length: { readonly steps?: number; readonly epochs?: number }, opts: Pick<CvOptions, 'mode' | 'allowDense' | 'data' | 'threads'>): OneRun | undefined {
  const ds = rt.dataset.loadDataset(m, opts.data);
  const sized = compileModel(m, { allowDense: opts.allowDense, sizes: (module) => rt.env.sizesFor({ model: m, module }, ds, ds.train, ds.train) });
  if (!sized.compiled || hasErrors(sized.diagnostics)) {
    printDiagnostics({ diagnostics: sized.diagnostics, sources: new Map() });
    return undefined;
  }
  const compiled = sized.compiled;
  const backend = rt.backends.createBackend(opts.mode, compiled.module.spaces, { threads: opts.threads });
  try {
    const r = rt.train.train(compiled, ds, { backend, steps: length.steps, epochs: length.epochs });
    const from = r.heldOut.paramsFrom.step;
    const validation = r.evals.filter((e) => e.on === 'validation' && e.step === from).at(-1) ?? r.evals.filter((e) => e.on === 'validation').at(-1);
    return { protocol: ds.protocol, steps: r.stepsRun, seconds: r.seconds, diverged: r.diverged !== undefined, test: rt.runFolder.finalTest(r)?.metrics ?? {}, validation: validation?.metrics ?? {} };
  } finally {
    backend.dispose();
  }
}

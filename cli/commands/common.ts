// What several commands share: the flags that reach the compiler (`--set`, `--allow-dense`), printing
// diagnostics, and compiling a model file with the diagnostics shown (for its data's sizes, too).
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { checkSource, compileFile, compileModel, type CompileOptions, type CompileResult } from '../../compiler/compile.ts';
import { hasErrors, renderDiagnostics, type Diagnostic } from '../../compiler/diagnostics/diagnostics.ts';
import type { SourceFile } from '../../compiler/diagnostics/source.ts';
import type { Dataset, DataOptions } from '../../runtime/data/dataset.ts';
import { UsageError, UserError, type Flag } from '../lib/args.ts';
import type { Runtime } from '../lib/runtime.ts';

export const SET_FLAG = {
  kind: 'bindings',
  name: 'set',
  whole: false,
  meaning: "give a `const` of the model another value, e.g. --set d=64 (repeatable)",
  default: "the model's values",
} as const satisfies Flag;

export const ALLOW_DENSE_FLAG = {
  kind: 'boolean',
  name: 'allow-dense',
  meaning: 'run terms that stay all-pairs after rewriting, exactly and slowly (a warning instead of RC0530)',
} as const satisfies Flag;

export const THREADS_FLAG = {
  kind: 'count',
  name: 'threads',
  arg: 'N',
  min: 1,
  meaning: 'with --mode wasm: threads the kernels run on, a second one also gathering the next mini-batch of a large relation (the results are the same bytes for any N)',
  default: 'the number of cores',
} as const satisfies Flag;

export interface Reported {
  readonly diagnostics: readonly Diagnostic[];
  readonly sources: ReadonlyMap<string, SourceFile>;
}

export function printDiagnostics(r: Reported, stream: NodeJS.WriteStream = process.stderr): void {
  if (r.diagnostics.length) stream.write(renderDiagnostics(r.diagnostics, (f) => r.sources.get(f)) + '\n');
}

/** A model file named on the command line; a missing one (or a folder) is a usage error. */
export function modelFile(path: string): string {
  if (!existsSync(path)) throw new UsageError(`no such model file: ${path}`);
  if (!statSync(path).isFile()) throw new UsageError(`${path} is a folder, not a model file`);
  return path;
}

/** Compiles a model file, printing its diagnostics (stderr) unless `report` is false; undefined when it has errors. */
export function compileOrReport(path: string, opts: CompileOptions, report = true): NonNullable<CompileResult['compiled']> | undefined {
  const r = compileFile(modelFile(path), opts);
  if (report || hasErrors(r.diagnostics)) printDiagnostics(r);
  return hasErrors(r.diagnostics) ? undefined : r.compiled;
}

export interface CompiledForData {
  readonly compiled: NonNullable<CompileResult['compiled']>;
  readonly ds: Dataset;
  /** every space's size on the training data (what the cost model planned for) */
  readonly sizes: ReadonlyMap<string, number>;
  /** every source file read: the model and its imports (a checkpoint's model hash is over these) */
  readonly sources: ReadonlyMap<string, SourceFile>;
}

/**
 * Compiles a model for its data, once: the front end first (the data's schema comes from the model),
 * then the data it names (or `data`'s files) is loaded, then one compilation sized by the loaded data,
 * so the cost model chooses and reports for this data. One report of diagnostics, as `recc compile`
 * gives: the front end's warnings and the compiler's diagnostics at these sizes. Undefined on errors.
 */
export function compileForData(rt: Runtime, modelPath: string, opts: Omit<CompileOptions, 'sizes'>, data: DataOptions): CompiledForData | undefined {
  const checked = checkSource(modelFile(modelPath), readFileSync(modelPath, 'utf8'), { sets: opts.sets });
  if (hasErrors(checked.diagnostics) || !checked.model) {
    printDiagnostics(checked);
    return undefined;
  }
  const model = checked.model;
  let ds: Dataset;
  try {
    ds = rt.dataset.loadDataset(model, data);
  } catch (err) {
    printDiagnostics(checked); // the front end's warnings, before the data error
    throw err;
  }
  const { sizesFor } = rt.env;
  const sized = compileModel(model, { ...opts, sizes: (module) => sizesFor({ model, module }, ds, ds.train, ds.train) });
  printDiagnostics({ diagnostics: [...checked.diagnostics, ...sized.diagnostics], sources: checked.sources });
  if (hasErrors(sized.diagnostics) || !sized.compiled) return undefined;
  const sizes = sizesFor(sized.compiled, ds, ds.train, ds.train);
  return { compiled: sized.compiled, ds, sizes, sources: checked.sources };
}

/**
 * Creates folder `path` (and its missing parents) for `flag`, one level at a time: Node 20's
 * `mkdirSync(p, { recursive: true })` never returns for a path under /proc, and a folder that cannot
 * be made is the user's error, reported before any training starts. `shown` is the path the flag
 * gave, when `path` is made on its behalf (a run folder's parent).
 */
export function makeFolder(path: string, flag: string, shown = path): void {
  const missing: string[] = [];
  let p = resolve(path);
  while (!existsSync(p)) {
    missing.push(p);
    const up = dirname(p);
    if (up === p) break;
    p = up;
  }
  if (existsSync(p) && !statSync(p).isDirectory()) throw new UserError(`${flag} ${shown}: ${p} is a file, not a folder`);
  for (const dir of missing.reverse()) {
    try {
      mkdirSync(dir);
    } catch (err) {
      throw new UserError(`${flag} ${shown}: cannot create the folder ${dir} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
  }
}

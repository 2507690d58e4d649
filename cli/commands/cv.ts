// `recc cv FILE`: k-fold cross-validation (cli/experiment/folds.ts): trains every fold of the model's
// `kfold k` split, prints the per-fold table with mean/std/min/max, and writes it to the output folder
// (folds.csv, cv.json, cv.md). Progress goes to stderr, the table to stdout.
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { command, UsageError } from '../lib/args.ts';
import type { Runtime } from '../lib/runtime.ts';
import { crossValidate } from '../experiment/folds.ts';
import { writeCv } from '../experiment/cv-report.ts';
import { writeCvReport } from '../experiment/cv-html.ts';
import { ALLOW_DENSE_FLAG, makeFolder, SET_FLAG, THREADS_FLAG } from './common.ts';
import { DEFAULT_MODE, MODES } from './run.ts';

export const cv = command({
  name: 'cv',
  summary: 'k-fold cross-validation: train every fold, report each fold and mean ± std, min, max',
  description:
    "The model's split must be `kfold k` (or --folds K replaces it) (its `fold` is ignored: every fold 0..k-1 is trained from the same seed).\n" +
    'Each fold reports the held-out fold\'s metrics of the params its run ends with; the table adds mean, std (population), min and max.\n' +
    'Writes folds.csv, cv.json, cv.md and report.html. Besides consts and dims, --set takes lr, steps and epochs.',
  operands: [{ name: 'FILE', meaning: 'a .recmodel file with a `kfold k` split' }],
  flags: [
    { kind: 'string', name: 'data', arg: 'FILE', meaning: "training data, replacing the model's primary relation's file", default: 'the file the model names' },
    { kind: 'count', name: 'folds', arg: 'K', min: 2, meaning: "replace the model's split by `kfold K` on the same relation and seed", default: "the model's `kfold k`" },
    { kind: 'string', name: 'out', short: 'o', arg: 'DIR', meaning: 'the folder to write', default: 'runs/MODEL-cv-TIME' },
    { ...SET_FLAG, meaning: 'give a `const` or dim of the model another value, or lr, steps, epochs, e.g. --set d=64,lr=0.01 (repeatable)' },
    { kind: 'choice', name: 'mode', choices: MODES, value: DEFAULT_MODE, meaning: 'where the kernels run, as for `recc run --mode`' },
    THREADS_FLAG,
    { kind: 'count', name: 'steps', arg: 'N', min: 0, meaning: "stop each fold after N updates, overriding the model's `train { … }`", default: "the model's steps or epochs" },
    { kind: 'count', name: 'epochs', arg: 'N', min: 1, meaning: "stop each fold after N passes over its training data", default: "the model's steps or epochs" },
    { kind: 'boolean', name: 'quiet', short: 'q', meaning: 'no progress lines on stderr' },
    ALLOW_DENSE_FLAG,
  ],
  needsRuntime: () => true,
  run: ({ operands, flags }, runtime: () => Runtime) => {
    const rt = runtime();
    if (flags.steps !== undefined && flags.epochs !== undefined) throw new UsageError('give either --steps or --epochs, not both');
    const bindings = new Map(flags.set);
    if (flags.steps !== undefined) bindings.set('steps', flags.steps);
    if (flags.epochs !== undefined) bindings.set('epochs', flags.epochs);
    const log = (s: string): void => {
      if (!flags.quiet) process.stderr.write(s + '\n');
    };
    const path = operands[0]!;
    const started = performance.now();
    const result = crossValidate(rt, path, {
      bindings,
      mode: flags.mode,
      threads: flags.threads ?? availableParallelism(),
      allowDense: flags['allow-dense'],
      folds: flags.folds,
      data: { data: flags.data && resolve(flags.data) },
      onFold: (f, k, r) => {
        if (!r) return log(`recc cv: fold ${f + 1}/${k} …`);
        log(`  fold ${f}: ${Object.entries(r.metrics).map(([m, v]) => `${m} ${v.toFixed(4)}`).join('  ')}  (${r.steps} steps, ${r.seconds.toFixed(1)} s)${r.diverged ? ' — diverged' : ''}`);
      },
    });
    if (!result) return 1;
    const out = flags.out ?? `runs/${result.model}-cv-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    makeFolder(out, '--out');
    const md = writeCv(out, result, rt.runFolder.writeAtomic);
    writeCvReport(out);
    process.stdout.write(`${result.model}: ${result.k}-fold cross-validation in ${((performance.now() - started) / 1000).toFixed(1)} s · ${result.protocol}\n${md}folder: ${out}/ (folds.csv, cv.json, cv.md, report.html)\n`);
    return result.folds.some((f) => f.diverged) ? 1 : 0;
  },
});

// `recc sweep --retrain`: the best trial's configuration, trained once more on all the data the sweep
// selected with, and its test metrics reported once. Without --folds the trials were scored on the
// split's validation part, so the retrain drops `validate` (training on train+validation) and test,
// which no trial saw, is measured once. With --folds the trials' folds covered the split's whole
// relation, so the retrain trains on the model's own split's training side and its test part had a
// say in the choice: retrain.json says so (`testSeenBySelection`). Early stopping needs a validation
// part, so the retrain runs the configured length instead. Writes retrain.json and retrain.md into the
// sweep folder and prints the summary.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Model } from '../../compiler/check/model.ts';
import type { BackendMode } from '../../runtime/backends/backends.ts';
import { UserError } from '../lib/args.ts';
import type { Runtime } from '../lib/runtime.ts';
import { checkWithBindings, trainOne } from './folds.ts';
import type { SweepFolder, SweepSpec } from './sweep-folder.ts';
import { toMarkdown } from './table.ts';

export interface Retrain {
  readonly trial: number;
  readonly config: Readonly<Record<string, number>>;
  readonly fixed: Readonly<Record<string, number>>;
  /** the sweep's objective for this configuration (mean over folds, or validation) */
  readonly objective: number;
  readonly trainedOn: string;
  readonly protocol: string;
  readonly steps: number;
  readonly seconds: number;
  readonly diverged: boolean;
  /** test metrics of the retrained params, measured once */
  readonly test: Readonly<Record<string, number>>;
  /** true when the sweep's cross-validation folds included this test part */
  readonly testSeenBySelection: boolean;
  readonly earlyStopDropped: boolean;
}

/** The model without its validation part (the retrain trains on it too) and without early stopping. */
function forRetrain(m: Model): Model {
  const split = m.split ? (({ validate: _v, ...rest }) => rest)(m.split) : undefined;
  const { earlyStop: _e, ...evaluate } = m.evaluate;
  return { ...m, split, evaluate };
}

export function retrainBest(rt: Runtime, folder: SweepFolder, spec: SweepSpec, quiet: boolean, threads: number): number {
  const trials = [...folder.finished().values()].filter((t) => t.objective !== null && Number.isFinite(t.objective));
  const sign = spec.direction === 'min' ? 1 : -1;
  const best = trials.sort((a, b) => sign * (a.objective! - b.objective!) || a.trial - b.trial)[0];
  if (!best) throw new UserError(`${folder.dir}: no trial finished with a finite objective, so there is nothing to retrain`);
  const bindings = new Map([...Object.entries(spec.fixed), ...Object.entries(best.config)]);
  const c = checkWithBindings(spec.model, bindings);
  if (!c) return 1;
  if (!c.model.split) throw new UserError(`${spec.model}: the retrain reports test once, and the model has no split (no test part)`);
  if (!quiet) process.stderr.write(`recc sweep --retrain: trial ${best.trial}'s configuration on ${spec.folds ? "the split's training side" : 'train+validation'} …\n`);
  const model = forRetrain(c.model);
  const one = trainOne(rt, model, c.train, { mode: spec.mode as BackendMode, threads, allowDense: spec.allowDense, data: { data: spec.data } });
  if (!one) return 1;
  const r: Retrain = {
    trial: best.trial,
    config: best.config,
    fixed: spec.fixed,
    objective: best.objective!,
    trainedOn: spec.folds ? "the split's training side (validation part included)" : 'train+validation',
    protocol: one.protocol,
    steps: one.steps,
    seconds: one.seconds,
    diverged: one.diverged,
    test: one.test,
    testSeenBySelection: spec.folds !== undefined,
    earlyStopDropped: c.model.evaluate.earlyStop !== undefined,
  };
  writeFileSync(join(folder.dir, 'retrain.json'), JSON.stringify(r, null, 2) + '\n');
  const what = spec.folds ? `mean ${spec.objective} over ${spec.folds} folds` : `validation ${spec.objective}`;
  const table = toMarkdown(['', ...Object.keys(r.test)], [{ '': 'test', ...r.test }]);
  const text =
    `# retrain of the best trial\n\n` +
    `trial ${r.trial} (${Object.entries(r.config).map(([k, v]) => `${k}=${v}`).join(', ')}; ${what} ${r.objective.toFixed(4)}), ` +
    `trained on ${r.trainedOn} for ${r.steps} steps in ${r.seconds.toFixed(1)} s: ${r.protocol}\n\n${table}` +
    (r.testSeenBySelection ? `\nThe ${spec.folds} folds covered the whole relation, this test part included: it took part in choosing the configuration.\n` : '') +
    (r.earlyStopDropped ? '\nEarly stopping needs a validation part: the retrain ran the configured length.\n' : '') +
    (r.diverged ? '\nThe retrain diverged.\n' : '');
  writeFileSync(join(folder.dir, 'retrain.md'), text);
  process.stdout.write(`\n${text}`);
  return r.diverged ? 1 : 0;
}

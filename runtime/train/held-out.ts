// held-out: what the trainer's evaluations measure, and which params a run ends with. With a
// validation part (`split …, validate F`), every evaluation during training is on validation, early
// stopping (if declared) watches it, the best params are restored at the end, and the test part is
// measured once, on the params the run returns. Without one, every evaluation is on test, as before,
// and the run says so (`onTest`): choosing settings by those numbers is tuning on the test set.
import type { Compiled } from '../../compiler/compile.ts';
import type { Backend } from '../exec/backend.ts';
import type { Dataset } from '../data/dataset.ts';
import { EvalError, evaluateModel, metricName, type EvalResult, type EvalSide } from '../eval/evaluate.ts';
import { EarlyStopping, type BestSoFar } from './early-stop.ts';

/** What a run's evaluations were measured on and which step its params come from. */
export interface HeldOutReport {
  /** where the evaluations during training were measured */
  readonly evaluatedOn: EvalSide;
  /** with a validation part: the test metrics of the returned params, measured once at the end */
  readonly test?: EvalResult;
  /** with early_stop: the best evaluation (its params are the ones returned) */
  readonly best?: BestSoFar;
  /** with early_stop: the step after which training stopped, when it stopped before the end */
  readonly stoppedAt?: number;
  /** the step (updates applied) and epoch of the returned params */
  readonly paramsFrom: { readonly step: number; readonly epoch: number };
}

export class HeldOut {
  readonly on: EvalSide;
  /** the early-stopping tracker; its `state` is what a checkpoint stores */
  readonly stopping: EarlyStopping | undefined;

  constructor(
    private readonly compiled: Compiled,
    private readonly ds: Dataset,
    private readonly backend: Backend,
    resume?: EarlyStopping,
  ) {
    const rule = compiled.model.evaluate.earlyStop;
    this.on = ds.validation?.has(ds.primary) ? 'validation' : 'test';
    if (rule && this.on !== 'validation') throw new EvalError(`early stopping on ${rule.metric.name} needs a validation part of ${ds.primary}: add \`, validate 0.1\` to the model's split`);
    this.stopping = rule ? (resume ?? EarlyStopping.start(rule)) : undefined;
    // an empty validation part is found before training, not at its first evaluation
    const metrics = compiled.model.evaluate.metrics;
    if (this.on === 'validation' && metrics.length > 0 && ds.validation!.get(ds.primary)!.size === 0)
      throw new EvalError(`the validation part of ${ds.primary} is empty (${ds.protocol}): no tuple to measure ${metrics.map(metricName).join(', ')} on; raise the validate fraction`);
  }

  /** Evaluates `params` after `step` updates; true when early stopping says to stop here. */
  evaluate(params: ReadonlyMap<string, Float32Array>, step: number, epoch: number, record: (r: EvalResult) => void): boolean {
    if (this.compiled.model.evaluate.metrics.length === 0) return false;
    const r = evaluateModel(this.compiled, this.ds, params, this.backend, step, epoch, this.on);
    record(r);
    return this.stopping?.observe(r, params) ?? false;
  }

  /**
   * The end of a run of `stepsRun` updates (`stoppedEarly`: ended by early stopping before the
   * planned length): restores the best params into `params` (early stopping,
   * unless training diverged: then the last params stay, as the divergence report says), and measures
   * the test part once when the evaluations were on validation.
   */
  finish(params: Map<string, Float32Array>, stepsRun: number, stepsPerEpoch: number, end: { readonly diverged: boolean; readonly stoppedEarly: boolean }, record: (r: EvalResult) => void): HeldOutReport {
    const { diverged } = end;
    let paramsFrom = { step: stepsRun, epoch: stepsRun / stepsPerEpoch };
    const best = this.stopping?.bestParams;
    if (best && !diverged) {
      for (const [name, p] of best) params.get(name)?.set(p);
      paramsFrom = { step: this.stopping!.state.step, epoch: this.stopping!.state.epoch };
    }
    let test: EvalResult | undefined;
    if (this.on === 'validation' && !diverged && this.compiled.model.evaluate.metrics.length > 0) {
      test = evaluateModel(this.compiled, this.ds, params, this.backend, paramsFrom.step, paramsFrom.epoch, 'test');
      record(test);
    }
    return {
      evaluatedOn: this.on,
      ...(test ? { test } : {}),
      ...(this.stopping && this.stopping.state.step >= 0 ? { best: this.stopping.state } : {}),
      ...(end.stoppedEarly ? { stoppedAt: stepsRun } : {}),
      paramsFrom,
    };
  }
}

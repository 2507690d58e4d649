// early-stop: which evaluation is the best so far, and when to stop. With `early_stop on M patience
// N [min_delta X]` (EarlyStopInfo), each evaluation on the validation part either improves on the
// best value of M by more than X (in M's direction: errors down, ranking metrics up) — then it
// becomes the best and the params are copied — or counts towards the patience; after N evaluations
// in a row without an improvement, training stops and the best params are restored.
// The tracker's whole state but the params is one small JSON-serializable object (`BestSoFar`), so
// a checkpoint can store it beside the best params and `EarlyStopping.resume` can pick it up.
import type { EarlyStopInfo } from '../../compiler/check/model.ts';
import { EvalError, metricName, type EvalResult } from '../eval/evaluate.ts';

/** The best evaluation so far and the count of evaluations since: plain data (a checkpoint's `extra`). */
export interface BestSoFar {
  /** e.g. "ndcg@20" */
  readonly metric: string;
  readonly direction: 'min' | 'max';
  /** the best value of `metric` seen, and the step/epoch of that evaluation; step −1 before the first */
  readonly value: number;
  readonly step: number;
  readonly epoch: number;
  /** evaluations since the best one that did not improve on it */
  readonly sinceBest: number;
}

export class EarlyStopping {
  private best: BestSoFar;
  private params: Map<string, Float32Array> | undefined;

  private constructor(readonly rule: EarlyStopInfo, best: BestSoFar, params?: ReadonlyMap<string, Float32Array>) {
    this.best = best;
    this.params = params && copy(params);
  }

  static start(rule: EarlyStopInfo): EarlyStopping {
    const metric = metricName(rule.metric);
    return new EarlyStopping(rule, { metric, direction: rule.direction, value: rule.direction === 'max' ? -Infinity : Infinity, step: -1, epoch: 0, sinceBest: 0 });
  }

  /** Continues from a saved state and the params of its best evaluation (a resumed run). */
  static resume(rule: EarlyStopInfo, state: BestSoFar, bestParams: ReadonlyMap<string, Float32Array> | undefined): EarlyStopping {
    if (state.metric !== metricName(rule.metric) || state.direction !== rule.direction) throw new Error(`early-stopping state is for ${state.metric} (${state.direction}), the model stops on ${metricName(rule.metric)}`);
    return new EarlyStopping(rule, state, bestParams);
  }

  /** The serializable state (no params). */
  get state(): BestSoFar {
    return this.best;
  }

  /** The params of the best evaluation (undefined before any). */
  get bestParams(): ReadonlyMap<string, Float32Array> | undefined {
    return this.params;
  }

  /**
   * Records an evaluation of `params`; returns true when training should stop (`patience`
   * evaluations in a row without improvement). A NaN value never improves.
   */
  observe(r: EvalResult, params: ReadonlyMap<string, Float32Array>): boolean {
    const { metric, direction } = this.best;
    const value = r.metrics[metric];
    if (value === undefined) throw new EvalError(`early stopping watches ${metric}, but the evaluation at step ${r.step} did not compute it`);
    if (improves(value, this.best.value, direction, this.rule.minDelta)) {
      this.best = { metric, direction, value, step: r.step, epoch: r.epoch, sinceBest: 0 };
      this.params = copy(params, this.params);
      return false;
    }
    this.best = { ...this.best, sinceBest: this.best.sinceBest + 1 };
    return this.best.sinceBest >= this.rule.patience;
  }
}

/** Whether `value` beats `best` by more than `minDelta` in `direction`; the first finite value always does. */
export function improves(value: number, best: number, direction: 'min' | 'max', minDelta: number): boolean {
  if (Number.isNaN(value)) return false;
  if (!Number.isFinite(best)) return Number.isFinite(value) || (direction === 'max' ? value > best : value < best);
  return direction === 'max' ? value > best + minDelta : value < best - minDelta;
}

/** A copy of every param, reusing `into`'s buffers when it has them. */
function copy(params: ReadonlyMap<string, Float32Array>, into?: Map<string, Float32Array>): Map<string, Float32Array> {
  const out = into ?? new Map<string, Float32Array>();
  for (const [name, p] of params) {
    const buf = out.get(name);
    if (buf && buf.length === p.length) buf.set(p);
    else out.set(name, Float32Array.from(p));
  }
  return out;
}

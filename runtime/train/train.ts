// train: runs a compiled model on a dataset. Params are initialized from the train seed (or warm-
// started from a run folder), each step evaluates every term and every param's gradient through a
// Backend on the current batch, checks each term is finite (a NaN names its term and stops the run
// with the last good params kept), and applies the optimizer. Same seed and backend ⇒ same numbers.
// Evaluations go through held-out.ts: on the validation part when the split has one (with early
// stopping and the best params restored at the end, then test once), else on test.
import type { Compiled } from '../../compiler/compile.ts';
import type { TensorValue } from '../../compiler/ir/interp.ts';
import { logqTableName } from '../../compiler/ir/spaces.ts';
import { evalMany, type Backend } from '../exec/backend.ts';
import type { Dataset } from '../data/dataset.ts';
import type { EvalResult } from '../eval/evaluate.ts';
import { makeEnv, sizesFor } from '../exec/env.ts';
import { applyUpdate, createState, learningRate, type Gradient } from './optimizer.ts';
import { Rng } from '../data/rng.ts';
import { distribution } from './samplers.ts';
import { scatterRows, sliceParams } from './user-batch.ts';
import { Steps } from './steps.ts';
import type { EarlyStopping } from './early-stop.ts';
import { HeldOut, type HeldOutReport } from './held-out.ts';
import { initParams, paramShape } from './init.ts';
import { trainAls } from './als.ts';

export { initParams, paramShape } from './init.ts';

export interface StepLog {
  readonly step: number;
  readonly epoch: number;
  readonly lr: number;
  readonly terms: Readonly<Record<string, number>>;
  readonly total: number;
  readonly ms: number;
}

export interface TrainOptions {
  readonly backend: Backend;
  /** params to start from (warm start), by name; rows already mapped to this dataset's ids */
  readonly init?: ReadonlyMap<string, Float32Array>;
  /** called after each step and each evaluation (progress display) */
  readonly onStep?: (log: StepLog) => void;
  readonly onEval?: (r: EvalResult) => void;
  /** the early-stopping tracker to continue from (a resumed run); default: a fresh one for the model's `early_stop` */
  readonly earlyStopping?: EarlyStopping;
  /** overrides the model's stopping rule */
  readonly steps?: number;
  /** overrides the model's stopping rule with this many passes over the training data (`steps` wins) */
  readonly epochs?: number;
  /**
   * evaluate every gradient over all rows and update densely, even where the compiler found it
   * row-sparse (for comparisons: bench/bpr.ts measures both)
   */
  readonly denseGradients?: boolean;
}

export interface TrainResult {
  readonly params: ReadonlyMap<string, Float32Array>;
  readonly log: readonly StepLog[];
  /** the evaluations during training (each says what it measured: `on`) */
  readonly evals: readonly EvalResult[];
  /** what the evaluations measured, the best one, the final test metrics and which step the params are from */
  readonly heldOut: HeldOutReport;
  readonly stepsRun: number;
  /**
   * set when the run stopped because a term (or a gradient) was not finite; `step` counts from 1 as
   * in the log, whose last entry is that step; the params are the ones it evaluated (step − 1 updates)
   */
  readonly diverged?: { readonly term: string; readonly step: number; readonly value: number };
  readonly seconds: number;
}

/** Rows `rows` (each `width` elements) of a row-major array, in that order. */
function gatherRows(a: Float32Array | Float64Array, rows: Int32Array, width: number): Float32Array | Float64Array {
  const out = a instanceof Float32Array ? new Float32Array(rows.length * width) : new Float64Array(rows.length * width);
  rows.forEach((r, k) => out.set(a.subarray(r * width, (r + 1) * width), k * width));
  return out;
}

export function train(compiled: Compiled, ds: Dataset, opts: TrainOptions): TrainResult {
  // alternating exact block updates (ALS) are their own loop
  if (compiled.model.train.optimizer.kind === 'als') return trainAls(compiled, ds, opts);
  const started = performance.now();
  const cfg = { ...compiled.model.train, optimizer: compiled.model.train.optimizer };
  const full = ds.train;
  const fullSizes = sizesFor(compiled, ds, full, full);
  const params = initParams(compiled, fullSizes, cfg.seed);
  // warm start: rows the saved run had (finite values) replace the fresh initialization
  for (const [name, saved] of opts.init ?? []) {
    const p = params.get(name);
    if (!p || p.length !== saved.length) continue;
    for (let j = 0; j < p.length; j++) if (Number.isFinite(saved[j]!)) p[j] = saved[j]!;
  }
  const state = createState(cfg.optimizer, params);

  // samplers: one distribution per sampler (popularity from its training relation), one seeded stream
  const samplers = compiled.module.samplers;
  const sampleRng = new Rng(cfg.seed).fork(2);
  const dists = samplers.map((smp) => {
    const ex = smp.kind === 'per-tuple' ? smp.exclude : undefined;
    const excluded = ex ? { rel: full.get(ex.rel), owners: fullSizes.get(ex.owner) ?? 0 } : undefined;
    return distribution(smp, fullSizes.get(smp.domain) ?? 0, full.get(smp.source ?? ds.primary), excluded);
  });
  const logqTables = new Map<string, TensorValue>(
    samplers.map((smp, j) => [logqTableName(smp), { data: Float32Array.from(dists[j]!.logq), shape: [smp.domain] }]),
  );

  // each step's batch, user batch, drawn samples and touched rows (steps.ts, shared with explain's sizes)
  const steps = new Steps(compiled, ds, fullSizes, { denseGradients: opts.denseGradients, samples: { dists, rng: sampleRng } });
  const stepsPerEpoch = steps.stepsPerEpoch;
  const length = opts.epochs === undefined ? cfg.length : { unit: 'epochs', count: opts.epochs };
  const totalSteps = opts.steps ?? (length.unit === 'steps' ? length.count : length.count * stepsPerEpoch);
  const every = compiled.model.evaluate.every;
  const evalEvery = every ? (every.unit === 'steps' ? every.count : every.count * stepsPerEpoch) : 0;
  const log: StepLog[] = [];
  const evals: EvalResult[] = [];
  const heldOut = new HeldOut(compiled, ds, opts.backend, opts.earlyStopping);
  /** evaluates after `step` updates; true when early stopping ends the run there */
  const evaluateNow = (step: number): boolean =>
    heldOut.evaluate(params, step, step / stepsPerEpoch, (r) => {
      evals.push(r);
      opts.onEval?.(r);
    });
  let stopped = false;

  let diverged: TrainResult['diverged'];
  let step = 0;
  for (; step < totalSteps; step++) {
    const t0 = performance.now();
    const { relations, sizes, members, touched, atRows } = steps.next();
    const stepParams = members ? sliceParams(compiled, params, steps.userDomain!, members, fullSizes.get(steps.userDomain!)!) : params;
    const env = makeEnv(compiled, sizes, stepParams, relations, logqTables);
    // every term and gradient in one call, so the backend can share their common work
    const requests = compiled.grads.map((g) => (g.rows && atRows.has(g.param) ? { expr: g.rows.expr, out: g.rows.out } : { expr: g.expr, out: g.out }));
    const many = evalMany(opts.backend, compiled.terms.map((t) => t.expr), requests, env);
    // keyed by the model's term names: no prototype, so a term named `__proto__` is an ordinary key
    const terms = Object.create(null) as Record<string, number>;
    let total = 0;
    for (const [ti, t] of compiled.terms.entries()) {
      const value = many.scalars[ti]!;
      terms[t.name] = value;
      total += value;
      if (!Number.isFinite(value) && !diverged) diverged = { term: t.name, step: step + 1, value };
    }
    const lr = learningRate(cfg.optimizer, cfg.schedule, step);
    const entry = (): StepLog => ({ step: step + 1, epoch: (step + 1) / stepsPerEpoch, lr, terms, total, ms: performance.now() - t0 });
    if (diverged) {
      log.push(entry());
      break;
    }
    const grads = new Map<string, Gradient>();
    for (const [gi, g] of compiled.grads.entries()) {
      const rows = touched.get(g.param);
      const width = rows ? paramShape(compiled, fullSizes, g.param).slice(1).reduce((a, b) => a * b, 1) : 0;
      // at rows: the padding rows (copies of the last touched row) are dropped; dense: the touched rows are read
      const value = !rows ? many.tensors[gi]! : atRows.has(g.param) ? many.tensors[gi]!.subarray(0, rows.length * width) : gatherRows(many.tensors[gi]!, rows, width);
      for (let j = 0; j < value.length; j++) {
        if (!Number.isFinite(value[j]!)) {
          diverged = { term: `∂/∂${g.param}`, step: step + 1, value: value[j]! };
          break;
        }
      }
      const sliced = members && compiled.module.params.find((p) => p.name === g.param)?.shape[0] === steps.userDomain;
      if (rows) grads.set(g.param, { rows, values: value, width });
      else grads.set(g.param, sliced ? scatterRows(value, members!, params.get(g.param)!.length) : value);
    }
    if (diverged) {
      log.push(entry());
      break;
    }
    applyUpdate(cfg.optimizer, state, params, grads, lr);
    const done = entry();
    log.push(done);
    opts.onStep?.(done);
    // early stopping ends the run here, unless this was its last step anyway
    if (evalEvery > 0 && (step + 1) % evalEvery === 0 && evaluateNow(step + 1) && step + 1 < totalSteps) {
      stopped = true;
      step++; // this step's update is applied: the run ends after it
      break;
    }
  }
  if (!diverged && !stopped && (evalEvery === 0 || step % evalEvery !== 0)) evaluateNow(step);
  const report = heldOut.finish(params, step, stepsPerEpoch, { diverged: diverged !== undefined, stoppedEarly: stopped }, (r) => opts.onEval?.(r));
  return { params, log, evals, stepsRun: step, diverged, heldOut: report, seconds: (performance.now() - started) / 1000 };
}

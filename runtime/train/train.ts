// train: runs a compiled model on a dataset. Params are initialized from the train seed (or warm-
// started from a run folder), each step evaluates every term and every param's gradient through a
// Backend on the current batch, checks each term is finite (a NaN names its term and stops the run
// with the last good params kept), and applies the optimizer. Same seed and backend ⇒ same numbers.
// Evaluations go through held-out.ts: on the validation part when the split has one (with early
// stopping and the best params restored at the end, then test once), else on test.
// `training` is the same loop as a generator that yields after each step (the CLI yields to the
// event loop there, so a signal can stop it); its whole state can be saved (`checkpoint`, written by
// runtime/train/checkpoint.ts) and resumed (`resume`) with the same numbers as a run never stopped.
import { neighbourRun } from './neighbours.ts';
import type { Compiled } from '../../compiler/compile.ts';
import type { TensorValue } from '../../compiler/ir/interp.ts';
import { logqTableName } from '../../compiler/ir/spaces.ts';
import { evalMany, type Backend } from '../exec/backend.ts';
import type { Dataset } from '../data/dataset.ts';
import type { EvalResult } from '../eval/evaluate.ts';
import { makeEnv, sizesFor } from '../exec/env.ts';
import { applyUpdate, createState, learningRate, type Gradient, type OptimizerState } from './optimizer.ts';
import { Rng } from '../data/rng.ts';
import { distribution } from './samplers.ts';
import { scatterRows, sliceParams } from './user-batch.ts';
import { Steps, type StepsState } from './steps.ts';
import { EarlyStopping as EarlyStoppingTracker, type BestSoFar } from './early-stop.ts';
import { HeldOut, type HeldOutReport } from './held-out.ts';
import { initParams, paramShape, warmStart, type StepLog } from './init.ts';
import { trainAls } from './als.ts';
import { ResidentTrainer } from './resident.ts';
import { WasmUpdater, type ArenaGrad } from './wasm-update.ts';

export { initParams, paramShape, type StepLog } from './init.ts';


export interface TrainOptions {
  readonly backend: Backend;
  /** params to start from (warm start), by name; rows already mapped to this dataset's ids */
  readonly init?: ReadonlyMap<string, Float32Array>;
  /** called after each step and each evaluation (progress display) */
  readonly onStep?: (log: StepLog) => void;
  /** called once before the first step: how many steps the run will take in all, per epoch, and those already done (resumed) */
  readonly onStart?: (plan: { readonly totalSteps: number; readonly stepsPerEpoch: number; readonly startStep: number }) => void;
  readonly onEval?: (r: EvalResult) => void;
  /** the early-stopping tracker to continue from (a resumed run); default: a fresh one for the model's `early_stop` */
  readonly earlyStopping?: EarlyStoppingTracker;
  /** overrides the model's stopping rule */
  readonly steps?: number;
  /** overrides the model's stopping rule with this many passes over the training data (`steps` wins) */
  readonly epochs?: number;
  /**
   * evaluate every gradient over all rows and update densely, even where the compiler found it
   * row-sparse (for comparisons: bench/bpr.ts measures both)
   */
  readonly denseGradients?: boolean;
  /** continue a saved run (its params, optimizer, data order, streams, log and evaluations); `init` is then ignored */
  readonly resume?: TrainState;
  /** save the state every so many steps or seconds (whichever comes first), and when `stop` answers true */
  readonly checkpoint?: CheckpointPolicy;
  /** asked before each step: true ends the run there (after a checkpoint), with `TrainResult.stopped` set */
  readonly stop?: () => boolean;
  /** on a backend of 2+ threads, batches of a relation this large are gathered on a worker while a
   * step runs (default batch-prefetch.ts's MIN_TUPLES; tests: 0) */
  readonly prefetchMinTuples?: number;
}

/**
 * A run's whole state after `step` updates: what a resume needs to continue with the same numbers.
 * The arrays are the live ones (a `save` must copy or write them before it returns).
 */
export interface TrainState {
  readonly step: number;
  readonly params: ReadonlyMap<string, Float32Array>;
  readonly optimizer: OptimizerState;
  readonly steps: StepsState;
  readonly log: readonly StepLog[];
  readonly evals: readonly EvalResult[];
  /** the trainer's own state besides these (e.g. the best params so far): JSON, and float32 arrays by name */
  readonly extra: { readonly json: Record<string, unknown>; readonly tensors: ReadonlyMap<string, Float32Array> };
}

export interface CheckpointPolicy {
  /** every N steps (0 or absent: never by count) */
  readonly everySteps?: number;
  /** every N seconds of training (0 or absent: never by time) */
  readonly everySeconds?: number;
  /** also once training ends (before the final evaluation), so saving the run folder never loses it */
  readonly atEnd?: boolean;
  save(state: TrainState): void;
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
  /** set when `stop` ended the run early: the step it stopped after (a checkpoint of it was saved) */
  readonly stopped?: { readonly step: number };
}

/** Rows `rows` (each `width` elements) of a row-major array, in that order. */
function gatherRows(a: Float32Array | Float64Array, rows: Int32Array, width: number): Float32Array | Float64Array {
  const out = a instanceof Float32Array ? new Float32Array(rows.length * width) : new Float64Array(rows.length * width);
  rows.forEach((r, k) => out.set(a.subarray(r * width, (r + 1) * width), k * width));
  return out;
}

export function train(compiled: Compiled, ds: Dataset, opts: TrainOptions): TrainResult {
  const run = training(compiled, ds, opts);
  for (;;) {
    const r = run.next();
    if (r.done) return r.value;
  }
}

/** `train` as a generator: yields the number of steps done after each step, returns the result. */
export function* training(compiled: Compiled, ds: Dataset, opts: TrainOptions): Generator<number, TrainResult, void> {
  // alternating exact block updates (ALS) are their own loop
  if (compiled.model.train.optimizer.kind === 'als') return trainAls(compiled, ds, opts);
  // a neighbours model (ItemCF) has nothing to train: its tables are computed from the data
  if (compiled.model.neighbours.length > 0) return neighbourRun(compiled, ds, opts);
  const started = performance.now();
  const cfg = { ...compiled.model.train, optimizer: compiled.model.train.optimizer };
  const full = ds.train;
  const fullSizes = sizesFor(compiled, ds, full, full);
  const params = initParams(compiled, fullSizes, cfg.seed);
  warmStart(params, opts.init);
  // a backend with its own memory (wasm) takes the params there once; the optimizer updates them in place
  opts.backend.adopt?.(params);
  const state = opts.resume ? resumedOptimizer(opts.resume, params) : createState(cfg.optimizer, params);

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
  const steps = new Steps(compiled, ds, fullSizes, { denseGradients: opts.denseGradients, samples: { dists, rng: sampleRng }, prefetch: (opts.backend.threads ?? 1) > 1 ? { minTuples: opts.prefetchMinTuples } : undefined });
  const stepsPerEpoch = steps.stepsPerEpoch;
  const length = opts.epochs === undefined ? cfg.length : { unit: 'epochs', count: opts.epochs };
  const totalSteps = opts.steps ?? (length.unit === 'steps' ? length.count : length.count * stepsPerEpoch);
  const every = compiled.model.evaluate.every;
  const evalEvery = every ? (every.unit === 'steps' ? every.count : every.count * stepsPerEpoch) : 0;
  const log: StepLog[] = [];
  const evals: EvalResult[] = [];
  // early stopping resumes from a checkpoint's extra section (its state and best params), else as given
  const rule = compiled.model.evaluate.earlyStop;
  const savedStop = opts.resume?.extra.json.earlyStop as BestSoFar | undefined;
  const resumedStopping = rule && savedStop ? EarlyStoppingTracker.resume(rule, savedStop, opts.resume!.extra.tensors.size > 0 ? opts.resume!.extra.tensors : undefined) : undefined;
  const heldOut = new HeldOut(compiled, ds, opts.backend, resumedStopping ?? opts.earlyStopping);
  /** evaluates after `step` updates; true when early stopping ends the run there */
  const evaluateNow = (step: number): boolean => {
    dev?.sync(); // resident params: the device holds the current ones
    return heldOut.evaluate(params, step, step / stepsPerEpoch, (r) => {
      evals.push(r);
      opts.onEval?.(r);
    });
  };
  let stoppedEarly = false;

  // trainer state that other parts keep across a resume goes in `extra` (JSON, and float32 arrays)
  const extra = (): TrainState['extra'] => {
    const tracker = heldOut.stopping;
    return { json: tracker ? { earlyStop: tracker.state } : {}, tensors: new Map(tracker?.bestParams ?? []) };
  };
  const snapshot = (done: number): TrainState => {
    dev?.sync();
    return { step: done, params, optimizer: state, steps: steps.state(), log, evals, extra: extra() };
  };
  let step = 0;
  if (opts.resume) {
    resumeInto(opts.resume, params, steps);
    log.push(...opts.resume.log);
    evals.push(...opts.resume.evals);
    step = opts.resume.step;
  }
  // webgpu: params and optimizer slots stay on the device (resident.ts); user batches slice them there
  const ud = steps.userDomain;
  const sliced = ud === undefined ? undefined : { domain: ud, size: fullSizes.get(ud)!, params: new Set(compiled.module.params.filter((p) => p.shape[0] === ud).map((p) => p.name)) };
  const dev = ResidentTrainer.for(opts.backend, cfg.optimizer, params, state, sliced);
  const checkpoints = checkpointClock(opts.checkpoint, step, opts.resume !== undefined);
  opts.onStart?.({ totalSteps, stepsPerEpoch, startStep: step });
  // wasm: gradients in the kernels' memory are checked and applied there (wasm-update.ts)
  const wup = steps.userDomain === undefined && !dev ? WasmUpdater.for(opts.backend, cfg.optimizer, params, state) : undefined;

  let diverged: TrainResult['diverged'];
  let stopped: TrainResult['stopped'];
  try {
    for (; step < totalSteps; step++) {
      if (opts.stop?.()) {
        checkpoints.save(step, snapshot);
        stopped = { step };
        break;
      }
      const t0 = performance.now();
      const { relations, sizes, members, touched, atRows } = steps.next();
      const stepParams = members ? sliceParams(compiled, params, steps.userDomain!, members, fullSizes.get(steps.userDomain!)!) : params;
      const env = makeEnv(compiled, sizes, stepParams, relations, logqTables);
      // every term and gradient in one call, so the backend can share their common work
      const requests = compiled.grads.map((g) => (g.rows && atRows.has(g.param) ? { expr: g.rows.expr, out: g.rows.out } : { expr: g.expr, out: g.out }));
      // resident (webgpu): gradients stay on the device in their dense or touched-rows form, updated there;
      // otherwise they are read before the next step (reuse: the backend's buffers, no fresh arrays per step)
      const onDevice = dev?.evaluate(compiled.terms.map((t) => t.expr), requests, env, members);
      const many = onDevice ? { scalars: onDevice.scalars, tensors: [] } : evalMany(opts.backend, compiled.terms.map((t) => t.expr), requests, env, { reuse: true });
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
      if (dev && onDevice) {
        const width = (name: string): number => paramShape(compiled, fullSizes, name).slice(1).reduce((a, b) => a * b, 1);
        dev.update(compiled.grads.map((g) => ({ param: g.param, rows: touched.get(g.param), atRows: atRows.has(g.param), width: width(g.param) })), onDevice.grads, lr);
      }
      const grads = new Map<string, Gradient>();
      const inArena: ArenaGrad[] = [];
      for (const [gi, g] of (dev ? [] : compiled.grads).entries()) {
        const rows = touched.get(g.param);
        const width = rows ? paramShape(compiled, fullSizes, g.param).slice(1).reduce((a, b) => a * b, 1) : 0;
        const tensor = many.tensors[gi]!;
        if (wup?.holds(tensor)) {
          const ag: ArenaGrad = { param: g.param, rows, atRows: atRows.has(g.param), width, value: tensor };
          const bad = wup.firstNonFinite(ag);
          if (bad !== undefined) {
            diverged = { term: `∂/∂${g.param}`, step: step + 1, value: bad };
            break;
          }
          inArena.push(ag);
          continue;
        }
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
      if (!dev) applyUpdate(cfg.optimizer, state, params, grads, lr);
      wup?.update(inArena, lr);
      const done = entry();
      log.push(done);
      opts.onStep?.(done);
      // early stopping ends the run here, unless this was its last step anyway
      if (evalEvery > 0 && (step + 1) % evalEvery === 0 && evaluateNow(step + 1) && step + 1 < totalSteps) {
        stoppedEarly = true;
        step++; // this step's update is applied: the run ends after it
        break;
      }
      if (checkpoints.due(step + 1)) checkpoints.save(step + 1, snapshot);
      yield step + 1;
    }
  } finally {
    steps.close(); // the batch prefetching worker: after the last step, an error, or a caller that stopped iterating
  }
  dev?.sync();
  if (stopped) {
    dev?.release();
    const paramsFrom = { step, epoch: step / stepsPerEpoch };
    return { params, log, evals, stepsRun: step, heldOut: { evaluatedOn: heldOut.on, paramsFrom }, seconds: (performance.now() - started) / 1000, stopped };
  }
  if (!diverged && !stoppedEarly && opts.checkpoint?.atEnd) checkpoints.save(step, snapshot);
  if (!diverged && !stoppedEarly && (evalEvery === 0 || step % evalEvery !== 0)) evaluateNow(step);
  dev?.release();
  const report = heldOut.finish(params, step, stepsPerEpoch, { diverged: diverged !== undefined, stoppedEarly }, (r) => opts.onEval?.(r));
  return { params, log, evals, stepsRun: step, diverged, heldOut: report, seconds: (performance.now() - started) / 1000 };
}

/**
 * When checkpoints are due: every N steps or seconds since the last one. A state is saved once per
 * step count (a resumed run's starting step is saved already).
 */
function checkpointClock(policy: CheckpointPolicy | undefined, startStep: number, resumed: boolean) {
  let lastStep = startStep;
  let lastTime = performance.now();
  let savedStep = resumed ? startStep : -1;
  return {
    due(done: number): boolean {
      if (!policy) return false;
      const bySteps = (policy.everySteps ?? 0) > 0 && done - lastStep >= policy.everySteps!;
      const bySeconds = (policy.everySeconds ?? 0) > 0 && performance.now() - lastTime >= policy.everySeconds! * 1000;
      return bySteps || bySeconds;
    },
    save(done: number, snapshot: (done: number) => TrainState): void {
      if (!policy) return;
      if (done !== savedStep) policy.save(snapshot(done));
      savedStep = lastStep = done;
      lastTime = performance.now();
    },
  };
}

/** The optimizer state of a checkpoint, checked against this run's params. */
function resumedOptimizer(saved: TrainState, params: ReadonlyMap<string, Float32Array>): OptimizerState {
  const slots = new Map<string, Float32Array[]>();
  for (const [name, p] of params) {
    const s = saved.optimizer.slots.get(name);
    if (!s || s.some((x) => x.length !== p.length)) throw new RangeError(`the saved optimizer state has no moments for param ${name} at its size`);
    slots.set(name, s.map((x) => Float32Array.from(x)));
  }
  return { slots, step: saved.optimizer.step };
}

/** Copies a checkpoint's params into this run's (same names and sizes) and restores the data order. */
function resumeInto(saved: TrainState, params: Map<string, Float32Array>, steps: Steps): void {
  for (const [name, p] of params) {
    const s = saved.params.get(name);
    if (!s || s.length !== p.length) throw new RangeError(`the saved params have no ${name} of ${p.length} elements`);
    p.set(s);
  }
  for (const name of saved.params.keys()) if (!params.has(name)) throw new RangeError(`the saved params have a ${name} this model does not`);
  steps.restore(saved.steps);
}

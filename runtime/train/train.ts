// train: runs a compiled model on a dataset. Params are initialized from the train seed (or warm-
// started from a run folder), each step evaluates every term and every param's gradient through a
// Backend on the current batch, checks each term is finite (a NaN names its term and stops the run
// with the last good params kept), and applies the optimizer. Same seed and backend ⇒ same numbers.
import type { Compiled } from '../../compiler/compile.ts';
import type { TensorValue } from '../../compiler/ir/interp.ts';
import { batchKey, logqTableName, totalKey } from '../../compiler/ir/spaces.ts';
import { evalMany, type Backend } from '../exec/backend.ts';
import type { Relation } from '../data/load.ts';
import type { Dataset } from '../data/dataset.ts';
import { evaluateModel, type EvalResult } from '../eval/evaluate.ts';
import { makeEnv, sizesFor } from '../exec/env.ts';
import { applyUpdate, createState, learningRate, type Gradient } from './optimizer.ts';
import { Rng } from '../data/rng.ts';
import { distribution, drawSamples } from './samplers.ts';
import { restrictRelations, scatterRows, sliceParams, UserBatcher } from './user-batch.ts';
import { entriesOf, selectEntries } from '../data/sparse.ts';
import { rowsCapacity, rowsRelation, touchedRows } from './touched-rows.ts';

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
  readonly evals: readonly EvalResult[];
  readonly stepsRun: number;
  /**
   * set when the run stopped because a term (or a gradient) was not finite; `step` counts from 1 as
   * in the log, whose last entry is that step; the params are the ones it evaluated (step − 1 updates)
   */
  readonly diverged?: { readonly term: string; readonly step: number; readonly value: number };
  readonly seconds: number;
}

/** Parameter shapes in elements, per axis. */
export function paramShape(compiled: Compiled, sizes: ReadonlyMap<string, number>, name: string): number[] {
  const p = compiled.module.params.find((x) => x.name === name)!;
  return p.shape.map((s) => sizes.get(s)!);
}

export function initParams(compiled: Compiled, sizes: ReadonlyMap<string, number>, seed: number): Map<string, Float32Array> {
  const rng = new Rng(seed);
  const out = new Map<string, Float32Array>();
  for (const info of compiled.model.params) {
    const n = paramShape(compiled, sizes, info.name).reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    const init = info.init;
    const r = rng.fork(hashName(info.name));
    for (let j = 0; j < n; j++) {
      data[j] = init.kind === 'normal' ? init.mean + init.std * r.normal() : init.kind === 'uniform' ? init.lo + (init.hi - init.lo) * r.uniform() : init.value;
    }
    out.set(info.name, data);
  }
  return out;
}

function hashName(s: string): number {
  let h = 2166136261;
  for (let j = 0; j < s.length; j++) h = Math.imul(h ^ s.charCodeAt(j), 16777619) >>> 0;
  return h;
}

/** Rows `rows` (each `width` elements) of a row-major array, in that order. */
function gatherRows(a: Float32Array | Float64Array, rows: Int32Array, width: number): Float32Array | Float64Array {
  const out = a instanceof Float32Array ? new Float32Array(rows.length * width) : new Float64Array(rows.length * width);
  rows.forEach((r, k) => out.set(a.subarray(r * width, (r + 1) * width), k * width));
  return out;
}

/** Tuple mini-batches of one relation: a seeded permutation per epoch, cut into batches. */
export class Batcher {
  private order: Int32Array;
  private pos = 0;
  epoch = 0;
  constructor(private readonly rel: Relation, private readonly size: number, private readonly rng: Rng) {
    this.order = Int32Array.from({ length: rel.size }, (_, j) => j);
    this.rng.shuffle(this.order);
  }
  get batchesPerEpoch(): number {
    return Math.max(1, Math.ceil(this.rel.size / this.size));
  }
  /** The next batch of the relation, and (from `full`) the batch's sparse entries (`R~x`, rows renumbered 0..B−1). */
  next(full: ReadonlyMap<string, Relation> = new Map()): Map<string, Relation> {
    if (this.pos >= this.order.length) {
      this.pos = 0;
      this.epoch++;
      this.rng.shuffle(this.order);
    }
    const rows = this.order.subarray(this.pos, Math.min(this.pos + this.size, this.order.length));
    this.pos += rows.length;
    const out = new Map([[this.rel.name, selectRowsFast(this.rel, rows)]]);
    for (const [name, e] of selectEntries(entriesOf(this.rel, full), this.rel.size, rows, this.rel.name)) out.set(name, e);
    return out;
  }
}

function selectRowsFast(rel: Relation, rows: Int32Array): Relation {
  const ids = new Map<string, Int32Array>();
  const values = new Map<string, Float64Array>();
  for (const [c, a] of rel.ids) ids.set(c, Int32Array.from(rows, (t) => a[t]!));
  for (const [c, a] of rel.values) values.set(c, Float64Array.from(rows, (t) => a[t]!));
  return { ...rel, size: rows.length, ids, values };
}

export function train(compiled: Compiled, ds: Dataset, opts: TrainOptions): TrainResult {
  const started = performance.now();
  const cfg = compiled.model.train;
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
  const primary = full.get(ds.primary);
  const batcher = cfg.batch.kind === 'tuples' && primary && cfg.batch.size < primary.size ? new Batcher(primary, cfg.batch.size, new Rng(cfg.seed).fork(1)) : undefined;
  const userBatcher =
    cfg.batch.kind === 'users' && cfg.batch.size < (fullSizes.get(cfg.batch.domain) ?? 0)
      ? new UserBatcher(cfg.batch.domain, fullSizes.get(cfg.batch.domain)!, cfg.batch.size, new Rng(cfg.seed).fork(3))
      : undefined;
  const stepsPerEpoch = batcher?.batchesPerEpoch ?? userBatcher?.batchesPerEpoch ?? 1;
  const length = opts.epochs === undefined ? cfg.length : { unit: 'epochs', count: opts.epochs };
  const totalSteps = opts.steps ?? (length.unit === 'steps' ? length.count : length.count * stepsPerEpoch);
  const every = compiled.model.evaluate.every;
  const evalEvery = every ? (every.unit === 'steps' ? every.count : every.count * stepsPerEpoch) : 0;

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

  // row-sparse gradients run at the batch's touched rows (not under user batches, which slice the
  // params themselves)
  const rowGrads = new Set(opts.denseGradients || userBatcher ? [] : compiled.grads.filter((g) => g.rows).map((g) => g.param));
  const rowCapacity = new Map<string, number>();

  const log: StepLog[] = [];
  const evals: EvalResult[] = [];
  const evaluateNow = (step: number): void => {
    if (compiled.model.evaluate.metrics.length === 0) return;
    const r = evaluateModel(compiled, ds, params, opts.backend, step, step / stepsPerEpoch);
    evals.push(r);
    opts.onEval?.(r);
  };

  let diverged: TrainResult['diverged'];
  let step = 0;
  for (; step < totalSteps; step++) {
    const t0 = performance.now();
    let relations: ReadonlyMap<string, Relation> = full;
    let sizes: ReadonlyMap<string, number> = fullSizes;
    if (batcher) {
      const b = new Map(full);
      for (const [name, r] of batcher.next(full)) b.set(name, r);
      relations = b;
      sizes = sizesFor(compiled, ds, b, full);
    }
    let stepParams: ReadonlyMap<string, Float32Array> = params;
    let members: Int32Array | undefined;
    if (userBatcher) {
      const domain = userBatcher.domain;
      const n = fullSizes.get(domain)!;
      members = userBatcher.next();
      relations = restrictRelations(full, domain, members, n);
      const b = sizesFor(compiled, ds, relations, full);
      b.set(domain, members.length);
      sizes = b;
      stepParams = sliceParams(compiled, params, domain, members, n);
    }
    if (samplers.length) {
      const drawn = new Map(relations);
      drawSamples(samplers, dists, drawn, sampleRng);
      relations = drawn;
      const b = sizesFor(compiled, ds, drawn, full);
      if (members) b.set(userBatcher!.domain, members.length);
      sizes = b;
    }
    const touched = new Map<string, Int32Array>();
    /** params whose touched rows are evaluated through `P#rows`; the others' (a batch that touches
     * every row's worth of capacity) through the dense gradient, read at the touched rows */
    const atRows = new Set<string>();
    if (rowGrads.size) {
      const withRows = new Map(relations);
      const b = new Map(sizes);
      for (const g of compiled.grads) {
        if (!g.rows || !rowGrads.has(g.param)) continue;
        const domainSize = sizes.get(g.rows.domain) ?? 0;
        const rows = touchedRows(g.rows, relations, domainSize);
        const capacity = rowsCapacity(rows.length, domainSize, rowCapacity.get(g.param));
        rowCapacity.set(g.param, capacity);
        touched.set(g.param, rows);
        if (capacity >= domainSize) continue;
        atRows.add(g.param);
        const rel = rowsRelation(g.rows, rows, capacity);
        withRows.set(rel.name, rel);
        for (const s of [rel.name, batchKey(rel.name), totalKey(rel.name)]) b.set(s, rel.size);
      }
      relations = withRows;
      sizes = b;
    }
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
      const sliced = members && compiled.module.params.find((p) => p.name === g.param)?.shape[0] === userBatcher!.domain;
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
    if (evalEvery > 0 && (step + 1) % evalEvery === 0) evaluateNow(step + 1);
  }
  if (!diverged && (evalEvery === 0 || step % evalEvery !== 0)) evaluateNow(step);
  return { params, log, evals, stepsRun: step, diverged, seconds: (performance.now() - started) / 1000 };
}

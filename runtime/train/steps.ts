// steps: the data of each training step, as the trainer sees it — the primary relation's next tuple
// mini-batch (with its sparse rows' entries) or the next user batch, the samples drawn for it, and
// the touched rows of row-sparse gradients — with every space's size for that step. One sequence per
// seed (batches fork 1, samples fork 2, user batches fork 3 of the train seed). `train` steps
// through it; `step-sizes.ts` takes its first step to cost a step for `recc explain`.
import type { Compiled } from '../../compiler/compile.ts';
import { batchKey, columnKey, totalKey } from '../../compiler/ir/spaces.ts';
import type { Expr, Ix } from '../../compiler/ir/nodes.ts';
import { nodes } from '../../compiler/ir/walk.ts';
import { heapArrays, StepPool, type Arrays } from '../exec/step-pool.ts';
import type { Relation } from '../data/load.ts';
import type { Dataset } from '../data/dataset.ts';
import { Rng, type RngState } from '../data/rng.ts';
import { entriesOf, selectEntries } from '../data/sparse.ts';
import { sizesFor } from '../exec/env.ts';
import { drawSamples, type Distribution } from './samplers.ts';
import { checkBatcherState, restrictRelations, UserBatcher, type BatcherState } from './user-batch.ts';
import { rowsCapacity, rowsRelation, touchedRows } from './touched-rows.ts';
import { BatchPrefetch, MIN_TUPLES, type DistinctRequest, type Prefetched } from './batch-prefetch.ts';

/** Tuple mini-batches of one relation: a seeded permutation per epoch, cut into batches. */
export class Batcher {
  private order: Int32Array;
  private pos = 0;
  epoch = 0;
  /** the next batch gathered on a worker while a step runs (batch-prefetch.ts), when asked for */
  private readonly prefetch: BatchPrefetch | undefined;
  /** the current batch's distinct ids of the columns `prefetch` was asked for (when the worker gathered it) */
  distinct: Prefetched['distinct'] = new Map();

  /**
   * `keep`: the columns (`rel.col`) a step reads; the others are not gathered (default: all).
   * `prefetch`: gather each next batch on a worker thread, with the distinct ids of these columns.
   */
  constructor(private readonly rel: Relation, private readonly size: number, private rng: Rng, private readonly keep?: ReadonlySet<string>, prefetch?: readonly DistinctRequest[]) {
    this.order = Int32Array.from({ length: rel.size }, (_, j) => j);
    this.rng.shuffle(this.order);
    const kept = (names: Iterable<string>) => [...names].filter((c) => !keep || keep.has(columnKey(rel.name, c)));
    this.prefetch = prefetch ? new BatchPrefetch(rel, { ids: kept(rel.ids.keys()), values: kept(rel.values.keys()) }, size, prefetch) : undefined;
  }

  /** Batches the prefetching worker gathered and jobs taken back from it (undefined: no prefetching). */
  get prefetched(): BatchPrefetch['counts'] | undefined {
    return this.prefetch?.counts;
  }

  /** Stops the prefetching worker, if any. */
  close(): void {
    this.prefetch?.close();
  }
  get batchesPerEpoch(): number {
    return Math.max(1, Math.ceil(this.rel.size / this.size));
  }
  state(): BatcherState {
    return { order: Int32Array.from(this.order), pos: this.pos, epoch: this.epoch, rng: this.rng.state() };
  }
  restore(st: BatcherState): void {
    checkBatcherState(st, this.order.length);
    this.prefetch?.cancel();
    this.order = Int32Array.from(st.order);
    this.pos = st.pos;
    this.epoch = st.epoch;
    this.rng = Rng.fromState(st.rng);
  }
  /** The next batch of the relation, and (from `full`) the batch's sparse entries (`R~x`, rows renumbered 0..B−1). */
  next(full: ReadonlyMap<string, Relation> = new Map(), pool: Arrays = heapArrays): Map<string, Relation> {
    if (this.pos >= this.order.length) {
      this.pos = 0;
      this.epoch++;
      this.rng.shuffle(this.order);
    }
    const rows = this.order.subarray(this.pos, Math.min(this.pos + this.size, this.order.length));
    const got = this.prefetch?.take(this.epoch, this.pos, rows.length, pool);
    this.pos += rows.length;
    this.distinct = got?.distinct ?? new Map();
    const out = new Map([[this.rel.name, got?.relation ?? selectRowsFast(this.rel, rows, this.keep, pool)]]);
    // the next batch of this epoch, gathered while this one trains (the next epoch's waits for its shuffle)
    if (this.pos < this.order.length) this.prefetch?.post(this.epoch, this.pos, this.order.subarray(this.pos, Math.min(this.pos + this.size, this.order.length)));
    for (const [name, e] of selectEntries(entriesOf(this.rel, full), this.rel.size, rows, this.rel.name)) out.set(name, e);
    return out;
  }
}

/**
 * The batch's tuples of each column (of those in `keep`, when given): plain gather loops
 * (`TypedArray.from(rows, fn)` calls fn per element, ~10× slower). Laying the columns out in the
 * epoch's order once per epoch (each batch then a contiguous slice) was tried and reverted: it does
 * the same random reads, only all at the epoch's first step (~100 ms at ML-1M), and moves the cost
 * out of the steps a per-step median measures rather than removing it.
 */
function selectRowsFast(rel: Relation, rows: Int32Array, keep: ReadonlySet<string> | undefined, pool: Arrays): Relation {
  const ids = new Map<string, Int32Array>();
  const values = new Map<string, Float64Array>();
  const n = rows.length;
  const idCols = [...rel.ids].filter(([c]) => !keep || keep.has(columnKey(rel.name, c)));
  // id columns two at a time: one pass over `rows` with two independent random reads per tuple
  // (a user and an item column) was ~1.5× faster than a pass per column
  for (let q = 0; q < idCols.length; q += 2) {
    const [c, a] = idCols[q]!;
    const out = pool.int32(n);
    ids.set(c, out);
    const second = idCols[q + 1];
    if (!second) {
      for (let k = 0; k < n; k++) out[k] = a[rows[k]!]!;
      continue;
    }
    const [c2, a2] = second;
    const out2 = pool.int32(n);
    ids.set(c2, out2);
    for (let k = 0; k < n; k++) {
      const r = rows[k]!;
      out[k] = a[r]!;
      out2[k] = a2[r]!;
    }
  }
  for (const [c, a] of rel.values) {
    if (keep && !keep.has(columnKey(rel.name, c))) continue;
    const out = pool.float64(n);
    for (let k = 0; k < n; k++) out[k] = a[rows[k]!]!;
    values.set(c, out);
  }
  return { ...rel, size: n, ids, values };
}

/**
 * The relation columns (`rel.col`) a training step reads: data tensors and id gathers of the terms
 * and gradients (dense and touched-rows forms), the touched rows' sources, and the samplers' own
 * reads (an exclusion's owner column, an in-batch set's source column). A batch gathers only these:
 * the others (a `time` column that only split the data) would cost a random gather each step.
 */
export function readColumns(compiled: Compiled): Set<string> {
  const out = new Set<string>();
  const ix = (x: Ix): void => {
    if (x.kind === 'gather') out.add(columnKey(x.rel, x.col));
  };
  const exprs: Expr[] = [...compiled.terms.map((t) => t.expr), ...compiled.grads.flatMap((g) => (g.rows ? [g.expr, g.rows.expr] : [g.expr]))];
  const seen = new Set<number>();
  for (const e of exprs) {
    for (const x of nodes(e)) {
      if (seen.has(x.id)) continue;
      seen.add(x.id);
      if (x.op === 'tensor') {
        if (x.kind === 'data') out.add(x.name);
        x.ix.forEach(ix);
      } else if (x.op === 'eq') {
        ix(x.a);
        ix(x.b);
      } else if (x.op === 'ord') ix(x.ix);
    }
  }
  for (const g of compiled.grads) for (const s of g.rows?.sources ?? []) out.add(columnKey(s.rel, s.col));
  for (const s of compiled.module.samplers) {
    if (s.kind === 'per-tuple' && s.exclude) out.add(columnKey(s.rel, s.exclude.tupleCol));
    if (s.kind === 'set' && s.source && s.sourceCol) out.add(columnKey(s.source, s.sourceCol));
  }
  return out;
}

/** One step's data. */
export interface StepData {
  /** the relations the step reads: batches, drawn samples and touched-rows relations over the full ones */
  readonly relations: ReadonlyMap<string, Relation>;
  readonly sizes: ReadonlyMap<string, number>;
  /** under `batch N users`: the users of this step (sorted ids of `Steps.userDomain`) */
  readonly members: Int32Array | undefined;
  /** each row-sparse gradient's touched rows */
  readonly touched: ReadonlyMap<string, Int32Array>;
  /** params whose touched rows are evaluated through their touched-rows space; the others (a batch
   * that touches every row's worth of capacity) through the dense gradient, read at the touched rows */
  readonly atRows: ReadonlySet<string>;
}

export interface StepsOptions {
  /** every gradient dense (comparisons), even where the compiler found a touched-rows form */
  readonly denseGradients?: boolean;
  /** draw the model's samplers each step from these distributions (one per sampler) and stream */
  readonly samples?: { readonly dists: readonly Distribution[]; readonly rng: Rng };
  /** gather each next tuple batch on a worker thread while a step runs, for a relation of at least
   * `minTuples` (default batch-prefetch.ts's MIN_TUPLES); absent: on this thread */
  readonly prefetch?: { readonly minTuples?: number };
}

/** Where a `Steps` is in its sequence: everything `next()` reads besides the data (checkpoints). */
export interface StepsState {
  readonly batcher: BatcherState | null;
  readonly userBatcher: BatcherState | null;
  readonly samples: RngState | null;
  /** each row-sparse gradient's touched-rows capacity so far (it only grows, and picks the kernels) */
  readonly rowCapacity: Readonly<Record<string, number>>;
}

export class Steps {
  private readonly full: ReadonlyMap<string, Relation>;
  private readonly batcher: Batcher | undefined;
  private readonly userBatcher: UserBatcher | undefined;
  /** row-sparse gradients run at the batch's touched rows (not under user batches, which slice the params themselves) */
  private readonly rowGrads: ReadonlySet<string>;
  private readonly rowCapacity = new Map<string, number>();
  /** what a step derives from its batch lives until the next step (step-pool.ts) */
  private readonly pool = new StepPool();
  /** the stream samples are drawn from (`opts.samples.rng`, until a restore replaces it) */
  private samples: Rng | undefined;

  constructor(private readonly compiled: Compiled, private readonly ds: Dataset, private readonly fullSizes: ReadonlyMap<string, number>, private readonly opts: StepsOptions = {}) {
    const cfg = compiled.model.train;
    this.full = ds.train;
    const primary = this.full.get(ds.primary);
    const tuples = cfg.batch.kind === 'tuples' && primary && cfg.batch.size < primary.size;
    this.userBatcher =
      cfg.batch.kind === 'users' && cfg.batch.size < (fullSizes.get(cfg.batch.domain) ?? 0)
        ? new UserBatcher(cfg.batch.domain, fullSizes.get(cfg.batch.domain)!, cfg.batch.size, new Rng(cfg.seed).fork(3))
        : undefined;
    this.rowGrads = new Set(opts.denseGradients || this.userBatcher ? [] : compiled.grads.filter((g) => g.rows).map((g) => g.param));
    // prefetched batches come with the distinct ids of each batch column that alone gives a gradient's touched rows
    const distinct = (): DistinctRequest[] => {
      const byColumn = new Map<string, DistinctRequest>();
      for (const g of compiled.grads) {
        const only = g.rows && this.rowGrads.has(g.param) && g.rows.sources.length === 1 ? g.rows.sources[0]! : undefined;
        if (only?.rel === ds.primary) byColumn.set(only.col, { column: only.col, size: fullSizes.get(g.rows!.domain) ?? 0 });
      }
      return [...byColumn.values()];
    };
    this.batcher = tuples
      ? new Batcher(primary, cfg.batch.size, new Rng(cfg.seed).fork(1), readColumns(compiled), opts.prefetch && primary.size >= (opts.prefetch.minTuples ?? MIN_TUPLES) ? distinct() : undefined)
      : undefined;
    this.samples = opts.samples?.rng;
  }

  /** Batches the prefetching worker gathered and jobs taken back from it (undefined: no prefetching). */
  get prefetched(): BatchPrefetch['counts'] | undefined {
    return this.batcher?.prefetched;
  }

  /** Stops what runs beside the steps (the batch prefetching worker); `next` still works, on this thread. */
  close(): void {
    this.batcher?.close();
  }

  get stepsPerEpoch(): number {
    return this.batcher?.batchesPerEpoch ?? this.userBatcher?.batchesPerEpoch ?? 1;
  }

  /** The state to resume from: `restore(state())` on a fresh `Steps` of the same run continues this one. */
  state(): StepsState {
    return {
      batcher: this.batcher?.state() ?? null,
      userBatcher: this.userBatcher?.state() ?? null,
      samples: this.samples?.state() ?? null,
      rowCapacity: Object.fromEntries(this.rowCapacity),
    };
  }

  /** Continues from a saved state; throws RangeError when it is not one of this run's. */
  restore(st: StepsState): void {
    if (!st || (st.batcher === null) !== (this.batcher === undefined) || (st.userBatcher === null) !== (this.userBatcher === undefined) || (st.samples === null) !== (this.opts.samples === undefined))
      throw new RangeError('the saved data order does not fit this model\'s batches and samplers');
    if (st.batcher) this.batcher!.restore(st.batcher);
    if (st.userBatcher) this.userBatcher!.restore(st.userBatcher);
    if (st.samples) this.samples = Rng.fromState(st.samples);
    this.rowCapacity.clear();
    for (const [name, c] of Object.entries(st.rowCapacity ?? {})) {
      if (!this.rowGrads.has(name) || !Number.isInteger(c) || c < 0) throw new RangeError(`the saved touched-rows capacity of ${name} does not fit this model`);
      this.rowCapacity.set(name, c);
    }
  }

  /** The domain batched by `batch N users`, when the model has a user batch smaller than the domain. */
  get userDomain(): string | undefined {
    return this.userBatcher?.domain;
  }

  /** The next step's data; the arrays of the previous one are dead from here on (they are reused). */
  next(): StepData {
    const { compiled, ds, full, fullSizes } = this;
    this.pool.reset();
    let relations: ReadonlyMap<string, Relation> = full;
    let sizes: ReadonlyMap<string, number> = fullSizes;
    if (this.batcher) {
      const b = new Map(full);
      for (const [name, r] of this.batcher.next(full, this.pool)) b.set(name, r);
      relations = b;
      sizes = sizesFor(compiled, ds, b, full);
    }
    let members: Int32Array | undefined;
    if (this.userBatcher) {
      const domain = this.userBatcher.domain;
      const n = fullSizes.get(domain)!;
      members = this.userBatcher.next();
      relations = restrictRelations(full, domain, members, n);
      const b = sizesFor(compiled, ds, relations, full);
      b.set(domain, members.length);
      sizes = b;
    }
    const samplers = compiled.module.samplers;
    if (this.opts.samples && samplers.length) {
      const drawn = new Map(relations);
      drawSamples(samplers, this.opts.samples.dists, drawn, this.samples!, this.pool);
      relations = drawn;
      const b = sizesFor(compiled, ds, drawn, full);
      if (members) b.set(this.userBatcher!.domain, members.length);
      sizes = b;
    }
    const touched = new Map<string, Int32Array>();
    const atRows = new Set<string>();
    if (this.rowGrads.size) {
      const withRows = new Map(relations);
      const b = new Map(sizes);
      // params reached through the same columns (U and bu through the batch's users) share their rows
      const bySources = new Map<string, Int32Array>();
      for (const g of compiled.grads) {
        if (!g.rows || !this.rowGrads.has(g.param)) continue;
        const domainSize = sizes.get(g.rows.domain) ?? 0;
        const key = `${domainSize}|${g.rows.sources.map((s) => columnKey(s.rel, s.col)).join(',')}`;
        let rows = bySources.get(key);
        const gathered = g.rows.sources.length === 1 && g.rows.sources[0]!.rel === ds.primary ? this.batcher?.distinct.get(g.rows.sources[0]!.col) : undefined;
        if (!rows) bySources.set(key, (rows = gathered?.size === domainSize ? gathered.ids : touchedRows(g.rows, relations, domainSize, this.pool)));
        const capacity = rowsCapacity(rows.length, domainSize, this.rowCapacity.get(g.param));
        this.rowCapacity.set(g.param, capacity);
        touched.set(g.param, rows);
        if (capacity >= domainSize) continue;
        atRows.add(g.param);
        const rel = rowsRelation(g.rows, rows, capacity, this.pool);
        withRows.set(rel.name, rel);
        for (const s of [rel.name, batchKey(rel.name), totalKey(rel.name)]) b.set(s, rel.size);
      }
      relations = withRows;
      sizes = b;
    }
    return { relations, sizes, members, touched, atRows };
  }
}

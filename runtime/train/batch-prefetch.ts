// batch-prefetch: the next tuple mini-batch gathered on a worker thread while the current step runs.
// A batch's columns are random reads of the relation through the epoch's permutation; past the
// caches (ML-1M: 1M tuples, 16 MB of columns) they are ~0.25 ms of a 2 ms mf-biased step, and the
// distinct ids of a column that alone decides a gradient's touched rows ~0.1 ms more — all of it on
// the thread that then runs the kernels. Here the Batcher posts the next batch's rows as soon as it
// has taken the current one (within an epoch: the next epoch's order needs its shuffle first), a
// worker gathers them into shared buffers during the step's kernels, and the next step copies them
// out into its pool. The same numbers either way: a gather copies, and a column's distinct ids in
// ascending order are one array whoever computes them (touched-rows.ts computes the same).
// The calling thread never waits on a worker that has not started: a job is posted as claim = seq;
// the worker takes it with compareExchange(seq → −seq) before it reads the job, and a caller that
// finds it still untaken revokes it (seq → 0) and gathers itself. A taken job that is not done within
// STALL_MS (the worker died) ends prefetching for the run; the caller gathers itself from then on.
// Costs: the relation's read columns copied once into the worker unless they are shared memory
// already (a split's or a filter's relation: data/load.ts selectRows), a worker (~10 MB) that polls for
// its jobs while the run trains (POLL_MS, at nice 19), so it runs only on 2+ threads and for relations past the
// caches (MIN_TUPLES).
// The worker's code is the string below (plain JavaScript, no imports of ours).
import { Worker } from 'node:worker_threads';
import type { Relation } from '../data/load.ts';
import type { Arrays } from '../exec/step-pool.ts';
import { controlBlock } from '../exec/wasm/control-block.ts';

/**
 * Tuples below which the calling thread gathers: a 4096-tuple batch of two id columns and a float64
 * one took 0.04 ms at 100k tuples (in the caches), 0.14 ms at 262k and 0.24 ms at 1M (this VM,
 * 2026-12-03), while posting a job and taking it back costs the calling thread ~0.06 ms (a wake-up
 * of the worker, ~0.04 ms here, and the copy out) and the worker ~10 MB.
 */
export const MIN_TUPLES = 1 << 18;
/** ms a taken job may run before its worker counts as gone */
const STALL_MS = 5000;
/** ms a wait sleeps before it looks again (a lost notify costs this much, not the run) */
const WAKE_MS = 20;

/**
 * ms the worker polls for its next job before it sleeps. A step posts one job every 1–3 ms; a
 * sleeping worker costs the poster a wake-up (~0.04 ms, a system call) and may wake late — on this
 * VM, in some runs, mostly after the step had taken its job back and gathered it itself (the run's
 * CPU time no more than its wall time), and two threads were then slower than one. Polling through
 * a run's steps and sleeping in its pauses (evaluations) is what OpenMP runtimes do by default; it
 * costs the second core while a run trains, at the lowest priority (the worker sets its own thread's
 * nice to 19), so any other runnable thread of the process comes first.
 */
const POLL_MS = 5;

// control slots: 0 seq (main → worker), 1 done (worker → main), 2 claim (seq posted, −seq taken,
// 0 revoked), 3 tuples in the job, 4 exit, 5 asleep (the worker is in, or going into, Atomics.wait),
// 8… each distinct column's count
const [SEQ, DONE, CLAIM, COUNT, EXIT, ASLEEP, DISTINCT] = [0, 1, 2, 3, 4, 5, 8];

const WORKER = `
const { workerData } = require('node:worker_threads');
// the lowest priority for this thread alone (Linux: a thread's nice value is its own): its polling
// then takes only a core that nothing else wants, never time from the thread that trains
try { require('node:os').setPriority(19); } catch {}
const ctl = workerData.control;
const rows = new Int32Array(workerData.rows);
const ids = workerData.ids.map((c) => ({ src: c.src, out: new Int32Array(c.out) }));
const values = workerData.values.map((c) => ({ src: c.src, out: new Float64Array(c.out) }));
const distinct = workerData.distinct.map((d) => ({ column: d.column, size: d.size, seen: new Uint8Array(d.size), out: new Int32Array(d.out) }));
let seen = 0;
for (;;) {
  // poll a while, then sleep: asleep is set before seq is looked at again, so a poster that stored
  // its seq and then saw asleep clear knows this thread will see the seq without a notify
  for (const until = performance.now() + ${POLL_MS}; Atomics.load(ctl, ${SEQ}) === seen && performance.now() < until; );
  while (Atomics.load(ctl, ${SEQ}) === seen) {
    Atomics.store(ctl, ${ASLEEP}, 1);
    if (Atomics.load(ctl, ${SEQ}) === seen) Atomics.wait(ctl, ${SEQ}, seen, ${WAKE_MS});
    Atomics.store(ctl, ${ASLEEP}, 0);
  }
  const seq = Atomics.load(ctl, ${SEQ});
  seen = seq;
  if (Atomics.load(ctl, ${EXIT})) break;
  if (Atomics.compareExchange(ctl, ${CLAIM}, seq, -seq) !== seq) continue;
  const n = ctl[${COUNT}];
  // id columns two at a time: two independent random reads per tuple
  for (let q = 0; q < ids.length; q += 2) {
    const a = ids[q], b = ids[q + 1];
    if (!b) { for (let k = 0; k < n; k++) a.out[k] = a.src[rows[k]]; continue; }
    for (let k = 0; k < n; k++) { const r = rows[k]; a.out[k] = a.src[r]; b.out[k] = b.src[r]; }
  }
  for (const v of values) for (let k = 0; k < n; k++) v.out[k] = v.src[rows[k]];
  distinct.forEach((d, j) => {
    const col = ids[d.column].out;
    let m = 0;
    for (let k = 0; k < n; k++) {
      const id = col[k];
      if (id < 0 || id >= d.size || d.seen[id]) continue;
      d.seen[id] = 1;
      d.out[m++] = id;
    }
    for (let k = 0; k < m; k++) d.seen[d.out[k]] = 0;
    d.out.subarray(0, m).sort();
    ctl[${DISTINCT} + j] = m;
  });
  Atomics.store(ctl, ${DONE}, seq);
  Atomics.notify(ctl, ${DONE});
}
`;

/** A column whose distinct ids (ascending, those in [0, size)) come with each batch. */
export interface DistinctRequest {
  readonly column: string;
  readonly size: number;
}

/** A gathered batch: the relation of its tuples, and the distinct ids asked for, by column. */
export interface Prefetched {
  readonly relation: Relation;
  readonly distinct: ReadonlyMap<string, { readonly size: number; readonly ids: Int32Array }>;
}

export class BatchPrefetch {
  private readonly ctl = controlBlock(64);
  private readonly rows: Int32Array;
  private readonly idCols: { readonly name: string; readonly out: Int32Array }[];
  private readonly valueCols: { readonly name: string; readonly out: Float64Array }[];
  private readonly distinct: { readonly column: string; readonly size: number; readonly out: Int32Array }[];
  private readonly worker: Worker;
  private seq = 0;
  /** the job posted and not yet taken back: which batch (epoch, position) it gathers */
  private pending: { readonly seq: number; readonly epoch: number; readonly pos: number; readonly n: number } | undefined;
  private gone = false;
  /** batches the worker gathered, and jobs the calling thread took back because the worker had not started them */
  readonly counts = { gathered: 0, revoked: 0 };

  /** `columns`: the id and value columns a batch gathers; `batch`: the most tuples a batch has. */
  constructor(
    private readonly rel: Relation,
    columns: { readonly ids: readonly string[]; readonly values: readonly string[] },
    batch: number,
    distinct: readonly DistinctRequest[],
  ) {
    const shared = <T extends Int32Array | Float64Array>(make: (b: SharedArrayBuffer) => T, bytes: number): T => make(new SharedArrayBuffer(Math.max(8, bytes)));
    this.rows = shared((b) => new Int32Array(b), 4 * batch);
    // the relation's columns go to the worker as they are: shared memory (selectRows makes the
    // training relations' columns so) is shared, other arrays are copied into the worker once
    const ids = columns.ids.map((name) => ({ name, src: rel.ids.get(name)!, out: shared((b) => new Int32Array(b), 4 * batch) }));
    const values = columns.values.map((name) => ({ name, src: rel.values.get(name)!, out: shared((b) => new Float64Array(b), 8 * batch) }));
    this.idCols = ids.map(({ name, out }) => ({ name, out }));
    this.valueCols = values.map(({ name, out }) => ({ name, out }));
    this.distinct = distinct
      .filter((d) => columns.ids.includes(d.column))
      .map((d) => ({ column: d.column, size: d.size, out: shared((b) => new Int32Array(b), 4 * Math.min(batch, d.size)) }));
    this.worker = new Worker(WORKER, {
      eval: true,
      workerData: {
        control: this.ctl,
        rows: this.rows.buffer,
        ids: ids.map((c) => ({ src: c.src, out: c.out.buffer })),
        values: values.map((c) => ({ src: c.src, out: c.out.buffer })),
        distinct: this.distinct.map((d) => ({ column: columns.ids.indexOf(d.column), size: d.size, out: d.out.buffer })),
      },
    });
    this.worker.unref();
    // an error event would otherwise be an uncaught exception; the caller gathers without the worker
    this.worker.on('error', () => (this.gone = true));
    this.worker.on('exit', () => (this.gone = true));
  }

  /** The worker thread (for tests). */
  get thread(): Worker {
    return this.worker;
  }

  /** Whether the worker has taken the job posted last (it is gathering or has gathered it). */
  get started(): boolean {
    return Atomics.load(this.ctl, CLAIM) < 0;
  }

  /** Starts gathering `rows`, the batch at (`epoch`, `pos`); a job still pending is dropped first. */
  post(epoch: number, pos: number, rows: Int32Array): void {
    this.cancel();
    if (this.gone || rows.length > this.rows.length) return;
    this.rows.set(rows);
    this.ctl[COUNT] = rows.length;
    const seq = ++this.seq;
    Atomics.store(this.ctl, CLAIM, seq);
    Atomics.store(this.ctl, SEQ, seq);
    // a polling worker sees the seq by itself; only a sleeping one needs the (costly) notify
    if (Atomics.load(this.ctl, ASLEEP)) Atomics.notify(this.ctl, SEQ);
    this.pending = { seq, epoch, pos, n: rows.length };
  }

  /**
   * The batch at (`epoch`, `pos`) of `n` tuples, in arrays from `pool`, when the worker has gathered
   * or is gathering it; undefined when no such job was posted or the worker had not started it (the
   * caller then gathers it itself).
   */
  take(epoch: number, pos: number, n: number, pool: Arrays): Prefetched | undefined {
    const p = this.pending;
    if (!p || p.epoch !== epoch || p.pos !== pos || p.n !== n) return undefined;
    if (!this.finish()) return undefined;
    const ids = new Map<string, Int32Array>();
    for (const c of this.idCols) {
      const a = pool.int32(n);
      a.set(c.out.subarray(0, n));
      ids.set(c.name, a);
    }
    const values = new Map<string, Float64Array>();
    for (const c of this.valueCols) {
      const a = pool.float64(n);
      a.set(c.out.subarray(0, n));
      values.set(c.name, a);
    }
    const distinct = new Map<string, { size: number; ids: Int32Array }>();
    this.distinct.forEach((d, j) => {
      const m = this.ctl[DISTINCT + j]!;
      const a = pool.int32(m);
      a.set(d.out.subarray(0, m));
      distinct.set(d.column, { size: d.size, ids: a });
    });
    return { relation: { ...this.rel, size: n, ids, values }, distinct };
  }

  /** Drops the pending job (a restored data order): revoked, or waited for when the worker took it. */
  cancel(): void {
    if (this.pending) this.finish();
  }

  /** Ends the pending job: true when the worker gathered it, false when it was revoked or the worker is gone. */
  private finish(): boolean {
    const seq = this.pending!.seq;
    this.pending = undefined;
    if (Atomics.compareExchange(this.ctl, CLAIM, seq, 0) === seq) {
      this.counts.revoked++;
      return false;
    }
    const start = performance.now();
    for (;;) {
      const done = Atomics.load(this.ctl, DONE);
      if (done === seq) {
        this.counts.gathered++;
        return true;
      }
      if (performance.now() - start > STALL_MS) {
        this.close();
        return false;
      }
      Atomics.wait(this.ctl, DONE, done, WAKE_MS);
    }
  }

  close(): void {
    if (this.gone) return;
    this.gone = true;
    this.pending = undefined;
    Atomics.store(this.ctl, EXIT, 1);
    Atomics.store(this.ctl, SEQ, ++this.seq);
    Atomics.notify(this.ctl, SEQ);
    void this.worker.terminate();
  }
}

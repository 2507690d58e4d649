// Threads of the wasm mode: worker_threads over the arena's shared memory. A kernel that can split
// its output rows (codegen/wasm/gen.ts: one top-level row loop, each row computed whole by one
// thread) runs rows [0, n) as T contiguous ranges, the main thread taking the first; every output
// cell is computed by exactly one thread with the same operations in the same order, so the bytes
// do not depend on T — nor on which thread computes a range. Dispatch is synchronous: a control
// block of int32s in a SharedArrayBuffer, Atomics.wait/notify; a new kernel's compiled module
// reaches each worker on a MessagePort that the worker reads synchronously (receiveMessageOnPort)
// when a job names a kernel it does not have.
// It cannot hang: the main thread never waits without a timeout. A job is posted as `claim = seq`;
// the worker takes it with compareExchange(claim, seq → −seq) before reading it, and a main thread
// that sees it still untaken after `claimMs` revokes it the same way (seq → 0) and computes that
// range itself — exactly one of the two runs it. So a worker that never started, died, or whose
// error event cannot be delivered while the main thread waits (events need the event loop the
// wait blocks) costs one timeout, not a hang; it gets no more jobs until it shows it is alive (its
// `seen` slot reaches the revoked job). A taken job that does not finish within `runMs` (its worker
// died inside a kernel) is an InternalError naming the thread, and the pool closes.
// Every wait has a timeout and re-checks its condition: a clean-clone CI run and a `recc run --mode
// wasm` once hung with the worker asleep on a job counter that had already moved on (gdb: both
// threads in Atomics.wait, worker expecting seq 838, main waiting for 839's done) — a notify lost
// inside V8 (Node 20). With a timeout such a wake-up costs WAKE_MS instead of the run; each one is
// counted (slot 9 per worker, `lostWakeups`).
// The worker's code is the string below (plain JavaScript, no imports of ours: it runs as is from
// source or from a package).
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { InternalError } from '../../../compiler/diagnostics/diagnostics.ts';
import { controlBlock } from './control-block.ts';

/** int32 slots per worker in the control block */
const SLOT = 72;
/** first argument slot */
const ARGS = 16;
/** arguments a job can carry (out, p0…, scratch) */
const MAX_ARGS = SLOT - ARGS;
/** longest a thread sleeps before it looks at its condition again (a lost notify costs this much) */
const WAKE_MS = 20;

// slot layout: 0 seq (job counter, main → worker), 1 done (last job finished, worker → main),
// 2 kernel id (-1: exit), 3 lo, 4 hi, 5 error flag, 6 argument count, 7 claim (seq: posted, −seq:
// taken by the worker, 0: revoked by the main thread), 8 seen (last seq the worker woke up to),
// 9 wake-ups the worker found lost, 16… arguments
const WORKER = `
const { workerData, receiveMessageOnPort } = require('node:worker_threads');
const { memory, control, slot, port } = workerData;
const ctl = control;
const base = slot * ${SLOT};
const env = { mem: memory, exp: Math.exp, log: Math.log, log1p: Math.log1p, tanh: Math.tanh, pow: Math.pow };
const kernels = [];
let seen = 0;
for (;;) {
  while (Atomics.load(ctl, base) === seen) {
    if (Atomics.wait(ctl, base, seen, ${WAKE_MS}) === 'timed-out' && Atomics.load(ctl, base) !== seen) Atomics.add(ctl, base + 9, 1);
  }
  const seq = Atomics.load(ctl, base);
  seen = seq;
  Atomics.store(ctl, base + 8, seq);
  if (ctl[base + 2] < 0) break;
  // a job the main thread revoked (it ran the range itself) or one already replaced: not ours
  if (Atomics.compareExchange(ctl, base + 7, seq, -seq) !== seq) continue;
  const id = ctl[base + 2];
  try {
    while (!kernels[id]) {
      const m = receiveMessageOnPort(port);
      if (!m) throw new Error('kernel ' + id + ' was never sent');
      kernels[m.message.id] = new WebAssembly.Instance(m.message.module, { env }).exports.kernel;
    }
    const n = ctl[base + 6];
    const args = [];
    for (let j = 0; j < n; j++) args.push(ctl[base + ${ARGS} + j]);
    kernels[id](...args, ctl[base + 3], ctl[base + 4]);
    ctl[base + 5] = 0;
  } catch (e) {
    ctl[base + 5] = 1;
  }
  Atomics.store(ctl, base + 1, seq);
  Atomics.notify(ctl, base + 1);
}
`;

interface Peer {
  readonly worker: Worker;
  readonly port: MessagePort;
  /** kernel ids this worker has been sent */
  readonly sent: Set<number>;
  /** the worker emitted 'error' or 'exit' (seen only when the event loop ran) */
  gone: boolean;
  /** the job it last failed to take; it gets no job until its `seen` slot reaches this */
  lagging: number;
}

export interface ThreadPoolOptions {
  /** ms the main thread waits for a worker to take its job before running the range itself (default 2000) */
  readonly claimMs?: number;
  /** ms a taken job may run beyond the main thread's own range before the worker counts as dead (default 300,000) */
  readonly runMs?: number;
}


export class ThreadPool {
  private readonly ctl: Int32Array;
  private readonly peers: Peer[] = [];
  private seq = 0;
  private closed = false;
  private readonly claimMs: number;
  private readonly runMs: number;
  /** jobs the main thread took back from a worker that had not taken them in time */
  revoked = 0;
  /** ranges the calling thread ran for a worker that was not there (revoked, or known gone) */
  takenOver = 0;
  private lostOnMain = 0;

  /** `threads` in all, the calling thread included (threads − 1 workers). */
  constructor(
    readonly threads: number,
    memory: WebAssembly.Memory,
    opts: ThreadPoolOptions = {},
  ) {
    if (!Number.isInteger(threads) || threads < 1) throw new InternalError(`threads = ${threads}`);
    this.claimMs = opts.claimMs ?? 2000;
    this.runMs = opts.runMs ?? 300_000;
    this.ctl = controlBlock(threads * SLOT);
    for (let s = 1; s < threads; s++) {
      const { port1, port2 } = new MessageChannel();
      const worker = new Worker(WORKER, { eval: true, workerData: { memory, control: this.ctl, slot: s, port: port2 }, transferList: [port2] });
      worker.unref();
      port1.unref();
      const peer: Peer = { worker, port: port1, sent: new Set(), gone: false, lagging: 0 };
      // an error event would otherwise be an uncaught exception; the dispatch copes without the worker
      worker.on('error', () => (peer.gone = true));
      worker.on('exit', () => (peer.gone = true));
      this.peers.push(peer);
    }
  }

  /** The worker threads (for diagnostics and tests). */
  get workers(): readonly Worker[] {
    return this.peers.map((p) => p.worker);
  }

  /**
   * Runs `kernel(...args, lo, hi)` over rows [0, rows) split into `threads` ranges; the calling
   * thread runs the first with `main`, worker j its own with the module `id` (`args` end with the
   * scratch address of thread 0; thread j's is that plus j × scratchBytes) — or the calling thread
   * runs it too, with its own scratch, when worker j is not there to take it.
   */
  run(id: number, module: WebAssembly.Module, main: (...a: number[]) => void, args: readonly number[], scratchBytes: number, rows: number): void {
    if (this.closed) throw new InternalError('the thread pool is closed');
    if (args.length > MAX_ARGS) throw new InternalError(`a kernel with ${args.length} arguments`);
    const t = this.threads;
    const bound = (j: number): number => Math.floor((rows * j) / t);
    const seq = ++this.seq;
    const posted: boolean[] = this.peers.map((p, k) => {
      const b = (k + 1) * SLOT;
      if (p.gone || (p.lagging && Atomics.load(this.ctl, b + 8) < p.lagging)) return false;
      p.lagging = 0;
      const s = k + 1;
      if (!p.sent.has(id)) {
        p.port.postMessage({ id, module });
        p.sent.add(id);
      }
      this.ctl[b + 2] = id;
      this.ctl[b + 3] = bound(s);
      this.ctl[b + 4] = bound(s + 1);
      this.ctl[b + 6] = args.length;
      args.forEach((a, j) => (this.ctl[b + ARGS + j] = j === args.length - 1 ? a + s * scratchBytes : a));
      Atomics.store(this.ctl, b + 7, seq);
      Atomics.store(this.ctl, b, seq);
      Atomics.notify(this.ctl, b);
      return true;
    });
    let failed = false;
    const missing: number[] = [];
    const t0 = performance.now();
    try {
      main(...args, 0, bound(1));
    } finally {
      // every worker's job finished or revoked before anything else runs (none still writes)
      const ownMs = performance.now() - t0;
      for (let k = 0; k < this.peers.length; k++) {
        if (!posted[k] || !this.collect(k, seq, ownMs)) missing.push(k + 1);
        else if (this.ctl[(k + 1) * SLOT + 5] !== 0) failed = true;
      }
    }
    // a worker that was not there: the calling thread computes its range, with its own scratch
    for (const s of missing) {
      this.takenOver++;
      main(...args, bound(s), bound(s + 1));
    }
    if (failed) throw new InternalError(`a wasm kernel failed on a worker thread`);
  }

  /**
   * Waits for worker k's job `seq`: true once it is done; false when the worker did not take it
   * within claimMs and the job was revoked (the caller then runs the range).
   */
  private collect(k: number, seq: number, ownMs: number): boolean {
    const b = (k + 1) * SLOT;
    const p = this.peers[k]!;
    const start = performance.now();
    let takenAt: number | undefined;
    for (;;) {
      const done = Atomics.load(this.ctl, b + 1);
      if (done === seq) return true;
      const now = performance.now();
      const claim = Atomics.load(this.ctl, b + 7);
      if (claim === seq && now - start >= this.claimMs && Atomics.compareExchange(this.ctl, b + 7, seq, 0) === seq) {
        this.revoked++;
        p.lagging = seq;
        return false;
      }
      if (claim === -seq) {
        takenAt ??= now;
        if (now - takenAt > this.runMs + 100 * ownMs) {
          this.close();
          throw new InternalError(`wasm worker thread ${k + 1} took its part of a kernel ${((now - takenAt) / 1000).toFixed(0)} s ago and has not finished (the thread died?); the thread pool is closed`);
        }
      }
      if (Atomics.wait(this.ctl, b + 1, done, WAKE_MS) === 'timed-out' && Atomics.load(this.ctl, b + 1) === seq) this.lostOnMain++;
    }
  }

  /** notifies that never arrived, caught by a wait's timeout (workers' and the calling thread's) */
  get lostWakeups(): number {
    let n = this.lostOnMain;
    for (let s = 1; s < this.threads; s++) n += Atomics.load(this.ctl, s * SLOT + 9);
    return n;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.seq++;
    this.peers.forEach((p, k) => {
      const b = (k + 1) * SLOT;
      this.ctl[b + 2] = -1;
      Atomics.store(this.ctl, b + 7, 0);
      Atomics.store(this.ctl, b, this.seq);
      Atomics.notify(this.ctl, b);
      p.port.close();
      void p.worker.terminate();
    });
  }
}

// Threads of the wasm mode: worker_threads over the arena's shared memory. A kernel that can split
// its output rows (codegen/wasm/gen.ts: one top-level row loop, each row computed whole by one
// thread) runs rows [0, n) as T contiguous ranges, the main thread taking the first; every output
// cell is computed by exactly one thread with the same operations in the same order, so the bytes
// do not depend on T. Dispatch is synchronous: a control block of int32s in a SharedArrayBuffer,
// Atomics.wait/notify; a new kernel's compiled module reaches each worker on a MessagePort that the
// worker reads synchronously (receiveMessageOnPort) when a job names a kernel it does not have.
// The worker's code is the string below (plain JavaScript, no imports of ours: it runs as is from
// source or from a package).
// Every wait has a timeout and re-checks its condition: a clean-clone CI run and a `recc run --mode
// wasm` once hung with the worker asleep on a job counter that had already moved on (gdb: both
// threads in Atomics.wait, worker expecting seq 838, main waiting for 839's done) — a notify lost
// inside V8 (Node 20). With a timeout such a wake-up costs WAKE_MS instead of the run; each one is
// counted (slot 7 per worker, `lostWakeups`).
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { InternalError } from '../../../compiler/diagnostics/diagnostics.ts';

/** int32 slots per worker in the control block */
const SLOT = 64;
/** arguments a job can carry (out, p0…, scratch) */
const MAX_ARGS = SLOT - 8;
/** longest a thread sleeps before it looks at its condition again (a lost notify costs this much) */
const WAKE_MS = 20;

// slot layout: 0 seq (job counter, main → worker), 1 done (worker → main), 2 kernel id (-1: exit),
// 3 lo, 4 hi, 5 error flag, 6 argument count, 7 wake-ups the worker found lost, 8… arguments
const WORKER = `
const { workerData, receiveMessageOnPort } = require('node:worker_threads');
const { memory, control, slot, port } = workerData;
const ctl = new Int32Array(control);
const base = slot * ${SLOT};
const env = { mem: memory, exp: Math.exp, log: Math.log, log1p: Math.log1p, tanh: Math.tanh, pow: Math.pow };
const kernels = [];
let seq = 0;
for (;;) {
  while (Atomics.load(ctl, base) === seq) {
    if (Atomics.wait(ctl, base, seq, ${WAKE_MS}) === 'timed-out' && Atomics.load(ctl, base) !== seq) Atomics.add(ctl, base + 7, 1);
  }
  seq = Atomics.load(ctl, base);
  const id = ctl[base + 2];
  if (id < 0) break;
  try {
    while (!kernels[id]) {
      const m = receiveMessageOnPort(port);
      if (!m) throw new Error('kernel ' + id + ' was never sent');
      kernels[m.message.id] = new WebAssembly.Instance(m.message.module, { env }).exports.kernel;
    }
    const n = ctl[base + 6];
    const args = [];
    for (let j = 0; j < n; j++) args.push(ctl[base + 8 + j]);
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
}

export class ThreadPool {
  private readonly ctl: Int32Array;
  private readonly peers: Peer[] = [];
  private seq = 0;
  private closed = false;
  private lostOnMain = 0;

  /** `threads` in all, the calling thread included (threads − 1 workers). */
  constructor(
    readonly threads: number,
    memory: WebAssembly.Memory,
  ) {
    if (!Number.isInteger(threads) || threads < 1) throw new InternalError(`threads = ${threads}`);
    this.ctl = new Int32Array(new SharedArrayBuffer(threads * SLOT * 4));
    for (let s = 1; s < threads; s++) {
      const { port1, port2 } = new MessageChannel();
      const worker = new Worker(WORKER, { eval: true, workerData: { memory, control: this.ctl.buffer, slot: s, port: port2 }, transferList: [port2] });
      worker.unref();
      port1.unref();
      this.peers.push({ worker, port: port1, sent: new Set() });
    }
  }

  /**
   * Runs `kernel(...args, lo, hi)` over rows [0, rows) split into `threads` ranges; the calling
   * thread runs the first with `main`, worker j its own with the module `id` (`args` end with the
   * scratch address of thread 0; thread j's is that plus j × scratchBytes).
   */
  run(id: number, module: WebAssembly.Module, main: (...a: number[]) => void, args: readonly number[], scratchBytes: number, rows: number): void {
    if (this.closed) throw new InternalError('the thread pool is closed');
    if (args.length > MAX_ARGS) throw new InternalError(`a kernel with ${args.length} arguments`);
    const t = this.threads;
    const bound = (j: number): number => Math.floor((rows * j) / t);
    this.seq++;
    this.peers.forEach((p, k) => {
      const s = k + 1;
      if (!p.sent.has(id)) {
        p.port.postMessage({ id, module });
        p.sent.add(id);
      }
      const b = s * SLOT;
      this.ctl[b + 2] = id;
      this.ctl[b + 3] = bound(s);
      this.ctl[b + 4] = bound(s + 1);
      this.ctl[b + 6] = args.length;
      args.forEach((a, j) => (this.ctl[b + 8 + j] = j === args.length - 1 ? a + s * scratchBytes : a));
      Atomics.store(this.ctl, b, this.seq);
      Atomics.notify(this.ctl, b);
    });
    let failed = false;
    try {
      main(...args, 0, bound(1));
    } finally {
      for (let s = 1; s < t; s++) {
        const b = s * SLOT;
        for (let done = Atomics.load(this.ctl, b + 1); done !== this.seq; done = Atomics.load(this.ctl, b + 1)) {
          if (Atomics.wait(this.ctl, b + 1, done, WAKE_MS) === 'timed-out' && Atomics.load(this.ctl, b + 1) === this.seq) this.lostOnMain++;
        }
        if (this.ctl[b + 5] !== 0) failed = true;
      }
    }
    if (failed) throw new InternalError(`a wasm kernel failed on a worker thread`);
  }

  /** notifies that never arrived, caught by a wait's timeout (workers' and the calling thread's) */
  get lostWakeups(): number {
    let n = this.lostOnMain;
    for (let s = 1; s < this.threads; s++) n += Atomics.load(this.ctl, s * SLOT + 7);
    return n;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.seq++;
    this.peers.forEach((p, k) => {
      const b = (k + 1) * SLOT;
      this.ctl[b + 2] = -1;
      Atomics.store(this.ctl, b, this.seq);
      Atomics.notify(this.ctl, b);
      p.port.close();
      void p.worker.terminate();
    });
  }
}

// The wasm mode's runner: compiles each plan step's wasm kernel once (codegen/wasm/kernel.ts; cached
// per step and shared by equal modules), places its arguments in the arena (memory.ts: resident
// params where they live, data/ids/CSR cached by identity, anything else copied for the run), runs it
// on the calling thread or split over the thread pool (threads.ts), and leaves its output in a step
// buffer of the arena. A step with no wasm kernel runs its js kernel instead, and is counted.
import { InternalError } from '../../../compiler/diagnostics/diagnostics.ts';
import { emitWasmKernel, type EmittedWasm } from '../../../compiler/codegen/wasm/kernel.ts';
import type { Arg, KernelPlan, Step } from '../../../compiler/plan/plan.ts';
import { Arena, SCRATCH_ALIGN } from './memory.ts';
import { ThreadPool } from './threads.ts';

export interface WasmOptions {
  /** threads in all, the calling one included (default 1) */
  readonly threads?: number;
  /** planned flops below which a kernel runs on the calling thread alone (default 200,000) */
  readonly minParallelFlops?: number;
}

/** A step's wasm kernel, ready to run. */
export interface WasmKernel {
  readonly ok: true;
  readonly id: number;
  readonly module: WebAssembly.Module;
  readonly fn: (...a: number[]) => void;
  readonly emitted: Extract<EmittedWasm, { ok: true }>;
}

export type Lowered = WasmKernel | Extract<EmittedWasm, { ok: false }>;

/** Bytes up to which an array that is not the arena's is copied for each run rather than cached. */
const SMALL_COPY = 256 << 10;

/** Work (planned flops) below which a kernel runs on the calling thread alone: waking a worker and
 * waiting for it costs more than a small kernel saves — at 200k, ML-1M d=64 mini-batch steps (batch
 * 4096, kernels of 1–5 Mflop) took 1.3–1.5× the wall time on 2 threads that they take on 1
 * (bench/peers, quiet machine, 2026-12-03); at 8M they run alone and full-batch kernels still split. */
const MIN_PARALLEL_FLOPS = 8_000_000;

/** Rows from which a kernel splits whatever its planned flops: a gather or copy over every tuple
 * (enmf's t1 permuted into CSR order, 528k rows at ML-1M) plans 0 flops yet takes 1–2.5 ms on one
 * thread; a mini-batch's kernels have no more rows than the batch. */
const MIN_PARALLEL_ROWS = 1 << 17;

export class WasmRunner {
  readonly arena = new Arena();
  /** made on the first kernel worth splitting: a worker costs ~10 MB and a small model never needs one */
  private pool: ThreadPool | undefined;
  private readonly wantThreads: number;
  private readonly byStep = new WeakMap<Step, Lowered>();
  private readonly bySource = new Map<string, WasmKernel>();
  private readonly scratchKey = {};
  private nextId = 0;
  /** kernel runs split over threads so far */
  parallelRuns = 0;

  constructor(readonly opts: WasmOptions = {}) {
    this.wantThreads = Math.max(1, opts.threads ?? 1);
  }

  get threads(): number {
    return this.wantThreads;
  }

  /** The step's wasm kernel, or why it has none (then its js kernel runs). */
  kernelFor(s: Step, plan: Pick<KernelPlan, 'sizes' | 'steps'>): Lowered {
    const hit = this.byStep.get(s);
    if (hit) return hit;
    const e = emitWasmKernel(s, plan);
    let k: Lowered;
    if (!e.ok) k = e;
    else {
      const key = `${e.elems.join(',')}\u0000${e.js.source}`;
      let w = this.bySource.get(key);
      if (!w) {
        const module = new WebAssembly.Module(e.bytes);
        const env = { mem: this.arena.memory, exp: Math.exp, log: Math.log, log1p: Math.log1p, tanh: Math.tanh, pow: Math.pow };
        const fn = new WebAssembly.Instance(module, { env }).exports.kernel as (...a: number[]) => void;
        w = { ok: true, id: this.nextId++, module, fn, emitted: e };
        this.bySource.set(key, w);
      }
      k = w;
    }
    this.byStep.set(s, k);
    return k;
  }

  beginRun(): void {
    this.arena.beginRun();
    this.runCopies.clear();
  }

  /** Where argument `a`'s value lies in memory (copied there when it is not yet). */
  address(a: Arg, value: Float32Array | Int32Array): number {
    const own = this.arena.addressOf(value);
    if (own !== undefined) return own;
    // data never changes in place: cache its copy; params, hypers and temps of js steps may
    const fixed = a.kind !== 'temp' && (a.kind !== 'tensor' || a.tensorKind === 'data');
    if (fixed && value.byteLength > SMALL_COPY) return this.arena.cachedCopy(value);
    // a small array (a mini-batch's columns, ids and CSR, made afresh each step) is copied for the
    // run into the region every run reuses, once per run: caching it would take fresh memory every
    // step (page faults, and a cache that grows to its budget) for a copy that costs microseconds
    let ptr = this.runCopies.get(value);
    if (ptr === undefined) this.runCopies.set(value, (ptr = this.arena.transient(value)));
    return ptr;
  }
  /** this run's copies of small arrays, by identity */
  private readonly runCopies = new Map<object, number>();

  /** Runs kernel `k` of step `s` with its arguments; returns the step's buffer (a view into memory). */
  run(k: WasmKernel, s: Step, args: readonly (Float32Array | Int32Array)[]): Float32Array {
    const e = k.emitted;
    if (args.length !== s.args.length) throw new InternalError(`step ${s.name}: ${args.length} arguments for ${s.args.length}`);
    const ptrs = s.args.map((a, j) => this.address(a, args[j]!));
    const out = this.arena.buffer(s, s.cells);
    const outPtr = this.arena.addressOf(out)!;
    const parallel = this.wantThreads > 1 && e.rows !== undefined && e.rows >= 2 * this.wantThreads && (s.cost.flops >= (this.opts.minParallelFlops ?? MIN_PARALLEL_FLOPS) || e.rows >= MIN_PARALLEL_ROWS);
    // each thread's scratch rows on pages of their own (memory.ts SCRATCH_ALIGN)
    const stride = Math.ceil(Math.max(16, e.scratchBytes) / SCRATCH_ALIGN) * SCRATCH_ALIGN;
    const scratch = this.arena.scratch(this.scratchKey, stride * this.threads);
    if (parallel) this.parallelRuns++;
    if (parallel) (this.pool ??= new ThreadPool(this.wantThreads, this.arena.memory)).run(k.id, k.module, k.fn, [outPtr, ...ptrs, scratch], stride, e.rows!);
    else k.fn(outPtr, ...ptrs, scratch, 0, e.rows ?? 0);
    return out;
  }

  /** Params by name, moved into memory once: the trainer's optimizer then updates them there. */
  adopt(params: Map<string, Float32Array>): void {
    for (const [name, p] of params) if (this.arena.addressOf(p) === undefined) params.set(name, this.arena.resident(p));
  }

  dispose(): void {
    this.pool?.close();
  }
}

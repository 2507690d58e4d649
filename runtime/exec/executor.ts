// Executor: runs a KernelPlan with recc's own JavaScript kernels (`js`, codegen/js.ts) or gpu.js on
// `webasm` or `cpu`. Input: a plan (codegen/plan.ts) and an Env32 (interp's Env with Float32Array
// tensors). Output: the plan's result, a number for a scalar plan (float64, reduced on the host) or a
// row-major Float32Array. Kernels are built once per step and data-dependent specialization (CSR
// segment bounds, gpu.js only); CSR indexes are cached per id array. The js kernels read params,
// data and int32 ids where they live (no copies) and index with integers (no 2^24 limit). Which
// backend really ran each kernel is recorded: gpu.js's webasm silently degrades to cpu otherwise.
import { createRequire } from 'node:module';
import type { GPU as GpuJs, IKernelRunShortcut, KernelOutput } from 'gpu.js';
import { InternalError } from '../../compiler/diagnostics/diagnostics.ts';
import { assertNever, evalCmp, evalUnary, type Expr } from '../../compiler/ir/nodes.ts';
import type { Sizes } from '../../compiler/ir/module.ts';
import { columnKey } from '../../compiler/ir/spaces.ts';
import { emitKernel, loopBoundFor, type EmittedKernel } from '../../compiler/codegen/gpujs.ts';
import { emitJsKernel } from '../../compiler/codegen/js.ts';
import { MAX_EXACT_INDEX } from '../../compiler/ir/limits.ts';
import { csrKey, type Arg, type GroupPlan, type KernelPlan, type Step } from '../../compiler/plan/plan.ts';
import { WasmRunner } from './wasm/runner.ts';
import { heapArrays, StepPool } from './step-pool.ts';

export type ExecMode = 'js' | 'webasm' | 'cpu' | 'wasm';

export interface TensorValue32 {
  readonly data: Float32Array;
  /** one space name per axis, row-major */
  readonly shape: readonly string[];
}

/** Like interp's Env, with float32 tensors. */
export interface Env32 {
  readonly sizes: Sizes;
  /** params by name, data columns by `rel.col`, hypers by name (shape []) */
  readonly tensors: ReadonlyMap<string, TensorValue32>;
  /** id columns by `rel.col` */
  readonly ids: ReadonlyMap<string, ArrayLike<number>>;
}

/** Tuples of a relation grouped by an id column: tuples offsets[a]..offsets[a+1]-1 of perm hold id a. */
export interface Csr {
  readonly offsets: Int32Array;
  readonly perm: Int32Array;
  readonly maxSeg: number;
}

export interface KernelRecord {
  readonly step: string;
  /** kernel class that ran: JsKernel (recc's own), or gpu.js's WebAssemblyKernel, CPUKernel, … */
  readonly backend: string;
  readonly fallbackReason: string | null;
  calls: number;
  ms: number;
}

export interface ExecutorOptions {
  /** throw instead of recording when gpu.js runs a kernel on another backend than asked */
  readonly strict?: boolean;
  /** wasm: threads in all, the calling one included (default 1); results do not depend on it */
  readonly threads?: number;
  /** wasm: planned flops below which a kernel runs on one thread (default 200,000; tests use 0) */
  readonly minParallelFlops?: number;
}

/** gpu.js, loaded on first use: `--mode js` (the default) never loads it (~15 MB of memory, and its start time). */
let gpuJs: typeof import('gpu.js') | undefined;
function loadGpuJs(): typeof import('gpu.js') {
  return (gpuJs ??= createRequire(import.meta.url)('gpu.js') as typeof import('gpu.js'));
}

const EXPECTED: Record<ExecMode, string> = { js: 'JsKernel', webasm: 'WebAssemblyKernel', cpu: 'CPUKernel', wasm: 'WasmKernel' };

/** Counting sort of tuple indices by id; stable, so each segment lists tuples in order. */
export function buildCsr(ids: ArrayLike<number>, domainSize: number, what = 'ids'): Csr {
  const n = ids.length;
  // a step's batch ids: its CSR lives as long as they do (step-pool.ts)
  const pool = (ArrayBuffer.isView(ids) ? StepPool.of(ids) : undefined) ?? heapArrays;
  const counts = pool.int32(domainSize + 1);
  for (let t = 0; t < n; t++) {
    const a = ids[t]!;
    if (!(Number.isInteger(a) && a >= 0 && a < domainSize)) throw new InternalError(`${what}[${t}] = ${a} is not an id in 0..${domainSize - 1}`);
    counts[a + 1]!++;
  }
  let maxSeg = 0;
  for (let a = 0; a < domainSize; a++) {
    maxSeg = Math.max(maxSeg, counts[a + 1]!);
    counts[a + 1]! += counts[a]!;
  }
  const offsets = counts;
  const next = pool.int32(domainSize);
  next.set(counts.subarray(0, domainSize));
  const perm = pool.int32(n);
  for (let t = 0; t < n; t++) perm[next[ids[t]!]!++] = t;
  return { offsets, perm, maxSeg };
}

interface Compiled {
  readonly kernel: IKernelRunShortcut;
  readonly emitted: EmittedKernel;
  record: KernelRecord | undefined;
}

/** A js kernel: `fn(out, ...args)` writes every cell of `out`. */
type JsFn = (out: Float32Array, ...args: ArrayLike<number>[]) => void;

interface JsCompiled {
  readonly fn: JsFn;
  record: KernelRecord | undefined;
}

/** JS kernels kept by source; past this, the cache is emptied (sizes that change every batch). */
const MAX_JS_KERNELS = 1024;

/** Kernels kept alive at once; past this (sizes that change every mini-batch), all are rebuilt lazily. */
export const MAX_LIVE_KERNELS = 256;

export class Executor {
  /** gpu.js, created on first use (never for `js`) */
  private gpuInstance: GpuJs | undefined;
  /** by source text and argument sizes: equal kernels are shared across steps and plans */
  private readonly kernels = new Map<string, Compiled>();
  /** per step and specialization (rounded CSR bounds) */
  private byStep = new WeakMap<Step, Map<string, Compiled>>();
  private readonly csrs = new WeakMap<object, Map<number, Csr>>();
  private readonly floatIds = new WeakMap<object, Float32Array>();
  /** id columns in a CSR's tuple order: per CSR, per permuted id array */
  private readonly csrIds = new WeakMap<Csr, WeakMap<object, Float32Array>>();
  private readonly records: KernelRecord[] = [];
  /** js kernels by source (equal kernels shared across steps and plans), and per step */
  private readonly jsBySource = new Map<string, JsCompiled>();
  private jsByStep = new WeakMap<Step, JsCompiled>();
  /** CSR arrays and id columns as float32, for gpu.js */
  private readonly asFloats = new WeakMap<Int32Array, Float32Array>();
  /** id columns as int32, for js kernels */
  private readonly asInts = new WeakMap<object, Int32Array>();
  /** js: the buffers of intermediate temps, per step, reused by every run of the step */
  private readonly scratch = new WeakMap<Step, Float32Array>();
  /** per-tuple csr-ids in int32 for js: per CSR, per id array */
  private readonly csrIdsInt = new WeakMap<Csr, WeakMap<object, Int32Array>>();

  constructor(
    readonly mode: ExecMode,
    private readonly opts: ExecutorOptions = {},
  ) {}

  /** wasm: the runner (memory arena, kernels, threads), created on first use */
  private wasmRunner: WasmRunner | undefined;
  private readonly wasmRecords = new WeakMap<object, KernelRecord>();

  private get wasm(): WasmRunner {
    this.wasmRunner ??= new WasmRunner({ threads: this.opts.threads, minParallelFlops: this.opts.minParallelFlops });
    return this.wasmRunner;
  }

  /** wasm: the kernels' memory (undefined in the other modes) */
  get wasmArena(): WasmRunner['arena'] | undefined {
    return this.mode === 'wasm' ? this.wasm.arena : undefined;
  }

  /** wasm: moves params into the kernels' memory once; the caller's map then holds views there */
  adopt(params: Map<string, Float32Array>): void {
    if (this.mode === 'wasm') this.wasm.adopt(params);
  }

  /**
   * A step on wasm: its wasm kernel over the arena, or (a kernel the wasm lowering does not cover)
   * its js kernel, recorded as a JsKernel with the reason — `fallbacks()` lists it.
   */
  private runWasm(s: Step, plan: Pick<KernelPlan, 'sizes' | 'steps'>, env: Env32, temps: ReadonlyMap<string, Float32Array>, scratch: boolean): Float32Array {
    const k = this.wasm.kernelFor(s, plan);
    if (!k.ok) {
      const t0 = performance.now();
      const out = this.runJs(s, plan, env, temps, scratch, false);
      this.recordWasm(k, s, 'JsKernel', `no wasm kernel (${k.unsupported}): ran the js kernel`, performance.now() - t0);
      return out;
    }
    const csrs = new Map<string, Csr>();
    for (const u of s.csr) {
      const n = Object.hasOwn(plan.sizes, u.domain) ? plan.sizes[u.domain] : undefined;
      if (n === undefined) throw new InternalError(`no size for ${u.domain}`);
      csrs.set(csrKey(u.rel, u.col), this.csrFor(u.rel, u.col, env, n));
    }
    const args = s.args.map((a) => this.jsArgValue(a, env, temps, csrs) as Float32Array | Int32Array);
    const t0 = performance.now();
    const buf = this.wasm.run(k, s, args);
    // a result leaves the arena (the step's buffer is rewritten by the next run)
    const out = scratch ? buf : buf.slice();
    this.recordWasm(k, s, 'WasmKernel', null, performance.now() - t0);
    return out;
  }

  private recordWasm(key: object, s: Step, backend: string, reason: string | null, ms: number): void {
    let r = this.wasmRecords.get(key);
    if (!r) {
      r = { step: s.name, backend, fallbackReason: reason, calls: 0, ms: 0 };
      this.wasmRecords.set(key, r);
      this.records.push(r);
    }
    r.calls++;
    r.ms += ms;
  }

  /** wasm: kernel runs split over threads so far */
  get parallelRuns(): number {
    return this.wasmRunner?.parallelRuns ?? 0;
  }

  /** wasm: threads the kernels run on */
  get threads(): number {
    return this.mode === 'wasm' ? this.wasm.threads : 1;
  }

  private get gpu(): GpuJs {
    if (this.mode === 'js' || this.mode === 'wasm') throw new InternalError(`the ${this.mode} executor has no gpu.js instance`);
    this.gpuInstance ??= new (loadGpuJs().GPU)({ mode: this.mode });
    return this.gpuInstance;
  }

  /** Builds the kernels of every step whose source does not depend on data (no CSR walk). */
  compile(plan: Pick<KernelPlan, 'sizes' | 'steps'>): void {
    for (const s of plan.steps) {
      if (s.kind !== 'kernel') continue;
      if (this.mode === 'js') this.jsKernelFor(s, plan);
      else if (this.mode === 'wasm') this.wasm.kernelFor(s, plan);
      else if (s.csr.length === 0) this.kernelFor(s, plan, new Map());
    }
  }

  /** Runs the plan. A scalar result is a float64 number; otherwise a fresh row-major Float32Array. */
  run(plan: KernelPlan, env: Env32): Float32Array | number {
    return this.runGroup({ version: 1, sizes: plan.sizes, steps: plan.steps, results: [plan], cost: plan.cost }, env)[0]!;
  }

  /** Runs a group plan: every step once, then each expression's result (as `run` gives it). */
  runGroup(plan: Pick<GroupPlan, 'sizes' | 'steps' | 'results'> & Partial<GroupPlan>, env: Env32, opts: { readonly reuse?: boolean } = {}): (Float32Array | number)[] {
    // sizes the env does not hold (the planner's split-K box counts) are the plan's own
    for (const [space, n] of Object.entries(plan.sizes)) {
      const m = env.sizes.get(space);
      if (m !== undefined && m !== n) throw new InternalError(`plan made for |${space}| = ${n}, env has ${m}: plan again`);
    }
    const temps = new Map<string, Float32Array>();
    const exact = new Map<string, number>();
    if (this.mode === 'wasm') this.wasm.beginRun();
    // temps that no result names never leave this call: the js kernels write them into buffers kept per
    // step; with `reuse`, the results too (the caller reads them before its next such call)
    const results = new Set(opts.reuse ? [] : plan.results.map((r) => r.result));
    for (const s of plan.steps) {
      switch (s.kind) {
        case 'host-sum': {
          const part = temps.get(s.of!);
          if (!part) throw new InternalError(`no partials ${s.of}`);
          let acc = 0;
          for (let j = 0; j < part.length; j++) acc += part[j]!;
          exact.set(s.name, acc);
          temps.set(s.name, Float32Array.of(acc));
          break;
        }
        case 'host-eval': {
          const val = evalHost(s.expr, plan, env, temps, exact);
          exact.set(s.name, val);
          temps.set(s.name, Float32Array.of(val));
          break;
        }
        case 'kernel':
          temps.set(
            s.name,
            this.mode === 'js' ? this.runJs(s, plan, env, temps, !results.has(s.name)) : this.mode === 'wasm' ? this.runWasm(s, plan, env, temps, !results.has(s.name)) : this.runKernel(s, plan, env, temps),
          );
          break;
        default:
          return assertNever(s.kind);
      }
    }
    return plan.results.map((r) => {
      const out = temps.get(r.result)!;
      return r.scalar ? (exact.get(r.result) ?? out[0]!) : out;
    });
  }

  /** One record per compiled kernel: which backend ran it, calls and time. */
  report(): readonly KernelRecord[] {
    return this.records;
  }

  /** Kernels that did not run on the requested backend. */
  fallbacks(): readonly KernelRecord[] {
    return this.records.filter((r) => r.backend !== EXPECTED[this.mode]);
  }

  destroy(): void {
    this.wasmRunner?.dispose();
    this.wasmRunner = undefined;
    this.gpuInstance?.destroy();
    this.gpuInstance = undefined;
  }

  /** The CSR of relation `rel` by id column `col`, cached by the identity of the id array. */
  csrFor(rel: string, col: string, env: Env32, domainSize: number): Csr {
    const ids = env.ids.get(columnKey(rel, col));
    if (!ids) throw new InternalError(`no id column ${rel}.${col}`);
    let m = this.csrs.get(ids);
    if (!m) this.csrs.set(ids, (m = new Map()));
    let c = m.get(domainSize);
    if (!c) m.set(domainSize, (c = buildCsr(ids, domainSize, `${rel}.${col}`)));
    return c;
  }

  private idsAsFloats(key: string, env: Env32): Float32Array {
    const ids = env.ids.get(key);
    if (!ids) throw new InternalError(`no id column ${key}`);
    if (ids instanceof Float32Array) return ids;
    let f = this.floatIds.get(ids);
    if (!f) {
      f = Float32Array.from(ids);
      for (let t = 0; t < f.length; t++) {
        if (!(f[t]! >= 0 && f[t]! < MAX_EXACT_INDEX)) throw new InternalError(`${key}[${t}] = ${f[t]} is not an id`);
      }
      this.floatIds.set(ids, f);
    }
    return f;
  }

  /** Id column `key` in the tuple order of `csr`, cached per CSR and id array. */
  private permutedIds(csr: Csr, key: string, env: Env32): Float32Array {
    return permuted(this.csrIds, csr, this.idsAsFloats(key, env));
  }

  private kernelFor(s: Step, plan: Pick<KernelPlan, 'sizes' | 'steps'>, maxSeg: ReadonlyMap<string, number>): Compiled {
    let m = this.byStep.get(s);
    if (!m) this.byStep.set(s, (m = new Map()));
    const specKey = [...maxSeg].map(([k, n]) => `${k}=${loopBoundFor(n)}`).join(';');
    let c = m.get(specKey);
    if (c) return c;
    const emitted = emitKernel(s, plan, { maxSeg });
    // the output shape is a kernel setting, not part of its source: two steps may differ in it alone
    const key = `${emitted.source}\u0000${s.args.map((a) => a.size).join(',')}\u0000${emitted.settings.output.join(',')}`;
    c = this.kernels.get(key);
    if (!c && this.kernels.size >= MAX_LIVE_KERNELS) {
      // a varying size (entries per mini-batch) specializes a kernel per batch: release them all
      // rather than grow until WebAssembly memory runs out; live ones are rebuilt on next use
      this.destroy();
      this.kernels.clear();
      this.byStep = new WeakMap();
      m = new Map();
      this.byStep.set(s, m);
    }
    if (!c) {
      const kernel = this.gpu.createKernel(emitted.source, { ...emitted.settings, output: [...emitted.settings.output] });
      c = { kernel, emitted, record: undefined };
      this.kernels.set(key, c);
    }
    m.set(specKey, c);
    return c;
  }

  private runKernel(s: Step, plan: Pick<KernelPlan, 'sizes' | 'steps'>, env: Env32, temps: ReadonlyMap<string, Float32Array>): Float32Array {
    const csrs = new Map<string, Csr>();
    for (const u of s.csr) {
      const n = Object.hasOwn(plan.sizes, u.domain) ? plan.sizes[u.domain] : undefined;
      if (n === undefined) throw new InternalError(`no size for ${u.domain}`);
      csrs.set(csrKey(u.rel, u.col), this.csrFor(u.rel, u.col, env, n));
    }
    // a CSR-ordered step only permutes: its source does not depend on the segment lengths
    const maxSeg = s.order ? new Map<string, number>() : new Map([...csrs].map(([k, c]) => [k, c.maxSeg]));
    const c = this.kernelFor(s, plan, maxSeg);
    const args = s.args.map((a) => this.argValue(a, env, temps, csrs));
    const t0 = performance.now();
    const out = c.kernel(...args) as KernelOutput;
    const ms = performance.now() - t0;
    if (!c.record) c.record = this.recordOf(s, c.kernel);
    c.record.calls++;
    c.record.ms += ms;
    if (!(out instanceof Float32Array) || out.length !== s.cells) {
      const got = out instanceof Float32Array ? `${out.length} values` : Array.isArray(out) ? `an array of ${out.length}` : typeof out;
      throw new InternalError(`kernel ${s.name} returned ${got}, not ${s.cells} values (output ${JSON.stringify(s.out.map((i) => i.size))})`);
    }
    return out;
  }

  private recordOf(s: Step, k: IKernelRunShortcut): KernelRecord {
    const inner = k.kernel as unknown as { constructor: { name: string }; fallbackReason?: string | null } | undefined;
    const backend = inner?.constructor.name ?? 'unknown';
    const reason = inner?.fallbackReason ?? k.fallbackReason ?? null;
    const r: KernelRecord = { step: s.name, backend, fallbackReason: reason, calls: 0, ms: 0 };
    if (backend !== EXPECTED[this.mode] && this.opts.strict) {
      throw new InternalError(`kernel ${s.name} ran on ${backend}, not ${this.mode}${reason ? `: ${reason}` : ''}`);
    }
    this.records.push(r);
    return r;
  }

  private argValue(a: Arg, env: Env32, temps: ReadonlyMap<string, Float32Array>, csrs: ReadonlyMap<string, Csr>): Float32Array {
    let data: Float32Array;
    switch (a.kind) {
      case 'tensor': {
        const t = env.tensors.get(a.tensor);
        if (!t) throw new InternalError(`no value for tensor ${a.tensor}`);
        if (!(t.data instanceof Float32Array)) throw new InternalError(`tensor ${a.tensor} is not a Float32Array`);
        data = t.data;
        break;
      }
      case 'temp': {
        const t = temps.get(a.temp);
        if (!t) throw new InternalError(`temp ${a.temp} used before it is computed`);
        data = t;
        break;
      }
      case 'ids':
        data = this.idsAsFloats(columnKey(a.rel, a.col), env);
        break;
      case 'csr-offsets':
        data = this.floatsOf(csrs.get(csrKey(a.rel, a.col))!.offsets);
        break;
      case 'csr-perm':
        data = this.floatsOf(csrs.get(csrKey(a.rel, a.col))!.perm);
        break;
      case 'csr-ids':
        data = this.permutedIds(csrs.get(csrKey(a.rel, a.col))!, columnKey(a.rel, a.of), env);
        break;
      default:
        return assertNever(a);
    }
    if (data.length !== a.size) throw new InternalError(`argument ${a.name} (${a.kind}) has ${data.length} values, the plan expects ${a.size}`);
    return data;
  }

  /** An int32 CSR array as float32 (gpu.js reads only floats), cached; exact below 2^24. */
  private floatsOf(a: Int32Array): Float32Array {
    let f = this.asFloats.get(a);
    if (!f) {
      if (a.length > 0 && a[a.length - 1]! >= MAX_EXACT_INDEX) throw new InternalError(`a CSR index over ${a[a.length - 1]} tuples exceeds exact float32 indexing on gpu.js; use --mode js`);
      f = Float32Array.from(a);
      this.asFloats.set(a, f);
    }
    return f;
  }

  /** The js kernel of a step: emitted once, built with `new Function`, shared by equal sources. */
  private jsKernelFor(s: Step, plan: Pick<KernelPlan, 'sizes' | 'steps'>): JsCompiled {
    let c = this.jsByStep.get(s);
    if (c) return c;
    const emitted = emitJsKernel(s, plan);
    const key = `${emitted.params.join(',')}\u0000${emitted.source}`;
    c = this.jsBySource.get(key);
    if (!c) {
      if (this.jsBySource.size >= MAX_JS_KERNELS) {
        this.jsBySource.clear();
        this.jsByStep = new WeakMap();
      }
      // the source holds only generated identifiers and numeric literals (codegen/js.ts)
      c = { fn: new Function(...emitted.params, emitted.source) as JsFn, record: undefined };
      this.jsBySource.set(key, c);
    }
    this.jsByStep.set(s, c);
    return c;
  }

  private runJs(s: Step, plan: Pick<KernelPlan, 'sizes' | 'steps'>, env: Env32, temps: ReadonlyMap<string, Float32Array>, scratch: boolean, record = true): Float32Array {
    const csrs = new Map<string, Csr>();
    for (const u of s.csr) {
      const n = Object.hasOwn(plan.sizes, u.domain) ? plan.sizes[u.domain] : undefined;
      if (n === undefined) throw new InternalError(`no size for ${u.domain}`);
      csrs.set(csrKey(u.rel, u.col), this.csrFor(u.rel, u.col, env, n));
    }
    const c = this.jsKernelFor(s, plan);
    const args = s.args.map((a) => this.jsArgValue(a, env, temps, csrs));
    // a js kernel writes every cell, so a kept buffer needs no clearing
    let out = scratch ? this.scratch.get(s) : undefined;
    if (!out) {
      out = new Float32Array(s.cells);
      if (scratch) this.scratch.set(s, out);
    }
    const t0 = performance.now();
    c.fn(out, ...args);
    const ms = performance.now() - t0;
    if (!record) return out;
    if (!c.record) {
      c.record = { step: s.name, backend: 'JsKernel', fallbackReason: null, calls: 0, ms: 0 };
      this.records.push(c.record);
    }
    c.record.calls++;
    c.record.ms += ms;
    return out;
  }

  private jsArgValue(a: Arg, env: Env32, temps: ReadonlyMap<string, Float32Array>, csrs: ReadonlyMap<string, Csr>): ArrayLike<number> {
    let data: ArrayLike<number>;
    switch (a.kind) {
      case 'tensor':
      case 'temp':
        return this.argValue(a, env, temps, csrs);
      case 'ids':
        data = this.idsAsInts(columnKey(a.rel, a.col), env);
        break;
      case 'csr-offsets':
        data = csrs.get(csrKey(a.rel, a.col))!.offsets;
        break;
      case 'csr-perm':
        data = csrs.get(csrKey(a.rel, a.col))!.perm;
        break;
      case 'csr-ids':
        data = this.permutedIdsInt(csrs.get(csrKey(a.rel, a.col))!, columnKey(a.rel, a.of), env);
        break;
      default:
        return assertNever(a);
    }
    if (data.length !== a.size) throw new InternalError(`argument ${a.name} (${a.kind}) has ${data.length} values, the plan expects ${a.size}`);
    return data;
  }

  /** An id column as int32 (the env's own array when it is one), checked once. */
  private idsAsInts(key: string, env: Env32): Int32Array {
    const ids = env.ids.get(key);
    if (!ids) throw new InternalError(`no id column ${key}`);
    if (ids instanceof Int32Array) return ids;
    let f = this.asInts.get(ids);
    if (!f) {
      f = new Int32Array(ids.length);
      for (let t = 0; t < f.length; t++) {
        const x = ids[t]!;
        if (!(Number.isInteger(x) && x >= 0 && x <= 0x7fffffff)) throw new InternalError(`${key}[${t}] = ${x} is not an id`);
        f[t] = x;
      }
      this.asInts.set(ids, f);
    }
    return f;
  }

  /** Id column `key` in the tuple order of `csr` as int32, cached per CSR and id array. */
  private permutedIdsInt(csr: Csr, key: string, env: Env32): Int32Array {
    return permuted(this.csrIdsInt, csr, this.idsAsInts(key, env));
  }
}

/** `ids` in the tuple order of `csr` (ids[perm[r]] at r), cached per CSR and id array. */
function permuted<A extends Float32Array | Int32Array>(cache: WeakMap<Csr, WeakMap<object, A>>, csr: Csr, ids: A): A {
  let m = cache.get(csr);
  if (!m) cache.set(csr, (m = new WeakMap()));
  let p = m.get(ids);
  if (!p) {
    const pool = StepPool.of(csr.perm) ?? heapArrays;
    p = (ids instanceof Int32Array ? pool.int32(csr.perm.length) : pool.float32(csr.perm.length)) as A;
    for (let r = 0; r < p.length; r++) p[r] = ids[csr.perm[r]!]!;
    m.set(ids, p);
  }
  return p;
}

/** float64 evaluation of a closed loop-free expression over scalars (the host-eval steps; also the webgpu executor's). */
export function evalHost(e: Expr, plan: Pick<KernelPlan, 'sizes'>, env: Env32, temps: ReadonlyMap<string, Float32Array>, exact: ReadonlyMap<string, number>): number {
  const go = (x: Expr): number => evalHost(x, plan, env, temps, exact);
  switch (e.op) {
    case 'const':
      return e.value;
    case 'size': {
      const n = (Object.hasOwn(plan.sizes, e.space) ? plan.sizes[e.space] : undefined) ?? env.sizes.get(e.space);
      if (n === undefined) throw new InternalError(`no size for ${e.space}`);
      return n;
    }
    case 'tensor': {
      if (e.ix.length) throw new InternalError(`host step reads ${e.name} with indices`);
      if (e.kind === 'temp') {
        const t = exact.get(e.name) ?? temps.get(e.name)?.[0];
        if (t === undefined) throw new InternalError(`temp ${e.name} used before it is computed`);
        return t;
      }
      const t = env.tensors.get(e.name);
      if (!t) throw new InternalError(`no value for tensor ${e.name}`);
      return t.data[0]!;
    }
    case 'add':
      return e.args.reduce((a, x) => a + go(x), 0);
    case 'mul':
      return e.args.reduce((a, x) => a * go(x), 1);
    case 'pow':
      return e.exp === 2 ? go(e.base) ** 2 : Math.pow(go(e.base), e.exp);
    case 'call':
      return evalUnary(e.fn, go(e.arg));
    case 'call2':
      return e.fn === 'max' ? Math.max(go(e.a), go(e.b)) : Math.min(go(e.a), go(e.b));
    case 'cmp':
      return evalCmp(e.cmp, go(e.a), go(e.b)) ? 1 : 0;
    case 'select':
      return go(e.cond) !== 0 ? go(e.a) : go(e.b);
    case 'eq':
    case 'ord':
    case 'sum':
    case 'reduce':
      throw new InternalError(`host step contains ${e.op}`);
    default:
      return assertNever(e);
  }
}

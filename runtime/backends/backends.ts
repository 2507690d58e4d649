// Backend factory: `reference` (float64 interpreter), recc's own JavaScript kernels (`js`) or gpu.js
// (`webasm`, `cpu`). The kernel backend plans each expression for the sizes at hand (codegen/plan.ts;
// plans are cached per expression and sizes) and runs the plan's kernels through the Executor, which
// records what really ran.
import { planExpr, type GroupPlan, type KernelPlan } from '../../compiler/plan/plan.ts';
import type { Env } from '../../compiler/ir/interp.ts';
import type { Space } from '../../compiler/ir/module.ts';
import type { Expr, Idx } from '../../compiler/ir/nodes.ts';
import { ReferenceBackend, type Backend, type EvalManyOptions, type ManyResult, type TensorRequest } from '../exec/backend.ts';
import { Executor, type Env32, type ExecMode, type TensorValue32 } from '../exec/executor.ts';
import { autoDevice } from '../exec/webgpu/device.ts';
import { WebGpuBackend } from '../exec/webgpu/backend.ts';
import { GroupPlans, MAX_CACHED_PLANS } from '../exec/group-plans.ts';

export type BackendMode = ExecMode | 'reference' | 'webgpu' | 'auto';

export const BACKEND_MODES: readonly BackendMode[] = ['js', 'webasm', 'cpu', 'reference', 'wasm', 'webgpu', 'auto'];


export class GpuBackend implements Backend {
  name: string;
  private readonly exec: Executor;
  private readonly plans = new Map<string, KernelPlan>();
  private readonly groupPlans: GroupPlans;

  constructor(readonly mode: ExecMode, private readonly spaces: ReadonlyMap<string, Space>, opts: BackendOptions = {}) {
    this.groupPlans = new GroupPlans(spaces);
    this.exec = new Executor(mode, { threads: opts.threads, minParallelFlops: opts.minParallelFlops });
    this.name = mode === 'js' ? 'js (recc kernels)' : mode === 'wasm' ? `wasm (recc kernels, ${this.exec.threads} thread${this.exec.threads === 1 ? '' : 's'})` : `gpu.js ${mode}`;
  }

  adopt(params: Map<string, Float32Array>): void {
    this.exec.adopt(params);
  }

  wasmArena(): Executor['wasmArena'] {
    return this.exec.wasmArena;
  }

  plan(e: Expr, out: readonly Idx[], env: Env): KernelPlan {
    const key = `${e.id}|${out.map((i) => `${i.name}:${i.space}`).join(',')}|${[...env.sizes].map(([k, v]) => `${k}=${v}`).join(',')}`;
    let p = this.plans.get(key);
    if (!p) {
      p = planExpr(e, out, this.spaces, env.sizes);
      if (this.plans.size >= MAX_CACHED_PLANS) this.plans.clear(); // sizes that change every batch
      this.plans.set(key, p);
    }
    return p;
  }

  /** One plan for several expressions: shared temps (per-tuple residuals, Gramians) run once. */
  planGroup(scalars: readonly Expr[], tensors: readonly TensorRequest[], env: Env): GroupPlan {
    return this.groupPlans.get(scalars, tensors, env);
  }

  evalMany(scalars: readonly Expr[], tensors: readonly TensorRequest[], env: Env, opts?: EvalManyOptions): ManyResult {
    const r = this.exec.runGroup(this.planGroup(scalars, tensors, env), to32(env), opts);
    return {
      scalars: r.slice(0, scalars.length).map((x) => (typeof x === 'number' ? x : x[0]!)),
      tensors: r.slice(scalars.length).map((x) => (typeof x === 'number' ? Float32Array.of(x) : x)),
    };
  }

  scalar(e: Expr, env: Env): number {
    const r = this.exec.run(this.plan(e, [], env), to32(env));
    return typeof r === 'number' ? r : r[0]!;
  }

  tensor(e: Expr, out: readonly Idx[], env: Env): Float32Array {
    const r = this.exec.run(this.plan(e, out, env), to32(env));
    return typeof r === 'number' ? Float32Array.of(r) : r;
  }

  /** Kernels that gpu.js ran on another backend than asked (webasm → cpu fallbacks). */
  fallbacks(): ReturnType<Executor['fallbacks']> {
    return this.exec.fallbacks();
  }

  /** wasm: threads in all (--threads); 1 on the other modes */
  get threads(): number {
    return this.exec.threads;
  }

  /** wasm: kernel runs split over threads so far */
  get parallelRuns(): number {
    return this.exec.parallelRuns;
  }

  report(): ReturnType<Executor['report']> {
    return this.exec.report();
  }

  dispose(): void {
    this.exec.destroy();
  }
}

function to32(env: Env): Env32 {
  const tensors = new Map<string, TensorValue32>();
  for (const [k, t] of env.tensors) {
    tensors.set(k, { data: t.data instanceof Float32Array ? t.data : Float32Array.from(t.data), shape: t.shape });
  }
  return { sizes: env.sizes, tensors, ids: env.ids };
}

export interface BackendOptions {
  /** wasm: threads in all (default 1); the results are the same bytes for any number */
  readonly threads?: number;
  /** wasm: planned flops below which a kernel runs on one thread (tests: 0, to split every kernel) */
  readonly minParallelFlops?: number;
}

/**
 * The backend of a --mode. `webgpu` throws NoWebGpuError (webgpu/device.ts) with the reason when no
 * adapter answers, never falling back; `auto` is webgpu on a hardware adapter, else recc's js kernels
 * (a software adapter such as lavapipe runs slower than them), and its name says why.
 */
export function createBackend(mode: BackendMode, spaces: ReadonlyMap<string, Space>, opts: BackendOptions = {}): Backend {
  if (mode === 'reference') return new ReferenceBackend();
  if (mode === 'webgpu') return new WebGpuBackend(spaces);
  if (mode === 'auto') {
    const pick = autoDevice();
    if ('device' in pick) return new WebGpuBackend(spaces, pick.device);
    const js = new GpuBackend('js', spaces, opts);
    return Object.assign(js, { name: `${js.name}; auto: ${pick.reason}` });
  }
  return new GpuBackend(mode, spaces, opts);
}

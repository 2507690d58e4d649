// The webgpu Backend: plans each group of expressions as the other kernel backends do and runs it
// through the WebGPU executor. Its name says which adapter really answered. Besides the Backend
// interface it offers what device-resident training needs (runtime/train/resident.ts): the executor's
// resident tensors, results kept on the device, and the device itself (optimizer kernels, traffic).
import type { GroupPlan } from '../../../compiler/plan/plan.ts';
import type { Env } from '../../../compiler/ir/interp.ts';
import type { Space } from '../../../compiler/ir/module.ts';
import type { Expr, Idx } from '../../../compiler/ir/nodes.ts';
import type { Backend, ManyResult, TensorRequest } from '../backend.ts';
import type { Env32, TensorValue32 } from '../executor.ts';
import { adapterLine, Device } from './device.ts';
import { WebGpuExecutor, type DeviceResult, type ExecutorOptions } from './executor.ts';
import { GroupPlans } from '../group-plans.ts';


export class WebGpuBackend implements Backend {
  readonly name: string;
  readonly device: Device;
  readonly exec: WebGpuExecutor;
  private readonly groupPlans: GroupPlans;

  /** Opens the device; throws NoWebGpuError (device.ts) with the reason when none answers. */
  constructor(spaces: ReadonlyMap<string, Space>, device?: Device, opts: ExecutorOptions = {}) {
    this.groupPlans = new GroupPlans(spaces);
    this.device = device ?? Device.open();
    this.exec = new WebGpuExecutor(this.device, opts);
    this.name = `webgpu (gpu.js kernels, recc WGSL past their size limits, on ${adapterLine(this.device.adapter)})`;
  }

  planGroup(scalars: readonly Expr[], tensors: readonly TensorRequest[], env: Env): GroupPlan {
    return this.groupPlans.get(scalars, tensors, env);
  }

  /** Terms and tensors of one env; tensors flagged in `keep` stay on the device (buffer ids). */
  evalOnDevice(scalars: readonly Expr[], tensors: readonly TensorRequest[], env: Env, keep: readonly boolean[]): { scalars: number[]; tensors: DeviceResult[] } {
    const r = this.exec.runGroup(this.planGroup(scalars, tensors, env), to32(env), [...scalars.map(() => false), ...keep]);
    return { scalars: r.slice(0, scalars.length) as number[], tensors: r.slice(scalars.length) };
  }

  evalMany(scalars: readonly Expr[], tensors: readonly TensorRequest[], env: Env): ManyResult {
    const r = this.evalOnDevice(scalars, tensors, env, []);
    return { scalars: r.scalars, tensors: r.tensors.map((x) => (typeof x === 'number' ? Float32Array.of(x) : (x as Float32Array))) };
  }

  scalar(e: Expr, env: Env): number {
    return this.evalMany([e], [], env).scalars[0]!;
  }

  tensor(e: Expr, out: readonly Idx[], env: Env): Float32Array {
    return this.evalMany([], [{ expr: e, out }], env).tensors[0] as Float32Array;
  }

  dispose(): void {
    this.device.close();
  }
}

function to32(env: Env): Env32 {
  const tensors = new Map<string, TensorValue32>();
  for (const [k, t] of env.tensors) tensors.set(k, { data: t.data instanceof Float32Array ? t.data : Float32Array.from(t.data), shape: t.shape });
  return { sizes: env.sizes, tensors, ids: env.ids };
}

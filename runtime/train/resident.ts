// Device-resident training (webgpu): params and optimizer slots (Adam moments, momentum, Adagrad
// sums) live in device buffers across steps; each step's gradients stay on the device and the update
// is a WGSL kernel (exec/webgpu/optimizer.ts). Per step the host uploads only what it drew (a mini-
// batch's ids and their CSR index, sampled ids, the touched rows) and reads back only the loss terms'
// partial sums; it reads params and slots back (`sync`) before an evaluation, a checkpoint and at the
// end. Used by train.ts when the backend is webgpu and the batches are not user batches (those slice
// the params per step; they run on webgpu with params uploaded each step instead).
import type { GradientOptimizerInfo } from '../../compiler/check/model.ts';
import type { Env } from '../../compiler/ir/interp.ts';
import type { Expr } from '../../compiler/ir/nodes.ts';
import type { Backend, TensorRequest } from '../exec/backend.ts';
import { WebGpuBackend } from '../exec/webgpu/backend.ts';
import { slotCount, updateGroups, updateSource, updateUniforms, type UpdateVariant } from '../exec/webgpu/optimizer.ts';
import type { OptimizerState } from './optimizer.ts';

/** A gradient of this step, as the trainer asked for it. */
export interface ResidentGrad {
  readonly param: string;
  /** touched rows (lazy update of those rows only); absent: every element */
  readonly rows?: Int32Array;
  /** the gradient tensor holds only the touched rows (touched-rows kernels), row r ↔ rows[r] */
  readonly atRows: boolean;
  /** elements per row (the param's trailing dims) */
  readonly width: number;
}

export class ResidentTrainer {
  private readonly paramIds = new Map<string, number>();
  private readonly slotIds = new Map<string, number[]>();
  /** per param: its touched rows' buffer, rewritten each step */
  private readonly rowsIds = new Map<string, number>();
  /** set after an update: the device holds newer params than the host arrays */
  private dirty = false;

  constructor(
    private readonly backend: WebGpuBackend,
    private readonly opt: GradientOptimizerInfo,
    private readonly params: ReadonlyMap<string, Float32Array>,
    private readonly state: OptimizerState,
  ) {
    const dev = backend.device;
    for (const [name, p] of params) {
      backend.exec.checkSize(p.length, `param ${name}`);
      const id = dev.id();
      dev.upload(id, p, name);
      this.paramIds.set(name, id);
      this.rowsIds.set(name, dev.id());
      this.slotIds.set(
        name,
        state.slots.get(name)!.map((s) => {
          const sid = dev.id();
          dev.upload(sid, s, `${name} optimizer slot`);
          return sid;
        }),
      );
    }
  }

  /** The resident trainer for `backend`, or undefined when it is not a webgpu backend. */
  static for(backend: Backend, opt: GradientOptimizerInfo, params: ReadonlyMap<string, Float32Array>, state: OptimizerState): ResidentTrainer | undefined {
    return backend instanceof WebGpuBackend ? new ResidentTrainer(backend, opt, params, state) : undefined;
  }

  /** Host↔device bytes so far (device.ts). */
  get traffic(): { toDevice: number; toHost: number } {
    return this.backend.device.traffic;
  }

  /** The terms (host numbers) of one step; the gradients stay on the device for `update`. */
  evaluate(terms: readonly Expr[], grads: readonly TensorRequest[], env: Env): { scalars: number[]; grads: number[] } {
    const exec = this.backend.exec;
    for (const [name, id] of this.paramIds) exec.resident.set(name, id);
    try {
      const r = this.backend.evalOnDevice(terms, grads, env, grads.map(() => true));
      return { scalars: r.scalars, grads: r.tensors.map((t) => (t as { buffer: number }).buffer) };
    } finally {
      exec.resident.clear();
    }
  }

  /** One optimizer step on the device: every gradient of `evaluate`, in the same order. */
  update(grads: readonly ResidentGrad[], buffers: readonly number[], lr: number): void {
    this.state.step++;
    const dev = this.backend.device;
    grads.forEach((g, j) => {
      const p = this.params.get(g.param)!;
      const rows = g.rows;
      const variant: UpdateVariant = { kind: this.opt.kind, momentum: this.opt.kind === 'sgd' && this.opt.momentum !== 0, rows: !rows ? 'all' : g.atRows ? 'at-rows' : 'dense-grad' };
      const n = rows ? rows.length * g.width : p.length;
      if (n === 0) return;
      const slots = this.slotIds.get(g.param)!;
      if (slots.length !== slotCount(variant)) throw new Error(`optimizer slots of ${g.param}: ${slots.length}, the update kernel needs ${slotCount(variant)}`);
      const bufs = [this.paramIds.get(g.param)!, buffers[j]!];
      if (rows) {
        const rid = this.rowsIds.get(g.param)!;
        dev.upload(rid, Float32Array.from(rows), `touched rows of ${g.param}`);
        bufs.push(rid);
      }
      bufs.push(...slots);
      const uniforms = new Uint8Array(updateUniforms(this.opt, n, rows ? g.width : 1, lr, this.state.step));
      dev.traffic.toDevice += uniforms.byteLength;
      dev.post({ op: 'optimizer', source: updateSource(variant), uniforms, buffers: bufs, groups: updateGroups(n), what: `update of ${g.param}` });
    });
    this.dirty = true;
  }

  /** Reads params and slots back into the host arrays (evaluations, checkpoints, the end). */
  sync(): void {
    if (!this.dirty) return;
    const names = [...this.paramIds.keys()];
    const ids = names.flatMap((n) => [this.paramIds.get(n)!, ...this.slotIds.get(n)!]);
    const got = this.backend.device.read(ids);
    let k = 0;
    for (const n of names) {
      this.params.get(n)!.set(got[k++]!);
      for (const s of this.state.slots.get(n)!) s.set(got[k++]!);
    }
    this.dirty = false;
  }

  /** Releases the device buffers (the backend stays open). */
  release(): void {
    const ids = [...this.paramIds.values(), ...[...this.slotIds.values()].flat(), ...this.rowsIds.values()];
    this.backend.device.post({ op: 'free', ids });
  }
}

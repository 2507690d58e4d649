// Device-resident training (webgpu): params and optimizer slots (Adam moments, momentum, Adagrad
// sums) live in device buffers across steps; each step's gradients stay on the device and the update
// is a WGSL kernel (exec/webgpu/optimizer.ts). Per step the host uploads only what it drew (a mini-
// batch's ids and their CSR index, sampled ids, the touched rows) and reads back only the loss terms'
// partial sums; it reads params and slots back (`sync`) before an evaluation, a checkpoint and at the
// end. Under user batches (`batch N users`, which slice the params whose first axis is the batched
// domain) the member rows are gathered into a slice on the device before the step and the slice's
// gradient scattered into a zeroed full-size one after it (exec/webgpu/rows.ts), so only the members'
// ids go up and the update is the dense one the CPU path applies.
import type { GradientOptimizerInfo } from '../../compiler/check/model.ts';
import type { Env } from '../../compiler/ir/interp.ts';
import type { Expr } from '../../compiler/ir/nodes.ts';
import type { Backend, TensorRequest } from '../exec/backend.ts';
import { WebGpuBackend } from '../exec/webgpu/backend.ts';
import { slotCount, updateGroups, updateSource, updateUniforms, type UpdateVariant } from '../exec/webgpu/optimizer.ts';
import { postGather, postScatter, rowGroups, windowBinding, windows, zeroSource } from '../exec/webgpu/rows.ts';
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

/** Under user batches: the batched domain, its size, and the params sliced to its members each step. */
export interface SlicedParams {
  readonly domain: string;
  readonly size: number;
  readonly params: ReadonlySet<string>;
}

export class ResidentTrainer {
  /** user batches: the members' ids, each sliced param's slice and full-size gradient buffers */
  private readonly membersId: number;
  private readonly sliceIds = new Map<string, number>();
  private readonly fullGradIds = new Map<string, number>();
  /** the members of the step `evaluate` ran last (their rows are what its sliced gradients hold) */
  private members: Int32Array | undefined;
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
    private readonly sliced?: SlicedParams,
  ) {
    const dev = backend.device;
    this.membersId = dev.id();
    for (const name of sliced?.params ?? []) {
      this.sliceIds.set(name, dev.id());
      this.fullGradIds.set(name, dev.id());
    }
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
  static for(backend: Backend, opt: GradientOptimizerInfo, params: ReadonlyMap<string, Float32Array>, state: OptimizerState, sliced?: SlicedParams): ResidentTrainer | undefined {
    return backend instanceof WebGpuBackend ? new ResidentTrainer(backend, opt, params, state, sliced) : undefined;
  }

  /** Host↔device bytes so far (device.ts). */
  get traffic(): { toDevice: number; toHost: number } {
    return this.backend.device.traffic;
  }

  /** The terms (host numbers) of one step; the gradients stay on the device for `update`. */
  evaluate(terms: readonly Expr[], grads: readonly TensorRequest[], env: Env, members?: Int32Array): { scalars: number[]; grads: number[] } {
    const exec = this.backend.exec;
    const dev = this.backend.device;
    for (const [name, id] of this.paramIds) exec.resident.set(name, id);
    this.members = this.sliced && members ? members : undefined;
    if (this.sliced && this.members) {
      // the batch's member rows of each sliced param, gathered on the device
      const m = this.members;
      dev.upload(this.membersId, Float32Array.from(m), `members of ${this.sliced.domain}`);
      for (const name of this.sliced.params) {
        const cells = this.params.get(name)!.length;
        const width = cells / this.sliced.size;
        const slice = this.sliceIds.get(name)!;
        exec.checkBinding(m.length * width, `the batch's rows of ${name}`);
        postGather(dev, exec.tileCells, { param: this.paramIds.get(name)!, cells, members: this.membersId, rows: m.length, width, what: `rows of ${name}` }, slice);
        exec.resident.set(name, slice);
      }
    }
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
      let grad = buffers[j]!;
      const m = this.members;
      if (m && this.sliced?.params.has(g.param)) {
        // the members' rows of the gradient into a zeroed full-size one (as scatterRows on the host)
        const full = this.fullGradIds.get(g.param)!;
        const width = p.length / this.sliced.size;
        const tile = this.backend.exec.tileCells;
        for (const w of windows(p.length, tile)) {
          const n = w ? w.count : p.length;
          dev.post({ op: 'compute', source: zeroSource(n), buffers: [windowBinding(full, w)], alloc: [{ id: full, n: p.length }], groups: rowGroups(n), what: `gradient of ${g.param}` });
        }
        postScatter(dev, tile, { param: full, cells: p.length, members: this.membersId, rows: m.length, width, what: `gradient rows of ${g.param}` }, grad);
        grad = full;
      }
      let rid: number | undefined;
      if (rows) {
        rid = this.rowsIds.get(g.param)!;
        dev.upload(rid, Float32Array.from(rows), `touched rows of ${g.param}`);
        if (variant.rows === 'at-rows') this.backend.exec.checkBinding(n, `the touched rows' gradient of ${g.param}`);
      }
      // one launch per window of the param that one storage binding spans (one, below the limit)
      const tile = this.backend.exec.tileCells;
      for (let base = 0; base < p.length; base += tile) {
        const count = Math.min(tile, p.length - base);
        const win = (id: number): { id: number; offset: number; size: number } => ({ id, offset: base * 4, size: count * 4 });
        const whole = (id: number, cells: number): { id: number; offset: number; size: number } => ({ id, offset: 0, size: Math.max(1, cells) * 4 });
        const bufs = [win(this.paramIds.get(g.param)!), variant.rows === 'at-rows' ? whole(grad, n) : win(grad)];
        if (rid !== undefined) bufs.push(whole(rid, rows!.length));
        bufs.push(...slots.map(win));
        const threads = rows ? n : count;
        const uniforms = new Uint8Array(updateUniforms(this.opt, threads, rows ? g.width : 1, lr, this.state.step, { base, count }));
        dev.traffic.toDevice += uniforms.byteLength;
        dev.post({ op: 'optimizer', source: updateSource(variant), uniforms, buffers: bufs, groups: updateGroups(threads), what: `update of ${g.param}` });
      }
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
    const ids = [...this.paramIds.values(), ...[...this.slotIds.values()].flat(), ...this.rowsIds.values(), this.membersId, ...this.sliceIds.values(), ...this.fullGradIds.values()];
    this.backend.device.post({ op: 'free', ids });
  }
}

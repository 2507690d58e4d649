// ALS on the device (webgpu): the params stay in device buffers across sweeps; each block update
// evaluates the terms, H and g(0) there (H and g kept in device buffers, never read back), solves every
// row there (exec/webgpu/solve.ts: Cholesky or CG in float32, as als.ts's solveRows does in float64) and
// writes the solved rows straight into the param's buffer. Per update the host reads back the loss
// terms (two float32s per sum) and one u32: the first row whose H_r is not positive definite, if any.
// Under user batches (`batch N users`) each batch's member rows of the params over the batched domain
// are gathered into slices on the device (exec/webgpu/rows.ts), the batch's H and g evaluated on them,
// its rows solved into the block's slice and scattered back into the param; the members' ids and the
// batches' relations go up once. Params come back to the host (`sync`) before evaluations and at the end.
import type { Compiled, CompiledBlock } from '../../compiler/compile.ts';
import { InternalError } from '../../compiler/diagnostics/diagnostics.ts';
import type { Env } from '../../compiler/ir/interp.ts';
import type { Relation } from '../data/load.ts';
import type { Backend } from '../exec/backend.ts';
import { makeEnv } from '../exec/env.ts';
import { WebGpuBackend } from '../exec/webgpu/backend.ts';
import { postGather, postScatter } from '../exec/webgpu/rows.ts';
import { solveOnDevice, type RowSolver } from '../exec/webgpu/solve.ts';

/** One user batch's world (als.ts's AlsBatch, declared structurally so the two files do not import each other). */
export interface DeviceBatch {
  readonly members: Int32Array;
  readonly relations: ReadonlyMap<string, Relation>;
  readonly sizes: ReadonlyMap<string, number>;
}

export class AlsOnDevice {
  private readonly paramIds = new Map<string, number>();
  /** the first bad row of the last solve (one u32) */
  private readonly statusId: number;
  /** user batches: each batch's members on the device and its env; one slice buffer per sliced param */
  private readonly memberIds = new Map<DeviceBatch, number>();
  private readonly batchEnvs = new Map<DeviceBatch, Env>();
  private readonly sliceIds = new Map<string, number>();
  /** set after a solve: the device holds newer params than the host arrays */
  private dirty = false;

  constructor(
    private readonly backend: WebGpuBackend,
    private readonly compiled: Compiled,
    private readonly params: ReadonlyMap<string, Float32Array>,
  ) {
    const dev = backend.device;
    for (const [name, p] of params) {
      backend.exec.checkSize(p.length, `param ${name}`);
      const id = dev.id();
      dev.upload(id, p, name);
      this.paramIds.set(name, id);
    }
    this.statusId = dev.id();
  }

  /** The device trainer for `backend`, or undefined when it is not a webgpu backend. */
  static for(backend: Backend, compiled: Compiled, params: ReadonlyMap<string, Float32Array>): AlsOnDevice | undefined {
    return backend instanceof WebGpuBackend ? new AlsOnDevice(backend, compiled, params) : undefined;
  }

  /** Runs `f` with the params (or, by name, the slices in `instead`) as the executor's resident tensors. */
  private resident<T>(f: () => T, instead?: ReadonlyMap<string, number>): T {
    const exec = this.backend.exec;
    for (const [name, id] of this.paramIds) exec.resident.set(name, instead?.get(name) ?? id);
    try {
      return f();
    } finally {
      exec.resident.clear();
    }
  }

  /** The objective's terms at the device's params. */
  terms(env: Env): number[] {
    const exprs = this.compiled.terms.map((t) => t.expr);
    return this.resident(() => this.backend.evalOnDevice(exprs, [], env, []).scalars);
  }

  /** One exact block update (als.ts's updateBlock) on the device: the terms before it, and the first bad row or −1. */
  update(block: CompiledBlock, env: Env, rows: number, n: number, solver: RowSolver): { terms: number[]; singularRow: number } {
    const exprs = this.compiled.terms.map((t) => t.expr);
    const r = this.resident(() => this.backend.evalOnDevice(exprs, [{ expr: block.hessian.expr, out: block.hessian.out }, { expr: block.gradAtZero.expr, out: block.gradAtZero.out }], env, [true, true]));
    const [h, g] = r.tensors.map(bufferOf);
    const singularRow = this.solve(h!, g!, this.paramIds.get(block.param)!, rows, n, solver, block.param);
    return { terms: r.scalars, singularRow };
  }

  /**
   * The update of a block over the batched domain, batch by batch (als.ts's updateBlockBatched):
   * returns the first bad row (a dense id of the domain), or −1; the batches after it are not solved.
   */
  updateBatched(block: CompiledBlock, env: Env, n: number, domain: string, batches: readonly DeviceBatch[], solver: RowSolver): number {
    const dev = this.backend.device;
    const exec = this.backend.exec;
    const domainSize = env.sizes.get(domain)!;
    const sliced = this.compiled.module.params.filter((p) => p.shape[0] === domain).map((p) => p.name);
    for (const b of batches) {
      const m = b.members;
      let members = this.memberIds.get(b);
      if (members === undefined) {
        members = dev.id();
        dev.upload(members, Float32Array.from(m), `members of a batch of ${domain}`);
        this.memberIds.set(b, members);
      }
      // the members' rows of every param over the domain, gathered into its slice
      const slices = new Map<string, number>();
      for (const name of sliced) {
        const cells = this.params.get(name)!.length;
        const width = cells / domainSize;
        let slice = this.sliceIds.get(name);
        if (slice === undefined) this.sliceIds.set(name, (slice = dev.id()));
        exec.checkBinding(m.length * width, `the batch's rows of ${name}`);
        postGather(dev, exec.tileCells, { param: this.paramIds.get(name)!, cells, members, rows: m.length, width, what: `rows of ${name}` }, slice);
        slices.set(name, slice);
      }
      const benv = this.batchEnv(env, domain, domainSize, b);
      const r = this.resident(() => this.backend.evalOnDevice([], [{ expr: block.hessian.expr, out: block.hessian.out }, { expr: block.gradAtZero.expr, out: block.gradAtZero.out }], benv, [true, true]), slices);
      const [h, g] = r.tensors.map(bufferOf);
      const slice = slices.get(block.param)!;
      const bad = this.solve(h!, g!, slice, m.length, n, solver, block.param);
      // the slice's rows (solved, or as they were from the bad row on) back into the param
      postScatter(dev, exec.tileCells, { param: this.paramIds.get(block.param)!, cells: this.params.get(block.param)!.length, members, rows: m.length, width: n, what: `solved rows of ${block.param}` }, slice);
      if (bad >= 0) return m[bad]!;
    }
    return -1;
  }

  /**
   * The env of a batch: its relations and sizes; every param over the domain has the batch's shape (its
   * values are the device's slices: the host arrays here only give the shapes). Made once per batch, so
   * its data columns are uploaded once.
   */
  private batchEnv(env: Env, domain: string, domainSize: number, b: DeviceBatch): Env {
    let e = this.batchEnvs.get(b);
    if (!e) {
      const params = new Map<string, Float32Array>();
      for (const p of this.compiled.module.params) {
        const full = env.tensors.get(p.name)!.data as Float32Array;
        params.set(p.name, p.shape[0] === domain ? new Float32Array((full.length / domainSize) * b.members.length) : full);
      }
      e = makeEnv(this.compiled, b.sizes, params, b.relations);
      this.batchEnvs.set(b, e);
    }
    return e;
  }

  /** Solves every row into `p` (solve.ts); the first bad row or −1. */
  private solve(h: number, g: number, p: number, rows: number, n: number, solver: RowSolver, param: string): number {
    this.dirty = true;
    return solveOnDevice(this.backend.device, this.backend.exec.tileCells, this.statusId, { h, g, p }, rows, n, solver, `the row solves of ${param}`);
  }

  /** Reads the params back into the host arrays (evaluations, the end). */
  sync(): void {
    if (!this.dirty) return;
    const names = [...this.paramIds.keys()];
    const got = this.backend.device.read(names.map((n) => this.paramIds.get(n)!));
    names.forEach((n, k) => this.params.get(n)!.set(got[k]!));
    this.dirty = false;
  }

  /** Releases the device buffers (the backend stays open). */
  release(): void {
    this.backend.device.post({ op: 'free', ids: [...this.paramIds.values(), this.statusId, ...this.memberIds.values(), ...this.sliceIds.values()] });
  }
}

function bufferOf(t: number | Float32Array | { readonly buffer: number }): number {
  if (typeof t === 'object' && !(t instanceof Float32Array)) return t.buffer;
  throw new InternalError('a tensor kept on the device came back to the host');
}

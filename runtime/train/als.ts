// als: training by alternating exact block updates (`optimizer als(sweeps = N)`). The compiler proved
// each block quadratic with independent rows and derived, per block, H_r (rows × n × n) and g_r(0)
// (rows × n) (compiler/passes/block-quadratic.ts, Compiled.blocks). A sweep updates the blocks in
// order; each update evaluates H and g(0) through the Backend at the current values of the other
// blocks — the shared d×d parts (Gramians) once, the per-row corrections as CSR walks, as planned —
// and solves every row's H_r p_r = −g_r(0) in float64: a Cholesky factorization, or `steps` conjugate-
// gradient iterations started from the current row. Each update is then the exact minimizer over that
// block (Cholesky) or a descent step towards it (CG), so the objective never increases. Always on the
// whole training data: a sweep is one pass. A row whose H_r and g_r(0) are zero (an id without any
// data, under per-observation regularization) keeps its value; any other H_r that is not positive
// definite stops the run, naming the block.
// With `batch N users` (user mini-batches), a block whose rows are that domain is solved N rows at a
// time: each batch's H_r and g_r(0) come from the batch's world (its tuples, its rows of the params,
// the domain's size |B|: user-batch.ts, as the gradient trainer's steps), so H holds N·n² numbers
// instead of |user|·n². The rows are independent, so the batches of one update see the same other
// blocks and the update is that of the whole block; each batch lands on the minimizer of the model's
// batch objective over its rows, which is the whole objective's when every term that reads the block
// scales alike under the batch (sums over the batched domain, means over relations: the examples).
// The other blocks are solved on all the training data, once per sweep.
// On webgpu the params stay on the device and every update, the row solves included, runs there
// (als-device.ts): only the loss terms and one status word per update come back.
import type { Compiled, CompiledBlock } from '../../compiler/compile.ts';
import type { AlsInfo } from '../../compiler/check/model.ts';
import type { Env } from '../../compiler/ir/interp.ts';
import { evalMany, type Backend } from '../exec/backend.ts';
import type { Dataset } from '../data/dataset.ts';
import type { EvalResult } from '../eval/evaluate.ts';
import type { EarlyStopping } from './early-stop.ts';
import { HeldOut, type HeldOutReport } from './held-out.ts';
import { makeEnv, sizesFor } from '../exec/env.ts';
import type { Relation } from '../data/load.ts';
import { initParams, warmStart, type StepLog } from './init.ts';
import { restrictRelations } from './user-batch.ts';
import { AlsOnDevice } from './als-device.ts';

// train.ts dispatches here and hands over its options and returns this result: the shapes are
// train.ts's TrainOptions and TrainResult (declared structurally, so the two files do not import each
// other); a sweep is logged as a step and as an epoch (init.ts's StepLog).

export interface AlsOptions {
  readonly backend: Backend;
  readonly init?: ReadonlyMap<string, Float32Array>;
  readonly onStep?: (log: StepLog) => void;
  /** called once before the first sweep (a sweep is a step and an epoch) */
  readonly onStart?: (plan: { readonly totalSteps: number; readonly stepsPerEpoch: number; readonly startStep: number }) => void;
  readonly onEval?: (r: EvalResult) => void;
  /** overrides the number of sweeps */
  readonly steps?: number;
  readonly epochs?: number;
  /** early stopping resumed from a checkpoint (held-out.ts) */
  readonly earlyStopping?: EarlyStopping;
}

export interface AlsResult {
  readonly params: ReadonlyMap<string, Float32Array>;
  readonly log: readonly StepLog[];
  readonly evals: readonly EvalResult[];
  readonly stepsRun: number;
  readonly diverged?: { readonly term: string; readonly step: number; readonly value: number };
  readonly heldOut: HeldOutReport;
  readonly seconds: number;
}

export type Solver = AlsInfo['solver'];

/** The rows and the length n of one row of a block at these sizes. */
export function blockShape(block: CompiledBlock, sizes: ReadonlyMap<string, number>): { rows: number; n: number } {
  const axes = block.gradAtZero.out.map((i) => sizes.get(i.space)!);
  const rows = block.hasRowAxis ? axes[0]! : 1;
  const n = (block.hasRowAxis ? axes.slice(1) : axes).reduce((a, b) => a * b, 1);
  return { rows, n };
}

/**
 * Solves H_r x_r = −g_r for every row r (H: rows × n × n, g: rows × n, row-major) into `x`, which
 * holds the current values (CG starts from them; a row with H_r = 0 and g_r = 0 keeps them). Returns
 * the first row whose H_r is not positive definite (Cholesky) or −1.
 */
export function solveRows(H: ArrayLike<number>, g: ArrayLike<number>, rows: number, n: number, solver: Solver, x: Float32Array | Float64Array): number {
  const L = new Float64Array(n * n);
  const b = new Float64Array(n);
  const r = new Float64Array(n);
  const p = new Float64Array(n);
  const Ap = new Float64Array(n);
  const xr = new Float64Array(n);
  for (let row = 0; row < rows; row++) {
    const h0 = row * n * n;
    const g0 = row * n;
    let zero = true;
    for (let j = 0; j < n * n && zero; j++) if (H[h0 + j] !== 0) zero = false;
    for (let j = 0; j < n && zero; j++) if (g[g0 + j] !== 0) zero = false;
    if (zero) continue;
    for (let j = 0; j < n; j++) b[j] = -g[g0 + j]!;
    if (solver.kind === 'cholesky') {
      // H_r = L Lᵀ (lower triangle of H_r), then forward and back substitution
      for (let i = 0; i < n; i++) {
        for (let j = 0; j <= i; j++) {
          let s = H[h0 + i * n + j]!;
          for (let k = 0; k < j; k++) s -= L[i * n + k]! * L[j * n + k]!;
          if (i === j) {
            if (!(s > 0)) return row;
            L[i * n + i] = Math.sqrt(s);
          } else L[i * n + j] = s / L[j * n + j]!;
        }
      }
      for (let i = 0; i < n; i++) {
        let s = b[i]!;
        for (let k = 0; k < i; k++) s -= L[i * n + k]! * xr[k]!;
        xr[i] = s / L[i * n + i]!;
      }
      for (let i = n - 1; i >= 0; i--) {
        let s = xr[i]!;
        for (let k = i + 1; k < n; k++) s -= L[k * n + i]! * xr[k]!;
        xr[i] = s / L[i * n + i]!;
      }
    } else {
      // conjugate gradient on H_r x = b from the current row
      for (let j = 0; j < n; j++) xr[j] = x[g0 + j]!;
      for (let i = 0; i < n; i++) {
        let s = b[i]!;
        for (let k = 0; k < n; k++) s -= H[h0 + i * n + k]! * xr[k]!;
        r[i] = s;
        p[i] = s;
      }
      let rr = 0;
      for (let i = 0; i < n; i++) rr += r[i]! * r[i]!;
      for (let step = 0; step < solver.steps && rr > 0; step++) {
        let pAp = 0;
        for (let i = 0; i < n; i++) {
          let s = 0;
          for (let k = 0; k < n; k++) s += H[h0 + i * n + k]! * p[k]!;
          Ap[i] = s;
          pAp += p[i]! * s;
        }
        if (!(pAp > 0)) return row;
        const alpha = rr / pAp;
        let rr2 = 0;
        for (let i = 0; i < n; i++) {
          xr[i] = xr[i]! + alpha * p[i]!;
          r[i] = r[i]! - alpha * Ap[i]!;
          rr2 += r[i]! * r[i]!;
        }
        const beta = rr2 / rr;
        for (let i = 0; i < n; i++) p[i] = r[i]! + beta * p[i]!;
        rr = rr2;
      }
    }
    for (let j = 0; j < n; j++) x[g0 + j] = xr[j]!;
  }
  return -1;
}

/**
 * One exact block update in place: evaluates the objective's terms (at the values before the update),
 * H and g(0) in one backend call, and solves every row into `env`'s tensor of the block (the param's
 * array itself, so the next block sees the new values). `singularRow` ≥ 0 names a row whose H_r is
 * not positive definite (that row and the ones after it are left as they were).
 */
export function updateBlock(compiled: Compiled, block: CompiledBlock, backend: Backend, env: Env, solver: Solver): { terms: number[]; singularRow: number } {
  const many = evalMany(
    backend,
    compiled.terms.map((t) => t.expr),
    [{ expr: block.hessian.expr, out: block.hessian.out }, { expr: block.gradAtZero.expr, out: block.gradAtZero.out }],
    env,
  );
  const { rows, n } = blockShape(block, env.sizes);
  const target = env.tensors.get(block.param)!.data as Float32Array | Float64Array;
  const singularRow = solveRows(many.tensors[0]!, many.tensors[1]!, rows, n, solver, target);
  return { terms: many.scalars, singularRow };
}

/** One user batch's world: its members (dense ids), relations and sizes; fixed across sweeps. */
export interface AlsBatch {
  readonly members: Int32Array;
  readonly relations: ReadonlyMap<string, Relation>;
  readonly sizes: ReadonlyMap<string, number>;
}

/**
 * The batches of `batch N users` for ALS: contiguous runs of N members of the domain in id order (the
 * rows are independent, so the order does not change an update), or undefined without user batches
 * smaller than the domain.
 */
export function alsBatches(compiled: Compiled, ds: Dataset): { domain: string; batches: AlsBatch[] } | undefined {
  const b = compiled.model.train.batch;
  if (b.kind !== 'users') return undefined;
  const full = ds.train;
  const n = ds.ids.get(b.domain).size;
  if (b.size >= n) return undefined;
  const batches: AlsBatch[] = [];
  for (let lo = 0; lo < n; lo += b.size) {
    const members = Int32Array.from({ length: Math.min(b.size, n - lo) }, (_, j) => lo + j);
    const relations = restrictRelations(full, b.domain, members, n);
    const sizes = sizesFor(compiled, ds, relations, full);
    sizes.set(b.domain, members.length);
    batches.push({ members, relations, sizes });
  }
  return { domain: b.domain, batches };
}

/** Whether `block` is solved batch by batch: its param's rows are the batched domain. */
export function isBatchedBlock(compiled: Compiled, block: CompiledBlock, domain: string | undefined): boolean {
  return domain !== undefined && block.hasRowAxis && compiled.module.params.find((p) => p.name === block.param)?.shape[0] === domain;
}

/**
 * The update of a block over the batched domain, one batch at a time: each batch's H and g(0) in its
 * world (the params over the domain sliced to its rows), its rows solved and written back into `env`'s
 * array of the block. Returns the first row (a dense id of the domain) whose H_r is not positive
 * definite, or −1.
 */
export function updateBlockBatched(compiled: Compiled, block: CompiledBlock, backend: Backend, env: Env, domain: string, batches: readonly AlsBatch[], solver: Solver): number {
  const target = env.tensors.get(block.param)!.data as Float32Array | Float64Array;
  const { n } = blockShape(block, env.sizes);
  const domainSize = env.sizes.get(domain)!;
  for (const b of batches) {
    const benv = batchEnv(compiled, env, domain, domainSize, b);
    const many = evalMany(backend, [], [{ expr: block.hessian.expr, out: block.hessian.out }, { expr: block.gradAtZero.expr, out: block.gradAtZero.out }], benv);
    const rows = benv.tensors.get(block.param)!.data as Float32Array | Float64Array;
    const bad = solveRows(many.tensors[0]!, many.tensors[1]!, b.members.length, n, solver, rows);
    b.members.forEach((m, j) => target.set(rows.subarray(j * n, j * n + n), m * n));
    if (bad >= 0) return b.members[bad]!;
  }
  return -1;
}

/** `env` seen from one batch: its relations and sizes, every param over the domain sliced to its rows. */
export function batchEnv(compiled: Compiled, env: Env, domain: string, domainSize: number, b: AlsBatch): Env {
  const params = new Map<string, Float32Array>();
  for (const p of compiled.module.params) {
    const full = env.tensors.get(p.name)!.data as Float32Array | Float64Array;
    if (p.shape[0] !== domain) {
      params.set(p.name, full as Float32Array);
      continue;
    }
    const row = full.length / domainSize;
    const slice = new (full.constructor as Float32ArrayConstructor | Float64ArrayConstructor)(b.members.length * row);
    b.members.forEach((m, j) => slice.set(full.subarray(m * row, m * row + row), j * row));
    params.set(p.name, slice as Float32Array);
  }
  return makeEnv(compiled, b.sizes, params, b.relations);
}

export function trainAls(compiled: Compiled, ds: Dataset, opts: AlsOptions): AlsResult {
  const started = performance.now();
  const cfg = compiled.model.train;
  const opt = cfg.optimizer;
  if (opt.kind !== 'als' || !compiled.blocks) throw new Error('trainAls: the model is not compiled for `optimizer als`');
  const full = ds.train;
  const sizes = sizesFor(compiled, ds, full, full);
  const params = initParams(compiled, sizes, cfg.seed);
  warmStart(params, opts.init);
  // no sampler tables: the compiler refuses ALS for an objective that draws samples
  const env = makeEnv(compiled, sizes, params, full);
  const batched = alsBatches(compiled, ds);
  const sweeps = opts.steps ?? opts.epochs ?? opt.sweeps;
  const every = compiled.model.evaluate.every;
  const evalEvery = every ? every.count : 0;
  const log: StepLog[] = [];
  const evals: EvalResult[] = [];
  // what evaluations measure (validation or test) and early stopping, as in the gradient loop (held-out.ts)
  const heldOut = new HeldOut(compiled, ds, opts.backend, opts.earlyStopping);
  // webgpu: params resident on the device, updates solved there (als-device.ts)
  const dev = AlsOnDevice.for(opts.backend, compiled, params);
  let stopped = false;
  const evaluateNow = (sweep: number): void => {
    dev?.sync();
    stopped = heldOut.evaluate(params, sweep, sweep, (r) => {
      evals.push(r);
      opts.onEval?.(r);
    });
  };
  const record = (sweep: number, values: readonly number[], t0: number): StepLog => {
    const terms = Object.create(null) as Record<string, number>;
    compiled.terms.forEach((t, j) => (terms[t.name] = values[j]!));
    return { step: sweep, epoch: sweep, lr: 0, terms, total: values.reduce((a, b) => a + b, 0), ms: performance.now() - t0 };
  };
  const firstNonFinite = (values: readonly number[]): number => values.findIndex((x) => !Number.isFinite(x));

  let diverged: AlsResult['diverged'];
  let sweep = 0;
  let t0 = performance.now();
  // the device's buffers are released however the sweeps end (a throw included)
  try {
    opts.onStart?.({ totalSteps: sweeps, stepsPerEpoch: 1, startStep: 0 });
    for (; sweep < sweeps && !diverged && !stopped; sweep++) {
      t0 = performance.now();
      for (const [j, block] of compiled.blocks.entries()) {
        const inBatches = batched !== undefined && isBatchedBlock(compiled, block, batched.domain);
        // a batched block's update evaluates no terms on all the data: the objective is evaluated apart
        const shape = blockShape(block, env.sizes);
        const { terms, singularRow } = dev
          ? inBatches
            ? { terms: dev.terms(env), singularRow: dev.updateBatched(block, env, shape.n, batched.domain, batched.batches, opt.solver) }
            : dev.update(block, env, shape.rows, shape.n, opt.solver)
          : inBatches
            ? { terms: evalMany(opts.backend, compiled.terms.map((t) => t.expr), [], env).scalars, singularRow: updateBlockBatched(compiled, block, opts.backend, env, batched.domain, batched.batches, opt.solver) }
            : updateBlock(compiled, block, opts.backend, env, opt.solver);
        // the terms at the start of the sweep close the previous sweep's log entry
        if (j === 0 && sweep > 0) {
          const done = record(sweep, terms, t0);
          log.push(done);
          opts.onStep?.(done);
          if (evalEvery > 0 && sweep % evalEvery === 0) evaluateNow(sweep);
          if (stopped) break;
        }
        const bad = firstNonFinite(terms);
        if (bad >= 0) {
          diverged = { term: compiled.terms[bad]!.name, step: sweep + 1, value: terms[bad]! };
          break;
        }
        if (singularRow >= 0) {
          diverged = { term: `H(${block.param})`, step: sweep + 1, value: singularRow };
          break;
        }
      }
    }
    if (!diverged) {
      // the objective after the last sweep
      const values = dev ? dev.terms(env) : evalMany(opts.backend, compiled.terms.map((t) => t.expr), [], env).scalars;
      const done = record(sweep, values, t0);
      log.push(done);
      opts.onStep?.(done);
      if (!stopped && evals.at(-1)?.step !== sweep) evaluateNow(sweep);
    }
    dev?.sync();
  } finally {
    dev?.release();
  }
  const stepsRun = diverged ? diverged.step - 1 : sweep;
  const heldOutReport = heldOut.finish(params, stepsRun, 1, { diverged: diverged !== undefined, stoppedEarly: stopped && sweep < sweeps }, (r) => opts.onEval?.(r));
  return { params, log, evals, stepsRun, diverged, heldOut: heldOutReport, seconds: (performance.now() - started) / 1000 };
}

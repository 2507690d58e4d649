// A backend evaluates IR expressions over an environment of tensors: the float64 reference
// interpreter (the oracle, slow) or gpu.js kernels (runtime/executor.ts). The trainer talks only to
// this interface, so every training path can be checked against the reference.
import { evalTensor, type Env } from '../../compiler/ir/interp.ts';
import type { Expr, Idx } from '../../compiler/ir/nodes.ts';
import type { Arena } from './wasm/memory.ts';

export interface Backend {
  readonly name: string;
  /** a closed expression's value */
  scalar(e: Expr, env: Env): number;
  /** an expression over its free indices `out`, row-major */
  tensor(e: Expr, out: readonly Idx[], env: Env): Float32Array | Float64Array;
  /**
   * Several expressions over one env at once (the terms and gradients of a training step), so a
   * backend can share their common work. Optional: `evalMany` below falls back to one call each.
   */
  evalMany?(scalars: readonly Expr[], tensors: readonly TensorRequest[], env: Env, opts?: EvalManyOptions): ManyResult;
  /** Optional: moves params (by name) into the backend's own memory once; the map then holds views
   * there, which the optimizer updates in place (wasm: the kernels' arena) */
  adopt?(params: Map<string, Float32Array>): void;
  /** Optional: the wasm kernels' memory (params adopted there, step outputs there), for an optimizer
   * that updates in place (runtime/train/wasm-update.ts); undefined on other backends */
  wasmArena?(): Arena | undefined;
  /** Optional: the threads this backend was given (wasm: --threads); the trainer uses a second one
   * to gather the next batch while a step runs (runtime/train/batch-prefetch.ts). Default 1 */
  readonly threads?: number;
  /** releases kernels and buffers */
  dispose(): void;
}

/** An expression over its free indices `out`, row-major. */
export interface TensorRequest {
  readonly expr: Expr;
  readonly out: readonly Idx[];
}

export interface EvalManyOptions {
  /**
   * the caller reads the tensors before its next `reuse` call: a backend may write them into buffers
   * it keeps and overwrites then (a training step's gradients: no fresh arrays every step)
   */
  readonly reuse?: boolean;
}

export interface ManyResult {
  readonly scalars: number[];
  readonly tensors: (Float32Array | Float64Array)[];
}

/** `backend.evalMany` when it has one, else each expression on its own: same values either way. */
export function evalMany(backend: Backend, scalars: readonly Expr[], tensors: readonly TensorRequest[], env: Env, opts?: EvalManyOptions): ManyResult {
  if (backend.evalMany) return backend.evalMany(scalars, tensors, env, opts);
  return { scalars: scalars.map((e) => backend.scalar(e, env)), tensors: tensors.map((t) => backend.tensor(t.expr, t.out, env)) };
}

export class ReferenceBackend implements Backend {
  readonly name = 'reference (float64 interpreter)';
  scalar(e: Expr, env: Env): number {
    return evalTensor(e, env, [])[0]!;
  }
  tensor(e: Expr, out: readonly Idx[], env: Env): Float64Array {
    return evalTensor(e, env, out);
  }
  dispose(): void {}
}

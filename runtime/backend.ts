// A backend evaluates IR expressions over an environment of tensors: the float64 reference
// interpreter (the oracle, slow) or gpu.js kernels (runtime/executor.ts). The trainer talks only to
// this interface, so every training path can be checked against the reference.
import { evalTensor, type Env } from '../compiler/ir/interp.ts';
import type { Expr, Idx } from '../compiler/ir/nodes.ts';

export interface Backend {
  readonly name: string;
  /** a closed expression's value */
  scalar(e: Expr, env: Env): number;
  /** an expression over its free indices `out`, row-major */
  tensor(e: Expr, out: readonly Idx[], env: Env): Float32Array | Float64Array;
  /** releases kernels and buffers */
  dispose(): void;
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

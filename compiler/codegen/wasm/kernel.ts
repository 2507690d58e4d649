// Codegen: one planned kernel step → a WebAssembly kernel (the `wasm` mode). The step's schedule is
// its js kernel's (codegen/js.ts); parse.ts reads that closed statement language back and gen.ts
// lowers it to one wasm function over the runtime's shared memory, with f64x2 SIMD inner loops and a
// row range for threads. A step the lowering does not cover gives `unsupported` with the reason:
// the runtime then runs the step's js kernel and counts it (never a wrong kernel).
import { InternalError } from '../../diagnostics/diagnostics.ts';
import { assertNever } from '../../ir/nodes.ts';
import type { Arg, KernelPlan, Step } from '../../plan/plan.ts';
import { emitJsKernel, type EmittedJs } from '../js.ts';
import { genFunction, type Elem, type WasmFunction } from './gen.ts';
import { parseKernel, Unsupported } from '../parse.ts';

export { IMPORTS, MAX_PAGES } from './gen.ts';

export type EmittedWasm =
  | ({ readonly ok: true; readonly js: EmittedJs; readonly elems: readonly Elem[] } & WasmFunction)
  | { readonly ok: false; readonly js: EmittedJs; readonly unsupported: string };

/** How a kernel argument lies in memory: float32 values, or int32 ids and CSR arrays. */
export function argElem(a: Arg): Elem {
  switch (a.kind) {
    case 'tensor':
    case 'temp':
      return 'f32';
    case 'ids':
    case 'csr-offsets':
    case 'csr-perm':
    case 'csr-ids':
      return 'i32';
    default:
      return assertNever(a);
  }
}

/** The wasm kernel of a `kernel` step, or why it has none (its js kernel is always given). */
export function emitWasmKernel(step: Step, plan: Pick<KernelPlan, 'sizes' | 'steps'>): EmittedWasm {
  const js = emitJsKernel(step, plan);
  const elems = step.args.map(argElem);
  try {
    return { ok: true, js, elems, ...genFunction(parseKernel(js.source), elems) };
  } catch (e) {
    if (e instanceof Unsupported) return { ok: false, js, unsupported: e.message };
    if (e instanceof Error && !(e instanceof InternalError)) throw new InternalError(`wasm codegen of step ${step.name}: ${e.message}`);
    throw e;
  }
}

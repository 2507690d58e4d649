// The optimizer step where the wasm kernels run (`--mode wasm`): params already live in the kernels'
// memory (Backend.adopt), the optimizer slots move there once, and a step's gradients are the
// kernels' own output buffers there, so the finiteness check and the update run as WebAssembly over
// them in place (runtime/exec/wasm/optimizer.ts) — the same numbers as optimizer.ts's JS loops, in a
// fraction of the time. A gradient that is not in that memory (a host-evaluated scalar such as ∂μ)
// takes the JS path. Used by train.ts when the backend has a wasm arena and batches are not user
// batches (those slice the params per step).
import type { GradientOptimizerInfo } from '../../compiler/check/model.ts';
import type { Backend } from '../exec/backend.ts';
import type { Arena } from '../exec/wasm/memory.ts';
import { WasmOptimizer, type Segments, type UpdateRule } from '../exec/wasm/optimizer.ts';
import type { OptimizerState } from './optimizer.ts';

/** A gradient of this step, in the kernels' memory. */
export interface ArenaGrad {
  readonly param: string;
  /** touched rows (lazy update of those rows only); absent: every element */
  readonly rows?: Int32Array;
  /** the gradient holds only the touched rows, row r ↔ rows[r] (else it is dense, read at rows[r]) */
  readonly atRows: boolean;
  /** elements per row (the param's trailing dims; unused when dense) */
  readonly width: number;
  readonly value: Float32Array;
}

export class WasmUpdater {
  private readonly kernels: WasmOptimizer;
  /** per param: the key of its touched rows' scratch */
  private readonly rowKeys = new Map<string, object>();
  private readonly outKey = {};

  private constructor(
    private readonly arena: Arena,
    private readonly opt: GradientOptimizerInfo,
    private readonly params: ReadonlyMap<string, Float32Array>,
    private readonly state: OptimizerState,
  ) {
    this.kernels = new WasmOptimizer(arena.memory);
    // the slots move next to the params, once (a view replaces each array in the state)
    for (const [name, slots] of state.slots) {
      const list = slots as Float32Array[];
      for (let k = 0; k < list.length; k++) if (arena.addressOf(list[k]!) === undefined) list[k] = arena.resident(list[k]!);
      this.rowKeys.set(name, {});
    }
  }

  /** The updater for `backend`, or undefined when it has no wasm memory holding every param. */
  static for(backend: Backend, opt: GradientOptimizerInfo, params: ReadonlyMap<string, Float32Array>, state: OptimizerState): WasmUpdater | undefined {
    const arena = backend.wasmArena?.();
    if (!arena || [...params.values()].some((p) => arena.addressOf(p) === undefined)) return undefined;
    return new WasmUpdater(arena, opt, params, state);
  }

  /** Whether `value` (a gradient the backend returned) lies in the kernels' memory. */
  holds(value: Float32Array | Float64Array): value is Float32Array {
    return value instanceof Float32Array && this.arena.addressOf(value) !== undefined;
  }

  /** The first element of `g` (in row order) that is not finite, or undefined when all are. */
  firstNonFinite(g: ArenaGrad): number | undefined {
    const at = this.kernels.firstNonFinite(this.segments(g), this.arena.scratch(this.outKey, 4));
    return at === 0 ? undefined : new Float32Array(this.arena.memory.buffer, at, 1)[0]!;
  }

  /** Updates each gradient's param; call after optimizer.ts's applyUpdate of this step (it counts the step). */
  update(grads: readonly ArenaGrad[], lr: number): void {
    const o = this.opt;
    const t = this.state.step;
    const [rule, h]: [UpdateRule, number[]] =
      o.kind === 'adam' ? ['adam', [o.beta1, 1 - o.beta1, o.beta2, 1 - o.beta2, o.eps, 1 - Math.pow(o.beta1, t), 1 - Math.pow(o.beta2, t)]]
      : o.kind === 'adagrad' ? ['adagrad', [o.eps]]
      : o.momentum !== 0 ? ['momentum', [o.momentum]]
      : ['sgd', []];
    for (const g of grads) {
      const slots = this.state.slots.get(g.param)!;
      const at = (k: number): number => (slots[k] ? this.arena.addressOf(slots[k]!)! : 0);
      this.kernels.update(rule, this.segments(g), at(0), at(1), lr, h);
    }
  }

  /** Where `g` and its param lie: the touched rows copied into scratch, or one row of the whole param. */
  private segments(g: ArenaGrad): Segments {
    const p = this.params.get(g.param)!;
    const gAt = this.arena.addressOf(g.value)!;
    if (!g.rows) return { p: this.arena.addressOf(p)!, g: gAt, rows: 0, n: 1, width: p.length, atRows: true };
    const rowsAt = this.arena.scratch(this.rowKeys.get(g.param)!, Math.max(4, g.rows.byteLength));
    new Int32Array(this.arena.memory.buffer, rowsAt, g.rows.length).set(g.rows);
    // scratch may have grown the memory: the param's address is asked for after it
    return { p: this.arena.addressOf(p)!, g: gAt, rows: rowsAt, n: g.rows.length, width: g.width, atRows: g.atRows };
  }
}

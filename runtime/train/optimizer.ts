// Optimizers and learning-rate schedules. Updates are elementwise over each param's flat float32
// buffer, in place:
//   sgd:      m ← μ·m + g;            θ ← θ − η·m            (μ = 0: plain SGD)
//   adagrad:  s ← s + g²;             θ ← θ − η·g / (√s + ε)
//   adam:     m ← β₁m + (1−β₁)g;  v ← β₂v + (1−β₂)g²;  θ ← θ − η·m̂ / (√v̂ + ε), with bias correction
// A row-sparse gradient (zero outside the rows a batch touched) updates those rows only, and only
// their slots: the "lazy" semantics of PyTorch's SparseAdam and TF's LazyAdam. For plain SGD and
// Adagrad that is exactly the dense update; with momentum or Adam an untouched row keeps its value
// and its moments instead of drifting on stale momentum, and the bias correction uses the global step.
import type { GradientOptimizerInfo as OptimizerInfo, ScheduleInfo } from '../../compiler/check/model.ts';

export interface OptimizerState {
  readonly slots: ReadonlyMap<string, readonly Float32Array[]>;
  step: number;
}

export function createState(opt: OptimizerInfo, params: ReadonlyMap<string, Float32Array>): OptimizerState {
  const nSlots = opt.kind === 'adam' ? 2 : opt.kind === 'sgd' && opt.momentum === 0 ? 0 : 1;
  const slots = new Map<string, Float32Array[]>();
  for (const [name, p] of params) slots.set(name, Array.from({ length: nSlots }, () => new Float32Array(p.length)));
  return { slots, step: 0 };
}

/** Learning rate at a 0-based step. */
export function learningRate(opt: OptimizerInfo, schedule: ScheduleInfo, step: number): number {
  switch (schedule.kind) {
    case 'constant':
      return opt.lr;
    case 'step':
      return opt.lr * Math.pow(schedule.factor, Math.floor(step / schedule.every));
    case 'exponential':
      return opt.lr * Math.pow(schedule.factor, step);
  }
}

/**
 * A gradient that is zero outside `rows` (ids along the param's first axis, distinct): row r of
 * `values` (`width` elements) is the gradient of param row rows[r].
 */
export interface RowSparseGrad {
  readonly rows: Int32Array;
  readonly values: ArrayLike<number>;
  readonly width: number;
}

export type Gradient = ArrayLike<number> | RowSparseGrad;

export function isRowSparse(g: Gradient): g is RowSparseGrad {
  return (g as RowSparseGrad).rows instanceof Int32Array;
}

/** Applies one update to every param with a gradient. */
export function applyUpdate(
  opt: OptimizerInfo,
  state: OptimizerState,
  params: ReadonlyMap<string, Float32Array>,
  grads: ReadonlyMap<string, Gradient>,
  lr: number,
): void {
  state.step++;
  for (const [name, g] of grads) {
    const p = params.get(name)!;
    // the elements to update as segments [start, start + len) of p, read from g at offset `from`:
    // one segment for a dense gradient, one per touched row for a row-sparse one
    const sparse = isRowSparse(g);
    const values = sparse ? g.values : g;
    const n = sparse ? g.rows.length : 1;
    const len = sparse ? g.width : p.length;
    const rows = sparse ? g.rows : undefined;
    const slots = state.slots.get(name)!;
    switch (opt.kind) {
      case 'sgd': {
        const m = slots[0];
        const mu = opt.momentum;
        for (let r = 0; r < n; r++) {
          const base = rows ? rows[r]! * len : 0;
          for (let c = 0; c < len; c++) {
            const j = base + c;
            const gj = values[r * len + c]!;
            if (m) {
              m[j] = mu * m[j]! + gj;
              p[j] = p[j]! - lr * m[j]!;
            } else p[j] = p[j]! - lr * gj;
          }
        }
        break;
      }
      case 'adagrad': {
        const s = slots[0]!;
        for (let r = 0; r < n; r++) {
          const base = rows ? rows[r]! * len : 0;
          for (let c = 0; c < len; c++) {
            const j = base + c;
            const gj = values[r * len + c]!;
            s[j] = s[j]! + gj * gj;
            p[j] = p[j]! - (lr * gj) / (Math.sqrt(s[j]!) + opt.eps);
          }
        }
        break;
      }
      case 'adam': {
        const [m, v] = slots as [Float32Array, Float32Array];
        const { beta1, beta2, eps } = opt;
        const c1 = 1 - Math.pow(beta1, state.step);
        const c2 = 1 - Math.pow(beta2, state.step);
        for (let r = 0; r < n; r++) {
          const base = rows ? rows[r]! * len : 0;
          for (let c = 0; c < len; c++) {
            const j = base + c;
            const gj = values[r * len + c]!;
            m[j] = beta1 * m[j]! + (1 - beta1) * gj;
            v[j] = beta2 * v[j]! + (1 - beta2) * gj * gj;
            p[j] = p[j]! - (lr * (m[j]! / c1)) / (Math.sqrt(v[j]! / c2) + eps);
          }
        }
        break;
      }
    }
  }
}

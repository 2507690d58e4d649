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
  for (const [name, p] of params) slots.set(name, Array.from({ length: nSlots }, () => new Float32Array(p.length).fill(0)));
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
    const slots = state.slots.get(name)!;
    // the elements to update as segments: one for a dense gradient (rows undefined, the whole param),
    // one per touched row for a row-sparse one (row r of the values updates param row rows[r])
    const sparse = isRowSparse(g);
    const values = sparse ? g.values : g;
    const rows = sparse ? g.rows : undefined;
    const width = sparse ? g.width : p.length;
    switch (opt.kind) {
      case 'sgd':
        if (slots[0]) sgdMomentum(p, slots[0], values, rows, width, lr, opt.momentum);
        else sgd(p, values, rows, width, lr);
        break;
      case 'adagrad':
        adagrad(p, slots[0]!, values, rows, width, lr, opt.eps);
        break;
      case 'adam':
        adam(p, slots[0]!, slots[1]!, values, rows, width, lr, opt.beta1, opt.beta2, opt.eps, 1 - Math.pow(opt.beta1, state.step), 1 - Math.pow(opt.beta2, state.step));
        break;
    }
  }
}

// One function per rule, each looping over its segments (n = rows.length, or 1 for a dense gradient)
// and their `width` elements; allocation-free. Every operation is rounded to float32 (`f`), the
// hyper-parameters and the gradient too, as a float32 framework computes the rule (PyTorch's Adam on
// float32 tensors): +, −, ×, ÷ and √ of float32s done in float64 and rounded once are the correctly
// rounded float32 results, so the wasm kernels' f32x4 lanes (runtime/exec/wasm/optimizer.ts) give
// the same bits.
const f = Math.fround;

/** θ ← θ − η·g */
function sgd(p: Float32Array, g: ArrayLike<number>, rows: Int32Array | undefined, width: number, lr: number): void {
  const n = rows ? rows.length : 1;
  const eta = f(lr);
  for (let r = 0; r < n; r++) {
    const at = rows ? rows[r]! * width : 0;
    const from = r * width;
    for (let c = 0; c < width; c++) p[at + c] = p[at + c]! - f(eta * f(g[from + c]!));
  }
}

/** m ← μ·m + g; θ ← θ − η·m */
function sgdMomentum(p: Float32Array, m: Float32Array, g: ArrayLike<number>, rows: Int32Array | undefined, width: number, lr: number, mu: number): void {
  const n = rows ? rows.length : 1;
  const eta = f(lr), mu32 = f(mu);
  for (let r = 0; r < n; r++) {
    const at = rows ? rows[r]! * width : 0;
    const from = r * width;
    for (let c = 0; c < width; c++) {
      const j = at + c;
      m[j] = f(mu32 * m[j]!) + f(g[from + c]!);
      p[j] = p[j]! - f(eta * m[j]!);
    }
  }
}

/** s ← s + g²; θ ← θ − η·g / (√s + ε) */
function adagrad(p: Float32Array, s: Float32Array, g: ArrayLike<number>, rows: Int32Array | undefined, width: number, lr: number, eps: number): void {
  const n = rows ? rows.length : 1;
  const eta = f(lr), e = f(eps);
  for (let r = 0; r < n; r++) {
    const at = rows ? rows[r]! * width : 0;
    const from = r * width;
    for (let c = 0; c < width; c++) {
      const j = at + c;
      const gj = f(g[from + c]!);
      s[j] = s[j]! + f(gj * gj);
      p[j] = p[j]! - f(f(eta * gj) / f(f(Math.sqrt(s[j]!)) + e));
    }
  }
}

/** m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²; θ ← θ − η·(m/c₁) / (√(v/c₂) + ε), c_k = 1 − β_k^step */
function adam(p: Float32Array, m: Float32Array, v: Float32Array, g: ArrayLike<number>, rows: Int32Array | undefined, width: number, lr: number, beta1: number, beta2: number, eps: number, c1: number, c2: number): void {
  const n = rows ? rows.length : 1;
  const eta = f(lr), b1 = f(beta1), nb1 = f(1 - beta1), b2 = f(beta2), nb2 = f(1 - beta2), e = f(eps), k1 = f(c1), k2 = f(c2);
  for (let r = 0; r < n; r++) {
    const at = rows ? rows[r]! * width : 0;
    const from = r * width;
    for (let c = 0; c < width; c++) {
      const j = at + c;
      const gj = f(g[from + c]!);
      m[j] = f(b1 * m[j]!) + f(nb1 * gj);
      v[j] = f(b2 * v[j]!) + f(f(nb2 * gj) * gj);
      p[j] = p[j]! - f(f(eta * f(m[j]! / k1)) / f(f(Math.sqrt(f(v[j]! / k2))) + e));
    }
  }
}

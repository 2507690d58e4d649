// Optimizers and learning-rate schedules. Updates are elementwise over each param's flat float32
// buffer, in place:
//   sgd:      m ← μ·m + g;            θ ← θ − η·m            (μ = 0: plain SGD)
//   adagrad:  s ← s + g²;             θ ← θ − η·g / (√s + ε)
//   adam:     m ← β₁m + (1−β₁)g;  v ← β₂v + (1−β₂)g²;  θ ← θ − η·m̂ / (√v̂ + ε), with bias correction
import type { OptimizerInfo, ScheduleInfo } from '../compiler/model.ts';

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

/** Applies one update to every param with a gradient. */
export function applyUpdate(
  opt: OptimizerInfo,
  state: OptimizerState,
  params: ReadonlyMap<string, Float32Array>,
  grads: ReadonlyMap<string, ArrayLike<number>>,
  lr: number,
): void {
  state.step++;
  for (const [name, g] of grads) {
    const p = params.get(name)!;
    const slots = state.slots.get(name)!;
    switch (opt.kind) {
      case 'sgd': {
        if (opt.momentum === 0) {
          for (let j = 0; j < p.length; j++) p[j] = p[j]! - lr * g[j]!;
        } else {
          const m = slots[0]!;
          for (let j = 0; j < p.length; j++) {
            m[j] = opt.momentum * m[j]! + g[j]!;
            p[j] = p[j]! - lr * m[j]!;
          }
        }
        break;
      }
      case 'adagrad': {
        const s = slots[0]!;
        for (let j = 0; j < p.length; j++) {
          s[j] = s[j]! + g[j]! * g[j]!;
          p[j] = p[j]! - (lr * g[j]!) / (Math.sqrt(s[j]!) + opt.eps);
        }
        break;
      }
      case 'adam': {
        const [m, v] = slots as [Float32Array, Float32Array];
        const c1 = 1 - Math.pow(opt.beta1, state.step);
        const c2 = 1 - Math.pow(opt.beta2, state.step);
        for (let j = 0; j < p.length; j++) {
          const gj = g[j]!;
          m[j] = opt.beta1 * m[j]! + (1 - opt.beta1) * gj;
          v[j] = opt.beta2 * v[j]! + (1 - opt.beta2) * gj * gj;
          p[j] = p[j]! - (lr * (m[j]! / c1)) / (Math.sqrt(v[j]! / c2) + opt.eps);
        }
        break;
      }
    }
  }
}

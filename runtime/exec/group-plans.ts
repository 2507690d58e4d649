// The plans of `evalMany` calls, kept per backend: one plan for several expressions (shared temps such
// as per-tuple residuals and Gramians run once), keyed by the expressions, their output indices and the
// sizes. A run whose batch sizes change every step would otherwise keep them all, so the cache is
// bounded and dropped whole when full.
import { planGroup, type GroupPlan } from '../../compiler/plan/plan.ts';
import type { Env } from '../../compiler/ir/interp.ts';
import type { Space } from '../../compiler/ir/module.ts';
import type { Expr } from '../../compiler/ir/nodes.ts';
import type { TensorRequest } from './backend.ts';

export const MAX_CACHED_PLANS = 64;

export class GroupPlans {
  private readonly groups = new Map<string, GroupPlan>();
  constructor(private readonly spaces: ReadonlyMap<string, Space>) {}

  get(scalars: readonly Expr[], tensors: readonly TensorRequest[], env: Env): GroupPlan {
    const key = `${scalars.map((e) => e.id).join(',')}|${tensors.map((t) => `${t.expr.id}:${t.out.map((i) => `${i.name}:${i.space}`).join(',')}`).join(';')}|${[...env.sizes].map(([k, v]) => `${k}=${v}`).join(',')}`;
    let p = this.groups.get(key);
    if (!p) {
      p = planGroup([...scalars.map((expr) => ({ expr, out: [] })), ...tensors], this.spaces, env.sizes);
      if (this.groups.size >= MAX_CACHED_PLANS) this.groups.clear();
      this.groups.set(key, p);
    }
    return p;
  }
}

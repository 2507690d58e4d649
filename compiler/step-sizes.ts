// The sizes of one training step when no data is loaded: the compile-time sizes with the primary
// relation cut to the model's mini-batch, its sparse rows' entries in proportion, and an in-batch
// sample set (`J ~ inbatch(item)`) as large as the batch it is drawn from. `recc explain --no-data`
// prints costs at these sizes, and the cheap-gradient check (gradient-cost.ts) plans at them.
import type { Model } from './check/model.ts';
import type { IRModule, Sizes } from './ir/module.ts';
import { batchKey, totalKey } from './ir/spaces.ts';

export function stepSizes(model: Model, module: Pick<IRModule, 'spaces' | 'samplers'>, full: Sizes): Map<string, number> {
  const out = new Map(full);
  const b = model.train.batch;
  const primary = model.split?.relation ?? model.relations[0]?.name;
  if (b.kind !== 'tuples' || !primary) return out;
  const n = full.get(primary) ?? 0;
  if (b.size >= n) return out;
  for (const s of module.spaces.values()) {
    const of = s.kind === 'relation' && s.name === primary ? 1 : s.kind === 'entries' && s.rel === primary ? 2 : 0;
    if (!of) continue;
    const all = full.get(s.name) ?? 0;
    const cut = of === 1 ? b.size : Math.round((all * b.size) / Math.max(1, n));
    for (const k of [s.name, batchKey(s.name)]) out.set(k, cut);
    out.set(totalKey(s.name), all);
  }
  for (const sm of module.samplers) if (sm.kind === 'set' && sm.dist === 'inbatch' && sm.source === primary) out.set(sm.space, b.size);
  return out;
}

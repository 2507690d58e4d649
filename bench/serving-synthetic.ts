// A synthetic serving model for the serving benches: users × items with random float32 vectors of
// width d (score = dot product) and `seen` random training items per user, built in memory with
// the same shape runtime/serve reads from a run folder.
import { IdMap } from '../runtime/data/ids.ts';
import { Rng } from '../runtime/data/rng.ts';
import type { ServingModel } from '../runtime/serve/serving-model.ts';

export function syntheticServingModel(nUsers: number, nItems: number, d: number, seen = 20, seed = 1): ServingModel {
  const rng = new Rng(seed);
  const X = Float32Array.from({ length: nUsers * d }, () => rng.normal());
  const Y = Float32Array.from({ length: nItems * d }, () => rng.normal());
  const offsets = new Int32Array(nUsers + 1);
  const items: number[] = [];
  for (let u = 0; u < nUsers; u++) {
    const s = new Set<number>();
    while (s.size < Math.min(seen, nItems)) s.add(rng.int(nItems));
    items.push(...[...s].sort((a, b) => a - b));
    offsets[u + 1] = items.length;
  }
  const ids = (domain: string, n: number): IdMap => new IdMap(domain, Array.from({ length: n }, (_, r) => String(r + 1)));
  return {
    dir: '(synthetic)',
    meta: {
      version: 1,
      model: 'synthetic',
      userDomain: 'user',
      itemDomain: 'item',
      users: nUsers,
      items: nItems,
      width: d,
      interactionWidth: d,
      terms: [{ start: 0, width: d, interaction: true, user: 'X[u,k]', item: 'Y[i,k]' }],
      factorsUnavailable: null,
      seenFrom: ['synthetic'],
      seenPairs: items.length,
    },
    users: ids('user', nUsers),
    items: ids('item', nItems),
    X,
    Y,
    width: d,
    seenOffsets: offsets,
    seenItems: Int32Array.from(items),
  };
}

// Samplers: the negatives a model's `j ~ uniform(item)` / `J ~ pop(item, 0.75) x K` bindings draw
// each step, with their log-probabilities (for `logq`). uniform: q(j) = 1/|D|. pop: q(j) ∝
// (count of j in the source relation)^α, with items never seen given count 0 and therefore never
// drawn (α = 0 is uniform over all of D). Draws use Walker's alias method: O(1) per draw after
// O(|D|) setup. Everything comes from one seeded Rng stream, so runs reproduce.
import type { Sampler } from '../compiler/ir/module.ts';
import type { Relation } from './data.ts';
import type { Rng } from './rng.ts';

export interface Distribution {
  readonly domain: string;
  /** log q(j) for every j of the domain (−Infinity where q = 0) */
  readonly logq: Float64Array;
  draw(rng: Rng): number;
}

/** Walker's alias table for a discrete distribution given by non-negative weights. */
export function aliasTable(weights: ArrayLike<number>): { prob: Float64Array; alias: Int32Array } {
  const n = weights.length;
  let total = 0;
  for (let j = 0; j < n; j++) total += weights[j]!;
  if (!(total > 0)) throw new RangeError('a sampler needs at least one item with positive weight');
  const prob = new Float64Array(n);
  const alias = new Int32Array(n);
  const scaled = Float64Array.from({ length: n }, (_, j) => (weights[j]! * n) / total);
  const small: number[] = [];
  const large: number[] = [];
  scaled.forEach((p, j) => (p < 1 ? small : large).push(j));
  while (small.length && large.length) {
    const s = small.pop()!;
    const l = large[large.length - 1]!;
    prob[s] = scaled[s]!;
    alias[s] = l;
    scaled[l] = scaled[l]! + scaled[s]! - 1;
    if (scaled[l]! < 1) small.push(large.pop()!);
  }
  for (const j of [...small, ...large]) {
    prob[j] = 1;
    alias[j] = j;
  }
  return { prob, alias };
}

export function distribution(s: Sampler, domainSize: number, source: Relation | undefined): Distribution {
  const weights = new Float64Array(domainSize);
  if (s.dist === 'uniform' || s.alpha === 0) weights.fill(1);
  else {
    const col = source ? [...source.idDomains].find(([, d]) => d === s.domain)?.[0] : undefined;
    const ids = col ? source!.ids.get(col) : undefined;
    if (!ids) throw new RangeError(`pop(${s.domain}) needs a training relation with a ${s.domain} column`);
    for (let t = 0; t < ids.length; t++) weights[ids[t]!]! += 1;
    for (let j = 0; j < domainSize; j++) weights[j] = weights[j]! > 0 ? Math.pow(weights[j]!, s.alpha) : 0;
  }
  let total = 0;
  for (let j = 0; j < domainSize; j++) total += weights[j]!;
  const logq = Float64Array.from(weights, (w) => Math.log(w / total));
  const { prob, alias } = aliasTable(weights);
  return {
    domain: s.domain,
    logq,
    draw: (rng) => {
      const j = rng.int(domainSize);
      return rng.uniform() < prob[j]! ? j : alias[j]!;
    },
  };
}

/** The sampler's name for its tensors: the per-tuple column or the sample-set space. */
export function samplerKey(s: Sampler): string {
  return s.kind === 'per-tuple' ? `${s.rel}.${s.col}` : s.space;
}

/** Adds this step's draws to `relations`: a sampled id column on the batch, or a sample-set relation. */
export function drawSamples(
  samplers: readonly Sampler[],
  dists: readonly Distribution[],
  relations: Map<string, Relation>,
  rng: Rng,
): void {
  samplers.forEach((s, j) => {
    const dist = dists[j]!;
    if (s.kind === 'per-tuple') {
      const rel = relations.get(s.rel);
      if (!rel) return;
      const draws = new Int32Array(rel.size);
      const logq = new Float64Array(rel.size);
      for (let t = 0; t < rel.size; t++) {
        draws[t] = dist.draw(rng);
        logq[t] = dist.logq[draws[t]!]!;
      }
      const ids = new Map(rel.ids);
      ids.set(s.col, draws);
      const values = new Map(rel.values);
      values.set(`${s.col}#logq`, logq);
      const idDomains = new Map(rel.idDomains);
      idDomains.set(s.col, s.domain);
      relations.set(s.rel, { ...rel, ids, values, idDomains });
    } else {
      const draws = new Int32Array(s.count);
      const logq = new Float64Array(s.count);
      for (let k = 0; k < s.count; k++) {
        draws[k] = dist.draw(rng);
        logq[k] = dist.logq[draws[k]!]!;
      }
      relations.set(s.space, {
        name: s.space,
        size: s.count,
        columns: [],
        ids: new Map([['id', draws]]),
        idDomains: new Map([['id', s.domain]]),
        values: new Map([['logq', logq]]),
        source: undefined,
      });
    }
  });
}

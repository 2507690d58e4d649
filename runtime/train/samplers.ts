// Samplers: the negatives a model's `j ~ uniform(item)` / `J ~ pop(item, 0.75) x K` bindings draw
// each step, with their log-probabilities (for `logq`). uniform: q(j) = 1/|D|. pop: q(j) ∝
// (count of j in the source relation)^α, with items never seen given count 0 and therefore never
// drawn (α = 0 is uniform over all of D). Draws use Walker's alias method: O(1) per draw after
// O(|D|) setup. Everything comes from one seeded Rng stream, so runs reproduce.
// `exclude = likes` (per-tuple samplers): a draw that is one of the tuple's owner's training
// positives is redrawn, at most `retries` times, then the last draw is accepted; its logq is the
// exact log-probability of that procedure for that owner (see `Exclusion`). `inbatch(item)` (a set):
// the batch's own positive ids, with logq = log of their frequency in the training relation.
import type { Sampler, SamplerExclude } from '../../compiler/ir/module.ts';
import { SAMPLE_ID, SAMPLE_LOGQ, sampledLogqColumn } from '../../compiler/ir/spaces.ts';
import type { Relation } from '../data/load.ts';
import type { Rng } from '../data/rng.ts';
import { heapArrays, type Arrays } from '../exec/step-pool.ts';

export interface Distribution {
  readonly domain: string;
  /** log q(j) for every j of the domain (−Infinity where q = 0) */
  readonly logq: Float64Array;
  draw(rng: Rng): number;
  /** the per-owner rejection of `exclude = R`, when the sampler has one */
  readonly exclusion?: Exclusion;
}

/**
 * The owners' excluded ids (e.g. each user's training positives), as sorted CSR rows, and per owner u
 * with excluded mass P_u = Σ_{j ∈ E_u} q(j) and R retries the log-probability corrections of
 * "draw; while excluded and fewer than R redraws, redraw":
 *   allowed j:  q_u(j) = q(j) · (1 + P_u + … + P_u^R) = q(j) · (1 − P_u^(R+1)) / (1 − P_u)
 *   excluded j: q_u(j) = q(j) · P_u^R            (returned only after R excluded redraws)
 * which sum to 1 over the domain.
 */
export interface Exclusion {
  readonly spec: SamplerExclude;
  readonly offsets: Int32Array;
  readonly ids: Int32Array;
  /** log(1 + P_u + … + P_u^R) per owner */
  readonly logAllowed: Float64Array;
  /** R · log P_u per owner */
  readonly logExcluded: Float64Array;
}

/** Is j one of owner u's excluded ids? Binary search in u's sorted row. */
export function isExcluded(x: Exclusion, u: number, j: number): boolean {
  let lo = x.offsets[u]!;
  let hi = x.offsets[u + 1]!;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const m = x.ids[mid]!;
    if (m === j) return true;
    if (m < j) lo = mid + 1;
    else hi = mid;
  }
  return false;
}

/** Builds the exclusion index of `spec` from the training tuples of its relation. */
export function exclusionIndex(spec: SamplerExclude, rel: Relation, owners: number, logq: Float64Array): Exclusion {
  const key = rel.ids.get(spec.keyCol);
  const col = rel.ids.get(spec.col);
  if (!key || !col) throw new RangeError(`exclude = ${spec.rel} needs its columns ${spec.keyCol} and ${spec.col}`);
  const counts = new Int32Array(owners + 1);
  for (let t = 0; t < rel.size; t++) counts[key[t]! + 1]!++;
  for (let u = 0; u < owners; u++) counts[u + 1]! += counts[u]!;
  const fill = counts.slice(0, owners);
  const raw = new Int32Array(rel.size);
  for (let t = 0; t < rel.size; t++) raw[fill[key[t]!]!++] = col[t]!;
  // sort and deduplicate each owner's row
  const offsets = new Int32Array(owners + 1);
  const ids: number[] = [];
  const logAllowed = new Float64Array(owners);
  const logExcluded = new Float64Array(owners);
  const R = spec.retries;
  for (let u = 0; u < owners; u++) {
    const row = Array.from(raw.subarray(counts[u]!, counts[u + 1]!)).sort((a, b) => a - b);
    let mass = 0;
    for (let k = 0; k < row.length; k++) {
      if (k > 0 && row[k] === row[k - 1]) continue;
      ids.push(row[k]!);
      mass += Math.exp(logq[row[k]!]!);
    }
    offsets[u + 1] = ids.length;
    const P = Math.min(mass, 1);
    let geo = 0;
    for (let k = 0, p = 1; k <= R; k++, p *= P) geo += p;
    logAllowed[u] = Math.log(geo);
    logExcluded[u] = R * Math.log(P);
  }
  return { spec, offsets, ids: Int32Array.from(ids), logAllowed, logExcluded };
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

/**
 * The sampler's distribution over its domain: uniform, or popularity^α in `source` (`inbatch` uses
 * α = 1: an id's frequency among the positives); with `exclude`, `excluded` is the training relation
 * it names and `owners` the size of its owner domain.
 */
export function distribution(s: Sampler, domainSize: number, source: Relation | undefined, excluded?: { rel: Relation | undefined; owners: number }): Distribution {
  const weights = new Float64Array(domainSize);
  if (s.dist === 'uniform' || s.alpha === 0) weights.fill(1);
  else {
    const col = source ? (s.kind === 'set' && s.sourceCol ? s.sourceCol : [...source.idDomains].find(([, d]) => d === s.domain)?.[0]) : undefined;
    const ids = col ? source!.ids.get(col) : undefined;
    if (!ids) throw new RangeError(`${s.dist}(${s.domain}) needs a training relation with a ${s.domain} column`);
    for (let t = 0; t < ids.length; t++) weights[ids[t]!]! += 1;
    for (let j = 0; j < domainSize; j++) weights[j] = weights[j]! > 0 ? Math.pow(weights[j]!, s.alpha) : 0;
  }
  let total = 0;
  for (let j = 0; j < domainSize; j++) total += weights[j]!;
  const logq = Float64Array.from(weights, (w) => Math.log(w / total));
  const { prob, alias } = aliasTable(weights);
  const spec = s.kind === 'per-tuple' ? s.exclude : undefined;
  let exclusion: Exclusion | undefined;
  if (spec) {
    if (!excluded?.rel) throw new RangeError(`exclude = ${spec.rel}: no training relation \`${spec.rel}\``);
    exclusion = exclusionIndex(spec, excluded.rel, excluded.owners, logq);
  }
  return {
    domain: s.domain,
    logq,
    draw: (rng) => {
      const j = rng.int(domainSize);
      return rng.uniform() < prob[j]! ? j : alias[j]!;
    },
    ...(exclusion ? { exclusion } : {}),
  };
}

/** Adds this step's draws to `relations`: a sampled id column on the batch, or a sample-set relation. */
export function drawSamples(
  samplers: readonly Sampler[],
  dists: readonly Distribution[],
  relations: Map<string, Relation>,
  rng: Rng,
  pool: Arrays = heapArrays,
): void {
  samplers.forEach((s, j) => {
    const dist = dists[j]!;
    if (s.kind === 'per-tuple') {
      const rel = relations.get(s.rel);
      if (!rel) return;
      const draws = pool.int32(rel.size);
      const logq = pool.float64(rel.size);
      const ex = dist.exclusion;
      const owner = ex ? rel.ids.get(ex.spec.tupleCol) : undefined;
      for (let t = 0; t < rel.size; t++) {
        let j = dist.draw(rng);
        if (ex && owner) {
          const u = owner[t]!;
          let excluded = isExcluded(ex, u, j);
          for (let r = 0; excluded && r < ex.spec.retries; r++) {
            j = dist.draw(rng);
            excluded = isExcluded(ex, u, j);
          }
          logq[t] = dist.logq[j]! + (excluded ? ex.logExcluded[u]! : ex.logAllowed[u]!);
        } else logq[t] = dist.logq[j]!;
        draws[t] = j;
      }
      const ids = new Map(rel.ids);
      ids.set(s.col, draws);
      const values = new Map(rel.values);
      values.set(sampledLogqColumn(s.col), logq);
      const idDomains = new Map(rel.idDomains);
      idDomains.set(s.col, s.domain);
      relations.set(s.rel, { ...rel, ids, values, idDomains });
    } else {
      let draws: Int32Array;
      if (s.dist === 'inbatch') {
        // the batch's own positives (duplicates kept: an id twice in the batch is in the set twice)
        const ids = relations.get(s.source ?? '')?.ids.get(s.sourceCol ?? '');
        if (!ids) throw new RangeError(`inbatch(${s.domain}): no batch of \`${s.source}\` with column \`${s.sourceCol}\``);
        draws = Int32Array.from(ids);
      } else {
        draws = new Int32Array(s.count);
        for (let k = 0; k < s.count; k++) draws[k] = dist.draw(rng);
      }
      const logq = Float64Array.from(draws, (j) => dist.logq[j]!);
      relations.set(s.space, {
        name: s.space,
        size: draws.length,
        columns: [],
        ids: new Map([[SAMPLE_ID, draws]]),
        idDomains: new Map([[SAMPLE_ID, s.domain]]),
        values: new Map([[SAMPLE_LOGQ, logq]]),
        source: undefined,
      });
    }
  });
}

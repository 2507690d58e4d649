// Deterministic synthetic ratings with planted low-rank structure, for examples, tests and benchmarks.
// Model: r_ui = clip(round_step(μ + b_u + b_i + U_u·V_i + ε), 1, 5), U, V ∈ R^{·×rank} with N(0, s²)
// entries, biases N(0, σ_b²), ε ~ N(0, noiseStd²); items drawn per user without replacement with
// popularity p_i ∝ (rank_i + c)^−α; user activity log-normal, at least minPerUser ratings each.
// Invariants: (user, item) pairs are distinct; every user has ≥ minPerUser ratings; a spec and seed
// give the same arrays on every machine (all randomness from Rng).
import { Rng } from './rng.ts';

export interface SyntheticSpec {
  readonly nUsers: number;
  readonly nItems: number;
  readonly nRatings: number;
  readonly rank: number;
  readonly seed: number;
  /** std of ε added before rounding; the best achievable RMSE is about this (plus rounding noise) */
  readonly noiseStd: number;
  readonly globalMean: number;
  readonly userBiasStd: number;
  readonly itemBiasStd: number;
  /** std of U_u·V_i; factor entries get s = (interactionStd² / rank)^¼ */
  readonly interactionStd: number;
  /** ratings are rounded to multiples of this (0.5 or 1) */
  readonly ratingStep: number;
  readonly minPerUser: number;
  readonly maxPerUser: number;
  /** σ of the log-normal user-activity weights */
  readonly activitySigma: number;
  /** popularity p_i ∝ (rank_i + popularityOffset)^−popularityExponent over a random item order */
  readonly popularityExponent: number;
  readonly popularityOffset: number;
  /** first timestamp (Unix seconds) */
  readonly timeStart: number;
  /** shuffle tuples (like u.data) instead of grouping them by user in time order (like ratings.dat) */
  readonly shuffleRows: boolean;
}

export interface SyntheticRatings {
  readonly spec: SyntheticSpec;
  /** dense 0-based ids; external ids in files are id + 1, as in MovieLens */
  readonly users: Int32Array;
  readonly items: Int32Array;
  readonly ratings: Float64Array;
  readonly times: Float64Array;
  /** the noise-free planted score μ + b_u + b_i + U_u·V_i of each tuple (before clip and rounding) */
  readonly planted: Float64Array;
}

/** The example data set: 600 users × 400 items, 30,000 ratings, rank 4, noise std 0.5, half-star steps. */
export const SMALL_SPEC: SyntheticSpec = {
  nUsers: 600, nItems: 400, nRatings: 30000, rank: 4, seed: 20240601,
  noiseStd: 0.5, globalMean: 3.6, userBiasStd: 0.3, itemBiasStd: 0.4, interactionStd: 0.6, ratingStep: 0.5,
  minPerUser: 20, maxPerUser: 200, activitySigma: 0.8, popularityExponent: 0.9, popularityOffset: 10,
  timeStart: 880000000, shuffleRows: true,
};

/** ML-1M's shape: 6040 users × 3706 items, 1,000,209 ratings (≥ 20 per user), integer stars. */
export const ML1M_SPEC: SyntheticSpec = {
  nUsers: 6040, nItems: 3706, nRatings: 1000209, rank: 8, seed: 1000209,
  noiseStd: 0.8, globalMean: 3.58, userBiasStd: 0.35, itemBiasStd: 0.45, interactionStd: 0.5, ratingStep: 1,
  minPerUser: 20, maxPerUser: 2314, activitySigma: 1.0, popularityExponent: 0.9, popularityOffset: 20,
  timeStart: 956703932, shuffleRows: false,
};

/** Generate the tuples of `spec` (deterministic in spec.seed). */
export function generateRatings(spec: SyntheticSpec): SyntheticRatings {
  const { nUsers, nItems, nRatings, rank } = spec;
  if (nRatings < nUsers * spec.minPerUser || nRatings > nUsers * Math.min(spec.maxPerUser, nItems)) {
    throw new RangeError(`synthetic: ${nRatings} ratings do not fit ${nUsers} users with ${spec.minPerUser}..${Math.min(spec.maxPerUser, nItems)} each`);
  }
  const root = new Rng(spec.seed);
  // independent streams, so changing one part (e.g. counts) leaves the others' numbers unchanged
  const rFactors = root.fork(1), rCounts = root.fork(2), rItems = root.fork(3), rNoise = root.fork(4), rTime = root.fork(5), rOrder = root.fork(6);

  // planted parameters: s⁴·rank = interactionStd² ⇒ Var(U_u·V_i) = interactionStd²
  const s = Math.pow((spec.interactionStd * spec.interactionStd) / rank, 0.25);
  const U = new Float64Array(nUsers * rank), V = new Float64Array(nItems * rank);
  const bu = new Float64Array(nUsers), bi = new Float64Array(nItems);
  for (let j = 0; j < U.length; j++) U[j] = rFactors.normal(0, s);
  for (let j = 0; j < V.length; j++) V[j] = rFactors.normal(0, s);
  for (let u = 0; u < nUsers; u++) bu[u] = rFactors.normal(0, spec.userBiasStd);
  for (let i = 0; i < nItems; i++) bi[i] = rFactors.normal(0, spec.itemBiasStd);

  const counts = userCounts(spec, rCounts);

  // popularity: item order[q] has weight (q + c)^−α; cdf for inverse-transform sampling
  const order = rItems.permutation(nItems);
  const weight = new Float64Array(nItems);
  for (let q = 0; q < nItems; q++) weight[order[q]] = Math.pow(q + spec.popularityOffset, -spec.popularityExponent);
  const cdf = new Float64Array(nItems);
  let acc = 0;
  for (let i = 0; i < nItems; i++) cdf[i] = acc += weight[i];

  const users = new Int32Array(nRatings), items = new Int32Array(nRatings);
  const ratings = new Float64Array(nRatings), times = new Float64Array(nRatings), planted = new Float64Array(nRatings);
  const taken = new Int32Array(nItems).fill(-1); // = u when u already has item i
  let t = 0;
  for (let u = 0; u < nUsers; u++) {
    const m = counts[u];
    const chosen = m * 8 > nItems ? sampleByKeys(weight, m, rItems) : sampleByRejection(cdf, m, rItems, taken, u);
    let time = spec.timeStart + rTime.int(3 * 365 * 86400);
    for (let j = 0; j < m; j++) {
      const i = chosen[j];
      let score = spec.globalMean + bu[u] + bi[i];
      for (let f = 0; f < rank; f++) score += U[u * rank + f] * V[i * rank + f];
      const noisy = score + rNoise.normal(0, spec.noiseStd);
      const rounded = Math.round(noisy / spec.ratingStep) * spec.ratingStep;
      users[t] = u;
      items[t] = i;
      planted[t] = score;
      ratings[t] = Math.min(5, Math.max(1, rounded));
      // gaps between a user's ratings: 1 s .. 2 days, integer seconds
      time += 1 + rTime.int(2 * 86400);
      times[t] = time;
      t++;
    }
  }
  if (spec.shuffleRows) {
    const perm = rOrder.permutation(nRatings);
    const permute = <A extends Int32Array | Float64Array>(a: A): A => {
      const b = a.slice() as A;
      for (let j = 0; j < nRatings; j++) b[j] = a[perm[j]];
      return b;
    };
    return { spec, users: permute(users), items: permute(items), ratings: permute(ratings), times: permute(times), planted: permute(planted) };
  }
  return { spec, users, items, ratings, times, planted };
}

/**
 * Ratings per user: minPerUser + a share of the rest ∝ log-normal weights, floored, capped at
 * maxPerUser; the remainder is dealt one at a time round-robin to users below the cap.
 */
function userCounts(spec: SyntheticSpec, rng: Rng): Int32Array {
  const { nUsers, minPerUser } = spec;
  const cap = Math.min(spec.maxPerUser, spec.nItems);
  const w = new Float64Array(nUsers);
  let W = 0;
  for (let u = 0; u < nUsers; u++) W += w[u] = Math.exp(spec.activitySigma * rng.normal());
  const extra = spec.nRatings - nUsers * minPerUser;
  const counts = new Int32Array(nUsers);
  let left = spec.nRatings;
  for (let u = 0; u < nUsers; u++) {
    counts[u] = Math.min(cap, minPerUser + Math.floor((extra * w[u]) / W));
    left -= counts[u];
  }
  for (let u = 0; left > 0; u = (u + 1) % nUsers) {
    if (counts[u] < cap) { counts[u]++; left--; }
  }
  return counts;
}

/** m distinct items by successive weighted draws (inverse cdf), rejecting repeats. Order = draw order. */
function sampleByRejection(cdf: Float64Array, m: number, rng: Rng, taken: Int32Array, u: number): Int32Array {
  const out = new Int32Array(m);
  const total = cdf[cdf.length - 1];
  for (let j = 0; j < m; ) {
    const x = rng.uniform() * total;
    let lo = 0, hi = cdf.length - 1; // first i with cdf[i] > x
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid] > x) hi = mid;
      else lo = mid + 1;
    }
    if (taken[lo] === u) continue;
    taken[lo] = u;
    out[j++] = lo;
  }
  return out;
}

/**
 * m distinct items with the same law as successive weighted draws (Efraimidis–Spirakis): key_i =
 * ln(v_i)/w_i with v_i uniform; the m largest keys, in decreasing key order. For heavy users.
 */
function sampleByKeys(weight: Float64Array, m: number, rng: Rng): Int32Array {
  const n = weight.length;
  const key = new Float64Array(n);
  for (let i = 0; i < n; i++) key[i] = Math.log(1 - rng.uniform()) / weight[i];
  const idx = new Int32Array(n);
  for (let i = 0; i < n; i++) idx[i] = i;
  idx.sort((a, b) => key[b] - key[a] || a - b);
  return idx.slice(0, m);
}

/** MovieLens u.data layout: `user\titem\trating\ttime\n`, external ids 1-based. */
export function toUData(r: SyntheticRatings): string {
  const lines: string[] = new Array<string>(r.users.length);
  for (let t = 0; t < r.users.length; t++) lines[t] = `${r.users[t] + 1}\t${r.items[t] + 1}\t${r.ratings[t]}\t${r.times[t]}`;
  return lines.join('\n') + '\n';
}

/** RMSE of the oracle that knows the planted score: √mean (clip(planted, 1, 5) − r)². */
export function oracleRmse(r: SyntheticRatings): number {
  let s = 0;
  for (let t = 0; t < r.ratings.length; t++) {
    const d = Math.min(5, Math.max(1, r.planted[t])) - r.ratings[t];
    s += d * d;
  }
  return Math.sqrt(s / r.ratings.length);
}

/** The example data set (examples/data/synthetic-ratings.tsv is toUData(syntheticSmall())). */
export function syntheticSmall(): SyntheticRatings {
  return generateRatings(SMALL_SPEC);
}

/** ML-1M-shaped data in memory, for benchmarks (about 1 s to generate; never written to disk). */
export function syntheticMl1m(seed: number = ML1M_SPEC.seed): SyntheticRatings {
  return generateRatings({ ...ML1M_SPEC, seed });
}

// ---- synthetic click data (factorization machines) ------------------------------------------------
// Rows are impressions with four categorical fields, one-hot encoded: user, item, the item's category,
// hour. Planted label model (an FM of rank `rank`): with the row's active features j ∈ {u, i, c, h},
//   logit = w0 + Σ_j w_j + Σ_{j<l} <v_j, v_l>,   label ~ Bernoulli(σ(logit)),
// w_j ~ N(0, biasStd²), v_j ∈ R^rank with N(0, s²) entries, s = (interactionStd² / (6·rank))^¼, so the
// six pair terms together have std ≈ interactionStd. Logistic regression (no pairs) cannot express the
// pair terms, so an FM with k > 0 beats k = 0 on AUC. Users uniform, items popularity-skewed.

export interface CtrSpec {
  readonly nUsers: number;
  readonly nItems: number;
  readonly nCategories: number;
  readonly nHours: number;
  readonly nRows: number;
  readonly rank: number;
  readonly seed: number;
  readonly globalBias: number;
  readonly biasStd: number;
  readonly interactionStd: number;
  /** item popularity p_i ∝ (rank_i + 5)^−popularityExponent over a random item order */
  readonly popularityExponent: number;
}

export interface SyntheticCtr {
  readonly spec: CtrSpec;
  /** 0 or 1 */
  readonly labels: Float64Array;
  /** the four active features of row t: features[4t .. 4t+3], 0-based global feature indices (file ids are +1) */
  readonly features: Int32Array;
  /** the planted logit of each row */
  readonly logits: Float64Array;
  /** nUsers + nItems + nCategories + nHours */
  readonly nFeatures: number;
}

/** The example file examples/data/synthetic-ctr.libsvm: 30,000 rows, 200 users × 120 items, rank 4. */
export const CTR_SPEC: CtrSpec = {
  nUsers: 200, nItems: 120, nCategories: 12, nHours: 24, nRows: 30000, rank: 4, seed: 20240602,
  globalBias: -0.5, biasStd: 0.4, interactionStd: 1.5, popularityExponent: 0.7,
};

export const CTR_FIELDS = 4;

export function generateCtr(spec: CtrSpec): SyntheticCtr {
  const { nUsers, nItems, nCategories, nHours, nRows, rank } = spec;
  const nFeatures = nUsers + nItems + nCategories + nHours;
  const root = new Rng(spec.seed);
  const rParams = root.fork(1), rRows = root.fork(2), rLabels = root.fork(3);
  const s = Math.pow((spec.interactionStd * spec.interactionStd) / (6 * rank), 0.25);
  const w = new Float64Array(nFeatures), V = new Float64Array(nFeatures * rank);
  for (let j = 0; j < nFeatures; j++) w[j] = rParams.normal(0, spec.biasStd);
  for (let j = 0; j < V.length; j++) V[j] = rParams.normal(0, s);
  const category = new Int32Array(nItems);
  for (let i = 0; i < nItems; i++) category[i] = rParams.int(nCategories);
  const order = rParams.permutation(nItems);
  const cdf = new Float64Array(nItems);
  const weight = new Float64Array(nItems);
  for (let q = 0; q < nItems; q++) weight[order[q]] = Math.pow(q + 5, -spec.popularityExponent);
  let acc = 0;
  for (let i = 0; i < nItems; i++) cdf[i] = acc += weight[i];

  const labels = new Float64Array(nRows), logits = new Float64Array(nRows), features = new Int32Array(nRows * CTR_FIELDS);
  for (let t = 0; t < nRows; t++) {
    const u = rRows.int(nUsers);
    const x = rRows.uniform() * acc;
    let lo = 0, hi = nItems - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid] > x) hi = mid;
      else lo = mid + 1;
    }
    const i = lo;
    const h = rRows.int(nHours);
    const f = features.subarray(t * CTR_FIELDS, (t + 1) * CTR_FIELDS);
    f[0] = u; f[1] = nUsers + i; f[2] = nUsers + nItems + category[i]; f[3] = nUsers + nItems + nCategories + h;
    let z = spec.globalBias;
    for (let a = 0; a < CTR_FIELDS; a++) {
      z += w[f[a]];
      for (let b = a + 1; b < CTR_FIELDS; b++) for (let k = 0; k < rank; k++) z += V[f[a] * rank + k] * V[f[b] * rank + k];
    }
    logits[t] = z;
    labels[t] = rLabels.uniform() < 1 / (1 + Math.exp(-z)) ? 1 : 0;
  }
  return { spec, labels, features, logits, nFeatures };
}

/** libsvm text: `label id:1 id:1 id:1 id:1`, ids 1-based (user 1..U, then items, categories, hours). */
export function toLibsvm(d: SyntheticCtr): string {
  const lines = new Array<string>(d.labels.length);
  for (let t = 0; t < d.labels.length; t++) {
    let l = String(d.labels[t]);
    for (let a = 0; a < CTR_FIELDS; a++) l += ` ${d.features[t * CTR_FIELDS + a] + 1}:1`;
    lines[t] = l;
  }
  return lines.join('\n') + '\n';
}

export function syntheticCtr(): SyntheticCtr {
  return generateCtr(CTR_SPEC);
}

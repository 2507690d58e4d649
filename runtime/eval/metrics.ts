// Evaluation metrics, computed in float64. Rating metrics compare predictions with held-out values.
// Ranking metrics follow one protocol: for each user u with ≥ 1 relevant item, rank all items except
// u's training items by score (higher first; ties by lower item index; NaN scores rank last), take the
// top K, and average each per-user metric over those users. Relevant items Rel_u = u's test items that
// are not also training items (a training item cannot be recommended, so it cannot be a hit).
// Binary-label metrics (logloss, global AUC) score test tuples, not ranked lists: see the end of the file.
// Exact definitions with hand-computed examples: docs/metrics.md.

/** RMSE = √( (1/n) Σ_t (pred_t − truth_t)² ). */
export function rmse(pred: ArrayLike<number>, truth: ArrayLike<number>): number {
  const n = checkSameLength(pred, truth);
  let s = 0;
  for (let t = 0; t < n; t++) {
    const d = pred[t] - truth[t];
    s += d * d;
  }
  return Math.sqrt(s / n);
}

/** MAE = (1/n) Σ_t |pred_t − truth_t|. */
export function mae(pred: ArrayLike<number>, truth: ArrayLike<number>): number {
  const n = checkSameLength(pred, truth);
  let s = 0;
  for (let t = 0; t < n; t++) s += Math.abs(pred[t] - truth[t]);
  return s / n;
}

function checkSameLength(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new RangeError(`metric: ${a.length} predictions for ${b.length} targets`);
  if (a.length === 0) throw new RangeError('metric: no tuples to evaluate');
  return a.length;
}

/** Items per user in CSR form: items[offsets[u] .. offsets[u+1]) are user u's items. */
export interface UserItems {
  readonly offsets: Int32Array;
  readonly items: Int32Array;
}

/** Group (user, item) pairs by user; nUsers ≥ 1 + max user id. */
export function userItems(users: Int32Array, items: Int32Array, nUsers: number): UserItems {
  const offsets = new Int32Array(nUsers + 1);
  for (let t = 0; t < users.length; t++) offsets[users[t] + 1]++;
  for (let u = 0; u < nUsers; u++) offsets[u + 1] += offsets[u];
  const next = offsets.slice(0, nUsers);
  const out = new Int32Array(users.length);
  for (let t = 0; t < users.length; t++) out[next[users[t]]++] = items[t];
  return { offsets, items: out };
}

/** Per-user ranking quality at cutoff K; AUC does not depend on K. */
export interface UserRanking {
  readonly recall: number;
  readonly precision: number;
  readonly ndcg: number;
  readonly hr: number;
  readonly mrr: number;
  readonly auc: number;
}

export interface RankingReport extends UserRanking {
  readonly k: number;
  /** number of users averaged over (those with ≥ 1 relevant item and ≥ 1 candidate) */
  readonly users: number;
}

/** a ranks above b: higher score, then lower item index. NaN is treated as −∞. */
function above(sa: number, a: number, sb: number, b: number): boolean {
  return sa > sb || (sa === sb && a < b);
}

/**
 * The top-k candidate items by score, best first. `excluded[i] === stamp` marks items that are not
 * candidates (a stamp lets one buffer serve every user without clearing). A size-k min-heap: O(n log k).
 */
export function topK(scores: ArrayLike<number>, k: number, excluded?: Int32Array, stamp = 1): Int32Array {
  const heapItem = new Int32Array(k);
  const heapScore = new Float64Array(k);
  let size = 0;
  // heap root = the worst of the kept items
  const worse = (i: number, j: number): boolean => above(heapScore[j], heapItem[j], heapScore[i], heapItem[i]);
  const siftDown = (i: number): void => {
    for (;;) {
      const l = 2 * i + 1, r = l + 1;
      let w = i;
      if (l < size && worse(l, w)) w = l;
      if (r < size && worse(r, w)) w = r;
      if (w === i) return;
      swap(i, w);
      i = w;
    }
  };
  const swap = (i: number, j: number): void => {
    const ti = heapItem[i]; heapItem[i] = heapItem[j]; heapItem[j] = ti;
    const ts = heapScore[i]; heapScore[i] = heapScore[j]; heapScore[j] = ts;
  };
  if (k > 0) {
    for (let i = 0; i < scores.length; i++) {
      if (excluded !== undefined && excluded[i] === stamp) continue;
      const raw = scores[i];
      const s = raw === raw ? raw : -Infinity;
      if (size < k) {
        heapItem[size] = i; heapScore[size] = s;
        let c = size++;
        while (c > 0) {
          const p = (c - 1) >> 1;
          if (!worse(c, p)) break;
          swap(c, p);
          c = p;
        }
      } else if (above(s, i, heapScore[0], heapItem[0])) {
        heapItem[0] = i; heapScore[0] = s;
        siftDown(0);
      }
    }
  }
  // pop worst-first, filling from the back → best first
  const out = new Int32Array(size);
  for (let j = size - 1; j >= 0; j--) {
    out[j] = heapItem[0];
    size--;
    heapItem[0] = heapItem[size]; heapScore[0] = heapScore[size];
    siftDown(0);
  }
  return out;
}

/**
 * Metrics of one ranked list `ranked` (top-K candidates, best first) against relevant set Rel
 * (`isRelevant(i)`), |Rel| = nRel ≥ 1. With hits h = |top-K ∩ Rel| and rank r = 1-based position:
 *   Recall@K    = h / |Rel|
 *   Precision@K = h / K                      (K, even if fewer than K candidates exist)
 *   NDCG@K      = DCG / IDCG,  DCG = Σ_{r ≤ K, item_r ∈ Rel} 1/log2(r+1),  IDCG = Σ_{r=1}^{min(|Rel|,K)} 1/log2(r+1)
 *   HR@K        = 1 if h > 0 else 0
 *   MRR@K       = 1 / (rank of the first relevant item) if it is within the top K, else 0
 */
export function listMetrics(ranked: ArrayLike<number>, isRelevant: (i: number) => boolean, nRel: number, k: number): Omit<UserRanking, 'auc'> {
  let hits = 0, dcg = 0, rr = 0;
  const top = Math.min(k, ranked.length);
  for (let r = 1; r <= top; r++) {
    if (!isRelevant(ranked[r - 1])) continue;
    hits++;
    dcg += 1 / Math.log2(r + 1);
    if (rr === 0) rr = 1 / r;
  }
  let idcg = 0;
  for (let r = 1; r <= Math.min(nRel, k); r++) idcg += 1 / Math.log2(r + 1);
  return { recall: hits / nRel, precision: hits / k, ndcg: idcg > 0 ? dcg / idcg : 0, hr: hits > 0 ? 1 : 0, mrr: rr };
}

/**
 * AUC of one user = P(score(p) > score(n)) over pairs p ∈ Rel, n ∈ candidates \ Rel, ties counting ½:
 *   AUC = (1 / (|P|·|N|)) Σ_{p,n} ( [s_p > s_n] + ½[s_p = s_n] ).
 * Computed by sorting both score lists and merging: O((|P|+|N|) log(|P|+|N|)). Undefined (NaN) if
 * P or N is empty. NaN scores are treated as −∞.
 */
export function aucOf(pos: Float64Array, neg: Float64Array): number {
  if (pos.length === 0 || neg.length === 0) return NaN;
  const clean = (a: Float64Array): Float64Array => a.map((x) => (x === x ? x : -Infinity)).sort();
  const p = clean(pos), q = clean(neg);
  // for each positive: (# negatives strictly below) + ½ (# negatives equal)
  let below = 0, s = 0;
  for (let i = 0; i < p.length; i++) {
    while (below < q.length && q[below] < p[i]) below++;
    let eq = below;
    while (eq < q.length && q[eq] === p[i]) eq++;
    s += below + 0.5 * (eq - below);
  }
  return s / (p.length * q.length);
}

export interface RankingInput {
  readonly nUsers: number;
  readonly nItems: number;
  /** scores of all items for user u (length nItems); may reuse one buffer between calls */
  readonly scores: (u: number) => ArrayLike<number>;
  readonly train: UserItems;
  readonly test: UserItems;
  readonly k: number;
}

/**
 * Mean of each per-user metric over users with ≥ 1 relevant item and ≥ 1 candidate. AUC is averaged
 * over the users where it is defined (≥ 1 non-relevant candidate as well).
 */
export function rankingMetrics(input: RankingInput): RankingReport {
  const { nUsers, nItems, train, test, k } = input;
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`ranking metrics need an integer K ≥ 1, got ${k}`);
  const excluded = new Int32Array(nItems).fill(-1); // = u+1 for u's training items
  const relevant = new Int32Array(nItems).fill(-1); // = u+1 for u's relevant test items
  let users = 0, aucUsers = 0;
  let recall = 0, precision = 0, ndcg = 0, hr = 0, mrr = 0, auc = 0;
  for (let u = 0; u < nUsers; u++) {
    const stamp = u + 1;
    for (let j = train.offsets[u]; j < train.offsets[u + 1]; j++) excluded[train.items[j]] = stamp;
    let nRel = 0;
    for (let j = test.offsets[u]; j < test.offsets[u + 1]; j++) {
      const i = test.items[j];
      if (excluded[i] !== stamp && relevant[i] !== stamp) { relevant[i] = stamp; nRel++; }
    }
    if (nRel === 0) continue;
    let nCand = 0; // |items \ train_u|, counted directly since train may repeat an item
    for (let i = 0; i < nItems; i++) if (excluded[i] !== stamp) nCand++;
    if (nCand === 0) continue;
    const scores = input.scores(u);
    if (scores.length !== nItems) throw new RangeError(`scores(${u}) has ${scores.length} entries, expected ${nItems}`);
    const ranked = topK(scores, k, excluded, stamp);
    const m = listMetrics(ranked, (i) => relevant[i] === stamp, nRel, k);
    users++;
    recall += m.recall; precision += m.precision; ndcg += m.ndcg; hr += m.hr; mrr += m.mrr;
    const pos = new Float64Array(nRel), neg = new Float64Array(nCand - nRel);
    let a = 0, b = 0;
    for (let i = 0; i < nItems; i++) {
      if (excluded[i] === stamp) continue;
      if (relevant[i] === stamp) pos[a++] = scores[i];
      else neg[b++] = scores[i];
    }
    const au = aucOf(pos, neg);
    if (!Number.isNaN(au)) { auc += au; aucUsers++; }
  }
  const mean = (s: number, c: number): number => (c > 0 ? s / c : NaN);
  return {
    k, users,
    recall: mean(recall, users), precision: mean(precision, users), ndcg: mean(ndcg, users),
    hr: mean(hr, users), mrr: mean(mrr, users), auc: mean(auc, aucUsers),
  };
}

// ---- binary-label metrics (factorization machines, logistic models) -------------------------------
// The model's score is a logit: p = σ(s) = 1 / (1 + e^−s). A test tuple is positive iff its label
// is > 0, so 0/1 and −1/+1 labels both work (y = [label > 0]).

/** Probabilities are clipped to [LOGLOSS_EPS, 1 − LOGLOSS_EPS] before taking logs. */
export const LOGLOSS_EPS = 1e-7;

/** σ(s) = 1 / (1 + e^−s), computed without overflow for large |s|. */
export function sigmoid(s: number): number {
  if (s >= 0) return 1 / (1 + Math.exp(-s));
  const e = Math.exp(s);
  return e / (1 + e);
}

/**
 * Logloss = −(1/n) Σ_t [ y_t ln p_t + (1 − y_t) ln(1 − p_t) ], p_t = clip(σ(score_t), ε, 1 − ε),
 * ε = 1e-7, y_t = [label_t > 0]. A NaN score gives NaN (a diverged model is not hidden).
 */
export function logloss(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  const n = checkSameLength(scores, labels);
  let s = 0;
  for (let t = 0; t < n; t++) {
    const p = Math.min(1 - LOGLOSS_EPS, Math.max(LOGLOSS_EPS, sigmoid(scores[t])));
    s -= labels[t] > 0 ? Math.log(p) : Math.log(1 - p);
  }
  return s / n;
}

/**
 * Global AUC over test tuples: P(score of a positive > score of a negative), ties counting ½, over all
 * (positive, negative) pairs of tuples, positives = label > 0. NaN if either class is empty; NaN
 * scores rank as −∞. Equals aucOf(scores of positives, scores of negatives).
 */
export function globalAuc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  const n = checkSameLength(scores, labels);
  let np = 0;
  for (let t = 0; t < n; t++) if (labels[t] > 0) np++;
  const pos = new Float64Array(np), neg = new Float64Array(n - np);
  for (let t = 0, a = 0, b = 0; t < n; t++) {
    if (labels[t] > 0) pos[a++] = scores[t];
    else neg[b++] = scores[t];
  }
  return aucOf(pos, neg);
}

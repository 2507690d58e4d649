// similar: nearest neighbours in the model's own geometry — the columns of the serving factors that
// the score's interaction terms fill (for s(u, i) = U_u · V_i + b_i: V_i for items, U_u for users;
// biases and constants are not geometry). Dot product or cosine; the query itself is left out.
import { topK } from '../eval/metrics.ts';
import { RecommendError, type ServingModel } from './serving-model.ts';

export const METRICS = ['dot', 'cosine'] as const;
export type Metric = (typeof METRICS)[number];

export interface Neighbours {
  readonly rows: Int32Array;
  readonly scores: Float64Array;
}

/** Norms of the first `w` columns of each row of M, computed once per matrix (a server asks often). */
const normCache = new WeakMap<Float32Array, { w: number; norms: Float64Array }>();

function norms(M: Float32Array, n: number, stride: number, w: number): Float64Array {
  const hit = normCache.get(M);
  if (hit && hit.w === w && hit.norms.length === n) return hit.norms;
  const out = new Float64Array(n);
  for (let r = 0; r < n; r++) {
    let s = 0;
    for (let c = 0; c < w; c++) s += M[r * stride + c]! ** 2;
    out[r] = Math.sqrt(s);
  }
  normCache.set(M, { w, norms: out });
  return out;
}

/** The k rows of `M` (n × stride, the first `w` columns used) nearest row `q` of M. */
function nearest(M: Float32Array, n: number, stride: number, w: number, q: number, k: number, metric: Metric): Neighbours {
  const nm = metric === 'cosine' ? norms(M, n, stride, w) : undefined;
  const scores = new Float64Array(n);
  for (let r = 0; r < n; r++) {
    let s = 0;
    for (let c = 0; c < w; c++) s += M[q * stride + c]! * M[r * stride + c]!;
    if (nm) {
      const d = nm[q]! * nm[r]!;
      s = d > 0 ? s / d : 0;
    }
    scores[r] = s;
  }
  const self = new Int32Array(n);
  self[q] = 1;
  const rows = topK(scores, Math.min(k, n - 1), self, 1);
  return { rows, scores: Float64Array.from(rows, (r) => scores[r]!) };
}

function geometryWidth(m: ServingModel): number {
  if (m.neighbours) throw new RecommendError(`${m.meta.model} is a neighbour model (ItemCF): its ${m.meta.userDomain}s have no vectors; \`recc similar --item\` lists an item's neighbours`);
  if (m.meta.interactionWidth === 0) throw new RecommendError(`the score of ${m.meta.model} has no term that pairs a user with an item, so its ${m.meta.itemDomain}s have no geometry to compare`);
  return m.meta.interactionWidth;
}

export function similarItems(m: ServingModel, item: number, k: number, metric: Metric): Neighbours {
  // an ItemCF run: the item's row of the neighbours table (cosines already, best first)
  if (m.neighbours) {
    const { top, items, weights } = m.neighbours;
    const rows: number[] = [];
    for (let r = 0; r < Math.min(k, top) && items[item * top + r]! >= 0; r++) rows.push(items[item * top + r]!);
    return { rows: Int32Array.from(rows), scores: Float64Array.from(rows, (_, r) => weights[item * top + r]!) };
  }
  return nearest(m.Y, m.items.size, m.width, geometryWidth(m), item, k, metric);
}

export function similarUsers(m: ServingModel, user: number, k: number, metric: Metric): Neighbours {
  return nearest(m.X, m.users.size, m.width, geometryWidth(m), user, k, metric);
}

// ann: an HNSW index over the item vectors (usearch: maintained, prebuilt binaries inside its npm
// package, so nothing compiles or downloads at install), saved in the run folder as
// serving/ann-<metric>.usearch with serving/ann-<metric>.json.
//   ip      maximum inner product, score(u, i) = X[u]·Y[i] over all of Y's columns, by the
//           extra-dimension reduction (Bachrach et al. 2014): y' = [y, √(M² − ‖y‖²)] with M the largest
//           item norm, x' = [x, 0], so ‖x' − y'‖² = ‖x‖² + M² − 2 x·y and the nearest y' in L2 is the
//           largest x·y. HNSW's graph is built for a metric; raw inner product is not one.
//   cosine  cosine of the geometry columns (the interaction terms), for similar items.
// Candidates come back approximately ranked; their scores are recomputed exactly, seen items dropped
// (the search asks for k + |seen| so that k remain), and the rest re-sorted.
import { createRequire } from 'node:module';
import { existsSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import type { Index as UsearchIndex } from 'usearch';
import { writeAtomic } from '../output/run-folder.ts';
import { RecommendError, type ServingModel } from './serving-model.ts';

export const ANN_METRICS = ['ip', 'cosine'] as const;
export type AnnMetric = (typeof ANN_METRICS)[number];

export interface AnnParams {
  /** HNSW M: links per node */
  readonly connectivity: number;
  /** ef at construction */
  readonly expansionAdd: number;
  /** ef at search */
  readonly expansionSearch: number;
}

export const DEFAULT_ANN: AnnParams = { connectivity: 16, expansionAdd: 128, expansionSearch: 64 };

interface AnnJson extends AnnParams {
  readonly library: string;
  readonly metric: AnnMetric;
  readonly items: number;
  /** the indexed columns of Y, and the extra dimension of the ip reduction */
  readonly columns: number;
  readonly dimensions: number;
  /** M, the largest item norm (ip) */
  readonly maxNorm: number;
}

export interface AnnHits {
  readonly items: Int32Array;
  readonly scores: Float64Array;
}

type Usearch = typeof import('usearch');

function usearch(): Usearch {
  return createRequire(import.meta.url)('usearch') as Usearch;
}

const files = (dir: string, metric: AnnMetric): { index: string; json: string } => ({
  index: join(dir, 'serving', `ann-${metric}.usearch`),
  json: join(dir, 'serving', `ann-${metric}.json`),
});

/** The vector the index holds for item row r (length `dims`). */
function itemVector(m: ServingModel, r: number, metric: AnnMetric, columns: number, maxNorm: number, out: Float32Array): Float32Array {
  const y = m.Y.subarray(r * m.width, r * m.width + columns);
  out.set(y);
  if (metric === 'ip') {
    let n2 = 0;
    for (let c = 0; c < columns; c++) n2 += y[c]! * y[c]!;
    out[columns] = Math.sqrt(Math.max(0, maxNorm * maxNorm - n2));
  }
  return out;
}

export class AnnIndex {
  private readonly index: UsearchIndex;
  private readonly query: Float32Array;

  private constructor(
    readonly metric: AnnMetric,
    private readonly info: AnnJson,
    index: UsearchIndex,
  ) {
    this.index = index;
    this.query = new Float32Array(info.dimensions);
  }

  get size(): number {
    return this.info.items;
  }

  get params(): AnnParams {
    return { connectivity: this.info.connectivity, expansionAdd: this.info.expansionAdd, expansionSearch: this.info.expansionSearch };
  }

  /** Builds the index over `m`'s items (threads: 0 = all cores). */
  static build(m: ServingModel, metric: AnnMetric, p: AnnParams = DEFAULT_ANN, threads = 0): AnnIndex {
    if (m.neighbours) throw new RecommendError(`${m.meta.model} is a neighbour model (ItemCF): it scores by walking each user's items through its neighbours table, with no vectors to index; recommend without --ann (exact, O(|likes_u| · top) per user)`);
    const columns = metric === 'ip' ? m.width : m.meta.interactionWidth;
    if (columns === 0) throw new RecommendError(`the score of ${m.meta.model} has no interaction term: its items have no geometry for a cosine index`);
    let maxNorm = 0;
    if (metric === 'ip') {
      for (let r = 0; r < m.items.size; r++) {
        let n2 = 0;
        for (let c = 0; c < columns; c++) n2 += m.Y[r * m.width + c]! ** 2;
        maxNorm = Math.max(maxNorm, Math.sqrt(n2));
      }
    }
    const dims = metric === 'ip' ? columns + 1 : columns;
    const { Index } = usearch();
    const index = new Index({ dimensions: dims, metric: (metric === 'ip' ? 'l2sq' : 'cos') as never, quantization: 'f32' as never, connectivity: p.connectivity, expansion_add: p.expansionAdd, expansion_search: p.expansionSearch, multi: false });
    const n = m.items.size;
    const all = new Float32Array(n * dims);
    const tmp = new Float32Array(dims);
    for (let r = 0; r < n; r++) all.set(itemVector(m, r, metric, columns, maxNorm, tmp), r * dims);
    const keys = BigUint64Array.from({ length: n }, (_, r) => BigInt(r));
    const rows = Array.from({ length: n }, (_, r) => all.subarray(r * dims, (r + 1) * dims));
    index.add(keys, rows, threads);
    return new AnnIndex(metric, { library: 'usearch HNSW', metric, items: n, columns, dimensions: dims, maxNorm, ...p }, index);
  }

  /** Saves into the run folder's serving/ (temp siblings, then renames). */
  save(dir: string): void {
    const f = files(dir, this.metric);
    const tmp = `${f.index}.tmp-${process.pid}`;
    this.index.save(tmp);
    renameSync(tmp, f.index);
    writeAtomic(f.json, JSON.stringify(this.info, null, 2) + '\n');
  }

  static exists(dir: string, metric: AnnMetric): boolean {
    return existsSync(files(dir, metric).json);
  }

  /** The saved index; `expansionSearch` replaces the saved ef_search (usearch fixes it per Index). */
  static load(m: ServingModel, metric: AnnMetric, expansionSearch?: number): AnnIndex {
    const f = files(m.dir, metric);
    if (!existsSync(f.json) || !existsSync(f.index)) throw new RecommendError(`${m.dir} has no ${metric} ANN index; build it with \`recc index ${m.dir} --metric ${metric}\``);
    const saved = JSON.parse(readFileSync(f.json, 'utf8')) as AnnJson;
    const info = expansionSearch === undefined ? saved : { ...saved, expansionSearch };
    if (info.items !== m.items.size) throw new RecommendError(`${f.json}: the index holds ${info.items} items, the run ${m.items.size}; rebuild it with \`recc index ${m.dir}\``);
    const { Index } = usearch();
    const index = new Index({ dimensions: info.dimensions, metric: (metric === 'ip' ? 'l2sq' : 'cos') as never, quantization: 'f32' as never, connectivity: info.connectivity, expansion_add: info.expansionAdd, expansion_search: info.expansionSearch, multi: false });
    index.load(f.index);
    return new AnnIndex(metric, info, index);
  }

  /** Candidate item rows nearest the query (approximate order). */
  private candidates(q: Float32Array, want: number): BigUint64Array {
    const r = this.index.search(q, Math.min(want, this.info.items), 1);
    return r.keys.subarray(0, Number((r as unknown as { count?: number }).count ?? r.keys.length));
  }

  /** Approximate top-k unseen items for user row u by score X[u]·Y[i] (ip index only). */
  recommend(m: ServingModel, u: number, k: number, includeSeen = false): AnnHits {
    if (this.metric !== 'ip') throw new RecommendError('recommendations need the ip index (maximum inner product)');
    const q = this.query;
    q.fill(0);
    q.set(m.X.subarray(u * m.width, u * m.width + this.info.columns));
    const s0 = m.seenOffsets[u]!, s1 = m.seenOffsets[u + 1]!;
    const keys = this.candidates(q, k + (includeSeen ? 0 : s1 - s0));
    const rows: number[] = [];
    for (const key of keys) {
      const i = Number(key);
      if (!includeSeen && isSeen(m.seenItems, s0, s1, i)) continue;
      rows.push(i);
    }
    const score = (i: number): number => {
      let s = 0;
      for (let c = 0; c < m.width; c++) s += m.X[u * m.width + c]! * m.Y[i * m.width + c]!;
      return s;
    };
    const scored = rows.map((i) => ({ i, s: score(i) })).sort((a, b) => b.s - a.s || a.i - b.i).slice(0, k);
    return { items: Int32Array.from(scored, (x) => x.i), scores: Float64Array.from(scored, (x) => x.s) };
  }

  /** Approximate nearest items to item row `item` by cosine of the geometry (cosine index only). */
  similar(m: ServingModel, item: number, k: number): AnnHits {
    if (this.metric !== 'cosine') throw new RecommendError('similar items need the cosine index');
    const w = this.info.columns;
    const y = m.Y.subarray(item * m.width, item * m.width + w);
    const keys = this.candidates(Float32Array.from(y), k + 1);
    const norm = (r: number): number => Math.hypot(...m.Y.subarray(r * m.width, r * m.width + w));
    const ny = norm(item);
    const out = [...keys].map(Number).filter((r) => r !== item).map((r) => {
      let s = 0;
      for (let c = 0; c < w; c++) s += y[c]! * m.Y[r * m.width + c]!;
      const d = ny * norm(r);
      return { r, s: d > 0 ? s / d : 0 };
    }).sort((a, b) => b.s - a.s || a.r - b.r).slice(0, k);
    return { items: Int32Array.from(out, (x) => x.r), scores: Float64Array.from(out, (x) => x.s) };
  }

  /** Approximate top-k for many query vectors at once (the bench): rows of Q (n × columns). */
  searchMany(Q: Float32Array, n: number, k: number, threads = 1): Int32Array {
    const dims = this.info.dimensions;
    const cols = this.info.columns;
    const qs = Array.from({ length: n }, (_, j) => {
      const v = new Float32Array(dims);
      v.set(Q.subarray(j * cols, (j + 1) * cols));
      return v;
    });
    const r = this.index.search(qs, k, threads);
    const out = new Int32Array(n * k).fill(-1);
    for (let j = 0; j < n * k; j++) out[j] = Number(r.keys[j]!);
    return out;
  }
}

/** binary search in the sorted seen row of a user */
function isSeen(seen: Int32Array, lo: number, hi: number, i: number): boolean {
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const v = seen[mid]!;
    if (v === i) return true;
    if (v < i) lo = mid + 1;
    else hi = mid;
  }
  return false;
}

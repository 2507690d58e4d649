// top-k: exact top-K items for many users at once from the serving factors. Users go in blocks; a
// block's scores against every item are one matrix product X[block] · Yᵀ (each item row read once
// per block, the block's user rows stay in cache), accumulated in float64; each user's top K comes
// from a size-K heap over the items it has not seen (ties: lower item index first, as in evaluation).
import { topK } from '../eval/metrics.ts';
import { neighbourScores } from '../eval/neighbour-scores.ts';
import type { ServingModel } from './serving-model.ts';

export interface TopKResult {
  readonly k: number;
  /** users.length × k item rows, best first; −1 where a user has fewer than k candidates */
  readonly items: Int32Array;
  readonly scores: Float64Array;
  /** per user, how many seen items were left out */
  readonly excluded: Int32Array;
}

const BLOCK = 64;

/** score(u, ·) for users rows[0..n) into out (n × |item|, row-major). Four users share each read of
 * an item row (register blocking: about twice as fast as one dot product at a time). */
export function scoreUsers(m: ServingModel, rows: ArrayLike<number>, out: Float64Array): void {
  const w = m.width;
  const nItems = m.items.size;
  // an ItemCF run: each user's score row through the neighbours table (runtime/eval/neighbour-scores.ts)
  if (m.neighbours) {
    for (let b = 0; b < rows.length; b++) neighbourScores(m.neighbours, rows[b]!, out.subarray(b * nItems, (b + 1) * nItems));
    return;
  }
  const { X, Y } = m;
  const n = rows.length;
  for (let i = 0; i < nItems; i++) {
    const yo = i * w;
    let b = 0;
    for (; b + 4 <= n; b += 4) {
      const x0 = rows[b]! * w, x1 = rows[b + 1]! * w, x2 = rows[b + 2]! * w, x3 = rows[b + 3]! * w;
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (let c = 0; c < w; c++) {
        const y = Y[yo + c]!;
        s0 += X[x0 + c]! * y;
        s1 += X[x1 + c]! * y;
        s2 += X[x2 + c]! * y;
        s3 += X[x3 + c]! * y;
      }
      out[b * nItems + i] = s0;
      out[(b + 1) * nItems + i] = s1;
      out[(b + 2) * nItems + i] = s2;
      out[(b + 3) * nItems + i] = s3;
    }
    for (; b < n; b++) {
      const xo = rows[b]! * w;
      let s = 0;
      for (let c = 0; c < w; c++) s += X[xo + c]! * Y[yo + c]!;
      out[b * nItems + i] = s;
    }
  }
}

/** Top-K unseen (or, with `includeSeen`, all) items for each user row. */
export function recommendRows(m: ServingModel, rows: ArrayLike<number>, k: number, includeSeen = false): TopKResult {
  const nItems = m.items.size;
  const n = rows.length;
  const items = new Int32Array(n * k).fill(-1);
  const scores = new Float64Array(n * k).fill(Number.NaN);
  const excluded = new Int32Array(n);
  const block = new Float64Array(Math.min(BLOCK, n) * nItems);
  const stamp = new Int32Array(nItems);
  for (let b0 = 0; b0 < n; b0 += BLOCK) {
    const sub = Array.prototype.slice.call(rows, b0, Math.min(n, b0 + BLOCK)) as number[];
    scoreUsers(m, sub, block);
    sub.forEach((u, j) => {
      const mark = b0 + j + 1;
      if (!includeSeen) {
        for (let p = m.seenOffsets[u]!; p < m.seenOffsets[u + 1]!; p++) stamp[m.seenItems[p]!] = mark;
        excluded[b0 + j] = m.seenOffsets[u + 1]! - m.seenOffsets[u]!;
      }
      const s = block.subarray(j * nItems, (j + 1) * nItems);
      const best = topK(s, Math.min(k, nItems), stamp, mark);
      best.forEach((i, r) => {
        items[(b0 + j) * k + r] = i;
        scores[(b0 + j) * k + r] = s[i]!;
      });
    });
  }
  return { k, items, scores, excluded };
}

// neighbour-scores: score(u, ·) of a neighbour score (compiler/passes/neighbour-score.ts),
//   score(u, i) = c · Σ_{t: R.user[t] = u} S[R.item[t], i],
// from a user's tuples of R (CSR) and the fixed-width top-M table S (runtime/train/neighbours.ts):
// for each tuple's item j, add c·S_ji to the M items in row j. O(|likes_u| · M) per user, against
// O(|likes_u| · |item|) for the written sum over every item.

/** The params entry holding a neighbours table's item rows (float32, exact below 2^24 items). */
export const itemsKey = (table: string): string => `${table}:items`;

/** A user's walked items (CSR over the relation's tuples, duplicates kept) and the table's rows. */
export interface NeighbourScorer {
  readonly offsets: Int32Array;
  readonly walked: Int32Array;
  readonly top: number;
  /** |item| × top item rows (−1 pads) and their weights */
  readonly items: ArrayLike<number>;
  readonly weights: ArrayLike<number>;
  readonly coef: number;
}

/** score(u, i) for every item i into `out` (length |item|), overwritten. */
export function neighbourScores(s: NeighbourScorer, u: number, out: Float64Array): Float64Array {
  out.fill(0);
  const { top, items, weights, coef } = s;
  for (let p = s.offsets[u]!; p < s.offsets[u + 1]!; p++) {
    const row = s.walked[p]! * top;
    for (let m = 0; m < top; m++) {
      const i = items[row + m]!;
      if (i < 0) break;
      out[i]! += coef * weights[row + m]!;
    }
  }
  return out;
}

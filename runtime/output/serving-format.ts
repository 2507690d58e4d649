// serving-format: the shape of a run folder's serving/serving.json (written by serving-files.ts, read
// by runtime/serve/), kept apart so that readers load no writer.
export const SERVING_VERSION = 1;

export interface ServingTerm {
  /** columns [start, start + width) of X and Y */
  readonly start: number;
  readonly width: number;
  readonly interaction: boolean;
  /** the two sides in the IR's notation, for a reader of the folder */
  readonly user: string;
  readonly item: string;
}

export interface ServingJson {
  readonly version: number;
  readonly model: string;
  readonly userDomain: string;
  readonly itemDomain: string;
  readonly users: number;
  readonly items: number;
  /** F, the columns of X and Y; 0 when `factorsUnavailable` */
  readonly width: number;
  /** the leading columns that interaction terms fill: the geometry `similar` and ANN use */
  readonly interactionWidth: number;
  readonly terms: readonly ServingTerm[];
  readonly factorsUnavailable: string | null;
  /** the training relations whose (user, item) pairs count as seen */
  readonly seenFrom: readonly string[];
  readonly seenPairs: number;
  /**
   * an ItemCF score (compiler/passes/neighbour-score.ts): score(u, i) = coef · Σ_{j ∈ walked[u]} S[j, i],
   * from serving/neighbour-{items,weights}.npy (|item| × top) and serving/walk-{offsets,items}.npy
   * (each user's items of the walked relation, CSR); X and Y are then empty (width 0)
   */
  readonly neighbours?: { readonly table: string; readonly relation: string; readonly top: number; readonly coef: number };
}


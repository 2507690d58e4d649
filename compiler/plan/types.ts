// Plan data: the KernelPlan and GroupPlan types (plain JSON-serialisable data: ordered steps, each
// defining a temp tensor `tN` over its output indices, the last one the result), their kernel
// arguments, CSR uses and split-K chunking, and the planner's limits. No logic beyond `csrKey`.
import type { Expr, TensorKind } from '../ir/nodes.ts';

export interface PlanOptions {
  /** iterations summed sequentially by one thread of a chunked reduction (≤ 1024) */
  readonly chunk?: number;
  /** a reduction longer than this is split into chunks (split-K) rather than run inline */
  readonly maxInline?: number;
}

/** An index with its concrete extent. Chunk indices range over synthetic spaces named `#tN`. */
export interface PlanIdx {
  readonly name: string;
  readonly space: string;
  readonly size: number;
}

/** A kernel argument. `name` is generated (`p0`, `p1`, …); user names only ever appear as data here. */
export type Arg =
  | { readonly name: string; readonly kind: 'tensor'; readonly tensor: string; readonly tensorKind: TensorKind; readonly size: number }
  | { readonly name: string; readonly kind: 'temp'; readonly temp: string; readonly size: number }
  /** the id column `rel.col`, as floats */
  | { readonly name: string; readonly kind: 'ids'; readonly rel: string; readonly col: string; readonly size: number }
  /** CSR of `rel` by `col`: offsets (|domain|+1 entries) and the tuple permutation (|rel| entries) */
  | { readonly name: string; readonly kind: 'csr-offsets' | 'csr-perm'; readonly rel: string; readonly col: string; readonly size: number }
  /** the id column `rel.of` in the CSR order of `rel` by `col` (contiguous reads inside a walk) */
  | { readonly name: string; readonly kind: 'csr-ids'; readonly rel: string; readonly col: string; readonly of: string; readonly size: number };

/** Temps larger than this cannot be indexed exactly with float32 flat indices (webasm, GPUs). */
export const MAX_TEMP_CELLS = 2 ** 24;

/** The key of a CSR index in maps: relation and column, unambiguously joined. */
export function csrKey(rel: string, col: string): string {
  return JSON.stringify([rel, col]);
}

/** A relation sum walked through a CSR index: `sum(t in rel: δ(rel.col[t], key) * …)` */
export interface CsrUse {
  readonly rel: string;
  readonly col: string;
  /** the domain `col` holds ids of (the offsets array has size(domain)+1 entries) */
  readonly domain: string;
}

/** Chunking of a step's top-level sum: thread (out…, c) sums box c of the iteration space. */
export interface Split {
  /** the chunk index: last axis of the step's output */
  readonly chunkIdx: PlanIdx;
  /** per summed index: box edge (`chunk`) and number of boxes (`chunks`); chunks = 1 means whole */
  readonly dims: readonly { readonly idx: PlanIdx; readonly chunk: number; readonly chunks: number }[];
}

export interface Cost {
  /** floating-point operations per evaluation, by the cost model (compiler/passes/cost.ts) */
  readonly flops: number;
  /** bytes of the step's output */
  readonly bytes: number;
}

/**
 * One step defines temp `name`:
 * - `kernel`: one gpu.js thread per output cell evaluates `expr` (inline loops for inner sums);
 *   with `split`, `expr` is a sum and cell (o…, c) holds the partial sum over box c;
 * - `host-sum`: the float64 sum of every cell of temp `of` (closed reductions; accuracy);
 * - `host-eval`: a closed, loop-free scalar expression over earlier temps, evaluated in float64.
 */
export interface Step {
  readonly name: string;
  readonly kind: 'kernel' | 'host-sum' | 'host-eval';
  readonly expr: Expr;
  /** printIR of the step's expression (temps appear as `tN[...]`) */
  readonly text: string;
  readonly out: readonly PlanIdx[];
  readonly cells: number;
  readonly split?: Split;
  readonly of?: string;
  readonly args: readonly Arg[];
  readonly csr: readonly CsrUse[];
  readonly cost: Cost;
  /**
   * A per-tuple step stored in CSR order: its one output index is a tuple index `t` of `order.rel`,
   * and cell r holds the value for tuple perm[r] of the CSR of `order.rel` by `order.col`. Only
   * read inside CSR walks over that same index, at the walk's position (contiguous reads).
   */
  readonly order?: CsrUse;
}

export interface KernelPlan {
  readonly version: 1;
  /** printIR of the planned expression */
  readonly source: string;
  readonly out: readonly PlanIdx[];
  /** every space the plan mentions, synthetic chunk spaces included */
  readonly sizes: Readonly<Record<string, number>>;
  readonly steps: readonly Step[];
  /** the temp holding the result (the last step's) */
  readonly result: string;
  /** true when the result is a number (no output index) */
  readonly scalar: boolean;
  readonly cost: { readonly flops: number; readonly bytes: number };
}

/** One expression of a group plan and the temp holding its value. */
export interface GroupResult {
  readonly source: string;
  readonly out: readonly PlanIdx[];
  readonly result: string;
  readonly scalar: boolean;
}

/** Several expressions planned together: shared steps (common temps computed once), one result each. */
export interface GroupPlan {
  readonly version: 1;
  readonly sizes: Readonly<Record<string, number>>;
  readonly steps: readonly Step[];
  readonly results: readonly GroupResult[];
  readonly cost: { readonly flops: number; readonly bytes: number };
}

export const DEFAULT_CHUNK = 256;
export const DEFAULT_MAX_INLINE = 1024;

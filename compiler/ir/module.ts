// An IR module: the lowered model. Spaces say what every index ranges over; terms are the loss and
// reg expressions (closed: no free indices); params and data say which tensors are leaves.
// Invariant: every Idx.space and every tensor name used by a term is declared here.
import type { Expr } from './nodes.ts';
import type { Space } from './spaces.ts';

export type { Space } from './spaces.ts';

export interface ParamDecl {
  readonly name: string;
  /** one space name per axis (a domain or a dim) */
  readonly shape: readonly string[];
}

export interface Term {
  readonly name: string;
  readonly role: 'loss' | 'reg';
  readonly expr: Expr;
}

/**
 * A sampler the runtime draws from each step. `per-tuple`: one id per tuple of `rel`, stored as the
 * id column `rel.col` with log-probabilities in value column `sampledLogqColumn(col)` (ir/spaces.ts). `set`: `count` ids shared
 * by the batch, as the sample-set space `space` with columns `id` and `logq`. `pop` draws ∝ count^alpha
 * in the training relation `source`; `inbatch` (sets only) takes the current batch's `sourceCol` ids
 * of `source` (count is 0: the set's size is the batch's), with logq = log of their frequency in
 * `source`. `exclude` (per-tuple only) redraws an id while (tuple's `tupleCol`, id) is a training tuple
 * of `exclude.rel` (columns `keyCol`, `col`), at most `retries` times, then accepts the last draw.
 */
export type SamplerDist = 'uniform' | 'pop' | 'inbatch';

export interface SamplerExclude {
  readonly rel: string;
  /** the excluded relation's column over the sampled domain */
  readonly col: string;
  /** its column over the owner's domain (the user whose positives are rejected) */
  readonly keyCol: string;
  /** the enclosing relation's column over that same domain, and the domain (`user`) */
  readonly tupleCol: string;
  readonly owner: string;
  readonly retries: number;
}

export type Sampler =
  | { readonly kind: 'per-tuple'; readonly rel: string; readonly col: string; readonly variable: string; readonly domain: string; readonly dist: SamplerDist; readonly alpha: number; readonly source: string | undefined; readonly exclude?: SamplerExclude }
  | { readonly kind: 'set'; readonly space: string; readonly domain: string; readonly dist: SamplerDist; readonly alpha: number; readonly count: number; readonly source: string | undefined; readonly sourceCol?: string };

export interface IRModule {
  readonly spaces: ReadonlyMap<string, Space>;
  readonly params: readonly ParamDecl[];
  /** hyperparameter defaults; the IR refers to them as scalar `hyper` tensors */
  readonly hypers: ReadonlyMap<string, number>;
  readonly terms: readonly Term[];
  readonly samplers: readonly Sampler[];
}

/** Concrete sizes of every space, known once data is loaded (dims are known at compile time). */
export type Sizes = ReadonlyMap<string, number>;

export function dimSizes(m: IRModule): Map<string, number> {
  const out = new Map<string, number>();
  for (const s of m.spaces.values()) if (s.kind === 'dim') out.set(s.name, s.size);
  return out;
}

// An IR module: the lowered model. Spaces say what every index ranges over; terms are the loss and
// reg expressions (closed: no free indices); params and data say which tensors are leaves.
// Invariant: every Idx.space and every tensor name used by a term is declared here.
import type { Expr } from './nodes.ts';

export type Space =
  | { readonly kind: 'domain'; readonly name: string }
  | { readonly kind: 'dim'; readonly name: string; readonly size: number }
  /** the tuples of a relation; `columns` maps a column to its domain (id columns) or 'float' */
  | { readonly kind: 'relation'; readonly name: string; readonly columns: ReadonlyMap<string, string> };

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

export interface IRModule {
  readonly spaces: ReadonlyMap<string, Space>;
  readonly params: readonly ParamDecl[];
  /** hyperparameter defaults; the IR refers to them as scalar `hyper` tensors */
  readonly hypers: ReadonlyMap<string, number>;
  readonly terms: readonly Term[];
}

/** Concrete sizes of every space, known once data is loaded (dims are known at compile time). */
export type Sizes = ReadonlyMap<string, number>;

export function dimSizes(m: IRModule): Map<string, number> {
  const out = new Map<string, number>();
  for (const s of m.spaces.values()) if (s.kind === 'dim') out.set(s.name, s.size);
  return out;
}

// The sizes of one training step, as the trainer builds it: its first step (steps.ts) — domains
// from the id maps, the primary relation's first mini-batch (and its sparse rows' entries) or user
// batch, sample sets, and the touched rows of row-sparse gradients. `recc explain` plans a step at
// these sizes, so the costs it prints are those of the kernels a run executes, on the model's data.
import type { Compiled } from '../../compiler/compile.ts';
import type { Dataset } from '../data/dataset.ts';
import { sizesFor } from '../exec/env.ts';
import { Steps } from './steps.ts';

export interface StepSizes {
  /** sizes of the whole training data (what the compiler chooses forms at) */
  readonly full: Map<string, number>;
  /** sizes of the first training step */
  readonly step: Map<string, number>;
  /** params whose gradient the step evaluates at its touched rows only (`g.rows.expr`) */
  readonly atRows: ReadonlySet<string>;
  /** tuples per step of the primary relation, and of the whole training split */
  readonly batch: { readonly relation: string; readonly size: number; readonly total: number } | undefined;
}

export function stepSizes(compiled: Compiled, ds: Dataset): StepSizes {
  const fullSizes = sizesFor(compiled, ds, ds.train, ds.train);
  // the trainer's first step (steps.ts), without drawing samples: their spaces keep their sizes
  const first = new Steps(compiled, ds, fullSizes).next();
  const primary = ds.train.get(ds.primary);
  const batch = primary ? { relation: ds.primary, size: first.relations.get(ds.primary)?.size ?? primary.size, total: primary.size } : undefined;
  return { full: fullSizes, step: new Map(first.sizes), atRows: first.atRows, batch };
}

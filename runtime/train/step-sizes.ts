// The sizes of one training step, as the trainer builds it (train.ts): domains from the id maps,
// each relation's first mini-batch (and its sparse rows' entries), user batches, sample sets, and
// the touched rows of row-sparse gradients. `recc explain` plans a step at these sizes, so the
// costs it prints are those of the kernels a run executes, on the model's own data.
import type { Compiled } from '../../compiler/compile.ts';
import { batchKey, totalKey } from '../../compiler/ir/spaces.ts';
import type { Relation } from '../data/load.ts';
import type { Dataset } from '../data/dataset.ts';
import { Rng } from '../data/rng.ts';
import { sizesFor } from '../exec/env.ts';
import { Batcher } from './train.ts';
import { restrictRelations, UserBatcher } from './user-batch.ts';
import { rowsCapacity, rowsRelation, touchedRows } from './touched-rows.ts';

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
  const cfg = compiled.model.train;
  const full = ds.train;
  const fullSizes = sizesFor(compiled, ds, full, full);
  let relations: ReadonlyMap<string, Relation> = full;
  let sizes = new Map(fullSizes);
  const primary = full.get(ds.primary);
  if (cfg.batch.kind === 'tuples' && primary && cfg.batch.size < primary.size) {
    const b = new Map(full);
    for (const [name, r] of new Batcher(primary, cfg.batch.size, new Rng(cfg.seed).fork(1)).next(full)) b.set(name, r);
    relations = b;
    sizes = sizesFor(compiled, ds, b, full);
  }
  const userBatch = cfg.batch.kind === 'users' && cfg.batch.size < (fullSizes.get(cfg.batch.domain) ?? 0);
  if (cfg.batch.kind === 'users' && userBatch) {
    const n = fullSizes.get(cfg.batch.domain)!;
    const members = new UserBatcher(cfg.batch.domain, n, cfg.batch.size, new Rng(cfg.seed).fork(3)).next();
    relations = restrictRelations(full, cfg.batch.domain, members, n);
    sizes = sizesFor(compiled, ds, relations, full);
    sizes.set(cfg.batch.domain, members.length);
  }
  const atRows = new Set<string>();
  if (!userBatch) {
    for (const g of compiled.grads) {
      if (!g.rows) continue;
      const domainSize = sizes.get(g.rows.domain) ?? 0;
      const rows = touchedRows(g.rows, relations, domainSize);
      const capacity = rowsCapacity(rows.length, domainSize);
      if (capacity >= domainSize) continue;
      atRows.add(g.param);
      const rel = rowsRelation(g.rows, rows, capacity);
      for (const s of [rel.name, batchKey(rel.name), totalKey(rel.name)]) sizes.set(s, rel.size);
    }
  }
  const batch = primary ? { relation: ds.primary, size: relations.get(ds.primary)?.size ?? primary.size, total: primary.size } : undefined;
  return { full: fullSizes, step: sizes, atRows, batch };
}

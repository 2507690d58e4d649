// Touched rows of a row-sparse gradient (its form comes compiled, in CompiledGrad.rows; the analysis
// is compiler/passes/row-support.ts): the distinct ids the current batch holds in the gradient's
// source columns (positives, per-tuple negatives, sample sets). The gradient is evaluated at those
// rows only, as the relation `P#rows` with one id column `row`; the trainer then updates those rows
// only (runtime/optimizer.ts, RowSparseGrad).
//
// Kernels are planned per size, and the number of touched rows changes every batch, so the relation
// is padded (with copies of its last id, whose results are dropped) to a capacity that only grows
// during a run, in steps of a quarter octave and at most the domain's size: after the first few
// batches every step runs the same plan, and the padding stays small. Once the capacity is the whole
// domain (a batch touches most rows, e.g. BPR at ML-100K), the trainer evaluates the dense gradient
// instead, which is the same work without the indirection, and still updates the touched rows only.
import type { RowGradient } from '../../compiler/compile.ts';
import { TOUCHED_ROW } from '../../compiler/ir/spaces.ts';
import type { Relation } from '../data/load.ts';
import { heapArrays, type Arrays } from '../exec/step-pool.ts';

/** The distinct ids of the sources over the current relations, ascending. */
export function touchedRows(g: RowGradient, relations: ReadonlyMap<string, Relation>, domainSize: number, pool: Arrays = heapArrays): Int32Array {
  // a byte per id (a bitmap's cost without its shifts), the distinct ids into one typed array; sorted
  // by scanning the bitmap when they are a large part of the domain, else by sorting them (in place)
  const seen = pool.uint8(domainSize);
  let total = 0;
  for (const s of g.sources) total += relations.get(s.rel)?.ids.get(s.col)?.length ?? 0;
  const rows = pool.int32(Math.min(total, domainSize));
  let n = 0;
  for (const s of g.sources) {
    const ids = relations.get(s.rel)?.ids.get(s.col);
    if (!ids) continue;
    for (let t = 0; t < ids.length; t++) {
      const id = ids[t]!;
      if (id < 0 || id >= domainSize || seen[id]) continue;
      seen[id] = 1;
      rows[n++] = id;
    }
  }
  if (n * 16 < domainSize) return rows.subarray(0, n).sort();
  for (let id = 0, k = 0; id < domainSize; id++) if (seen[id]) rows[k++] = id;
  return n === rows.length ? rows : rows.subarray(0, n);
}

/** n rounded up to a multiple of a quarter of its octave (1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 14, 16, 20, …). */
export function paddedCount(n: number): number {
  if (n <= 4) return Math.max(1, n);
  const quarter = 2 ** (Math.floor(Math.log2(n)) - 2);
  return Math.ceil(n / quarter) * quarter;
}

/** The capacity for n touched rows of a domain of `domainSize`, given the run's capacity so far. */
export function rowsCapacity(n: number, domainSize: number, previous = 0): number {
  return Math.max(n, Math.min(Math.max(previous, paddedCount(n)), domainSize));
}

/** The `P#rows` relation of a step: the touched rows, padded to `capacity` with the last id. */
export function rowsRelation(g: RowGradient, rows: Int32Array, capacity = paddedCount(rows.length), pool: Arrays = heapArrays): Relation {
  const size = Math.max(capacity, rows.length, 1);
  const padded = pool.int32(size);
  padded.set(rows);
  padded.fill(rows.length ? rows[rows.length - 1]! : 0, rows.length);
  return {
    name: g.space,
    size: padded.length,
    columns: [{ name: TOUCHED_ROW, type: { kind: 'domain', domain: g.domain } }],
    ids: new Map([[TOUCHED_ROW, padded]]),
    idDomains: new Map([[TOUCHED_ROW, g.domain]]),
    values: new Map(),
    source: undefined,
  };
}

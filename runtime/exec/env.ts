// The environment a backend evaluates in, shared by training and evaluation: the size of every space
// for the current relations (domains from the id maps, dims from the model, each relation's current
// batch and full count, sample sets before their draw) and the tensors (params, hypers, data columns,
// id columns of the relations given). Input: a Compiled model and loaded relations; no compiling here.
import type { Compiled } from '../../compiler/compile.ts';
import type { Env, TensorValue } from '../../compiler/ir/interp.ts';
import { batchKey, columnKey, totalKey } from '../../compiler/ir/spaces.ts';
import type { Relation } from '../data/load.ts';
import type { Dataset } from '../data/dataset.ts';
import { StepPool } from './step-pool.ts';

/** Sizes of every space: domains from the id maps, dims, and each relation's current batch. */
export function sizesFor(compiled: Pick<Compiled, 'model' | 'module'>, ds: Dataset, batch: ReadonlyMap<string, Relation>, full: ReadonlyMap<string, Relation>): Map<string, number> {
  const sizes = new Map<string, number>();
  for (const s of compiled.module.spaces.values()) {
    if (s.kind === 'dim') sizes.set(s.name, s.size);
    else if (s.kind === 'domain') {
      sizes.set(s.name, ds.ids.get(s.name).size);
      sizes.set(totalKey(s.name), ds.ids.get(s.name).size);
    }
    else {
      const cur = batch.get(s.name)?.size ?? sampleSetSize(compiled, s.name, full) ?? 0;
      sizes.set(s.name, cur);
      sizes.set(batchKey(s.name), cur);
      sizes.set(totalKey(s.name), full.get(s.name)?.size ?? cur);
    }
  }
  return sizes;
}

/**
 * The size of a sample set's space before this step's draw (compile time, cost model): K for
 * `J ~ … x K`, the batch size of the source relation for `J ~ inbatch(…)`.
 */
function sampleSetSize(compiled: Pick<Compiled, 'model' | 'module'>, space: string, full: ReadonlyMap<string, Relation>): number | undefined {
  const smp = compiled.module.samplers.find((x) => x.kind === 'set' && x.space === space);
  if (smp?.kind !== 'set') return undefined;
  if (smp.dist !== 'inbatch') return smp.count;
  const n = full.get(smp.source ?? '')?.size ?? 0;
  const b = compiled.model.train.batch;
  return b.kind === 'tuples' ? Math.min(b.size, n) : n;
}

/** Float32 copies of value columns: the full relations' columns are the same arrays every step. */
const float32Copies = new WeakMap<Float64Array, Float32Array>();

function asFloat32(a: Float64Array): Float32Array {
  let f = float32Copies.get(a);
  if (!f) {
    // a step's batch column: its copy lives as long as it does (step-pool.ts)
    const pool = StepPool.of(a);
    if (pool) {
      f = pool.float32(a.length);
      f.set(a);
    } else f = Float32Array.from(a);
    float32Copies.set(a, f);
  }
  return f;
}

/** The environment a backend evaluates in: params, hypers, and the relations' current tuples. */
export function makeEnv(
  compiled: Compiled,
  sizes: ReadonlyMap<string, number>,
  params: ReadonlyMap<string, Float32Array>,
  relations: ReadonlyMap<string, Relation>,
  extra?: ReadonlyMap<string, TensorValue>,
): Env {
  const tensors = new Map<string, TensorValue>(extra ?? []);
  for (const p of compiled.module.params) tensors.set(p.name, { data: params.get(p.name)!, shape: p.shape });
  for (const [name, value] of compiled.model.consts) tensors.set(name, { data: Float32Array.of(value), shape: [] });
  const ids = new Map<string, Int32Array>();
  for (const [name, rel] of relations) {
    for (const [col, a] of rel.values) tensors.set(columnKey(name, col), { data: asFloat32(a), shape: [name] });
    for (const [col, a] of rel.ids) ids.set(columnKey(name, col), a);
  }
  return { sizes, tensors, ids };
}

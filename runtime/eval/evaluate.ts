// evaluate: metrics of a model's `def score` on the test side of its dataset. Rating metrics (RMSE,
// MAE) compare score(u, i) with the relation's first float column on every test tuple; ranking
// metrics (Recall/Precision/NDCG/HR/MRR@K, AUC) rank all items for each test user by score(u, ·),
// excluding the user's training items. Predictions go through the same Backend as training.
// Binary metrics (logloss, and for relations with a sparse column the global AUC) compare score, a
// logit, with the label (positive iff > 0) on every test tuple. A relation with a sparse column x
// is predicted row by row with `def score(x)` applied to the row's entries (predictRows).
// Definitions: docs/metrics.md.
import type { Compiled } from '../../compiler/compile.ts';
import { idx, v, type Ix } from '../../compiler/ir/nodes.ts';
import { makeLowerer, sparseRowArg } from '../../compiler/lower/lower.ts';
import { optimize } from '../../compiler/passes/pipeline.ts';
import type { Backend } from '../exec/backend.ts';
import type { Relation } from '../data/load.ts';
import type { Dataset } from '../data/dataset.ts';
import { globalAuc, logloss, mae, rankingMetrics, rmse, userItems } from './metrics.ts';
import { entriesName, entriesOf, sparseColumns } from '../data/sparse.ts';
import { makeEnv, sizesFor } from '../exec/env.ts';

export interface EvalResult {
  readonly step: number;
  readonly epoch: number;
  /** e.g. { rmse: 0.93, "ndcg@10": 0.21 } */
  readonly metrics: Readonly<Record<string, number>>;
}

export class EvalError extends Error {
  override readonly name = 'EvalError';
}

const RANKING = new Set(['recall', 'precision', 'ndcg', 'hr', 'mrr', 'auc']);

export function metricName(m: { name: string; k?: number }): string {
  return m.k === undefined ? m.name : `${m.name}@${m.k}`;
}

/** The scoring def's id columns of a relation, in the def's argument order. */
function scoreColumns(compiled: Compiled, rel: Relation): { cols: string[]; domains: string[] } {
  const def = compiled.model.defs.get('score');
  if (!def) throw new EvalError('metrics need a `def score(…)` that predicts from ids; the model has none');
  const idCols = rel.columns.filter((c) => c.type.kind === 'domain');
  if (idCols.length < def.params.length) throw new EvalError(`\`score\` takes ${def.params.length} ids but ${rel.name} has ${idCols.length} id columns`);
  const chosen = def.params.map((p, j) => idCols.find((c) => c.type.kind === 'domain' && c.type.domain === p.type) ?? idCols[j]!);
  return { cols: chosen.map((c) => c.name), domains: chosen.map((c) => (c.type as { domain: string }).domain) };
}

/** score(u, i) for every tuple of `rel` (which must be the relation's current side in `sides`). */
export function predictTuples(compiled: Compiled, ds: Dataset, params: ReadonlyMap<string, Float32Array>, backend: Backend, rel: Relation): Float32Array | Float64Array {
  const { cols, domains } = scoreColumns(compiled, rel);
  const t = idx('t', rel.name);
  const args: Ix[] = cols.map((col, j) => ({ kind: 'gather', rel: rel.name, col, domain: domains[j]!, t }));
  const applied = makeLowerer(compiled.model).applyDef('score', args);
  if (!applied.expr) throw new EvalError(applied.diagnostics[0]?.message ?? 'cannot apply `score`');
  const sides = new Map(ds.train);
  sides.set(rel.name, rel);
  const sizes = sizesFor(compiled, ds, sides, ds.train);
  return backend.tensor(applied.expr, [t], makeEnv(compiled, sizes, params, sides));
}

/**
 * score(x_t) for every row t of `rel`, a relation with one sparse column x and `def score(x)` taking
 * that sparse row. The row's entries come from `entries` (default: the entries of `rel` in the side
 * of `ds` that holds it, test first). Runs through the Backend like training, after the same rewrites.
 */
export function predictRows(
  compiled: Compiled,
  ds: Dataset,
  params: ReadonlyMap<string, Float32Array>,
  backend: Backend,
  rel: Relation,
  entries?: ReadonlyMap<string, Relation>,
): Float32Array | Float64Array {
  const def = compiled.model.defs.get('score');
  if (!def) throw new EvalError('metrics need a `def score(x)` that predicts from a sparse row; the model has none');
  const cols = sparseColumns(rel);
  if (cols.length !== 1) throw new EvalError(`predicting rows of ${rel.name} needs exactly one sparse column, found ${cols.length}`);
  if (def.params.length !== 1) throw new EvalError(`\`score\` takes ${def.params.length} arguments, but rows of ${rel.name} give one sparse row: write \`def score(x) = …\``);
  const col = cols[0]!;
  const domain = (col.type as { readonly domain: string }).domain;
  const ename = entriesName(rel.name, col.name);
  const side = entries ?? (ds.test.get(rel.name) === rel ? entriesOf(rel, ds.test) : entriesOf(rel, ds.train));
  const ent = side.get(ename);
  if (!ent) throw new EvalError(`the entries of ${rel.name}.${col.name} (relation ${ename}) are not loaded`);
  const t = idx('t', rel.name);
  const applied = makeLowerer(compiled.model).applyDef('score', [sparseRowArg(rel.name, col.name, domain, t)]);
  if (!applied.expr) throw new EvalError(applied.diagnostics[0]?.message ?? 'cannot apply `score` to a sparse row');
  const sides = new Map(ds.train);
  sides.set(rel.name, rel);
  sides.set(ename, ent);
  const sizes = sizesFor(compiled, ds, sides, ds.train);
  // the score as written sums `j < l in x` over every pair of entries of every row (O(rows·nnz²) as
  // planned); the same rewrites as training (fm-pairwise + contraction) make it O(k·nnz)
  const { expr } = optimize(applied.expr, { sizeOf: (s) => sizes.get(s) ?? 1, spaces: compiled.module.spaces });
  return backend.tensor(expr, [t], makeEnv(compiled, sizes, params, sides));
}

/** score(u, i) for users [u0, u1) × all items, row-major. */
export function scoreBlock(compiled: Compiled, ds: Dataset, params: ReadonlyMap<string, Float32Array>, backend: Backend, domains: readonly [string, string], u0: number, u1: number): Float32Array | Float64Array {
  const [ud, id] = domains;
  const u = idx('u', ud);
  const i = idx('i', id);
  const applied = makeLowerer(compiled.model).applyDef('score', [v(u), v(i)]);
  if (!applied.expr) throw new EvalError(applied.diagnostics[0]?.message ?? 'cannot apply `score`');
  const sizes = sizesFor(compiled, ds, ds.train, ds.train);
  const all = makeEnv(compiled, sizes, params, ds.train);
  // restrict the user axis to the block by slicing every param over the user domain
  const tensors = new Map(all.tensors);
  const blockSizes = new Map(sizes);
  blockSizes.set(ud, u1 - u0);
  for (const p of compiled.module.params) {
    if (p.shape[0] !== ud) continue;
    const row = p.shape.slice(1).reduce((a, s) => a * sizes.get(s)!, 1);
    tensors.set(p.name, { data: (all.tensors.get(p.name)!.data as Float32Array).subarray(u0 * row, u1 * row), shape: p.shape });
  }
  return backend.tensor(applied.expr, [u, i], { ...all, sizes: blockSizes, tensors });
}

export function evaluateModel(compiled: Compiled, ds: Dataset, params: ReadonlyMap<string, Float32Array>, backend: Backend, step: number, epoch: number): EvalResult {
  const metrics: Record<string, number> = {};
  const test = ds.test.get(ds.primary);
  if (!test) throw new EvalError(`metrics need a test set: add \`split ${ds.primary}: holdout 0.2\` to the model, or pass --test FILE`);
  const wanted = compiled.model.evaluate.metrics;
  // rows with a sparse column are predicted by score(x); `auc` is then the global AUC over test rows
  const sparse = sparseColumns(test).length > 0;
  let predicted: Float32Array | Float64Array | undefined;
  const predictions = (): Float32Array | Float64Array => (predicted ??= sparse ? predictRows(compiled, ds, params, backend, test) : predictTuples(compiled, ds, params, backend, test));
  const rating = wanted.filter((m) => m.name === 'rmse' || m.name === 'mae');
  if (rating.length) {
    const pred = predictions();
    const valueCol = test.columns.find((c) => c.type.kind === 'float');
    if (!valueCol) throw new EvalError(`rmse/mae need a float column in ${test.name} to compare with`);
    const truth = test.values.get(valueCol.name)!;
    for (const m of rating) metrics[m.name] = m.name === 'rmse' ? rmse(pred, truth) : mae(pred, truth);
  }
  const binary = wanted.filter((m) => m.name === 'logloss' || (sparse && m.name === 'auc'));
  if (binary.length) {
    const labelCol = test.columns.find((c) => c.type.kind === 'float') ?? test.columns.find((c) => c.type.kind === 'int');
    if (!labelCol) throw new EvalError(`logloss/auc need a label column (float or int) in ${test.name}`);
    const pred = predictions();
    const labels = test.values.get(labelCol.name)!;
    for (const m of binary) metrics[m.name] = m.name === 'logloss' ? logloss(pred, labels) : globalAuc(pred, labels);
  }
  const ranking = wanted.filter((m) => RANKING.has(m.name) && !(sparse && m.name === 'auc'));
  if (ranking.length && sparse) {
    throw new EvalError(`${ranking.map(metricName).join(', ')} rank items per user with score(user, item); rows of ${test.name} are sparse feature rows: use auc or logloss`);
  }
  if (ranking.length) {
    const trainRel = ds.train.get(ds.primary)!;
    const { cols, domains } = scoreColumns(compiled, test);
    if (cols.length !== 2) throw new EvalError('ranking metrics need `score(user, item)` with two ids');
    const nUsers = ds.ids.get(domains[0]!).size;
    const nItems = ds.ids.get(domains[1]!).size;
    const trainUI = userItems(trainRel.ids.get(cols[0]!)!, trainRel.ids.get(cols[1]!)!, nUsers);
    const testUI = userItems(test.ids.get(cols[0]!)!, test.ids.get(cols[1]!)!, nUsers);
    const block = Math.max(1, Math.floor(4_000_000 / Math.max(1, nItems)));
    let cache: { u0: number; scores: Float32Array | Float64Array } | undefined;
    const scores = (u: number): ArrayLike<number> => {
      if (!cache || u < cache.u0 || u >= cache.u0 + block) {
        const u0 = Math.floor(u / block) * block;
        cache = { u0, scores: scoreBlock(compiled, ds, params, backend, [domains[0]!, domains[1]!], u0, Math.min(nUsers, u0 + block)) };
      }
      const off = (u - cache.u0) * nItems;
      return cache.scores.subarray(off, off + nItems);
    };
    const ks = [...new Set(ranking.map((m) => m.k ?? 10))];
    for (const k of ks) {
      const r = rankingMetrics({ nUsers, nItems, scores, train: trainUI, test: testUI, k });
      for (const m of ranking) if ((m.k ?? 10) === k) metrics[metricName(m)] = r[m.name as 'recall'];
    }
  }
  return { step, epoch, metrics };
}

// evaluate: metrics of a model's `def score` on the test side of its dataset, or on its validation
// side (a split's `validate` part, during training). Rating metrics (RMSE,
// MAE) compare score(u, i) with the relation's first float column on every tuple; ranking
// metrics (Recall/Precision/NDCG/HR/MRR@K, AUC) rank all items for each user by score(u, ·),
// excluding the user's training items (on test, also the user's validation items: known interactions). Predictions go through the same Backend as training.
// Binary metrics (logloss, and for relations with a sparse column the global AUC) compare score, a
// logit, with the label (positive iff > 0) on every test tuple. A relation with a sparse column x
// is predicted row by row with `def score(x)` applied to the row's entries (predictRows). Every
// prediction runs a form of `def score` compiled with the model (Compiled.score): nothing is lowered
// or rewritten here.
// Definitions: docs/metrics.md.
import type { Compiled, CompiledScore, Unavailable } from '../../compiler/compile.ts';
import type { Backend } from '../exec/backend.ts';
import type { Relation } from '../data/load.ts';
import type { Dataset } from '../data/dataset.ts';
import { globalAuc, logloss, mae, rankingMetrics, rmse, userItems } from './metrics.ts';
import { fitGamma, ipsRankingMetrics, ipsWeights, itemPopularity } from './ips.ts';
import { itemsKey, neighbourScores, type NeighbourScorer } from './neighbour-scores.ts';

import { entriesOf, sparseColumns } from '../data/sparse.ts';
import { makeEnv, sizesFor } from '../exec/env.ts';

/** Which held-out part of the data an evaluation measured. */
export type EvalSide = 'validation' | 'test';

export interface EvalResult {
  readonly step: number;
  readonly epoch: number;
  /** the part of the data the metrics were measured on */
  readonly on: EvalSide;
  /** e.g. { rmse: 0.93, "ndcg@10": 0.21 } */
  readonly metrics: Readonly<Record<string, number>>;
}

export class EvalError extends Error {
  override readonly name = 'EvalError';
}

const RANKING = new Set(['recall', 'precision', 'ndcg', 'hr', 'mrr', 'auc']);

export function metricName(m: { name: string; k?: number; ips?: object }): string {
  return (m.k === undefined ? m.name : `${m.name}@${m.k}`) + (m.ips ? ' ips' : '');
}

/** The compiled form of `def score` the metric needs, or the reason the model has none. */
function form<K extends 'tuples' | 'rows' | 'pairs'>(compiled: Compiled, kind: K): Exclude<CompiledScore[K], Unavailable> {
  const score = compiled.score;
  if (!score) throw new EvalError('metrics need a data relation to score; the model declares none');
  const f = score[kind];
  if (f.kind === 'unavailable') throw new EvalError(f.reason);
  return f as Exclude<CompiledScore[K], Unavailable>;
}

/** score(u, i) for every tuple of `rel` (the test or train side of the compiled score's relation). */
export function predictTuples(compiled: Compiled, ds: Dataset, params: ReadonlyMap<string, Float32Array>, backend: Backend, rel: Relation): Float32Array | Float64Array {
  const f = form(compiled, 'tuples');
  const sides = new Map(ds.train);
  sides.set(rel.name, rel);
  const sizes = sizesFor(compiled, ds, sides, ds.train);
  return backend.tensor(f.expr, f.out, makeEnv(compiled, sizes, params, sides));
}

/**
 * score(x_t) for every row t of `rel`, a relation with one sparse column x and `def score(x)` taking
 * that sparse row. The row's entries come from `entries` (default: the entries of `rel` in the side
 * of `ds` that holds it, test first). Runs the compiled form (rewritten like the terms: FM's O(k·nnz)).
 */
export function predictRows(
  compiled: Compiled,
  ds: Dataset,
  params: ReadonlyMap<string, Float32Array>,
  backend: Backend,
  rel: Relation,
  entries?: ReadonlyMap<string, Relation>,
): Float32Array | Float64Array {
  const f = form(compiled, 'rows');
  const side = entries ?? (ds.test.get(rel.name) === rel ? entriesOf(rel, ds.test) : entriesOf(rel, ds.train));
  const ent = side.get(f.entries);
  if (!ent) throw new EvalError(`the entries of ${rel.name}.${f.col} (relation ${f.entries}) are not loaded`);
  const sides = new Map(ds.train);
  sides.set(rel.name, rel);
  sides.set(f.entries, ent);
  const sizes = sizesFor(compiled, ds, sides, ds.train);
  return backend.tensor(f.expr, f.out, makeEnv(compiled, sizes, params, sides));
}

/** score(u, i) for users [u0, u1) × all items, row-major (users and items: the compiled form's domains). */
export function scoreBlock(compiled: Compiled, ds: Dataset, params: ReadonlyMap<string, Float32Array>, backend: Backend, u0: number, u1: number): Float32Array | Float64Array {
  const f = form(compiled, 'pairs');
  const ud = f.domains[0];
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
  return backend.tensor(f.expr, f.out, { ...all, sizes: blockSizes, tensors });
}

export function evaluateModel(compiled: Compiled, ds: Dataset, params: ReadonlyMap<string, Float32Array>, backend: Backend, step: number, epoch: number, on: EvalSide = 'test'): EvalResult {
  const metrics: Record<string, number> = {};
  const sideMap = on === 'validation' ? ds.validation : ds.test;
  const test = sideMap?.get(ds.primary);
  if (!test && on === 'validation') throw new EvalError(`no validation part of ${ds.primary}: add \`, validate 0.1\` to the model's split`);
  if (!test) throw new EvalError(`metrics need a test set: add \`split ${ds.primary}: holdout 0.2\` to the model, or pass --test FILE`);
  if (test.size === 0) throw new EvalError(`the ${on} part of ${ds.primary} is empty: no tuple to measure ${compiled.model.evaluate.metrics.map(metricName).join(', ')} on`);
  const wanted = compiled.model.evaluate.metrics;
  // rows with a sparse column are predicted by score(x); `auc` is then the global AUC over test rows
  const sparse = sparseColumns(test).length > 0;
  let predicted: Float32Array | Float64Array | undefined;
  const predictions = (): Float32Array | Float64Array => (predicted ??= sparse ? predictRows(compiled, ds, params, backend, test, entriesOf(test, sideMap!)) : predictTuples(compiled, ds, params, backend, test));
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
    const { cols, domains } = form(compiled, 'pairs');
    const nUsers = ds.ids.get(domains[0]!).size;
    const nItems = ds.ids.get(domains[1]!).size;
    // candidates exclude what the model was told: train, and on test also the validation part
    const seen = [trainRel, ...(on === 'test' && ds.validation?.get(ds.primary) ? [ds.validation.get(ds.primary)!] : [])];
    const column = (c: string): Int32Array => concat(seen.map((r) => r.ids.get(c)!));
    const trainUI = userItems(column(cols[0]!), column(cols[1]!), nUsers);
    const testUI = userItems(test.ids.get(cols[0]!)!, test.ids.get(cols[1]!)!, nUsers);
    const block = Math.max(1, Math.floor(4_000_000 / Math.max(1, nItems)));
    let cache: { u0: number; scores: Float32Array | Float64Array } | undefined;
    const walk = compiled.score!.neighbours;
    const neighbourRow = walk ? new Float64Array(nItems) : undefined;
    const scorer = walk ? neighbourScorer(walk, ds, params, nUsers, nItems) : undefined;
    const scores = (u: number): ArrayLike<number> => {
      // a neighbour score (ItemCF) walks the user's items through the sparse table instead
      if (scorer) return neighbourScores(scorer, u, neighbourRow!);
      if (!cache || u < cache.u0 || u >= cache.u0 + block) {
        const u0 = Math.floor(u / block) * block;
        cache = { u0, scores: scoreBlock(compiled, ds, params, backend, u0, Math.min(nUsers, u0 + block)) };
      }
      const off = (u - cache.u0) * nItems;
      return cache.scores.subarray(off, off + nItems);
    };
    const plain = ranking.filter((m) => !m.ips);
    for (const k of [...new Set(plain.map((m) => m.k ?? 10))]) {
      const r = rankingMetrics({ nUsers, nItems, scores, train: trainUI, test: testUI, k });
      for (const m of plain) if ((m.k ?? 10) === k) metrics[metricName(m)] = r[m.name as 'recall'];
    }
    // IPS (runtime/eval/ips.ts): propensities from the training popularity, γ fitted on them
    // (by maximum likelihood, tens of ms on ML-100K) unless the metric gives it
    const weighted = ranking.filter((m) => m.ips);
    if (weighted.length) {
      const popularity = itemPopularity(trainUI, nItems);
      let fitted: number | undefined;
      for (const [gamma, ms] of groupBy(weighted, (m) => m.ips!.gamma ?? (fitted ??= fitGamma(trainUI, nItems)))) {
        const weights = ipsWeights(popularity, gamma);
        for (const k of [...new Set(ms.map((m) => m.k ?? 10))]) {
          const r = ipsRankingMetrics({ nUsers, nItems, scores, train: trainUI, test: testUI, k }, weights);
          for (const m of ms) if ((m.k ?? 10) === k) metrics[metricName(m)] = r[m.name as 'recall' | 'ndcg'];
        }
      }
    }
  }
  return { step, epoch, on, metrics };
}

/** The evaluation's view of a neighbour score: the walked relation's training tuples per user, the table. */
function neighbourScorer(walk: NonNullable<CompiledScore['neighbours']>, ds: Dataset, params: ReadonlyMap<string, Float32Array>, nUsers: number, nItems: number): NeighbourScorer {
  const rel = ds.train.get(walk.relation);
  const weights = params.get(walk.table);
  const items = params.get(itemsKey(walk.table));
  if (!rel || !weights || !items) throw new EvalError(`the neighbours table ${walk.table} or the relation ${walk.relation} is missing`);
  const ui = userItems(rel.ids.get(walk.userColumn)!, rel.ids.get(walk.itemColumn)!, nUsers);
  return { offsets: ui.offsets, walked: ui.items, top: weights.length / Math.max(1, nItems), items, weights, coef: walk.coef };
}

function groupBy<T, K>(xs: readonly T[], key: (x: T) => K): Map<K, T[]> {
  const out = new Map<K, T[]>();
  for (const x of xs) {
    const k = key(x);
    out.set(k, [...(out.get(k) ?? []), x]);
  }
  return out;
}

function concat(parts: readonly Int32Array[]): Int32Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Int32Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

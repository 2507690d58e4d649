// lower score: `def score` applied the three ways evaluation and serving read it, lowered at compile
// time so that the runtime only executes them. For the primary relation R (the split's, else the
// first file's; its test side has R's columns and name):
//   tuples  score(R.c₁[t], …, R.cₙ[t]) for every tuple t of R            rmse, mae, logloss
//   rows    score(x_t) for every row t of R, x its one sparse column      auc, logloss (sparse rows)
//   pairs   score(u, i) over every u × every i, both free                 ranking metrics, top-k
// A form the model cannot have (no `def score`, the wrong arity, a def that does not apply) carries
// the reason instead: it is an error only when a metric (or `recc recommend`) asks for that form.
import { primaryRelation, type ColumnInfo, type Model } from '../check/model.ts';
import { idx, v, type Expr, type Idx, type Ix } from '../ir/nodes.ts';
import { entriesName } from '../ir/spaces.ts';
import { makeLowerer, sparseRowArg } from './lower.ts';

/** Why a form does not exist, in words for the user (shown as an evaluation error). */
export interface Unavailable {
  readonly kind: 'unavailable';
  readonly reason: string;
}

/** score(R.cols[0][t], …) over t in R: the def's id columns, in its argument order. */
export interface TuplesForm {
  readonly kind: 'tuples';
  readonly expr: Expr;
  readonly out: readonly [Idx];
  readonly cols: readonly string[];
  readonly domains: readonly string[];
}

/** score(x_t) over t in R: `col` is R's sparse column, `entries` the relation of its non-zeros. */
export interface RowsForm {
  readonly kind: 'rows';
  readonly expr: Expr;
  readonly out: readonly [Idx];
  readonly col: string;
  readonly entries: string;
}

/** score(u, i) over u in domains[0], i in domains[1]; `cols` are R's columns over those domains. */
export interface PairsForm {
  readonly kind: 'pairs';
  readonly expr: Expr;
  readonly out: readonly [Idx, Idx];
  readonly cols: readonly [string, string];
  readonly domains: readonly [string, string];
}

export interface ScoreForms {
  readonly relation: string;
  /** relations with a sparse column are scored by rows, the others by tuples and pairs */
  readonly tuples: TuplesForm | Unavailable;
  readonly rows: RowsForm | Unavailable;
  readonly pairs: PairsForm | Unavailable;
}

const unavailable = (reason: string): Unavailable => ({ kind: 'unavailable', reason });

/** The forms of `def score` for the model's primary relation, or undefined when it has no data relation. */
export function lowerScore(model: Model): ScoreForms | undefined {
  const rel = primaryRelation(model);
  if (!rel) return undefined;
  const sparse = rel.columns.filter((c) => c.type.kind === 'sparse');
  if (sparse.length > 0) {
    const dense = unavailable(`rows of ${rel.name} are sparse feature rows, scored by \`def score(x)\` row by row`);
    return { relation: rel.name, tuples: dense, rows: rowsForm(model, rel.name, sparse), pairs: dense };
  }
  const tuples = tuplesForm(model, rel.name, rel.columns);
  const notSparse = unavailable(`${rel.name} has no sparse column to score row by row`);
  return { relation: rel.name, tuples, rows: notSparse, pairs: pairsForm(model, rel.name, rel.columns) };
}

/** The def's id columns of a relation, in the def's argument order (a typed argument takes the column over its domain). */
function scoreColumns(model: Model, relName: string, columns: readonly ColumnInfo[]): { cols: string[]; domains: string[] } | Unavailable {
  const def = model.defs.get('score');
  if (!def) return unavailable('metrics need a `def score(…)` that predicts from ids; the model has none');
  const idCols = columns.filter((c) => c.type.kind === 'domain');
  if (idCols.length < def.params.length) return unavailable(`\`score\` takes ${def.params.length} ids but ${relName} has ${idCols.length} id columns`);
  const chosen = def.params.map((p, j) => idCols.find((c) => c.type.kind === 'domain' && c.type.domain === p.type) ?? idCols[j]!);
  return { cols: chosen.map((c) => c.name), domains: chosen.map((c) => (c.type as { domain: string }).domain) };
}

function tuplesForm(model: Model, relName: string, columns: readonly ColumnInfo[]): TuplesForm | Unavailable {
  const sc = scoreColumns(model, relName, columns);
  if ('kind' in sc) return sc;
  const t = idx('t', relName);
  const args: Ix[] = sc.cols.map((col, j) => ({ kind: 'gather', rel: relName, col, domain: sc.domains[j]!, t }));
  const applied = makeLowerer(model).applyDef('score', args);
  if (!applied.expr) return unavailable(applied.diagnostics[0]?.message ?? 'cannot apply `score`');
  return { kind: 'tuples', expr: applied.expr, out: [t], cols: sc.cols, domains: sc.domains };
}

function rowsForm(model: Model, relName: string, sparse: readonly ColumnInfo[]): RowsForm | Unavailable {
  const def = model.defs.get('score');
  if (!def) return unavailable('metrics need a `def score(x)` that predicts from a sparse row; the model has none');
  if (sparse.length !== 1) return unavailable(`predicting rows of ${relName} needs exactly one sparse column, found ${sparse.length}`);
  if (def.params.length !== 1) {
    return unavailable(`\`score\` takes ${def.params.length} arguments, but rows of ${relName} give one sparse row: write \`def score(x) = …\``);
  }
  const col = sparse[0]!;
  const domain = (col.type as { readonly domain: string }).domain;
  const t = idx('t', relName);
  const applied = makeLowerer(model).applyDef('score', [sparseRowArg(relName, col.name, domain, t)]);
  if (!applied.expr) return unavailable(applied.diagnostics[0]?.message ?? 'cannot apply `score` to a sparse row');
  return { kind: 'rows', expr: applied.expr, out: [t], col: col.name, entries: entriesName(relName, col.name) };
}

function pairsForm(model: Model, relName: string, columns: readonly ColumnInfo[]): PairsForm | Unavailable {
  const sc = scoreColumns(model, relName, columns);
  if ('kind' in sc) return sc;
  if (sc.cols.length !== 2) return unavailable('ranking metrics need `score(user, item)` with two ids');
  const [ud, id] = [sc.domains[0]!, sc.domains[1]!];
  const u = idx('u', ud);
  const i = idx('i', id);
  const applied = makeLowerer(model).applyDef('score', [v(u), v(i)]);
  if (!applied.expr) return unavailable(applied.diagnostics[0]?.message ?? 'cannot apply `score`');
  return { kind: 'pairs', expr: applied.expr, out: [u, i], cols: [sc.cols[0]!, sc.cols[1]!], domains: [ud, id] };
}

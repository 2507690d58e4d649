// dataset: a checked Model's relations, loaded and split. File relations load from their declared
// path (relative to the model file) unless `--data`/`--test` override the primary relation; the
// declared split (or the given test file) yields train and test sides, and with `, validate F` a
// validation side carved from train (its tuples leave train); derived relations
// (`likes = ratings where rating >= 4`) are filtered from each side. Ids share one IdMaps, so train
// and test agree on dense indices. Errors are DataErrors naming file:line:col.
// A relation R with a sparse column x (libsvm) is two entries of each map: R and its entries `R~x`
// (runtime/sparse.ts); splits and derived relations select rows of both together.
import { dirname, resolve } from 'node:path';
import { primaryRelation, type Model, type RelationInfo, type WhereExpr } from '../../compiler/check/model.ts';
import { DataError, filterRelation, loadRelation, type Relation } from './load.ts';
import { IdMaps } from './ids.ts';
import { entriesOf, loadSparse, selectEntries, selectRowsSparse, sparseColumns } from './sparse.ts';
import { carveValidation, splitRelation } from './split.ts';

export interface Dataset {
  readonly ids: IdMaps;
  /** every relation's training tuples (the whole relation when it is not split); a relation R with a
   * sparse column x also has its entries here as `R~x` (runtime/sparse.ts), on both sides */
  readonly train: ReadonlyMap<string, Relation>;
  /** test tuples of split relations and of relations derived from them */
  readonly test: ReadonlyMap<string, Relation>;
  /**
   * validation tuples of the split relation and of relations derived from it, when the split has a
   * `validate` clause (absent, or empty, otherwise); none of them is in `train` or `test`
   */
  readonly validation?: ReadonlyMap<string, Relation>;
  /** the relation the split (or --test) applies to, and mini-batches are drawn from */
  readonly primary: string;
  /** how the split was made, in words (printed with the metrics) */
  readonly protocol: string;
}

export interface DataOptions {
  /** replaces the primary relation's file */
  readonly data?: string;
  /** a test file for the primary relation (instead of the declared split) */
  readonly test?: string;
  /** folder that relative data paths resolve against (default: the model file's folder) */
  readonly baseDir?: string;
}

/** The file relation a relation is (transitively) derived from. */
function rootOf(model: Model, info: RelationInfo): RelationInfo {
  let r = info;
  for (let guard = 0; r.source.kind === 'derived' && guard < 100; guard++) {
    const base = r.source.base;
    r = model.relations.find((x) => x.name === base) ?? r;
  }
  return r;
}

/** Relations derived (transitively) from `name`, in declaration order. */
function derivedFrom(model: Model, name: string): RelationInfo[] {
  const out: RelationInfo[] = [];
  const names = new Set([name]);
  for (const info of model.relations) {
    if (info.source.kind === 'derived' && names.has(info.source.base)) {
      out.push(info);
      names.add(info.name);
    }
  }
  return out;
}

function derive(info: RelationInfo, side: Map<string, Relation>): void {
  if (info.source.kind !== 'derived') return;
  const rel = side.get(info.source.base);
  if (!rel) return;
  const entries = entriesOf(rel, side);
  if (entries.size === 0) {
    side.set(info.name, filterRelation(rel, predicate(info.source.where, rel), info.name));
    return;
  }
  const keep = predicate(info.source.where, rel);
  const rows = new Int32Array(rel.size);
  let m = 0;
  for (let t = 0; t < rel.size; t++) if (keep(t)) rows[m++] = t;
  put(side, selectRowsSparse(rel, entries, rows.subarray(0, m), info.name));
}

/** Sets a relation and its entries relations (if any) in a side. */
function put(side: Map<string, Relation>, loaded: Relation | { rel: Relation; entries: ReadonlyMap<string, Relation> }): void {
  if ('entries' in loaded) {
    side.set(loaded.rel.name, loaded.rel);
    for (const [name, e] of loaded.entries) side.set(name, e);
  } else side.set(loaded.name, loaded);
}

/** Loads a file relation: through loadSparse when it has a sparse column, else loadRelation. */
function loadAny(info: RelationInfo, path: string, ids: IdMaps, hint: string): Relation | { rel: Relation; entries: ReadonlyMap<string, Relation> } {
  return sparseColumns(info).length > 0 || (info.source.kind === 'file' && info.source.format === 'libsvm') ? loadSparse(info, path, ids, { hint }) : loadRelation(info, path, ids, { hint });
}

/** Id column under which a split carries each tuple's row in the unsplit relation (sparse relations). */
const ROW_TAG = '#row';

export function loadDataset(model: Model, opts: DataOptions = {}): Dataset {
  const ids = new IdMaps();
  const base = opts.baseDir ?? dirname(resolve(model.file));
  const primary = primaryRelation(model);
  if (!primary) throw new DataError(model.file, undefined, undefined, 'the model declares no data relation to train on');
  const root = rootOf(model, primary);
  const split = model.split;
  const train = new Map<string, Relation>();
  const test = new Map<string, Relation>();
  let protocol = 'no test set: add a `split` to the model or pass --test FILE';

  for (const info of model.relations) {
    if (info.source.kind !== 'file') continue;
    const isRoot = info.name === root.name;
    if (isRoot && (opts.test || split?.kind === 'files')) {
      const trainPath = opts.data ?? resolve(base, split?.kind === 'files' ? split.train : info.source.path);
      const testPath = opts.test ?? resolve(base, (split as { test: string }).test);
      put(train, loadAny(info, trainPath, ids, hintFor(model)));
      put(test, loadAny(info, testPath, ids, hintFor(model)));
      protocol = `train on ${trainPath}, test on ${testPath}`;
      continue;
    }
    const path = isRoot && opts.data ? opts.data : resolve(base, info.source.path);
    put(train, loadAny(info, path, ids, hintFor(model)));
  }
  // derived relations, in declaration order (a derived relation may build on another)
  for (const info of model.relations) {
    derive(info, train);
    derive(info, test);
  }
  // a declared split of any relation (file or derived), then what derives from it, on every side
  const validation = new Map<string, Relation>();
  if (split && split.kind !== 'files' && !opts.test) {
    const all = train.get(split.relation)!;
    const parts = splitSides(all, train, (r) => splitRelation(r, split), { train, test, validation });
    for (const info of derivedFrom(model, split.relation)) for (const side of [train, test, validation]) derive(info, side);
    protocol = describeSplit(split, all.source ?? all.name, parts.train.size, parts.test.size, parts.validation?.size);
    if (primary.source.kind === 'derived') protocol += ` (${primary.name}: ${describeWhere(primary)})`;
  } else if (split?.validate && train.has(split.relation)) {
    // a test file (the split's own, or --test): the validation part comes from the training data
    const all = train.get(split.relation)!;
    const parts = splitSides(all, train, (r) => ({ ...carveValidation(r, split), test: undefined }), { train, test, validation });
    for (const info of derivedFrom(model, split.relation)) for (const side of [train, validation]) derive(info, side);
    protocol += `; validation: ${parts.validation!.size} of the ${all.size} training tuples of ${all.name} (${describeValidation(split)})`;
  }
  return { ids, train, test, ...(validation.size ? { validation } : {}), primary: primary.name, protocol };
}

/**
 * Splits `all` (a relation of `side`) by `cut` and puts each part in its side, with the entries of a
 * sparse column selected by the rows each part took.
 */
function splitSides(
  all: Relation,
  side: ReadonlyMap<string, Relation>,
  cut: (r: Relation) => { train: Relation; test: Relation | undefined; validation?: Relation },
  into: { train: Map<string, Relation>; test: Map<string, Relation>; validation: Map<string, Relation> },
): { train: Relation; test: Relation; validation?: Relation } {
  const entries = entriesOf(all, side);
  const parts = cut(entries.size ? tagRows(all) : all);
  const place = (r: Relation | undefined, to: Map<string, Relation>): Relation | undefined => {
    if (!r) return undefined;
    if (!entries.size) {
      to.set(all.name, r);
      return r;
    }
    const loaded = { rel: untag(r), entries: selectEntries(entries, all.size, r.ids.get(ROW_TAG)!, all.name) };
    put(to, loaded);
    return loaded.rel;
  };
  const tr = place(parts.train, into.train)!;
  const te = place(parts.test, into.test);
  const va = place(parts.validation, into.validation);
  return { train: tr, test: te ?? into.test.get(all.name)!, ...(va ? { validation: va } : {}) };
}

/** `rel` with an extra id column ROW_TAG holding each tuple's index (not listed in `columns`). */
function tagRows(rel: Relation): Relation {
  const ids = new Map(rel.ids);
  ids.set(ROW_TAG, Int32Array.from({ length: rel.size }, (_, t) => t));
  return { ...rel, ids };
}

function untag(rel: Relation): Relation {
  const ids = new Map(rel.ids);
  ids.delete(ROW_TAG);
  return { ...rel, ids };
}

function describeWhere(info: RelationInfo): string {
  return info.source.kind === 'derived' ? `tuples of ${info.source.base} that pass its \`where\`` : info.name;
}

function hintFor(model: Model): string {
  return `paths in ${model.file} are relative to the model file; use --data FILE to train on another file`;
}

function describeValidation(split: NonNullable<Model['split']>): string {
  const v = split.validate!;
  const how = split.kind === 'leave_one_out' ? `one more per user${split.byTime ? ', the latest' : ''}` : `${v.fraction}${split.kind === 'holdout' && split.byTime ? ' by time' : ''}${split.kind === 'holdout' && split.perUser ? ' per user' : ''}`;
  return `validate ${how}, seed ${v.seed}`;
}

function describeSplit(split: NonNullable<Model['split']>, path: string, nTrain: number, nTest: number, nValidation?: number): string {
  const sizes = nValidation === undefined ? `${nTrain} train / ${nTest} test tuples of ${path}` : `${nTrain} train / ${nValidation} validation / ${nTest} test tuples of ${path} (${describeValidation(split)})`;
  switch (split.kind) {
    case 'holdout':
      return `holdout ${split.fraction}${split.byTime ? ` by ${split.timeColumn ?? 'time'}` : ''}${split.perUser ? ' per user' : ''} (seed ${split.seed}): ${sizes}`;
    case 'leave_one_out':
      return `leave one out${split.byTime ? ` by ${split.timeColumn ?? 'time'}` : ''}: ${sizes}`;
    case 'kfold':
      return `fold ${split.fold} of ${split.k} (seed ${split.seed}): ${sizes}`;
    case 'files':
      return sizes;
  }
}

/** Compiles a `where` expression over a relation's columns into a per-tuple predicate. */
export function predicate(e: WhereExpr, rel: Relation): (t: number) => boolean {
  const value = compileWhere(e, rel);
  return (t) => value(t) !== 0;
}

function compileWhere(e: WhereExpr, rel: Relation): (t: number) => number {
  const go = (x: WhereExpr): ((t: number) => number) => compileWhere(x, rel);
  switch (e.kind) {
    case 'NumberLit': {
      const c = e.value;
      return () => c;
    }
    case 'IdentExpr': {
      const vals = rel.values.get(e.name) ?? rel.ids.get(e.name);
      if (!vals) throw new DataError(rel.source ?? rel.name, undefined, undefined, `column \`${e.name}\` is not in relation ${rel.name}`);
      return (t) => vals[t]!;
    }
    case 'UnaryExpr': {
      const a = go(e.arg);
      return e.op === '-' ? (t) => -a(t) : (t) => (a(t) === 0 ? 1 : 0);
    }
    case 'BinaryExpr': {
      const a = go(e.left);
      const b = go(e.right);
      switch (e.op) {
        case '+': return (t) => a(t) + b(t);
        case '-': return (t) => a(t) - b(t);
        case '*': return (t) => a(t) * b(t);
        case '/': return (t) => a(t) / b(t);
        case '^': return (t) => Math.pow(a(t), b(t));
        case '<': return (t) => (a(t) < b(t) ? 1 : 0);
        case '<=': return (t) => (a(t) <= b(t) ? 1 : 0);
        case '>': return (t) => (a(t) > b(t) ? 1 : 0);
        case '>=': return (t) => (a(t) >= b(t) ? 1 : 0);
        case '==': return (t) => (a(t) === b(t) ? 1 : 0);
        case '!=': return (t) => (a(t) !== b(t) ? 1 : 0);
        case 'and': return (t) => (a(t) !== 0 && b(t) !== 0 ? 1 : 0);
        case 'or': return (t) => (a(t) !== 0 || b(t) !== 0 ? 1 : 0);
        case '.': break;
      }
      break;
    }
    case 'CallExpr': {
      // the builtins compiler/check/runnable.ts's WHERE_FUNCTIONS allows (the checker refuses others, RC0517)
      const args = e.args.map((a) => go(a.value));
      const [a, b] = args;
      switch (e.callee.name) {
        case 'abs': return (t) => Math.abs(a!(t));
        case 'exp': return (t) => Math.exp(a!(t));
        case 'log': return (t) => Math.log(a!(t));
        case 'sqrt': return (t) => Math.sqrt(a!(t));
        case 'min': return args.length === 2 ? (t) => Math.min(a!(t), b!(t)) : (t) => Math.min(...args.map((f) => f(t)));
        case 'max': return args.length === 2 ? (t) => Math.max(a!(t), b!(t)) : (t) => Math.max(...args.map((f) => f(t)));
      }
      break;
    }
    case 'TernaryExpr': {
      const c = go(e.cond);
      const a = go(e.then);
      const b = go(e.else);
      return (t) => (c(t) !== 0 ? a(t) : b(t));
    }
    default:
      break;
  }
  throw new DataError(rel.source ?? rel.name, undefined, undefined, `a \`where\` filter may use only columns, numbers, arithmetic and comparisons`);
}

/**
 * What training and evaluation need of the loaded data, checked before anything is allocated: every
 * relation of the training side has tuples (a kernel over none cannot run), and when the model lists
 * metrics, the test side of the primary relation exists and has tuples. DataErrors name the relation
 * and the file or split that left it empty.
 */
export function checkTrainable(model: Model, ds: Dataset): void {
  for (const info of model.relations) {
    const rel = ds.train.get(info.name);
    if (!rel || rel.size > 0) continue;
    const from = info.source.kind === 'derived' ? `its \`where\` keeps none of the ${ds.train.get(info.source.base)?.size ?? 0} training tuples of ${info.source.base}` : `${rel.source ?? info.name} has no rows`;
    throw new DataError(model.file, undefined, undefined, `relation \`${info.name}\` has no training tuples (${from}); a term over it cannot run: change the data or the filter`);
  }
  if (model.evaluate.metrics.length === 0) return;
  const test = ds.test.get(ds.primary);
  if (!test) throw new DataError(model.file, undefined, undefined, `the metrics need a test set, and there is none: add \`split ${ds.primary}: holdout 0.2\` to the model, or pass --test FILE`);
  if (test.size === 0) {
    const split = model.split;
    const how = split && split.kind !== 'files' ? `the split of \`${split.relation}\` (${ds.protocol}) gives no test tuples` : `the test file ${test.source ?? ''} gives no tuples of \`${ds.primary}\``;
    throw new DataError(model.file, undefined, undefined, `the metrics need test tuples: ${how}; use a larger holdout fraction or more data`);
  }
}

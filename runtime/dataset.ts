// dataset: a checked Model's relations, loaded and split. File relations load from their declared
// path (relative to the model file) unless `--data`/`--test` override the primary relation; the
// declared split (or the given test file) yields train and test sides; derived relations
// (`likes = ratings where rating >= 4`) are filtered from each side. Ids share one IdMaps, so train
// and test agree on dense indices. Errors are DataErrors naming file:line:col.
import { dirname, resolve } from 'node:path';
import type * as ast from '../compiler/ast.ts';
import type { Model, RelationInfo } from '../compiler/model.ts';
import { DataError, filterRelation, loadRelation, type Relation } from './data.ts';
import { IdMaps } from './ids.ts';
import { splitRelation } from './split.ts';

export interface Dataset {
  readonly ids: IdMaps;
  /** every relation's training tuples (the whole relation when it is not split) */
  readonly train: ReadonlyMap<string, Relation>;
  /** test tuples of split relations and of relations derived from them */
  readonly test: ReadonlyMap<string, Relation>;
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

export function primaryRelation(model: Model): RelationInfo | undefined {
  if (model.split) return model.relations.find((r) => r.name === model.split!.relation);
  return model.relations.find((r) => r.source.kind === 'file');
}

export function loadDataset(model: Model, opts: DataOptions = {}): Dataset {
  const ids = new IdMaps();
  const base = opts.baseDir ?? dirname(resolve(model.file));
  const primary = primaryRelation(model);
  if (!primary) throw new DataError(model.file, undefined, undefined, 'the model declares no data relation to train on');
  const train = new Map<string, Relation>();
  const test = new Map<string, Relation>();
  let protocol = 'no test set';

  for (const info of model.relations) {
    if (info.source.kind !== 'file') continue;
    const isPrimary = info.name === primary.name;
    const split = model.split;
    if (isPrimary && (opts.test || split?.kind === 'files')) {
      const trainPath = opts.data ?? resolve(base, split?.kind === 'files' ? split.train : info.source.path);
      const testPath = opts.test ?? resolve(base, (split as { test: string }).test);
      train.set(info.name, loadRelation(info, trainPath, ids, { hint: hintFor(model) }));
      test.set(info.name, loadRelation(info, testPath, ids, { hint: hintFor(model) }));
      protocol = `train on ${trainPath}, test on ${testPath}`;
      continue;
    }
    const path = isPrimary && opts.data ? opts.data : resolve(base, info.source.path);
    const all = loadRelation(info, path, ids, { hint: hintFor(model) });
    if (isPrimary && split && split.kind !== 'files') {
      const parts = splitRelation(all, split);
      train.set(info.name, parts.train);
      test.set(info.name, parts.test);
      protocol = describeSplit(split, path, parts.train.size, parts.test.size);
    } else {
      train.set(info.name, all);
    }
  }
  // derived relations, in declaration order (a derived relation may build on another)
  for (const info of model.relations) {
    if (info.source.kind !== 'derived') continue;
    const where = info.source.where;
    const baseName = info.source.base;
    for (const side of [train, test]) {
      const rel = side.get(baseName);
      if (rel) side.set(info.name, filterRelation(rel, predicate(where, rel), info.name));
    }
  }
  return { ids, train, test, primary: primary.name, protocol };
}

function hintFor(model: Model): string {
  return `paths in ${model.file} are relative to the model file; use --data FILE to train on another file`;
}

function describeSplit(split: NonNullable<Model['split']>, path: string, nTrain: number, nTest: number): string {
  const sizes = `${nTrain} train / ${nTest} test tuples of ${path}`;
  switch (split.kind) {
    case 'holdout':
      return `holdout ${split.fraction}${split.byTime ? ' by time' : ''}${split.perUser ? ' per user' : ''} (seed ${split.seed}): ${sizes}`;
    case 'leave_one_out':
      return `leave one out${split.byTime ? ' by time' : ''}: ${sizes}`;
    case 'kfold':
      return `fold ${split.fold} of ${split.k} (seed ${split.seed}): ${sizes}`;
    case 'files':
      return sizes;
  }
}

/** Compiles a `where` expression over a relation's columns into a per-tuple predicate. */
export function predicate(e: ast.Expr, rel: Relation): (t: number) => boolean {
  const value = compileWhere(e, rel);
  return (t) => value(t) !== 0;
}

function compileWhere(e: ast.Expr, rel: Relation): (t: number) => number {
  const go = (x: ast.Expr): ((t: number) => number) => compileWhere(x, rel);
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

// Train/test(/validation) splits of a loaded relation, as declared by `split <rel>: ...` (a SplitInfo).
// Takes a Relation and gives { train, test, validation? }: a partition of its tuples (every tuple in
// exactly one side), each side in the original tuple order. Randomness comes only from Rng(split.seed)
// (the test part) and Rng(validate.seed).fork(1) (the validation part), so a seed gives the same split
// on every machine. Per-user splits never move a user's last training tuple: a user with one tuple
// stays in train, so no user present in the data is lost from train. A `validate` part is carved from
// what the test part left, the way the split chose its test part (carveValidation).
import type { RelationInfo, SplitInfo } from '../../compiler/check/model.ts';
import { idColumn, loadRelation, selectRows, valueColumn, type LoadOptions, type Relation } from './load.ts';
import type { IdMaps } from './ids.ts';
import { Rng } from './rng.ts';

export interface Split {
  readonly train: Relation;
  readonly test: Relation;
  /** present when the split has a `validate` clause: tuples taken from train, never from test */
  readonly validation?: Relation;
}

/** Marks of a three-way partition. */
const TRAIN = 0, TEST = 1, VALIDATION = 2;
/** The validation part draws from Rng(validate.seed).fork(VALIDATION_STREAM), never the test part's stream. */
const VALIDATION_STREAM = 1;

export interface SplitOptions {
  /** the column grouping per-user splits (default: the column over domain `user`, else the first id column) */
  readonly userColumn?: string;
  /** the column ordering temporal splits (default: a value column named time/timestamp/ts, else the only int column) */
  readonly timeColumn?: string;
}

/** Split `rel` by `split`; `files` splits are loaded with loadSplitFiles instead. */
export function splitRelation(rel: Relation, split: SplitInfo, given: SplitOptions = {}): Split {
  const opts: SplitOptions = 'timeColumn' in split && given.timeColumn === undefined ? { ...given, timeColumn: split.timeColumn } : given;
  const n = rel.size;
  const isTest = new Uint8Array(n);
  switch (split.kind) {
    case 'holdout': {
      checkFraction(split.fraction);
      if (split.perUser) {
        const g = groupByUser(rel, opts, split.byTime ? timeColumnOf(rel, opts) : undefined);
        const rng = new Rng(split.seed);
        for (let u = 0; u < g.nUsers; u++) {
          const lo = g.offsets[u], m = g.offsets[u + 1] - lo;
          // |test_u| = round(f·n_u), clamped to [0, n_u − 1] so each user keeps a training tuple
          const k = Math.min(m - 1, Math.round(split.fraction * m));
          if (k <= 0) continue;
          if (split.byTime) for (let j = m - k; j < m; j++) isTest[g.rows[lo + j]] = 1;
          else pickRandom(g.rows.subarray(lo, lo + m), k, rng, isTest);
        }
      } else {
        // global: |test| = round(f·n); by time: the latest tuples, else a uniform random subset
        const k = Math.round(split.fraction * n);
        if (split.byTime) {
          const order = sortByTime(valueColumn(rel, timeColumnOf(rel, opts)));
          for (let j = n - k; j < n; j++) isTest[order[j]] = 1;
        } else {
          const perm = new Rng(split.seed).permutation(n);
          for (let j = 0; j < k; j++) isTest[perm[j]] = 1;
        }
      }
      break;
    }
    case 'leave_one_out': {
      // each user with ≥ 2 tuples gives one to test: the latest by time (ties: the later in the file), else a random one
      const g = groupByUser(rel, opts, split.byTime ? timeColumnOf(rel, opts) : undefined);
      const rng = new Rng(split.seed);
      for (let u = 0; u < g.nUsers; u++) {
        const lo = g.offsets[u], m = g.offsets[u + 1] - lo;
        if (m < 2) continue;
        isTest[g.rows[lo + (split.byTime ? m - 1 : rng.int(m))]] = 1;
      }
      break;
    }
    case 'kfold': {
      // tuple perm[p] belongs to fold p mod k: folds are a seeded partition with sizes differing by ≤ 1
      const { k, fold } = split;
      if (!Number.isInteger(k) || k < 2) throw new RangeError(`kfold needs an integer k ≥ 2, got ${k}`);
      if (!Number.isInteger(fold) || fold < 0 || fold >= k) throw new RangeError(`kfold fold must be an integer in 0..${k - 1} (0-based), got ${fold}`);
      const perm = new Rng(split.seed).permutation(n);
      for (let p = fold; p < n; p += k) isTest[perm[p]] = 1;
      break;
    }
    case 'files':
      throw new Error(`split '${split.relation}' uses files ${split.train}, ${split.test}: load them with loadSplitFiles`);
  }
  if (split.validate) {
    markValidation(rel, isTest, split, opts);
    return partition3(rel, isTest);
  }
  return partition(rel, isTest);
}

/**
 * The validation part of a relation that is wholly training data (a `files` split's train file, or
 * the data when `--test FILE` replaces the declared split): `split.validate` carved as in splitRelation.
 */
export function carveValidation(rel: Relation, split: SplitInfo, opts: SplitOptions = {}): { train: Relation; validation: Relation } {
  if (!split.validate) throw new Error(`split '${split.relation}' has no validate clause`);
  const part = new Uint8Array(rel.size);
  markValidation(rel, part, split, opts);
  const s = partition3(rel, part);
  return { train: s.train, validation: s.validation! };
}

/**
 * Marks validation tuples (2) among those still marked train (0), the way `split` chose its test part:
 * - holdout: |validation| = round(v·n) (per user: round(v·n_u) of the user's n_u tuples, test ones
 *   included), the latest training tuples by time, else a uniform random subset; every user keeps a
 *   training tuple (per user), and the relation keeps one (global);
 * - leave_one_out: one more tuple per user with ≥ 2 training tuples (the latest by time, else random);
 * - kfold, files: round(v·n) training tuples at random.
 */
function markValidation(rel: Relation, part: Uint8Array, split: SplitInfo, opts: SplitOptions): void {
  const v = split.validate!;
  const rng = new Rng(v.seed).fork(VALIDATION_STREAM);
  const byTime = (split.kind === 'holdout' || split.kind === 'leave_one_out') && split.byTime;
  const perUser = (split.kind === 'holdout' && split.perUser) || split.kind === 'leave_one_out';
  const trainRows = (rows: Int32Array): Int32Array => rows.filter((t) => part[t] === TRAIN);
  if (perUser) {
    const g = groupByUser(rel, opts, byTime ? timeColumnOf(rel, opts) : undefined);
    for (let u = 0; u < g.nUsers; u++) {
      const all = g.rows.subarray(g.offsets[u], g.offsets[u + 1]);
      const rows = trainRows(all);
      const want = v.fraction === undefined ? 1 : Math.round(v.fraction * all.length);
      const k = Math.min(rows.length - 1, want);
      if (k <= 0) continue;
      if (byTime) for (let j = rows.length - k; j < rows.length; j++) part[rows[j]] = VALIDATION;
      else pickRandom(rows, k, rng, part, VALIDATION);
    }
    return;
  }
  const fraction = v.fraction ?? 0;
  const all = Int32Array.from({ length: rel.size }, (_, t) => t);
  const rows = byTime ? trainRows(sortByTime(valueColumn(rel, timeColumnOf(rel, opts)))) : trainRows(all);
  const k = Math.min(rows.length - 1, Math.round(fraction * rel.size));
  if (k <= 0) return;
  if (byTime) for (let j = rows.length - k; j < rows.length; j++) part[rows[j]] = VALIDATION;
  else pickRandom(rows, k, rng, part, VALIDATION);
}

/** Rows of `rel` by mark (0 train, 1 test, 2 validation), each side in original order. */
function partition3(rel: Relation, part: Uint8Array): Split {
  const counts = [0, 0, 0];
  for (let t = 0; t < rel.size; t++) counts[part[t]]++;
  const rows = counts.map((c) => new Int32Array(c));
  const at = [0, 0, 0];
  for (let t = 0; t < rel.size; t++) rows[part[t]][at[part[t]]++] = t;
  return { train: selectRows(rel, rows[TRAIN]), test: selectRows(rel, rows[TEST]), validation: selectRows(rel, rows[VALIDATION]) };
}

/** `split <rel>: files "a", "b"`: load both files as `info`, sharing `ids` (train first, so its ids come first). */
export function loadSplitFiles(info: RelationInfo, trainPath: string, testPath: string, ids: IdMaps, opts: LoadOptions = {}): Split {
  const train = loadRelation(info, trainPath, ids, { ...opts, displayPath: undefined });
  const test = loadRelation(info, testPath, ids, { ...opts, displayPath: undefined });
  return { train, test };
}

/** Rows of `rel` with isTest[t] = 0 → train, 1 → test, each in original order. */
export function partition(rel: Relation, isTest: Uint8Array): Split {
  let m = 0;
  for (let t = 0; t < rel.size; t++) m += isTest[t];
  const tr = new Int32Array(rel.size - m), te = new Int32Array(m);
  let a = 0, b = 0;
  for (let t = 0; t < rel.size; t++) {
    if (isTest[t] === 1) te[b++] = t;
    else tr[a++] = t;
  }
  return { train: selectRows(rel, tr), test: selectRows(rel, te) };
}

/** Tuples grouped by user (CSR): rows[offsets[u] .. offsets[u+1]) are user u's tuples. */
export interface UserGroups {
  readonly nUsers: number;
  readonly offsets: Int32Array;
  readonly rows: Int32Array;
}

/**
 * Group tuples by user with a stable counting sort. Within a user, rows are in file order, or in
 * (time, file position) order when `timeCol` is given: one global sort by time, then the stable
 * counting sort keeps that order inside each user.
 */
export function groupByUser(rel: Relation, opts: SplitOptions = {}, timeCol?: string): UserGroups {
  const users = idColumn(rel, userColumnOf(rel, opts));
  const n = rel.size;
  let nUsers = 0;
  for (let t = 0; t < n; t++) if (users[t] + 1 > nUsers) nUsers = users[t] + 1;
  const offsets = new Int32Array(nUsers + 1);
  for (let t = 0; t < n; t++) offsets[users[t] + 1]++;
  for (let u = 0; u < nUsers; u++) offsets[u + 1] += offsets[u];
  const order = timeCol === undefined ? undefined : sortByTime(valueColumn(rel, timeCol));
  const next = offsets.slice(0, nUsers);
  const rows = new Int32Array(n);
  for (let j = 0; j < n; j++) {
    const t = order === undefined ? j : order[j];
    rows[next[users[t]]++] = t;
  }
  return { nUsers, offsets, rows };
}

/** Row indices sorted by (time, row index): a total order, so ties resolve by file position. */
function sortByTime(time: Float64Array): Int32Array {
  const order = new Int32Array(time.length);
  for (let t = 0; t < order.length; t++) order[t] = t;
  return order.sort((a, b) => time[a] - time[b] || a - b);
}

/** Mark k of `rows` as `mark` (test by default), uniformly at random (partial Fisher–Yates on a copy). */
function pickRandom(rows: Int32Array, k: number, rng: Rng, marks: Uint8Array, mark = TEST): void {
  const a = rows.slice();
  for (let j = 0; j < k; j++) {
    const r = j + rng.int(a.length - j);
    const x = a[r];
    a[r] = a[j];
    a[j] = x;
    marks[x] = mark;
  }
}

function checkFraction(f: number): void {
  if (!(f > 0 && f < 1)) throw new RangeError(`holdout fraction must be in (0, 1), got ${f}`);
}

/** The column that identifies the user of a tuple. */
export function userColumnOf(rel: Relation, opts: SplitOptions = {}): string {
  if (opts.userColumn !== undefined) return opts.userColumn;
  const domainCols = rel.columns.filter((c) => c.type.kind === 'domain');
  const u = domainCols.find((c) => c.type.kind === 'domain' && c.type.domain === 'user') ?? domainCols[0];
  if (u === undefined) throw new Error(`relation '${rel.name}' has no index column to split per user by`);
  return u.name;
}

/** The column that orders tuples in time. */
export function timeColumnOf(rel: Relation, opts: SplitOptions = {}): string {
  if (opts.timeColumn !== undefined) return opts.timeColumn;
  const valueCols = rel.columns.filter((c) => c.type.kind === 'int' || c.type.kind === 'float');
  const named = valueCols.find((c) => ['time', 'timestamp', 'ts', 't'].includes(c.name.toLowerCase()));
  if (named !== undefined) return named.name;
  const ints = valueCols.filter((c) => c.type.kind === 'int');
  if (ints.length === 1) return ints[0].name;
  throw new Error(`relation '${rel.name}' has no time column for a 'by time' split (name a column time or timestamp)`);
}

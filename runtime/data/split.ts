// Train/test splits of a loaded relation, as declared by `split <rel>: ...` (a SplitInfo).
// Takes a Relation and gives { train, test }: a partition of its tuples (every tuple in exactly one
// side), each side in the original tuple order. Randomness comes only from Rng(split.seed), so a seed
// gives the same split on every machine. Per-user splits never move a user's last training tuple:
// a user with one tuple stays in train, so no user present in the data is lost from train.
import type { RelationInfo, SplitInfo } from '../../compiler/check/model.ts';
import { idColumn, loadRelation, selectRows, valueColumn, type LoadOptions, type Relation } from './load.ts';
import type { IdMaps } from './ids.ts';
import { Rng } from './rng.ts';

export interface Split {
  readonly train: Relation;
  readonly test: Relation;
}

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
  return partition(rel, isTest);
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

/** Mark k of `rows` as test, uniformly at random (partial Fisher–Yates on a copy). */
function pickRandom(rows: Int32Array, k: number, rng: Rng, isTest: Uint8Array): void {
  const a = rows.slice();
  for (let j = 0; j < k; j++) {
    const r = j + rng.int(a.length - j);
    const x = a[r];
    a[r] = a[j];
    a[j] = x;
    isTest[x] = 1;
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

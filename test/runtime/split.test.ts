import { describe, expect, it } from 'vitest';
import type { SplitInfo } from '../../compiler/check/model.ts';
import { idColumn, loadRelation, parseRelation, valueColumn, type Relation } from '../../runtime/data/load.ts';
import { IdMaps } from '../../runtime/data/ids.ts';
import { groupByUser, loadSplitFiles, splitRelation, type Split } from '../../runtime/data/split.ts';
import { syntheticSmall, toUData } from '../../runtime/data/synthetic.ts';
import { ratingsInfo, relationInfo, tempFile } from './helpers.ts';

const synth = (): Relation => parseRelation(ratingsInfo('movielens'), toUData(syntheticSmall()), 'synthetic', 'movielens', new IdMaps());
const rel = synth();

/** Each tuple as a string key "user item rating time", to compare splits as multisets. */
function keys(r: Relation): string[] {
  const u = idColumn(r, 'user'), i = idColumn(r, 'item'), y = valueColumn(r, 'rating'), t = valueColumn(r, 'time');
  return Array.from({ length: r.size }, (_, k) => `${u[k]} ${i[k]} ${y[k]} ${t[k]}`);
}

function expectPartition(s: Split, whole: Relation): void {
  expect(s.train.size + s.test.size).toBe(whole.size);
  expect([...keys(s.train), ...keys(s.test)].sort()).toEqual(keys(whole).sort());
}

function usersOf(r: Relation): Set<number> {
  return new Set(idColumn(r, 'user'));
}

const holdout = (fraction: number, byTime: boolean, perUser: boolean, seed = 7): SplitInfo => ({ kind: 'holdout', relation: 'ratings', fraction, seed, byTime, perUser });

describe('splitRelation', () => {
  it('random holdout: |test| = round(f·n), a partition, deterministic in the seed', () => {
    const a = splitRelation(rel, holdout(0.2, false, false));
    expect(a.test.size).toBe(6000);
    expectPartition(a, rel);
    expect(keys(splitRelation(rel, holdout(0.2, false, false)).test)).toEqual(keys(a.test));
    expect(keys(splitRelation(rel, holdout(0.2, false, false, 8)).test)).not.toEqual(keys(a.test));
  });

  it('keeps original tuple order inside each side', () => {
    const s = splitRelation(rel, holdout(0.5, false, false));
    const pos = new Map(keys(rel).map((k, t) => [k, t]));
    const order = keys(s.train).map((k) => pos.get(k) ?? -1);
    expect(order.every((p, j) => j === 0 || p > order[j - 1])).toBe(true);
  });

  it('per-user temporal holdout: each user\'s latest round(f·n_u) tuples go to test', () => {
    const s = splitRelation(rel, holdout(0.1, true, true));
    expectPartition(s, rel);
    const g = groupByUser(rel);
    // per user: test count, latest training time, earliest test time
    const nTest = new Int32Array(g.nUsers);
    const maxTrain = new Float64Array(g.nUsers).fill(-Infinity), minTest = new Float64Array(g.nUsers).fill(Infinity);
    const [tru, trt, teu, tet] = [idColumn(s.train, 'user'), valueColumn(s.train, 'time'), idColumn(s.test, 'user'), valueColumn(s.test, 'time')];
    for (let k = 0; k < s.train.size; k++) maxTrain[tru[k]] = Math.max(maxTrain[tru[k]], trt[k]);
    for (let k = 0; k < s.test.size; k++) { nTest[teu[k]]++; minTest[teu[k]] = Math.min(minTest[teu[k]], tet[k]); }
    for (let u = 0; u < g.nUsers; u++) {
      const n = g.offsets[u + 1] - g.offsets[u];
      expect(nTest[u]).toBe(Math.min(n - 1, Math.round(0.1 * n)));
      expect(maxTrain[u]).toBeLessThanOrEqual(minTest[u]);
    }
    expect(usersOf(s.train)).toEqual(usersOf(rel));
  });

  it('per-user temporal holdout breaks time ties by file position, and keeps single-tuple users in train', () => {
    const body = '1\ta\t1\t5\n1\tb\t1\t5\n1\tc\t1\t5\n1\td\t1\t5\n2\ta\t1\t9\n';
    const r = parseRelation(ratingsInfo(), body, 'ties.tsv', 'tsv', new IdMaps());
    const s = splitRelation(r, holdout(0.5, true, true));
    // user 1: four tuples at the same time → the last two in the file go to test; user 2 has one tuple
    expect([...idColumn(s.test, 'item')]).toEqual([2, 3]);
    expect([...idColumn(s.train, 'user')]).toEqual([0, 0, 1]);
  });

  it('global temporal holdout: the latest fraction of all tuples', () => {
    const s = splitRelation(rel, holdout(0.25, true, false));
    expect(s.test.size).toBe(7500);
    expect(Math.max(...valueColumn(s.train, 'time'))).toBeLessThanOrEqual(Math.min(...valueColumn(s.test, 'time')));
  });

  it('per-user random holdout: per-user counts, no user lost, deterministic', () => {
    const s = splitRelation(rel, holdout(0.2, false, true));
    expectPartition(s, rel);
    const g = groupByUser(rel);
    const tu = idColumn(s.test, 'user');
    for (let u = 0; u < g.nUsers; u += 37) {
      const n = g.offsets[u + 1] - g.offsets[u];
      expect(tu.filter((x) => x === u).length).toBe(Math.round(0.2 * n));
    }
    expect(usersOf(s.train)).toEqual(usersOf(rel));
    expect(keys(splitRelation(rel, holdout(0.2, false, true)).test)).toEqual(keys(s.test));
  });

  it('by COLUMN orders by the column the split names, whatever its name', () => {
    // two int columns, neither named time: only the split's `by day` can say which orders
    const info = relationInfo('ratings', { user: 'domain:user', item: 'domain:item', day: 'int', score: 'int' });
    const r = parseRelation(info, '1\t1\t3\t1\n1\t2\t1\t2\n1\t3\t2\t3\n', 'x.tsv', 'tsv', new IdMaps());
    const s = splitRelation(r, { kind: 'leave_one_out', relation: 'ratings', byTime: true, seed: 0, timeColumn: 'day' });
    expect([...valueColumn(s.test, 'day')]).toEqual([3]);
    const t = splitRelation(r, { kind: 'leave_one_out', relation: 'ratings', byTime: true, seed: 0, timeColumn: 'score' });
    expect([...valueColumn(t.test, 'score')]).toEqual([3]);
    expect(() => splitRelation(r, { kind: 'leave_one_out', relation: 'ratings', byTime: true, seed: 0 })).toThrow(/no time column/);
  });

  it('leave-one-out by time: each user\'s latest tuple', () => {
    const s = splitRelation(rel, { kind: 'leave_one_out', relation: 'ratings', byTime: true, seed: 0 });
    const g = groupByUser(rel);
    expect(s.test.size).toBe(g.nUsers);
    const latest = new Float64Array(g.nUsers).fill(-Infinity);
    const us = idColumn(rel, 'user'), ts = valueColumn(rel, 'time');
    for (let t = 0; t < rel.size; t++) latest[us[t]] = Math.max(latest[us[t]], ts[t]);
    const tu = idColumn(s.test, 'user'), tt = valueColumn(s.test, 'time');
    for (let k = 0; k < s.test.size; k++) expect(tt[k]).toBe(latest[tu[k]]);
    expect(usersOf(s.train)).toEqual(usersOf(rel));
  });

  it('leave-one-out at random: one tuple per user with ≥ 2, seeded', () => {
    const body = '1\ta\t1\t1\n1\tb\t1\t2\n2\ta\t1\t3\n3\tc\t1\t4\n3\ta\t1\t5\n3\tb\t1\t6\n';
    const r = parseRelation(ratingsInfo(), body, 'loo.tsv', 'tsv', new IdMaps());
    const info: SplitInfo = { kind: 'leave_one_out', relation: 'ratings', byTime: false, seed: 3 };
    const s = splitRelation(r, info);
    expect([...idColumn(s.test, 'user')].sort()).toEqual([0, 2]);
    expect(keys(splitRelation(r, info).test)).toEqual(keys(s.test));
    expect(usersOf(s.train)).toEqual(usersOf(r));
  });

  it('k-fold: folds are disjoint, cover every tuple, and have sizes within 1', () => {
    const k = 5;
    const folds = Array.from({ length: k }, (_, fold) => splitRelation(rel, { kind: 'kfold', relation: 'ratings', k, fold, seed: 11 }));
    const all = folds.flatMap((s) => keys(s.test));
    expect(all.sort()).toEqual(keys(rel).sort());
    for (const s of folds) {
      expect(s.test.size).toBe(6000);
      expectPartition(s, rel);
    }
    expect(() => splitRelation(rel, { kind: 'kfold', relation: 'ratings', k, fold: 5, seed: 1 })).toThrow(/0\.\.4/);
  });

  it('rejects fractions outside (0, 1) and points files splits at loadSplitFiles', () => {
    expect(() => splitRelation(rel, holdout(1.5, false, false))).toThrow(/\(0, 1\)/);
    expect(() => splitRelation(rel, { kind: 'files', relation: 'ratings', train: 'a', test: 'b' })).toThrow(/loadSplitFiles/);
  });
});

describe('loadSplitFiles', () => {
  it('loads train then test with shared id maps', () => {
    const ids = new IdMaps();
    const a = tempFile('split.base', '10\t1\t4\t1\n11\t2\t3\t2\n');
    const b = tempFile('split.test', '11\t3\t5\t3\n10\t2\t2\t4\n');
    const s = loadSplitFiles(ratingsInfo(), a, b, ids);
    expect([...idColumn(s.test, 'user')]).toEqual([1, 0]);
    expect([...idColumn(s.test, 'item')]).toEqual([2, 1]);
    expect(ids.sizes()).toEqual({ user: 2, item: 3 });
    expect(loadRelation(ratingsInfo(), a, ids).size).toBe(2);
  });
});

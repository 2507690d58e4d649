import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { idColumn, loadRelation, valueColumn } from '../../runtime/data/load.ts';
import { missingDataReason, ml100kDir } from '../../runtime/data/data-paths.ts';
import { IdMaps } from '../../runtime/data/ids.ts';
import { splitRelation, loadSplitFiles } from '../../runtime/data/split.ts';
import { ratingsInfo } from './helpers.ts';

const dir = ml100kDir();
if (dir === undefined) console.log(`[ml100k] skipping real-data tests: ${missingDataReason()}`);

describe.skipIf(dir === undefined)('real ML-100K', () => {
  const path = (f: string) => join(dir ?? '', f);

  it('loads u1.base / u1.test with shared ids: 80,000 + 20,000 rows, 943 users, 1682 items', () => {
    const ids = new IdMaps();
    const { train, test } = loadSplitFiles(ratingsInfo('movielens'), path('u1.base'), path('u1.test'), ids);
    expect(train.size).toBe(80000);
    expect(test.size).toBe(20000);
    expect(ids.sizes()).toEqual({ user: 943, item: 1682 });
    const r = valueColumn(train, 'rating');
    expect(Math.min(...r)).toBe(1);
    expect(Math.max(...r)).toBe(5);
    // u1.base starts "1\t1\t5\t874965758": user "1" and item "1" get dense id 0
    expect([idColumn(train, 'user')[0], idColumn(train, 'item')[0], r[0], valueColumn(train, 'time')[0]]).toEqual([0, 0, 5, 874965758]);
  });

  it('loads u.data as tsv (100,000 rows) and splits it per user by time without losing users', () => {
    const ids = new IdMaps();
    const all = loadRelation(ratingsInfo('tsv'), path('u.data'), ids);
    expect(all.size).toBe(100000);
    const s = splitRelation(all, { kind: 'holdout', relation: 'ratings', fraction: 0.2, seed: 7, byTime: true, perUser: true });
    expect(new Set(idColumn(s.train, 'user')).size).toBe(943);
    expect(s.train.size + s.test.size).toBe(100000);
  });
});

// The validation part of a split (`split …, validate F`, runtime/data/split.ts's markValidation):
// for every split kind, train/validation/test partition the relation, the test part is exactly the
// one the split gives without `validate` (validation tuples come from train only), the sizes follow
// the documented rule, by-time validation lies between train and test in time, and the part is a
// function of the seed. Then loadDataset: the part of a derived split relation, with --test, and of
// a relation with a sparse column.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { SplitInfo, ValidateInfo } from '../../compiler/check/model.ts';
import { checkSource } from '../../compiler/compile.ts';
import { idColumn, parseRelation, valueColumn, type Relation } from '../../runtime/data/load.ts';
import { IdMaps } from '../../runtime/data/ids.ts';
import { carveValidation, groupByUser, splitRelation } from '../../runtime/data/split.ts';
import { loadDataset } from '../../runtime/data/dataset.ts';
import { syntheticSmall, toUData } from '../../runtime/data/synthetic.ts';
import { ratingsInfo, tempFile } from './helpers.ts';

const rel = parseRelation(ratingsInfo('movielens'), toUData(syntheticSmall()), 'synthetic', 'movielens', new IdMaps());

/** Each tuple as "user item rating time" plus its position among equal tuples, so multisets compare as sets. */
function keys(r: Relation): string[] {
  const u = idColumn(r, 'user'), i = idColumn(r, 'item'), y = valueColumn(r, 'rating'), t = valueColumn(r, 'time');
  return Array.from({ length: r.size }, (_, k) => `${u[k]} ${i[k]} ${y[k]} ${t[k]}`);
}

const perUserCount = (r: Relation, nUsers: number): Int32Array => {
  const c = new Int32Array(nUsers);
  for (const u of idColumn(r, 'user')) c[u]++;
  return c;
};

const v = (fraction: number | undefined, seed = 11): { validate: ValidateInfo } => ({ validate: { fraction, seed } });
const SPLITS: Record<string, SplitInfo> = {
  'holdout at random': { kind: 'holdout', relation: 'ratings', fraction: 0.2, seed: 7, byTime: false, perUser: false, ...v(0.1) },
  'holdout by time': { kind: 'holdout', relation: 'ratings', fraction: 0.2, seed: 7, byTime: true, perUser: false, ...v(0.1) },
  'holdout per user': { kind: 'holdout', relation: 'ratings', fraction: 0.2, seed: 7, byTime: false, perUser: true, ...v(0.15) },
  'holdout by time per user': { kind: 'holdout', relation: 'ratings', fraction: 0.2, seed: 7, byTime: true, perUser: true, ...v(0.1) },
  'leave_one_out at random': { kind: 'leave_one_out', relation: 'ratings', byTime: false, seed: 7, ...v(undefined) },
  'leave_one_out by time': { kind: 'leave_one_out', relation: 'ratings', byTime: true, seed: 7, ...v(undefined) },
  kfold: { kind: 'kfold', relation: 'ratings', k: 5, fold: 2, seed: 7, ...v(0.1) },
};

describe('splitRelation with a validate clause', () => {
  const nUsers = groupByUser(rel).nUsers;
  for (const [name, split] of Object.entries(SPLITS)) {
    it(`${name}: a three-way partition whose test part is the split's own`, () => {
      const s = splitRelation(rel, split);
      const { validate: _, ...plain } = split;
      const without = splitRelation(rel, plain as SplitInfo);
      const val = s.validation!;
      expect(val.size).toBeGreaterThan(0);
      expect(s.train.size + val.size + s.test.size).toBe(rel.size);
      expect([...keys(s.train), ...keys(val), ...keys(s.test)].sort()).toEqual(keys(rel).sort());
      // validation comes out of train only: test is untouched, and train + validation is the old train
      expect(keys(s.test)).toEqual(keys(without.test));
      expect([...keys(s.train), ...keys(val)].sort()).toEqual(keys(without.train).sort());
      // per-user splits: every user keeps a training tuple
      if (split.kind === 'leave_one_out' || (split.kind === 'holdout' && split.perUser)) expect(new Set(idColumn(s.train, 'user'))).toEqual(new Set(idColumn(rel, 'user')));
      // deterministic in the seed; another validate seed moves other tuples (when the carve is random)
      expect(keys(splitRelation(rel, split).validation!)).toEqual(keys(val));
      const reseeded = splitRelation(rel, { ...split, validate: { ...split.validate!, seed: 12 } }).validation!;
      const random = !('byTime' in split && split.byTime);
      if (random) expect(keys(reseeded)).not.toEqual(keys(val));
      else expect(keys(reseeded)).toEqual(keys(val));
    });
  }

  it('sizes: round(v·n) globally; per user min(n_u − test_u − 1, round(v·n_u)); leave_one_out one per user with ≥ 2 training tuples', () => {
    for (const name of ['holdout at random', 'holdout by time', 'kfold']) expect(splitRelation(rel, SPLITS[name]!).validation!.size, name).toBe(Math.round(0.1 * rel.size));
    const all = perUserCount(rel, nUsers);
    for (const name of ['holdout per user', 'holdout by time per user', 'leave_one_out at random', 'leave_one_out by time']) {
      const split = SPLITS[name]!;
      const s = splitRelation(rel, split);
      const te = perUserCount(s.test, nUsers), va = perUserCount(s.validation!, nUsers);
      for (let u = 0; u < nUsers; u++) {
        const left = all[u]! - te[u]!;
        const want = split.validate!.fraction === undefined ? 1 : Math.round(split.validate!.fraction * all[u]!);
        expect(va[u], `${name}, user ${u}`).toBe(Math.max(0, Math.min(left - 1, want)));
      }
    }
  });

  it('by time: each user\'s validation tuples lie after their training tuples and before their test tuples', () => {
    for (const name of ['holdout by time per user', 'leave_one_out by time']) {
      const s = splitRelation(rel, SPLITS[name]!);
      const span = (r: Relation) => {
        const lo = new Float64Array(nUsers).fill(Infinity), hi = new Float64Array(nUsers).fill(-Infinity);
        const u = idColumn(r, 'user'), t = valueColumn(r, 'time');
        for (let k = 0; k < r.size; k++) { lo[u[k]!] = Math.min(lo[u[k]!]!, t[k]!); hi[u[k]!] = Math.max(hi[u[k]!]!, t[k]!); }
        return { lo, hi };
      };
      const tr = span(s.train), va = span(s.validation!), te = span(s.test);
      for (let u = 0; u < nUsers; u++) {
        if (va.lo[u] === Infinity) continue;
        expect(tr.hi[u]!, name).toBeLessThanOrEqual(va.lo[u]!);
        if (te.lo[u] !== Infinity) expect(va.hi[u]!, name).toBeLessThanOrEqual(te.lo[u]!);
      }
    }
    // global by time: the validation block is the latest of what the test block left
    const s = splitRelation(rel, SPLITS['holdout by time']!);
    const max = (r: Relation) => Math.max(...valueColumn(r, 'time')), min = (r: Relation) => Math.min(...valueColumn(r, 'time'));
    expect(max(s.train)).toBeLessThanOrEqual(min(s.validation!));
    expect(max(s.validation!)).toBeLessThanOrEqual(min(s.test));
  });

  it('carveValidation (a files split or --test): round(v·n) of the training file, a partition, seeded', () => {
    const files: SplitInfo = { kind: 'files', relation: 'ratings', train: 'a', test: 'b', ...v(0.25, 3) };
    const c = carveValidation(rel, files);
    expect(c.validation.size).toBe(Math.round(0.25 * rel.size));
    expect([...keys(c.train), ...keys(c.validation)].sort()).toEqual(keys(rel).sort());
    expect(keys(carveValidation(rel, files).validation)).toEqual(keys(c.validation));
    expect(() => carveValidation(rel, { kind: 'files', relation: 'ratings', train: 'a', test: 'b' })).toThrow(/no validate clause/);
  });
});

describe('loadDataset with a validation part', () => {
  const data = tempFile('val-ratings.tsv', toUData(syntheticSmall()).replace(/\t/g, '\t'));
  const model = (split: string, extra = ''): ReturnType<typeof checkSource>['model'] & object => {
    const dir = join(data, '..');
    const text = `index user, item
data ratings(user: user, item: item, rating: float, time: int) from "${data}" format tsv
data likes = ratings where rating >= 4
data top = likes where rating >= 5
${split}
dim d = 2
param U[user, d] ~ normal(0, 0.1)
param V[item, d] ~ normal(0, 0.1)
def score(u, i) = U[u] . V[i]
loss fit = mean((u, i) in likes: (1 - score(u, i))^2)
${extra}`;
    const r = checkSource(join(dir, 'm.recmodel'), text);
    expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    return r.model!;
  };

  it('a split of a derived relation: validation leaves train, and what derives from it follows', () => {
    const ds = loadDataset(model('split likes: holdout 0.2 by time per user, validate 0.1'));
    const tr = ds.train.get('likes')!, va = ds.validation!.get('likes')!, te = ds.test.get('likes')!;
    expect(va.size).toBeGreaterThan(0);
    const others = new Set([...keys(tr), ...keys(te)]);
    expect(keys(va).filter((x) => others.has(x))).toEqual([]);
    // `top` (derived from likes) on each side is that side's likes with rating 5
    for (const side of [ds.train, ds.validation!, ds.test]) {
      const want = keys(side.get('likes')!).filter((x) => x.split(' ')[2] === '5');
      expect(keys(side.get('top')!)).toEqual(want);
    }
    expect(ds.protocol).toMatch(/ train \/ \d+ validation \/ \d+ test tuples/);
    // without validate: the same test part, and train is train + validation
    const plain = loadDataset(model('split likes: holdout 0.2 by time per user'));
    expect(keys(plain.test.get('likes')!)).toEqual(keys(te));
    expect(keys(plain.train.get('likes')!).sort()).toEqual([...keys(tr), ...keys(va)].sort());
    expect(plain.validation).toBeUndefined();
  });

  it('--test FILE: the validation part is carved from the training data, by the split\'s traits', () => {
    const test = tempFile('val-test.tsv', '1\t1\t5\t1\n');
    const m = model('split ratings: holdout 0.2 per user, validate 0.1 seed 4');
    const ds = loadDataset(m, { test });
    expect(ds.test.get('ratings')!.size).toBe(1);
    const tr = ds.train.get('ratings')!, va = ds.validation!.get('ratings')!;
    expect(tr.size + va.size).toBe(rel.size);
    expect(va.size).toBeGreaterThan(0.09 * rel.size);
    expect(va.size).toBeLessThan(0.11 * rel.size);
    expect(ds.validation!.get('likes')!.size).toBe(keys(va).filter((x) => Number(x.split(' ')[2]) >= 4).length);
    expect(ds.protocol).toMatch(/validation: \d+ of the \d+ training tuples of ratings \(validate 0\.1 per user, seed 4\)/);
  });

  it('a relation with a sparse column: the validation rows carry their entries', () => {
    const lines: string[] = [];
    for (let r = 0; r < 200; r++) lines.push(`${r % 2} ${1 + (r % 7)}:1 ${10 + (r % 5)}:${(r % 3) + 1}`);
    const path = tempFile('val.libsvm', lines.join('\n') + '\n');
    writeFileSync(path, lines.join('\n') + '\n');
    const text = `index feature
data clicks(label: float, x: sparse feature) from "${path}" format libsvm
split clicks: holdout 0.2 seed 3, validate 0.25
param w[feature] = 0
loss fit = mean((y, x) in clicks: softplus(-y * sum(j in x: w[j] * x[j])))`;
    const r = checkSource(join(path, '..', 'c.recmodel'), text);
    expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    const ds = loadDataset(r.model!);
    const sides = [ds.train, ds.validation!, ds.test];
    expect(sides.map((s) => s.get('clicks')!.size)).toEqual([110, 50, 40]);
    // every side has its own entries relation, two non-zeros per row
    for (const s of sides) {
      const entries = [...s.keys()].filter((n) => n !== 'clicks');
      expect(entries.length).toBe(1);
      expect(s.get(entries[0]!)!.size).toBe(2 * s.get('clicks')!.size);
    }
  });
});

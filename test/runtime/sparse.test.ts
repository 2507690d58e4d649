// Sparse relations keep their entries through every row selection: selectRowsSparse, the splits and
// derived relations of loadDataset, and train.ts's mini-batches. Every row carries a unique feature
// `r<t>` naming its line in the file, so each selected row can be traced back and compared whole.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { check } from '../../compiler/check/index.ts';
import type { Model } from '../../compiler/check/model.ts';
import { parse } from '../../compiler/syntax/parse.ts';
import { sourceFile } from '../../compiler/diagnostics/source.ts';
import type { Relation } from '../../runtime/data/load.ts';
import { loadDataset, type DataOptions } from '../../runtime/data/dataset.ts';
import { IdMaps } from '../../runtime/data/ids.ts';
import { Rng } from '../../runtime/data/rng.ts';
import { entriesOf, makeEntries, parseLibsvm, rowOffsets, selectRowsSparse } from '../../runtime/data/sparse.ts';
import { Batcher } from '../../runtime/train/steps.ts';
import { tempFile } from './helpers.ts';
import { libsvmInfo } from './sparse-helpers.ts';

/** A libsvm body of n rows: row t = `label r<t> f… ` with 0..4 more features, label ±1 or 0/1. */
function body(n: number, seed = 1, signed = false): string {
  const rng = new Rng(seed);
  const lines: string[] = [];
  for (let t = 0; t < n; t++) {
    const y = rng.int(2);
    let l = `${signed ? (y ? '+1' : '-1') : y} r${t}:1`;
    const used = new Set<number>();
    for (let j = rng.int(5); j > 0; j--) {
      const f = rng.int(20);
      if (used.has(f)) continue;
      used.add(f);
      l += ` f${f}:${(rng.int(100) / 10).toString()}`;
    }
    lines.push(l);
  }
  return lines.join('\n') + '\n';
}

type Row = { label: number; feats: [string, number][] };

/** The rows of the file body, by line. */
function fileRows(text: string): Row[] {
  return text.trim().split('\n').map((l) => {
    const [y, ...f] = l.split(' ');
    return { label: Number(y), feats: f.map((x) => [x.split(':')[0]!, Number(x.split(':')[1])] as [string, number]) };
  });
}

/**
 * Checks `rel` and its entries (in `side`) are a consistent selection of `rows`: entries grouped by
 * row in order, each row's entries equal to those of the file row its `r<t>` names. Returns the t's.
 */
function traceRows(rel: Relation, entries: Relation, ids: IdMaps, rows: readonly Row[]): number[] {
  expect(entries.name).toBe(`${rel.name}~x`);
  expect(entries.idDomains.get('row')).toBe(rel.name);
  const row = entries.ids.get('row')!, feat = entries.ids.get('feat')!, val = entries.values.get('val')!;
  const off = rowOffsets(entries, rel.size); // throws unless grouped by row in order
  const label = rel.values.get('label')!;
  const out: number[] = [];
  for (let j = 0; j < rel.size; j++) {
    const got: [string, number][] = [];
    for (let q = off[j]!; q < off[j + 1]!; q++) {
      expect(row[q]).toBe(j);
      got.push([ids.get('feature').external(feat[q]!), val[q]!]);
    }
    const t = Number(got[0]![0].slice(1));
    expect(got[0]![0]).toMatch(/^r\d+$/);
    expect(got).toEqual(rows[t]!.feats);
    expect(label[j]).toBe(rows[t]!.label);
    out.push(t);
  }
  return out;
}

describe('selectRowsSparse', () => {
  const text = body(40);
  const rows = fileRows(text);
  const ids = new IdMaps();
  const all = parseLibsvm(libsvmInfo(), text, 'ctr.libsvm', ids);

  it('renumbers rows and keeps each row its own entries, for any selection (repeats, any order, empty)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 39 }), { maxLength: 60 }), (sel) => {
        const s = selectRowsSparse(all.rel, all.entries, Int32Array.from(sel), 'part');
        expect(s.rel.name).toBe('part');
        expect(s.rel.size).toBe(sel.length);
        expect([...s.entries.keys()]).toEqual(['part~x']);
        const e = s.entries.get('part~x')!;
        expect(e.size).toBe(sel.reduce((a, t) => a + rows[t]!.feats.length, 0));
        expect(traceRows(s.rel, e, ids, rows)).toEqual(sel);
      }),
      { numRuns: 200 },
    );
  });

  it('a selection of a selection traces back to the file', () => {
    const a = selectRowsSparse(all.rel, all.entries, Int32Array.from([5, 3, 9, 1]));
    const b = selectRowsSparse(a.rel, a.entries, Int32Array.from([2, 0]));
    expect(traceRows(b.rel, b.entries.get('clicks~x')!, ids, rows)).toEqual([9, 5]);
  });

  it('rejects rows out of range and entries not grouped by row', () => {
    expect(() => selectRowsSparse(all.rel, all.entries, Int32Array.from([40]))).toThrow(/outside 0\.\.39/);
    const bad = makeEntries('r', 'x', 'feature', Int32Array.from([0, 1, 0]), Int32Array.from([0, 1, 2]), Float64Array.from([1, 1, 1]));
    expect(() => rowOffsets(bad, 2)).toThrow(/grouped by row in row order/);
    expect(() => rowOffsets(bad, 1)).toThrow(/grouped by row/);
  });

  it('entriesOf finds a relation\'s entries in a side', () => {
    const side = new Map<string, Relation>([['clicks', all.rel], ...all.entries]);
    expect([...entriesOf(all.rel, side).keys()]).toEqual(['clicks~x']);
    expect(entriesOf(all.rel, new Map()).size).toBe(0);
  });
});

/** A checked model (no lowering: loadDataset needs only the Model) from `decls` after a standard header. */
function modelAt(dir: string, decls: string): Model {
  const path = join(dir, 'm.recmodel');
  const text = `model t
index feature
data clicks(label: float, x: sparse feature) from "ctr.libsvm" format libsvm
param w[feature] = 0
def score(x) = sum(j in x: w[j] * x[j])
${decls}
loss fit = mean((y, x) in clicks: (score(x) - y)^2)
`;
  writeFileSync(path, text);
  const parsed = parse(sourceFile(path, text));
  expect(parsed.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  const checked = check(parsed.program!);
  expect(checked.diagnostics.filter((d) => d.severity === 'error').map((d) => d.message)).toEqual([]);
  return checked.model!;
}

describe('loadDataset with a sparse relation', () => {
  const text = body(300, 7);
  const rows = fileRows(text);
  const dir = join(tempFile('ctr.libsvm', text), '..');
  const totalNnz = rows.reduce((a, r) => a + r.feats.length, 0);

  const sides = (decls: string, opts: DataOptions = {}) => {
    const ds = loadDataset(modelAt(dir, decls), opts);
    const trace = (side: ReadonlyMap<string, Relation>, name: string): number[] => traceRows(side.get(name)!, side.get(`${name}~x`)!, ds.ids, rows);
    return { ds, trace };
  };

  it('without a split: the relation and its entries, whole', () => {
    const { ds, trace } = sides('');
    expect([...ds.train.keys()]).toEqual(['clicks', 'clicks~x']);
    expect(ds.train.get('clicks~x')!.size).toBe(totalNnz);
    expect(trace(ds.train, 'clicks')).toEqual(rows.map((_, t) => t));
  });

  it('holdout: both sides carry their rows\' entries, and together they partition the file', () => {
    const { ds, trace } = sides('split clicks: holdout 0.3 seed 3');
    const tr = trace(ds.train, 'clicks'), te = trace(ds.test, 'clicks');
    expect(te.length).toBe(90);
    expect([...tr, ...te].sort((a, b) => a - b)).toEqual(rows.map((_, t) => t));
    expect(ds.train.get('clicks~x')!.size + ds.test.get('clicks~x')!.size).toBe(totalNnz);
    expect(ds.protocol).toMatch(/^holdout 0.3 \(seed 3\): 210 train \/ 90 test tuples/);
  });

  it('kfold: each fold\'s test rows carry their entries; the folds cover every row once', () => {
    const seen: number[] = [];
    for (let fold = 0; fold < 3; fold++) {
      const { ds, trace } = sides(`split clicks: kfold 3 fold ${fold} seed 5`);
      trace(ds.train, 'clicks');
      seen.push(...trace(ds.test, 'clicks'));
    }
    expect(seen.sort((a, b) => a - b)).toEqual(rows.map((_, t) => t));
  });

  it('files split and --data/--test: each file loads with its entries, sharing the feature ids', () => {
    const a = fileRows(body(50, 11)), b = fileRows(body(20, 12));
    tempFile('a.libsvm', body(50, 11));
    tempFile('b.libsvm', body(20, 12));
    const { ds } = sides('split clicks: files "a.libsvm", "b.libsvm"');
    expect(traceRows(ds.train.get('clicks')!, ds.train.get('clicks~x')!, ds.ids, a).length).toBe(50);
    expect(traceRows(ds.test.get('clicks')!, ds.test.get('clicks~x')!, ds.ids, b).length).toBe(20);
    const opt = sides('', { data: join(dir, 'b.libsvm'), test: join(dir, 'a.libsvm') }).ds;
    expect(traceRows(opt.train.get('clicks')!, opt.train.get('clicks~x')!, opt.ids, b).length).toBe(20);
    expect(traceRows(opt.test.get('clicks')!, opt.test.get('clicks~x')!, opt.ids, a).length).toBe(50);
    // ids are shared: train features come first
    expect(opt.ids.get('feature').external(0)).toBe('r0');
  });

  it('derived relations (`where label > 0`) carry entries on both sides of a split', () => {
    const { ds, trace } = sides('data pos = clicks where label > 0\nsplit clicks: holdout 0.5 seed 9');
    for (const side of [ds.train, ds.test]) {
      const t = trace(side, 'pos');
      expect(t.every((x) => rows[x]!.label > 0)).toBe(true);
      const base = new Set(trace(side, 'clicks'));
      expect(t.every((x) => base.has(x))).toBe(true);
      expect(t.length).toBe([...base].filter((x) => rows[x]!.label > 0).length);
    }
  });

  it('a split of a derived sparse relation', () => {
    const { ds, trace } = sides('data pos = clicks where label > 0\nsplit pos: holdout 0.25 seed 2');
    const tr = trace(ds.train, 'pos'), te = trace(ds.test, 'pos');
    const positives = rows.map((r, t) => (r.label > 0 ? t : -1)).filter((t) => t >= 0);
    expect([...tr, ...te].sort((a, b) => a - b)).toEqual(positives);
    expect(ds.primary).toBe('pos');
  });
});

describe('Batcher with a sparse relation', () => {
  const text = body(103, 21);
  const rows = fileRows(text);
  const ids = new IdMaps();
  const all = parseLibsvm(libsvmInfo(), text, 'ctr.libsvm', ids);
  const full = new Map<string, Relation>([['clicks', all.rel], ...all.entries, ['other', all.rel]]);

  it('each batch comes with its entries (rows 0..B−1), and an epoch visits every row once', () => {
    const batcher = new Batcher(all.rel, 10, new Rng(4));
    expect(batcher.batchesPerEpoch).toBe(11);
    for (let epoch = 0; epoch < 2; epoch++) {
      const seen: number[] = [];
      for (let b = 0; b < 11; b++) {
        const batch = batcher.next(full);
        expect([...batch.keys()]).toEqual(['clicks', 'clicks~x']);
        const rel = batch.get('clicks')!;
        expect(rel.size).toBe(b < 10 ? 10 : 3);
        const e = batch.get('clicks~x')!;
        expect(Math.max(-1, ...e.ids.get('row')!)).toBeLessThan(rel.size);
        seen.push(...traceRows(rel, e, ids, rows));
      }
      expect(seen.sort((a, b) => a - b)).toEqual(rows.map((_, t) => t));
    }
  });

  it('a dense relation batches as before (no entries)', () => {
    const batcher = new Batcher(all.rel, 10, new Rng(4));
    const batch = batcher.next();
    expect([...batch.keys()]).toEqual(['clicks']);
    expect(batch.get('clicks')!.size).toBe(10);
  });
});

import { describe, expect, it } from 'vitest';
import { DataError, loadRelation, type LoadOptions } from '../../runtime/data/load.ts';
import { IdMaps } from '../../runtime/data/ids.ts';
import { loadSparse, parseLibsvm, type SparseLoad } from '../../runtime/data/sparse.ts';
import { tempFile } from './helpers.ts';
import { libsvmInfo } from './sparse-helpers.ts';

const parse = (body: string, ids = new IdMaps(), opts: LoadOptions = {}, info = libsvmInfo()): SparseLoad => parseLibsvm(info, body, 'ctr.libsvm', ids, opts);

/** rows as [label, [feature external id, value][]] */
function rowsOf(s: SparseLoad, ids: IdMaps): [number, [string, number][]][] {
  const e = s.entries.get(`${s.rel.name}~x`)!;
  const out: [number, [string, number][]][] = [];
  const label = s.rel.values.get('label')!;
  for (let r = 0; r < s.rel.size; r++) out.push([label[r]!, []]);
  const row = e.ids.get('row')!, feat = e.ids.get('feat')!, val = e.values.get('val')!;
  for (let q = 0; q < e.size; q++) out[row[q]!]![1].push([ids.get('feature').external(feat[q]!), val[q]!]);
  return out;
}

function errorOf(body: string, opts: LoadOptions = {}, info = libsvmInfo()): string {
  try {
    parse(body, new IdMaps(), opts, info);
  } catch (e) {
    expect(e).toBeInstanceOf(DataError);
    return (e as DataError).message;
  }
  throw new Error('expected a DataError');
}

describe('libsvm: reading', () => {
  it('reads label id:value rows into the relation and its entries relation R~x', () => {
    const ids = new IdMaps();
    const s = parse('1 3:0.5 7:1\n0 7:2 12:1e-3\n', ids);
    expect(s.rel.name).toBe('clicks');
    expect(s.rel.size).toBe(2);
    expect([...s.rel.values.get('label')!]).toEqual([1, 0]);
    expect([...s.entries.keys()]).toEqual(['clicks~x']);
    const e = s.entries.get('clicks~x')!;
    expect(e.size).toBe(4);
    expect([...e.ids.get('row')!]).toEqual([0, 0, 1, 1]);
    expect([...e.ids.get('feat')!]).toEqual([0, 1, 1, 2]);
    expect([...e.values.get('val')!]).toEqual([0.5, 1, 2, 1e-3]);
    expect(e.idDomains.get('row')).toBe('clicks');
    expect(e.idDomains.get('feat')).toBe('feature');
    expect(e.columns.map((c) => c.name)).toEqual(['row', 'feat', 'val']);
    expect(ids.get('feature').externals()).toEqual(['3', '7', '12']);
  });

  it('keeps labels as written (0/1, −1/+1, reals), interns string ids, reads a bare id as value 1', () => {
    const ids = new IdMaps();
    const s = parse('+1 u196 i242:1 gComedy\n-1 u186 i302\n0.25 u196:2\n', ids);
    expect(rowsOf(s, ids)).toEqual([
      [1, [['u196', 1], ['i242', 1], ['gComedy', 1]]],
      [-1, [['u186', 1], ['i302', 1]]],
      [0.25, [['u196', 2]]],
    ]);
    // "7" and "07" are different feature ids (ids are strings)
    const ids2 = new IdMaps();
    parse('1 7:1 07:1\n', ids2);
    expect(ids2.get('feature').externals()).toEqual(['7', '07']);
    // numeric ids take a lookup table up to 7 digits; longer or non-canonical ones are interned as text
    const ids3 = new IdMaps();
    const s3 = parse('1 0 00 1234567 12345678 7\n0 12345678 00 1234567 0 7:2\n', ids3);
    expect(ids3.get('feature').externals()).toEqual(['0', '00', '1234567', '12345678', '7']);
    expect([...s3.entries.get('clicks~x')!.ids.get('feat')!]).toEqual([0, 1, 2, 3, 4, 3, 1, 2, 0, 4]);
  });

  it('skips blank and comment lines, strips end-of-line comments, accepts tabs, CRLF and a BOM', () => {
    const ids = new IdMaps();
    const s = parse('\uFEFF# header comment\r\n1\t1:1  2:3 # trailing\r\n\r\n   \n0 2:1#tight\n1\n', ids);
    expect(rowsOf(s, ids)).toEqual([
      [1, [['1', 1], ['2', 3]]],
      [0, [['2', 1]]],
      [1, []],
    ]);
  });

  it('a row without features is a row with no entries; the last line may lack a newline', () => {
    const s = parse('1\n0 5:1');
    expect(s.rel.size).toBe(2);
    expect([...s.entries.get('clicks~x')!.ids.get('row')!]).toEqual([1]);
  });

  it('shares the feature map across files and honours unknownIds for features', () => {
    const ids = new IdMaps();
    parse('1 a b\n', ids);
    const test = parse('0 b c\n', ids, { unknownIds: 'drop' });
    expect(rowsOf(test, ids)).toEqual([[0, [['b', 1]]]]);
    expect(ids.get('feature').size).toBe(2);
    const both = parse('0 c a\n', ids);
    expect([...both.entries.get('clicks~x')!.ids.get('feat')!]).toEqual([2, 0]);
  });

  it('int labels must be integers', () => {
    const s = parse('3 1:1\n', new IdMaps(), {}, libsvmInfo('clicks', { kind: 'int' }));
    expect(s.rel.values.get('label')![0]).toBe(3);
  });

  it('loadSparse reads the file; loadRelation points libsvm relations to it', () => {
    const path = tempFile('ctr.libsvm', '1 1:1\n0 2:1\n');
    const ids = new IdMaps();
    expect(loadSparse(libsvmInfo(), path, ids).rel.size).toBe(2);
    expect(() => loadRelation(libsvmInfo(), path, ids)).toThrow(/format libsvm loads as two relations .*use loadSparse/);
    expect(() => loadSparse(libsvmInfo(), `${path}.missing`, ids)).toThrow(/file not found/);
  });
});

describe('libsvm: errors name file:line:col', () => {
  it('a label that is not a number', () => {
    expect(errorOf('1 1:1\nyes 1:1\n')).toBe(`ctr.libsvm:2:1: expected a number as the label in column 'label', found "yes"`);
  });
  it('a row that starts with a feature (no label)', () => {
    expect(errorOf('1 1:1\n  3:1 4:1\n')).toBe(`ctr.libsvm:2:3: expected a label before the features (rows are 'label id:value …'), found "3:1"`);
  });
  it('a value that is not a number points at the value', () => {
    expect(errorOf('1 1:1 22:abc\n')).toBe(`ctr.libsvm:1:10: expected a number after ':' for feature "22", found "abc"`);
    expect(errorOf('1 1:1:2\n')).toBe(`ctr.libsvm:1:5: expected a number after ':' for feature "1", found "1:2"`);
  });
  it('a colon with no value, or no id', () => {
    expect(errorOf('0 5:\n')).toBe(`ctr.libsvm:1:5: expected a number after ':' for feature "5", found nothing`);
    expect(errorOf('0 5:1 :3\n')).toBe(`ctr.libsvm:1:7: expected a feature id before ':', found ":3"`);
  });
  it('a feature twice in a row', () => {
    expect(errorOf('1 4:1 9:1\n0 9:1 4:1 9:0.5\n')).toBe(`ctr.libsvm:2:11: duplicate feature "9" in this row (first at column 3); a feature may appear once per row`);
    expect(errorOf('1 a b:2 a\n')).toBe(`ctr.libsvm:1:9: duplicate feature "a" in this row (first at column 3); a feature may appear once per row`);
  });
  it('qid fields are rejected', () => {
    expect(errorOf('1 qid:3 1:1\n')).toBe(`ctr.libsvm:1:3: qid fields (libsvm ranking files) are not supported; remove the 'qid:…' field or group rows another way`);
  });
  it('a non-integer int label, an unknown feature with unknownIds error, an empty file', () => {
    expect(errorOf('1.5 1:1\n', {}, libsvmInfo('clicks', { kind: 'int' }))).toBe(`ctr.libsvm:1:1: expected an integer label in column 'label', found "1.5"`);
    expect(errorOf('1 1:1\n', { unknownIds: 'error' })).toBe(`ctr.libsvm:1:3: expected a known feature id, found "1" (not in the id map)`);
    expect(errorOf('# nothing\n\n')).toBe(`ctr.libsvm: empty file; expected libsvm rows 'label id:value id:value …'`);
  });
  it('a relation declared with other columns', () => {
    expect(errorOf('1 1:1\n', {}, libsvmInfo('clicks', { kind: 'float' }, [{ name: 'u', type: { kind: 'domain', domain: 'user' } }]))).toBe(
      `ctr.libsvm: format libsvm holds rows 'label id:value id:value …': declare clicks with one label and one sparse column, e.g. (label: float, x: sparse feature); found (label: float, x: sparse feature, u: user)`,
    );
  });
});

describe('libsvm: a large file', () => {
  // how fast 1M rows parse is a benchmark (npm run bench:load, target < 3 s), not a test
  it('100,000 rows × 10 non-zeros: every row and entry, feature ids shared across repeated rows', () => {
    // 1000 distinct rows repeated: every row still goes through the full scan and the id lookup
    const block: string[] = [];
    for (let t = 0; t < 1000; t++) {
      let l = String(t % 2);
      for (let j = 0; j < 10; j++) l += ` ${(t * 7919 + j * 104729) % 50000}:${((t + j) % 97) / 10}`;
      block.push(l);
    }
    const text = (block.join('\n') + '\n').repeat(100);
    const ids = new IdMaps();
    const s = parse(text, ids);
    expect(s.rel.size).toBe(100_000);
    const e = s.entries.get('clicks~x')!;
    expect(e.size).toBe(1_000_000);
    const distinct = new Set(block.flatMap((l) => l.split(' ').slice(1).map((kv) => kv.split(':')[0])));
    expect(ids.sizes()).toEqual({ feature: distinct.size });
    // the last ten entries are the last block row's, in order, on the last row
    const row = e.ids.get('row')!, feat = e.ids.get('feat')!, val = e.values.get('val')!;
    const last = Array.from({ length: 10 }, (_, j) => e.size - 10 + j);
    expect(last.map((q) => row[q])).toEqual(new Array(10).fill(99_999));
    expect(last.map((q) => `${ids.get('feature').external(feat[q]!)}:${val[q]}`)).toEqual(block.at(-1)!.split(' ').slice(1));
    expect(s.rel.values.get('label')![99_999]).toBe(1);
  });
});

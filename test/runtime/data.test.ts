import { writeFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DataError, filterRelation, idColumn, loadRelation, parseNumber, valueColumn, type LoadOptions } from '../../runtime/data/load.ts';
import { IdMaps } from '../../runtime/data/ids.ts';
import { syntheticMl1m } from '../../runtime/data/synthetic.ts';
import { ratingsInfo, relationInfo, tempFile } from './helpers.ts';

const load = (body: string, format: 'tsv' | 'csv' | 'movielens' = 'tsv', ids = new IdMaps(), opts: LoadOptions = {}) =>
  loadRelation(ratingsInfo(format), tempFile(`f${Math.random().toString(36).slice(2)}.txt`, body), ids, opts);

/** The DataError message of loading `body`, shown as data/u.data. */
function errorOf(body: string, format: 'tsv' | 'csv' | 'movielens' = 'tsv', opts: LoadOptions = {}): string {
  try {
    load(body, format, new IdMaps(), { displayPath: 'data/u.data', ...opts });
  } catch (e) {
    expect(e).toBeInstanceOf(DataError);
    return (e as DataError).message;
  }
  throw new Error('expected a DataError');
}

describe('loadRelation: formats', () => {
  it('reads tsv without a header, mapping ids in first-seen order', () => {
    const ids = new IdMaps();
    const r = load('196\t242\t3\t881250949\n186\t302\t3.5\t891717742\n196\t377\t1\t878887116\n', 'tsv', ids);
    expect(r.size).toBe(3);
    expect([...idColumn(r, 'user')]).toEqual([0, 1, 0]);
    expect([...idColumn(r, 'item')]).toEqual([0, 1, 2]);
    expect([...valueColumn(r, 'rating')]).toEqual([3, 3.5, 1]);
    expect([...valueColumn(r, 'time')]).toEqual([881250949, 891717742, 878887116]);
    expect(ids.get('user').externals()).toEqual(['196', '186']);
    expect(r.idDomains.get('item')).toBe('item');
  });

  it('reads whitespace-separated tsv, CRLF endings, blank lines and a BOM', () => {
    const r = load('\uFEFF1  10   4 100\r\n\r\n  2 11 5 200  \r\n\n');
    expect(r.size).toBe(2);
    expect([...valueColumn(r, 'rating')]).toEqual([4, 5]);
    expect([...valueColumn(r, 'time')]).toEqual([100, 200]);
  });

  it('detects a tsv header from non-numeric value columns and matches columns by name', () => {
    const ids = new IdMaps();
    const r = load('time\titem\tuser\trating\n100\ta\tu1\t4.5\n', 'tsv', ids);
    expect(r.size).toBe(1);
    expect(valueColumn(r, 'time')[0]).toBe(100);
    expect(valueColumn(r, 'rating')[0]).toBe(4.5);
    expect(ids.get('user').externals()).toEqual(['u1']);
    expect(ids.get('item').externals()).toEqual(['a']);
  });

  it('reads csv with a header by name, in any column order, ignoring extra columns', () => {
    const ids = new IdMaps();
    const r = load('rating,extra,user,item,time\n4,x,7,9,10\n2.5,y,8,9,11\n', 'csv', ids);
    expect([...valueColumn(r, 'rating')]).toEqual([4, 2.5]);
    expect(ids.get('user').externals()).toEqual(['7', '8']);
    expect([...idColumn(r, 'item')]).toEqual([0, 0]);
  });

  it('reads csv without a header positionally, and a header naming no declared column positionally', () => {
    expect(load('1,2,3,4\n5,6,7,8\n', 'csv').size).toBe(2);
    const r = load('userId,movieId,score,timestamp\n1,31,2.5,1260759144\n', 'csv');
    expect(r.size).toBe(1);
    expect(valueColumn(r, 'rating')[0]).toBe(2.5);
  });

  it('reads quoted csv fields with commas, doubled quotes and newlines', () => {
    const info = relationInfo('movies', { item: 'domain:item', title: 'string', year: 'int' });
    const ids = new IdMaps();
    const path = tempFile('movies.csv', 'item,title,year\n1,"Toy Story, (1995)",1995\n2,"say ""hi""\nagain", "1996"\n');
    const r = loadRelation(info, path, ids, { format: 'csv' });
    expect(r.size).toBe(2);
    expect(ids.get('movies.title').externals()).toEqual(['Toy Story, (1995)', 'say "hi"\nagain']);
    expect(r.idDomains.get('title')).toBe('movies.title');
    expect([...valueColumn(r, 'year')]).toEqual([1995, 1996]);
  });

  it('reads MovieLens u.data (tab) and ratings.dat (::) layouts', () => {
    const a = load('1\t2\t3\t4\n', 'movielens');
    const b = load('1::1193::5::978300760\n1::661::3::978302109\n', 'movielens');
    expect(a.size).toBe(1);
    expect([...valueColumn(b, 'rating')]).toEqual([5, 3]);
    expect([...valueColumn(b, 'time')]).toEqual([978300760, 978302109]);
  });

  it('lets MovieLens files carry trailing columns the relation does not declare', () => {
    const info = relationInfo('r', { user: 'domain:user', item: 'domain:item', rating: 'float' }, 'movielens');
    const r = loadRelation(info, tempFile('ml.dat', '1::2::3::999\n'), new IdMaps());
    expect(r.size).toBe(1);
    expect(r.values.has('time')).toBe(false);
  });

  it('shares id maps across files (train and test use one map)', () => {
    const ids = new IdMaps();
    load('5\t50\t1\t1\n6\t60\t1\t1\n', 'tsv', ids);
    const test = load('6\t70\t1\t1\n5\t50\t1\t1\n', 'tsv', ids);
    expect([...idColumn(test, 'user')]).toEqual([1, 0]);
    expect([...idColumn(test, 'item')]).toEqual([2, 0]);
    expect(ids.sizes()).toEqual({ user: 2, item: 3 });
  });

  it('handles ids unseen in a saved map: add, drop or error', () => {
    const ids = new IdMaps();
    load('1\t1\t1\t1\n', 'tsv', ids);
    expect(load('1\t2\t1\t1\n1\t1\t2\t1\n', 'tsv', ids, { unknownIds: 'drop' }).size).toBe(1);
    expect(ids.get('item').size).toBe(1);
    expect(() => load('1\t9\t1\t1\n', 'tsv', ids, { unknownIds: 'error', displayPath: 'data/u.data' })).toThrow(
      `data/u.data:1:3: expected a known item id in column 'item', found "9" (not in the id map)`,
    );
  });

  it('filters a relation by a per-tuple predicate, keeping order and id maps', () => {
    const r = load('1\t1\t5\t1\n2\t1\t3\t2\n3\t2\t4\t3\n');
    const rating = valueColumn(r, 'rating');
    const likes = filterRelation(r, (t) => rating[t] >= 4, 'likes');
    expect(likes.name).toBe('likes');
    expect(likes.size).toBe(2);
    expect([...idColumn(likes, 'user')]).toEqual([0, 2]);
    expect([...valueColumn(likes, 'time')]).toEqual([1, 3]);
  });
});

describe('loadRelation: errors name file:line:col', () => {
  it('a bad number', () => {
    expect(errorOf('1\t2\t3\t4\n196\t242\tx\t881250949\n')).toBe(`data/u.data:2:9: expected a number in column 'rating', found "x"`);
  });
  it('a non-integer in an int column', () => {
    expect(errorOf('1\t2\t3\t4\n1\t2\t3\t4.5\n')).toBe(`data/u.data:2:7: expected an integer in column 'time', found "4.5"`);
  });
  it('too few columns (points past the last field)', () => {
    expect(errorOf('1\t2\t3\t4\n1\t2\t3\n')).toBe(`data/u.data:2:6: expected 4 columns (user, item, rating, time), found 3`);
  });
  it('too many columns (points at the first extra field)', () => {
    expect(errorOf('1,2,3,4\n1,2,3,4,5\n', 'csv')).toBe(`data/u.data:2:9: expected 4 columns (user, item, rating, time), found 5`);
  });
  it('line numbers count blank lines and quoted newlines', () => {
    expect(errorOf('1,"a\nb",3,4\n\n1,2,z,4\n', 'csv')).toBe(`data/u.data:4:5: expected a number in column 'rating', found "z"`);
  });
  it('an empty file, and a header without rows', () => {
    expect(errorOf('\n  \n')).toBe(`data/u.data: empty file; expected rows of (user, item, rating, time)`);
    expect(errorOf('user\titem\trating\ttime\n')).toBe(`data/u.data: no data rows after the header line; expected rows of (user, item, rating, time)`);
  });
  it('a missing file, with a hint', () => {
    let msg = '';
    try {
      loadRelation(ratingsInfo(), '/nonexistent/ml-100k/u.data', new IdMaps(), { hint: 'paths resolve against the .recmodel folder' });
    } catch (e) {
      expect(e).toBeInstanceOf(DataError);
      msg = (e as DataError).message;
    }
    expect(msg).toBe(
      `/nonexistent/ml-100k/u.data: file not found (looked for /nonexistent/ml-100k/u.data); check the path in the 'data ... from' declaration; paths resolve against the .recmodel folder`,
    );
  });
  it('an unterminated quote', () => {
    expect(errorOf('1,2,"3,4\n', 'csv')).toBe(`data/u.data:1:5: expected a closing '"' for the quoted field opened here, found end of file`);
  });
  it('a header that names some declared columns but not all (never read by position)', () => {
    const partial = `expected a header naming every declared column (user, item, rating, time), found (userId, movieId, rating, timestamp); missing 'user', 'item', 'time'; rename the header fields or the declared columns so that all match (columns are then read by name), or remove the header`;
    expect(errorOf('userId,movieId,rating,timestamp\n1,31,2.5,1260759144\n', 'csv')).toBe(`data/u.data:1:1: ${partial}`);
    expect(errorOf('a,b,rating\n1,2,3\n', 'csv')).toMatch(/^data\/u\.data:1:1: expected a header naming every declared column .*missing 'user', 'item', 'time'/);
  });
  it('a header naming no declared column, with the wrong number of fields', () => {
    expect(errorOf('a,b,c\n1,2,3\n', 'csv')).toBe(
      `data/u.data:1:1: expected a header naming columns (user, item, rating, time) or 4 columns by position, found (a, b, c); missing 'user', 'item', 'rating', 'time'`,
    );
  });
  it('a first row with one bad number is a data error, not a header skipped', () => {
    expect(errorOf('196\t242\tx\t881250949\n1\t2\t3\t4\n')).toBe(`data/u.data:1:9: expected a number in column 'rating', found "x"`);
  });
  it('a number beyond the float64 range', () => {
    expect(errorOf('1\t2\t3\t4\n1\t2\t1e400\t4\n')).toBe(`data/u.data:2:5: expected a finite number in column 'rating', found "1e400", which is beyond the float64 range (±1.8e308)`);
    expect(errorOf('1,2,3,-1e999\n', 'csv')).toMatch(/^data\/u\.data:1:7: expected a finite number in column 'time'/);
  });
  it('bytes that are not UTF-8, at their line and column', () => {
    const path = tempFile('latin1.tsv', '');
    writeFileSync(path, Buffer.concat([Buffer.from('1\t2\t3\t4\nJos'), Buffer.from([0xe9]), Buffer.from('\t2\t3\t4\n')]));
    const info = relationInfo('ratings', { user: 'string', item: 'domain:item', rating: 'float', time: 'int' });
    expect(() => loadRelation(info, path, new IdMaps(), { format: 'tsv', displayPath: 'u.tsv' })).toThrow(
      'u.tsv:2:4: expected UTF-8 text, found the bytes e9 09 32 09, which are not valid UTF-8; save the file as UTF-8 (e.g. `iconv -f latin1 -t utf-8`)',
    );
    // a truncated 3-byte sequence, and a surrogate encoded in UTF-8 (ED A0 80), after a multi-byte character
    writeFileSync(path, Buffer.concat([Buffer.from('é\t2\t3\t4\r\nab'), Buffer.from([0xed, 0xa0, 0x80])]));
    expect(() => loadRelation(info, path, new IdMaps(), { format: 'tsv', displayPath: 'u.tsv' })).toThrow(/^u\.tsv:2:3: expected UTF-8 text, found the bytes ed a0 80/);
  });
  it('a byte order mark, and CR-only and CRLF line ends, number lines as LF does', () => {
    for (const eol of ['\n', '\r\n', '\r']) {
      const body = ['1\t2\t3\t4', '5\t6\t7\t8', '9\t10\t11\t12'].join(eol) + eol;
      const r = load('\ufeff' + body);
      expect(r.size).toBe(3);
      expect([...valueColumn(r, 'rating')]).toEqual([3, 7, 11]);
      expect(errorOf('\ufeff' + body + `1\t2\tz\t4${eol}`)).toBe(`data/u.data:4:5: expected a number in column 'rating', found "z"`);
      expect(errorOf(`1,"a${eol}b",3,4${eol}${eol}1,2,z,4${eol}`, 'csv')).toBe(`data/u.data:4:5: expected a number in column 'rating', found "z"`);
    }
  });
});

describe('parseNumber', () => {
  it('agrees with Number on decimal strings', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (x) => {
        const s = String(x);
        expect(parseNumber(s, 0, s.length)).toBe(Number(s));
      }),
    );
    for (const s of ['0', '-0.5', '+3', '3.', '.25', '1e-3', '123456789012345678', '4.000000000000001', '0.1', '2.675']) {
      expect(parseNumber(s, 0, s.length)).toBe(Number(s));
    }
  });
  it('rejects what is not a decimal number', () => {
    for (const s of ['', 'x', '0x10', 'Infinity', 'NaN', '1.2.3', '-', '.', '1e', '1,5']) expect(parseNumber(s, 0, s.length)).toBeNaN();
  });
});

describe('loadRelation: a large file', () => {
  // how fast it loads is a benchmark (npm run bench:load, target < 2 s), not a test
  it('loads an ML-1M-size ratings.dat (1,000,209 lines): every line, every user and item', () => {
    const d = syntheticMl1m();
    const lines: string[] = new Array<string>(d.users.length);
    for (let t = 0; t < d.users.length; t++) lines[t] = `${d.users[t] + 1}::${d.items[t] + 1}::${d.ratings[t]}::${d.times[t]}`;
    const path = tempFile('ratings.dat', '');
    writeFileSync(path, lines.join('\n') + '\n');
    const ids = new IdMaps();
    const r = loadRelation(ratingsInfo('movielens'), path, ids);
    expect(r.size).toBe(1000209);
    expect(ids.sizes()).toEqual({ user: 6040, item: 3706 });
    const last = r.size - 1;
    expect(ids.get('user').external(idColumn(r, 'user')[last]!)).toBe(String(d.users[last]! + 1));
    expect(valueColumn(r, 'rating')[last]).toBe(d.ratings[last]);
  });
});

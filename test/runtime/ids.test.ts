import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { IdMap, IdMaps } from '../../runtime/data/ids.ts';

describe('IdMaps', () => {
  it('assigns dense ids in first-seen order and inverts them', () => {
    const m = new IdMap('user');
    expect(['b', 'a', 'b', 'c'].map((x) => m.intern(x))).toEqual([0, 1, 0, 2]);
    expect(m.size).toBe(3);
    expect(m.external(1)).toBe('a');
    expect(m.get('z')).toBeUndefined();
    expect(() => m.external(3)).toThrow(RangeError);
  });

  it('saves ids/<domain>.json as an array of external ids and loads it back', () => {
    const maps = new IdMaps();
    ['u9', 'u1'].forEach((x) => maps.get('user').intern(x));
    ['i1'].forEach((x) => maps.get('item').intern(x));
    const dir = join(mkdtempSync(join(tmpdir(), 'recc-ids-')), 'ids');
    maps.save(dir);
    expect(JSON.parse(readFileSync(join(dir, 'user.json'), 'utf8'))).toEqual(['u9', 'u1']);
    const back = IdMaps.load(dir);
    expect(back.domains()).toEqual(['item', 'user']);
    expect(back.get('user').get('u1')).toBe(1);
    expect(back.sizes()).toEqual({ item: 1, user: 2 });
    expect(() => new IdMap('user', ['a', 'a'])).toThrow(/duplicate/);
  });
});

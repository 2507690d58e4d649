// `recc export RUN --kv DIR`: the SQLite store holds every user's vector (the row of the serving
// factors X) and seen item rows; items.npy and the id maps complete it. Python's standard library
// alone (sqlite3, struct) reads it and ranks the same top-5 as `recc recommend` (the Python part is
// skipped, with the reason printed, without /usr/bin/python3). Re-exporting replaces an earlier
// export; a folder holding anything else is refused.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type BetterSqlite3 from 'better-sqlite3';
import { readNpy } from '../../runtime/output/npy.ts';
import { recc } from '../helpers/cli.ts';
import { trainTinyRun } from './tiny-run.ts';

const root = mkdtempSync(join(tmpdir(), 'recc-kv-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let RUN = '';
const KV = join(root, 'kv');
const PYTHON = '/usr/bin/python3';

beforeAll(() => {
  RUN = trainTinyRun(root);
  const r = recc('export', RUN, '--kv', KV);
  expect(r.code, r.stderr).toBe(0);
});

describe('recc export --kv', () => {
  it('stores each user vector and seen rows in SQLite, keyed by external id', () => {
    const Database = createRequire(import.meta.url)('better-sqlite3') as typeof BetterSqlite3;
    const db = new Database(join(KV, 'users.sqlite'), { readonly: true });
    const X = readNpy(join(RUN, 'serving', 'user-factors.npy'));
    const users = JSON.parse(readFileSync(join(KV, 'user_ids.json'), 'utf8')) as string[];
    expect(users).toEqual(JSON.parse(readFileSync(join(RUN, 'ids', 'user.json'), 'utf8')));
    const w = X.shape[1]!;
    const rows = db.prepare('SELECT id, row, vector, seen FROM user_vectors').all() as { id: string; row: number; vector: Buffer; seen: Buffer }[];
    expect(rows.length).toBe(12);
    for (const r of rows) {
      expect(users[r.row]).toBe(r.id);
      const v = new Float32Array(r.vector.buffer.slice(r.vector.byteOffset, r.vector.byteOffset + r.vector.byteLength));
      expect([...v]).toEqual([...(X.data as Float32Array).subarray(r.row * w, r.row * w + w)]);
      expect(r.seen.byteLength).toBe(5 * 4);
    }
    expect((db.prepare("SELECT value FROM meta WHERE key = 'width'").get() as { value: string }).value).toBe(String(w));
    db.close();
    expect(readNpy(join(KV, 'items.npy')).shape).toEqual([15, w]);
  });

  it.skipIf(!existsSync(PYTHON))('Python reads it with the standard library and ranks as recc recommend does', () => {
    const script = `
import sqlite3, struct, json, sys
kv = sys.argv[1]
db = sqlite3.connect(f"file:{kv}/users.sqlite?mode=ro", uri=True)
vec, seen = db.execute("SELECT vector, seen FROM user_vectors WHERE id = ?", ("u3",)).fetchone()
w = len(vec) // 4
u = struct.unpack(f"<{w}f", vec)
seen = set(struct.unpack(f"<{len(seen) // 4}i", seen))
items = json.load(open(f"{kv}/item_ids.json"))
raw = open(f"{kv}/items.npy", "rb").read()
hlen = struct.unpack("<H", raw[8:10])[0]
Y = struct.unpack(f"<{len(items) * w}f", raw[10 + hlen:])
scores = [(sum(u[c] * Y[i * w + c] for c in range(w)), -i) for i in range(len(items)) if i not in seen]
print(json.dumps([items[-j] for _, j in sorted(scores, reverse=True)[:5]]))
`;
    const py = spawnSync(PYTHON, ['-c', script, KV], { encoding: 'utf8' });
    expect(py.status, py.stderr).toBe(0);
    const ours = recc('recommend', RUN, '--user', 'u3', '--top', '5').stdout.trim().split('\n').slice(1).map((l) => l.trim().split(/\s+/)[1]);
    expect(JSON.parse(py.stdout)).toEqual(ours);
  });

  it('replaces an earlier export, and refuses a folder that holds anything else', () => {
    expect(recc('export', RUN, '--kv', KV).code).toBe(0);
    const other = join(root, 'other');
    mkdirSync(other);
    writeFileSync(join(other, 'notes.txt'), 'mine');
    const r = recc('export', RUN, '--kv', other);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/is not an earlier `recc export --kv` folder/);
    expect(readFileSync(join(other, 'notes.txt'), 'utf8')).toBe('mine');
    expect(recc('export', RUN, '--kv', join(root, 'kv2'), '--check').code).toBe(2); // --check belongs to --target torch
  });
});

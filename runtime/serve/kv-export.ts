// kv-export: a run folder's serving factors for other programs (`recc export RUN --kv DIR`):
//   DIR/users.sqlite   SQLite, table user_vectors(id TEXT PRIMARY KEY, row INTEGER, vector BLOB, seen BLOB):
//                      vector = the user's row of X as little-endian float32, seen = the item rows the
//                      user has in training as little-endian int32 (to leave out); table meta(key, value)
//   DIR/items.npy      Y, float32 |item| × width: score(u, i) = vector(u) · items[i]
//   DIR/item_ids.json  the external id of each row of items.npy; DIR/user_ids.json likewise
//   DIR/manifest.json  domains, sizes, width, the score's terms, the geometry columns
// SQLite because every language reads it without a server, Python with its standard library alone,
// and one file is easy to ship and inspect (docs/serving.md). The folder is written beside DIR and
// renamed into place, so a reader never sees half an export.
import { createRequire } from 'node:module';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { f32, writeNpy } from '../output/npy.ts';
import { RecommendError, type ServingModel } from './serving-model.ts';

export const KV_KIND = 'recc-kv-export';
export const KV_VERSION = 1;

export interface KvManifest {
  readonly kind: typeof KV_KIND;
  readonly version: number;
  readonly model: string;
  readonly userDomain: string;
  readonly itemDomain: string;
  readonly users: number;
  readonly items: number;
  readonly width: number;
  readonly interactionWidth: number;
  readonly score: string;
  readonly terms: ServingModel['meta']['terms'];
  readonly files: Readonly<Record<string, string>>;
}

/** better-sqlite3, loaded on first use (a native module: commands that export nothing never load it). */
function sqlite(): typeof BetterSqlite3 {
  return createRequire(import.meta.url)('better-sqlite3') as typeof BetterSqlite3;
}

const le = (a: Float32Array | Int32Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

/** Writes the export into `dir` (replacing an earlier export there, never anything else). */
export function exportKv(m: ServingModel, dir: string): KvManifest {
  if (m.neighbours) throw new RecommendError(`${m.meta.model} is a neighbour model (ItemCF): it has no user vectors to store; its table is ${m.dir}/serving/neighbour-items.npy and neighbour-weights.npy`);
  if (existsSync(dir)) {
    const entries = readdirSync(dir);
    const earlier = entries.includes('manifest.json') && (JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { kind?: string }).kind === KV_KIND;
    if (entries.length > 0 && !earlier) throw new RecommendError(`${dir} exists and is not an earlier \`recc export --kv\` folder; choose a new or empty folder`);
  }
  const tmp = join(dirname(dir), `.${basename(dir)}.tmp-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const w = m.width;
  const Database = sqlite();
  const db: BetterSqlite3.Database = new Database(join(tmp, 'users.sqlite'));
  try {
    db.pragma('journal_mode = DELETE');
    db.exec('CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);' + 'CREATE TABLE user_vectors (id TEXT PRIMARY KEY, row INTEGER NOT NULL, vector BLOB NOT NULL, seen BLOB NOT NULL);');
    const put = db.prepare('INSERT INTO user_vectors (id, row, vector, seen) VALUES (?, ?, ?, ?)');
    const meta = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)');
    db.transaction(() => {
      for (let r = 0; r < m.users.size; r++) {
        const seen = m.seenItems.subarray(m.seenOffsets[r]!, m.seenOffsets[r + 1]!);
        put.run(m.users.external(r), r, le(m.X.slice(r * w, r * w + w)), le(Int32Array.from(seen)));
      }
      for (const [k, v] of Object.entries({ model: m.meta.model, width: w, dtype: 'float32 little-endian', seen_dtype: 'int32 little-endian (rows of items.npy)', user_domain: m.meta.userDomain, item_domain: m.meta.itemDomain })) meta.run(k, String(v));
    })();
  } finally {
    db.close();
  }
  writeNpy(join(tmp, 'items.npy'), f32([m.items.size, w], m.Y));
  writeFileSync(join(tmp, 'item_ids.json'), JSON.stringify(Array.from({ length: m.items.size }, (_, r) => m.items.external(r))) + '\n');
  writeFileSync(join(tmp, 'user_ids.json'), JSON.stringify(Array.from({ length: m.users.size }, (_, r) => m.users.external(r))) + '\n');
  const manifest: KvManifest = {
    kind: KV_KIND,
    version: KV_VERSION,
    model: m.meta.model,
    userDomain: m.meta.userDomain,
    itemDomain: m.meta.itemDomain,
    users: m.users.size,
    items: m.items.size,
    width: w,
    interactionWidth: m.meta.interactionWidth,
    score: 'score(u, i) = vector(u) · items[i]; columns [0, interactionWidth) are the geometry (similar items, ANN)',
    terms: m.meta.terms,
    files: {
      'users.sqlite': 'user_vectors(id, row, vector float32 LE × width, seen int32 LE item rows); meta(key, value)',
      'items.npy': 'float32 items × width',
      'item_ids.json': 'external id of each row of items.npy',
      'user_ids.json': 'external id of each user row',
    },
  };
  writeFileSync(join(tmp, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  if (existsSync(dir)) rmSync(dir, { recursive: true });
  renameSync(tmp, dir);
  return manifest;
}

// recommend: top-K unseen items for one user, a list, or every user, from a run folder's serving
// files alone (serving-model.ts), as text lines or written to a CSV / JSON Lines file (one row per
// user × rank: user,rank,item,score[,title]; one JSON object per user). Files are written to a temp
// sibling and renamed, so a reader never sees half a file.
import { closeSync, openSync, renameSync, writeSync } from 'node:fs';
import { recommendRows, type TopKResult } from './top-k.ts';
import type { AnnIndex } from './ann.ts';
import { RecommendError, userRow, type ServingModel } from './serving-model.ts';

export const OUTPUT_FORMATS = ['csv', 'jsonl'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export interface Recommendations {
  /** external user ids, in the order of `result`'s rows */
  readonly users: readonly string[];
  readonly result: TopKResult;
}

/** Top-K for the given external user ids (every user when `users` is undefined). */
export function recommendUsers(m: ServingModel, users: readonly string[] | undefined, k: number, includeSeen = false): Recommendations {
  const ids = users ?? Array.from({ length: m.users.size }, (_, r) => m.users.external(r));
  const rows = users ? Int32Array.from(users, (u) => userRow(m, u)) : Int32Array.from({ length: m.users.size }, (_, r) => r);
  return { users: ids, result: recommendRows(m, rows, k, includeSeen) };
}

/** Top-K from the HNSW index (approximate candidates, exact scores), in the layout of recommendUsers. */
export function recommendUsersAnn(m: ServingModel, ann: AnnIndex, users: readonly string[] | undefined, k: number, includeSeen = false): Recommendations {
  const ids = users ?? Array.from({ length: m.users.size }, (_, r) => m.users.external(r));
  const items = new Int32Array(ids.length * k).fill(-1);
  const scores = new Float64Array(ids.length * k).fill(Number.NaN);
  const excluded = new Int32Array(ids.length);
  ids.forEach((user, j) => {
    const u = userRow(m, user);
    const hits = ann.recommend(m, u, k, includeSeen);
    items.set(hits.items, j * k);
    scores.set(hits.scores, j * k);
    excluded[j] = includeSeen ? 0 : m.seenOffsets[u + 1]! - m.seenOffsets[u]!;
  });
  return { users: ids, result: { k, items, scores, excluded } };
}

/** Each user's list as the text `recc recommend` prints: a header line, then `rank. item score  title`. */
export function formatText(m: ServingModel, recs: Recommendations, titles?: ReadonlyMap<string, string>): string[] {
  const out: string[] = [];
  const { k, items, scores, excluded } = recs.result;
  recs.users.forEach((user, j) => {
    const n = countOf(items, j, k);
    out.push(`top ${n} for ${m.meta.userDomain} ${user} (excluding ${excluded[j]} seen ${m.meta.itemDomain}s):`);
    for (let r = 0; r < n; r++) {
      const id = m.items.external(items[j * k + r]!);
      const title = titles?.get(id);
      out.push(`${String(r + 1).padStart(3)}. ${id.padEnd(8)} ${scores[j * k + r]!.toFixed(4)}${title !== undefined ? `  ${title}` : ''}`);
    }
  });
  return out;
}

function countOf(items: Int32Array, j: number, k: number): number {
  let n = 0;
  while (n < k && items[j * k + n]! >= 0) n++;
  return n;
}

const csvField = (s: string): string => (/[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

/** Writes the recommendations to `path` (csv or jsonl); returns the number of rows written. */
export function writeRecommendations(path: string, format: OutputFormat, m: ServingModel, recs: Recommendations, titles?: ReadonlyMap<string, string>): number {
  const tmp = `${path}.tmp-${process.pid}`;
  let fd: number;
  try {
    fd = openSync(tmp, 'w');
  } catch (err) {
    throw new RecommendError(`cannot write ${path}: ${(err as Error).message}`);
  }
  let buf = '';
  let rows = 0;
  const flush = (force: boolean): void => {
    if (buf.length > (force ? 0 : 1 << 20)) {
      writeSync(fd, buf);
      buf = '';
    }
  };
  const { k, items, scores } = recs.result;
  try {
    if (format === 'csv') buf += `${m.meta.userDomain},rank,${m.meta.itemDomain},score${titles ? ',title' : ''}\n`;
    recs.users.forEach((user, j) => {
      const n = countOf(items, j, k);
      if (format === 'csv') {
        for (let r = 0; r < n; r++) {
          const id = m.items.external(items[j * k + r]!);
          buf += `${csvField(user)},${r + 1},${csvField(id)},${scores[j * k + r]}${titles ? `,${csvField(titles.get(id) ?? '')}` : ''}\n`;
          rows++;
        }
      } else {
        const list = Array.from({ length: n }, (_, r) => {
          const id = m.items.external(items[j * k + r]!);
          return titles ? { item: id, score: scores[j * k + r]!, title: titles.get(id) ?? null } : { item: id, score: scores[j * k + r]! };
        });
        buf += JSON.stringify({ user, items: list }) + '\n';
        rows++;
      }
      flush(false);
    });
    flush(true);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  return rows;
}

// serve: top-K recommendation from a run folder. Given the run's model compiled (the caller compiles
// `readRun(dir).modelPath` with its --set values; nothing here compiles), reloads its params
// (params/*.npy with ids/*.json) and its training data (to exclude what the user has seen), scores
// every item with the compiled `def score(user, item)`, and answers item ids — with titles when an
// item file (MovieLens u.item: `id|title|…`) is given.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Compiled } from '../../compiler/compile.ts';
import { ReferenceBackend } from '../exec/backend.ts';
import type { Relation } from '../data/load.ts';
import { loadDataset } from '../data/dataset.ts';
import { scoreBlock } from '../eval/evaluate.ts';
import { topK, userItems } from '../eval/metrics.ts';
import { readParams } from '../output/run-folder.ts';

export class RecommendError extends Error {
  override readonly name = 'RecommendError';
}

interface RunInfo {
  readonly model: string;
  readonly sets: Record<string, number>;
  readonly data: string | null;
  readonly test: string | null;
  readonly baseDir: string | null;
}

export function readTitles(path: string): Map<string, string> {
  if (!existsSync(path)) throw new RecommendError(`no such item file: ${path}`);
  const titles = new Map<string, string>();
  const text = readFileSync(path, 'latin1');
  let line = 0;
  for (const row of text.split('\n')) {
    line++;
    if (!row.trim()) continue;
    const f = row.split('|');
    if (f.length < 2) throw new RecommendError(`${path}:${line}:1: expected \`id|title|…\` (MovieLens u.item layout)`);
    titles.set(f[0]!, f[1]!);
  }
  return titles;
}

/** A run folder's record (run.json) and the model file it keeps, with the --set values to compile it with. */
export function readRun(dir: string): { readonly run: RunInfo; readonly modelPath: string; readonly sets: ReadonlyMap<string, number> } {
  const runPath = join(dir, 'run.json');
  if (!existsSync(runPath)) throw new RecommendError(`${dir} is not a run folder (no run.json); train one with \`recc run MODEL --out ${dir}\``);
  const run = JSON.parse(readFileSync(runPath, 'utf8')) as RunInfo;
  return { run, modelPath: join(dir, 'model.recmodel'), sets: new Map(Object.entries(run.sets)) };
}

/** Lines of output: rank, item id, score (and title). `compiled`: the run's model (see readRun). */
export function recommend(compiled: Compiled, dir: string, user: string, k: number, itemsFile?: string): string[] {
  const { run } = readRun(dir);
  // relative data paths resolve where the run's model file was (run.json of older runs lacks baseDir)
  const ds = loadDataset(compiled.model, { data: run.data ?? undefined, test: run.test ?? undefined, baseDir: run.baseDir ?? dirname(run.model) });
  const def = compiled.model.defs.get('score');
  if (!def || def.params.length !== 2) throw new RecommendError('recommendation needs `def score(user, item)` in the model');
  const form = compiled.score?.pairs;
  if (!form || form.kind === 'unavailable') throw new RecommendError(`recommendation needs \`def score(user, item)\`: ${form?.reason ?? 'the model has no data relation'}`);
  const trainRel = ds.train.get(ds.primary)!;
  const [ucol, icol] = form.cols;
  const [udom, idom] = form.domains;
  const u = ds.ids.get(udom).get(user);
  if (u === undefined) throw new RecommendError(`user ${JSON.stringify(user)} is not in the training data`);
  const { params, notes } = readParams(dir, compiled, ds);
  if (notes.length) throw new RecommendError(`the run's params do not match its data: ${notes.join('; ')}`);
  const scores = scoreBlock(compiled, ds, params, new ReferenceBackend(), u, u + 1);
  const nItems = ds.ids.get(idom).size;
  // seen: the user's items in every training-side relation over these two domains — the primary's
  // training tuples and what it derives from (for `likes = ratings where rating >= 4`, every rated item,
  // not only the liked ones: a movie rated 3 has been seen, and must not be recommended again)
  const excluded = new Int32Array(nItems);
  const pairs: [Relation, string, string][] = [[trainRel, ucol, icol]];
  for (const rel of ds.train.values()) {
    const uc = rel.columns.find((c) => c.type.kind === 'domain' && c.type.domain === udom);
    const ic = rel.columns.find((c) => c.type.kind === 'domain' && c.type.domain === idom);
    if (rel !== trainRel && uc && ic && uc !== ic) pairs.push([rel, uc.name, ic.name]);
  }
  for (const [rel, uc, ic] of pairs) {
    const seen = userItems(rel.ids.get(uc)!, rel.ids.get(ic)!, ds.ids.get(udom).size);
    for (let j = seen.offsets[u]!; j < seen.offsets[u + 1]!; j++) excluded[seen.items[j]!] = 1;
  }
  const nSeen = excluded.reduce((a, x) => a + x, 0);
  const best = topK(scores, Math.min(k, nItems), excluded, 1);
  const titles = itemsFile ? readTitles(itemsFile) : undefined;
  const out = [`top ${best.length} for ${udom} ${user} (excluding ${nSeen} seen ${idom}s):`];
  best.forEach((i, rank) => {
    const id = ds.ids.get(idom).external(i);
    out.push(`${String(rank + 1).padStart(3)}. ${id.padEnd(8)} ${scores[i]!.toFixed(4)}${titles?.has(id) ? `  ${titles.get(id)}` : ''}`);
  });
  return out;
}

// Derives a libsvm click file from MovieLens 100K: `npx tsx examples/data/make-ml100k-libsvm.ts OUT.libsvm [ML100K_DIR]`.
// The data's licence forbids redistribution, so OUT must lie outside this repository (the script
// refuses paths inside it) and nothing derived is committed. ML100K_DIR defaults to the shared data
// folder (runtime/data-paths.ts: $RECC_DATA_DIR/ml-100k or ../shared/data/ml-100k).
// One row per rating of u.data, in file order: `label u<user> i<item> g<Genre> …` where label = 1 if
// rating ≥ 4 else 0, and every feature has value 1 (written without ':1'): the user, the item and each
// genre flagged in u.item (u.genre names, e.g. gSci-Fi). Feature domain ≤ 943 + 1682 + 19.
import { readFileSync, writeFileSync } from 'node:fs';
import { join, relative, resolve, isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ml100kDir, missingDataReason, repoRoot } from '../../runtime/data/data-paths.ts';

export interface Ml100kLibsvm {
  readonly text: string;
  readonly rows: number;
  readonly positives: number;
  /** distinct feature ids written */
  readonly features: number;
}

/** The libsvm text of ML-100K folder `dir` (u.data, u.item, u.genre). */
export function ml100kLibsvm(dir: string): Ml100kLibsvm {
  const genres: string[] = [];
  for (const line of readFileSync(join(dir, 'u.genre'), 'latin1').split('\n')) {
    const [name, id] = line.trim().split('|');
    if (name && id !== undefined) genres[Number(id)] = `g${name.replace(/[\s:#]/g, '_')}`;
  }
  // u.item: id|title|date|video date|url|19 genre flags (latin1)
  const itemGenres = new Map<string, string>();
  for (const line of readFileSync(join(dir, 'u.item'), 'latin1').split('\n')) {
    if (line.trim() === '') continue;
    const f = line.split('|');
    const flags = f.slice(f.length - genres.length);
    itemGenres.set(f[0]!, flags.map((x, g) => (x.trim() === '1' ? ` ${genres[g]}` : '')).join(''));
  }
  const out: string[] = [];
  const seen = new Set<string>();
  let positives = 0;
  for (const line of readFileSync(join(dir, 'u.data'), 'latin1').split('\n')) {
    if (line.trim() === '') continue;
    const [user, item, rating] = line.split('\t');
    if (user === undefined || item === undefined || rating === undefined) throw new Error(`u.data: malformed line ${JSON.stringify(line)}`);
    const label = Number(rating) >= 4 ? 1 : 0;
    positives += label;
    const g = itemGenres.get(item) ?? '';
    out.push(`${label} u${user} i${item}${g}`);
    seen.add(`u${user}`);
    seen.add(`i${item}`);
    for (const x of g.split(' ')) if (x) seen.add(x);
  }
  return { text: out.join('\n') + '\n', rows: out.length, positives, features: seen.size };
}

function main(argv: readonly string[]): number {
  const [outArg, dirArg] = argv;
  if (outArg === undefined) {
    console.error('usage: npx tsx examples/data/make-ml100k-libsvm.ts OUT.libsvm [ML100K_DIR]  (OUT outside the repository)');
    return 2;
  }
  const out = resolve(outArg);
  const rel = relative(repoRoot(), out);
  if (!rel.startsWith('..') && !isAbsolute(rel)) {
    console.error(`refusing to write ${out}: it is inside the repository, and the MovieLens licence forbids redistributing derived data; write it elsewhere (e.g. /tmp)`);
    return 2;
  }
  const dir = dirArg ?? ml100kDir();
  if (dir === undefined) {
    console.error(missingDataReason());
    return 1;
  }
  const r = ml100kLibsvm(dir);
  writeFileSync(out, r.text);
  console.log(`wrote ${out}: ${r.rows} rows, ${r.features} features, ${(r.positives / r.rows).toFixed(3)} positive (rating ≥ 4)`);
  return 0;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) process.exitCode = main(process.argv.slice(2));

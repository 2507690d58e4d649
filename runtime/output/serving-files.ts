// serving-files: what serving needs, written into the run folder beside params/ and ids/, so that
// `recc recommend`, `recc similar`, `recc serve` and `recc export --kv` never read the model's
// training file (or compile the model) again:
//   serving/serving.json        the score definition: domains, sizes, and per term its width and its
//                               user and item sides (score(u, i) = X[u] · Y[i], see compiler/passes/score-factors.ts)
//   serving/user-factors.npy    X, float32 |user| × F: row r is user ids/<user>.json[r]
//   serving/item-factors.npy    Y, float32 |item| × F
//   serving/seen-offsets.npy    int32 |user|+1 ┐ CSR of the items each user has in training (every
//   serving/seen-items.npy      int32 nnz      ┘ training relation over both domains), sorted per user
// A model whose score has no such form (or whose factors are not finite) gets serving.json with the
// reason and the seen sets only; the serving commands then refuse the folder with that reason.
import { mkdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import type { Compiled } from '../../compiler/compile.ts';
import type { Idx } from '../../compiler/ir/nodes.ts';
import { printIR } from '../../compiler/ir/print.ts';
import type { Dataset } from '../data/dataset.ts';
import type { Relation } from '../data/load.ts';
import { ReferenceBackend, type Backend } from '../exec/backend.ts';
import { makeEnv, sizesFor } from '../exec/env.ts';
import { userItems, type UserItems } from '../eval/metrics.ts';
import { itemsKey } from '../eval/neighbour-scores.ts';
import { f32, i32, writeNpy, type NpyArray } from './npy.ts';
import { writeAtomic } from './run-folder.ts';
import { SERVING_VERSION, type ServingJson, type ServingTerm } from './serving-format.ts';

/** Writes serving/ into `dir` for a trained model; returns what serving.json says. */
export function writeServingFiles(dir: string, compiled: Compiled, ds: Dataset, params: ReadonlyMap<string, Float32Array>, backend: Backend = new ReferenceBackend()): ServingJson | undefined {
  const pairs = compiled.score?.pairs;
  const factors = compiled.score?.factors;
  if (!pairs || pairs.kind === 'unavailable' || !factors) return undefined;
  const sdir = join(dir, 'serving');
  mkdirSync(sdir, { recursive: true });
  const [udom, idom] = pairs.domains;
  const nUsers = ds.ids.get(udom).size;
  const nItems = ds.ids.get(idom).size;
  const seen = seenSets(ds, pairs.cols, pairs.domains);
  writeNpyAtomic(join(sdir, 'seen-offsets.npy'), i32([nUsers + 1], seen.sets.offsets));
  writeNpyAtomic(join(sdir, 'seen-items.npy'), i32([seen.sets.items.length], seen.sets.items));
  const walk = compiled.score?.neighbours;
  if (walk) {
    // ItemCF: the table and each user's walked items (the score's relation), instead of factors
    const weights = params.get(walk.table)!;
    const rows = params.get(itemsKey(walk.table))!;
    const top = weights.length / Math.max(1, nItems);
    writeNpyAtomic(join(sdir, 'neighbour-items.npy'), i32([nItems, top], Int32Array.from(rows)));
    writeNpyAtomic(join(sdir, 'neighbour-weights.npy'), f32([nItems, top], weights));
    const rel = ds.train.get(walk.relation)!;
    const walked = userItems(rel.ids.get(walk.userColumn)!, rel.ids.get(walk.itemColumn)!, nUsers);
    writeNpyAtomic(join(sdir, 'walk-offsets.npy'), i32([nUsers + 1], walked.offsets));
    writeNpyAtomic(join(sdir, 'walk-items.npy'), i32([walked.items.length], walked.items));
  }
  const terms: ServingTerm[] = [];
  let width = 0;
  let interactionWidth = 0;
  let notFinite: string | undefined;
  if (factors.kind === 'factors') {
    const sizes = sizesFor(compiled, ds, ds.train, ds.train);
    const env = makeEnv(compiled, sizes, params, ds.train);
    const sides: { x: ArrayLike<number>; y: ArrayLike<number>; width: number }[] = [];
    for (const t of factors.terms) {
      const w = t.over.reduce((a, k) => a * sizes.get(k.space)!, 1);
      const out = (id: Idx): Idx[] => [id, ...t.over];
      sides.push({ x: backend.tensor(t.user, out(factors.u), env), y: backend.tensor(t.item, out(factors.i), env), width: w });
      terms.push({ start: width, width: w, interaction: t.interaction, user: printIR(t.user), item: printIR(t.item) });
      width += w;
      if (t.interaction) interactionWidth = width;
    }
    const X = new Float32Array(nUsers * width);
    const Y = new Float32Array(nItems * width);
    let col = 0;
    for (const s of sides) {
      for (let r = 0; r < nUsers; r++) for (let c = 0; c < s.width; c++) X[r * width + col + c] = s.x[r * s.width + c]!;
      for (let r = 0; r < nItems; r++) for (let c = 0; c < s.width; c++) Y[r * width + col + c] = s.y[r * s.width + c]!;
      col += s.width;
    }
    if (X.every(Number.isFinite) && Y.every(Number.isFinite)) {
      writeNpyAtomic(join(sdir, 'user-factors.npy'), f32([nUsers, width], X));
      writeNpyAtomic(join(sdir, 'item-factors.npy'), f32([nItems, width], Y));
    } else notFinite = 'the factors computed from this run\'s params are not all finite (NaN or ±∞)';
  }
  const json: ServingJson = {
    version: SERVING_VERSION,
    model: compiled.model.name,
    userDomain: udom,
    itemDomain: idom,
    users: nUsers,
    items: nItems,
    width,
    interactionWidth,
    terms,
    factorsUnavailable: walk ? null : factors.kind === 'unavailable' ? factors.reason : (notFinite ?? null),
    seenFrom: seen.from,
    seenPairs: seen.sets.items.length,
    ...(walk ? { neighbours: { table: walk.table, relation: walk.relation, top: params.get(walk.table)!.length / Math.max(1, nItems), coef: walk.coef } } : {}),
  };
  writeAtomic(join(sdir, 'serving.json'), JSON.stringify(json, null, 2) + '\n');
  return json;
}

/**
 * The items each user has in training: the primary relation's training tuples and every other
 * training relation over the two domains (for `likes = ratings where rating >= 4`, every rated item,
 * not only the liked ones: a movie rated 3 has been seen, and must not be recommended again).
 * Duplicates are dropped and each user's items sorted.
 */
export function seenSets(ds: Dataset, cols: readonly [string, string], domains: readonly [string, string]): { sets: UserItems; from: string[] } {
  const [udom, idom] = domains;
  const nUsers = ds.ids.get(udom).size;
  const primary = ds.train.get(ds.primary)!;
  const pairs: [Relation, string, string][] = [[primary, cols[0], cols[1]]];
  for (const rel of ds.train.values()) {
    const uc = rel.columns.find((c) => c.type.kind === 'domain' && c.type.domain === udom);
    const ic = rel.columns.find((c) => c.type.kind === 'domain' && c.type.domain === idom);
    if (rel !== primary && uc && ic && uc !== ic) pairs.push([rel, uc.name, ic.name]);
  }
  // typed arrays throughout: ML-100K's 80,000 pairs as JS number arrays (and a Set per user) cost a run
  // 4 MB of peak RSS at the very end (bench/e2e)
  const us = new Int32Array(pairs.reduce((n, [rel]) => n + rel.size, 0));
  const is = new Int32Array(us.length);
  let at = 0;
  for (const [rel, uc, ic] of pairs) {
    us.set(rel.ids.get(uc)!.subarray(0, rel.size), at);
    is.set(rel.ids.get(ic)!.subarray(0, rel.size), at);
    at += rel.size;
  }
  const raw = userItems(us, is, nUsers);
  const offsets = new Int32Array(nUsers + 1);
  const items = new Int32Array(raw.items.length);
  let n = 0;
  for (let u = 0; u < nUsers; u++) {
    const row = raw.items.subarray(raw.offsets[u]!, raw.offsets[u + 1]!).sort();
    for (let k = 0; k < row.length; k++) if (k === 0 || row[k] !== row[k - 1]) items[n++] = row[k]!;
    offsets[u + 1] = n;
  }
  return { sets: { offsets, items: items.slice(0, n) }, from: pairs.map(([r]) => r.name) };
}

function writeNpyAtomic(path: string, a: NpyArray): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeNpy(tmp, a);
  renameSync(tmp, path);
}

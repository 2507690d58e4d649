// serving-model: a run folder's serving files (runtime/output/serving-files.ts) and id maps, loaded
// once: everything recommend, similar, serve and export read. Reads nothing outside the folder.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { IdMap } from '../data/ids.ts';
import { readNpy } from '../output/npy.ts';
import { SERVING_VERSION, type ServingJson } from '../output/serving-format.ts';
import type { NeighbourScorer } from '../eval/neighbour-scores.ts';

/** A run folder cannot answer (missing files, an unknown id, a score without factors): the user's to fix. */
export class RecommendError extends Error {
  override readonly name = 'RecommendError';
}

export interface ServingModel {
  readonly dir: string;
  readonly meta: ServingJson;
  readonly users: IdMap;
  readonly items: IdMap;
  /** X, |user| × width, and Y, |item| × width, row-major: score(u, i) = X[u] · Y[i] */
  readonly X: Float32Array;
  readonly Y: Float32Array;
  readonly width: number;
  /** CSR of each user's training items, sorted */
  readonly seenOffsets: Int32Array;
  readonly seenItems: Int32Array;
  /** an ItemCF run (serving.json `neighbours`): the score walks the table instead of X · Y */
  readonly neighbours?: NeighbourScorer;
}

export function loadServingModel(dir: string): ServingModel {
  const sdir = join(dir, 'serving');
  const metaPath = join(sdir, 'serving.json');
  if (!existsSync(join(dir, 'run.json')) && !existsSync(metaPath)) throw new RecommendError(`${dir} is not a run folder (no run.json); train one with \`recc run MODEL --out ${dir}\``);
  if (!existsSync(metaPath)) throw new RecommendError(`${dir} has no serving/serving.json (written by \`recc run\` since serving files exist, or the model has no \`def score(user, item)\`); re-run \`recc run\` to write it`);
  const meta = JSON.parse(readFileSync(metaPath, 'utf8')) as ServingJson;
  if (meta.version !== SERVING_VERSION) throw new RecommendError(`${metaPath}: serving files of version ${meta.version}, this recc reads version ${SERVING_VERSION}; re-run \`recc run\``);
  if (meta.factorsUnavailable !== null) throw new RecommendError(`${dir} cannot be served: ${meta.factorsUnavailable}`);
  const ids = (domain: string): IdMap => {
    const p = join(dir, 'ids', `${domain}.json`);
    if (!existsSync(p)) throw new RecommendError(`${dir} has no ids/${domain}.json`);
    return new IdMap(domain, JSON.parse(readFileSync(p, 'utf8')) as string[]);
  };
  const users = ids(meta.userDomain);
  const items = ids(meta.itemDomain);
  const nb = meta.neighbours;
  const X = nb ? { shape: [users.size, 0], data: new Float32Array(0) } : readNpy(join(sdir, 'user-factors.npy'));
  const Y = nb ? { shape: [items.size, 0], data: new Float32Array(0) } : readNpy(join(sdir, 'item-factors.npy'));
  const off = readNpy(join(sdir, 'seen-offsets.npy'));
  const seen = readNpy(join(sdir, 'seen-items.npy'));
  const check = (ok: boolean, what: string): void => {
    if (!ok) throw new RecommendError(`${sdir}: ${what} does not match serving.json (${meta.users} users, ${meta.items} items, width ${meta.width}); re-run \`recc run\``);
  };
  let neighbours: NeighbourScorer | undefined;
  if (nb) {
    const rows = readNpy(join(sdir, 'neighbour-items.npy'));
    const weights = readNpy(join(sdir, 'neighbour-weights.npy'));
    const wOff = readNpy(join(sdir, 'walk-offsets.npy'));
    const walked = readNpy(join(sdir, 'walk-items.npy'));
    check(rows.shape.join() === `${items.size},${nb.top}` && weights.shape.join() === rows.shape.join(), 'neighbour-items.npy or neighbour-weights.npy');
    check(wOff.shape[0] === users.size + 1, 'walk-offsets.npy');
    neighbours = { offsets: wOff.data as Int32Array, walked: walked.data as Int32Array, top: nb.top, items: rows.data as Int32Array, weights: weights.data as Float32Array, coef: nb.coef };
  }
  check(X.shape.join() === `${users.size},${meta.width}` && users.size === meta.users, 'user-factors.npy');
  check(Y.shape.join() === `${items.size},${meta.width}` && items.size === meta.items, 'item-factors.npy');
  check(off.shape[0] === users.size + 1, 'seen-offsets.npy');
  return {
    dir,
    meta,
    users,
    items,
    X: X.data as Float32Array,
    Y: Y.data as Float32Array,
    width: meta.width,
    seenOffsets: off.data as Int32Array,
    seenItems: seen.data as Int32Array,
    ...(neighbours ? { neighbours } : {}),
  };
}

/** The dense row of an external user id, or a RecommendError naming it. */
export function userRow(m: ServingModel, user: string): number {
  const u = m.users.get(user);
  if (u === undefined) throw new RecommendError(`${m.meta.userDomain} ${JSON.stringify(user)} is not in the run's training data`);
  return u;
}

export function itemRow(m: ServingModel, item: string): number {
  const i = m.items.get(item);
  if (i === undefined) throw new RecommendError(`${m.meta.itemDomain} ${JSON.stringify(item)} is not in the run's training data`);
  return i;
}

// Shared pieces of the bench scripts: command-line options and the rating data shapes they train on
// (ML-100K from ../shared/data when present, else synthetic data of its shape; ML-1M synthetic).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RelationInfo } from '../compiler/check/model.ts';
import { parseRelation } from '../runtime/data/load.ts';
import { ml100kDir } from '../runtime/data/data-paths.ts';
import { IdMaps } from '../runtime/data/ids.ts';
import { generateRatings, syntheticMl1m, ML1M_SPEC, type SyntheticRatings } from '../runtime/data/synthetic.ts';

/** `--name value` from the command line, or `dflt`. */
export function option(name: string, dflt: string): string {
  const argv = process.argv.slice(2);
  const j = argv.indexOf(`--${name}`);
  return j >= 0 && argv[j + 1] ? argv[j + 1]! : dflt;
}

/**
 * The reference benches' Python: `--python`, else the first of Debian's /usr/bin/python3 (issue 10's
 * reference: numpy and scipy from Debian's packages, as CI installs them) and `python3` on PATH that
 * imports numpy and scipy (a pyenv or venv python3 may have them where Debian's has not), else
 * `python3` (the bench then says why it skips). The bench prints the versions it got.
 */
export function referencePython(): string {
  const given = option('python', '');
  if (given) return given;
  const found = ['/usr/bin/python3', 'python3'].find((py) => spawnSync(py, ['-c', 'import numpy, scipy'], { stdio: 'ignore' }).status === 0);
  return found ?? 'python3';
}

/** The median of `xs` (the mean of the two middle values for an even count; NaN when empty). */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s[(s.length - 1) >> 1]! + s[s.length >> 1]!) / 2 : NaN;
}

/** Ratings as columns over dense ids 0..nUsers−1 and 0..nItems−1. */
export interface Shape {
  readonly label: string;
  readonly source: string;
  readonly users: Int32Array;
  readonly items: Int32Array;
  readonly ratings: Float64Array;
  readonly times: Float64Array;
  readonly nUsers: number;
  readonly nItems: number;
}

export function fromSynthetic(label: string, r: SyntheticRatings, source: string): Shape {
  return { label, source, users: r.users, items: r.items, ratings: r.ratings, times: r.times, nUsers: r.spec.nUsers, nItems: r.spec.nItems };
}

/** ML-100K u.data when present (all 100,000 tuples), else synthetic data of its shape. */
export function ml100kShape(ratings: RelationInfo): Shape {
  const dir = ml100kDir();
  if (dir) {
    const ids = new IdMaps();
    const rel = parseRelation(ratings, readFileSync(join(dir, 'u.data'), 'utf8'), 'u.data', 'movielens', ids);
    return {
      label: 'ML-100K', source: join(dir, 'u.data'),
      users: rel.ids.get('user')!, items: rel.ids.get('item')!, ratings: rel.values.get('rating')!, times: rel.values.get('time')!,
      nUsers: ids.get('user').size, nItems: ids.get('item').size,
    };
  }
  const spec = { ...ML1M_SPEC, nUsers: 943, nItems: 1682, nRatings: 100_000, seed: 100_000, maxPerUser: 737 };
  return fromSynthetic('ML-100K', generateRatings(spec), 'synthetic (ML-100K shape)');
}

export function ml1mShape(): Shape {
  return fromSynthetic('ML-1M', syntheticMl1m(), 'syntheticMl1m()');
}

/**
 * ML-20M's catalogue (138,493 users × 26,744 items) with 2,000,000 synthetic ratings: where a
 * mini-batch touches a small fraction of the rows, so row-sparse gradients pay off most.
 */
export function ml20mCatalogueShape(): Shape {
  const spec = { ...ML1M_SPEC, nUsers: 138_493, nItems: 26_744, nRatings: 2_000_000, minPerUser: 5, maxPerUser: 2000, seed: 20_000_263 };
  return fromSynthetic('ML-20M-cat', generateRatings(spec), 'synthetic (ML-20M catalogue, 2M ratings)');
}

/** Id maps whose dense ids are the shape's own (external id = the number). */
export function identityIds(s: Shape): IdMaps {
  const ids = new IdMaps();
  for (let u = 0; u < s.nUsers; u++) ids.get('user').intern(String(u));
  for (let i = 0; i < s.nItems; i++) ids.get('item').intern(String(i));
  return ids;
}

// A small in-memory dataset for sampler and loss tests: one relation `likes(user, item, rating)`
// with seeded random tuples, without files (the model's `from` path is never read).
import type { Relation } from '../../runtime/data/load.ts';
import type { Dataset } from '../../runtime/data/dataset.ts';
import { IdMaps } from '../../runtime/data/ids.ts';
import { prng } from './ir-env.ts';

export interface TinySpec {
  readonly users: number;
  readonly items: number;
  readonly tuples: number;
  readonly seed: number;
  /** item popularity skew: item j is drawn with weight 1/(1 + j)^skew (0: uniform) */
  readonly skew?: number;
}

export function tinyDataset(spec: TinySpec): Dataset {
  const rnd = prng(spec.seed);
  const ids = new IdMaps();
  for (let u = 0; u < spec.users; u++) ids.get('user').intern(`u${u}`);
  for (let i = 0; i < spec.items; i++) ids.get('item').intern(`i${i}`);
  const w = Array.from({ length: spec.items }, (_, j) => 1 / Math.pow(1 + j, spec.skew ?? 0));
  const total = w.reduce((a, b) => a + b, 0);
  const pickItem = (): number => {
    let r = rnd() * total;
    for (let j = 0; j < spec.items; j++) if ((r -= w[j]!) < 0) return j;
    return spec.items - 1;
  };
  const user = Int32Array.from({ length: spec.tuples }, () => Math.floor(rnd() * spec.users));
  const item = Int32Array.from({ length: spec.tuples }, pickItem);
  const rating = Float64Array.from({ length: spec.tuples }, () => 1 + Math.floor(rnd() * 5));
  const likes: Relation = {
    name: 'likes',
    size: spec.tuples,
    columns: [
      { name: 'user', type: { kind: 'domain', domain: 'user' } },
      { name: 'item', type: { kind: 'domain', domain: 'item' } },
      { name: 'rating', type: { kind: 'float' } },
    ],
    ids: new Map([['user', user], ['item', item]]),
    idDomains: new Map([['user', 'user'], ['item', 'item']]),
    values: new Map([['rating', rating]]),
    source: undefined,
  };
  return { ids, train: new Map([['likes', likes]]), test: new Map(), primary: 'likes', protocol: 'tiny (test)' };
}

/** The model preamble matching tinyDataset: `likes(user, item, rating)`, U, V, b and `score`. */
export const TINY_PREAMBLE = `
import "std/losses"
index user, item
data likes(user: user, item: item, rating: float) from "tiny.tsv" format tsv
dim d = 3
const margin = 1, k = 3
param U[user, d] ~ normal(0, 0.5)
param V[item, d] ~ normal(0, 0.5)
param b[item] ~ normal(0, 0.5)
def score(u, i) = U[u] . V[i] + b[i]
`;

// Shared by the ALS property tests (test/als/*): a random small `likes` data set over user × item and
// a model compiled for it with `optimizer als`, in a float64 environment the solves write into.
import { expect } from 'vitest';
import { compileModel, checkSource, type Compiled } from '../../compiler/compile.ts';
import type { Env, TensorValue } from '../../compiler/ir/interp.ts';
import type { Dataset } from '../../runtime/data/dataset.ts';
import { IdMaps } from '../../runtime/data/ids.ts';
import type { Relation } from '../../runtime/data/load.ts';
import { makeEnv, sizesFor } from '../../runtime/exec/env.ts';
import { initParams } from '../../runtime/train/init.ts';
import { prng } from './ir-env.ts';

/** `likes(user, item, rating, w)`: distinct (user, item) pairs, ratings 1…5, weights 1/(the user's count). */
export function dataset(users: number, items: number, tuples: number, seed: number): Dataset {
  const rnd = prng(seed);
  const ids = new IdMaps();
  for (let u = 0; u < users; u++) ids.get('user').intern(`u${u}`);
  for (let i = 0; i < items; i++) ids.get('item').intern(`i${i}`);
  const pairs = Array.from({ length: users * items }, (_, j) => j);
  for (let j = pairs.length - 1; j > 0; j--) {
    const k = Math.floor(rnd() * (j + 1));
    [pairs[j], pairs[k]] = [pairs[k]!, pairs[j]!];
  }
  const chosen = pairs.slice(0, tuples);
  const user = Int32Array.from(chosen, (p) => Math.floor(p / items));
  const item = Int32Array.from(chosen, (p) => p % items);
  const count = new Map<number, number>();
  user.forEach((u) => count.set(u, (count.get(u) ?? 0) + 1));
  const likes: Relation = {
    name: 'likes',
    size: tuples,
    columns: [
      { name: 'user', type: { kind: 'domain', domain: 'user' } },
      { name: 'item', type: { kind: 'domain', domain: 'item' } },
      { name: 'rating', type: { kind: 'float' } },
      { name: 'w', type: { kind: 'float' } },
    ],
    ids: new Map([['user', user], ['item', item]]),
    idDomains: new Map([['user', 'user'], ['item', 'item']]),
    values: new Map([
      ['rating', Float64Array.from(chosen, () => 1 + Math.floor(rnd() * 5))],
      ['w', Float64Array.from(user, (u) => 1 / count.get(u)!)],
    ]),
    source: undefined,
  };
  return { ids, train: new Map([['likes', likes]]), test: new Map(), primary: 'likes', protocol: 'ALS property test' };
}

export const PREAMBLE = `index user, item
data likes(user: user, item: item, rating: float, w: float) from "tiny.tsv" format tsv
dim d = 3
`;

export function compileFor(text: string, ds: Dataset): Compiled {
  const checked = checkSource('als-test.recmodel', PREAMBLE + text);
  expect(checked.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  const model = checked.model!;
  const r = compileModel(model, { sizes: (module) => sizesFor({ model, module }, ds, ds.train, ds.train) });
  expect(r.diagnostics.filter((d) => d.severity === 'error').map((d) => d.message)).toEqual([]);
  return r.compiled!;
}

/** The float64 environment: params copied to float64 (the solves write into these arrays). */
export function env64(c: Compiled, ds: Dataset, seed: number): Env {
  const sizes = sizesFor(c, ds, ds.train, ds.train);
  const base = makeEnv(c, sizes, initParams(c, sizes, seed), ds.train);
  const tensors = new Map<string, TensorValue>(base.tensors);
  for (const p of c.module.params) tensors.set(p.name, { data: Float64Array.from(base.tensors.get(p.name)!.data), shape: p.shape });
  return { ...base, tensors };
}


// The HNSW index (runtime/serve/ann.ts): `recc index` saves it in the run folder and `recommend --ann`
// gives what exact recommend gives on a small catalogue (the search is exhaustive at this size);
// on 3,000 items with widely varying norms the ip index (extra-dimension MIPS → L2 reduction) finds
// the exact top-10 by inner product with recall ≥ 0.97 — a wrong reduction (plain L2 or cosine on the
// raw vectors ranks by distance or angle, not by x·y) fails this — and scores are exact.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IdMap } from '../../runtime/data/ids.ts';
import { Rng } from '../../runtime/data/rng.ts';
import { AnnIndex } from '../../runtime/serve/ann.ts';
import type { ServingModel } from '../../runtime/serve/serving-model.ts';
import { recommendRows } from '../../runtime/serve/top-k.ts';
import { recc } from '../helpers/cli.ts';
import { trainTinyRun } from './tiny-run.ts';

const root = mkdtempSync(join(tmpdir(), 'recc-ann-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let RUN = '';
beforeAll(() => {
  RUN = trainTinyRun(root);
});

function model(nUsers: number, nItems: number, d: number): ServingModel {
  const rng = new Rng(3);
  const X = Float32Array.from({ length: nUsers * d }, () => rng.normal());
  // norms spread over e^±1.5: inner product and cosine/L2 rankings disagree
  const Y = new Float32Array(nItems * d);
  for (let i = 0; i < nItems; i++) {
    const s = Math.exp(1.5 * (2 * rng.uniform() - 1));
    for (let c = 0; c < d; c++) Y[i * d + c] = s * rng.normal();
  }
  const ids = (n: number): IdMap => new IdMap('x', Array.from({ length: n }, (_, r) => String(r)));
  const dir = join(root, `m${nItems}`);
  mkdirSync(join(dir, 'serving'), { recursive: true });
  return {
    dir,
    meta: { version: 1, model: 't', userDomain: 'user', itemDomain: 'item', users: nUsers, items: nItems, width: d, interactionWidth: d, terms: [], factorsUnavailable: null, seenFrom: [], seenPairs: 0 },
    users: ids(nUsers),
    items: ids(nItems),
    X,
    Y,
    width: d,
    seenOffsets: new Int32Array(nUsers + 1),
    seenItems: new Int32Array(0),
  };
}

describe('HNSW index', () => {
  it('recc index + recommend --ann equal exact recommend on a small run; serve-side load checks the size', () => {
    const built = recc('index', RUN);
    expect(built.code, built.stderr).toBe(0);
    expect(built.stdout).toMatch(/serving\/ann-ip\.usearch: 15 items/);
    for (const user of ['u0', 'u5', 'u11']) {
      const exact = recc('recommend', RUN, '--user', user, '--top', '5').stdout;
      expect(recc('recommend', RUN, '--user', user, '--top', '5', '--ann').stdout).toBe(exact);
    }
    expect(recc('similar', RUN, '--item', 'm01', '--ann').stderr).toMatch(/no cosine ANN index; build it with `recc index .* --metric cosine`/);
    expect(recc('index', RUN, '--metric', 'cosine').code).toBe(0);
    expect(recc('similar', RUN, '--item', 'm01', '--ann', '--top', '4').stdout).toBe(recc('similar', RUN, '--item', 'm01', '--top', '4').stdout);
  });

  it('the ip index finds the top-10 by inner product (recall ≥ 0.97), with exact scores', () => {
    const m = model(50, 3000, 8);
    const idx = AnnIndex.build(m, 'ip', { connectivity: 16, expansionAdd: 200, expansionSearch: 200 });
    idx.save(m.dir);
    const loaded = AnnIndex.load(m, 'ip');
    const exact = recommendRows(m, Int32Array.from({ length: 50 }, (_, u) => u), 10, true);
    let hits = 0;
    for (let u = 0; u < 50; u++) {
      const got = loaded.recommend(m, u, 10);
      const want = new Set(exact.items.subarray(u * 10, u * 10 + 10));
      got.items.forEach((i, r) => {
        if (want.has(i)) hits++;
        let s = 0;
        for (let c = 0; c < 8; c++) s += m.X[u * 8 + c]! * m.Y[i * 8 + c]!;
        expect(got.scores[r]!).toBeCloseTo(s, 4);
      });
    }
    expect(hits / 500).toBeGreaterThanOrEqual(0.97);
  });
});

// The run folder's serving files (runtime/output/serving-files.ts): for scores of several shapes, the
// stored factors X, Y satisfy X[u] · Y[i] = score(u, i) as the float64 interpreter evaluates the
// compiled pairs form (the oracle); a score that reads the user and the item in one nonlinear factor
// has no factors and says why; the seen sets are the training pairs, deduplicated and sorted.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compileSource, type Compiled } from '../../compiler/compile.ts';
import { ReferenceBackend } from '../../runtime/exec/backend.ts';
import { scoreBlock } from '../../runtime/eval/evaluate.ts';
import { sizesFor } from '../../runtime/exec/env.ts';
import { writeServingFiles } from '../../runtime/output/serving-files.ts';
import { loadServingModel, RecommendError } from '../../runtime/serve/serving-model.ts';
import { scoreUsers } from '../../runtime/serve/top-k.ts';
import { tinyDataset } from '../helpers/tiny-dataset.ts';
import { prng } from '../helpers/ir-env.ts';
import { saveParams } from '../../runtime/output/run-folder.ts';

const root = mkdtempSync(join(tmpdir(), 'recc-serving-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const PRE = `
index user, item
data likes(user: user, item: item, rating: float) from "tiny.tsv" format tsv
dim d = 3
dim e = 2
param U[user, d] ~ normal(0, 0.5)
param V[item, d] ~ normal(0, 0.5)
param W[user, e] ~ normal(0, 0.5)
param Z[item, e] ~ normal(0, 0.5)
param h[d] ~ normal(0, 0.5)
param bu[user] ~ normal(0, 0.5)
param bi[item] ~ normal(0, 0.5)
param mu ~ normal(0, 0.5)
const c = 0.7
loss l = mean((u, i, r) in likes: (r - score(u, i))^2) + 0 * sum(U^2) + 0 * sum(V^2) + 0 * sum(W^2) + 0 * sum(Z^2) + 0 * sum(h^2) + 0 * sum(bu^2) + 0 * sum(bi^2) + 0 * mu^2
train { optimizer sgd(lr = 0.1) steps 1 batch full seed 1 }
`;

const ds = tinyDataset({ users: 7, items: 11, tuples: 30, seed: 3 });

function compiled(score: string): Compiled {
  const text = `model m\n${PRE}\ndef score(u, i) = ${score}\n`;
  const first = compileSource('m.recmodel', text);
  if (!first.compiled) throw new Error(first.diagnostics.map((d) => d.message).join('\n'));
  const sizes = sizesFor(first.compiled, ds, ds.train, ds.train);
  return compileSource('m.recmodel', text, { sizes }).compiled!;
}

function randomParams(c: Compiled): Map<string, Float32Array> {
  const rnd = prng(11);
  const sizes = sizesFor(c, ds, ds.train, ds.train);
  return new Map(c.module.params.map((p) => [p.name, Float32Array.from({ length: p.shape.reduce((a, s) => a * sizes.get(s)!, 1) }, () => rnd() * 2 - 1)]));
}

describe('serving factors equal the compiled score (interpreter oracle)', () => {
  it.each([
    ['dot', 'U[u] . V[i]', 3],
    ['weighted dot (ENMF)', 'sum(k in d: U[u, k] * V[i, k] * h[k])', 3],
    ['biased MF', 'U[u] . V[i] + bu[u] + bi[i] + mu', 6],
    ['item bias only (MostPop)', 'bi[i]', 1],
    ['two interactions, scaled', 'c * (U[u] . V[i]) - 2 * (W[u] . Z[i]) + sum(k in d: U[u, k]) * bi[i]', 6],
    // (s + b)² = Σ_kl U_k U_l V_k V_l + 2b·s + b²: widths 9, 3 and 1
    ['a square of a sum', '(U[u] . V[i] + bi[i])^2', 9 + 3 + 1],
  ])('%s', (_, score, width) => {
    const c = compiled(score);
    expect(c.score!.factors.kind).toBe('factors');
    const params = randomParams(c);
    const dir = join(root, score.replace(/\W+/g, '_'));
    saveParams(dir, c, ds, params);
    const meta = writeServingFiles(dir, c, ds, params)!;
    expect(meta.width).toBe(width);
    const m = loadServingModel(dir);
    const nU = ds.ids.get('user').size;
    const nI = ds.ids.get('item').size;
    const got = new Float64Array(nU * nI);
    scoreUsers(m, Int32Array.from({ length: nU }, (_, u) => u), got);
    const want = scoreBlock(c, ds, params, new ReferenceBackend(), 0, nU);
    for (let j = 0; j < want.length; j++) expect(got[j]!).toBeCloseTo(want[j]!, 5);
  });

  it('a score with the user and the item in one nonlinear factor has no factors, and serving says why', () => {
    const c = compiled('sigmoid(U[u] . V[i])');
    expect(c.score!.factors.kind).toBe('unavailable');
    const params = randomParams(c);
    const dir = join(root, 'sigmoid');
    saveParams(dir, c, ds, params);
    const meta = writeServingFiles(dir, c, ds, params)!;
    expect(meta.factorsUnavailable).toMatch(/one factor reads both the user and the item/);
    expect(() => loadServingModel(dir)).toThrow(RecommendError);
  });

  it('seen sets are the training pairs per user, deduplicated and sorted', () => {
    const c = compiled('U[u] . V[i]');
    const params = randomParams(c);
    const dir = join(root, 'seen');
    saveParams(dir, c, ds, params);
    writeServingFiles(dir, c, ds, params);
    const m = loadServingModel(dir);
    const rel = ds.train.get('likes')!;
    const want = Array.from({ length: 7 }, () => new Set<number>());
    for (let t = 0; t < rel.size; t++) want[rel.ids.get('user')![t]!]!.add(rel.ids.get('item')![t]!);
    for (let u = 0; u < 7; u++) {
      expect([...m.seenItems.subarray(m.seenOffsets[u]!, m.seenOffsets[u + 1]!)]).toEqual([...want[u]!].sort((a, b) => a - b));
    }
  });
});

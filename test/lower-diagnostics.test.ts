// `lowerDiagnostics` (what `recc check` runs: no IR, a pure def applied again in the same situation
// not lowered again) against `lower` (the IR compile builds): the same RC0590 diagnostics, in the
// same order, on every example, every checked fixture, models built to hit the memo on each side of
// an unsupported construct, and a generated model with long chains of defs.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateModel } from '../bench/check.ts';
import { checkSource } from '../compiler/compile.ts';
import { lower, lowerDiagnostics } from '../compiler/lower/lower.ts';
import { loadFixtures } from './helpers/golden.ts';

const root = new URL('../', import.meta.url).pathname;

const PRELUDE = `model m
import "std/losses"
index user, item
data ratings(user: user, item: item, rating: float) from "r.tsv" format tsv
data likes = ratings where rating >= 4
data feats(user: user, x: sparse item) from "x.libsvm" format libsvm
dim d = 4
param U[user, d] ~ normal(0, 0.1)
param V[item, d] ~ normal(0, 0.1)
param W[item] = 0
`;

/** Unsupported constructs deep in chains of defs, reached from terms in different scopes. */
const MODELS = [
  // the deepest def cannot be lowered: every term that reaches it reports it, memo or not
  `def s0(u: user, i: item) = max(W)
def s1(u: user, i: item) = U[u] . V[i] + s0(u, i)
def s2(u: user, i: item) = s1(u, i) * 2
loss a = mean((u, i, r) in ratings: mse(r, s2(u, i)))
loss b = mean((u, i) in likes, j ~ uniform(item): bpr(s2(u, i), s2(u, j)))
loss c = mean((u, i, r) in ratings: s1(u, i))
loss ok = sum(W^2)`,
  // one def in scopes of every kind: plain indices, gathers, sampled ids with their log-probabilities, sample sets
  `def s(u: user, i: item) = U[u] . V[i] - logq(i)
def t(u: user, i: item) = s(u, i) + W[i]
loss a = mean((u, i) in likes, j ~ pop(item, 0.75): bpr(t(u, i), t(u, j)))
loss b = mean((u, i) in likes, J ~ pop(item, 0.75) x 10: logsumexp(j in J: t(u, j)) - t(u, i))
loss c = sum(u in user, i in item, j ~ uniform(item): t(u, i))
loss e = mean((u, i) in likes, j ~ pop(item, 0.75): bpr(t(u, i), t(u, j)))`,
  // an unsupported construct in a def with an aggregation (never memoized), called through a pure-looking def
  `def inner(u: user) = max(W) + sum(k in d: U[u, k])
def outer(u: user, i: item) = inner(u) + U[u] . V[i]
loss a = mean((u, i, r) in ratings: outer(u, i))
loss b = mean((u, i, r) in ratings: outer(u, i) + outer(u, i))`,
  // sparse rows and pair bindings through defs
  `def fm(t_u: user) = 1
def pairs(u: user) = U[u] . U[u]
loss a = mean((u, x) in feats: sum(j in x: x[j] * W[j]) + pairs(u))
loss b = mean((u, x) in feats: mean(j in x: x[j]))
loss c = mean((u, x) in feats: sum(j < l in x: x[j] * x[l] * (V[j] . V[l])) + pairs(u))`,
  // a whole tensor through a def (never memoized) and an unsupported call deeper down
  `def n(u: user) = max(U)
def m(u: user, i: item) = n(u) + n(u)
loss a = mean((u, i, r) in ratings: m(u, i) + m(u, i))
loss b = sum(u in user: n(u))`,
];

function compare(path: string, text: string, sets?: ReadonlyMap<string, number>): number | undefined {
  const checked = checkSource(path, text, { sets });
  if (!checked.model || checked.diagnostics.some((d) => d.severity === 'error')) return undefined;
  const full = lower(checked.model).diagnostics;
  const fast = lowerDiagnostics(checked.model);
  expect(JSON.stringify(fast, null, 1), path).toBe(JSON.stringify(full, null, 1));
  return full.length;
}

describe('lowerDiagnostics', () => {
  it('reports what lower reports on every example and checked fixture', () => {
    const examples = readdirSync(join(root, 'examples'))
      .filter((f) => f.endsWith('.recmodel'))
      .map((f) => join(root, 'examples', f));
    let compared = 0;
    for (const path of examples) if (compare(path, readFileSync(path, 'utf8')) !== undefined) compared++;
    for (const dir of ['test/golden/check', 'test/golden/compile'])
      for (const f of loadFixtures(join(root, dir))) if (compare(f.path, f.src.text, f.sets) !== undefined) compared++;
    expect(compared).toBeGreaterThan(20);
  });

  it('reports what lower reports where unsupported constructs hide in chains of defs', () => {
    let reported = 0;
    for (const [k, m] of MODELS.entries()) {
      const n = compare(join(root, 'examples', `lower-memo-${k}.recmodel`), PRELUDE + m);
      expect(n, `model ${k} checks`).toBeDefined();
      reported += n!;
    }
    // the models do reach RC0590 (else they test nothing)
    expect(reported).toBeGreaterThan(4);
  });

  it('reports nothing on a generated model with long chains of defs, as lower does', () => {
    expect(compare(join(root, 'examples', 'generated.recmodel'), generateModel(600))).toBe(0);
  });
});

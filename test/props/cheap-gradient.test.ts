// The cheap-gradient invariant over a corpus of spellings of the seed models (whole-data MF / ENMF /
// eALS / iALS, the Gramian regularizer, BPR and biased MF): membership as `? :`, as a 0/1 number,
// through defs; weights as consts, defs or expressions; `mean` vs `sum`/|R|; `h`-weighted and biased
// scores; iALS confidence (linear, squared, logarithmic). For every spelling, compiled at the ML-1M
// shape (6,040 users × 3,706 items, 575,281 liked pairs, 1,000,209 ratings, d = 64):
//   - it compiles without RC0530/RC0532;
//   - a whole-data loss is rewritten to "observed correction + contracted all-pairs part": no loop over
//     every user × item pair is left, none joins a relation with itself, a membership-weighted one
//     walks the liked pairs, and something is contracted over a domain (a Gramian);
//   - each gradient's planned cost is ≤ 4× the planned cost of the terms that mention its param
//     (compiler/plan at a step's sizes, counted by the one cost model: what the gradient adds to a
//     step that computes those terms; the ratios are printed);
// and, compiled at d = 3, every term's rewritten form and every gradient agree with the written
// forms on the float64 interpreter (the raw derivative, no rewrite at all), on small random data
// whose relations hold each (user, item) once.
import { describe, expect, it } from 'vitest';
import { grad } from '../../compiler/autodiff/grad.ts';
import { compileSource, type Compiled } from '../../compiler/compile.ts';
import { GRADIENT_COST_FACTOR, plannedCost } from '../../compiler/gradient-cost.ts';
import { evalScalar, evalTensor, type Env, type TensorValue } from '../../compiler/ir/interp.ts';
import type { IRModule } from '../../compiler/ir/module.ts';
import { add, freeIdx, idxKey, type Expr } from '../../compiler/ir/nodes.ts';
import { batchKey, columnKey, isTupleSpace, totalKey } from '../../compiler/ir/spaces.ts';
import { nodes } from '../../compiler/ir/walk.ts';
import { stepSizes } from '../../compiler/step-sizes.ts';
import { formatCount } from '../../compiler/passes/cost.ts';
import { maxRelErr, prng, relErr } from '../helpers/ir-env.ts';

const PREAMBLE = `model spelling
index user, item
data ratings(user: user, item: item, rating: float, time: int) from "ratings.tsv" format tsv
data likes = ratings where rating >= 4
dim d = 64
const alpha = 10, c_pos = 1, c_neg = 0.05, w0 = 0.1, gramw = 0.05, lambda = 0.01
param P[user, d] ~ normal(0, 0.01)
param Q[item, d] ~ normal(0, 0.01)
`;

/** whole: all pairs weighted by membership; gramian: all pairs, no membership; tuples: no all-pairs term */
type Kind = 'whole' | 'gramian' | 'tuples';

const corpus: readonly (readonly [Kind, string, string])[] = [
  ['whole', 'ENMF (examples/enmf): y, c as `? :` defs, h-weighted, sum/|user|', `param h[d] = 1
def s(u, i) = sum(k in d: P[u, k] * Q[i, k] * h[k])
def y(u, i) = (u, i) in likes ? 1 : 0
def c(u, i) = (u, i) in likes ? c_pos : c_neg
loss whole = sum(u in user, i in item: c(u, i) * (y(u, i) - s(u, i))^2) / |user|`],
  ['whole', 'membership as a number, mean', `loss whole = mean(u in user, i in item: (((u, i) in likes) - P[u] . Q[i])^2)`],
  ['whole', 'membership as a number through a def, sum/(|user|·|item|)', `def y(u, i) = ((u, i) in likes)
loss whole = sum(u in user, i in item: (y(u, i) - P[u] . Q[i])^2) / (|user| * |item|)`],
  ['whole', 'iALS: pref and conf as defs (Hu et al.)', `def dot(u, i) = P[u] . Q[i]
def pref(u, i) = ((u, i) in likes)
def conf(u, i) = 1 + alpha * pref(u, i)
loss whole = mean(u in user, i in item: conf(u, i) * (pref(u, i) - dot(u, i))^2)`],
  ['whole', 'iALS inline', `loss whole = mean(u in user, i in item: (1 + alpha * ((u, i) in likes)) * (((u, i) in likes) - P[u] . Q[i])^2)`],
  ['whole', 'iALS with L2', `def pref(u, i) = ((u, i) in likes)
loss whole = mean(u in user, i in item: (1 + alpha * pref(u, i)) * (pref(u, i) - P[u] . Q[i])^2)
reg l2 = lambda * (sum(P^2) + sum(Q^2))`],
  ['whole', 'iALS through a chain of defs', `def r(u, i) = ((u, i) in likes)
def pref(u, i) = r(u, i)
def conf(u, i) = 1 + alpha * pref(u, i)
def err(u, i) = pref(u, i) - P[u] . Q[i]
loss whole = mean(u in user, i in item: conf(u, i) * err(u, i)^2)`],
  ['whole', 'weight as a def of consts and a number', `def c(u, i) = c_neg + (c_pos - c_neg) * ((u, i) in likes)
loss whole = sum(u in user, i in item: c(u, i) * (((u, i) in likes) - P[u] . Q[i])^2) / |user|`],
  ['whole', 'weight `? :`, target a number', `loss whole = sum(u in user, i in item: ((u, i) in likes ? c_pos : c_neg) * (((u, i) in likes) - P[u] . Q[i])^2) / |user|`],
  ['whole', 'weight a number, target `? :`', `loss whole = mean(u in user, i in item: (1 + alpha * ((u, i) in likes)) * (((u, i) in likes ? 1 : 0) - P[u] . Q[i])^2)`],
  ['whole', 'two sides written out with 1 − m', `def m(u, i) = ((u, i) in likes)
loss whole = sum(u in user, i in item: c_neg * (1 - m(u, i)) * (P[u] . Q[i])^2 + c_pos * m(u, i) * (1 - P[u] . Q[i])^2) / |user|`],
  ['whole', 'two sides with `? 0 : 1` for the negatives', `loss whole = sum(u in user, i in item: c_pos * ((u, i) in likes) * (1 - P[u] . Q[i])^2 + c_neg * ((u, i) in likes ? 0 : 1) * (P[u] . Q[i])^2) / |user|`],
  ['whole', 'log confidence 1 + α·log(1 + m/ε)', `def m(u, i) = ((u, i) in likes)
loss whole = mean(u in user, i in item: (1 + alpha * log(1 + m(u, i) / w0)) * (m(u, i) - P[u] . Q[i])^2)`],
  ['whole', 'squared confidence (1 + α·m)²', `def m(u, i) = ((u, i) in likes)
loss whole = mean(u in user, i in item: (1 + alpha * m(u, i))^2 * (m(u, i) - P[u] . Q[i])^2)`],
  ['whole', 'm·m as the target', `def m(u, i) = ((u, i) in likes)
loss whole = mean(u in user, i in item: (m(u, i) * m(u, i) - P[u] . Q[i])^2)`],
  ['whole', 'm² as the target', `loss whole = mean(u in user, i in item: (((u, i) in likes)^2 - P[u] . Q[i])^2)`],
  ['whole', '±1 labels 2m − 1', `loss whole = mean(u in user, i in item: (2 * ((u, i) in likes) - 1 - P[u] . Q[i])^2)`],
  ['whole', 'scaled target c_pos·m', `loss whole = mean(u in user, i in item: (c_pos * ((u, i) in likes) - P[u] . Q[i])^2)`],
  ['whole', 'bindings in the other order', `loss whole = mean(i in item, u in user: (((u, i) in likes) - P[u] . Q[i])^2)`],
  ['whole', 'nested sums, divided by |likes|', `loss whole = sum(u in user: sum(i in item: (1 + alpha * ((u, i) in likes)) * (((u, i) in likes) - P[u] . Q[i])^2)) / |likes|`],
  ['whole', 'h-weighted score, membership as a number', `param h[d] = 1
def s(u, i) = sum(k in d: P[u, k] * Q[i, k] * h[k])
loss whole = mean(u in user, i in item: (1 + alpha * ((u, i) in likes)) * (((u, i) in likes) - s(u, i))^2)`],
  ['whole', 'biased score, `? :`', `param bu[user] = 0
param bi[item] = 0
def s(u, i) = P[u] . Q[i] + bu[u] + bi[i]
loss whole = sum(u in user, i in item: ((u, i) in likes ? c_pos : c_neg) * (((u, i) in likes ? 1 : 0) - s(u, i))^2) / |user|`],
  ['whole', 'global bias, number', `param mu = 0
loss whole = mean(u in user, i in item: (((u, i) in likes) - P[u] . Q[i] - mu)^2)`],
  ['whole', 'weight an inline expression `? 1 + α : 1`', `loss whole = mean(u in user, i in item: ((u, i) in likes ? 1 + alpha : 1) * (((u, i) in likes) - P[u] . Q[i])^2)`],
  ['whole', 'eALS per-item negative weight w[i]', `param w[item] = 1
loss whole = sum(u in user, i in item: ((u, i) in likes ? c_pos : c_neg * w[i]) * (((u, i) in likes) - P[u] . Q[i])^2) / |user|`],
  ['whole', 'confidence from a const expression', `const a2 = alpha * 2 + 1
loss whole = mean(u in user, i in item: (1 + a2 * ((u, i) in likes)) * (((u, i) in likes) - P[u] . Q[i])^2)`],
  ['whole', 'score as an explicit sum over k, typed def params', `def s(u: user, i: item) = sum(k in d: P[u, k] * Q[i, k])
loss whole = mean(u in user, i in item: (1 + alpha * ((u, i) in likes)) * (((u, i) in likes) - s(u, i))^2)`],
  ['whole', 'observed loss plus whole-data term as a number', `loss obs = mean((u, i) in likes: (1 - P[u] . Q[i])^2)
loss whole = w0 * mean(u in user, i in item: (((u, i) in likes) - P[u] . Q[i])^2)`],
  ['gramian', 'mf-gramian (examples/mf-gramian)', `loss omse = mean((u, i, r) in ratings: (r - P[u] . Q[i])^2)
reg l2 = lambda * (sum(P^2) / |user| + sum(Q^2) / |item|)
reg gram = gramw * mean(u in user, i in item: (P[u] . Q[i])^2)`],
  ['gramian', 'Gramian as sum/(|user|·|item|) over an explicit k sum', `loss omse = mean((u, i, r) in ratings: (r - P[u] . Q[i])^2)
reg gram = gramw * sum(u in user, i in item: sum(k in d: P[u, k] * Q[i, k])^2) / (|user| * |item|)`],
  ['gramian', 'Gramian of a biased score', `param bu[user] = 0
param bi[item] = 0
def s(u, i) = P[u] . Q[i] + bu[u] + bi[i]
loss omse = mean((u, i, r) in ratings: (r - s(u, i))^2)
reg gram = gramw * mean(u in user, i in item: s(u, i)^2)`],
  ['gramian', 'Gramian of an h-weighted score', `param h[d] = 1
def s(u, i) = sum(k in d: P[u, k] * Q[i, k] * h[k])
loss omse = mean((u, i, r) in ratings: (r - s(u, i))^2)
reg gram = gramw * mean(u in user, i in item: s(u, i)^2)`],
  ['tuples', 'BPR, uniform negatives', `loss bpr = mean((u, i) in likes, j ~ uniform(item): softplus(P[u] . Q[j] - P[u] . Q[i]))`],
  ['gramian', 'BPR with a Gramian regularizer', `loss bpr = mean((u, i) in likes, j ~ uniform(item): softplus(P[u] . Q[j] - P[u] . Q[i]))
reg gram = gramw * mean(u in user, i in item: (P[u] . Q[i])^2)`],
  ['tuples', 'biased MF (examples/mf-biased)', `param bu[user] = 0
param bi[item] = 0
param mu = 3.5
loss fit = mean((u, i, r) in ratings: (r - P[u] . Q[i] - bu[u] - bi[i] - mu)^2)
reg l2 = lambda * mean((u, i, r) in ratings: P[u] . P[u] + Q[i] . Q[i])`],
];

const ML1M = new Map([
  ['user', 6040],
  ['item', 3706],
  ['likes', 575_281],
  ['ratings', 1_000_209],
]);

function compileAt(body: string, d: number, sizes?: Map<string, number>): Compiled {
  const r = compileSource('spelling.recmodel', PREAMBLE + body, { sets: new Map([['d', d]]), sizes });
  const bad = r.diagnostics.filter((x) => x.severity === 'error' || x.code === 'RC0532');
  expect(bad.map((x) => `${x.code} ${x.message}`)).toEqual([]);
  expect(r.compiled).toBeDefined();
  return r.compiled!;
}

/** A loop node whose indices (free or summed) include a user and an item index at once. */
const allPairs = (e: Expr): boolean =>
  nodes(e).some((n) => {
    if (n.op !== 'sum' && n.op !== 'reduce') return false;
    const spaces = new Set([...n.over, ...freeIdx(n).values()].map((i) => i.space));
    return spaces.has('user') && spaces.has('item');
  });

/** A δ between the same column of two tuples of one relation: a join of the relation with itself. */
const selfJoin = (e: Expr): boolean =>
  nodes(e).some((n) => n.op === 'eq' && n.a.kind === 'gather' && n.b.kind === 'gather' && n.a.rel === n.b.rel && idxKey(n.a.t) !== idxKey(n.b.t));

/** A sum over the liked pairs' tuples (the observed correction). */
const walksLikes = (e: Expr): boolean => nodes(e).some((n) => n.op === 'sum' && n.over.some((i) => i.space === 'likes'));

/** A sum over a domain with a dim index free: a contraction such as PᵀP. */
const contracted = (e: Expr): boolean =>
  nodes(e).some((n) => n.op === 'sum' && n.over.some((i) => i.space === 'user' || i.space === 'item') && [...freeIdx(n).values()].some((i) => i.space === 'd'));

const mentions = (e: Expr, param: string): boolean => nodes(e).some((n) => n.op === 'tensor' && n.kind === 'param' && n.name === param);

/** Small random data for the module: 2–4 users and items, each relation's (user, item) pairs distinct. */
function envFor(m: IRModule, seed: number): Env {
  const rnd = prng(seed);
  const sizes = new Map<string, number>();
  const tensors = new Map<string, TensorValue>();
  const ids = new Map<string, Int32Array>();
  for (const s of m.spaces.values()) {
    if (s.kind === 'domain') sizes.set(s.name, 2 + Math.floor(rnd() * 3));
    if (s.kind === 'dim') sizes.set(s.name, s.size);
  }
  for (const s of m.spaces.values()) {
    if (!isTupleSpace(s)) continue;
    const nu = sizes.get('user')!;
    const ni = sizes.get('item')!;
    const n = 1 + Math.floor(rnd() * Math.min(8, nu * ni));
    const pairs = Array.from({ length: nu * ni }, (_, j) => j);
    for (let j = pairs.length - 1; j > 0; j--) {
      const r = Math.floor(rnd() * (j + 1));
      [pairs[j], pairs[r]] = [pairs[r]!, pairs[j]!];
    }
    sizes.set(s.name, n).set(totalKey(s.name), n).set(batchKey(s.name), n);
    for (const [col, type] of s.columns) {
      const key = columnKey(s.name, col);
      if (col === 'user') ids.set(key, Int32Array.from({ length: n }, (_, t) => Math.floor(pairs[t]! / ni)));
      else if (col === 'item') ids.set(key, Int32Array.from({ length: n }, (_, t) => pairs[t]! % ni));
      else if (m.spaces.get(type)?.kind === 'domain') ids.set(key, Int32Array.from({ length: n }, () => Math.floor(rnd() * sizes.get(type)!)));
      else tensors.set(key, { data: Float64Array.from({ length: n }, () => 1 + 4 * rnd()), shape: [s.name] });
    }
  }
  // columns no space lists (a per-tuple sampled id such as likes.~j): random ids of their domain
  for (const t of m.terms) {
    for (const n of nodes(t.expr)) {
      const ixs = n.op === 'eq' ? [n.a, n.b] : n.op === 'tensor' ? n.ix : [];
      for (const x of ixs) {
        const key = x.kind === 'gather' ? columnKey(x.rel, x.col) : undefined;
        if (x.kind === 'gather' && key && !ids.has(key)) ids.set(key, Int32Array.from({ length: sizes.get(x.rel)! }, () => Math.floor(rnd() * sizes.get(x.domain)!)));
      }
    }
  }
  for (const p of m.params) {
    const n = p.shape.reduce((a, s) => a * sizes.get(s)!, 1);
    tensors.set(p.name, { data: Float64Array.from({ length: n }, () => rnd() - 0.5), shape: p.shape });
  }
  for (const [name, value] of m.hypers) tensors.set(name, { data: Float64Array.of(value), shape: [] });
  return { sizes, tensors, ids };
}

const ratios: string[] = [];
let worst = 0;

describe(`the cheap-gradient invariant on ${corpus.length} spellings of the seed models`, () => {
  it('has at least 30 spellings', () => expect(corpus.length).toBeGreaterThanOrEqual(30));

  for (const [kind, name, body] of corpus) {
    it(`${kind}: ${name}`, () => {
      const c = compileAt(body, 64, ML1M);
      const wholeTerms = c.terms.filter((t) => allPairs(t.written));
      expect(wholeTerms.length > 0, 'an all-pairs term as written').toBe(kind !== 'tuples');
      for (const t of c.terms) {
        expect(allPairs(t.expr), `${t.name}: an all-pairs loop left`).toBe(false);
        expect(selfJoin(t.expr), `${t.name}: a join of a relation with itself`).toBe(false);
      }
      for (const t of wholeTerms) {
        expect(contracted(t.expr), `${t.name}: a contracted all-pairs part`).toBe(true);
        if (kind === 'whole') expect(walksLikes(t.expr), `${t.name}: an observed correction`).toBe(true);
      }
      const planned = plannedCost(c.module.spaces, stepSizes(c.model, c.module, c.sizes));
      for (const g of c.grads) {
        const terms = c.terms.filter((t) => mentions(t.written, g.param));
        const loss = planned(terms);
        if (loss === 0) continue;
        const flops = planned([...terms, g]) - loss;
        const ratio = flops / loss;
        worst = Math.max(worst, ratio);
        ratios.push(`${ratio.toFixed(2).padStart(6)}  ∂/∂${g.param.padEnd(2)} ${formatCount(flops).padStart(6)} / ${formatCount(loss).padStart(6)}  ${name}`);
        expect(allPairs(g.expr), `∂/∂${g.param}: an all-pairs loop left`).toBe(false);
        expect(selfJoin(g.expr), `∂/∂${g.param}: a join of a relation with itself`).toBe(false);
        expect(ratio, `∂/∂${g.param} costs ${formatCount(flops)} as planned, its terms ${formatCount(loss)}`).toBeLessThanOrEqual(GRADIENT_COST_FACTOR);
      }
    });

    it(`${kind}: ${name} — rewritten forms agree with the interpreter`, () => {
      const c = compileAt(body, 3);
      const objective = add(...c.module.terms.map((t) => t.expr));
      for (let seed = 1; seed <= 4; seed++) {
        const env = envFor(c.module, seed * 7919 + body.length);
        for (const t of c.terms) expect(relErr(evalScalar(t.written, env), evalScalar(t.expr, env)), `${t.name}, seed ${seed}`).toBeLessThanOrEqual(1e-9);
        for (const g of c.grads) {
          const naive = evalTensor(grad(objective, g.param, g.out), env, g.out);
          expect(maxRelErr(naive, evalTensor(g.expr, env, g.out)), `∂/∂${g.param}, seed ${seed}`).toBeLessThanOrEqual(1e-9);
        }
      }
    });
  }

  it('prints the gradient/loss ratios', () => {
    console.log(`planned FLOPs a gradient adds to its terms' / the terms' planned FLOPs, ML-1M shape, d = 64 (worst ${worst.toFixed(2)}):\n${ratios.join('\n')}`);
    expect(worst).toBeLessThanOrEqual(GRADIENT_COST_FACTOR);
  });
});

describe('what has no contracted form is refused by RC0530 with its cost', () => {
  const refused: readonly (readonly [string, string])[] = [
    ['logistic loss over all pairs', `loss whole = mean(u in user, i in item: softplus(-(2 * ((u, i) in likes) - 1) * (P[u] . Q[i])))`],
    ['a confidence that depends on the score', `loss whole = mean(u in user, i in item: (1 + alpha * log(1 + (P[u] . Q[i])^2)) * (((u, i) in likes) - P[u] . Q[i])^2)`],
  ];
  for (const [name, body] of refused) {
    it(name, () => {
      const r = compileSource('spelling.recmodel', PREAMBLE + body, { sizes: ML1M });
      const d = r.diagnostics.find((x) => x.code === 'RC0530');
      expect(r.compiled).toBeUndefined();
      expect(d?.severity).toBe('error');
      expect(d?.label).toMatch(/FLOPs per evaluation/);
      const allowed = compileSource('spelling.recmodel', PREAMBLE + body, { sizes: ML1M, allowDense: true });
      expect(allowed.compiled).toBeDefined();
      expect(allowed.diagnostics.find((x) => x.code === 'RC0530')?.severity).toBe('warning');
    });
  }
});

describe('a test of leading columns only counts tuples: no indicator rule touches it', () => {
  it('(u) in likes inside a whole-data sum keeps its value', () => {
    // splitting at (u) in likes would sum the correction once per liked pair, not once per user
    const body = `loss whole = mean(u in user, i in item: ((u) in likes ? log(1 + (P[u] . Q[i])^2) : 0))`;
    // few liked pairs: a split (a walk over them) would be the cheapest form
    const sizes = new Map([['user', 1000], ['item', 1000], ['likes', 100], ['ratings', 200]]);
    const r = compileSource('spelling.recmodel', PREAMBLE.replace('dim d = 64', 'dim d = 3') + body, { allowDense: true, sizes });
    expect(r.compiled).toBeDefined();
    const c = r.compiled!;
    const objective = add(...c.module.terms.map((t) => t.expr));
    for (let seed = 1; seed <= 6; seed++) {
      const env = envFor(c.module, seed);
      for (const t of c.terms) expect(relErr(evalScalar(t.written, env), evalScalar(t.expr, env)), `seed ${seed}`).toBeLessThanOrEqual(1e-9);
      for (const g of c.grads) expect(maxRelErr(evalTensor(grad(objective, g.param, g.out), env, g.out), evalTensor(g.expr, env, g.out)), `∂/∂${g.param}, seed ${seed}`).toBeLessThanOrEqual(1e-9);
    }
  });
});

// Every local rewrite rule, one line each, written in the DSL and compared up to renaming of bound
// indices (test/helpers/rewrites.ts); and the driver's step bound and trace.
import { describe, expect, it } from 'vitest';
import { InternalError } from '../../compiler/diagnostics/diagnostics.ts';
import { pow, type Expr } from '../../compiler/ir/nodes.ts';
import { fmPairwise, fmPairwiseRules } from '../../compiler/passes/fm-pairwise.ts';
import { indicatorRules } from '../../compiler/passes/indicator.ts';
import {
  deltaEliminate, deltaOutOfSelect, deltaPropagate, directDeltaRules, distributeSum, mergeSums, simplifyRules, splitSelect,
} from '../../compiler/passes/simplify.ts';
import { factorSharedSum, factorSumRules } from '../../compiler/passes/factor-sums.ts';
import { rewrite } from '../../compiler/rewrite/engine.ts';
import { rule, type Rule } from '../../compiler/rewrite/rule.ts';
import { expectSameForm, FIXTURE, parseIR, rewritesTo } from '../helpers/rewrites.ts';

const tested = new Set<Rule>();
const check = (r: Rule, before: string, after: string): void => {
  tested.add(r);
  rewritesTo([r], before, after);
};

describe('simplify rules', () => {
  it('delta-eliminate', () => check(deltaEliminate, 'sum(u in user: δ(u, a)*U[u,b])', 'U[a,b]'));
  it('delta-eliminate (by a gather)', () => check(deltaEliminate, 'sum(t in ratings, u in user: δ(u, ratings.user[t])*bu[u])', 'sum(t in ratings: bu[ratings.user[t]])'));
  it('delta-eliminate (not across two gathers)', () => check(deltaEliminate, 'sum(n in x, m in x, s in rows: δ(x.row[n], s)*δ(x.row[m], s)*x.val[n])', 'sum(n in x, m in x, s in rows: δ(x.row[n], s)*δ(x.row[m], s)*x.val[n])'));
  it('delta-propagate', () => check(deltaPropagate, 'sum(t in ratings: δ(ratings.user[t], a)*bu[a])', 'sum(t in ratings: δ(ratings.user[t], a)*bu[ratings.user[t]])'));
  it('distribute-sum', () => check(distributeSum, 'sum(u in user: (δ(u, a) + bu[u])*U[u,b])', 'sum(u in user: δ(u, a)*U[u,b]) + sum(u in user: bu[u]*U[u,b])'));
  it('delta-out-of-select', () => check(deltaOutOfSelect, 'sum(u in user: (bu[u] > 0 ? δ(u, a)*U[u,b] : 0))', 'sum(u in user: δ(u, a)*(bu[u] > 0 ? U[u,b] : 0))'));
  it('split-select', () => check(splitSelect, 'sum(u in user: (bu[u] > 0 ? δ(u, a) : bu[u])*U[u,b])', 'sum(u in user: (bu[u] > 0 ? δ(u, a) : 0)*U[u,b]) + sum(u in user: (bu[u] > 0 ? 0 : bu[u])*U[u,b])'));
  it('merge-sums', () => check(mergeSums, 'sum(u in user: sum(k in d: δ(u, a)*U[u,k])*bu[u])', 'sum(u in user, k in d: δ(u, a)*U[u,k]*bu[u])'));
  it('the list, to a fixpoint: ∂/∂U[a,b] of Σ_{u,k} U²', () => rewritesTo(simplifyRules, 'sum(u in user, k in d: 2*U[u,k]*δ(u, a)*δ(k, b))', '2*U[a,b]'));
  it('direct δ only: a select is not entered', () => rewritesTo(directDeltaRules, 'sum(u in user: (bu[u] > 0 ? δ(u, a) : 0)*U[u,b])', 'sum(u in user: (bu[u] > 0 ? δ(u, a) : 0)*U[u,b])'));
});

describe('membership indicators (FIXTURE: ratings has id columns user, item)', () => {
  const [ownTuple, indicatorPower] = indicatorRules(FIXTURE.spaces) as [Rule, Rule];
  const liked = (a: string, c: string): string => `sum(m in ratings: δ(ratings.user[m], ${a})*δ(ratings.item[m], ${c}))`;
  it('own-tuple', () => check(ownTuple, `sum(t in ratings: ${liked('ratings.user[t]', 'ratings.item[t]')}*bu[ratings.user[t]])`, 'sum(t in ratings: bu[ratings.user[t]])'));
  it('own-tuple (a test of the user column only counts tuples: kept)', () => check(ownTuple, 'sum(t in ratings: sum(m in ratings: δ(ratings.user[m], ratings.user[t]))*bu[ratings.user[t]])', 'sum(t in ratings: sum(m in ratings: δ(ratings.user[m], ratings.user[t]))*bu[ratings.user[t]])'));
  it('own-tuple (ids of two tuples: kept)', () => check(ownTuple, `sum(t in ratings, n in ratings: ${liked('ratings.user[t]', 'ratings.item[n]')}*bu[ratings.user[t]])`, `sum(t in ratings, n in ratings: ${liked('ratings.user[t]', 'ratings.item[n]')}*bu[ratings.user[t]])`));
  it('indicator-power', () => check(indicatorPower, `${liked('a', 'c')}^3*bu[a]`, `${liked('a', 'c')}*bu[a]`));
});

describe('fm-pairwise', () => {
  it('symmetric pair sum', () => check(fmPairwise, 'sum(n in x, m in x: (ord(n) < ord(m))*W[x.feat[n],b]*W[x.feat[m],b])', '0.5*(sum(n in x, m in x: W[x.feat[n],b]*W[x.feat[m],b]) - sum(n in x: W[x.feat[n],b]^2))'));
  it('not symmetric: kept', () => check(fmPairwise, 'sum(n in x, m in x: (ord(n) < ord(m))*W[x.feat[n],b]*x.val[m])', 'sum(n in x, m in x: (ord(n) < ord(m))*W[x.feat[n],b]*x.val[m])'));
});

describe('factor-sums', () => {
  it('factor-shared-sum', () => check(factorSharedSum, 'bu[a]*sum(u in user: U[u,b]) + 2*sum(u in user: U[u,b]) + bu[a]', '(bu[a] + 2)*sum(u in user: U[u,b]) + bu[a]'));
  it('factor-shared-sum (different sums: kept)', () => check(factorSharedSum, 'bu[a]*sum(u in user: U[u,b]) + 2*sum(u in user: U[u,b]^2)', 'bu[a]*sum(u in user: U[u,b]) + 2*sum(u in user: U[u,b]^2)'));
});

describe('every rule has a test', () => {
  it.each([...simplifyRules, ...fmPairwiseRules, ...indicatorRules(FIXTURE.spaces), ...factorSumRules].map((r) => [r.name, r] as const))('%s', (_, r) => expect(tested.has(r)).toBe(true));
});

describe('the driver', () => {
  it('raises an InternalError naming the last rule when there is no fixpoint', () => {
    const grow = rule('grow', 'pow', (e) => e, (e) => pow(e.base, e.exp + 1));
    const run = () => rewrite(parseIR('bu[a]^2'), [grow], { maxSteps: 10 });
    expect(run).toThrow(InternalError);
    expect(run).toThrow(/last rule grow/);
  });

  it('traces every firing in order, innermost first', () => {
    const fired: [string, Expr, Expr][] = [];
    const withU = { ...FIXTURE, free: { ...FIXTURE.free, u: 'user' } };
    rewrite(parseIR('sum(u in user: sum(k in d: δ(k, b)*U[u,k])*δ(u, a))'), simplifyRules, { trace: (r, before, after) => fired.push([r, before, after]) });
    expect(fired.map(([r]) => r)).toEqual(['delta-eliminate', 'delta-eliminate']);
    expectSameForm(fired[0]![1], 'sum(k in d: δ(k, b)*U[u,k])', withU);
    expectSameForm(fired[0]![2], 'U[u,b]', withU);
    expectSameForm(fired[1]![1], 'sum(u in user: δ(u, a)*U[u,b])');
    expectSameForm(fired[1]![2], 'U[a,b]');
  });
});

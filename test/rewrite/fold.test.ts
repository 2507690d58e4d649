// Every constant-folding rule (compiler/ir/fold.ts), one line each in the DSL: building `before` with
// the smart constructors fires the rule and gives `after` (up to renaming of bound indices). Folding
// happens at construction, so the test traces the rules that fire while parseIR builds `before`.
import { describe, expect, it } from 'vitest';
import {
  addConsts, addZero, call2Consts, callConst, cmpConsts, deltaSame, foldRules, mulConsts, mulOne, mulZero, powConst, powDelta, powMul,
  powOne, powPow, powZero, selectConst, selectSame, sumUnused, sumZero, traceFolds, type FoldRule,
} from '../../compiler/ir/fold.ts';
import { expectSameForm, parseIR } from '../helpers/rewrites.ts';

const fired = (before: string): { names: string[]; e: ReturnType<typeof parseIR> } => {
  const names: string[] = [];
  const e = traceFolds((r) => names.push(r), () => parseIR(before));
  return { names, e };
};

const tested = new Set<FoldRule>();
const check = (r: FoldRule, before: string, after: string): void => {
  tested.add(r);
  const { names, e } = fired(before);
  expect(names, `${r.name} fires building ${before}`).toContain(r.name);
  expectSameForm(e, after);
};

describe('folding rules', () => {
  it('add-consts', () => check(addConsts, 'bu[a] + 2 + 3', 'bu[a] + 5'));
  it('add-zero', () => check(addZero, 'bu[a] + 0', 'bu[a]'));
  it('mul-consts', () => check(mulConsts, '2*U[a,b]*3', '6*U[a,b]'));
  it('mul-zero', () => check(mulZero, 'U[a,b]*0', '0'));
  it('mul-one', () => check(mulOne, 'U[a,b]*1', 'U[a,b]'));
  it('pow-zero', () => check(powZero, 'U[a,b]^0', '1'));
  it('pow-one', () => check(powOne, 'U[a,b]^1', 'U[a,b]'));
  it('pow-const', () => check(powConst, '2^3', '8'));
  it('pow-pow', () => check(powPow, '(bu[a]^2)^3', 'bu[a]^6'));
  it('pow-delta', () => check(powDelta, 'sum(u in user: δ(u, a)^2*U[u,b])', 'sum(u in user: δ(u, a)*U[u,b])'));
  it('pow-mul', () => check(powMul, '(2*bu[a])^2', '4*bu[a]^2'));
  it('call-const', () => check(callConst, 'exp(0) + bu[a]', '1 + bu[a]'));
  it('call2-consts', () => check(call2Consts, 'max(2, 3)', '3'));
  it('cmp-consts', () => check(cmpConsts, '(2 < 3)*bu[a]', 'bu[a]'));
  it('select-const', () => check(selectConst, '0 ? U[a,b] : bu[a]', 'bu[a]'));
  it('select-same', () => check(selectSame, 'bu[a] > 0 ? U[a,b] : U[a,b]', 'U[a,b]'));
  it('delta-same', () => check(deltaSame, 'δ(a, a)*bu[a]', 'bu[a]'));
  it('sum-zero', () => check(sumZero, 'sum(u in user: 0)', '0'));
  it('sum-unused', () => check(sumUnused, 'sum(u in user, k in d: U[u,b])', '|d|*sum(u in user: U[u,b])'));
});

describe('every folding rule has a test', () => {
  it.each(foldRules.map((r) => [r.name, r] as const))('%s', (_, r) => expect(tested.has(r)).toBe(true));
});

describe('folding and canonicalization', () => {
  it('a folded node is the node of its value: 2+3 is 5', () => expect(parseIR('2 + 3')).toBe(parseIR('5')));
  it('like terms merge without a folding rule: c·x + c′·x → (c+c′)·x is canonicalization', () => {
    const { names, e } = fired('2*bu[a] + 3*bu[a]');
    expect(names).toEqual([]);
    expectSameForm(e, '5*bu[a]');
  });
  it('terms that cancel: 0·x → 0, then x + 0 → x', () => {
    const { names, e } = fired('bu[a] - bu[a] + mu');
    expect(names).toEqual(['mul-zero', 'add-zero']);
    expectSameForm(e, 'mu');
  });
  it('constants are summed in the order they came (float rounding as written)', () => {
    expect(parseIR('0.1 + 0.2 + 0.3')).toBe(parseIR(String(0.1 + 0.2 + 0.3)));
  });
});

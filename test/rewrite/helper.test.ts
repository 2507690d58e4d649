// The DSL rewrite-test helper itself: it reads what printIR writes, and its comparison is up to
// renaming of bound indices and operand order — and no coarser.
import { describe, expect, it } from 'vitest';
import { printIR } from '../../compiler/ir/print.ts';
import { canonical, parseIR } from '../helpers/rewrites.ts';

const same = (a: string, b: string): boolean => canonical(parseIR(a)) === canonical(parseIR(b));

describe('parseIR', () => {
  it.each([
    'sum(k in d, l in d: sum(u in user: U[u,k]*U[u,l])*sum(i in item: V[i,k]*V[i,l]))',
    'sum(t in ratings: (ratings.rating[t] - sum(k in d: U[ratings.user[t],k]*V[ratings.item[t],k]))^2)*B(ratings)^(-1)',
    '|user|^(-1)*mu*sum(u in user: (bu[u] > 0 ? δ(u, a) : 0)*softplus(-bu[u]))',
    '0.5*(sum(n in x, m in x: W[x.feat[n],b]*W[x.feat[m],b]) - sum(n in x: max(m in x: x.val[m])*W[x.feat[n],b]^2))',
  ])('reads back what printIR writes: %s', (text) => {
    const e = parseIR(text);
    expect(canonical(parseIR(printIR(e)))).toBe(canonical(e));
  });
});

describe('canonical', () => {
  it('ignores the names of bound indices and the order of operands', () => {
    expect(same('sum(k in d, l in d: U[a,k]*V[c,l])', 'sum(p in d, q in d: V[c,q]*U[a,p])')).toBe(true);
    expect(same('sum(u in user: bu[u]) + mu', 'mu + sum(v in user: bu[v])')).toBe(true);
  });
  it('tells apart different index wiring, free indices and spaces', () => {
    expect(same('sum(k in d, l in d: U[a,k]*V[c,l])', 'sum(k in d: U[a,k]*V[c,k])')).toBe(false);
    expect(same('sum(k in d, l in d: U[a,k]*U[a,l]*V[c,k]*V[c,l])', 'sum(k in d, l in d: U[a,k]*U[a,k]*V[c,l]*V[c,l])')).toBe(false);
    expect(same('U[a,b]', 'U[a,b]*1 + 0')).toBe(true);
    expect(same('sum(k in d: U[a,k]*h[b])', 'sum(k in d: U[a,b]*h[k])')).toBe(false);
    expect(same('sum(u in user: bu[u])', 'sum(i in item: bi[i])')).toBe(false);
  });
});

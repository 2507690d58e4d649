// `recc explain --trace`: with `trace: true`, compile records every rule that fired per term and
// gradient, in order, and explain prints them; without it, explain prints no trace.
import { describe, expect, it } from 'vitest';
import { compileFile } from '../../compiler/compile.ts';
import { explainCompiled } from '../../compiler/explain.ts';

const compiled = (file: string, trace: boolean) => {
  const c = compileFile(`examples/${file}`, { trace }).compiled;
  if (!c) throw new Error(`${file} does not compile`);
  return c;
};

describe('explain --trace', () => {
  it('mf-gramian: the Gramian term is expanded then contracted; ∂U eliminates its δs first', () => {
    const c = compiled('mf-gramian.recmodel', true);
    expect(c.terms.find((t) => t.name === 'gram')!.trace!.map((s) => s.rule)).toEqual(['expand', 'contract']);
    const gu = c.grads.find((g) => g.param === 'U')!.trace!.map((s) => s.rule);
    expect(gu.slice(-2)).toEqual(['expand', 'contract']);
    expect(gu.slice(0, -2).every((r) => r === 'delta-eliminate')).toBe(true);
    expect(gu.length).toBeGreaterThan(2);
    const text = explainCompiled(c, { trace: true });
    // one numbered line per firing, then the node it rewrote and (→) its replacement
    expect(text).toMatch(/^ +trace:\n +1\. expand\n.+\n +→ .+\n +2\. contract$/m);
  });

  it('fm: fm-pairwise fires on the fit term and, before differentiation, for every gradient', () => {
    const c = compiled('fm.recmodel', true);
    expect(c.terms.find((t) => t.name === 'fit')!.trace!.map((s) => s.rule)).toContain('fm-pairwise');
    for (const g of c.grads) expect(g.trace![0]!.rule).toBe('fm-pairwise');
  });

  it('prints no trace unless asked, and records none unless compiled with trace', () => {
    const c = compiled('mf-gramian.recmodel', false);
    expect(c.terms.every((t) => t.trace === undefined)).toBe(true);
    expect(explainCompiled(c)).not.toContain('trace:');
  });
});

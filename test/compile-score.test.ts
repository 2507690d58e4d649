// Compiled.score: the forms of `def score` evaluation and `recc recommend` run, lowered by compile
// (compiler/lower/score.ts) so that the runtime never lowers or rewrites. Tuples and pairs for an id
// relation, rows (through fm-pairwise) for a sparse one, and the reason in words where a form cannot
// exist — which evaluateModel shows only when a metric asks for that form.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileSource, type Compiled } from '../compiler/compile.ts';
import { printIR } from '../compiler/ir/print.ts';

const EXAMPLES = new URL('../examples/', import.meta.url).pathname;

function compileText(name: string, text: string): Compiled {
  const r = compileSource(join(EXAMPLES, name), text);
  expect(r.compiled, r.diagnostics.map((d) => d.message).join('\n')).toBeDefined();
  return r.compiled!;
}

const example = (name: string): Compiled => compileText(`${name}.recmodel`, readFileSync(join(EXAMPLES, `${name}.recmodel`), 'utf8'));

describe('Compiled.score', () => {
  it('an id relation: score over the tuples (gathers) and over users × items (free indices), no rows form', () => {
    const s = example('mf-biased').score!;
    expect(s.relation).toBe('ratings');
    if (s.tuples.kind === 'unavailable' || s.pairs.kind === 'unavailable') throw new Error('expected tuples and pairs forms');
    expect(s.tuples.out.map((i) => i.space)).toEqual(['ratings']);
    expect(s.tuples.cols).toEqual(['user', 'item']);
    expect(printIR(s.tuples.expr)).toContain('bu[ratings.user[t]]');
    expect(s.pairs.out.map((i) => i.space)).toEqual(['user', 'item']);
    expect(s.pairs.domains).toEqual(['user', 'item']);
    expect(printIR(s.pairs.expr)).toContain('bi[i]');
    expect(s.rows).toEqual({ kind: 'unavailable', reason: 'ratings has no sparse column to score row by row' });
  });

  it('a sparse relation: the rows form is rewritten (fm-pairwise) and far cheaper than as written', () => {
    const s = example('fm').score!;
    expect(s.relation).toBe('clicks');
    if (s.rows.kind === 'unavailable') throw new Error(s.rows.reason);
    expect(s.rows.col).toBe('x');
    expect(s.rows.steps.map((x) => x.rule)).toContain('fm-pairwise');
    expect(s.rows.cost.flops * 100).toBeLessThan(s.rows.costWritten.flops);
    expect(s.tuples.kind).toBe('unavailable');
    expect(s.pairs.kind).toBe('unavailable');
  });

  it('without `def score`, every form says why (the model still compiles)', () => {
    // without its evaluate block too: `check` refuses metrics with no `def score` (RC0554)
    const text = readFileSync(join(EXAMPLES, 'mf-biased.recmodel'), 'utf8').replaceAll('score(', 'predict(').replace(/^evaluate \{.*\}$/m, '');
    const s = compileText('no-score.recmodel', text).score!;
    for (const f of [s.tuples, s.pairs]) expect(f).toEqual({ kind: 'unavailable', reason: 'metrics need a `def score(…)` that predicts from ids; the model has none' });
  });
});

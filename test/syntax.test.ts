// Syntax goldens (test/golden/syntax) and the shapes the parser gives expressions. The token-level
// fuzz of the front end lives in fuzz.test.ts.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from '../compiler/syntax/parse.ts';
import { sourceFile } from '../compiler/diagnostics/source.ts';
import { golden, loadFixtures, render } from './helpers/golden.ts';

const dir = new URL('./golden/syntax/', import.meta.url).pathname;

describe('syntax goldens', () => {
  for (const fx of loadFixtures(dir)) {
    it(fx.name, () => {
      const r = parse(fx.src);
      const actual = render(r.diagnostics, fx.src);
      expect(actual).toBe(golden(fx, actual));
      expect(r.program === undefined).toBe(r.diagnostics.some((d) => d.severity === 'error'));
    });
  }
});

describe('parser shapes', () => {
  const expr = (text: string) => {
    const r = parse(sourceFile('t.recmodel', `loss t = ${text}`));
    expect(r.diagnostics).toEqual([]);
    const d = r.program!.decls[0]!;
    if (d.kind !== 'TermDecl') throw new Error('not a term');
    return d.body;
  };
  const show = (e: ReturnType<typeof expr>): string => {
    switch (e.kind) {
      case 'BinaryExpr':
        return `(${show(e.left)} ${e.op} ${show(e.right)})`;
      case 'UnaryExpr':
        return `(${e.op} ${show(e.arg)})`;
      case 'TernaryExpr':
        return `(${show(e.cond)} ? ${show(e.then)} : ${show(e.else)})`;
      case 'NumberLit':
        return e.text;
      case 'IdentExpr':
        return e.name;
      case 'IndexExpr':
        return `${e.target.name}[${e.indices.map(show).join(', ')}]`;
      case 'CallExpr':
        return `${e.callee.name}(${e.args.map((a) => (a.name ? a.name.name + '=' : '') + show(a.value)).join(', ')})`;
      case 'AggregateExpr':
        return `${e.op}{${e.bindings.map((b) => b.kind).join(',')}}(${show(e.body)})`;
      case 'MemberExpr':
        return `member(${e.tuple.map(show).join(', ')}; ${e.relation.name})`;
      case 'SizeExpr':
        return `|${e.name.name}|`;
      case 'StringLit':
        return JSON.stringify(e.value);
    }
  };
  it('follows the precedence table', () => {
    expect(show(expr('a + b * c . d ^ 2'))).toBe('(a + (b * (c . (d ^ 2))))');
    expect(show(expr('-x ^ 2'))).toBe('(- (x ^ 2))');
    expect(show(expr('-a . b'))).toBe('((- a) . b)');
    expect(show(expr('a ^ b ^ c'))).toBe('(a ^ (b ^ c))');
    expect(show(expr('a - b - c'))).toBe('((a - b) - c)');
    expect(show(expr('not a < b and c or d'))).toBe('(((not (a < b)) and c) or d)');
    expect(show(expr('c ? a : b ? d : e'))).toBe('(c ? a : (b ? d : e))');
    expect(show(expr('2 ^ -1'))).toBe('(2 ^ (- 1))');
    expect(show(expr('(u, i) in likes ? 1 : 0'))).toBe('(member(u, i; likes) ? 1 : 0)');
    expect(show(expr('sum(U^2) / |user|'))).toBe('(sum((U ^ 2)) / |user|)');
    expect(show(expr('max(0, m - p)'))).toBe('max(0, (m - p))');
  });
  it('tells aggregations from calls', () => {
    expect(show(expr('mean((u, i, r) in ratings, j ~ uniform(item), J ~ pop(item, 0.75) x 100, k in d, j < l in x: 1)'))).toBe(
      'mean{TupleBinding,SampleBinding,SampleBinding,RangeBinding,PairBinding}(1)',
    );
    expect(show(expr('sum(c ? a : b)'))).toBe('sum((c ? a : b))');
    expect(show(expr('sum(u in user: c ? a : b)'))).toBe('sum{RangeBinding}((c ? a : b))');
  });
  it('keeps contextual words usable as names', () => {
    const r = parse(sourceFile('t.recmodel', 'const seed = 1, x = 2, time = 3, every = 4, steps = 5, batch = 6\nloss t = seed + x + time + every + steps + batch'));
    expect(r.diagnostics).toEqual([]);
  });
  it('spans every node inside the file', () => {
    const text = readFileSync(new URL('../examples/mf-gramian.recmodel', import.meta.url), 'utf8');
    const r = parse(sourceFile('mf.recmodel', text));
    const walk = (v: unknown): void => {
      if (Array.isArray(v)) return v.forEach(walk);
      if (typeof v !== 'object' || v === null) return;
      const o = v as Record<string, unknown>;
      const sp = o.span as { start: number; end: number } | undefined;
      if (sp) {
        expect(sp.start).toBeGreaterThanOrEqual(0);
        expect(sp.end).toBeLessThanOrEqual(text.length);
        expect(sp.start).toBeLessThanOrEqual(sp.end);
      }
      Object.values(o).forEach(walk);
    };
    walk(r.program);
  });
});

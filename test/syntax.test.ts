// Syntax goldens (test/golden/syntax) and a token-level fuzz of the front end: parse and check
// never throw, and every diagnostic span lies inside the file (or names the command line).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { check } from '../compiler/check/index.ts';
import { isCode } from '../compiler/messages.ts';
import { parse } from '../compiler/parse.ts';
import { sourceFile } from '../compiler/source.ts';
import { lexer } from '../grammar/tokens.ts';
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

/** mulberry32: a tiny seeded PRNG, so failures reproduce. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('fuzz: token-level mutations of valid models', () => {
  const bases = [
    ...['../examples/mf-gramian.recmodel', '../examples/mf-biased.recmodel'].map((p) => readFileSync(new URL(p, import.meta.url), 'utf8')),
    ...loadFixtures(new URL('./golden/check/', import.meta.url).pathname)
      .filter((f) => f.name.startsWith('valid-seed'))
      .map((f) => f.src.text),
  ];
  const pool = ['(', ')', '[', ']', '{', '}', ',', ':', '=', '~', '.', '^', '|', '@', '?', '-', '*', 'in', 'sum', 'mean', 'x', 'u', 'i', 'user', 'd', '0', '1e-3', '"s"', 'param', 'loss', 'def', 'train', 'index', '$', '"', '#', '\n'];
  it('never throws on random token soup (300 streams)', () => {
    const rand = prng(7);
    const words = [...pool, 'model', 'index', 'data', 'dim', 'const', 'split', 'holdout', 'by', 'time', 'per', 'user', 'batch', 'full', 'users', 'evaluate', 'metrics', 'every', 'epochs', 'steps', 'optimizer', 'schedule', 'seed', 'from', 'format', 'where', 'and', 'or', 'not', '<', '<=', '==', '!=', 'J', 'pop', 'uniform', 'logq'];
    for (let n = 0; n < 300; n++) {
      const len = 1 + Math.floor(rand() * 40);
      const text = Array.from({ length: len }, () => words[Math.floor(rand() * words.length)]!).join(' ');
      const p = parse(sourceFile('soup.recmodel', text));
      const ds = p.program ? [...p.diagnostics, ...check(p.program).diagnostics] : p.diagnostics;
      for (const d of ds) expect(d.span.end).toBeLessThanOrEqual(text.length);
    }
  });

  it('never throws and keeps spans inside the file (2000 mutants)', () => {
    const rand = prng(20240611);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
    for (let n = 0; n < 2000; n++) {
      const base = pick(bases);
      const toks = lexer.tokenize(base).tokens;
      let text = base;
      const edits = 1 + Math.floor(rand() * 3);
      for (let k = 0; k < edits; k++) {
        const t = pick(toks);
        const start = Math.min(t.startOffset, text.length);
        const end = Math.min(start + t.image.length, text.length);
        const r = rand();
        const ins = r < 0.33 ? '' : r < 0.66 ? pick(pool) : pick(toks).image;
        text = r < 0.8 ? text.slice(0, start) + ins + text.slice(end) : text.slice(0, start) + ins + ' ' + text.slice(start);
      }
      const src = sourceFile('fuzz.recmodel', text);
      let diags;
      try {
        const p = parse(src);
        diags = p.diagnostics;
        if (p.program) diags = [...diags, ...check(p.program, { sets: new Map([['d', 8]]) }).diagnostics];
      } catch (e) {
        throw new Error(`mutant ${n} threw ${String(e)}\n---\n${text}`);
      }
      for (const d of diags) {
        expect(isCode(d.code), d.code).toBe(true);
        const spans = [d.span, ...(d.notes ?? []).flatMap((x) => (x.span ? [x.span] : []))];
        for (const sp of spans) {
          if (sp.file !== 'fuzz.recmodel') continue;
          if (!(sp.start >= 0 && sp.end <= text.length && sp.start <= sp.end)) throw new Error(`mutant ${n}: span ${JSON.stringify(sp)} outside file\n${text}`);
        }
        expect(d.message).not.toMatch(/Expecting|Redundant|NoViableAlt|MismatchedToken/);
      }
    }
  });
});

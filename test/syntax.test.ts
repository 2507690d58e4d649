// Syntax goldens (test/golden/syntax), the shapes the parser gives expressions, the grammar's own
// validity (Chevrotain's checks, which the compiler's parser skips), the generated CST types, and every
// model file of the repository parsing cleanly. The token-level fuzz of the front end is fuzz.test.ts.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { CstParser, type TokenType } from 'chevrotain';
import { describe, expect, it } from 'vitest';
import { generateModel } from '../bench/check.ts';
import { parse } from '../compiler/syntax/parse.ts';
import { sourceFile } from '../compiler/diagnostics/source.ts';
import { RecParser } from '../grammar/parser.ts';
import { allTokens, Identifier, lexer } from '../grammar/tokens.ts';
import { CST_DTS_PATH, cstDts } from '../scripts/gen-cst-dts.ts';
import { golden, loadFixtures, render } from './helpers/golden.ts';

const root = new URL('../', import.meta.url).pathname;

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

describe('lexing in pieces', () => {
  it('lexing a file a line at a time or whole gives the same diagnostics and AST (parse.ts cuts at line starts)', () => {
    const fixtures = loadFixtures(dir);
    expect(fixtures.length).toBeGreaterThan(20);
    const texts = [...fixtures.map((fx) => fx.src.text), fixtures.map((fx) => fx.src.text).join('\n'), generateModel(300), ...FORMS];
    for (const text of texts) {
      const src = sourceFile('/x/pieces.recmodel', text);
      const whole = parse(src, { pieceChars: Infinity });
      expect(parse(src, { pieceChars: 1 }), text.slice(0, 80)).toEqual(whole);
      expect(parse(src, { pieceChars: 40 }), text.slice(0, 80)).toEqual(whole);
      expect(parse(src), text.slice(0, 80)).toEqual(whole);
    }
  });
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
    expectSpansInside(parse(sourceFile('mf.recmodel', text)).program, text);
  });
  it('spans names, calls, indices and sizes from their first to their last token', () => {
    const text = 'loss t = f(a, b) + U[u, k] * |user| - x';
    const d = parse(sourceFile('t.recmodel', text)).program!.decls[0]!;
    const spans: string[] = [];
    const walk = (v: unknown): void => {
      if (Array.isArray(v)) return v.forEach(walk);
      if (typeof v !== 'object' || v === null) return;
      const o = v as { kind?: string; span?: { start: number; end: number } };
      if (o.kind && ['CallExpr', 'IndexExpr', 'SizeExpr', 'IdentExpr'].includes(o.kind) && o.span) spans.push(text.slice(o.span.start, o.span.end));
      Object.values(o).forEach(walk);
    };
    walk(d);
    expect(spans).toEqual(['f(a, b)', 'a', 'b', 'U[u, k]', 'u', 'k', '|user|', 'x']);
  });
});

function expectSpansInside(program: unknown, text: string): void {
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
  expect(program).toBeDefined();
  walk(program);
}

describe('grammar', () => {
  it('passes Chevrotain\'s grammar and lexer checks (skipped by the parser the compiler builds)', () => {
    // with validations on, a grammar or token definition error throws while the parser is built …
    expect(() => new RecParser({ validate: true })).not.toThrow();
    // … as it does for this ambiguous one
    class Ambiguous extends CstParser {
      constructor() {
        super(allTokens as TokenType[], { skipValidations: false });
        this.performSelfAnalysis();
      }
      public top = this.RULE('top', () => {
        this.OR([{ ALT: () => this.CONSUME(Identifier) }, { ALT: () => this.CONSUME2(Identifier) }]);
      });
    }
    expect(() => new Ambiguous()).toThrow(/Ambiguous/i);
    // ensureOptimizations: every token can be found by its first character
    expect(lexer({ validate: true }).lexerDefinitionErrors).toEqual([]);
    expect(allTokens.length).toBeGreaterThan(40);
  });

  it('the lexer makes every token with its end offset (the parser\'s node locations read it)', () => {
    const text = 'param U[user, d] ~ normal(0, 0.1) # c\ndef s(u) = "x" + 12.5e-3';
    for (const lex of [lexer(), lexer({ validate: true })]) {
      const { tokens, errors } = lex.tokenize(text);
      expect(errors).toEqual([]);
      expect(tokens.length).toBeGreaterThan(10);
      for (const t of tokens) {
        expect(t.endOffset).toBe(t.startOffset + t.image.length - 1);
        expect(text.slice(t.startOffset, t.endOffset! + 1)).toBe(t.image);
      }
    }
  });

  it('grammar/cst.d.ts is what scripts/gen-cst-dts.ts generates from grammar/parser.ts (npm run gen:cst)', () => {
    expect(readFileSync(CST_DTS_PATH, 'utf8')).toBe(cstDts());
  });
});

function recmodels(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) return recmodels(p);
    return f.endsWith('.recmodel') ? [p] : [];
  });
}

/** Forms the examples and fixtures may not all have. */
const FORMS = [
  'model m\nindex user, item\ndata r(user: user, item: item, rating: float, t: int, s: string) from "r.tsv" format tsv\ndata likes = r where rating >= 4 and not t < 3 or s == "x"',
  'model m\ndata r() from "r.csv" format csv\ndata x(row: row, f: sparse feature) from "x.libsvm" format libsvm',
  'split r: holdout 0.2 seed 7 by time per user\nsplit r: leave_one_out by time seed 3\nsplit r: kfold 5 fold 2 seed 1\nsplit r: files "a.tsv", "b.tsv"\nsplit r: holdout 0.1',
  'dim d = 16, k = 4\nconst a = 1, b = -2 ^ -1 ^ 2, c = (a + b) * 3 / 4 - 5 . 6, e = 1e-3, f = 2.5E+10, g = x ? y : z ? 1 : 2',
  'param U[user, d] ~ normal(0, 0.1)\nparam V[item, d] ~ uniform(lo = -0.1, hi = 0.1)\nparam W[item] ~ normal(std = 1, mean = 0)\nparam mu = 3.5\nparam b[item] = 0',
  'def f() = 1\ndef g(u: user, i) = U[u] . V[i] + |user| / |ratings|\ndef h(x) = not not x and -x or not (x < 1) and "s" != "t"',
  'loss a = mean((u, i, r) in ratings: (r - f(u, i))^2)\nreg b = 0.1 * sum(U^2)\nloss c = sum(u in user, k in d: U[u, k])\nloss d = sum((u, i) in likes, j ~ uniform(item, exclude = likes): bpr(s(u, i), s(u, j)))',
  'loss e = mean((u, i) in likes, J ~ pop(item, 0.75) x 100: logsumexp(j in J: s(u, j) - logq(j)))\nloss f = sum(t in x, j < l in x: x[j] * x[l])\nloss g = max(u in user: min(1, 2)) + clip(a, 0, 1)',
  'loss h = mean((u, i) in likes, J ~ inbatch(item): 1)\nloss k = sum(i in item: (u, i) in likes ? 1 : 0)\nloss l = f(a = 1, 2)',
  'train {\n  optimizer adam(lr = 0.01, beta1 = 0.9)\n  optimizer sgd\n  schedule step(0.5, every = 100)\n  epochs 3\n  steps 10\n  batch 256 users\n  batch full\n  batch 4096\n  seed 42\n}\nevaluate {\n  metrics rmse, recall@10, ndcg@5\n  every 2 epochs\n  every 100 steps\n}',
  'model seed\nindex from, where, by\ndef seed(per, batch) = per + batch\nloss every = seed(1, 2) + format + files(x = 1)',
  'model m # a comment\n# another\r\nindex\tu\r\n',
  '',
  '# only a comment',
];

describe('every model file parses', () => {
  it('every example, std library and non-syntax golden fixture parses without a syntax diagnostic', () => {
    const files = [...recmodels(join(root, 'examples')), ...recmodels(join(root, 'std')), ...recmodels(join(root, 'test/golden'))];
    expect(files.length).toBeGreaterThan(50);
    // the one import that fails to parse on purpose (for check/import-syntax-error)
    const broken = (p: string): boolean => p.endsWith('/check/imports/syntax-error.recmodel');
    let clean = 0;
    for (const path of files) {
      if (path.includes('/golden/syntax/')) continue; // the syntax goldens above carry their own expectations
      const text = readFileSync(path, 'utf8');
      const r = parse(sourceFile(path, text));
      const syntax = r.diagnostics.filter((d) => d.code.startsWith('RC01'));
      if (broken(path)) {
        expect(syntax.length, path).toBeGreaterThan(0);
        continue;
      }
      expect(syntax.map((d) => `${d.code} ${d.message}`), path).toEqual([]);
      expectSpansInside(r.program, text);
      clean++;
    }
    expect(clean).toBeGreaterThan(40);
  });

  it('parses the rarer forms and keywords used as names', () => {
    for (const [k, text] of FORMS.entries()) {
      const r = parse(sourceFile('/x/forms.recmodel', text));
      expect(r.diagnostics.map((d) => `${d.code} ${d.message}`), `form ${k}`).toEqual([]);
      expectSpansInside(r.program, text);
    }
  });

  it('parses a large generated model (bench/check.ts)', () => {
    const text = generateModel(2000);
    const r = parse(sourceFile('/x/bench.recmodel', text));
    expect(r.diagnostics).toEqual([]);
    expect(r.program?.decls.length).toBeGreaterThan(1500);
  });
});

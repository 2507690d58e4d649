// The fast path of parsing (compiler/fast-parse.ts) against the Chevrotain path (parse.ts
// `parseChevrotain`), on every example, std library and golden fixture, on forms the corpus may lack,
// and on thousands of token-level mutants: where the fast path gives a program it is the Chevrotain
// path's program, key for key and span for span, and that path reports nothing; where the Chevrotain
// path reports nothing, the fast path gives a program (else large files silently lose the speed).
// The fast lexer is compared token by token with grammar/tokens.ts's lexer the same way.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateModel } from '../bench/check.ts';
import { fastParse, fastTokens, TOKEN_NAMES } from '../compiler/syntax/fast-parse.ts';
import { parse, parseChevrotain } from '../compiler/syntax/parse.ts';
import { sourceFile } from '../compiler/diagnostics/source.ts';
import { lexer, UnterminatedString } from '../grammar/tokens.ts';
import { prng } from './helpers/ir-env.ts';
import { mutateTokens } from './helpers/mutate.ts';

const root = new URL('../', import.meta.url).pathname;

function recmodels(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) return recmodels(p);
    return f.endsWith('.recmodel') ? [p] : [];
  });
}

const files = [...recmodels(join(root, 'examples')), ...recmodels(join(root, 'std')), ...recmodels(join(root, 'test/golden'))].map((path) => ({
  path,
  text: readFileSync(path, 'utf8'),
}));

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

function assertSameTokens(text: string, label: string): void {
  const fast = fastTokens(text);
  const slow = lexer.tokenize(text);
  const clean = slow.errors.length === 0 && !slow.tokens.some((t) => t.tokenType === UnterminatedString);
  if (!fast) {
    expect(clean, `${label}: the fast lexer gave up on a file Chevrotain lexes\n---\n${text}`).toBe(false);
    return;
  }
  expect(clean, `${label}: the fast lexer accepted a file Chevrotain does not lex\n---\n${text}`).toBe(true);
  const got = fast.kind.map((k, j) => `${TOKEN_NAMES[k]}@${fast.start[j]}-${fast.end[j]}`);
  const want = slow.tokens.map((t) => `${t.tokenType.name}@${t.startOffset}-${t.startOffset + t.image.length}`);
  expect(got, label).toEqual(want);
}

/** Returns whether the fast path gave a program. */
function assertSameProgram(path: string, text: string, label: string): boolean {
  const src = sourceFile(path, text);
  const fast = fastParse(src);
  const slow = parseChevrotain(src);
  const clean = slow.program !== undefined && slow.diagnostics.length === 0;
  if (!fast) {
    expect(clean, `${label}: the fast path gave up on a file the Chevrotain path parses without a diagnostic\n---\n${text}`).toBe(false);
    return false;
  }
  expect(slow.diagnostics.map((d) => `${d.code} ${d.message}`), `${label}: the fast path accepted a file with diagnostics\n---\n${text}`).toEqual([]);
  // key order included: the AST is printed and serialized
  expect(JSON.stringify(fast), `${label}\n---\n${text}`).toBe(JSON.stringify(slow.program));
  return true;
}

describe('fast parse path', () => {
  it('lexes and parses every example, std library and golden fixture as the Chevrotain path does', () => {
    expect(files.length).toBeGreaterThan(50);
    let fast = 0;
    for (const f of files) {
      assertSameTokens(f.text, f.path);
      if (assertSameProgram(f.path, f.text, f.path)) fast++;
    }
    // most fixtures are valid; the invalid ones (syntax goldens) take the Chevrotain path
    expect(fast).toBeGreaterThan(files.length / 2);
  });

  it('handles the rarer forms and keywords used as names', () => {
    for (const [k, text] of FORMS.entries()) {
      assertSameTokens(text, `form ${k}`);
      expect(assertSameProgram('/x/forms.recmodel', text, `form ${k}`), `form ${k} takes the fast path`).toBe(true);
    }
  });

  it('parses a large generated model on the fast path', () => {
    const text = generateModel(400);
    assertSameTokens(text, 'generated');
    expect(assertSameProgram('/x/bench.recmodel', text, 'generated')).toBe(true);
    expect(parse(sourceFile('/x/bench.recmodel', text)).program?.decls.length).toBeGreaterThan(300);
  });

  it('every keyword, operator and edge of a token lexes as grammar/tokens.ts does', () => {
    const words = Object.values(TOKEN_NAMES).map((n) => n.toLowerCase());
    const texts = [
      ...words.flatMap((w) => [w, `${w}x`, `${w}_`, `${w}1`, w.slice(0, -1), `x${w}`, w.toUpperCase()]),
      'leave_one_out', 'kfold', 'in', 'ind', 'inde', 'index', 'indexes', 'imp', 'import', 'not', 'nothing', 'or', 'order', 'and', 'andy',
      '1', '1.', '1.5', '.5', '1.5.3', '1e5', '1e', '1e+', '1e-3', '1E+3', '1.5e-3x', '12ab', '007',
      '<', '<=', '<<=', '>', '>=', '=', '==', '===', '!=', '!', '!!=', '@', '|x|', '~', '?', '^', '&', '%', ';', "'", '$',
      '"a"', '"a\\"b"', '"a\\\\"', '"unterminated', '"a\\\nb"', '"a\nb"', '"\\', '"a\rb"', '"a\\\rb"', '"a\u2028b"', '"a\\\u2028b"',
      '#c', '#c\nx', 'a\fb', 'a\u00a0b', 'a\vb', 'é', 'x\r\ny', '\t\t',
    ];
    for (const t of texts) assertSameTokens(t, JSON.stringify(t));
  });

  it('agrees with the Chevrotain path on token-level mutants', { timeout: 120_000 }, () => {
    const rand = prng(90210);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
    const POOL = ['(', ')', '[', ']', '{', '}', ',', ':', '=', '~', '.', '^', '|', '@', '?', '-', '*', '/', '+', '<', '<=', '==', '!=', '>', '>=', 'in', 'and', 'or',
      'not', 'sum', 'mean', 'x', 'u', 'i', 'j', 'J', 'user', 'item', 'ratings', 'likes', '0', '1', '1e-3', '"s"', 'model', 'index', 'data', 'split', 'dim', 'const', 'param',
      'def', 'loss', 'reg', 'train', 'evaluate', 'where', 'from', 'format', 'holdout', 'by', 'time', 'per', 'batch', 'full', 'users', 'epochs', 'steps', 'seed',
      'optimizer', 'schedule', 'metrics', 'every', 'uniform', 'pop', 'normal', 'sparse', 'fold', 'files', '\n', '#', '"', '!'];
    const bases = [...files, ...FORMS.map((text, k) => ({ path: `/x/form${k}.recmodel`, text }))].filter((b) => b.text.length > 0);
    const tokens = new Map(bases.map((b) => [b.path, lexer.tokenize(b.text).tokens]));
    let fast = 0;
    let clean = 0;
    const N = 6000;
    for (let n = 0; n < N; n++) {
      const b = pick(bases);
      const toks = tokens.get(b.path)!;
      if (toks.length === 0) continue;
      const text = mutateTokens(b.text, toks, POOL, rand, { maxEdits: 2, poolReplaceBelow: 0.55 });
      assertSameTokens(text, `mutant ${n} of ${b.path}`);
      if (assertSameProgram(b.path, text, `mutant ${n} of ${b.path}`)) fast++;
      const s = parseChevrotain(sourceFile(b.path, text));
      if (s.program && s.diagnostics.length === 0) clean++;
    }
    // both kinds are represented (most mutants do not parse)
    expect(fast).toBe(clean);
    expect(fast).toBeGreaterThan(N / 30);
    expect(fast).toBeLessThan(N * 0.9);
  });
});

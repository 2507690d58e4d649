// Fuzzing the front end (imports + parse + check + rendering) with random token soup and token-level
// mutants of every example, every std library file and every valid golden fixture — some of them
// mutating an imported library instead of the model. Nothing may throw, use an uncatalogued code, leak
// Chevrotain's wording, or point a span (or a note) outside the file it names. Seeded (mulberry32), so
// a failure reproduces; the failing text is shown. `npm test` runs 4,000 inputs; RECC_FUZZ=long runs
// 12,000. How long a case takes is a benchmark, not a test: the slowest is printed here, and
// bench/check.ts times the front end.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { resolveImports, STD_DIR, type ImportHost } from '../compiler/check/imports.ts';
import { check } from '../compiler/check/index.ts';
import { hasErrors, renderDiagnostics, type Diagnostic } from '../compiler/diagnostics/diagnostics.ts';
import { isCode } from '../compiler/diagnostics/messages.ts';
import { parse } from '../compiler/syntax/parse.ts';
import { sourceFile, type SourceFile } from '../compiler/diagnostics/source.ts';
import { lexer } from '../grammar/tokens.ts';
import { loadFixtures } from './helpers/golden.ts';
import { prng } from './helpers/ir-env.ts';
import { mutateTokens } from './helpers/mutate.ts';

const LONG = process.env.RECC_FUZZ === 'long';
const SOUP = LONG ? 2_000 : 1_000;
const MUTANTS = LONG ? 10_000 : 3_000;

/** the slowest case so far, printed after each test (a near-hang shows up here, not as a flaky bound) */
let slowest = { ms: 0, label: '' };

const root = new URL('../', import.meta.url).pathname;
const examples = readdirSync(join(root, 'examples'))
  .filter((f) => f.endsWith('.recmodel'))
  .map((f) => ({ path: join(root, 'examples', f), text: readFileSync(join(root, 'examples', f), 'utf8') }));
const stdFiles = readdirSync(STD_DIR)
  .filter((f) => f.endsWith('.recmodel'))
  .map((f) => ({ path: join(STD_DIR, f), text: readFileSync(join(STD_DIR, f), 'utf8') }));
const valid = loadFixtures(join(root, 'test/golden/check')).filter((f) => f.name.startsWith('valid-'));
const bases = [...examples, ...stdFiles, ...valid.map((f) => ({ path: f.path, text: f.src.text }))];

/** Reads from disk once; `override` replaces one file's text (a mutated library). */
function host(override?: { path: string; text: string }): ImportHost {
  return {
    read: (p) => {
      if (override && p === override.path) return override.text;
      return cache.get(p) ?? (cache.has(p) ? undefined : load(p));
    },
    stdModules: () => stdFiles.map((f) => f.path.slice(STD_DIR.length).replace(/\.recmodel$/, '')),
  };
}
const cache = new Map<string, string | undefined>();
function load(p: string): string | undefined {
  let t: string | undefined;
  try {
    t = readFileSync(p, 'utf8');
  } catch {
    t = undefined;
  }
  cache.set(p, t);
  return t;
}

/** Runs the whole front end on `text` (named `path`) and checks every invariant; returns the diagnostics. */
function frontEnd(path: string, text: string, h: ImportHost, label: string): Diagnostic[] {
  const t0 = performance.now();
  const src = sourceFile(path, text);
  const files = new Map<string, SourceFile>([[path, src]]);
  let ds: Diagnostic[];
  try {
    const p = parse(src);
    // parse.ts lexes a file in pieces of whole lines: a line at a time must give the same result
    if (!isDeepStrictEqual(parse(src, { pieceChars: 1 }), p)) throw new Error('lexing a line at a time changed the parse');
    ds = [...p.diagnostics];
    if (p.program) {
      const imp = resolveImports(p.program, path, h);
      imp.sources.forEach((s, f) => files.set(f, s));
      ds.push(...imp.diagnostics);
      if (!hasErrors(imp.diagnostics)) ds.push(...check(p.program, { sets: new Map([['d', 8]]), imports: imp.files }).diagnostics);
    }
    renderDiagnostics(ds, (f) => files.get(f));
  } catch (e) {
    throw new Error(`${label} threw ${String(e)}\n---\n${text}`);
  }
  const ms = performance.now() - t0;
  if (ms > slowest.ms) slowest = { ms, label };
  for (const d of ds) {
    if (!isCode(d.code)) throw new Error(`${label}: uncatalogued code ${d.code}`);
    if (/Expecting|Redundant|NoViableAlt|MismatchedToken|\[object/.test(d.message)) throw new Error(`${label}: raw message ${d.message}`);
    for (const sp of [d.span, ...(d.notes ?? []).flatMap((x) => (x.span ? [x.span] : []))]) {
      if (sp.file === '--set') continue;
      const f = files.get(sp.file);
      if (!f || !(sp.start >= 0 && sp.end <= f.text.length && sp.start <= sp.end))
        throw new Error(`${label}: ${d.code} span ${JSON.stringify(sp)} outside its file\n---\n${text}`);
    }
  }
  return ds;
}

const POOL = ['(', ')', '[', ']', '{', '}', ',', ':', '=', '~', '.', '^', '|', '@', '?', '-', '*', '/', '+', '<', '<=', '==', '!=', 'in', 'and', 'or', 'not',
  'sum', 'mean', 'logsumexp', 'max', 'min', 'logq', 'x', 'u', 'i', 'j', 'J', 'k', 'user', 'item', 'd', 'ratings', 'likes', '0', '1', '1e-3', '0.75', '"s"', '"std/losses"', '"./nope"',
  'model', 'import', 'index', 'data', 'split', 'dim', 'const', 'param', 'def', 'loss', 'reg', 'train', 'evaluate', 'where', 'from', 'format', 'holdout', 'by', 'time', 'per',
  'batch', 'full', 'users', 'epochs', 'steps', 'seed', 'optimizer', 'schedule', 'metrics', 'every', 'uniform', 'pop', 'normal', 'softplus', 'bpr', 'hinge', 'mse', 'score',
  '$', '"', '#', '\n', ';', "'"];

describe('fuzz: the front end never throws', () => {
  afterEach(() => {
    console.log(`[fuzz] slowest case: ${slowest.label}, ${slowest.ms.toFixed(0)} ms`);
    slowest = { ms: 0, label: '' };
  });

  it(`random token soup (${SOUP} streams)`, { timeout: 60_000 }, () => {
    const rand = prng(7);
    for (let n = 0; n < SOUP; n++) {
      const len = 1 + Math.floor(rand() * 60);
      const text = Array.from({ length: len }, () => POOL[Math.floor(rand() * POOL.length)]!).join(rand() < 0.8 ? ' ' : '');
      frontEnd(join(root, 'examples', 'soup.recmodel'), text, host(), `soup ${n}`);
    }
  });

  it(`token-level mutants of every example, std file and valid fixture (${MUTANTS} files)`, { timeout: 120_000 }, () => {
    expect(examples.length).toBeGreaterThan(0);
    expect(stdFiles.length).toBeGreaterThan(0);
    const rand = prng(20240611);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
    const tokens = new Map(bases.map((b) => [b.path, lexer().tokenize(b.text).tokens]));
    const mutate = (b: { path: string; text: string }): string => {
      const toks = tokens.get(b.path)!;
      if (toks.length === 0) return pick(POOL);
      return mutateTokens(b.text, toks, POOL, rand, { maxEdits: 3, poolReplaceBelow: 0.5 });
    };
    const importers = examples.filter((e) => /^import "std\//m.test(e.text));
    let withErrors = 0;
    for (let n = 0; n < MUTANTS; n++) {
      // one case in ten mutates a std library and checks an example that imports it
      if (importers.length && rand() < 0.1) {
        const lib = pick(stdFiles);
        const model = pick(importers);
        const ds = frontEnd(model.path, model.text, host({ path: lib.path, text: mutate(lib) }), `library mutant ${n}`);
        if (hasErrors(ds)) withErrors++;
        continue;
      }
      const b = pick(bases);
      if (hasErrors(frontEnd(b.path, mutate(b), host(), `mutant ${n} of ${b.path}`))) withErrors++;
    }
    // the mutants are not all trivially valid (the fuzz reaches the error paths)
    expect(withErrors).toBeGreaterThan(MUTANTS / 3);
  });
});

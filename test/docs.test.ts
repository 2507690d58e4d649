// The documentation is tested like code: every ```recmodel block of docs/language.md, every model in
// examples/ and every std library file parses and checks without errors (imports resolved as
// `recc check` does); the diagnostic table of docs/language.md is the catalogue of messages.ts
// (UPDATE_DOCS=1 regenerates it); editors/recmodel.tmLanguage.json is valid, has the expected
// scopes, and its keyword lists are the keywords of grammar/tokens.ts.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { STD_DIR } from '../compiler/check/imports.ts';
import { checkSource } from '../compiler/compile.ts';
import { renderDiagnostics } from '../compiler/diagnostics/diagnostics.ts';
import { messages } from '../compiler/diagnostics/messages.ts';
import { parse } from '../compiler/syntax/parse.ts';
import { sourceFile } from '../compiler/diagnostics/source.ts';
import * as T from '../grammar/tokens.ts';

const root = new URL('../', import.meta.url).pathname;
const docPath = join(root, 'docs/language.md');
const doc = readFileSync(docPath, 'utf8');

/** Checks `text` as if it were the file at `path`; returns rendered errors ('' when there are none). */
function errorsOf(path: string, text: string): string {
  const r = checkSource(path, text);
  const errors = r.diagnostics.filter((d) => d.severity === 'error');
  return errors.length ? renderDiagnostics(errors, (f) => r.sources.get(f)) : '';
}

const blocks = [...doc.matchAll(/^```recmodel\n([\s\S]*?)^```$/gm)].map((m) => ({ text: m[1]!, line: doc.slice(0, m.index).split('\n').length }));
const preamble = blocks.find((b) => b.text.startsWith('# preamble\n'));

describe('docs/language.md', () => {
  it('has a preamble and many checked examples', () => {
    expect(preamble).toBeDefined();
    expect(blocks.length).toBeGreaterThan(15);
  });
  for (const b of blocks) {
    it(`the recmodel block at line ${b.line} checks`, () => {
      const full = b.text.startsWith('# after the preamble\n') ? preamble!.text + b.text : b.text;
      // named as if it lived in docs/, so `import "std/..."` and data paths resolve as in a model file
      expect(errorsOf(join(root, 'docs', `block-${b.line}.recmodel`), full)).toBe('');
    });
  }

  it('lists exactly the codes of compiler/messages.ts', () => {
    const table = Object.entries(messages)
      .map(([code, text]) => `| ${code} | ${text.replace(/\|/g, '\\|')} |`)
      .join('\n');
    const want = `<!-- codes:begin -->\n| code | meaning |\n|---|---|\n${table}\n<!-- codes:end -->`;
    const got = /<!-- codes:begin -->[\s\S]*<!-- codes:end -->/.exec(doc)?.[0];
    if (process.env.UPDATE_DOCS === '1' && got !== want) writeFileSync(docPath, doc.replace(/<!-- codes:begin -->[\s\S]*<!-- codes:end -->/, want));
    else expect(got, 'the code table is stale: run UPDATE_DOCS=1 npx vitest run test/docs.test.ts').toBe(want);
  });
});

describe('examples and the standard library', () => {
  const examples = readdirSync(join(root, 'examples')).filter((f) => f.endsWith('.recmodel'));
  for (const f of examples) {
    it(`examples/${f} checks`, () => {
      const path = join(root, 'examples', f);
      expect(errorsOf(path, readFileSync(path, 'utf8'))).toBe('');
    });
  }
  const libs = readdirSync(STD_DIR).filter((f) => f.endsWith('.recmodel'));
  for (const f of libs) {
    // a library has no model of its own: import it into one that calls every def with scalars
    it(`std/${f} checks, and every def in it type-checks on scalars`, () => {
      const text = readFileSync(join(STD_DIR, f), 'utf8');
      const p = parse(sourceFile(`std/${f}`, text));
      expect(p.diagnostics).toEqual([]);
      const defs = p.program!.decls.flatMap((d) => (d.kind === 'DefDecl' ? [d] : []));
      expect(defs.length).toBeGreaterThan(0);
      const calls = defs.map((d) => `loss t_${d.name.name} = mean((u, i, r) in ratings: ${d.name.name}(${d.params.map(() => 'score(u, i)').join(', ')}))`);
      const model = `import "std/${f.replace(/\.recmodel$/, '')}"\n${preamble!.text}${calls.join('\n')}\n`;
      expect(errorsOf(join(root, 'docs', 'std-harness.recmodel'), model)).toBe('');
    });
  }
});

describe('editors/recmodel.tmLanguage.json', () => {
  const grammar = JSON.parse(readFileSync(join(root, 'editors/recmodel.tmLanguage.json'), 'utf8')) as {
    scopeName: string;
    fileTypes: string[];
    patterns: { include: string }[];
    repository: Record<string, { match?: string; name?: string; patterns?: { match?: string; name?: string; begin?: string }[]; begin?: string }>;
  };
  const words = (key: string): string[] => {
    const m = /\\b\(\?:([^)]*)\)\\b/.exec(grammar.repository[key]?.match ?? '');
    return m ? m[1]!.split('|').sort() : [];
  };
  it('is a TextMate grammar for .recmodel with the expected scopes', () => {
    expect(grammar.scopeName).toBe('source.recmodel');
    expect(grammar.fileTypes).toContain('recmodel');
    const scopes = JSON.stringify(grammar);
    for (const s of ['comment.line.number-sign', 'keyword.control', 'keyword.other', 'constant.numeric', 'string.quoted.double', 'keyword.operator', 'support.function', 'entity.name']) expect(scopes).toContain(s);
    for (const p of grammar.patterns) expect(grammar.repository[p.include.slice(1)], p.include).toBeDefined();
  });
  it("has the keywords of grammar/tokens.ts", () => {
    const image = (t: { PATTERN?: unknown }): string => (t.PATTERN as RegExp).source;
    const hard = [...T.declKeywords, T.And, T.Or, T.Not, T.In].map(image).sort();
    const soft = T.allTokens.filter((t) => (t.CATEGORIES ?? []).includes(T.Identifier)).map(image).sort();
    expect([...words('declaration-keywords'), ...words('operator-keywords')].sort()).toEqual(hard);
    expect(words('contextual-keywords')).toEqual(soft);
  });
  it('highlights the aggregations and builtins the checker knows', async () => {
    const { BUILTINS } = await import('../compiler/check/env.ts');
    expect(words('builtins')).toEqual([...BUILTINS].filter((b) => !['sum', 'mean', 'logsumexp', 'max', 'min'].includes(b)).sort());
    expect(words('aggregations')).toEqual(['logsumexp', 'max', 'mean', 'min', 'sum']);
  });
});

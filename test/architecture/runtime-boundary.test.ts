// The runtime executes compiled plans; it never re-enters the compiler's front end or rewrites. Every
// import specifier in runtime/**/*.ts (static, re-export, dynamic `import()`, `import('…')` types) is
// resolved and must not reach compiler/{syntax,lower,passes,autodiff}/. compiler/compile.ts (which
// runs all of them) may be imported for its types only: the runtime is handed a Compiled, it never
// calls compile itself.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const FORBIDDEN_DIRS = ['compiler/syntax/', 'compiler/lower/', 'compiler/passes/', 'compiler/autodiff/'];
const TYPE_ONLY = ['compiler/compile.ts'];

interface Specifier {
  readonly text: string;
  readonly typeOnly: boolean;
}

/** Every module specifier a TypeScript source names, and whether its use is erased at run time. */
export function importSpecifiers(file: string, source: string): Specifier[] {
  const sf = ts.createSourceFile(file, source, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const out: Specifier[] = [];
  const visit = (n: ts.Node): void => {
    if (ts.isImportDeclaration(n) && ts.isStringLiteral(n.moduleSpecifier)) {
      // only `import type …` is erased: `import { type A } from …` still loads the module
      out.push({ text: n.moduleSpecifier.text, typeOnly: n.importClause?.isTypeOnly === true });
    } else if (ts.isExportDeclaration(n) && n.moduleSpecifier && ts.isStringLiteral(n.moduleSpecifier)) {
      out.push({ text: n.moduleSpecifier.text, typeOnly: n.isTypeOnly });
    } else if (ts.isCallExpression(n) && n.expression.kind === ts.SyntaxKind.ImportKeyword && n.arguments[0] && ts.isStringLiteralLike(n.arguments[0])) {
      out.push({ text: n.arguments[0].text, typeOnly: false });
    } else if (ts.isImportTypeNode(n) && ts.isLiteralTypeNode(n.argument) && ts.isStringLiteral(n.argument.literal)) {
      out.push({ text: n.argument.literal.text, typeOnly: true });
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return out;
}

/** The boundary violations of one runtime file (path relative to the repository root). */
export function violations(file: string, source: string): string[] {
  const out: string[] = [];
  for (const s of importSpecifiers(file, source)) {
    if (!s.text.startsWith('.')) continue;
    const target = relative(ROOT, resolve(ROOT, dirname(file), s.text)).split('\\').join('/');
    if (FORBIDDEN_DIRS.some((d) => target.startsWith(d))) out.push(`${file} imports ${s.text} (${target})`);
    else if (TYPE_ONLY.includes(target) && !s.typeOnly) out.push(`${file} imports values from ${s.text}: the runtime takes a Compiled, it never compiles`);
  }
  return out;
}

function tsFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? tsFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

describe('runtime/ does not reach into the compiler', () => {
  it('no runtime file imports compiler/{syntax,lower,passes,autodiff}/ or calls compile', () => {
    const files = tsFiles('runtime');
    expect(files.length).toBeGreaterThan(20);
    expect(files.flatMap((f) => violations(f, readFileSync(join(ROOT, f), 'utf8')))).toEqual([]);
  });

  it('the scan finds each kind of forbidden import', () => {
    const f = 'runtime/eval/x.ts';
    expect(violations(f, "import { optimize } from '../../compiler/passes/pipeline.ts';")).toHaveLength(1);
    expect(violations(f, "import type * as ast from '../../compiler/syntax/ast.ts';")).toHaveLength(1);
    expect(violations(f, "export { lower } from '../../compiler/lower/lower.ts';")).toHaveLength(1);
    expect(violations(f, "const m = await import('../../compiler/autodiff/grad.ts');")).toHaveLength(1);
    expect(violations(f, "let g: typeof import('../../compiler/passes/row-support.ts');")).toHaveLength(1);
    expect(violations(f, "import { compileFile } from '../../compiler/compile.ts';")).toHaveLength(1);
    expect(violations(f, "import { compileFile, type Compiled } from '../../compiler/compile.ts';")).toHaveLength(1);
    expect(violations(f, "import type { Compiled } from '../../compiler/compile.ts';")).toEqual([]);
    expect(violations(f, "import { type Compiled } from '../../compiler/compile.ts';")).toHaveLength(1);
    expect(violations(f, "import { planExpr } from '../../compiler/plan/plan.ts';")).toEqual([]);
    expect(violations(f, "import { loadRelation } from '../data/load.ts';")).toEqual([]);
  });
});

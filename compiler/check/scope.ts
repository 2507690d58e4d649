// Check pass 1a — scope building. Input: a parsed Program and the files it imports. Output: the global
// namespace (one `Sym` per declared name, imported defs and consts first), which globals a body in each
// file may see, and the declarations later steps read (defs, terms, the single model/split/train/
// evaluate declarations), plus RC0202/RC0203 for names declared twice or shadowing a builtin.
import type * as A from '../syntax/ast.ts';
import type { Span } from '../diagnostics/source.ts';
import { BUILTINS, kindName, type Sym } from './env.ts';
import type { ImportedFile } from './imports.ts';
import { assertNever, error, type Report } from './report.ts';

export interface Singles {
  readonly model?: A.ModelDecl;
  readonly split?: A.SplitDecl;
  readonly train?: A.TrainBlock;
  readonly evaluate?: A.EvaluateBlock;
  readonly sweep?: A.SweepBlock;
}

export interface Scope {
  /** imported defs and consts (each file after the files it imports), then the model's declarations */
  readonly decls: readonly A.Decl[];
  readonly globals: ReadonlyMap<string, Sym>;
  /** the globals a body in `file` may refer to: an imported file sees only its own names and its imports */
  globalsOf(file: string): ReadonlyMap<string, Sym>;
  readonly domains: readonly string[];
  readonly defs: ReadonlyMap<string, A.DefDecl>;
  readonly terms: readonly A.TermDecl[];
  readonly singles: Singles;
}

/** Declares every name of the model and of its imports in one namespace. */
export function buildScope(program: A.Program, imports: readonly ImportedFile[], report: Report): Scope {
  const globals = new Map<string, Sym>();
  // Imported defs and consts come first (each file after the files it imports), then the model's own
  // declarations: one namespace, but an imported file's bodies see only its own names and its imports.
  const decls: readonly A.Decl[] = [...imports.flatMap((f) => f.program.decls.filter((d) => d.kind === 'DefDecl' || d.kind === 'ConstDecl')), ...program.decls];
  const visibleFrom = new Map<string, ReadonlySet<string>>(imports.map((f) => [f.program.file, f.visible]));
  const scopes = new Map<string, ReadonlyMap<string, Sym>>();
  const globalsOf = (file: string): ReadonlyMap<string, Sym> => {
    const vis = visibleFrom.get(file);
    if (!vis) return globals;
    let m = scopes.get(file);
    if (!m) {
      m = new Map([...globals].filter(([, s]) => s.span.file === file || vis.has(s.span.file)));
      scopes.set(file, m);
    }
    return m;
  };
  const domains: string[] = [];
  const terms: A.TermDecl[] = [];
  const defs = new Map<string, A.DefDecl>();
  const singles: { model?: A.ModelDecl; split?: A.SplitDecl; train?: A.TrainBlock; evaluate?: A.EvaluateBlock; sweep?: A.SweepBlock } = {};
  const termNames = new Map<string, Span>();

  const declare = (sym: Sym): void => {
    const prev = globals.get(sym.name);
    if (prev) {
      report(error('RC0202', `\`${sym.name}\` is declared twice`, sym.span, `\`${sym.name}\` redeclared here`, {
        notes: [{ message: `first declared at {at} as ${kindName(prev)}`, span: prev.span }],
        help: 'rename one of them',
      }));
      return;
    }
    if (sym.kind === 'def' && BUILTINS.has(sym.name)) {
      report(error('RC0203', `\`${sym.name}\` is a builtin and cannot be redefined`, sym.span, 'builtin name', { help: `choose another name, e.g. \`my_${sym.name}\`` }));
      return;
    }
    globals.set(sym.name, sym);
  };
  const single = <K extends keyof typeof singles>(key: K, d: NonNullable<(typeof singles)[K]>, what: string): void => {
    const prev = singles[key];
    if (prev) report(error('RC0202', `${what} is declared twice`, d.span, 'declared again here', { notes: [{ message: 'first declared at {at}', span: prev.span }], help: 'keep one of them' }));
    else singles[key] = d;
  };

  // 1. Collect declarations.
  for (const d of decls) {
    switch (d.kind) {
      case 'ModelDecl':
        single('model', d, 'the model name');
        break;
      case 'ImportDecl':
        break; // resolved by imports.ts before this pass
      case 'IndexDecl':
        for (const n of d.names) {
          declare({ kind: 'domain', name: n.name, span: n.span });
          if (globals.get(n.name)?.span === n.span) domains.push(n.name);
        }
        break;
      case 'DataDecl':
      case 'DerivedDataDecl':
        declare({ kind: 'relation', name: d.name.name, span: d.name.span, decl: d });
        break;
      case 'SplitDecl':
        single('split', d, 'a split');
        break;
      case 'DimDecl':
        for (const it of d.items) declare({ kind: 'dim', name: it.name.name, span: it.name.span });
        break;
      case 'ConstDecl':
        for (const it of d.items) declare({ kind: 'const', name: it.name.name, span: it.name.span, value: it.value });
        break;
      case 'ParamDecl':
        declare({ kind: 'param', name: d.name.name, span: d.name.span, decl: d });
        break;
      case 'DefDecl':
        declare({ kind: 'def', name: d.name.name, span: d.name.span, decl: d });
        if (globals.get(d.name.name)?.kind === 'def') defs.set(d.name.name, d);
        break;
      case 'TermDecl': {
        const prev = termNames.get(d.name.name);
        if (prev)
          report(error('RC0202', `term \`${d.name.name}\` is declared twice`, d.name.span, 'redeclared here', {
            notes: [{ message: 'first declared at {at}', span: prev }],
            help: 'every loss and reg term needs its own name',
          }));
        else termNames.set(d.name.name, d.name.span);
        terms.push(d);
        break;
      }
      case 'TrainBlock':
        single('train', d, 'a `train` block');
        break;
      case 'EvaluateBlock':
        single('evaluate', d, 'an `evaluate` block');
        break;
      case 'SweepBlock':
        single('sweep', d, 'a `sweep` block');
        break;
      default:
        assertNever(d);
    }
  }

  return { decls, globals, globalsOf, domains, defs, terms, singles };
}

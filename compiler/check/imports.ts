// Check pass 0 — imports. Input: the main file's Program, its real path and a host that reads files.
// Output: every imported file's Program, each parsed once and listed after the files it imports, the
// SourceFiles read (for rendering), and RC05xx diagnostics: a missing file (RC0507, with the path
// tried), a malformed path (RC0520), a cycle (RC0518), an imported file that declares more than defs
// and consts (RC0519). `std/NAME` is the package's std/NAME.recmodel; `./x` and `../x` resolve
// against the importing file; `.recmodel` is added when missing. Pure except for `host.read`.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { declName } from '../syntax/ast.ts';
import type * as A from '../syntax/ast.ts';
import type { Diagnostic } from '../diagnostics/diagnostics.ts';
import { parse } from '../syntax/parse.ts';
import { sourceFile, type SourceFile } from '../diagnostics/source.ts';
import { didYouMean, error } from './report.ts';

/** Where the standard library lives: std/ next to compiler/, found from this file's own URL. */
export const STD_DIR = fileURLToPath(new URL('../../std/', import.meta.url));
/** How std files are named in diagnostics (a prefix no relative path produces). */
export const STD_DISPLAY = '<std>';
export const EXT = '.recmodel';

export interface ImportHost {
  /** The text of the file at `realPath`, or undefined when it cannot be read. */
  read(realPath: string): string | undefined;
  /** The module names of the standard library (for "did you mean"). */
  stdModules?(): readonly string[];
}

/** Reads from the file system. */
export const fsHost: ImportHost = {
  read(p) {
    try {
      return readFileSync(p, 'utf8');
    } catch {
      return undefined;
    }
  },
  stdModules() {
    try {
      return readdirSync(STD_DIR)
        .filter((f) => f.endsWith(EXT))
        .map((f) => f.slice(0, -EXT.length));
    } catch {
      return [];
    }
  },
};

export interface ImportedFile {
  /** spans name the file by its display path (`<std>/losses.recmodel`, `examples/mine.recmodel`) */
  readonly program: A.Program;
  readonly realPath: string;
  /** display paths of every file this one imports, directly or not (what its defs may refer to) */
  readonly visible: ReadonlySet<string>;
}

export interface ImportsResult {
  /** every imported file, each after the files it imports */
  readonly files: readonly ImportedFile[];
  /** display path → source of every imported file read (the main file is not included) */
  readonly sources: ReadonlyMap<string, SourceFile>;
  readonly diagnostics: Diagnostic[];
  /** display paths visible from the main file (every imported file) */
  readonly visible: ReadonlySet<string>;
}

/** The declarations an imported file may hold. */
const IMPORTABLE: ReadonlySet<A.Decl['kind']> = new Set(['ImportDecl', 'DefDecl', 'ConstDecl']);

const WHAT: Readonly<Record<A.Decl['kind'], string>> = {
  ModelDecl: 'a `model` name',
  ImportDecl: 'an import',
  IndexDecl: 'an `index` declaration',
  DataDecl: 'a `data` relation',
  DerivedDataDecl: 'a `data` relation',
  SplitDecl: 'a `split`',
  DimDecl: 'a `dim`',
  ConstDecl: 'a const',
  ParamDecl: 'a `param`',
  DefDecl: 'a def',
  TermDecl: 'a loss or reg term',
  TrainBlock: 'a `train` block',
  EvaluateBlock: 'an `evaluate` block',
  SweepBlock: 'a `sweep` block',
};

interface Target {
  readonly display: string;
  readonly real: string;
}

/** `std/losses` → the std file; `./x`, `../x.recmodel` → relative to the importer; else undefined. */
export function resolveImportPath(spec: string, from: Target): Target | undefined {
  const withExt = spec.endsWith(EXT) ? spec : spec + EXT;
  if (spec.startsWith('std/') && spec.length > 4) {
    const rest = withExt.slice(4);
    return { display: posix.join(STD_DISPLAY, rest), real: join(STD_DIR, rest) };
  }
  if (spec.startsWith('./') || spec.startsWith('../')) {
    return { display: posix.normalize(posix.join(posix.dirname(from.display), withExt)), real: normalize(join(dirname(from.real), withExt)) };
  }
  return undefined;
}

/** Resolves, reads and parses every file `main` imports, transitively; never throws on user input. */
export function resolveImports(main: A.Program, mainReal: string, host: ImportHost = fsHost): ImportsResult {
  const diagnostics: Diagnostic[] = [];
  const sources = new Map<string, SourceFile>();
  const files: ImportedFile[] = [];
  /** real path → display paths it sees (done), or 'active' while on the DFS stack */
  const state = new Map<string, ReadonlySet<string> | 'active'>();
  const stack: Target[] = [];

  const visit = (program: A.Program, self: Target, importedAt: A.ImportDecl | undefined): ReadonlySet<string> => {
    state.set(self.real, 'active');
    stack.push(self);
    const visible = new Set<string>();
    for (const d of program.decls) {
      if (importedAt && !IMPORTABLE.has(d.kind)) {
        const name = declName(d)?.name;
        diagnostics.push(
          error('RC0519', `an imported file may declare only defs and consts, but this is ${WHAT[d.kind]}`, d.span, name ? `\`${name}\` cannot be imported` : 'cannot be imported', {
            notes: [{ message: `imported at {at}`, span: importedAt.pathSpan }],
            help: `move it into the model that imports \`${importedAt.path}\`; a library holds \`def\`s, \`const\`s and imports`,
          }),
        );
        continue;
      }
      if (d.kind !== 'ImportDecl') continue;
      const target = resolveImportPath(d.path, self);
      if (!target) {
        const guess = /^[A-Za-z_]/.test(d.path) ? `\`import "./${d.path}"\` for a file next to this one, or \`import "std/${d.path}"\` for the standard library` : 'write `import "std/losses"` or a path starting with `./` or `../`';
        diagnostics.push(error('RC0520', `cannot import \`${d.path}\`: a path is \`std/NAME\` or starts with \`./\` or \`../\``, d.pathSpan, 'not a std module or a relative path', { help: guess }));
        continue;
      }
      const st = state.get(target.real);
      if (st === 'active') {
        const at = stack.findIndex((t) => t.real === target.real);
        const cycle = [...stack.slice(at), target].map((t) => t.display).join(' → ');
        diagnostics.push(
          error('RC0518', `importing \`${d.path}\` makes a cycle`, d.pathSpan, 'imports a file that imports this one', {
            notes: [{ message: `cycle: ${cycle}` }],
            help: 'move the shared defs into a third file that both import',
          }),
        );
        continue;
      }
      if (st) {
        visible.add(target.display);
        st.forEach((x) => visible.add(x));
        continue;
      }
      const text = host.read(target.real);
      if (text === undefined) {
        const std = d.path.startsWith('std/');
        const mods = std ? (host.stdModules?.() ?? []) : [];
        const near = std ? didYouMean(d.path, mods.map((m) => `std/${m}`)) : undefined;
        diagnostics.push(
          error('RC0507', `cannot find the file imported as \`${d.path}\``, d.pathSpan, 'no such file', {
            notes: [{ message: `looked for ${target.display}${std ? ' in the standard library' : ''}` }],
            help: std
              ? (near ?? (mods.length ? `the standard library has ${mods.map((m) => `\`std/${m}\``).join(', ')}` : 'the standard library is missing from this installation'))
              : 'relative imports are resolved against the importing file; `.recmodel` is added when missing',
          }),
        );
        state.set(target.real, new Set());
        continue;
      }
      const src = sourceFile(target.display, text);
      sources.set(target.display, src);
      const parsed = parse(src);
      diagnostics.push(...parsed.diagnostics);
      if (!parsed.program) {
        state.set(target.real, new Set());
        continue;
      }
      const sees = visit(parsed.program, target, d);
      files.push({ program: parsed.program, realPath: target.real, visible: sees });
      visible.add(target.display);
      sees.forEach((x) => visible.add(x));
    }
    stack.pop();
    state.set(self.real, visible);
    return visible;
  };

  const visible = visit(main, { display: main.file, real: mainReal }, undefined);
  return { files, sources, diagnostics, visible };
}

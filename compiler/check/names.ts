// Check pass 1 — names. Input: a parsed Program. Output: an `Env` (the global symbol table, dim
// sizes and const values after --set overrides, relation schemas, params with evaluated inits) and
// RC02xx diagnostics, plus the RC05xx ones that are about names or constants (imports, --set,
// recursion, formats, constant expressions). Every name in every def and term body is resolved
// against its lexical scope here, so later passes may assume that lookups succeed.
import type * as A from '../syntax/ast.ts';
import { InternalError, suggest, type Diagnostic, type Note } from '../diagnostics/diagnostics.ts';
import type { Axis, ColumnInfo, InitInfo, ParamInfo, RelationInfo } from './model.ts';
import type { Span } from '../diagnostics/source.ts';
import type { ImportedFile } from './imports.ts';

export type Sym =
  | { readonly kind: 'domain'; readonly name: string; readonly span: Span }
  | { readonly kind: 'relation'; readonly name: string; readonly span: Span; readonly decl: A.DataDecl | A.DerivedDataDecl }
  | { readonly kind: 'dim'; readonly name: string; readonly span: Span }
  | { readonly kind: 'const'; readonly name: string; readonly span: Span; readonly value: A.Expr }
  | { readonly kind: 'param'; readonly name: string; readonly span: Span; readonly decl: A.ParamDecl }
  | { readonly kind: 'def'; readonly name: string; readonly span: Span; readonly decl: A.DefDecl };

export interface Env {
  readonly program: A.Program;
  readonly globals: ReadonlyMap<string, Sym>;
  readonly domains: readonly string[];
  readonly dims: ReadonlyMap<string, number>;
  readonly consts: ReadonlyMap<string, number>;
  readonly relations: ReadonlyMap<string, RelationInfo>;
  readonly params: ReadonlyMap<string, ParamInfo>;
  readonly defs: ReadonlyMap<string, A.DefDecl>;
  readonly terms: readonly A.TermDecl[];
  readonly model: A.ModelDecl | undefined;
  readonly split: A.SplitDecl | undefined;
  readonly train: A.TrainBlock | undefined;
  readonly evaluate: A.EvaluateBlock | undefined;
}

export type Report = (d: Diagnostic) => void;

/** Elementwise builtins of one argument. */
export const UNARY_BUILTINS: ReadonlySet<string> = new Set(['exp', 'log', 'log1p', 'sqrt', 'abs', 'sigmoid', 'logsigmoid', 'softplus', 'relu', 'tanh']);
/** Every callable name that is not a def. */
export const BUILTINS: ReadonlySet<string> = new Set([
  ...UNARY_BUILTINS,
  'min', 'max', 'clip', 'norm', 'cosine', 'sum', 'mean', 'logsumexp', 'logq', 'uniform', 'pop', 'inbatch',
]);
export const SAMPLERS: readonly string[] = ['uniform', 'pop', 'inbatch'];
export const FORMATS: readonly string[] = ['tsv', 'csv', 'libsvm', 'movielens'];
/** Scalar types a def parameter may declare instead of a domain or a dim. */
export const VALUE_TYPES: ReadonlySet<string> = new Set(['float', 'int', 'scalar']);

/** The default of every exhaustive `switch`: adding a variant will not compile until it is handled. */
export function assertNever(x: never): never {
  throw new InternalError(`unexpected variant ${JSON.stringify(x)}`);
}

export function error(code: string, message: string, span: Span, label?: string, more?: { notes?: readonly Note[]; help?: string }): Diagnostic {
  return {
    code,
    severity: 'error',
    message,
    span,
    ...(label ? { label } : {}),
    ...(more?.notes?.length ? { notes: more.notes } : {}),
    ...(more?.help ? { help: more.help } : {}),
  };
}

export function warning(code: string, message: string, span: Span, label?: string, help?: string): Diagnostic {
  return { code, severity: 'warning', message, span, ...(label ? { label } : {}), ...(help ? { help } : {}) };
}

/** "did you mean `a`?" / "did you mean one of `a`, `b`?" or undefined. */
export function didYouMean(name: string, candidates: Iterable<string>): string | undefined {
  const s = suggest(name, candidates);
  if (s.length === 0) return undefined;
  if (s.length === 1) return `did you mean \`${s[0]}\`?`;
  return `did you mean one of ${s.map((x) => `\`${x}\``).join(', ')}?`;
}

export function kindName(s: Sym): string {
  switch (s.kind) {
    case 'domain':
      return 'an index domain';
    case 'relation':
      return 'a relation';
    case 'dim':
      return 'a dim';
    case 'const':
      return 'a const';
    case 'param':
      return 'a param';
    case 'def':
      return 'a def';
  }
}

export function checkNames(program: A.Program, sets: ReadonlyMap<string, number>, report: Report, imports: readonly ImportedFile[] = []): Env {
  const globals = new Map<string, Sym>();
  // Imported defs and consts come first (each file after the files it imports), then the model's own
  // declarations: one namespace, but an imported file's bodies see only its own names and its imports.
  const decls: readonly A.Decl[] = [...imports.flatMap((f) => f.program.decls.filter((d) => d.kind === 'DefDecl' || d.kind === 'ConstDecl')), ...program.decls];
  const visibleFrom = new Map<string, ReadonlySet<string>>(imports.map((f) => [f.program.file, f.visible]));
  const scopes = new Map<string, ReadonlyMap<string, Sym>>();
  /** the globals a body in `file` may refer to */
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
  /** the globals of the body being resolved */
  let scopeG: ReadonlyMap<string, Sym> = globals;
  const domains: string[] = [];
  const terms: A.TermDecl[] = [];
  const defs = new Map<string, A.DefDecl>();
  const singles: { model?: A.ModelDecl; split?: A.SplitDecl; train?: A.TrainBlock; evaluate?: A.EvaluateBlock } = {};
  const termNames = new Map<string, Span>();
  /** def → the defs its body calls (for the recursion check) */
  const calls = new Map<string, { callee: string; span: Span }[]>();
  let currentDef: string | undefined;

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
      default:
        assertNever(d);
    }
  }

  const lookupKind = (id: A.Ident, want: readonly Sym['kind'][], wantText: string): Sym | undefined => {
    const s = scopeG.get(id.name);
    if (!s) {
      const cands = [...scopeG.values()].filter((g) => want.includes(g.kind)).map((g) => g.name);
      const help = didYouMean(id.name, cands);
      report(error('RC0201', `cannot find ${wantText} \`${id.name}\``, id.span, 'not declared', help ? { help } : undefined));
      return undefined;
    }
    if (!want.includes(s.kind)) {
      report(error('RC0205', `\`${id.name}\` is ${kindName(s)}, not ${wantText}`, id.span, `expected ${wantText}`, { notes: [{ message: `\`${id.name}\` is declared at {at}`, span: s.span }] }));
      return undefined;
    }
    return s;
  };

  // 2. Dims and consts (with --set), in declaration order.
  const dims = new Map<string, number>();
  const consts = new Map<string, number>();
  /** --set overrides come from the command line, not the file */
  const setSpan = (): Span => ({ file: '--set', start: 0, end: 0 });
  for (const [name, value] of sets) {
    const s = globals.get(name);
    if (!s || (s.kind !== 'const' && s.kind !== 'dim')) {
      const cands = [...globals.values()].filter((g) => g.kind === 'const' || g.kind === 'dim').map((g) => g.name);
      const help = didYouMean(name, cands);
      report(error('RC0509', `\`--set ${name}=${value}\` names no const or dim`, setSpan(), undefined, {
        ...(s ? { notes: [{ message: `\`${name}\` is ${kindName(s)}` }] } : {}),
        help: help ?? (cands.length ? `the overridable names are ${cands.map((c) => `\`${c}\``).join(', ')}` : 'this model declares no const or dim'),
      }));
    }
  }
  for (const d of decls) {
    if (d.kind === 'DimDecl') {
      for (const it of d.items) {
        if (globals.get(it.name.name)?.span !== it.name.span) continue;
        const set = sets.get(it.name.name);
        const v = set ?? it.value.value;
        if (!Number.isInteger(v) || v < 1) {
          report(error('RC0513', `dim \`${it.name.name}\` must be a positive integer, found ${v}`, set === undefined ? it.value.span : setSpan(), set === undefined ? 'not a positive integer' : undefined, {
            help: 'a dim is a size, e.g. `dim d = 32`',
          }));
          continue;
        }
        dims.set(it.name.name, v);
      }
    } else if (d.kind === 'ConstDecl') {
      for (const it of d.items) {
        if (globals.get(it.name.name)?.span !== it.name.span) continue;
        const v = evalConst(it.value, { globals: globalsOf(d.span.file), consts, dims }, report);
        const set = sets.get(it.name.name);
        if (set !== undefined) consts.set(it.name.name, set);
        else if (v !== undefined) consts.set(it.name.name, v);
      }
    }
  }

  // 3. Relations.
  const relations = new Map<string, RelationInfo>();
  for (const d of program.decls) {
    if (d.kind === 'DataDecl') {
      if (globals.get(d.name.name)?.span !== d.name.span) continue;
      const cols: ColumnInfo[] = [];
      const seen = new Map<string, Span>();
      for (const c of d.columns) {
        const prev = seen.get(c.name.name);
        if (prev) report(error('RC0202', `column \`${c.name.name}\` is declared twice`, c.name.span, 'redeclared here', { notes: [{ message: 'first declared at {at}', span: prev }] }));
        seen.set(c.name.name, c.name.span);
        const t = c.type;
        switch (t.kind) {
          case 'ScalarType':
            cols.push({ name: c.name.name, type: { kind: t.name } });
            break;
          case 'DomainType':
          case 'SparseType':
            if (lookupKind(t.domain, ['domain'], 'an index domain'))
              cols.push({ name: c.name.name, type: t.kind === 'DomainType' ? { kind: 'domain', domain: t.domain.name } : { kind: 'sparse', domain: t.domain.name } });
            break;
          default:
            assertNever(t);
        }
      }
      const format = d.format.name;
      if (!isFormat(format)) {
        const help = didYouMean(format, FORMATS);
        report(error('RC0511', `unknown data format \`${format}\``, d.format.span, 'not a format', { help: help ?? `formats are ${FORMATS.map((f) => `\`${f}\``).join(', ')}` }));
        continue;
      }
      relations.set(d.name.name, { name: d.name.name, columns: cols, source: { kind: 'file', path: d.path, format }, decl: d });
    } else if (d.kind === 'DerivedDataDecl') {
      if (globals.get(d.name.name)?.span !== d.name.span) continue;
      const base = relations.get(d.base.name);
      if (!base) {
        const s = globals.get(d.base.name);
        if (s?.kind === 'relation')
          report(error('RC0204', `relation \`${d.base.name}\` is used before it is declared`, d.base.span, 'declared later', { notes: [{ message: `\`${d.base.name}\` is declared at {at}`, span: s.span }], help: 'move this declaration below it' }));
        else lookupKind(d.base, ['relation'], 'a relation');
        continue;
      }
      resolve(d.where, new Set(base.columns.map((c) => c.name)));
      relations.set(d.name.name, { name: d.name.name, columns: base.columns, source: { kind: 'derived', base: base.name, where: d.where }, decl: d });
    }
  }
  if (singles.split) lookupKind(singles.split.relation, ['relation'], 'a relation');

  // 4. Params: shapes and constant initializers.
  const params = new Map<string, ParamInfo>();
  for (const d of program.decls) {
    if (d.kind !== 'ParamDecl' || globals.get(d.name.name)?.span !== d.name.span) continue;
    const shape: Axis[] = [];
    for (const ax of d.shape) {
      const s = lookupKind(ax, ['domain', 'dim'], 'an index domain or a dim');
      if (s?.kind === 'domain') shape.push({ kind: 'domain', name: s.name });
      else if (s?.kind === 'dim') shape.push({ kind: 'dim', name: s.name, size: dims.get(s.name) ?? 1 });
    }
    const ev = (e: A.Expr): number => evalConst(e, { globals, consts, dims }, report) ?? 0;
    let init: InitInfo;
    switch (d.init.kind) {
      case 'NormalInit':
        init = { kind: 'normal', mean: ev(d.init.mean), std: ev(d.init.std) };
        if (init.std < 0) report(error('RC0513', `the std of \`${d.name.name}\`'s initializer must not be negative`, d.init.std.span, `std is ${init.std}`));
        break;
      case 'UniformInit':
        init = { kind: 'uniform', lo: ev(d.init.lo), hi: ev(d.init.hi) };
        if (init.lo > init.hi) report(error('RC0513', `\`${d.name.name}\`'s uniform initializer has lo > hi`, d.init.span, `${init.lo} > ${init.hi}`, { help: 'write `uniform(lo, hi)` with lo <= hi' }));
        break;
      case 'ValueInit':
        init = { kind: 'value', value: ev(d.init.value) };
        break;
      default:
        return assertNever(d.init);
    }
    params.set(d.name.name, { name: d.name.name, shape, init, decl: d });
  }

  // 5. Def parameter types and every body's names.
  function unknown(name: string, sp: Span, cands: Iterable<string>, what = 'value'): void {
    const hidden = scopeG !== globals ? globals.get(name) : undefined;
    if (hidden) {
      report(error('RC0201', `cannot find ${what} \`${name}\` in this scope`, sp, 'not visible from an imported file', {
        notes: [{ message: `\`${name}\` is declared at {at}`, span: hidden.span }],
        help: 'an imported file sees only its own defs and consts and what it imports; pass the value as a def argument',
      }));
      return;
    }
    const help = didYouMean(name, cands);
    report(error('RC0201', `cannot find ${what} \`${name}\` in this scope`, sp, 'not found in this scope', help ? { help } : undefined));
  }
  function resolve(e: A.Expr, locals: ReadonlySet<string>): void {
    const all = (): string[] => [...locals, ...scopeG.keys()];
    switch (e.kind) {
      case 'NumberLit':
      case 'StringLit':
        return;
      case 'IdentExpr':
        if (!locals.has(e.name) && !scopeG.has(e.name)) unknown(e.name, e.span, all());
        return;
      case 'UnaryExpr':
        return resolve(e.arg, locals);
      case 'BinaryExpr':
        resolve(e.left, locals);
        return resolve(e.right, locals);
      case 'TernaryExpr':
        resolve(e.cond, locals);
        resolve(e.then, locals);
        return resolve(e.else, locals);
      case 'CallExpr': {
        const c = e.callee.name;
        const g = scopeG.get(c);
        if (g?.kind === 'def') {
          if (currentDef !== undefined) calls.get(currentDef)?.push({ callee: c, span: e.callee.span });
        } else if (!BUILTINS.has(c) && !g && !locals.has(c)) {
          unknown(c, e.callee.span, [...defs.keys(), ...BUILTINS], 'function');
        }
        for (const a of e.args) resolve(a.value, locals);
        return;
      }
      case 'IndexExpr':
        if (!locals.has(e.target.name) && !scopeG.has(e.target.name)) unknown(e.target.name, e.target.span, all());
        for (const i of e.indices) {
          // an unknown index is most likely a misspelled index variable: suggest only local names
          if (i.kind === 'IdentExpr' && !locals.has(i.name) && !scopeG.has(i.name)) unknown(i.name, i.span, locals, 'index');
          else resolve(i, locals);
        }
        return;
      case 'SizeExpr':
        if (!scopeG.has(e.name.name)) unknown(e.name.name, e.name.span, [...scopeG.values()].filter((g) => g.kind === 'domain' || g.kind === 'relation').map((g) => g.name), 'domain or relation');
        return;
      case 'MemberExpr':
        for (const t of e.tuple) resolve(t, locals);
        lookupKind(e.relation, ['relation'], 'a relation');
        return;
      case 'AggregateExpr': {
        const inner = new Set(locals);
        const bound = new Map<string, Span>();
        const bind = (v: A.Ident): void => {
          if (v.name === '_') return;
          const prev = bound.get(v.name);
          if (prev) report(error('RC0206', `\`${v.name}\` is bound twice in this aggregation`, v.span, 'bound again here', { notes: [{ message: 'first bound at {at}', span: prev }], help: 'use a different variable name' }));
          bound.set(v.name, v.span);
          inner.add(v.name);
        };
        for (const b of e.bindings) {
          switch (b.kind) {
            case 'TupleBinding':
              if (!scopeG.has(b.relation.name)) unknown(b.relation.name, b.relation.span, [...scopeG.values()].filter((g) => g.kind === 'relation' || g.kind === 'domain').map((g) => g.name), 'relation');
              b.vars.forEach(bind);
              break;
            case 'RangeBinding':
              if (!inner.has(b.range.name) && !scopeG.has(b.range.name)) unknown(b.range.name, b.range.span, [...inner, ...[...scopeG.values()].filter((g) => g.kind === 'domain' || g.kind === 'dim').map((g) => g.name)], 'range');
              bind(b.var);
              break;
            case 'SampleBinding':
              if (!SAMPLERS.includes(b.sampler.callee.name)) {
                const help = didYouMean(b.sampler.callee.name, SAMPLERS);
                report(error('RC0515', `unknown sampler \`${b.sampler.callee.name}\``, b.sampler.callee.span, 'not a sampler', { help: help ?? 'samplers are `uniform(domain)`, `pop(domain, alpha)` and `inbatch(domain)`' }));
              }
              b.sampler.args.forEach((a, k) => {
                // the first argument names the sampled domain: an unknown one is a misspelled domain
                const v = a.value;
                if (k === 0 && v.kind === 'IdentExpr' && !inner.has(v.name) && !scopeG.has(v.name)) {
                  const doms = [...scopeG.values()].filter((g) => g.kind === 'domain').map((g) => g.name);
                  const help = didYouMean(v.name, doms);
                  report(error('RC0201', `cannot find index domain \`${v.name}\` to sample from`, v.span, 'no such domain', {
                    help: help ?? (doms.length ? `samplers draw from an index domain: ${doms.map((x) => `\`${x}\``).join(', ')}` : 'declare the domain with `index item`'),
                  }));
                } else resolve(v, inner);
              });
              bind(b.var);
              break;
            case 'PairBinding':
              if (!inner.has(b.row.name) && !scopeG.has(b.row.name)) unknown(b.row.name, b.row.span, inner, 'sparse row');
              bind(b.first);
              bind(b.second);
              break;
            default:
              assertNever(b);
          }
        }
        return resolve(e.body, inner);
      }
    }
  }
  for (const d of defs.values()) {
    scopeG = globalsOf(d.span.file);
    const locals = new Set<string>();
    const seen = new Map<string, Span>();
    for (const p of d.params) {
      const prev = seen.get(p.name.name);
      if (prev) report(error('RC0206', `parameter \`${p.name.name}\` of \`${d.name.name}\` is declared twice`, p.name.span, 'declared again here', { notes: [{ message: 'first declared at {at}', span: prev }] }));
      seen.set(p.name.name, p.name.span);
      locals.add(p.name.name);
      if (p.type && !VALUE_TYPES.has(p.type.name)) lookupKind(p.type, ['domain', 'dim'], 'an index domain or a dim');
    }
    currentDef = d.name.name;
    calls.set(d.name.name, []);
    resolve(d.body, locals);
    currentDef = undefined;
    scopeG = globals;
  }
  for (const t of terms) resolve(t.body, new Set());

  // 6. Recursion: a def may not reach itself through calls (defs are inlined).
  // Defs that reach no cycle at all are found first, in one pass: the search from each def skips
  // them (they cannot lead back to it), so it stays linear on long chains and shared callees.
  const cyclic = new Set<string>();
  const state = new Map<string, 'open' | 'done'>();
  const reachesCycle = (f: string): boolean => {
    const st = state.get(f);
    if (st === 'open') return true;
    if (st === 'done') return cyclic.has(f);
    state.set(f, 'open');
    let found = false;
    for (const c of calls.get(f) ?? []) if (reachesCycle(c.callee)) found = true;
    state.set(f, 'done');
    if (found) cyclic.add(f);
    return found;
  };
  for (const f of defs.keys()) reachesCycle(f);
  const reported = new Set<string>();
  for (const start of defs.keys()) {
    if (!cyclic.has(start)) continue;
    const path: string[] = [];
    const onPath = new Set<string>();
    const visit = (f: string): boolean => {
      if (!cyclic.has(f)) return false;
      if (onPath.has(f)) {
        if (f !== start) return false;
        const cycle = [...path, f];
        if (!cycle.some((x) => reported.has(x))) {
          cycle.forEach((x) => reported.add(x));
          const d = defs.get(start)!;
          const via = path.slice(1);
          report(error('RC0505', `\`${start}\` calls itself${via.length ? ' through ' + via.map((x) => `\`${x}\``).join(' → ') : ''}`, d.name.span, 'recursive def', {
            notes: [{ message: `cycle: ${cycle.join(' → ')}` }],
            help: 'defs are inlined, so they cannot be recursive; unroll the recursion by hand',
          }));
        }
        return true;
      }
      onPath.add(f);
      path.push(f);
      for (const c of calls.get(f) ?? []) if (visit(c.callee)) return true;
      path.pop();
      onPath.delete(f);
      return false;
    };
    visit(start);
  }

  return {
    program,
    globals,
    domains,
    dims,
    consts,
    relations,
    params,
    defs,
    terms,
    model: singles.model,
    split: singles.split,
    train: singles.train,
    evaluate: singles.evaluate,
  };
}

function isFormat(s: string): s is 'tsv' | 'csv' | 'libsvm' | 'movielens' {
  return FORMATS.includes(s);
}

export interface ConstEnv {
  readonly globals: ReadonlyMap<string, Sym>;
  readonly consts: ReadonlyMap<string, number>;
  readonly dims: ReadonlyMap<string, number>;
}

const CONST_FNS: Readonly<Record<string, (xs: readonly number[]) => number>> = {
  exp: (x) => Math.exp(x[0]!),
  log: (x) => Math.log(x[0]!),
  sqrt: (x) => Math.sqrt(x[0]!),
  abs: (x) => Math.abs(x[0]!),
  min: (x) => Math.min(...x),
  max: (x) => Math.max(...x),
};

/** Folds a constant expression (numbers, dims, earlier consts, + - * / ^, a few builtins). */
export function evalConst(e: A.Expr, env: ConstEnv, report: Report): number | undefined {
  const notConst = (sp: Span, why: string, help?: string): undefined => {
    report(error('RC0508', 'expected a constant expression', sp, why, { help: help ?? 'constants are built from numbers, dims and earlier consts with + - * / ^' }));
    return undefined;
  };
  const go = (x: A.Expr): number | undefined => {
    switch (x.kind) {
      case 'NumberLit':
        return x.value;
      case 'IdentExpr': {
        const c = env.consts.get(x.name);
        if (c !== undefined) return c;
        const d = env.dims.get(x.name);
        if (d !== undefined) return d;
        const s = env.globals.get(x.name);
        if (s?.kind === 'const') {
          report(error('RC0204', `const \`${x.name}\` is used before it is declared`, x.span, 'declared later', { notes: [{ message: `\`${x.name}\` is declared at {at}`, span: s.span }], help: 'declare it first' }));
          return undefined;
        }
        if (s?.kind === 'dim') return undefined; // its own error was reported
        if (!s) {
          const cands = [...env.globals.values()].filter((g) => g.kind === 'const' || g.kind === 'dim').map((g) => g.name);
          const help = didYouMean(x.name, cands);
          report(error('RC0201', `cannot find const \`${x.name}\``, x.span, 'not declared', help ? { help } : undefined));
          return undefined;
        }
        return notConst(x.span, `\`${x.name}\` is ${kindName(s)}`);
      }
      case 'UnaryExpr': {
        if (x.op !== '-') return notConst(x.span, '`not` is not arithmetic');
        const a = go(x.arg);
        return a === undefined ? undefined : -a;
      }
      case 'BinaryExpr': {
        const a = go(x.left);
        const b = go(x.right);
        if (a === undefined || b === undefined) return undefined;
        switch (x.op) {
          case '+':
            return a + b;
          case '-':
            return a - b;
          case '*':
            return a * b;
          case '/':
            return a / b;
          case '^':
            return a ** b;
          default:
            return notConst(x.opSpan, `\`${x.op}\` is not allowed in a constant`);
        }
      }
      case 'CallExpr': {
        const f = CONST_FNS[x.callee.name];
        if (!f || x.args.some((a) => a.name)) return notConst(x.span, `\`${x.callee.name}(...)\` is not constant`);
        const vs = x.args.map((a) => go(a.value));
        if (vs.some((v) => v === undefined)) return undefined;
        return f(vs as number[]);
      }
      case 'StringLit':
        return notConst(x.span, 'a string is not a number');
      case 'TernaryExpr':
      case 'IndexExpr':
      case 'SizeExpr':
      case 'MemberExpr':
      case 'AggregateExpr':
        return notConst(x.span, 'depends on data or params');
    }
  };
  return go(e);
}

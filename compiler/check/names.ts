// Check pass 1 — names. Input: a parsed Program. Output: an `Env` (the global symbol table, dim
// sizes and const values after --set overrides, relation schemas, params with evaluated inits) and
// RC02xx diagnostics, plus the RC05xx ones that are about names or constants (imports, --set,
// recursion, formats, constant expressions). The steps, each in its own file: scope.ts declares every
// name, consts.ts evaluates dims and consts, this file reads relation schemas and param shapes and
// initializers, resolve.ts resolves every name in every body, recursion.ts rejects recursive defs.
import type * as A from '../syntax/ast.ts';
import type { Span } from '../diagnostics/source.ts';
import { evalConst, evalDimsAndConsts } from './consts.ts';
import { FORMATS, type Env } from './env.ts';
import type { ImportedFile } from './imports.ts';
import type { Axis, ColumnInfo, InitInfo, ParamInfo, RelationInfo } from './model.ts';
import { checkRecursion } from './recursion.ts';
import { neighboursInfo } from './neighbours.ts';
import { assertNever, didYouMean, error, type Report } from './report.ts';
import { nameResolver } from './resolve.ts';
import { buildScope } from './scope.ts';

export function checkNames(program: A.Program, sets: ReadonlyMap<string, number>, report: Report, imports: readonly ImportedFile[] = []): Env {
  // 1. Collect declarations.
  const scope = buildScope(program, imports, report);
  const { globals, domains, defs, terms, singles } = scope;
  // 2. Dims and consts (with --set), in declaration order.
  const { dims, consts } = evalDimsAndConsts(scope, sets, report);
  const { lookupKind, resolve, resolveBodies } = nameResolver(scope, report);

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
    const table = d.neighbours ? neighboursInfo({ ...d, neighbours: d.neighbours }, shape, relations, (e) => evalConst(e, { globals, consts, dims }, report), report) : undefined;
    params.set(d.name.name, { name: d.name.name, shape, init, decl: d, ...(table ? { neighbours: table } : {}) });
  }

  // 5. Def parameter types and every body's names.
  const calls = resolveBodies();
  // 6. Recursion: a def may not reach itself through calls (defs are inlined).
  checkRecursion(defs, calls, report);

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
    sweep: singles.sweep,
  };
}

function isFormat(s: string): s is 'tsv' | 'csv' | 'libsvm' | 'movielens' {
  return FORMATS.includes(s);
}

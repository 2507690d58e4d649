// Check pass 2a — index domains: the rules that give every index variable a domain and check every
// index position against it. `(u, i, r) in ratings` binds the relation's leading columns in order
// (u: user, i: item, r: float value); `u in user`, `k in d`, `j in J`, `j in x`, samplers and
// `j < l in x` bind as LANGUAGE.md says. shapes.ts drives these rules while it types expressions;
// every problem here is an RC03xx diagnostic (or RC0515 for samplers), never an exception.
import type * as A from '../syntax/ast.ts';
import type { Diagnostic } from '../diagnostics/diagnostics.ts';
import type { Axis, ColumnInfo } from './model.ts';
import type { Span } from '../diagnostics/source.ts';
import { kindName, type Env } from './env.ts';
import { assertNever, error } from './report.ts';

/** The type of an expression: a tensor over `axes` (a scalar has none), a string, or an error already reported. */
export type Ty =
  | { readonly kind: 'tensor'; readonly axes: readonly Axis[] }
  | { readonly kind: 'string' }
  | { readonly kind: 'error' };

export const SCALAR: Ty = { kind: 'tensor', axes: [] };
export const ERROR: Ty = { kind: 'error' };

/** What a local name stands for. */
export type Var =
  /** an index variable: `u: user`, `k: d` */
  | { readonly kind: 'index'; readonly axis: Axis; readonly span: Span }
  /** a value: a float column `r`, or a def parameter given an expression */
  | { readonly kind: 'value'; readonly ty: Ty; readonly span: Span }
  /** a sparse row `x: sparse feature` */
  | { readonly kind: 'sparse'; readonly domain: string; readonly span: Span }
  /** a sample set `J ~ pop(item) x 100` */
  | { readonly kind: 'samples'; readonly domain: string; readonly span: Span };

export interface Scope {
  readonly vars: ReadonlyMap<string, Var>;
  /** domains with a sampler in an enclosing aggregation (what `logq` may refer to) */
  readonly samplers: ReadonlySet<string>;
  /** true inside a `where` clause: params are not allowed there */
  readonly inWhere?: boolean;
}

export const EMPTY_SCOPE: Scope = { vars: new Map(), samplers: new Set() };

export interface TypeCtx {
  readonly env: Env;
  report(d: Diagnostic): void;
  typeOf(e: A.Expr, scope: Scope): Ty;
}

export function axisEq(a: Axis, b: Axis): boolean {
  return a.kind === b.kind && a.name === b.name;
}

export function axesEq(a: readonly Axis[], b: readonly Axis[]): boolean {
  return a.length === b.length && a.every((x, k) => axisEq(x, b[k]!));
}

export function describeAxis(a: Axis): string {
  return `\`${a.name}\``;
}

/** "a scalar", "a row of `d`", "a tensor [user, d]", "a string" */
export function describeTy(t: Ty): string {
  switch (t.kind) {
    case 'string':
      return 'a string';
    case 'error':
      return 'an invalid expression';
    case 'tensor':
      if (t.axes.length === 0) return 'a scalar';
      if (t.axes.length === 1) return `a row of ${describeAxis(t.axes[0]!)}`;
      return `a tensor [${t.axes.map((a) => a.name).join(', ')}]`;
  }
}

export function describeVar(name: string, v: Var): string {
  switch (v.kind) {
    case 'index':
      return `\`${name}\` ranges over \`${v.axis.name}\``;
    case 'value':
      return `\`${name}\` is ${describeTy(v.ty)} value`;
    case 'sparse':
      return `\`${name}\` is a sparse row over \`${v.domain}\``;
    case 'samples':
      return `\`${name}\` is a sample set over \`${v.domain}\``;
  }
}

function columnVar(c: ColumnInfo, span: Span): Var {
  switch (c.type.kind) {
    case 'domain':
      return { kind: 'index', axis: { kind: 'domain', name: c.type.domain }, span };
    case 'sparse':
      return { kind: 'sparse', domain: c.type.domain, span };
    case 'float':
    case 'int':
      return { kind: 'value', ty: SCALAR, span };
    case 'string':
      return { kind: 'value', ty: { kind: 'string' }, span };
  }
}

/** The scope of a `where` clause: the base relation's columns. */
export function whereScope(columns: readonly ColumnInfo[], span: Span): Scope {
  return { vars: new Map(columns.map((c) => [c.name, columnVar(c, span)])), samplers: new Set(), inWhere: true };
}

/** Extends `scope` with the variables of `bindings`, left to right (later bindings see earlier ones). */
export function bindAll(bindings: readonly A.Binding[], scope: Scope, ctx: TypeCtx): Scope {
  const vars = new Map(scope.vars);
  const samplers = new Set(scope.samplers);
  const add = (v: A.Ident, x: Var): void => {
    if (v.name !== '_') vars.set(v.name, x);
  };
  for (const b of bindings) {
    switch (b.kind) {
      case 'TupleBinding': {
        const g = ctx.env.globals.get(b.relation.name);
        const rel = ctx.env.relations.get(b.relation.name);
        if (g?.kind === 'domain' && b.vars.length === 1) {
          add(b.vars[0]!, { kind: 'index', axis: { kind: 'domain', name: g.name }, span: b.vars[0]!.span });
          break;
        }
        if (!rel) {
          ctx.report(error('RC0308', `\`${b.relation.name}\` is ${g ? kindName(g) : 'unknown'}, not a relation`, b.relation.span, 'expected a relation', {
            help: g?.kind === 'domain' ? `range over a domain with \`v in ${g.name}\`` : 'tuple bindings range over relations declared with `data`',
          }));
          b.vars.forEach((v) => add(v, { kind: 'value', ty: ERROR, span: v.span }));
          break;
        }
        if (b.vars.length > rel.columns.length)
          ctx.report(error('RC0304', `\`${rel.name}\` has ${rel.columns.length} column${rel.columns.length === 1 ? '' : 's'}, but ${b.vars.length} variables are bound`, b.vars[rel.columns.length]!.span, 'no column left for this variable', {
            notes: [{ message: `\`${rel.name}\` is declared at {at} as ${rel.name}(${rel.columns.map((c) => c.name).join(', ')})`, span: rel.decl.name.span }],
            help: 'variables bind the leading columns in order; drop the extra ones',
          }));
        b.vars.forEach((v, k) => {
          const c = rel.columns[k];
          add(v, c ? columnVar(c, v.span) : { kind: 'value', ty: ERROR, span: v.span });
        });
        break;
      }
      case 'RangeBinding': {
        const local = vars.get(b.range.name);
        const g = local ? undefined : ctx.env.globals.get(b.range.name);
        if (local?.kind === 'samples') add(b.var, { kind: 'index', axis: { kind: 'domain', name: local.domain }, span: b.var.span });
        else if (local?.kind === 'sparse') add(b.var, { kind: 'index', axis: { kind: 'domain', name: local.domain }, span: b.var.span });
        else if (g?.kind === 'domain') add(b.var, { kind: 'index', axis: { kind: 'domain', name: g.name }, span: b.var.span });
        else if (g?.kind === 'dim') add(b.var, { kind: 'index', axis: { kind: 'dim', name: g.name, size: ctx.env.dims.get(g.name) ?? 1 }, span: b.var.span });
        else {
          const what = local ? describeVar(b.range.name, local) : g ? `\`${b.range.name}\` is ${kindName(g)}` : `\`${b.range.name}\` is unknown`;
          ctx.report(error('RC0308', `\`${b.var.name} in ${b.range.name}\` ranges over something that is not a domain, dim, sample set or sparse row`, b.range.span, what, {
            help: g?.kind === 'relation' ? `bind the tuples of a relation with \`(${g.decl.kind === 'DataDecl' ? g.decl.columns.map((c) => c.name.name[0]).join(', ') : 'u, i'}) in ${g.name}\`` : 'write `u in user`, `k in d`, `j in J` or `j in x`',
          }));
          add(b.var, { kind: 'value', ty: ERROR, span: b.var.span });
        }
        break;
      }
      case 'SampleBinding': {
        const domain = samplerDomain(b, { vars, samplers }, ctx);
        if (domain === undefined) {
          add(b.var, { kind: 'value', ty: ERROR, span: b.var.span });
          break;
        }
        samplers.add(domain);
        if (b.count && (!Number.isInteger(b.count.value) || b.count.value < 1))
          ctx.report(error('RC0513', 'a sample count must be a positive integer', b.count.span, `found ${b.count.text}`));
        // `J ~ inbatch(item)` is a sample set (the batch's positives) without a count
        const isSet = b.count !== undefined || b.sampler.callee.name === 'inbatch';
        add(b.var, isSet ? { kind: 'samples', domain, span: b.var.span } : { kind: 'index', axis: { kind: 'domain', name: domain }, span: b.var.span });
        break;
      }
      case 'PairBinding': {
        const row = vars.get(b.row.name);
        if (row?.kind !== 'sparse') {
          ctx.report(error('RC0308', `\`${b.first.name} < ${b.second.name} in ${b.row.name}\` needs a sparse row`, b.row.span, row ? describeVar(b.row.name, row) : 'not a sparse row', {
            help: 'pairs range over the non-zero features of a sparse row bound by `(y, x) in clicks`',
          }));
          add(b.first, { kind: 'value', ty: ERROR, span: b.first.span });
          add(b.second, { kind: 'value', ty: ERROR, span: b.second.span });
          break;
        }
        add(b.first, { kind: 'index', axis: { kind: 'domain', name: row.domain }, span: b.first.span });
        add(b.second, { kind: 'index', axis: { kind: 'domain', name: row.domain }, span: b.second.span });
        break;
      }
      default:
        assertNever(b);
    }
  }
  return { vars, samplers, ...(scope.inWhere ? { inWhere: true } : {}) };
}

/**
 * `uniform(item)` / `pop(item, 0.75)` / `inbatch(item)`, with an optional named argument
 * `exclude = likes` on `uniform` and `pop` (a single sample `j ~ …` only): the sampled domain, or
 * undefined after reporting.
 */
function samplerDomain(b: Extract<A.Binding, { kind: 'SampleBinding' }>, scope: Scope, ctx: TypeCtx): string | undefined {
  const s = b.sampler;
  const name = s.callee.name;
  if (name !== 'uniform' && name !== 'pop' && name !== 'inbatch') return undefined; // reported by the names pass
  const excludeArg = name === 'inbatch' ? undefined : s.args.find((a) => a.name?.name === 'exclude');
  const args = s.args.filter((a) => a !== excludeArg);
  const max = name === 'pop' ? 2 : 1;
  const usage = name === 'uniform' ? '`uniform(item)`' : name === 'pop' ? '`pop(item, 0.75)`' : '`inbatch(item)`';
  if (args.length < 1 || args.length > max) {
    ctx.report(error('RC0515', `\`${name}\` takes ${max === 1 ? '1 argument' : '1 or 2 arguments'}${excludeArg ? ' besides `exclude`' : ''} but ${args.length} ${args.length === 1 ? 'was' : 'were'} given`, s.span, `expected ${usage}`));
    return undefined;
  }
  const first = args[0]!;
  const g = first.value.kind === 'IdentExpr' ? ctx.env.globals.get(first.value.name) : undefined;
  if (first.name || g?.kind !== 'domain') {
    ctx.report(error('RC0515', `\`${name}\` samples from an index domain`, first.value.span, 'expected an index domain', { help: `write ${usage}` }));
    return undefined;
  }
  const alpha = args[1];
  if (alpha) {
    if (alpha.name && alpha.name.name !== 'alpha') ctx.report(error('RC0405', `\`pop\` has no argument \`${alpha.name.name}\``, alpha.name.span, 'unknown argument', { help: 'write `pop(item, 0.75)`, `pop(item, alpha = 0.75)` or `pop(item, 0.75, exclude = likes)`' }));
    const t = ctx.typeOf(alpha.value, scope);
    if (t.kind === 'tensor' && t.axes.length > 0)
      ctx.report(error('RC0403', "`pop`'s exponent must be a scalar", alpha.value.span, `this is ${describeTy(t)}`));
  }
  if (name === 'inbatch' && b.count) {
    ctx.report(error('RC0515', '`inbatch` takes no sample count: its set is the batch\'s positives', b.count.span, 'remove `x N`', {
      help: `write \`${b.var.name} ~ inbatch(${g.name})\` and range over it with \`j in ${b.var.name}\``,
    }));
  }
  // a misused `x N` or `exclude` is reported; the binding still ranges over the domain (no cascade)
  if (excludeArg) checkExclude(b, excludeArg, g.name, ctx);
  return g.name;
}

/** `exclude = likes`: a relation with a column over the sampled domain and one over another domain, on a single sample. */
function checkExclude(b: Extract<A.Binding, { kind: 'SampleBinding' }>, arg: A.NamedArg, domain: string, ctx: TypeCtx): boolean {
  if (b.count) {
    ctx.report(error('RC0515', '`exclude` applies to a single sample `j ~ …`, not to a sample set', arg.span, 'not for a sample set', {
      help: `a set \`${b.var.name} ~ … x ${b.count.text}\` is shared by the whole batch; draw one negative per tuple with \`j ~ ${b.sampler.callee.name}(${domain}, exclude = …)\``,
    }));
    return false;
  }
  const v = arg.value;
  const rel = v.kind === 'IdentExpr' ? ctx.env.relations.get(v.name) : undefined;
  if (!rel) {
    ctx.report(error('RC0515', '`exclude` names the relation whose pairs are rejected', v.span, 'expected a relation', { help: `write \`${b.sampler.callee.name}(${domain}, exclude = likes)\`` }));
    return false;
  }
  const ids = rel.columns.filter((c) => c.type.kind === 'domain');
  const hasDomain = ids.some((c) => c.type.kind === 'domain' && c.type.domain === domain);
  const owner = ids.find((c) => c.type.kind === 'domain' && c.type.domain !== domain);
  if (!hasDomain || !owner) {
    ctx.report(error('RC0515', `\`exclude = ${rel.name}\` needs a relation with a \`${domain}\` column and a column of another domain (whose positives are rejected)`, v.span, `\`${rel.name}\` has ${hasDomain ? `no other id column` : `no \`${domain}\` column`}`, {
      notes: [{ message: `\`${rel.name}\` is declared at {at} as ${rel.name}(${rel.columns.map((c) => c.name).join(', ')})`, span: rel.decl.name.span }],
    }));
    return false;
  }
  return true;
}

/** `U[u, k]` or `x[j]`: checks every index position and returns the remaining axes. */
export function indexType(e: A.IndexExpr, scope: Scope, ctx: TypeCtx, useParam: (name: string) => void): Ty {
  const name = e.target.name;
  const local = scope.vars.get(name);
  if (local?.kind === 'sparse') {
    if (e.indices.length !== 1) {
      ctx.report(error('RC0302', `the sparse row \`${name}\` takes 1 index, but ${e.indices.length} were given`, e.span, 'expected `x[j]`'));
      return ERROR;
    }
    const want: Axis = { kind: 'domain', name: local.domain };
    const ok = checkIndexPosition(e.indices[0]!, want, scope, ctx, () => `\`${name}\` is a sparse row over \`${local.domain}\``, name, e, 0);
    return ok ? SCALAR : ERROR;
  }
  if (local) {
    ctx.report(error('RC0307', `\`${name}\` cannot be indexed`, e.target.span, describeVar(name, local), {
      help: 'only params and sparse rows can be indexed',
    }));
    return ERROR;
  }
  const g = ctx.env.globals.get(name);
  const p = ctx.env.params.get(name);
  if (!p) {
    ctx.report(error('RC0307', `\`${name}\` cannot be indexed`, e.target.span, g ? `\`${name}\` is ${kindName(g)}` : 'not a param', {
      ...(g ? { notes: [{ message: `\`${name}\` is declared at {at}`, span: g.span }] } : {}),
      help: g?.kind === 'relation' ? `test membership with \`(${e.indices.map(() => '_').join(', ')}) in ${name}\`` : 'only params and sparse rows can be indexed',
    }));
    return ERROR;
  }
  if (scope.inWhere) ctx.report(error('RC0517', 'a `where` clause cannot use params', e.target.span, `\`${name}\` is a param`, { help: "filter on the relation's columns and consts" }));
  useParam(name);
  const shape = p.shape;
  const declared = () => `\`${name}\` is declared at {at} as ${name}[${shape.map((a) => a.name).join(', ')}]`;
  if (e.indices.length > shape.length) {
    const extra = e.indices[shape.length]!;
    ctx.report(error('RC0302', `\`${name}\` has ${shape.length} ax${shape.length === 1 ? 'is' : 'es'}, but ${e.indices.length} indices were given`, extra.span, 'no axis left for this index', {
      notes: [{ message: declared(), span: p.decl.name.span }],
    }));
    return ERROR;
  }
  // every position is checked (all mistakes are reported); a failed one makes the whole access an error
  const ok = e.indices.map((ix, k) => checkIndexPosition(ix, shape[k]!, scope, ctx, declared, name, e, k, p.decl.name.span));
  return ok.every(Boolean) ? { kind: 'tensor', axes: shape.slice(e.indices.length) } : ERROR;
}

/** Whether index position `pos` of `e` holds an index variable over `want`; reports otherwise. */
function checkIndexPosition(ix: A.Expr, want: Axis, scope: Scope, ctx: TypeCtx, declared: () => string, target: string, e: A.IndexExpr, pos: number, declSpan?: Span): boolean {
  const notes = declSpan ? [{ message: declared(), span: declSpan }] : [{ message: declared() }];
  if (ix.kind !== 'IdentExpr') {
    ctx.report(error('RC0303', 'an index must be an index variable', ix.span, `expected an index over \`${want.name}\``, {
      notes,
      help: want.kind === 'dim' ? `bind one with \`k in ${want.name}\`` : `bind one with \`v in ${want.name}\` or a tuple binding`,
    }));
    return false;
  }
  const v = scope.vars.get(ix.name);
  if (v?.kind === 'index') {
    if (axisEq(v.axis, want)) return true;
    const better = [...scope.vars].find(([, x]) => x.kind === 'index' && axisEq(x.axis, want))?.[0];
    const fixed = e.indices.map((x, k) => (k === pos ? better : x.kind === 'IdentExpr' ? x.name : '…'));
    ctx.report(error('RC0301', `\`${target}\` is indexed by \`${want.name}\`, but \`${ix.name}\` ranges over \`${v.axis.name}\``, ix.span, `expected an index over \`${want.name}\``, {
      notes,
      ...(better ? { help: `did you mean \`${target}[${fixed.join(', ')}]\`?` } : {}),
    }));
    return false;
  }
  if (v?.kind === 'value' && v.ty.kind === 'error') return false;
  ctx.report(error('RC0303', 'an index must be an index variable', ix.span, v ? describeVar(ix.name, v) : 'not an index variable', {
    notes,
    help: `expected an index over \`${want.name}\``,
  }));
  return false;
}

/** `(u, i) in likes`: each element must be an index over the matching column's domain. */
export function memberType(e: A.MemberExpr, scope: Scope, ctx: TypeCtx): Ty {
  const rel = ctx.env.relations.get(e.relation.name);
  if (!rel) return ERROR; // reported by the names pass
  const decl = { message: `\`${rel.name}\` is declared at {at} as ${rel.name}(${rel.columns.map((c) => c.name).join(', ')})`, span: rel.decl.name.span };
  if (e.tuple.length > rel.columns.length) {
    ctx.report(error('RC0305', `\`${rel.name}\` has ${rel.columns.length} columns, but the tuple has ${e.tuple.length}`, e.tuple[rel.columns.length]!.span, 'no column left', { notes: [decl] }));
    return SCALAR;
  }
  e.tuple.forEach((t, k) => {
    const c = rel.columns[k]!;
    if (c.type.kind !== 'domain') {
      ctx.report(error('RC0305', `column \`${c.name}\` of \`${rel.name}\` is not an index column`, t.span, 'membership tests only index columns', { notes: [decl], help: 'test the leading index columns, e.g. `(u, i) in likes`' }));
      return;
    }
    const want = c.type.domain;
    const v = t.kind === 'IdentExpr' ? scope.vars.get(t.name) : undefined;
    if (v?.kind === 'index' && v.axis.kind === 'domain' && v.axis.name === want) return;
    if (v?.kind === 'value' && v.ty.kind === 'error') return;
    ctx.report(error('RC0305', `column \`${c.name}\` of \`${rel.name}\` is an index over \`${want}\`, but ${t.kind === 'IdentExpr' && v ? describeVar(t.name, v) : 'this is not an index variable'}`, t.span, `expected an index over \`${want}\``, { notes: [decl] }));
  });
  return SCALAR;
}

// Check pass 1c — name resolution. Every name in every def and term body (and in a derived relation's
// `where`) is resolved against its lexical scope: aggregation bindings and def parameters, then the
// globals the body's file may see (scope.ts). Reports RC0201 (not found, with suggestions), RC0205
// (found, but the wrong kind of name), RC0206 (bound twice) and RC0515 (unknown sampler), and records
// which defs each def calls, for the recursion check. Later passes may assume that lookups succeed.
import type * as A from '../syntax/ast.ts';
import type { Span } from '../diagnostics/source.ts';
import { BUILTINS, kindName, SAMPLERS, VALUE_TYPES, type Sym } from './env.ts';
import { assertNever, didYouMean, error, type Report } from './report.ts';
import type { Scope } from './scope.ts';

/** def → the defs its body calls */
export type CallGraph = ReadonlyMap<string, readonly { readonly callee: string; readonly span: Span }[]>;

export interface Resolver {
  /** The global `id` names, if it is one of the `want` kinds (else RC0201 or RC0205, and undefined). */
  lookupKind(id: A.Ident, want: readonly Sym['kind'][], wantText: string): Sym | undefined;
  /** Resolves every name of `e` against `locals` and the model's globals. */
  resolve(e: A.Expr, locals: ReadonlySet<string>): void;
  /** Resolves every def's parameter types and body, each in its file's scope, then every term's body. */
  resolveBodies(): CallGraph;
}

export function nameResolver(scope: Scope, report: Report): Resolver {
  const { globals, globalsOf, defs, terms } = scope;
  /** the globals of the body being resolved */
  let scopeG: ReadonlyMap<string, Sym> = globals;
  const calls = new Map<string, { callee: string; span: Span }[]>();
  let currentDef: string | undefined;

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
  const resolveBodies = (): CallGraph => {
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
    return calls;
  };
  return { lookupKind, resolve, resolveBodies };
}

// Check pass 2b — shapes and types. Input: the names pass's Env (every name resolves). Output: the
// params each term depends on, and RC03xx/RC04xx diagnostics. An expression is a tensor over axes
// (scalar: none; `U[u]` with U[user, d] is a row of `d`), a string, or an error already reported
// (which silences follow-ups). Defs are checked at each call site with the argument types (they are
// inlined later); an error in a def body is reported there, with a note pointing at the call.
import type * as A from '../syntax/ast.ts';
import type { Diagnostic, Note } from '../diagnostics/diagnostics.ts';
import type { Span } from '../diagnostics/source.ts';
import { axesEq, bindAll, describeTy, describeVar, EMPTY_SCOPE, ERROR, indexType, memberType, SCALAR, whereScope, type Scope, type Ty, type TypeCtx, type Var } from './indices.ts';
import { kindName, UNARY_BUILTINS, VALUE_TYPES, type Env } from './env.ts';
import { error, type Report } from './report.ts';

/** Nested def calls the checker follows (each level costs stack in checking, lowering and autodiff). */
export const MAX_DEF_DEPTH = 256;

export interface TypesResult {
  /** term name → the params its value depends on (through defs) */
  readonly termParams: ReadonlyMap<string, ReadonlySet<string>>;
}

export function checkTypes(env: Env, report: Report): TypesResult {
  const t = new Typer(env, report);
  for (const r of env.relations.values()) {
    if (r.source.kind !== 'derived') continue;
    const base = env.relations.get(r.source.base);
    if (!base) continue;
    const ty = t.typeOf(r.source.where, whereScope(base.columns, r.decl.name.span));
    t.requireScalar(ty, r.source.where.span, 'a `where` condition');
  }
  const termParams = new Map<string, ReadonlySet<string>>();
  for (const term of env.terms) {
    t.acc = new Set();
    const ty = t.typeOf(term.body, EMPTY_SCOPE);
    if (ty.kind === 'tensor' && ty.axes.length > 0)
      report(error('RC0403', `the ${term.role} term \`${term.name.name}\` must be a scalar, but it is ${describeTy(ty)}`, term.body.span, `this is ${describeTy(ty)}`, {
        help: ty.axes.length === 1 ? 'reduce it with `sum(...)` or `mean(...)`, or take a dot product with `.`' : 'reduce it with `sum(...)` or `mean(...)`',
      }));
    else if (ty.kind === 'string') report(error('RC0407', `the ${term.role} term \`${term.name.name}\` is a string`, term.body.span, 'not a number'));
    termParams.set(term.name.name, t.acc);
  }
  // Defs no term calls are still checked when every parameter has a declared type.
  for (const d of env.defs.values()) {
    if (t.called.has(d.name.name) || d.params.some((p) => !p.type)) continue;
    const vars = new Map<string, Var>();
    for (const p of d.params) vars.set(p.name.name, declaredVar(p, env));
    t.acc = new Set();
    t.typeOf(d.body, { vars, samplers: new Set() });
  }
  return { termParams };
}

function declaredVar(p: A.DefParam, env: Env): Var {
  const ty = p.type;
  if (!ty || VALUE_TYPES.has(ty.name)) return { kind: 'value', ty: SCALAR, span: p.span };
  const dim = env.dims.get(ty.name);
  if (dim !== undefined) return { kind: 'index', axis: { kind: 'dim', name: ty.name, size: dim }, span: p.span };
  return { kind: 'index', axis: { kind: 'domain', name: ty.name }, span: p.span };
}

function varSig(v: Var): string {
  switch (v.kind) {
    case 'index':
      return `i:${v.axis.kind}:${v.axis.name}`;
    case 'sparse':
      return `x:${v.domain}`;
    case 'samples':
      return `s:${v.domain}`;
    case 'value':
      return v.ty.kind === 'tensor' ? `v:${v.ty.axes.map((a) => a.name).join(',')}` : `v:${v.ty.kind}`;
  }
}

const VERB: Readonly<Record<string, string>> = { '+': 'add', '-': 'subtract', '*': 'multiply', '/': 'divide', '^': 'raise' };

class Typer implements TypeCtx {
  acc = new Set<string>();
  readonly called = new Set<string>();
  /** divisors already warned about (a def body is typed once per call) */
  private readonly warned = new Set<A.Expr>();
  private readonly memo = new Map<string, { ty: Ty; params: ReadonlySet<string> }>();
  private readonly active = new Set<string>();
  private readonly calls: { def: string; span: Span }[] = [];
  private readonly seen = new Set<string>();

  constructor(
    readonly env: Env,
    private readonly sink: Report,
  ) {}

  report(d: Diagnostic): void {
    const key = `${d.code}:${d.span.start}:${d.span.end}:${d.message}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    const call = this.calls[this.calls.length - 1];
    this.sink(call ? { ...d, notes: [...(d.notes ?? []), { message: `in the call of \`${call.def}\` at {at}`, span: call.span }] } : d);
  }

  private useParam = (name: string): void => {
    this.acc.add(name);
  };

  requireScalar(t: Ty, span: Span, what: string): void {
    if (t.kind === 'tensor' && t.axes.length > 0)
      this.report(error('RC0403', `${what} must be a scalar, but this is ${describeTy(t)}`, span, `this is ${describeTy(t)}`, {
        ...(t.axes.length === 1 ? { help: 'reduce it with `sum(...)` or take a dot product with `.`' } : {}),
      }));
    else if (t.kind === 'string') this.report(error('RC0407', `${what} must be a number, but this is a string`, span, 'a string'));
  }

  /** A numeric operand: strings are reported, errors pass through. */
  private numeric(t: Ty, span: Span): Ty {
    if (t.kind === 'string') {
      this.report(error('RC0407', 'a string cannot be used as a number', span, 'a string', { help: 'strings can only be compared with `==` and `!=`' }));
      return ERROR;
    }
    return t;
  }

  typeOf(e: A.Expr, scope: Scope): Ty {
    switch (e.kind) {
      case 'NumberLit':
        return SCALAR;
      case 'StringLit':
        return { kind: 'string' };
      case 'IdentExpr':
        return this.identType(e, scope);
      case 'UnaryExpr': {
        const a = this.typeOf(e.arg, scope);
        if (e.op === '-') return this.numeric(a, e.arg.span);
        this.requireScalar(a, e.arg.span, 'the operand of `not`');
        return SCALAR;
      }
      case 'BinaryExpr':
        return this.binaryType(e, scope);
      case 'TernaryExpr': {
        this.requireScalar(this.typeOf(e.cond, scope), e.cond.span, 'a condition');
        const a = this.numeric(this.typeOf(e.then, scope), e.then.span);
        const b = this.numeric(this.typeOf(e.else, scope), e.else.span);
        return this.broadcast(a, b, e.span, 'choose between');
      }
      case 'CallExpr':
        return this.callType(e, scope);
      case 'IndexExpr':
        return indexType(e, scope, this, this.useParam);
      case 'SizeExpr': {
        const g = this.env.globals.get(e.name.name);
        if (g?.kind === 'domain' || g?.kind === 'relation') return SCALAR;
        this.report(error('RC0506', `\`|${e.name.name}|\` needs an index domain or a relation`, e.name.span, g ? `\`${e.name.name}\` is ${kindName(g)}` : 'not a domain or relation', {
          help: g?.kind === 'dim' ? `a dim is already a number: write \`${e.name.name}\`` : '`|user|` is the size of a domain, `|ratings|` the tuple count of a relation',
        }));
        return ERROR;
      }
      case 'MemberExpr':
        return memberType(e, scope, this);
      case 'AggregateExpr': {
        const inner = bindAll(e.bindings, scope, this);
        return this.numeric(this.typeOf(e.body, inner), e.body.span);
      }
    }
  }

  private identType(e: A.IdentExpr, scope: Scope): Ty {
    const v = scope.vars.get(e.name);
    if (v) {
      switch (v.kind) {
        case 'value':
          return v.ty;
        case 'index':
          this.report(error('RC0309', `\`${e.name}\` is an index over \`${v.axis.name}\`, not a value`, e.span, 'used as a value', {
            help: v.axis.kind === 'dim' ? `index a tensor with it, e.g. \`h[${e.name}]\`` : `index a param with it, e.g. \`U[${e.name}]\``,
          }));
          return ERROR;
        case 'sparse':
          this.report(error('RC0406', `\`${e.name}\` is a sparse row, not a value`, e.span, 'used as a value', { help: `index it with a feature: \`sum(j in ${e.name}: ${e.name}[j])\`` }));
          return ERROR;
        case 'samples':
          this.report(error('RC0406', `\`${e.name}\` is a sample set, not a value`, e.span, 'used as a value', { help: `range over it: \`sum(j in ${e.name}: ...)\`` }));
          return ERROR;
      }
    }
    const g = this.env.globals.get(e.name);
    if (!g) return ERROR;
    switch (g.kind) {
      case 'const':
      case 'dim':
        return SCALAR;
      case 'param': {
        if (scope.inWhere) {
          this.report(error('RC0517', 'a `where` clause cannot use params', e.span, `\`${e.name}\` is a param`, { help: "filter on the relation's columns and consts" }));
          return ERROR;
        }
        this.useParam(g.name);
        const p = this.env.params.get(g.name);
        return p ? { kind: 'tensor', axes: p.shape } : ERROR;
      }
      case 'domain':
        this.report(error('RC0406', `\`${e.name}\` is an index domain, not a value`, e.span, 'used as a value', { help: `its size is \`|${e.name}|\`; to range over it write \`sum(u in ${e.name}: ...)\`` }));
        return ERROR;
      case 'relation':
        this.report(error('RC0406', `\`${e.name}\` is a relation, not a value`, e.span, 'used as a value', { help: `its tuple count is \`|${e.name}|\`; to test membership write \`(u, i) in ${e.name}\`` }));
        return ERROR;
      case 'def':
        this.report(error('RC0406', `\`${e.name}\` is a def, not a value`, e.span, 'used as a value', { help: `call it: \`${e.name}(${g.decl.params.map((p) => p.name.name).join(', ')})\`` }));
        return ERROR;
    }
  }

  private broadcast(a: Ty, b: Ty, span: Span, verb: string): Ty {
    if (a.kind === 'error' || b.kind === 'error') return ERROR;
    if (a.kind === 'string' || b.kind === 'string') return ERROR;
    if (a.axes.length === 0) return b;
    if (b.axes.length === 0) return a;
    if (axesEq(a.axes, b.axes)) return a;
    const widths = a.axes.length === 1 && b.axes.length === 1 && a.axes[0]!.kind === 'dim' && b.axes[0]!.kind === 'dim';
    this.report(error('RC0401', `cannot ${verb} ${describeTy(a)} and ${describeTy(b)}`, span, 'shapes differ', {
      help: widths ? 'elementwise operations need rows of the same dim' : 'elementwise operations need equal shapes, or a scalar on one side',
    }));
    return ERROR;
  }

  private binaryType(e: A.BinaryExpr, scope: Scope): Ty {
    const a = this.typeOf(e.left, scope);
    const b = this.typeOf(e.right, scope);
    switch (e.op) {
      case '+':
      case '-':
      case '*':
      case '/':
        if (e.op === '/') this.emptyDivisor(e.right);
        return this.broadcast(this.numeric(a, e.left.span), this.numeric(b, e.right.span), e.span, VERB[e.op]!);
      case '^': {
        this.requireScalar(b, e.right.span, 'an exponent');
        return this.numeric(a, e.left.span);
      }
      case '.':
        return this.dot(a, b, e, e.left.span, e.right.span, '`.`');
      case '==':
      case '!=':
        if (a.kind === 'string' && b.kind === 'string') return SCALAR;
        if ((a.kind === 'string') !== (b.kind === 'string') && a.kind !== 'error' && b.kind !== 'error') {
          this.report(error('RC0407', 'cannot compare a string with a number', e.span, `${describeTy(a)} ${e.op} ${describeTy(b)}`));
          return SCALAR;
        }
        this.requireScalar(a, e.left.span, 'a compared value');
        this.requireScalar(b, e.right.span, 'a compared value');
        return SCALAR;
      case '<':
      case '<=':
      case '>':
      case '>=':
      case 'and':
      case 'or': {
        const what = e.op === 'and' || e.op === 'or' ? `an operand of \`${e.op}\`` : 'a compared value';
        this.requireScalar(a, e.left.span, what);
        this.requireScalar(b, e.right.span, what);
        return SCALAR;
      }
    }
  }

  /**
   * `x / |likes|` where `likes` is a filtered relation: its `where` may select nothing, and the term
   * becomes 0/0. Factors of a product and a negation are looked through; `max(1, |likes|)` is not.
   */
  private emptyDivisor(d: A.Expr): void {
    if (d.kind === 'UnaryExpr' && d.op === '-') return this.emptyDivisor(d.arg);
    if (d.kind === 'BinaryExpr' && (d.op === '*' || d.op === '.')) {
      this.emptyDivisor(d.left);
      return this.emptyDivisor(d.right);
    }
    if (d.kind !== 'SizeExpr') return;
    const r = this.env.relations.get(d.name.name);
    if (r?.source.kind !== 'derived' || this.warned.has(d)) return;
    this.warned.add(d);
    this.report({
      code: 'RC0521',
      severity: 'warning',
      message: `division by \`|${r.name}|\`, which is 0 when the filter of \`${r.name}\` selects nothing`,
      span: d.span,
      label: 'may be zero',
      notes: [{ message: `\`${r.name}\` is filtered from \`${r.source.base}\` at {at}`, span: r.decl.span }],
      help: `divide by \`max(1, |${r.name}|)\`, or average with \`mean((…) in ${r.name}: …)\``,
    });
  }

  private dot(a: Ty, b: Ty, e: { readonly span: Span }, la: Span, lb: Span, what: string): Ty {
    if (a.kind === 'error' || b.kind === 'error') return ERROR;
    if (a.kind === 'tensor' && b.kind === 'tensor' && a.axes.length === 1 && b.axes.length === 1 && axesEq(a.axes, b.axes)) return SCALAR;
    if (a.kind === 'tensor' && b.kind === 'tensor' && a.axes.length === 1 && b.axes.length === 1) {
      this.report(error('RC0402', `${what} needs two rows of the same width, found ${describeTy(a)} and ${describeTy(b)}`, e.span, 'widths differ', {
        help: `both sides must be rows over the same dim, e.g. \`U[u] . V[i]\` with U[user, d] and V[item, d]`,
      }));
      return ERROR;
    }
    const bad = a.kind !== 'tensor' || a.axes.length !== 1 ? { t: a, side: 'left', span: la } : { t: b, side: 'right', span: lb };
    const scalar = bad.t.kind === 'tensor' && bad.t.axes.length === 0;
    this.report(error('RC0402', `${what} needs two rows, but the ${bad.side} side is ${describeTy(bad.t)}`, bad.span, `this is ${describeTy(bad.t)}`, {
      help: scalar ? 'use `*` to multiply by a scalar' : bad.t.kind === 'tensor' ? 'index it down to a row first, e.g. `U[u]`' : 'a dot product multiplies two rows of numbers',
    }));
    return ERROR;
  }

  private callType(e: A.CallExpr, scope: Scope): Ty {
    const name = e.callee.name;
    const g = this.env.globals.get(name);
    const local = scope.vars.get(name);
    if (g?.kind === 'def' && !local) return this.callDef(g.decl, e, scope);
    if (local || g) {
      this.report(error('RC0408', `\`${name}\` is not a function`, e.callee.span, local ? describeVar(name, local) : `\`${name}\` is ${kindName(g!)}`, {
        ...(g?.kind === 'param' ? { help: `index it with \`${name}[...]\`` } : {}),
      }));
      return ERROR;
    }
    const named = e.args.find((a) => a.name);
    if (named?.name) {
      this.report(error('RC0405', `\`${name}\` takes no named arguments`, named.name.span, 'named argument', { help: 'pass the value by position' }));
      return ERROR;
    }
    const arity = (n: readonly number[]): boolean => {
      if (n.includes(e.args.length)) return true;
      const want = n.length === 1 ? `${n[0]} argument${n[0] === 1 ? '' : 's'}` : `${n.join(' or ')} arguments`;
      this.report(error('RC0404', `\`${name}\` takes ${want} but ${e.args.length} ${e.args.length === 1 ? 'was' : 'were'} given`, e.span, `expected ${want}`));
      return false;
    };
    const arg = (k: number): Ty => this.numeric(this.typeOf(e.args[k]!.value, scope), e.args[k]!.value.span);
    if (UNARY_BUILTINS.has(name)) return arity([1]) ? arg(0) : ERROR;
    switch (name) {
      case 'sum':
      case 'mean':
      case 'logsumexp':
      case 'norm':
        if (!arity([1])) return ERROR;
        return arg(0).kind === 'error' ? ERROR : SCALAR;
      case 'min':
      case 'max':
        if (!arity([1, 2])) return ERROR;
        if (e.args.length === 1) return arg(0).kind === 'error' ? ERROR : SCALAR;
        return this.broadcast(arg(0), arg(1), e.span, `take the ${name} of`);
      case 'clip': {
        if (!arity([3])) return ERROR;
        const x = arg(0);
        this.requireScalar(arg(1), e.args[1]!.value.span, 'a clip bound');
        this.requireScalar(arg(2), e.args[2]!.value.span, 'a clip bound');
        return x;
      }
      case 'cosine':
        if (!arity([2])) return ERROR;
        return this.dot(arg(0), arg(1), e, e.args[0]!.value.span, e.args[1]!.value.span, '`cosine`');
      case 'logq': {
        if (!arity([1])) return ERROR;
        const a = e.args[0]!.value;
        const v = a.kind === 'IdentExpr' ? scope.vars.get(a.name) : undefined;
        if (v?.kind === 'index' && v.axis.kind === 'domain' && scope.samplers.has(v.axis.name)) return SCALAR;
        if (v?.kind === 'value' && v.ty.kind === 'error') return ERROR;
        const dom = v?.kind === 'index' ? v.axis.name : undefined;
        this.report(error('RC0310', dom ? `\`logq(${a.kind === 'IdentExpr' ? a.name : '…'})\` needs a sampler over \`${dom}\` in scope` : '`logq` takes an index variable', a.span, dom ? `no sampler over \`${dom}\`` : 'not an index variable', {
          help: `bind a sampler in the enclosing aggregation, e.g. \`j ~ pop(${dom ?? 'item'}, 0.75)\``,
        }));
        return ERROR;
      }
      case 'uniform':
      case 'pop':
      case 'inbatch':
        this.report(error('RC0515', `the sampler \`${name}\` can only appear in a binding`, e.span, 'sampler outside a binding', { help: `write \`j ~ ${name}(...)\` among an aggregation's bindings` }));
        return ERROR;
      default:
        return ERROR; // unknown names were reported by the names pass
    }
  }

  private callDef(d: A.DefDecl, e: A.CallExpr, scope: Scope): Ty {
    const name = d.name.name;
    this.called.add(name);
    // built only for a diagnostic: a def is called at every use of every def that calls it
    const declared = (): Note => ({ message: `\`${name}\` is declared at {at} as ${name}(${d.params.map((p) => p.name.name + (p.type ? ': ' + p.type.name : '')).join(', ')})`, span: d.name.span });
    if (e.args.length !== d.params.length) {
      const n = d.params.length;
      this.report(error('RC0404', `\`${name}\` takes ${n} argument${n === 1 ? '' : 's'} but ${e.args.length} ${e.args.length === 1 ? 'was' : 'were'} given`, e.span, `expected ${n} argument${n === 1 ? '' : 's'}`, { notes: [declared()] }));
      return ERROR;
    }
    const named = e.args.find((a) => a.name);
    if (named?.name) {
      this.report(error('RC0405', `arguments of the def \`${name}\` are positional`, named.name.span, 'named argument', { help: 'drop the name' }));
      return ERROR;
    }
    const vars = new Map<string, Var>();
    const sig: string[] = [];
    let bad = false;
    d.params.forEach((p, k) => {
      const a = e.args[k]!.value;
      const local = a.kind === 'IdentExpr' ? scope.vars.get(a.name) : undefined;
      const v: Var = local && local.kind !== 'value' ? local : { kind: 'value', ty: this.typeOf(a, scope), span: a.span };
      if (p.type && !compatible(v, declaredVar(p, this.env))) {
        const want = declaredVar(p, this.env);
        const wantText = want.kind === 'index' ? `an index over \`${want.axis.name}\`` : 'a scalar';
        const got = a.kind === 'IdentExpr' && local ? describeVar(a.name, local) : `this is ${v.kind === 'value' ? describeTy(v.ty) : 'not a value'}`;
        this.report(error('RC0306', `\`${name}\` expects ${wantText} for \`${p.name.name}\`, but ${got}`, a.span, `expected ${wantText}`, { notes: [declared()] }));
        bad = true;
      }
      if (v.kind === 'value' && v.ty.kind === 'error') bad = true;
      vars.set(p.name.name, v);
      sig.push(varSig(v));
    });
    if (bad) return ERROR;
    const key = `${name}(${sig.join(';')})|${scope.samplers.size === 0 ? '' : [...scope.samplers].sort().join(',')}`;
    const hit = this.memo.get(key);
    if (hit) {
      hit.params.forEach((p) => this.acc.add(p));
      return hit.ty;
    }
    if (this.active.has(key)) return ERROR; // recursion is reported by the names pass
    if (this.calls.length >= MAX_DEF_DEPTH) {
      const first = this.calls[0]!;
      this.report(
        error('RC0522', `def calls nest more than ${MAX_DEF_DEPTH} deep`, e.span, `call number ${MAX_DEF_DEPTH + 1} in a chain`, {
          notes: [{ message: `the chain starts with the call of \`${first.def}\` at {at}`, span: first.span }],
          help: `recc follows at most ${MAX_DEF_DEPTH} nested def calls; merge some of the defs, or compute the value in fewer levels`,
        }),
      );
      return ERROR;
    }
    this.active.add(key);
    this.calls.push({ def: name, span: e.span });
    const outer = this.acc;
    this.acc = new Set();
    const ty = this.typeOf(d.body, { vars, samplers: scope.samplers });
    const params = this.acc;
    this.acc = outer;
    params.forEach((p) => outer.add(p));
    this.calls.pop();
    this.active.delete(key);
    this.memo.set(key, { ty, params });
    return ty;
  }
}

function compatible(got: Var, want: Var): boolean {
  if (want.kind === 'index') return got.kind === 'index' && got.axis.kind === want.axis.kind && got.axis.name === want.axis.name;
  if (got.kind !== 'value') return false;
  return got.ty.kind === 'error' || (got.ty.kind === 'tensor' && got.ty.axes.length === 0);
}

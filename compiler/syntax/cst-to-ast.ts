// CST → AST (stage 2). Input: declaration CST nodes that parsed without syntax errors; output: the
// AST of ast.ts, every node spanned by file offsets. Forms the grammar accepts loosely are settled
// here with RC01xx diagnostics: call items become aggregation bindings or arguments, `by time`,
// `per user`, `batch full`, `x N` and initializer names are checked by spelling. Never throws on
// user input; a declaration with a problem is dropped and reported.
import type { CstElement, CstNode, IToken } from 'chevrotain';
import type * as A from './ast.ts';
import { InternalError, suggest, type Diagnostic } from '../diagnostics/diagnostics.ts';
import { joinSpans, span, type Span } from '../diagnostics/source.ts';

const AGGREGATES: ReadonlySet<string> = new Set(['sum', 'mean', 'logsumexp', 'max', 'min']);

/** A syntax problem found after parsing; aborts the current declaration. */
class Reject {
  constructor(readonly diagnostic: Diagnostic) {}
}

function isToken(e: CstElement): e is IToken {
  return 'image' in e;
}

export function cstToAst(file: string, text: string, decls: readonly CstNode[]): { program: A.Program; diagnostics: Diagnostic[] } {
  const c = cstConverter(file, text);
  for (const d of decls) c.add(d);
  return c.finish();
}

/**
 * `v in range` (a RangeBinding) or `j < l in row` (a PairBinding), from the expression before `in`;
 * undefined when it is neither (RC0107). Shared with fast-parse.ts, so both paths build the same nodes.
 */
export function rangeBinding(value: A.Expr, range: A.Ident, span: Span): A.Binding | undefined {
  if (value.kind === 'IdentExpr') return { kind: 'RangeBinding', var: { kind: 'Ident', name: value.name, span: value.span }, range, span };
  if (value.kind === 'BinaryExpr' && value.op === '<' && value.left.kind === 'IdentExpr' && value.right.kind === 'IdentExpr')
    return {
      kind: 'PairBinding',
      first: { kind: 'Ident', name: value.left.name, span: value.left.span },
      second: { kind: 'Ident', name: value.right.name, span: value.right.span },
      row: range,
      span,
    };
  return undefined;
}

/**
 * An incremental cstToAst: parse.ts hands over each declaration's CST as soon as it is parsed, so
 * the CST dies young (a minor GC) instead of the whole file's CST reaching the old generation.
 */
export function cstConverter(file: string, text: string): { add(decl: CstNode): void; finish(): { program: A.Program; diagnostics: Diagnostic[] } } {
  const c = new Converter(file, text);
  const out: A.Decl[] = [];
  return {
    add(d) {
      try {
        out.push(c.declaration(d));
      } catch (e) {
        if (e instanceof Reject) c.diagnostics.push(e.diagnostic);
        else throw e;
      }
    },
    finish: () => ({ program: { kind: 'Program', file, decls: out, span: span(file, 0, text.length) }, diagnostics: c.diagnostics }),
  };
}

class Converter {
  readonly diagnostics: Diagnostic[] = [];
  constructor(
    private readonly file: string,
    private readonly source: string,
  ) {}

  // --- CST access -------------------------------------------------------------------------------

  private nodes(n: CstNode, key: string): CstNode[] {
    return (n.children[key] ?? []).filter((e): e is CstNode => !isToken(e));
  }
  private node(n: CstNode, key: string, i = 0): CstNode {
    const r = this.nodes(n, key)[i];
    if (!r) throw new InternalError(`cst: ${n.name} has no ${key}[${i}]`);
    return r;
  }
  private toks(n: CstNode, key: string): IToken[] {
    return (n.children[key] ?? []).filter(isToken);
  }
  private tok(n: CstNode, key: string, i = 0): IToken {
    const r = this.toks(n, key)[i];
    if (!r) throw new InternalError(`cst: ${n.name} has no token ${key}[${i}]`);
    return r;
  }
  private has(n: CstNode, key: string): boolean {
    return (n.children[key]?.length ?? 0) > 0;
  }
  private tspan(t: IToken): Span {
    return span(this.file, t.startOffset, (t.endOffset ?? t.startOffset) + 1);
  }
  private nspan(n: CstNode): Span {
    const l = n.location;
    if (!l || Number.isNaN(l.startOffset)) throw new InternalError(`cst: ${n.name} has no location`);
    return span(this.file, l.startOffset, (l.endOffset ?? l.startOffset) + 1);
  }
  private ident(t: IToken): A.Ident {
    return { kind: 'Ident', name: t.image, span: this.tspan(t) };
  }
  private number(t: IToken): A.NumberLit {
    return { kind: 'NumberLit', value: Number(t.image), text: t.image, span: this.tspan(t) };
  }
  private reject(code: string, message: string, at: Span, label: string, help?: string): never {
    throw new Reject({ code, severity: 'error', message, span: at, label, ...(help ? { help } : {}) });
  }

  // --- declarations -----------------------------------------------------------------------------

  declaration(n: CstNode): A.Decl {
    const [key, child] = Object.entries(n.children)[0] ?? [];
    const d = child?.[0];
    if (!key || !d || isToken(d)) throw new InternalError('cst: empty declaration');
    const sp = this.nspan(d);
    switch (key) {
      case 'modelDecl':
        return { kind: 'ModelDecl', name: this.ident(this.tok(d, 'Identifier')), span: sp };
      case 'importDecl': {
        const t = this.tok(d, 'StringLit');
        return { kind: 'ImportDecl', path: unquote(t.image), pathSpan: this.tspan(t), span: sp };
      }
      case 'indexDecl':
        return { kind: 'IndexDecl', names: this.toks(d, 'Identifier').map((t) => this.ident(t)), span: sp };
      case 'dataDecl':
        return this.dataDecl(d, sp);
      case 'splitDecl':
        return this.splitDecl(d, sp);
      case 'dimDecl':
        return {
          kind: 'DimDecl',
          items: this.nodes(d, 'dimItem').map((it) => ({
            name: this.ident(this.tok(it, 'Identifier')),
            value: this.number(this.tok(it, 'NumberLit')),
            span: this.nspan(it),
          })),
          span: sp,
        };
      case 'constDecl':
        return {
          kind: 'ConstDecl',
          items: this.nodes(d, 'constItem').map((it) => ({
            name: this.ident(this.tok(it, 'Identifier')),
            value: this.expression(this.node(it, 'expression')),
            span: this.nspan(it),
          })),
          span: sp,
        };
      case 'paramDecl':
        return this.paramDecl(d, sp);
      case 'defDecl':
        return {
          kind: 'DefDecl',
          name: this.ident(this.tok(d, 'Identifier')),
          params: this.nodes(d, 'defParam').map((p) => ({
            name: this.ident(this.tok(p, 'name')),
            ...(this.has(p, 'type') ? { type: this.ident(this.tok(p, 'type')) } : {}),
            span: this.nspan(p),
          })),
          body: this.expression(this.node(d, 'expression')),
          span: sp,
        };
      case 'termDecl':
        return {
          kind: 'TermDecl',
          role: this.tok(d, 'role').image === 'loss' ? 'loss' : 'reg',
          name: this.ident(this.tok(d, 'Identifier')),
          body: this.expression(this.node(d, 'expression')),
          span: sp,
        };
      case 'trainBlock':
        return { kind: 'TrainBlock', entries: this.nodes(d, 'trainEntry').map((e) => this.trainEntry(e)), span: sp };
      case 'evaluateBlock': {
        const entries: A.EvaluateEntry[] = [
          ...this.nodes(d, 'metricsEntry').map((m): A.EvaluateEntry => ({
            kind: 'Metrics',
            metrics: this.nodes(m, 'metric').map((x) => ({
              name: this.ident(this.tok(x, 'Identifier')),
              ...(this.has(x, 'NumberLit') ? { k: this.number(this.tok(x, 'NumberLit')) } : {}),
              span: this.nspan(x),
            })),
            span: this.nspan(m),
          })),
          ...this.nodes(d, 'everyEntry').map((m): A.EvaluateEntry => ({
            kind: 'Every',
            value: this.number(this.tok(m, 'NumberLit')),
            unit: this.tok(m, 'unit').image === 'epochs' ? 'epochs' : 'steps',
            span: this.nspan(m),
          })),
        ];
        entries.sort((a, b) => a.span.start - b.span.start);
        return { kind: 'EvaluateBlock', entries, span: sp };
      }
      default:
        throw new InternalError(`cst: unknown declaration ${key}`);
    }
  }

  private dataDecl(d: CstNode, sp: Span): A.DataDecl | A.DerivedDataDecl {
    const name = this.ident(this.tok(d, 'Identifier'));
    if (this.has(d, 'dataDerived')) {
      const x = this.node(d, 'dataDerived');
      return { kind: 'DerivedDataDecl', name, base: this.ident(this.tok(x, 'base')), where: this.expression(this.node(x, 'expression')), span: sp };
    }
    const f = this.node(d, 'dataFile');
    const path = this.tok(f, 'StringLit');
    return {
      kind: 'DataDecl',
      name,
      columns: this.nodes(f, 'column').map((col) => this.column(col)),
      path: unquote(path.image),
      pathSpan: this.tspan(path),
      format: this.ident(this.tok(f, 'format')),
      span: sp,
    };
  }

  private column(col: CstNode): A.Column {
    const name = this.ident(this.tok(col, 'name'));
    const t = this.tok(col, 'type');
    const sp = this.nspan(col);
    if (this.has(col, 'domain')) {
      const dom = this.tok(col, 'domain');
      if (t.image !== 'sparse')
        this.reject('RC0109', `unexpected \`${dom.image}\` after the column type`, this.tspan(dom), 'expected `,` or `)`', 'a sparse column is written `x: sparse feature`');
      return { name, type: { kind: 'SparseType', domain: this.ident(dom), span: joinSpans(this.tspan(t), this.tspan(dom)) }, span: sp };
    }
    if (t.image === 'float' || t.image === 'int' || t.image === 'string')
      return { name, type: { kind: 'ScalarType', name: t.image, span: this.tspan(t) }, span: sp };
    return { name, type: { kind: 'DomainType', domain: this.ident(t), span: this.tspan(t) }, span: sp };
  }

  private splitDecl(d: CstNode, sp: Span): A.SplitDecl {
    const relation = this.ident(this.tok(d, 'Identifier'));
    return { kind: 'SplitDecl', relation, method: this.splitMethod(d), span: sp };
  }

  private once(m: CstNode, key: string, what: string): IToken | undefined {
    const ns = this.nodes(m, key);
    if (ns.length > 1) this.reject('RC0110', `\`${what}\` is given twice`, this.nspan(ns[1]!), 'given again here', `keep one \`${what}\``);
    const n = ns[0];
    return n ? this.tok(n, key === 'seedOpt' || key === 'foldOpt' ? 'NumberLit' : 'Identifier') : undefined;
  }

  private byTime(m: CstNode): boolean {
    const t = this.once(m, 'byOpt', 'by');
    if (t && t.image !== 'time')
      this.reject('RC0109', `expected \`time\` after \`by\`, found \`${t.image}\``, this.tspan(t), 'expected `time`', 'a time-ordered split is written `by time` and uses the relation\'s `time` column');
    return t !== undefined;
  }

  private seed(m: CstNode): { seed?: A.NumberLit } {
    const t = this.once(m, 'seedOpt', 'seed');
    return t ? { seed: this.number(t) } : {};
  }

  private splitMethod(d: CstNode): A.SplitMethod {
    if (this.has(d, 'holdout')) {
      const m = this.node(d, 'holdout');
      const per = this.once(m, 'perOpt', 'per');
      if (per && per.image !== 'user')
        this.reject('RC0109', `expected \`user\` after \`per\`, found \`${per.image}\``, this.tspan(per), 'expected `user`', 'a per-user split is written `per user`');
      return { kind: 'Holdout', fraction: this.number(this.tok(m, 'fraction')), ...this.seed(m), byTime: this.byTime(m), perUser: per !== undefined, span: this.nspan(m) };
    }
    if (this.has(d, 'leaveOneOut')) {
      const m = this.node(d, 'leaveOneOut');
      return { kind: 'LeaveOneOut', byTime: this.byTime(m), ...this.seed(m), span: this.nspan(m) };
    }
    if (this.has(d, 'kfold')) {
      const m = this.node(d, 'kfold');
      const fold = this.once(m, 'foldOpt', 'fold');
      return { kind: 'KFold', k: this.number(this.tok(m, 'k')), ...(fold ? { fold: this.number(fold) } : {}), ...this.seed(m), span: this.nspan(m) };
    }
    const m = this.node(d, 'files');
    const tr = this.tok(m, 'train');
    const te = this.tok(m, 'test');
    return { kind: 'Files', train: unquote(tr.image), test: unquote(te.image), trainSpan: this.tspan(tr), testSpan: this.tspan(te), span: this.nspan(m) };
  }

  private paramDecl(d: CstNode, sp: Span): A.ParamDecl {
    const name = this.ident(this.tok(d, 'name'));
    const shape = this.toks(d, 'axis').map((t) => this.ident(t));
    if (this.has(d, 'valueInit')) {
      const v = this.node(d, 'valueInit');
      return { kind: 'ParamDecl', name, shape, init: { kind: 'ValueInit', value: this.expression(this.node(v, 'expression')), span: this.nspan(v) }, span: sp };
    }
    const s = this.node(d, 'sampledInit');
    const fn = this.tok(s, 'Identifier');
    const isp = this.nspan(s);
    const { args } = this.callArgs(this.node(s, 'callArgs'), fn.image, undefined);
    const two = (a: string, b: string): [A.Expr, A.Expr] => {
      const got = pickArgs(args, [a, b]);
      if (typeof got === 'string')
        this.reject('RC0111', `\`${fn.image}\` ${got}`, isp, `expected \`${fn.image}(${a}, ${b})\``, `write \`~ ${fn.image}(${fn.image === 'normal' ? '0, 0.1' : '-0.1, 0.1'})\``);
      return got;
    };
    switch (fn.image) {
      case 'normal': {
        const [mean, std] = two('mean', 'std');
        return { kind: 'ParamDecl', name, shape, init: { kind: 'NormalInit', mean, std, span: isp }, span: sp };
      }
      case 'uniform': {
        const [lo, hi] = two('lo', 'hi');
        return { kind: 'ParamDecl', name, shape, init: { kind: 'UniformInit', lo, hi, span: isp }, span: sp };
      }
      default: {
        const s2 = suggest(fn.image, ['normal', 'uniform']);
        return this.reject('RC0111', `unknown initializer \`${fn.image}\``, this.tspan(fn), 'not an initializer',
          s2.length ? `did you mean \`${s2[0]}\`? initializers are \`normal(mean, std)\`, \`uniform(lo, hi)\` and \`= value\`` : 'initializers are `normal(mean, std)`, `uniform(lo, hi)` and `= value`');
      }
    }
  }

  private trainEntry(e: CstNode): A.TrainEntry {
    const [key, child] = Object.entries(e.children)[0] ?? [];
    const d = child?.[0];
    if (!key || !d || isToken(d)) throw new InternalError('cst: empty train entry');
    const sp = this.nspan(d);
    switch (key) {
      case 'optimizerEntry':
      case 'scheduleEntry': {
        const name = this.ident(this.tok(d, 'Identifier'));
        const args = this.has(d, 'callArgs') ? this.callArgs(this.node(d, 'callArgs'), name.name, undefined).args : [];
        return { kind: key === 'optimizerEntry' ? 'Optimizer' : 'Schedule', name, args, span: sp };
      }
      case 'epochsEntry':
        return { kind: 'Epochs', value: this.number(this.tok(d, 'NumberLit')), span: sp };
      case 'stepsEntry':
        return { kind: 'Steps', value: this.number(this.tok(d, 'NumberLit')), span: sp };
      case 'seedOpt':
        return { kind: 'Seed', value: this.number(this.tok(d, 'NumberLit')), span: sp };
      case 'batchEntry': {
        if (this.has(d, 'word')) {
          const w = this.tok(d, 'word');
          if (w.image !== 'full')
            this.reject('RC0109', `expected \`full\` or a number after \`batch\`, found \`${w.image}\``, this.tspan(w), 'expected `full` or a number', 'write `batch full`, `batch 4096` or `batch 256 users`');
          return { kind: 'Batch', full: true, span: sp };
        }
        const size = this.number(this.tok(d, 'NumberLit'));
        return { kind: 'Batch', size, ...(this.has(d, 'unit') ? { unit: this.ident(this.tok(d, 'unit')) } : {}), full: false, span: sp };
      }
      default:
        throw new InternalError(`cst: unknown train entry ${key}`);
    }
  }

  // --- expressions ------------------------------------------------------------------------------

  expression(n: CstNode): A.Expr {
    const cond = this.binaryExpr(n);
    if (!this.has(n, 'Question')) return cond;
    const then = this.expression(this.node(n, 'then'));
    const els = this.expression(this.node(n, 'else'));
    return { kind: 'TernaryExpr', cond, then, else: els, span: joinSpans(cond.span, els.span) };
  }

  /**
   * An expression's `operand (op operand)*` with the operands' `not` prefixes, folded by precedence climbing (see
   * PRECEDENCE): every operator is left-associative, `not` covers a comparison and anything tighter,
   * and a second comparison in a row is RC0104 (`a < b < c` does not chain; the parser already stops
   * before it, so this is a safety net that keeps a grammar change from silently chaining them).
   */
  private binaryExpr(n: CstNode): A.Expr {
    const operands = this.nodes(n, 'operand');
    const ops = this.toks(n, 'op');
    const first = operands[0];
    if (!first) throw new InternalError('cst: expression without operands');
    if (ops.length === 0 && !this.has(first, 'Not')) return this.operand(first);
    if (operands.length !== ops.length + 1) throw new InternalError('cst: expression operand missing');
    let next = 0; // the operand to read next; the operator after it is ops[next]
    let notsTaken = 0; // how many of that operand's `not`s are applied already
    const climb = (minPrec: number): A.Expr => {
      const o = operands[next]!;
      const nots = this.toks(o, 'Not');
      let left: A.Expr;
      if (notsTaken < nots.length) {
        const not = nots[notsTaken++]!;
        const arg = climb(NOT_OPERAND);
        left = { kind: 'UnaryExpr', op: 'not', arg, span: joinSpans(this.tspan(not), arg.span) };
      } else {
        left = this.operand(o);
        next++;
        notsTaken = 0;
      }
      let compared = false;
      for (let op = ops[next - 1]; op; op = ops[next - 1]) {
        const prec = PRECEDENCE[op.image];
        if (prec === undefined) throw new InternalError(`cst: unknown operator ${op.image}`);
        if (prec < minPrec) break;
        if (prec === COMPARISON && compared) this.chained(op, left);
        const right = climb(prec + 1);
        left = { kind: 'BinaryExpr', op: binaryOp(op.image), left, right, opSpan: this.tspan(op), span: joinSpans(left.span, right.span) };
        compared = prec === COMPARISON;
      }
      return left;
    };
    return climb(0);
  }

  /** `a < b < c`: pointed at the second comparison, or just after `b` when it starts a new line. */
  private chained(op: IToken, before: A.Expr): never {
    const newline = this.source.slice(before.span.end, op.startOffset).includes('\n');
    return this.reject('RC0104', `comparisons do not chain, found a second \`${op.image}\``,
      newline ? span(this.file, before.span.end, before.span.end) : this.tspan(op), 'second comparison', 'write `a < b and b < c`');
  }

  /** `-`s, a primary and its `^ exponent`: `-x ^ 2` is `-(x ^ 2)`, `2 ^ -1` is `2 ^ (-1)`. */
  private operand(n: CstNode): A.Expr {
    let e = this.primary(n);
    if (this.has(n, 'Caret')) {
      const exp = this.operand(this.node(n, 'exponent'));
      e = { kind: 'BinaryExpr', op: '^', left: e, right: exp, opSpan: this.tspan(this.tok(n, 'Caret')), span: joinSpans(e.span, exp.span) };
    }
    const minus = this.toks(n, 'Minus');
    for (let k = minus.length - 1; k >= 0; k--) e = { kind: 'UnaryExpr', op: '-', arg: e, span: joinSpans(this.tspan(minus[k]!), e.span) };
    return e;
  }

  /** The primary of an operand node. */
  private primary(n: CstNode): A.Expr {
    if (this.has(n, 'NumberLit')) return this.number(this.tok(n, 'NumberLit'));
    if (this.has(n, 'StringLit')) {
      const t = this.tok(n, 'StringLit');
      return { kind: 'StringLit', value: unquote(t.image), span: this.tspan(t) };
    }
    if (this.has(n, 'sizeExpr')) {
      const s = this.node(n, 'sizeExpr');
      return { kind: 'SizeExpr', name: this.ident(this.tok(s, 'Identifier')), span: this.nspan(s) };
    }
    if (this.has(n, 'parenExpr')) return this.parenExpr(this.node(n, 'parenExpr'));
    return this.nameExpr(this.node(n, 'nameExpr'));
  }

  private parenExpr(p: CstNode): A.Expr {
    const items = this.nodes(p, 'expression').map((e) => this.expression(e));
    const sp = this.nspan(p);
    if (this.has(p, 'relation')) return { kind: 'MemberExpr', tuple: items, relation: this.ident(this.tok(p, 'relation')), span: sp };
    const first = items[0];
    if (!first) throw new InternalError('cst: empty parens');
    if (items.length > 1)
      this.reject('RC0106', 'a parenthesized list must be followed by `in RELATION`', sp, 'a tuple of values is not an expression', 'test membership with `(u, i) in likes`');
    return { ...first, span: sp };
  }

  private nameExpr(n: CstNode): A.Expr {
    const id = this.ident(this.tok(n, 'Identifier'));
    const sp = this.nspan(n);
    if (this.has(n, 'LBracket')) return { kind: 'IndexExpr', target: id, indices: this.nodes(n, 'expression').map((e) => this.expression(e)), span: sp };
    if (!this.has(n, 'LParen')) return { kind: 'IdentExpr', name: id.name, span: sp };
    const { args, bindings, body } = this.callArgs(this.node(n, 'callArgs'), id.name, id.span);
    if (body === undefined) return { kind: 'CallExpr', callee: id, args, span: sp };
    const op = id.name;
    if (!isAggregate(op)) {
      const s = suggest(op, AGGREGATES);
      return this.reject('RC0108', `\`${op}\` is not an aggregation, so it cannot take \`BINDINGS: BODY\``, id.span, 'not an aggregation',
        s.length ? `did you mean \`${s[0]}\`? aggregations are sum, mean, logsumexp, max and min` : 'aggregations are sum, mean, logsumexp, max and min');
    }
    if (bindings.length === 0)
      this.reject('RC0107', `\`${op}\` needs at least one binding before \`:\``, sp, 'no bindings', `write \`${op}(u in user: ...)\``);
    return { kind: 'AggregateExpr', op, opSpan: id.span, bindings, body, span: sp };
  }

  /**
   * The items of a call. With a `: body` every item must be a binding; without one every item must
   * be a (possibly named) argument. `aggregate` is the callee's span when a body is allowed.
   */
  private callArgs(n: CstNode, callee: string, aggregate: Span | undefined): { args: A.NamedArg[]; bindings: A.Binding[]; body: A.Expr | undefined } {
    const items = this.nodes(n, 'callItem');
    const hasBody = this.has(n, 'body');
    if (hasBody && aggregate === undefined)
      this.reject('RC0108', `\`${callee}(...)\` cannot take \`BINDINGS: BODY\``, this.tspan(this.tok(n, 'Colon')), 'unexpected `:`', 'only aggregations (sum, mean, logsumexp, max, min) have a body');
    const args: A.NamedArg[] = [];
    const bindings: A.Binding[] = [];
    for (const it of items) {
      const value = this.expression(this.node(it, 'expression'));
      const sp = this.nspan(it);
      const isBinding = this.has(it, 'range') || this.has(it, 'sampler');
      if (!hasBody) {
        if (isBinding)
          this.reject('RC0108', 'a binding needs an aggregation body', sp, 'binding outside `AGG(BINDINGS: BODY)`',
            AGGREGATES.has(callee) ? `add the body after a colon: \`${callee}(${this.text(it)}: ...)\`` : `bindings only appear in aggregations: \`sum(${this.text(it)}: ...)\``);
        args.push({ ...(this.has(it, 'argName') ? { name: this.ident(this.tok(it, 'argName')) } : {}), value, span: sp });
        continue;
      }
      if (this.has(it, 'argName'))
        this.reject('RC0107', 'expected a binding, found a named argument', sp, 'not a binding', BINDING_HELP);
      bindings.push(this.binding(it, value, sp));
    }
    return { args, bindings, body: hasBody ? this.expression(this.node(n, 'body')) : undefined };
  }

  private text(n: CstNode): string {
    const sp = this.nspan(n);
    return this.source.slice(sp.start, sp.end);
  }

  private binding(it: CstNode, value: A.Expr, sp: Span): A.Binding {
    if (this.has(it, 'range')) {
      const range = this.ident(this.tok(it, 'range'));
      const b = rangeBinding(value, range, sp);
      if (b) return b;
      return this.reject('RC0107', 'expected a variable before `in`', value.span, 'not a variable', BINDING_HELP);
    }
    if (this.has(it, 'sampler')) {
      if (value.kind !== 'IdentExpr') return this.reject('RC0107', 'expected a variable before `~`', value.span, 'not a variable', BINDING_HELP);
      const fn = this.ident(this.tok(it, 'sampler'));
      const inner = this.callArgs(this.node(it, 'samplerArgs'), fn.name, undefined);
      const close = this.tok(it, 'RParen');
      const sampler: A.CallExpr = { kind: 'CallExpr', callee: fn, args: inner.args, span: joinSpans(fn.span, this.tspan(close)) };
      let count: A.NumberLit | undefined;
      if (this.has(it, 'times')) {
        const x = this.tok(it, 'times');
        if (x.image !== 'x')
          this.reject('RC0109', `expected \`x\` before the sample count, found \`${x.image}\``, this.tspan(x), 'expected `x`', `a sample set is written \`${value.name} ~ ${fn.name}(...) x 100\``);
        count = this.number(this.tok(it, 'count'));
      }
      return { kind: 'SampleBinding', var: { kind: 'Ident', name: value.name, span: value.span }, sampler, ...(count ? { count } : {}), span: sp };
    }
    if (value.kind === 'MemberExpr') {
      const vars: A.Ident[] = [];
      for (const v of value.tuple) {
        if (v.kind !== 'IdentExpr') return this.reject('RC0107', 'expected a variable in the tuple binding', v.span, 'not a variable', BINDING_HELP);
        vars.push({ kind: 'Ident', name: v.name, span: v.span });
      }
      return { kind: 'TupleBinding', vars, relation: value.relation, span: sp };
    }
    return this.reject('RC0107', 'expected a binding before `:`', value.span, 'not a binding', BINDING_HELP);
  }
}

/** Binding power of the binary operators (`^` and unary `-` bind tighter and are parsed as operands). */
export const PRECEDENCE: Readonly<Record<string, number>> = {
  or: 1,
  and: 2,
  '<': 4, '<=': 4, '>': 4, '>=': 4, '==': 4, '!=': 4,
  '+': 5, '-': 5,
  '*': 6, '/': 6,
  '.': 7,
};
export const COMPARISON = 4;
/** `not x`: x extends over comparisons and tighter operators (`not a < b` is `not (a < b)`). */
export const NOT_OPERAND = COMPARISON;

const BINDING_HELP =
  'bindings are `(u, i, r) in ratings`, `u in user`, `k in d`, `j ~ uniform(item)`, `J ~ pop(item, 0.75) x 100` and `j < l in x`';

export function isAggregate(s: string): s is A.AggregateOp {
  return AGGREGATES.has(s);
}

export function binaryOp(s: string): A.BinaryOp {
  switch (s) {
    case '+':
    case '-':
    case '*':
    case '/':
    case '^':
    case '.':
    case '<':
    case '<=':
    case '>':
    case '>=':
    case '==':
    case '!=':
    case 'and':
    case 'or':
      return s;
    default:
      throw new InternalError(`cst: unknown operator ${s}`);
  }
}

/** Positional or named arguments matched to `names`; a string explains a mismatch. */
function pickArgs(args: readonly A.NamedArg[], names: readonly [string, string]): [A.Expr, A.Expr] | string {
  const out: (A.Expr | undefined)[] = [undefined, undefined];
  let pos = 0;
  for (const a of args) {
    const k = a.name ? names.indexOf(a.name.name) : pos++;
    if (k < 0) return `has no argument \`${a.name?.name ?? ''}\``;
    if (k > 1) return `takes 2 arguments but ${args.length} were given`;
    if (out[k]) return `is given \`${names[k]}\` twice`;
    out[k] = a.value;
  }
  const [a, b] = out;
  if (!a || !b) return `takes 2 arguments but ${args.length} ${args.length === 1 ? 'was' : 'were'} given`;
  return [a, b];
}

export function unquote(s: string): string {
  return s.slice(1, -1).replace(/\\(.)/g, (_, ch: string) => (ch === 'n' ? '\n' : ch === 't' ? '\t' : ch));
}

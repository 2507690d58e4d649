// CST → AST (stage 2). Input: declaration CST nodes that parsed without syntax errors, typed by the
// generated grammar/cst.d.ts; output: the AST of ast.ts, every node spanned by file offsets. Forms the
// grammar accepts loosely are settled here with RC01xx diagnostics: call items become aggregation
// bindings or arguments, `by time`, `per user`, `batch full`, `x N` and initializer names are checked
// by spelling. Never throws on user input; a declaration with a problem is dropped and reported.
import type { CstNode, IToken } from 'chevrotain';
import type * as C from '../../grammar/cst.d.ts';
import type * as A from './ast.ts';
import { InternalError, suggest, type Diagnostic } from '../diagnostics/diagnostics.ts';
import { joinSpans, span, type Span } from '../diagnostics/source.ts';

const AGGREGATES: ReadonlySet<string> = new Set(['sum', 'mean', 'logsumexp', 'max', 'min']);

/** A syntax problem found after parsing; aborts the current declaration. */
class Reject {
  constructor(readonly diagnostic: Diagnostic) {}
}

/** The first element of a CST child list the grammar guarantees in this position. */
function one<T>(xs: readonly T[] | undefined, what: string): T {
  const x = xs?.[0];
  if (x === undefined) throw new InternalError(`cst: no ${what}`);
  return x;
}

/**
 * `v in range` (a RangeBinding) or `j < l in row` (a PairBinding), from the expression before `in`;
 * undefined when it is neither (RC0107).
 */
function rangeBinding(value: A.Expr, range: A.Ident, span: Span): A.Binding | undefined {
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
 * An incremental CST → AST: parse.ts hands over each declaration's CST as soon as it is parsed, so
 * the CST dies young (a minor GC) instead of the whole file's CST reaching the old generation.
 */
export function cstConverter(file: string, text: string): { add(decl: C.DeclarationCstNode): void; finish(): { program: A.Program; diagnostics: Diagnostic[] } } {
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

  // --- spans and leaves -------------------------------------------------------------------------

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
    const value = Number(t.image);
    // 1e400 is a valid literal that float64 rounds to infinity: refused here, before it reaches a kernel
    if (!Number.isFinite(value)) this.reject('RC0113', `the number \`${t.image}\` is too large for a float64`, this.tspan(t), 'this is infinite as a float64', 'numbers must stay below 1.8e308 in magnitude');
    return { kind: 'NumberLit', value, text: t.image, span: this.tspan(t) };
  }
  private reject(code: string, message: string, at: Span, label: string, help?: string): never {
    throw new Reject({ code, severity: 'error', message, span: at, label, ...(help ? { help } : {}) });
  }

  // --- declarations -----------------------------------------------------------------------------

  declaration(n: C.DeclarationCstNode): A.Decl {
    const c = n.children;
    if (c.modelDecl) {
      const d = one(c.modelDecl, 'modelDecl');
      return { kind: 'ModelDecl', name: this.ident(one(d.children.Identifier, 'model name')), span: this.nspan(d) };
    }
    if (c.importDecl) {
      const d = one(c.importDecl, 'importDecl');
      const t = one(d.children.StringLit, 'import path');
      return { kind: 'ImportDecl', path: unquote(t.image), pathSpan: this.tspan(t), span: this.nspan(d) };
    }
    if (c.indexDecl) {
      const d = one(c.indexDecl, 'indexDecl');
      return { kind: 'IndexDecl', names: d.children.Identifier.map((t) => this.ident(t)), span: this.nspan(d) };
    }
    if (c.dataDecl) return this.dataDecl(one(c.dataDecl, 'dataDecl'));
    if (c.splitDecl) return this.splitDecl(one(c.splitDecl, 'splitDecl'));
    if (c.dimDecl) {
      const d = one(c.dimDecl, 'dimDecl');
      return {
        kind: 'DimDecl',
        items: d.children.dimItem.map((it) => ({
          name: this.ident(one(it.children.Identifier, 'dim name')),
          value: this.number(one(it.children.NumberLit, 'dim value')),
          span: this.nspan(it),
        })),
        span: this.nspan(d),
      };
    }
    if (c.constDecl) {
      const d = one(c.constDecl, 'constDecl');
      return {
        kind: 'ConstDecl',
        items: d.children.constItem.map((it) => ({
          name: this.ident(one(it.children.Identifier, 'const name')),
          value: this.expression(one(it.children.expression, 'const value')),
          span: this.nspan(it),
        })),
        span: this.nspan(d),
      };
    }
    if (c.paramDecl) return this.paramDecl(one(c.paramDecl, 'paramDecl'));
    if (c.defDecl) {
      const d = one(c.defDecl, 'defDecl');
      return {
        kind: 'DefDecl',
        name: this.ident(one(d.children.Identifier, 'def name')),
        params: (d.children.defParam ?? []).map((p) => ({
          name: this.ident(one(p.children.name, 'parameter name')),
          ...(p.children.type ? { type: this.ident(one(p.children.type, 'parameter type')) } : {}),
          span: this.nspan(p),
        })),
        body: this.expression(one(d.children.expression, 'def body')),
        span: this.nspan(d),
      };
    }
    if (c.termDecl) {
      const d = one(c.termDecl, 'termDecl');
      return {
        kind: 'TermDecl',
        role: one(d.children.role, 'term role').image === 'loss' ? 'loss' : 'reg',
        name: this.ident(one(d.children.Identifier, 'term name')),
        body: this.expression(one(d.children.expression, 'term body')),
        span: this.nspan(d),
      };
    }
    if (c.trainBlock) {
      const d = one(c.trainBlock, 'trainBlock');
      return { kind: 'TrainBlock', entries: (d.children.trainEntry ?? []).map((e) => this.trainEntry(e)), span: this.nspan(d) };
    }
    if (c.evaluateBlock) return this.evaluateBlock(one(c.evaluateBlock, 'evaluateBlock'));
    if (c.sweepBlock) return this.sweepBlock(one(c.sweepBlock, 'sweepBlock'));
    if (c.neighboursDecl) return this.neighboursDecl(one(c.neighboursDecl, 'neighboursDecl'));
    throw new InternalError('cst: empty declaration');
  }

  private dataDecl(d: C.DataDeclCstNode): A.DataDecl | A.DerivedDataDecl {
    const name = this.ident(one(d.children.Identifier, 'relation name'));
    const sp = this.nspan(d);
    if (d.children.dataDerived) {
      const x = one(d.children.dataDerived, 'dataDerived').children;
      return { kind: 'DerivedDataDecl', name, base: this.ident(one(x.base, 'base relation')), where: this.expression(one(x.expression, 'where')), span: sp };
    }
    const f = one(d.children.dataFile, 'dataFile').children;
    const path = one(f.StringLit, 'data path');
    return {
      kind: 'DataDecl',
      name,
      columns: (f.column ?? []).map((col) => this.column(col)),
      path: unquote(path.image),
      pathSpan: this.tspan(path),
      format: this.ident(one(f.format, 'format')),
      span: sp,
    };
  }

  private column(col: C.ColumnCstNode): A.Column {
    const name = this.ident(one(col.children.name, 'column name'));
    const t = one(col.children.type, 'column type');
    const sp = this.nspan(col);
    if (col.children.domain) {
      const dom = one(col.children.domain, 'column domain');
      if (t.image !== 'sparse')
        this.reject('RC0109', `unexpected \`${dom.image}\` after the column type`, this.tspan(dom), 'expected `,` or `)`', 'a sparse column is written `x: sparse feature`');
      return { name, type: { kind: 'SparseType', domain: this.ident(dom), span: joinSpans(this.tspan(t), this.tspan(dom)) }, span: sp };
    }
    if (t.image === 'float' || t.image === 'int' || t.image === 'string')
      return { name, type: { kind: 'ScalarType', name: t.image, span: this.tspan(t) }, span: sp };
    return { name, type: { kind: 'DomainType', domain: this.ident(t), span: this.tspan(t) }, span: sp };
  }

  private splitDecl(d: C.SplitDeclCstNode): A.SplitDecl {
    const relation = this.ident(one(d.children.Identifier, 'split relation'));
    const v = d.children.validateOpt ? one(d.children.validateOpt, 'validate') : undefined;
    const validate: A.ValidateClause | undefined = v && {
      ...(v.children.fraction ? { fraction: this.number(one(v.children.fraction, 'validate fraction')) } : {}),
      ...this.seed(v.children.seedOpt),
      span: this.nspan(v),
    };
    return { kind: 'SplitDecl', relation, method: this.splitMethod(d), ...(validate ? { validate } : {}), span: this.nspan(d) };
  }

  /** The single `seed N` / `fold N` / `by X` / `per X` option of a split method, if given; twice is RC0110. */
  private once<N extends CstNode>(ns: readonly N[] | undefined, what: string, value: (n: N) => IToken): IToken | undefined {
    if (!ns) return undefined;
    const again = ns[1];
    if (again) this.reject('RC0110', `\`${what}\` is given twice`, this.nspan(again), 'given again here', `keep one \`${what}\``);
    return value(one(ns, what));
  }

  /** `by COLUMN`: a split ordered by a numeric column of the relation (`by time`, `by timestamp`). */
  private byTime(ns: readonly C.ByOptCstNode[] | undefined): { byTime: boolean; timeColumn?: A.Ident } {
    const t = this.once(ns, 'by', (n) => one(n.children.Identifier, 'by'));
    return t ? { byTime: true, timeColumn: this.ident(t) } : { byTime: false };
  }

  private seed(ns: readonly C.SeedOptCstNode[] | undefined): { seed?: A.NumberLit } {
    const t = this.once(ns, 'seed', (n) => one(n.children.NumberLit, 'seed'));
    return t ? { seed: this.number(t) } : {};
  }

  private splitMethod(d: C.SplitDeclCstNode): A.SplitMethod {
    const c = d.children;
    if (c.holdout) {
      const m = one(c.holdout, 'holdout');
      const per = this.once(m.children.perOpt, 'per', (n) => one(n.children.Identifier, 'per'));
      if (per && per.image !== 'user')
        this.reject('RC0109', `expected \`user\` after \`per\`, found \`${per.image}\``, this.tspan(per), 'expected `user`', 'a per-user split is written `per user`');
      return {
        kind: 'Holdout',
        fraction: this.number(one(m.children.fraction, 'fraction')),
        ...this.seed(m.children.seedOpt),
        ...this.byTime(m.children.byOpt),
        perUser: per !== undefined,
        span: this.nspan(m),
      };
    }
    if (c.leaveOneOut) {
      const m = one(c.leaveOneOut, 'leaveOneOut');
      return { kind: 'LeaveOneOut', ...this.byTime(m.children.byOpt), ...this.seed(m.children.seedOpt), span: this.nspan(m) };
    }
    if (c.kfold) {
      const m = one(c.kfold, 'kfold');
      const fold = this.once(m.children.foldOpt, 'fold', (n) => one(n.children.NumberLit, 'fold'));
      return { kind: 'KFold', k: this.number(one(m.children.k, 'k')), ...(fold ? { fold: this.number(fold) } : {}), ...this.seed(m.children.seedOpt), span: this.nspan(m) };
    }
    const m = one(c.files, 'split method');
    const tr = one(m.children.train, 'train file');
    const te = one(m.children.test, 'test file');
    return { kind: 'Files', train: unquote(tr.image), test: unquote(te.image), trainSpan: this.tspan(tr), testSpan: this.tspan(te), span: this.nspan(m) };
  }

  /** `neighbours S[item, item] = cosine(likes, top = 50)`: a ParamDecl computed from data, not trained */
  private neighboursDecl(d: C.NeighboursDeclCstNode): A.ParamDecl {
    const sp = this.nspan(d);
    const measure = this.ident(one(d.children.measure, 'neighbours measure'));
    const { args } = this.callArgs(one(d.children.callArgs, 'neighbours arguments'), measure.name, undefined);
    return {
      kind: 'ParamDecl',
      name: this.ident(one(d.children.name, 'neighbours name')),
      shape: (d.children.axis ?? []).map((t) => this.ident(t)),
      init: { kind: 'ValueInit', value: { kind: 'NumberLit', value: 0, text: '0', span: measure.span }, span: measure.span },
      neighbours: { measure, args, span: sp },
      span: sp,
    };
  }

  private paramDecl(d: C.ParamDeclCstNode): A.ParamDecl {
    const name = this.ident(one(d.children.name, 'param name'));
    const shape = (d.children.axis ?? []).map((t) => this.ident(t));
    const sp = this.nspan(d);
    if (d.children.valueInit) {
      const v = one(d.children.valueInit, 'valueInit');
      return { kind: 'ParamDecl', name, shape, init: { kind: 'ValueInit', value: this.expression(one(v.children.expression, 'value')), span: this.nspan(v) }, span: sp };
    }
    const s = one(d.children.sampledInit, 'initializer');
    const fn = one(s.children.Identifier, 'initializer name');
    const isp = this.nspan(s);
    const { args } = this.callArgs(one(s.children.callArgs, 'initializer arguments'), fn.image, undefined);
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

  private trainEntry(e: C.TrainEntryCstNode): A.TrainEntry {
    const c = e.children;
    const call = (d: C.OptimizerEntryCstNode | C.ScheduleEntryCstNode | C.SolverEntryCstNode): { name: A.Ident; args: A.NamedArg[]; span: Span } => {
      const name = this.ident(one(d.children.Identifier, d.name));
      const args = d.children.callArgs ? this.callArgs(one(d.children.callArgs, 'arguments'), name.name, undefined).args : [];
      return { name, args, span: this.nspan(d) };
    };
    if (c.optimizerEntry) return { kind: 'Optimizer', ...call(one(c.optimizerEntry, 'optimizer')) };
    if (c.scheduleEntry) return { kind: 'Schedule', ...call(one(c.scheduleEntry, 'schedule')) };
    if (c.solverEntry) return { kind: 'Solver', ...call(one(c.solverEntry, 'solver')) };
    if (c.blocksEntry) {
      const d = one(c.blocksEntry, 'blocks');
      return { kind: 'Blocks', names: (d.children.Identifier ?? []).map((t) => this.ident(t)), span: this.nspan(d) };
    }
    if (c.epochsEntry) {
      const d = one(c.epochsEntry, 'epochs');
      return { kind: 'Epochs', value: this.number(one(d.children.NumberLit, 'epochs')), span: this.nspan(d) };
    }
    if (c.stepsEntry) {
      const d = one(c.stepsEntry, 'steps');
      return { kind: 'Steps', value: this.number(one(d.children.NumberLit, 'steps')), span: this.nspan(d) };
    }
    if (c.seedOpt) {
      const d = one(c.seedOpt, 'seed');
      return { kind: 'Seed', value: this.number(one(d.children.NumberLit, 'seed')), span: this.nspan(d) };
    }
    const d = one(c.batchEntry, 'train entry');
    const sp = this.nspan(d);
    if (d.children.word) {
      const w = one(d.children.word, 'batch word');
      if (w.image !== 'full')
        this.reject('RC0109', `expected \`full\` or a number after \`batch\`, found \`${w.image}\``, this.tspan(w), 'expected `full` or a number', 'write `batch full`, `batch 4096` or `batch 256 users`');
      return { kind: 'Batch', full: true, span: sp };
    }
    const size = this.number(one(d.children.NumberLit, 'batch size'));
    return { kind: 'Batch', size, ...(d.children.unit ? { unit: this.ident(one(d.children.unit, 'batch unit')) } : {}), full: false, span: sp };
  }

  private ipsOpt(d: C.IpsOptCstNode): NonNullable<A.MetricRef['ips']> {
    const args = d.children.callArgs ? this.callArgs(one(d.children.callArgs, 'ips arguments'), 'ips', undefined).args : [];
    return { args, span: this.nspan(d) };
  }

  private evaluateBlock(d: C.EvaluateBlockCstNode): A.EvaluateBlock {
    const metric = (x: C.MetricCstNode): A.MetricRef => ({
      name: this.ident(one(x.children.Identifier, 'metric')),
      ...(x.children.NumberLit ? { k: this.number(one(x.children.NumberLit, 'metric k')) } : {}),
      ...(x.children.ipsOpt ? { ips: this.ipsOpt(one(x.children.ipsOpt, 'ips')) } : {}),
      span: this.nspan(x),
    });
    const entries: A.EvaluateEntry[] = [
      ...(d.children.metricsEntry ?? []).map((m): A.EvaluateEntry => ({ kind: 'Metrics', metrics: m.children.metric.map(metric), span: this.nspan(m) })),
      ...(d.children.everyEntry ?? []).map((m): A.EvaluateEntry => ({
        kind: 'Every',
        value: this.number(one(m.children.NumberLit, 'every')),
        unit: one(m.children.unit, 'every unit').image === 'epochs' ? 'epochs' : 'steps',
        span: this.nspan(m),
      })),
      ...(d.children.earlyStopEntry ?? []).map((m): A.EvaluateEntry => {
        const c = m.children;
        const target = metric(one(c.metric, 'early_stop metric'));
        if (!c.on)
          this.reject('RC0109', `expected \`on\` after \`early_stop\`, found \`${target.name.name}\``, target.name.span, 'expected `on`', `write \`early_stop on ${target.name.name}${target.k ? `@${target.k.text}` : ''} patience 3\``);
        return {
          kind: 'EarlyStop',
          metric: target,
          patience: this.number(one(c.patience, 'patience')),
          ...(c.minDelta ? { minDelta: this.number(one(c.minDelta, 'min_delta')) } : {}),
          span: this.nspan(m),
        };
      }),
    ];
    entries.sort((a, b) => a.span.start - b.span.start);
    return { kind: 'EvaluateBlock', entries, span: this.nspan(d) };
  }

  private sweepBlock(d: C.SweepBlockCstNode): A.SweepBlock {
    const c = d.children;
    const kw = (k: IToken, v: Span): Span => joinSpans(this.tspan(k), v);
    const signed = (n: C.SweepNumberCstNode): A.SignedNumber => {
      const lit = this.number(one(n.children.NumberLit, 'sweep number'));
      const neg = n.children.Minus !== undefined;
      return { value: neg ? -lit.value : lit.value, text: neg ? `-${lit.text}` : lit.text, span: this.nspan(n) };
    };
    const pairs = <X,>(keys: readonly IToken[] | undefined, values: readonly X[] | undefined): [IToken, X][] => (keys ?? []).map((k, j) => [k, values![j]!]);
    const entries: A.SweepEntry[] = [
      ...pairs(c.Search, c.search).map(([k, v]): A.SweepEntry => ({ kind: 'Search', value: this.ident(v), span: kw(k, this.tspan(v)) })),
      ...pairs(c.Trials, c.trials).map(([k, v]): A.SweepEntry => ({ kind: 'Trials', value: this.number(v), span: kw(k, this.tspan(v)) })),
      ...pairs(c.Folds, c.folds).map(([k, v]): A.SweepEntry => ({ kind: 'Folds', value: this.number(v), span: kw(k, this.tspan(v)) })),
      ...pairs(c.Objective, c.objective).map(([k, v]): A.SweepEntry => ({ kind: 'Objective', metric: this.metricRef(v), span: kw(k, this.nspan(v)) })),
      ...(c.seedOpt ?? []).map((n): A.SweepEntry => ({ kind: 'Seed', value: this.number(one(n.children.NumberLit, 'seed')), span: this.nspan(n) })),
      ...(c.sweepAxis ?? []).map((n): A.SweepEntry => {
        const x = n.children;
        const name = this.ident(one(x.name, 'sweep axis'));
        const sp = this.nspan(n);
        const axis: A.SweepAxis = x.dist
          ? { kind: 'Range', name, dist: this.ident(one(x.dist, 'distribution')), lo: signed(one(x.lo, 'low end')), hi: signed(one(x.hi, 'high end')), span: sp }
          : { kind: 'List', name, values: (x.values ?? []).map(signed), span: sp };
        return { kind: 'Axis', axis, span: sp };
      }),
    ];
    entries.sort((a, b) => a.span.start - b.span.start);
    return { kind: 'SweepBlock', entries, span: this.nspan(d) };
  }

  private metricRef(x: C.MetricCstNode): A.MetricRef {
    return {
      name: this.ident(one(x.children.Identifier, 'metric')),
      ...(x.children.NumberLit ? { k: this.number(one(x.children.NumberLit, 'metric k')) } : {}),
      span: this.nspan(x),
    };
  }

  // --- expressions ------------------------------------------------------------------------------

  expression(n: C.ExpressionCstNode): A.Expr {
    const cond = this.binaryExpr(n);
    if (!n.children.Question) return cond;
    const then = this.expression(one(n.children.then, 'then'));
    const els = this.expression(one(n.children.else, 'else'));
    return { kind: 'TernaryExpr', cond, then, else: els, span: joinSpans(cond.span, els.span) };
  }

  /**
   * An expression's `operand (op operand)*` with the operands' `not` prefixes, folded by precedence climbing (see
   * PRECEDENCE): every operator is left-associative, `not` covers a comparison and anything tighter,
   * and a second comparison in a row is RC0104 (`a < b < c` does not chain; the parser already stops
   * before it, so this is a safety net that keeps a grammar change from silently chaining them).
   */
  private binaryExpr(n: C.ExpressionCstNode): A.Expr {
    const operands = n.children.operand;
    const ops = n.children.op ?? [];
    const first = one(operands, 'operand');
    if (ops.length === 0 && !first.children.Not) return this.operand(first);
    if (operands.length !== ops.length + 1) throw new InternalError('cst: expression operand missing');
    let next = 0; // the operand to read next; the operator after it is ops[next]
    let notsTaken = 0; // how many of that operand's `not`s are applied already
    const climb = (minPrec: number): A.Expr => {
      const o = operands[next]!;
      const nots = o.children.Not ?? [];
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
  private operand(n: C.OperandCstNode): A.Expr {
    const c = n.children;
    let e = this.primary(c);
    if (c.Caret) {
      const exp = this.operand(one(c.exponent, 'exponent'));
      e = { kind: 'BinaryExpr', op: '^', left: e, right: exp, opSpan: this.tspan(one(c.Caret, '^')), span: joinSpans(e.span, exp.span) };
    }
    const minus = c.Minus;
    if (minus) for (let k = minus.length - 1; k >= 0; k--) e = { kind: 'UnaryExpr', op: '-', arg: e, span: joinSpans(this.tspan(minus[k]!), e.span) };
    return e;
  }

  /** The primary of an operand: a number, a string, a size, parentheses, or a name, call or index. */
  private primary(c: C.OperandCstChildren): A.Expr {
    if (c.NumberLit) return this.number(one(c.NumberLit, 'number'));
    if (c.StringLit) {
      const t = one(c.StringLit, 'string');
      return { kind: 'StringLit', value: unquote(t.image), span: this.tspan(t) };
    }
    if (c.size) {
      const pipes = c.Pipe ?? [];
      return { kind: 'SizeExpr', name: this.ident(one(c.size, 'size')), span: joinSpans(this.tspan(one(pipes, '|')), this.tspan(pipes[pipes.length - 1]!)) };
    }
    if (c.parenExpr) return this.parenExpr(one(c.parenExpr, 'parenExpr'));
    return this.nameExpr(c);
  }

  private parenExpr(p: C.ParenExprCstNode): A.Expr {
    const items = p.children.expression.map((e) => this.expression(e));
    const sp = this.nspan(p);
    if (p.children.relation) return { kind: 'MemberExpr', tuple: items, relation: this.ident(one(p.children.relation, 'relation')), span: sp };
    const first = one(items, 'parenthesized expression');
    if (items.length > 1)
      this.reject('RC0106', 'a parenthesized list must be followed by `in RELATION`', sp, 'a tuple of values is not an expression', 'test membership with `(u, i) in likes`');
    return { ...first, span: sp };
  }

  /** `x`, `f(args)`, `U[u, k]`, `sum(bindings: body)`: the name and what follows it in an operand. */
  private nameExpr(c: C.OperandCstChildren): A.Expr {
    const id = this.ident(one(c.Identifier, 'name'));
    const close = c.RBracket ?? c.RParen;
    const sp = close ? joinSpans(id.span, this.tspan(one(close, 'closing bracket'))) : id.span;
    if (c.index) return { kind: 'IndexExpr', target: id, indices: c.index.map((e) => this.expression(e)), span: sp };
    if (!c.callArgs) return { kind: 'IdentExpr', name: id.name, span: sp };
    const { args, bindings, body } = this.callArgs(one(c.callArgs, 'arguments'), id.name, id.span);
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
  private callArgs(n: C.CallArgsCstNode, callee: string, aggregate: Span | undefined): { args: A.NamedArg[]; bindings: A.Binding[]; body: A.Expr | undefined } {
    const items = n.children.callItem ?? [];
    const body = n.children.body;
    if (body && aggregate === undefined)
      this.reject('RC0108', `\`${callee}(...)\` cannot take \`BINDINGS: BODY\``, this.tspan(one(n.children.Colon, ':')), 'unexpected `:`', 'only aggregations (sum, mean, logsumexp, max, min) have a body');
    const args: A.NamedArg[] = [];
    const bindings: A.Binding[] = [];
    for (const it of items) {
      const c = it.children;
      const value = this.expression(one(c.expression, 'call item'));
      const sp = this.nspan(it);
      if (!body) {
        if (c.range || c.sampler)
          this.reject('RC0108', 'a binding needs an aggregation body', sp, 'binding outside `AGG(BINDINGS: BODY)`',
            AGGREGATES.has(callee) ? `add the body after a colon: \`${callee}(${this.text(it)}: ...)\`` : `bindings only appear in aggregations: \`sum(${this.text(it)}: ...)\``);
        // no object spread: this runs for every argument of every call
        args.push(c.argName ? { name: this.ident(one(c.argName, 'argument name')), value, span: sp } : { value, span: sp });
        continue;
      }
      if (c.argName) this.reject('RC0107', 'expected a binding, found a named argument', sp, 'not a binding', BINDING_HELP);
      bindings.push(this.binding(c, value, sp));
    }
    return { args, bindings, body: body ? this.expression(one(body, 'body')) : undefined };
  }

  private text(n: CstNode): string {
    const sp = this.nspan(n);
    return this.source.slice(sp.start, sp.end);
  }

  private binding(c: C.CallItemCstChildren, value: A.Expr, sp: Span): A.Binding {
    if (c.range) {
      const range = this.ident(one(c.range, 'range'));
      const b = rangeBinding(value, range, sp);
      if (b) return b;
      return this.reject('RC0107', 'expected a variable before `in`', value.span, 'not a variable', BINDING_HELP);
    }
    if (c.sampler) {
      if (value.kind !== 'IdentExpr') return this.reject('RC0107', 'expected a variable before `~`', value.span, 'not a variable', BINDING_HELP);
      const fn = this.ident(one(c.sampler, 'sampler'));
      const inner = this.callArgs(one(c.samplerArgs, 'sampler arguments'), fn.name, undefined);
      const close = one(c.RParen, ')');
      const sampler: A.CallExpr = { kind: 'CallExpr', callee: fn, args: inner.args, span: joinSpans(fn.span, this.tspan(close)) };
      let count: A.NumberLit | undefined;
      if (c.times) {
        const x = one(c.times, 'x');
        if (x.image !== 'x')
          this.reject('RC0109', `expected \`x\` before the sample count, found \`${x.image}\``, this.tspan(x), 'expected `x`', `a sample set is written \`${value.name} ~ ${fn.name}(...) x 100\``);
        count = this.number(one(c.count, 'sample count'));
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
const PRECEDENCE: Readonly<Record<string, number>> = {
  or: 1,
  and: 2,
  '<': 4, '<=': 4, '>': 4, '>=': 4, '==': 4, '!=': 4,
  '+': 5, '-': 5,
  '*': 6, '/': 6,
  '.': 7,
};
const COMPARISON = 4;
/** `not x`: x extends over comparisons and tighter operators (`not a < b` is `not (a < b)`). */
const NOT_OPERAND = COMPARISON;

const BINDING_HELP =
  'bindings are `(u, i, r) in ratings`, `u in user`, `k in d`, `j ~ uniform(item)`, `J ~ pop(item, 0.75) x 100` and `j < l in x`';

function isAggregate(s: string): s is A.AggregateOp {
  return AGGREGATES.has(s);
}

function binaryOp(s: string): A.BinaryOp {
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

function unquote(s: string): string {
  return s.slice(1, -1).replace(/\\(.)/g, (_, ch: string) => (ch === 'n' ? '\n' : ch === 't' ? '\t' : ch));
}

// What `recc run` would refuse later, refused by `check` at once (issue 11): a param too large for the
// backends at its dims alone (RC0553; at the data's sizes `compile`/`run` judge it with `paramSizeDiagnostics`),
// and metrics with no `def score` to compute them from (RC0554).
import type * as A from '../syntax/ast.ts';
import type { Diagnostic } from '../diagnostics/diagnostics.ts';
import { describeCells, TENSOR_LIMIT_TEXT, tensorFits } from '../ir/limits.ts';
import { evalConst, type ConstEnv } from './consts.ts';
import type { Model, RelationInfo } from './model.ts';
import { error, type Report } from './report.ts';

/** The builtins a `where` may call: the runtime evaluates exactly these (runtime/data/dataset.ts). */
export const WHERE_FUNCTIONS = ['abs', 'exp', 'log', 'sqrt', 'min', 'max'] as const;

export function checkRunnable(model: Model, evaluate: A.EvaluateBlock | undefined, consts: ConstEnv, report: Report): void {
  paramSizeDiagnostics(model, undefined).forEach(report);
  for (const t of model.terms) nonFiniteConstants(t.body, new Set(), consts, report);
  for (const d of model.defs.values()) nonFiniteConstants(d.body, new Set(d.params.map((p) => p.name)), consts, report);
  for (const r of model.relations) if (r.source.kind === 'derived') unevaluableWhere(r.source.where, report);
  const metrics = evaluate?.entries.find((e) => e.kind === 'Metrics');
  if (metrics && model.evaluate.metrics.length > 0 && !model.defs.has('score'))
    report(
      error('RC0554', 'metrics need a `def score` to compute them from', metrics.span, 'no `def score` in the model', {
        help: 'add e.g. `def score(u, i) = U[u] . V[i]` (the model\'s prediction for a test tuple), or remove the `metrics` entry',
      }),
    );
}

/**
 * RC0553 for each param with more cells than one tensor can hold: at its dims alone when `sizes`
 * is undefined (check), else at `sizes` (each domain's size in the loaded data).
 */
export function paramSizeDiagnostics(model: Model, sizes: ((domain: string) => number) | undefined): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const p of model.params) {
    const factors = p.shape.flatMap((a): [string, number][] => (a.kind === 'dim' ? [[a.name, a.size]] : sizes ? [[a.name, sizes(a.name)]] : []));
    const cells = factors.reduce((n, [, k]) => n * k, 1);
    if (tensorFits(cells)) continue;
    const dims = [...new Set(p.shape.filter((a) => a.kind === 'dim').map((a) => `\`${a.name}\``))];
    out.push(
      error('RC0553', `param \`${p.name}\` is too large to run: ${describeCells(factors)}${sizes ? ' at the data\'s sizes' : ''}`, p.decl.name.span, 'too many cells', {
        help: `recc holds at most ${TENSOR_LIMIT_TEXT}${dims.length ? `; lower ${dims.join(' or ')}` : ''}${sizes ? ' or train on less data' : ''}`,
      }),
    );
  }
  return out;
}

/** The sub-expressions of `e`, with the names each binds for them. */
function children(e: A.Expr): { expr: A.Expr; binds: readonly string[] }[] {
  const plain = (xs: readonly A.Expr[]) => xs.map((expr) => ({ expr, binds: [] as string[] }));
  switch (e.kind) {
    case 'NumberLit':
    case 'StringLit':
    case 'IdentExpr':
    case 'SizeExpr':
      return [];
    case 'UnaryExpr':
      return plain([e.arg]);
    case 'BinaryExpr':
      return plain([e.left, e.right]);
    case 'TernaryExpr':
      return plain([e.cond, e.then, e.else]);
    case 'CallExpr':
      return plain(e.args.map((a) => a.value));
    case 'IndexExpr':
      return plain(e.indices);
    case 'MemberExpr':
      return plain(e.tuple);
    case 'AggregateExpr': {
      const binds = e.bindings.flatMap((b) =>
        b.kind === 'TupleBinding' ? b.vars.map((v) => v.name) : b.kind === 'PairBinding' ? [b.first.name, b.second.name] : [b.var.name],
      );
      const samplers = e.bindings.flatMap((b) => (b.kind === 'SampleBinding' ? [{ expr: b.sampler as A.Expr, binds: [] as string[] }] : []));
      return [...samplers, { expr: e.body, binds }];
    }
  }
}

/**
 * RC0555 at each largest constant sub-expression (numbers, consts and dims with arithmetic and the
 * constant builtins) whose value is not finite: `sqrt(-1)`, `1/0`, `exp(1000)` in a term or def would
 * make every step's loss NaN or infinite. Names bound by a def or an aggregate are never constants.
 */
function nonFiniteConstants(e: A.Expr, bound: ReadonlySet<string>, env: ConstEnv, report: Report): void {
  if (isConstant(e, bound, env)) {
    let bad: Diagnostic | undefined;
    evalConst(e, env, (d) => (bad ??= d));
    if (bad?.code === 'RC0555') report(bad);
    return;
  }
  for (const c of children(e)) nonFiniteConstants(c.expr, c.binds.length ? new Set([...bound, ...c.binds]) : bound, env, report);
}

const CONST_CALLS = new Set(['exp', 'log', 'sqrt', 'abs', 'min', 'max']);

/** Whether `e` is built from numbers, consts and dims alone (what evalConst folds). */
function isConstant(e: A.Expr, bound: ReadonlySet<string>, env: ConstEnv): boolean {
  switch (e.kind) {
    case 'NumberLit':
      return true;
    case 'IdentExpr':
      return !bound.has(e.name) && (env.consts.has(e.name) || env.dims.has(e.name));
    case 'UnaryExpr':
      return e.op === '-' && isConstant(e.arg, bound, env);
    case 'BinaryExpr':
      return ['+', '-', '*', '/', '^'].includes(e.op) && isConstant(e.left, bound, env) && isConstant(e.right, bound, env);
    case 'CallExpr':
      return CONST_CALLS.has(e.callee.name) && e.args.length > 0 && e.args.every((a) => !a.name && isConstant(a.value, bound, env));
    default:
      return false;
  }
}

/** RC0517 where a derived relation's `where` uses what the runtime's filter cannot evaluate. */
function unevaluableWhere(e: A.Expr, report: Report): void {
  const bad = (what: string): void =>
    report(error('RC0517', `a \`where\` clause cannot use ${what}`, e.span, 'not evaluated per tuple', {
      help: `filter with the relation's columns, numbers, consts and dims, arithmetic, comparisons, \`and\`/\`or\`/\`not\`, \`c ? a : b\` and ${WHERE_FUNCTIONS.map((f) => `\`${f}\``).join(', ')}`,
    }));
  switch (e.kind) {
    case 'NumberLit':
    case 'IdentExpr':
      return;
    case 'UnaryExpr':
      return unevaluableWhere(e.arg, report);
    case 'BinaryExpr':
      if (e.op === '.') return bad('a dot product');
      unevaluableWhere(e.left, report);
      return unevaluableWhere(e.right, report);
    case 'TernaryExpr':
      unevaluableWhere(e.cond, report);
      unevaluableWhere(e.then, report);
      return unevaluableWhere(e.else, report);
    case 'CallExpr':
      if (!(WHERE_FUNCTIONS as readonly string[]).includes(e.callee.name) || e.args.some((a) => a.name) || e.args.length === 0) return bad(`\`${e.callee.name}(…)\``);
      if (e.callee.name !== 'min' && e.callee.name !== 'max' && e.args.length !== 1) return bad(`\`${e.callee.name}\` with ${e.args.length} arguments`);
      return e.args.forEach((a) => unevaluableWhere(a.value, report));
    case 'StringLit':
      return bad('a string');
    case 'SizeExpr':
      return bad('a size (`|…|`)');
    case 'IndexExpr':
      return bad('an indexed value');
    case 'MemberExpr':
      return bad('a membership test');
    case 'AggregateExpr':
      return bad(`\`${e.op}(…)\``);
  }
}

/** `rel`'s `where` with every name that is not one of its columns replaced by its const or dim value. */
export function whereWithConsts(rel: RelationInfo, env: ConstEnv): RelationInfo {
  if (rel.source.kind !== 'derived') return rel;
  const columns = new Set(rel.columns.map((c) => c.name));
  const go = (e: A.Expr): A.Expr => {
    switch (e.kind) {
      case 'IdentExpr': {
        if (columns.has(e.name)) return e;
        const v = env.consts.get(e.name) ?? env.dims.get(e.name);
        return v === undefined ? e : { kind: 'NumberLit', value: v, text: String(v), span: e.span };
      }
      case 'UnaryExpr':
        return { ...e, arg: go(e.arg) };
      case 'BinaryExpr':
        return { ...e, left: go(e.left), right: go(e.right) };
      case 'TernaryExpr':
        return { ...e, cond: go(e.cond), then: go(e.then), else: go(e.else) };
      case 'CallExpr':
        return { ...e, args: e.args.map((a) => ({ ...a, value: go(a.value) })) };
      default:
        return e;
    }
  };
  return { ...rel, source: { ...rel.source, where: go(rel.source.where) } };
}

// Check pass 1b — constants. Dims and consts get their values, in declaration order, with the
// command line's `--set NAME=VALUE` overrides (RC0509 for a name that is no const or dim, RC0513 for a
// dim that is no positive integer), and `evalConst` folds any constant expression (RC0508 when it is
// not one, RC0201/RC0204 for unknown or not-yet-declared names). Param initializers use it too.
import type * as A from '../syntax/ast.ts';
import type { Span } from '../diagnostics/source.ts';
import { kindName, type Sym } from './env.ts';
import { didYouMean, error, type Report } from './report.ts';
import type { Scope } from './scope.ts';

/** The value of every dim and const (after `--set`) whose declaration is the one in scope. */
export function evalDimsAndConsts(scope: Scope, sets: ReadonlyMap<string, number>, report: Report): { dims: Map<string, number>; consts: Map<string, number> } {
  const { globals, globalsOf, decls } = scope;
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

  return { dims, consts };
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
  // a value that float64 cannot hold (sqrt(-1), 1/0, 10^400) is reported once, where it first arises
  const finite = (x: A.Expr, v: number | undefined): number | undefined => {
    if (v === undefined || Number.isFinite(v)) return v;
    report(error('RC0555', `this constant expression is ${Number.isNaN(v) ? 'not a number (NaN)' : `${v > 0 ? '+' : '-'}infinite`}`, x.span, `evaluates to ${v}`, {
      help: 'a constant must be a finite number: check for division by zero, sqrt or log of a negative number, or a power beyond ±1.8e308',
    }));
    return undefined;
  };
  const go = (x: A.Expr): number | undefined => finite(x, value(x));
  const value = (x: A.Expr): number | undefined => {
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

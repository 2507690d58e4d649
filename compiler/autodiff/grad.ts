// autodiff: ∂f/∂W[a₁…aₙ] for a closed scalar f, symbolically in index notation. The result has the
// output indices a₁…aₙ free; differentiating an access W[x₁…xₙ] gives Π δ(xⱼ, aⱼ), which simplify's
// δ-elimination turns into substitutions (Σ_u δ(u,a)·g(u) = g(a)) or, for gathers over a relation,
// into CSR segment sums. The rules form a per-op table, so adding an op will not compile until it
// says how to differentiate it. Results are memoized per node, so shared subterms are visited once.
import {
  add, call, cmp, eq, konst, mul, neg, pow, select, sum, v, ZERO,
  type Expr, type ExprOf, type Idx, type Op,
} from '../ir/nodes.ts';

type Rule = { [K in Op]: (e: ExprOf<K>, d: (x: Expr) => Expr) => Expr };

/** Derivatives of elementwise functions, written with other IR functions. */
const unaryDeriv = (e: ExprOf<'call'>): Expr => {
  const x = e.arg;
  switch (e.fn) {
    case 'exp':
      return e;
    case 'log':
      return pow(x, -1);
    case 'sqrt':
      return mul(konst(0.5), pow(e, -1));
    case 'abs':
      return call('sign', x);
    case 'sigmoid':
      return mul(e, add(konst(1), neg(e)));
    case 'logsigmoid':
      return call('sigmoid', neg(x));
    case 'softplus':
      return call('sigmoid', x);
    case 'relu':
      return call('step', x);
    case 'tanh':
      return add(konst(1), neg(pow(e, 2)));
    case 'step':
    case 'sign':
      return ZERO;
  }
};

const rules = (target: string, out: readonly Idx[]): Rule => ({
  const: () => ZERO,
  size: () => ZERO,
  eq: () => ZERO,
  cmp: () => ZERO,
  tensor: (e) => {
    if (e.kind !== 'param' || e.name !== target) return ZERO;
    return mul(...e.ix.map((x, j) => eq(x, v(out[j]!))));
  },
  add: (e, d) => add(...e.args.map(d)),
  mul: (e, d) => add(...e.args.map((a, j) => mul(d(a), ...e.args.filter((_, k) => k !== j)))),
  pow: (e, d) => mul(konst(e.exp), pow(e.base, e.exp - 1), d(e.base)),
  call: (e, d) => mul(unaryDeriv(e), d(e.arg)),
  // max(a, b) follows a where a ≥ b, min(a, b) follows b there (ties pick one subgradient)
  call2: (e, d) => {
    const aWins = cmp('>=', e.a, e.b);
    return e.fn === 'max' ? select(aWins, d(e.a), d(e.b)) : select(aWins, d(e.b), d(e.a));
  },
  select: (e, d) => select(e.cond, d(e.a), d(e.b)),
  sum: (e, d) => sum(e.over, d(e.body)),
});

/** ∂f/∂target[out…]; `out` must be fresh indices over the param's axes. */
export function grad(f: Expr, target: string, out: readonly Idx[]): Expr {
  const table = rules(target, out);
  const memo = new Map<number, Expr>();
  const d = (e: Expr): Expr => {
    const hit = memo.get(e.id);
    if (hit) return hit;
    const rule = table[e.op] as (x: Expr, d: (y: Expr) => Expr) => Expr;
    const r = rule(e, d);
    memo.set(e.id, r);
    return r;
  };
  return d(f);
}

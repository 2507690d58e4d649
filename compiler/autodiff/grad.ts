// autodiff: ∂f/∂W[a₁…aₙ] for a closed scalar f, symbolically in index notation. The result has the
// output indices a₁…aₙ free; differentiating an access W[x₁…xₙ] gives Π δ(xⱼ, aⱼ), which simplify's
// δ-elimination turns into substitutions (Σ_u δ(u,a)·g(u) = g(a)) or, for gathers over a relation,
// into CSR segment sums. The rules form a per-op table, so adding an op will not compile until it
// says how to differentiate it. Results are memoized per node, so shared subterms are visited once.
import {
  add, call, cmp, eq, freeIdx, idxKey, konst, mul, neg, ord, pow, reduce, select, splitCoef, sum, v, ZERO,
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

const factorsOf = (e: Expr): readonly Expr[] => (e.op === 'mul' ? e.args : [e]);

/**
 * ∂ of S = Σ_J body, given ∂body. A product with a factor x_J + y whose addend y does not depend on J
 * is summed as Σ_J P·x_J + y·Σ_J P (y is constant over J): where P is the body itself (d exp(g) =
 * exp(g)·dg, g = f_J − m) the second sum is S, the very hash-consed node, so the S⁻¹ of an enclosing
 * log cancels it (see the `log` rule). This is what removes the ∂m terms of the max-shifted logsumexp
 * m + log Σ_J exp(f_J − m), whose derivative is then the softmax weights' alone. The identity holds
 * for any P; it is applied only where Σ_J P is S, which is computed anyway: elsewhere it would add a
 * second pass over J (measured on weighted-logistic's gradients: +2.5% planned cost).
 */
function sumOfDerivative(s: ExprOf<'sum'>, db: Expr): Expr {
  const bound = new Set(s.over.map(idxKey));
  const dependsOnJ = (x: Expr): boolean => [...freeIdx(x).keys()].some((k) => bound.has(k));
  const j = db.op === 'mul' ? db.args.findIndex((a) => a.op === 'add' && a.args.some((t) => !dependsOnJ(t))) : -1;
  if (db.op !== 'mul' || j < 0) return sum(s.over, db);
  const F = db.args[j] as ExprOf<'add'>;
  const [c, P] = splitCoef(mul(...db.args.filter((_, k) => k !== j)));
  if (P !== s.body) return sum(s.over, db);
  const dep = F.args.filter(dependsOnJ);
  const inv = F.args.filter((t) => !dependsOnJ(t));
  return add(sum(s.over, mul(konst(c), P, add(...dep))), mul(konst(c), add(...inv), s));
}

const rules = (target: string, out: readonly Idx[]): Rule => ({
  const: () => ZERO,
  size: () => ZERO,
  eq: () => ZERO,
  ord: () => ZERO,
  cmp: () => ZERO,
  tensor: (e) => {
    if (e.kind !== 'param' || e.name !== target) return ZERO;
    return mul(...e.ix.map((x, j) => eq(x, v(out[j]!))));
  },
  add: (e, d) => add(...e.args.map(d)),
  mul: (e, d) => add(...e.args.map((a, j) => mul(d(a), ...e.args.filter((_, k) => k !== j)))),
  pow: (e, d) => mul(konst(e.exp), pow(e.base, e.exp - 1), d(e.base)),
  call: (e, d) => {
    const da = d(e.arg);
    // d log S = S⁻¹·dS, spread over the addends of dS when one of them has the factor S: it cancels
    // (S⁻¹·S·y = y), which is how a max-shifted logsumexp loses its ∂m terms (see sumOfDerivative)
    if (e.fn === 'log' && da.op === 'add' && da.args.some((t) => factorsOf(t).includes(e.arg))) {
      return add(...da.args.map((t) => mul(pow(e.arg, -1), t)));
    }
    return mul(unaryDeriv(e), da);
  },
  // max(a, b) follows a where a ≥ b, min(a, b) follows b there (ties pick one subgradient)
  call2: (e, d) => {
    const aWins = cmp('>=', e.a, e.b);
    return e.fn === 'max' ? select(aWins, d(e.a), d(e.b)) : select(aWins, d(e.b), d(e.a));
  },
  select: (e, d) => select(e.cond, d(e.a), d(e.b)),
  sum: (e, d) => sumOfDerivative(e, d(e.body)),
  // d max_j f_j = Σ_j [j = argmax_j' f_j'] · df_j: the derivative of the element that attains the
  // max, exact where it is unique; at a tie, of the first tied element in index order (a
  // subgradient: max(x, x) = x gets 1, as duplicated in-batch samples need). Over several indices
  // the max is nested, max_{a,b} f = max_a max_b f, so each argmax has one index. The indicator
  // compares positions, ord(j) = argmax, exact integers: comparing f_j with the max itself would
  // fail as soon as a rewrite reorders f_j's products (the rounding differs). min alike; arg* and
  // 0 over an empty space are piecewise constant.
  reduce: (e, d) => {
    if (e.fn === 'argmax' || e.fn === 'argmin') return ZERO;
    const [first, ...rest] = e.over as [Idx, ...Idx[]];
    const inner = reduce(e.fn, rest, e.body);
    const dInner = d(inner);
    if (dInner === ZERO) return ZERO;
    const at = reduce(e.fn === 'max' ? 'argmax' : 'argmin', [first], inner);
    return sum([first], mul(cmp('==', ord(v(first)), at), dInner));
  },
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

// factor-sums: one rule for the forms ALS derives (passes/block-quadratic.ts). split-default writes
// the iALS Hessian's correction as two walks over the same tuples with symbolic coefficients,
// −2c_neg·Σ_t X_t + 2c_pos·Σ_t X_t, which the constructors cannot merge (they merge numeric
// coefficients only); factored, the walk runs once per row: 2(c_pos − c_neg)·Σ_t X_t.
import { add, mul, type Expr } from '../ir/nodes.ts';
import { rule, type Rule } from '../rewrite/rule.ts';
import { nodes } from '../ir/walk.ts';

const isLoop = (e: Expr): boolean => e.op === 'sum' || e.op === 'reduce';

/** An addend as (loop-free coefficient, the one sum it multiplies), or undefined. */
function split(e: Expr): { coef: Expr; s: Expr } | undefined {
  const factors = e.op === 'mul' ? e.args : [e];
  const sums = factors.filter((f) => f.op === 'sum');
  if (sums.length !== 1) return undefined;
  const rest = factors.filter((f) => f !== sums[0]);
  if (rest.some((f) => nodes(f).some(isLoop))) return undefined;
  return { coef: mul(...rest), s: sums[0]! };
}

// a·S + b·S → (a + b)·S, for one sum S and loop-free coefficients a, b
export const factorSharedSum: Rule = rule(
  'factor-shared-sum',
  'add',
  (e) => {
    const parts = e.args.map(split);
    const shared = parts.find((p, j) => p && parts.some((q, k) => k !== j && q?.s === p.s));
    return shared ? { parts, s: shared.s } : undefined;
  },
  (e, { parts, s }) => {
    const coefs = parts.flatMap((p) => (p?.s === s ? [p.coef] : []));
    const others = e.args.filter((_, j) => parts[j]?.s !== s);
    return add(mul(add(...coefs), s), ...others);
  },
);

export const factorSumRules: readonly Rule[] = [factorSharedSum];

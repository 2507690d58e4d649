// hessian: second derivatives for exact block updates (ALS). For a param block P whose rows p_r the
// objective L treats independently and quadratically,
//   L(p_r) = ½ p_rᵀ H_r p_r + g_r(0)ᵀ p_r + const,   H_r = ∂²L/∂p_r∂p_rᵀ,   g_r(0) = ∂L/∂p_r at p_r = 0,
// and the row's exact minimizer solves H_r p_r = −g_r(0). Both come from the gradient ∂L/∂P[a, k…]
// (grad.ts): H_r by differentiating it again with the row index a shared (the diagonal block
// ∂²L/∂P[a, k…]∂P[a, l…]), g_r(0) by putting P = 0 in it. No finite differences anywhere.
import { freshIdx } from '../ir/walk.ts';
import { mapChildren } from '../ir/walk.ts';
import { ZERO, type Expr, type Idx } from '../ir/nodes.ts';
import { grad } from './grad.ts';

/**
 * The diagonal block of the Hessian: ∂/∂P[row, l…] of `gradient` (= ∂L/∂P[out…]) where `row` is
 * out[0] when P has a row axis, so H_r[out…, l…] with the row index shared; `inner` are the fresh
 * l-indices, one per axis after the row axis (every axis when there is none).
 */
export function rowHessian(gradient: Expr, param: string, out: readonly Idx[], hasRowAxis: boolean): { expr: Expr; inner: Idx[] } {
  const vecAxes = hasRowAxis ? out.slice(1) : out;
  const inner = vecAxes.map(freshIdx);
  const target = hasRowAxis ? [out[0]!, ...inner] : inner;
  return { expr: grad(gradient, param, target), inner };
}

/**
 * The full second derivative ∂/∂P[b, l…] of `gradient` = ∂L/∂P[a, k…] with a fresh row index b: zero
 * off the diagonal (a ≠ b) exactly when the objective does not couple P's rows (block-quadratic.ts
 * proves that from this form's δ factors).
 */
export function crossHessian(gradient: Expr, param: string, out: readonly Idx[]): { expr: Expr; other: Idx[] } {
  const other = out.map(freshIdx);
  return { expr: grad(gradient, param, other), other };
}

/** `e` with every access of param `name` replaced by 0 (g_r(0) from the gradient). */
export function atZero(e: Expr, name: string): Expr {
  const memo = new Map<number, Expr>();
  const go = (x: Expr): Expr => {
    const hit = memo.get(x.id);
    if (hit) return hit;
    const r = x.op === 'tensor' && x.kind === 'param' && x.name === name ? ZERO : mapChildren(x, go);
    memo.set(x.id, r);
    return r;
  };
  return go(e);
}

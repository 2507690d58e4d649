// expand: a sum into sum-of-products normal form, Σ_j c_j · Σ_{over_j} Π factors_j.
// Products distribute over sums, nested sums flatten into their parent, and integer powers of sums
// expand with fresh indices: (Σ_k a_k)² = Σ_k Σ_l a_k·a_l. Nonlinear nodes (exp, softplus, x⁻¹, …)
// stay as opaque factors. Like terms merge up to renaming of bound indices, so the nine products of
// (s + b_u + b_i)² collapse to six. Returns undefined when the expansion would exceed `maxTerms`.
import { freeIdx, idxKey, konst, mul, sum, type Expr, type Idx, type Ix } from '../ir/nodes.ts';
import { printIR } from '../ir/print.ts';
import { freshIdx, substitute } from '../ir/walk.ts';

export interface ProductTerm {
  readonly coef: number;
  readonly over: readonly Idx[];
  readonly factors: readonly Expr[];
}

class TooBig extends Error {}

const MAX_POWER = 4;

function renameApart(t: ProductTerm, taken: ReadonlySet<string>): ProductTerm {
  const clash = t.over.filter((i) => taken.has(idxKey(i)));
  if (clash.length === 0) return t;
  const map = new Map<string, Ix>();
  const over = t.over.map((i) => {
    if (!taken.has(idxKey(i))) return i;
    const f = freshIdx(i);
    map.set(idxKey(i), { kind: 'var', idx: f });
    return f;
  });
  return { coef: t.coef, over, factors: t.factors.map((f) => substitute(f, map)) };
}

function product(a: readonly ProductTerm[], b: readonly ProductTerm[], maxTerms: number): ProductTerm[] {
  if (a.length * b.length > maxTerms) throw new TooBig();
  const out: ProductTerm[] = [];
  for (const x of a) {
    const taken = new Set<string>(x.over.map(idxKey));
    x.factors.forEach((f) => freeIdx(f).forEach((_, k) => taken.add(k)));
    for (const y0 of b) {
      const y = renameApart(y0, taken);
      out.push({ coef: x.coef * y.coef, over: [...x.over, ...y.over], factors: [...x.factors, ...y.factors] });
    }
  }
  return out;
}

function expandable(e: Expr): boolean {
  return e.op === 'add' || e.op === 'sum' || (e.op === 'mul' && e.args.some(expandable)) || (e.op === 'pow' && isExpandablePow(e));
}

function isExpandablePow(e: Extract<Expr, { op: 'pow' }>): boolean {
  return Number.isInteger(e.exp) && e.exp >= 2 && e.exp <= MAX_POWER && expandable(e.base);
}

function terms(e: Expr, atom: (x: Expr) => Expr, maxTerms: number): ProductTerm[] {
  switch (e.op) {
    case 'const':
      return [{ coef: e.value, over: [], factors: [] }];
    case 'add': {
      const out = e.args.flatMap((a) => terms(a, atom, maxTerms));
      if (out.length > maxTerms) throw new TooBig();
      return out;
    }
    case 'mul':
      return e.args.map((a) => terms(a, atom, maxTerms)).reduce((x, y) => product(x, y, maxTerms));
    case 'pow': {
      if (!isExpandablePow(e)) return [{ coef: 1, over: [], factors: [atom(e)] }];
      const base = terms(e.base, atom, maxTerms);
      let acc = base;
      for (let n = 1; n < e.exp; n++) acc = product(acc, base, maxTerms);
      return acc;
    }
    case 'sum':
      return terms(e.body, atom, maxTerms).map((t) => ({ coef: t.coef, over: [...e.over, ...t.over], factors: t.factors }));
    default:
      return [{ coef: 1, over: [], factors: [atom(e)] }];
  }
}

/** Renames bound indices canonically so that terms equal up to renaming get the same key. */
function canonical(t: ProductTerm): { key: string; term: ProductTerm } {
  const bound = new Map(t.over.map((i) => [idxKey(i), i] as const));
  const anon = (f: Expr): string => {
    const map = new Map<string, Ix>();
    for (const [k, i] of bound) map.set(k, { kind: 'var', idx: { name: '_', space: i.space } });
    return printIR(substitute(f, map));
  };
  const sorted = [...t.factors].map((f) => ({ f, k: anon(f) })).sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : 0));
  const order: Idx[] = [];
  const seen = new Set<string>();
  for (const { f } of sorted) {
    for (const [k, i] of freeIdx(f)) {
      if (bound.has(k) && !seen.has(k)) {
        seen.add(k);
        order.push(i);
      }
    }
  }
  for (const [k, i] of bound) if (!seen.has(k)) order.push(i); // unmentioned: Σ_i c = |i|·c
  const map = new Map<string, Ix>();
  const over = order.map((i, j) => {
    const c = { name: `#${j}`, space: i.space };
    map.set(idxKey(i), { kind: 'var', idx: c });
    return c;
  });
  const factors = sorted.map(({ f }) => substitute(f, map));
  return { key: factors.map(printIR).join(' * '), term: { coef: t.coef, over, factors } };
}

/** Normal form of `e`, with like terms merged; undefined if it has more than `maxTerms` products. */
export function expand(e: Expr, atom: (x: Expr) => Expr = (x) => x, maxTerms = 64): ProductTerm[] | undefined {
  let raw: ProductTerm[];
  try {
    raw = terms(e, atom, maxTerms);
  } catch (err) {
    if (err instanceof TooBig) return undefined;
    throw err;
  }
  const merged = new Map<string, ProductTerm>();
  for (const t of raw) {
    if (t.coef === 0) continue;
    const { key, term } = canonical(t);
    const fullKey = `${term.over.map(idxKey).join(',')}|${key}`;
    const prev = merged.get(fullKey);
    merged.set(fullKey, prev ? { ...prev, coef: prev.coef + term.coef } : term);
  }
  return [...merged.values()].filter((t) => t.coef !== 0);
}

/** Rebuilds a product term as IR, summing innermost-first in the given order (no reordering). */
export function termToExpr(t: ProductTerm): Expr {
  return mul(konst(t.coef), sum(t.over, mul(...t.factors)));
}

// split-default: a sum over domains whose body depends on relation membership m = (x₁…xₙ) in R
// (lowered as Σ_{t'∈R} Π δ(R.cⱼ[t'], xⱼ)) splits into "every pair at the default m = 0" plus "a
// correction on R's tuples" (eALS / ENMF) — the indicator identity f(m) = f(0) + m·(f(1) − f(0)),
// for any f, summed over the pairs:
//   Σ_{x} f(m(x), x)  =  Σ_{x} f(0, x)  +  Σ_{t∈R} [f(1, x) − f(0, x)]_{xⱼ := R.cⱼ[t]}
// Arguments of m that the sum does not bind stay as δ(R.cⱼ[t], xⱼ) factors (a CSR gather). The
// all-pairs part then has no membership left and contracts into Gramians. Only a full test (every id
// column of R, indicator.ts) is an indicator: a test of leading columns counts tuples and is kept.
// Valid when R holds each id tuple once, the language's definition of membership (indicator.ts).
import { add, eq, freeIdx, idx, idxKey, konst, mul, sub, sum, ZERO, type Expr, type Idx, type Ix } from '../ir/nodes.ts';
import type { Space } from '../ir/spaces.ts';
import { freshIdx, mapChildren, nodes, substitute } from '../ir/walk.ts';
import { asMembership } from './indicator.ts';

function replace(e: Expr, target: Expr, by: Expr): Expr {
  const memo = new Map<number, Expr>();
  const go = (x: Expr): Expr => {
    if (x === target) return by;
    const hit = memo.get(x.id);
    if (hit) return hit;
    const out = mapChildren(x, go);
    memo.set(x.id, out);
    return out;
  };
  return go(e);
}

/** The addends of `e` with constant factors c·(a + b) distributed (c·a + c·b). */
function addends(e: Expr): Expr[] {
  if (e.op === 'add') return e.args.flatMap(addends);
  if (e.op === 'mul' && e.args.length === 2 && e.args[0]!.op === 'const' && e.args[1]!.op === 'add') {
    const c = e.args[0]!;
    return e.args[1]!.args.flatMap(addends).map((a) => mul(c, a));
  }
  return [e];
}

/** f(1) − f(0), with constants distributed over sums when that lets like terms cancel (a smaller
 * expression): −2·(1 − b) + 2·b is −2, not a product and a sum to evaluate per tuple. */
function difference(f1: Expr, f0: Expr): Expr {
  const plain = sub(f1, f0);
  const merged = add(...addends(f1), ...addends(f0).map((a) => mul(konst(-1), a)));
  return nodes(merged).length < nodes(plain).length ? merged : plain;
}

/** The split form of `s`, or undefined when its body tests no membership over its own indices. */
export function splitDefault(s: Extract<Expr, { op: 'sum' }>, spaces: ReadonlyMap<string, Space>): Expr | undefined {
  const bound = new Map(s.over.map((i) => [idxKey(i), i] as const));
  // a membership whose arguments an inner sum or max binds is not one value per x: it stays
  const visible = freeIdx(s.body);
  const m = nodes(s.body)
    .map((n) => asMembership(n, spaces))
    .find((x) => x?.full && x.args.some((a) => a.x.kind === 'var' && bound.has(idxKey(a.x.idx))) && x.args.every((a) => visible.has(idxKey(a.x.kind === 'var' ? a.x.idx : a.x.t))));
  if (!m) return undefined;
  const f0 = replace(s.body, m.node, ZERO);
  const f1 = replace(s.body, m.node, konst(1));
  const t = freshIdx(idx('t', m.rel));
  const map = new Map<string, Ix>();
  const deltas: Expr[] = [];
  for (const a of m.args) {
    const g: Ix = { kind: 'gather', rel: m.rel, col: a.col, domain: a.domain, t };
    if (a.x.kind === 'var' && bound.has(idxKey(a.x.idx)) && !map.has(idxKey(a.x.idx))) map.set(idxKey(a.x.idx), g);
    else deltas.push(eq(g, a.x));
  }
  const rest: Idx[] = s.over.filter((i) => !map.has(idxKey(i)));
  const correction = sum([t, ...rest], mul(...deltas, substitute(difference(f1, f0), map)));
  return add(sum(s.over, f0), correction);
}

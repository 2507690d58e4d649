// simplify: δ-elimination, the rules that make symbolic gradients cheap, as a list for the rewrite
// driver (rewrite/engine.ts). The first two rules remove or use a δ; the other four only expose δ
// factors to them, each rewriting the first factor of a sum's body that carries a δ (`carrier`).
// δ(ratings.user[t], a) with `a` free cannot be eliminated: it stays for the planner (CSR gather).
// Input: any IR; output: the same value with every eliminable δ gone.
import { add, freeIdx, idxKey, mul, select, sum, ZERO, type Expr, type ExprOf, type Idx, type Ix } from '../ir/nodes.ts';
import { freshIdx, substitute } from '../ir/walk.ts';
import { rewrite, type Trace } from '../rewrite/engine.ts';
import { rule, type Rule } from '../rewrite/rule.ts';
import type { Space } from '../ir/spaces.ts';
import { indicatorRules } from './indicator.ts';

type Sum = ExprOf<'sum'>;

function factorsOf(e: Expr): readonly Expr[] {
  return e.op === 'mul' ? e.args : [e];
}

const boundOf = (s: Sum): ReadonlySet<string> => new Set(s.over.map(idxKey));

interface DeltaHit {
  readonly factor: Expr;
  readonly x: Idx;
  readonly y: Ix;
}

/** A δ factor of `e` that binds a variable of `bound`, with that variable and its replacement. */
function findDelta(e: Expr, bound: ReadonlySet<string>): DeltaHit | undefined {
  const fs = factorsOf(e);
  // replacing x by a gather where x meets another δ would join two gathers (δ(R.c[n₁], R.c[n₂])),
  // which no CSR index serves: keep Σ_t δ(row[n₁], t)·δ(row[n₂], t) as two walks instead
  const joins = (f: Expr, x: Idx, y: Ix): boolean =>
    y.kind === 'gather' && fs.some((g) => g !== f && g.op === 'eq' && freeIdx(g).has(idxKey(x)));
  for (const f of fs) {
    if (f.op !== 'eq') continue;
    if (f.a.kind === 'var' && bound.has(idxKey(f.a.idx)) && !joins(f, f.a.idx, f.b)) return { factor: f, x: f.a.idx, y: f.b };
    if (f.b.kind === 'var' && bound.has(idxKey(f.b.idx)) && !joins(f, f.b.idx, f.a)) return { factor: f, x: f.b.idx, y: f.a };
  }
  return undefined;
}

function mentionsDelta(e: Expr, bound: ReadonlySet<string>): boolean {
  switch (e.op) {
    case 'eq':
      return findDelta(e, bound) !== undefined;
    case 'mul':
    case 'add':
      return e.args.some((a) => mentionsDelta(a, bound));
    case 'select':
      return mentionsDelta(e.a, bound) || mentionsDelta(e.b, bound);
    case 'sum':
      return mentionsDelta(e.body, bound);
    default:
      return false;
  }
}

/** The first factor of a sum's body that carries a δ on a bound index and that a rule can move:
 * an add, a select (with `moved`, the δ brought out, where one branch is 0) or a nested sum. */
type Carrier =
  | { readonly kind: 'add'; readonly f: ExprOf<'add'>; readonly rest: readonly Expr[] }
  | { readonly kind: 'select0'; readonly f: ExprOf<'select'>; readonly rest: readonly Expr[]; readonly moved: Expr }
  | { readonly kind: 'select'; readonly f: ExprOf<'select'>; readonly rest: readonly Expr[] }
  | { readonly kind: 'sum'; readonly f: Sum; readonly rest: readonly Expr[] };

function carrier(s: Sum): Carrier | undefined {
  const bound = boundOf(s);
  const fs = factorsOf(s.body);
  for (const f of fs) {
    if (!mentionsDelta(f, bound)) continue;
    const rest = fs.filter((g) => g !== f);
    if (f.op === 'add') return { kind: 'add', f, rest };
    if (f.op === 'select' && (f.a === ZERO || f.b === ZERO)) {
      const moved = selectInside(f, bound);
      if (moved !== undefined) return { kind: 'select0', f, rest, moved };
      continue;
    }
    if (f.op === 'select') return { kind: 'select', f, rest };
    if (f.op === 'sum') return { kind: 'sum', f, rest };
  }
  return undefined;
}

/** select(c, g, 0) with g = δ·h, g = g₁ + g₂, g = h·(δ-carrier) or g = Σ_k h: the select moved
 * inside g, next to the δ; undefined for any other g. */
function selectInside(f: ExprOf<'select'>, bound: ReadonlySet<string>): Expr | undefined {
  const inner = f.a === ZERO ? f.b : f.a;
  const wrap = (x: Expr): Expr => (f.a === ZERO ? select(f.cond, ZERO, x) : select(f.cond, x, ZERO));
  const d = findDelta(inner, bound);
  if (d) return mul(d.factor, wrap(mul(...factorsOf(inner).filter((g) => g !== d.factor))));
  if (inner.op === 'add') return add(...inner.args.map(wrap));
  if (inner.op === 'mul') {
    const c = inner.args.find((g) => mentionsDelta(g, bound));
    return c ? mul(...inner.args.filter((g) => g !== c), wrap(c)) : undefined;
  }
  if (inner.op === 'sum') return sum(inner.over, wrap(inner.body));
  return undefined;
}

const carrying = <K extends Carrier['kind']>(kind: K) => (s: Sum): Extract<Carrier, { kind: K }> | undefined => {
  const c = carrier(s);
  return c?.kind === kind ? (c as Extract<Carrier, { kind: K }>) : undefined;
};

// Σ_{x,…} δ(x, y)·g(x)  →  Σ_{…} g(y)     x bound, y any index position; one loop fewer
export const deltaEliminate: Rule = rule('delta-eliminate', 'sum', (s) => findDelta(s.body, boundOf(s)), (s, hit) =>
  sum(
    s.over.filter((i) => idxKey(i) !== idxKey(hit.x)),
    substitute(mul(...factorsOf(s.body).filter((f) => f !== hit.factor)), new Map([[idxKey(hit.x), hit.y]])),
  ),
);

// Σ_t δ(R.c[t], a)·F(a)  →  Σ_t δ(R.c[t], a)·F(R.c[t])     t bound, a free: the rest reads per tuple
export const deltaPropagate: Rule = rule(
  'delta-propagate',
  'sum',
  (s) => {
    const bound = boundOf(s);
    const fs = factorsOf(s.body);
    for (const f of fs) {
      if (f.op !== 'eq') continue;
      const [g, x] = f.a.kind === 'gather' ? [f.a, f.b] : [f.b, f.a];
      if (g.kind !== 'gather' || x.kind !== 'var' || !bound.has(idxKey(g.t)) || bound.has(idxKey(x.idx))) continue;
      // other δ factors stay as they are: each is a CSR walk of its own (δ(row[n₁], t)·δ(row[n₂], t))
      const others = fs.filter((h) => h !== f);
      if (others.some((h) => h.op !== 'eq' && freeIdx(h).has(idxKey(x.idx)))) return { f, g, x: x.idx, others };
    }
    return undefined;
  },
  (s, { f, g, x, others }) => {
    const map = new Map<string, Ix>([[idxKey(x), g]]);
    return sum(s.over, mul(f, ...others.map((h) => (h.op === 'eq' ? h : substitute(h, map)))));
  },
);

// Σ_x (g₁ + g₂)·h  →  Σ_x g₁·h + Σ_x g₂·h     the add carries a δ on x: each half can lose it
export const distributeSum: Rule = rule('distribute-sum', 'sum', carrying('add'), (s, { f, rest }) =>
  add(...f.args.map((a) => sum(s.over, mul(...rest, a)))),
);

// Σ_x select(c, δ·g, 0)·h  →  Σ_x δ·select(c, g, 0)·h     (also through +, · and Σ inside the select)
export const deltaOutOfSelect: Rule = rule('delta-out-of-select', 'sum', carrying('select0'), (s, { rest, moved }) =>
  sum(s.over, mul(...rest, moved)),
);

// Σ_x select(c, a, b)·h  →  Σ_x select(c, a, 0)·h + Σ_x select(c, 0, b)·h     a δ inside a or b
export const splitSelect: Rule = rule('split-select', 'sum', carrying('select'), (s, { f, rest }) =>
  add(sum(s.over, mul(...rest, select(f.cond, f.a, ZERO))), sum(s.over, mul(...rest, select(f.cond, ZERO, f.b)))),
);

// Σ_x (Σ_y g)·h  →  Σ_{x,y'} g[y := y']·h     the inner sum carries a δ on x; y' fresh (it may occur twice)
export const mergeSums: Rule = rule('merge-sums', 'sum', carrying('sum'), (s, { f, rest }) => {
  const fresh = f.over.map(freshIdx);
  const body = substitute(f.body, new Map<string, Ix>(f.over.map((i, j) => [idxKey(i), { kind: 'var', idx: fresh[j]! }])));
  return sum([...s.over, ...fresh], mul(...rest, body));
});

/** δ-elimination, in the order the driver tries them at each node. */
export const simplifyRules: readonly Rule[] = [deltaEliminate, deltaPropagate, distributeSum, deltaOutOfSelect, splitSelect, mergeSums];

/** Only Σ_{x,…} δ(x, y)·g → Σ_{…} g[x := y]: for contracted forms, whose nesting is the contraction
 * order and must not be merged or distributed again. */
export const directDeltaRules: readonly Rule[] = [deltaEliminate];

/**
 * The list with the membership-indicator rules of a module's spaces (indicator.ts): δ-elimination
 * turns one occurrence of a test `(u, i) in R` into a walk over R's tuples, and the rules then read
 * every other occurrence at the tuple's own ids as 1 (instead of a join of R with itself).
 */
export function simplifyRulesFor(spaces: ReadonlyMap<string, Space> | undefined): readonly Rule[] {
  if (!spaces) return simplifyRules;
  const hit = withIndicators.get(spaces);
  if (hit) return hit;
  const rules = [...indicatorRules(spaces), ...simplifyRules];
  withIndicators.set(spaces, rules);
  return rules;
}

const withIndicators = new WeakMap<ReadonlyMap<string, Space>, readonly Rule[]>();

/** Bottom-up δ-elimination over the whole expression (with `spaces`: and the indicator rules). */
export function simplify(e: Expr, trace?: Trace, spaces?: ReadonlyMap<string, Space>): Expr {
  return rewrite(e, simplifyRulesFor(spaces), { trace });
}

/** Only the direct rule (see `directDeltaRules`), bottom-up. */
export function eliminateDirectDeltas(e: Expr, trace?: Trace): Expr {
  return rewrite(e, directDeltaRules, { trace });
}

// Membership indicators: `(x₁…xₙ) in R`, lowered as m = Σ_{t∈R} Π_j δ(R.cⱼ[t], xⱼ), counts R's tuples
// holding those ids. When the test names every id column of R (a *full* test) and R holds each id
// tuple once, m is the indicator 1[(x₁…xₙ) ∈ R] ∈ {0, 1}, so
//   - m² = m (powers and products of the same test collapse), and
//   - f(m) = f(0) + m·(f(1) − f(0)) for any f (split-default.ts applies it to a whole sum), and
//   - a tuple of R is in R: m evaluated at a tuple's own ids is 1.
// The last is what δ-elimination needs: once one occurrence of m becomes a walk over R's tuples t
// (Σ_{u,i} m(u,i)·g(m(u,i), u, i) = Σ_t g(m(R.user[t], R.item[t]), …)), every other occurrence of the
// same test reads m at t's own ids — a join of R with itself, |R|·|R|/|domain| work and worse on skewed
// data — and is 1. A test of some leading columns only (`(u) in likes`) counts tuples (a user's
// likes), is no indicator, and none of these rules touch it.
// R holding each id tuple once is the language's definition of membership (docs/language.md: "1 on the
// relation's tuples, 0 elsewhere"); the runtime's data sets (MovieLens, synthetic) hold each
// (user, item) once.
import { idxKey, ONE, type Expr, type Ix } from '../ir/nodes.ts';
import { isTupleSpace, type Space } from '../ir/spaces.ts';
import { rule, type Rule } from '../rewrite/rule.ts';

export interface Membership {
  readonly node: Expr;
  readonly rel: string;
  /** per argument: the column of R and the index position it is compared with */
  readonly args: readonly { readonly col: string; readonly domain: string; readonly x: Ix }[];
  /** the test names every id column of R once: m is an indicator (see the header) */
  readonly full: boolean;
}

/** Recognizes Σ_{t∈R} Π_j δ(R.c_j[t], x_j) with every factor a δ on the summed tuple. */
export function asMembership(e: Expr, spaces: ReadonlyMap<string, Space>): Membership | undefined {
  if (e.op !== 'sum' || e.over.length !== 1) return undefined;
  const t = e.over[0]!;
  const space = spaces.get(t.space);
  if (!isTupleSpace(space)) return undefined;
  const factors = e.body.op === 'mul' ? e.body.args : [e.body];
  const args: { col: string; domain: string; x: Ix }[] = [];
  for (const f of factors) {
    if (f.op !== 'eq') return undefined;
    const [g, x] = f.a.kind === 'gather' && idxKey(f.a.t) === idxKey(t) ? [f.a, f.b] : [f.b, f.a];
    if (g.kind !== 'gather' || idxKey(g.t) !== idxKey(t) || g.rel !== t.space) return undefined;
    args.push({ col: g.col, domain: g.domain, x });
  }
  if (!args.length) return undefined;
  const idCols = [...space.columns].filter(([, type]) => spaces.get(type)?.kind === 'domain').map(([c]) => c);
  const tested = new Set(args.map((a) => a.col));
  const full = tested.size === args.length && idCols.length === args.length && idCols.every((c) => tested.has(c));
  return { node: e, rel: t.space, args, full };
}

/** A full membership test (an indicator), or undefined. */
function indicator(e: Expr, spaces: ReadonlyMap<string, Space>): Membership | undefined {
  const m = asMembership(e, spaces);
  return m?.full ? m : undefined;
}

const cache = new WeakMap<ReadonlyMap<string, Space>, readonly Rule[]>();

/**
 * The indicator rules over a module's spaces (they must know R's id columns). The same `spaces` map
 * gives the same rule objects.
 */
export function indicatorRules(spaces: ReadonlyMap<string, Space>): readonly Rule[] {
  const hit = cache.get(spaces);
  if (hit) return hit;
  // Σ_{t'∈R} Π_c δ(R.c[t'], R.c[t])  →  1     t a tuple of R, every id column c: R's own tuple is in R
  const ownTuple = rule(
    'own-tuple',
    'sum',
    (s) => {
      const m = indicator(s, spaces);
      if (!m) return undefined;
      const ts = new Set<string>();
      for (const a of m.args) {
        if (a.x.kind !== 'gather' || a.x.rel !== m.rel || a.x.col !== a.col || a.x.t.space !== m.rel) return undefined;
        ts.add(idxKey(a.x.t));
      }
      return ts.size === 1 && !ts.has(idxKey(s.over[0]!)) ? true : undefined;
    },
    () => ONE,
  );
  // m^k  →  m     m a full membership test (0 or 1), k a positive integer
  const indicatorPower = rule(
    'indicator-power',
    'pow',
    (p) => (Number.isInteger(p.exp) && p.exp >= 1 && indicator(p.base, spaces) ? true : undefined),
    (p) => p.base,
  );
  const rules = [ownTuple, indicatorPower];
  cache.set(spaces, rules);
  return rules;
}

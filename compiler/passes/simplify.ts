// simplify: δ-elimination, the rule that makes symbolic gradients cheap.
//   Σ_{x,…} δ(x, y)·g(x)  →  Σ_{…} g(y)          (x a bound variable; y any index position)
//   Σ_t δ(R.c[t], a)·g(a)  →  Σ_t δ(R.c[t], a)·g(R.c[t])   (a free: the rest reads per tuple)
// To expose δ factors it distributes a sum over an add that carries them, pulls a δ out of a
// select whose other branch is 0, and merges a nested sum into its parent when the δ sits inside.
// δ(ratings.user[t], a) with `a` free cannot be eliminated: it stays for the planner (CSR gather).
import { add, freeIdx, idxKey, mul, select, sum, ZERO, type Expr, type Idx, type Ix } from '../ir/nodes.ts';
import { freshIdx, mapChildren, substitute } from '../ir/walk.ts';

export type Trace = (rule: string, before: Expr, after: Expr) => void;

function factorsOf(e: Expr): readonly Expr[] {
  return e.op === 'mul' ? e.args : [e];
}

/** A δ factor of `e` that binds a variable of `bound`, with that variable and its replacement. */
function findDelta(e: Expr, bound: ReadonlySet<string>): { factor: Expr; x: Idx; y: Ix } | undefined {
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

function eliminate(s: Extract<Expr, { op: 'sum' }>, trace?: Trace): Expr {
  const bound = new Set(s.over.map(idxKey));
  const body = s.body;
  const hit = findDelta(body, bound);
  if (hit) {
    const rest = mul(...factorsOf(body).filter((f) => f !== hit.factor));
    const over = s.over.filter((i) => idxKey(i) !== idxKey(hit.x));
    const out = simplifySum(sum(over, substitute(rest, new Map([[idxKey(hit.x), hit.y]]))), trace);
    trace?.('delta-eliminate', s, out);
    return out;
  }
  const fs = factorsOf(body);
  // Σ_t δ(R.c[t], a)·F(a)  =  Σ_t δ(R.c[t], a)·F(R.c[t]): the rest of the body reads per tuple
  for (const f of fs) {
    if (f.op !== 'eq') continue;
    const [g, x] = f.a.kind === 'gather' ? [f.a, f.b] : [f.b, f.a];
    if (g.kind !== 'gather' || x.kind !== 'var' || !bound.has(idxKey(g.t)) || bound.has(idxKey(x.idx))) continue;
    // other δ factors stay as they are: each is a CSR walk of its own (δ(row[n₁], t)·δ(row[n₂], t))
    const others = fs.filter((h) => h !== f);
    if (!others.some((h) => h.op !== 'eq' && freeIdx(h).has(idxKey(x.idx)))) continue;
    const map = new Map<string, Ix>([[idxKey(x.idx), g]]);
    const out = simplifySum(sum(s.over, mul(f, ...others.map((h) => (h.op === 'eq' ? h : substitute(h, map))))), trace);
    trace?.('delta-propagate', s, out);
    return out;
  }
  for (const f of fs) {
    if (!mentionsDelta(f, bound)) continue;
    const rest = fs.filter((g) => g !== f);
    if (f.op === 'add') {
      const out = add(...f.args.map((a) => simplifySum(sum(s.over, mul(...rest, a)), trace)));
      trace?.('distribute-sum', s, out);
      return out;
    }
    if (f.op === 'select' && (f.a === ZERO || f.b === ZERO)) {
      // select(c, g, 0) with g = δ·h, g = g₁ + g₂ or g = Σ_k h: move the select inside g
      const inner = f.a === ZERO ? f.b : f.a;
      const wrap = (x: Expr): Expr => (f.a === ZERO ? select(f.cond, ZERO, x) : select(f.cond, x, ZERO));
      let moved: Expr | undefined;
      const d = findDelta(inner, bound);
      if (d) moved = mul(d.factor, wrap(mul(...factorsOf(inner).filter((g) => g !== d.factor))));
      else if (inner.op === 'add') moved = add(...inner.args.map(wrap));
      else if (inner.op === 'mul') {
        const carrier = inner.args.find((g) => mentionsDelta(g, bound));
        if (carrier) moved = mul(...inner.args.filter((g) => g !== carrier), wrap(carrier));
      } else if (inner.op === 'sum') moved = sum(inner.over, wrap(inner.body));
      if (moved !== undefined) {
        const out = simplifySum(sum(s.over, mul(...rest, moved)), trace);
        trace?.('delta-out-of-select', s, out);
        return out;
      }
      continue;
    }
    if (f.op === 'select') {
      // select(c, a, b) = select(c, a, 0) + select(c, 0, b)
      const split = add(
        simplifySum(sum(s.over, mul(...rest, select(f.cond, f.a, ZERO))), trace),
        simplifySum(sum(s.over, mul(...rest, select(f.cond, ZERO, f.b))), trace),
      );
      trace?.('split-select', s, split);
      return split;
    }
    if (f.op === 'sum') {
      // rename the inner sum's indices apart first: the same sum may occur twice in one product
      const fresh = f.over.map(freshIdx);
      const body = substitute(f.body, new Map<string, Ix>(f.over.map((i, j) => [idxKey(i), { kind: 'var', idx: fresh[j]! }])));
      const out = simplifySum(sum([...s.over, ...fresh], mul(...rest, body)), trace);
      trace?.('merge-sums', s, out);
      return out;
    }
  }
  return s;
}

function simplifySum(e: Expr, trace?: Trace): Expr {
  return e.op === 'sum' ? eliminate(e, trace) : e;
}

/** Bottom-up δ-elimination over the whole expression. */
export function simplify(e: Expr, trace?: Trace): Expr {
  const memo = new Map<number, Expr>();
  const go = (x: Expr): Expr => {
    const hit = memo.get(x.id);
    if (hit) return hit;
    const out = simplifySum(mapChildren(x, go), trace);
    memo.set(x.id, out);
    return out;
  };
  return go(e);
}

/**
 * Only the direct rule Σ_{x,…} δ(x, y)·g → Σ_{…} g[x := y], bottom-up: for contracted forms, whose
 * nesting is the contraction order and must not be merged or distributed again.
 */
export function eliminateDirectDeltas(e: Expr): Expr {
  const memo = new Map<number, Expr>();
  const go = (x: Expr): Expr => {
    const hit = memo.get(x.id);
    if (hit) return hit;
    let out = mapChildren(x, go);
    while (out.op === 'sum') {
      const bound = new Set(out.over.map(idxKey));
      const d = findDelta(out.body, bound);
      if (!d) break;
      const rest = mul(...factorsOf(out.body).filter((f) => f !== d.factor));
      const over = out.over.filter((i) => idxKey(i) !== idxKey(d.x));
      out = sum(over, substitute(rest, new Map([[idxKey(d.x), d.y]])));
    }
    memo.set(x.id, out);
    return out;
  };
  return go(e);
}

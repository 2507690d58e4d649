// Structural helpers over IR: rebuilding a node from mapped children, substituting index variables,
// and renaming bound indices apart. All results go through the smart constructors, so they stay
// canonical and hash-consed.
import {
  add, assertNever, call, call2, cmp, eq, idxKey, mul, ord, pow, reduce, select, sum, tensor,
  type Expr, type Idx, type Ix,
} from './nodes.ts';

/** Rebuilds `e` with every direct child replaced by `f(child)`. */
export function mapChildren(e: Expr, f: (x: Expr) => Expr): Expr {
  switch (e.op) {
    case 'const':
    case 'size':
    case 'tensor':
    case 'eq':
    case 'ord':
      return e;
    case 'add':
      return add(...e.args.map(f));
    case 'mul':
      return mul(...e.args.map(f));
    case 'pow':
      return pow(f(e.base), e.exp);
    case 'call':
      return call(e.fn, f(e.arg));
    case 'call2':
      return call2(e.fn, f(e.a), f(e.b));
    case 'cmp':
      return cmp(e.cmp, f(e.a), f(e.b));
    case 'select':
      return select(f(e.cond), f(e.a), f(e.b));
    case 'sum':
      return sum(e.over, f(e.body));
    case 'reduce':
      return reduce(e.fn, e.over, f(e.body));
    default:
      return assertNever(e);
  }
}

export function children(e: Expr): readonly Expr[] {
  switch (e.op) {
    case 'const':
    case 'size':
    case 'tensor':
    case 'eq':
    case 'ord':
      return [];
    case 'add':
    case 'mul':
      return e.args;
    case 'pow':
      return [e.base];
    case 'call':
      return [e.arg];
    case 'call2':
    case 'cmp':
      return [e.a, e.b];
    case 'select':
      return [e.cond, e.a, e.b];
    case 'sum':
    case 'reduce':
      return [e.body];
    default:
      return assertNever(e);
  }
}

/** Replaces free occurrences of index variables (by idxKey) with index positions, avoiding capture:
 * a sum (or max/min reduce) that binds a name some replacement mentions gets that bound index
 * renamed first. */
export function substitute(e: Expr, map: ReadonlyMap<string, Ix>): Expr {
  if (map.size === 0) return e;
  const mentioned = new Set<string>();
  for (const x of map.values()) mentioned.add(idxKey(x.kind === 'var' ? x.idx : x.t));
  const memo = new Map<number, Expr>();
  const subIx = (x: Ix): Ix => {
    if (x.kind === 'var') return map.get(idxKey(x.idx)) ?? x;
    const t = map.get(idxKey(x.t));
    if (!t) return x;
    if (t.kind !== 'var') return x;
    return { ...x, t: t.idx };
  };
  const go = (x: Expr): Expr => {
    const hit = memo.get(x.id);
    if (hit) return hit;
    let out: Expr;
    if (x.op === 'tensor') out = tensor(x.kind, x.name, x.ix.map(subIx));
    else if (x.op === 'eq') out = eq(subIx(x.a), subIx(x.b));
    else if (x.op === 'ord') out = ord(subIx(x.ix));
    else if (x.op === 'sum' || x.op === 'reduce') {
      const rebuild = (over: readonly Idx[], body: Expr): Expr => (x.op === 'sum' ? sum(over, body) : reduce(x.fn, over, body));
      const shadowed = x.over.some((i) => map.has(idxKey(i)));
      const captures = x.over.some((i) => mentioned.has(idxKey(i)));
      if (shadowed || captures) {
        const inner = new Map(map);
        const over = x.over.map((i) => {
          inner.delete(idxKey(i));
          if (!mentioned.has(idxKey(i))) return i;
          const f = freshIdx(i);
          inner.set(idxKey(i), { kind: 'var', idx: f });
          return f;
        });
        out = rebuild(over, substitute(x.body, inner));
      } else out = rebuild(x.over, go(x.body));
    } else out = mapChildren(x, go);
    memo.set(x.id, out);
    return out;
  };
  return go(e);
}

/** Fresh names are numbered per compilation (see `freshNames`), so they never depend on what the
 * process compiled before; outside any compilation (tests of single passes) the numbering goes on. */
let freshCounter = 0;

/**
 * Runs `fn` — one compilation — with fresh index names numbered from 1, restoring the outer count
 * after. Names stay unique within the compilation, which builds all the nodes its fresh indices can
 * meet; the same model therefore gets the same bound names, and the same plans, every time.
 */
export function freshNames<T>(fn: () => T): T {
  const outer = freshCounter;
  freshCounter = 0;
  try {
    return fn();
  } finally {
    freshCounter = outer;
  }
}

/** A new index variable over the same space, with a name no user index can have. */
export function freshIdx(i: Idx): Idx {
  const base = i.name.replace(/'\d+$/, '');
  return { name: `${base}'${++freshCounter}`, space: i.space };
}

/** Renames every bound index of `e` to a fresh one (used when an expression is duplicated). */
export function renameBound(e: Expr): Expr {
  if (e.op === 'sum' || e.op === 'reduce') {
    const fresh = e.over.map(freshIdx);
    const map = new Map<string, Ix>(e.over.map((i, j) => [idxKey(i), { kind: 'var', idx: fresh[j]! }]));
    const body = renameBound(substitute(e.body, map));
    return e.op === 'sum' ? sum(fresh, body) : reduce(e.fn, fresh, body);
  }
  return mapChildren(e, renameBound);
}

/** Every node of `e`, each once, children before parents. */
export function nodes(e: Expr): Expr[] {
  const seen = new Set<number>();
  const out: Expr[] = [];
  const go = (x: Expr): void => {
    if (seen.has(x.id)) return;
    seen.add(x.id);
    children(x).forEach(go);
    out.push(x);
  };
  go(e);
  return out;
}

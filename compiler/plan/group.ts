// planGroup: plans several expressions together (the terms and gradients of one training step) as
// one list of steps — Halide's schedule for recc. Input: hash-consed IR expressions with their
// output indices and the concrete sizes of their spaces. Output: a GroupPlan whose steps only read
// temps defined before them. The rules (LICM, host sums, split-K, CSR walks with per-tuple steps)
// are listed on `planGroup`; their helpers live in args.ts, canonical.ts, split-k.ts.
import { InternalError } from '../diagnostics/diagnostics.ts';
import { csrOf, type CsrLoop } from '../ir/csr-walk.ts';
import { freeIdx, idx as mkIdx, idxKey, mul, reduce, sum, tensor, v, type Expr, type ExprOf, type Idx, type Ix } from '../ir/nodes.ts';
import type { Sizes, Space } from '../ir/module.ts';
import { printIR } from '../ir/print.ts';
import { chunkSpace, isTupleSpace } from '../ir/spaces.ts';
import { children, mapChildren, substitute } from '../ir/walk.ts';
import { inlineFlops } from '../passes/cost.ts';
import { collectArgs } from './args.ts';
import { canonicalBound, flattenSums, mergeTupleSums, sharedPerTuple } from './canonical.ts';
import { chooseSplit } from './split-k.ts';
import {
  DEFAULT_CHUNK,
  DEFAULT_MAX_INLINE,
  MAX_TEMP_CELLS,
  csrKey,
  type CsrUse,
  type GroupPlan,
  type GroupResult,
  type PlanOptions,
  type PlanIdx,
  type Step,
} from './types.ts';

/**
 * Plans several expressions together (the terms and gradients of one training step): one list of
 * steps, so a sum hoisted by one expression (a Gramian, a per-tuple dot product) is computed once
 * for all, and a per-tuple subexpression that two or more expressions contain (the residual
 * r − U_u·V_i of a loss and of each of its gradients) becomes one per-tuple step they all read.
 */
export function planGroup(
  items: readonly { readonly expr: Expr; readonly out: readonly Idx[] }[],
  spaces: ReadonlyMap<string, Space>,
  sizes: Sizes,
  opts: PlanOptions = {},
): GroupPlan {
  const chunk = opts.chunk ?? DEFAULT_CHUNK;
  const maxInline = opts.maxInline ?? DEFAULT_MAX_INLINE;
  if (!(chunk >= 1 && chunk <= 1024)) throw new InternalError(`plan: chunk ${chunk} outside 1..1024`);
  // every known size goes into the plan: `size` nodes (|user|, B(ratings)) are read by kernels too
  const allSizes = new Map<string, number>(sizes);
  const size = (s: string): number => {
    const sp = spaces.get(s);
    const n = allSizes.get(s) ?? sizes.get(s) ?? (sp?.kind === 'dim' ? sp.size : undefined);
    if (n === undefined) throw new InternalError(`plan: no size for space ${s}`);
    allSizes.set(s, n);
    return n;
  };
  const pidx = (i: Idx): PlanIdx => ({ name: i.name, space: i.space, size: size(i.space) });
  const keysOf = (is: readonly Idx[]): Set<string> => new Set(is.map(idxKey));
  const isDataSpace = (s: string): boolean => {
    const k = spaces.get(s)?.kind;
    return k === 'domain' || isTupleSpace(spaces.get(s));
  };
  const isRelation = (s: string): boolean => isTupleSpace(spaces.get(s));

  const steps: Step[] = [];
  const hoisted = new Map<number, { name: string; out: readonly Idx[] }>();
  const ordered = new Map<string, string>();
  let counter = 0;
  const fresh = (): string => `t${++counter}`;

  const itersOf = (s: ExprOf<'sum'>): number => s.over.reduce((a, i) => a * size(i.space), 1);
  const cellsOf = (is: Iterable<Idx>): number => {
    let n = 1;
    for (const i of is) n *= size(i.space);
    return n;
  };

  /**
   * The temp holding `x` over `o`, planned once per node up to a renaming of its free indices
   * (Σ_u U[u,k]·U[u,l] and Σ_u U[u,k]·U[u,b'] are one Gramian): the key renames o[j] to `%j`.
   */
  const canonOf = (x: Expr, o: readonly Idx[]): Expr =>
    canonicalBound(substitute(x, new Map(o.map((i, j): [string, Ix] => [idxKey(i), { kind: 'var', idx: mkIdx(`%${j}`, i.space) }]))));
  const hoist = (x: Expr, o: readonly Idx[]): Expr => {
    const canon = canonOf(x, o);
    let h = hoisted.get(canon.id);
    if (!h) {
      h = { name: planStep(x, o), out: o };
      hoisted.set(canon.id, h);
    }
    return tensor('temp', h.name, o.map(v));
  };

  /** Replaces hoisted sums in `x` by temp reads; L = bound index keys, inLoop = inside a sum. */
  const rewritten = new Map<string, Expr>();
  const rewrite = (x: Expr, L: ReadonlySet<string>, inLoop: boolean): Expr => {
    const key = `${x.id}|${inLoop ? 1 : 0}|${[...L].sort().join('\u0000')}`;
    let r = rewritten.get(key);
    if (!r) rewritten.set(key, (r = rewriteOnce(x, L, inLoop)));
    return r;
  };
  /** A max/min reduction as a loop in the current kernel. */
  const inlineReduce = (x: ExprOf<'reduce'>, L: ReadonlySet<string>): Expr => reduce(x.fn, x.over, rewrite(x.body, new Set([...L, ...keysOf(x.over)]), true));
  const rewriteOnce = (x: Expr, L: ReadonlySet<string>, inLoop: boolean): Expr => {
    if (x.op === 'reduce') {
      // a max/min is its own step over its free indices whenever that temp fits: computed once, and
      // shared by every expression of a group that holds it up to renaming (the shift m of a
      // logsumexp is read by the term and by each gradient); never split nor walked through a CSR
      // index: an inline loop of any length is exact
      return cellsOf(freeIdx(x).values()) <= MAX_TEMP_CELLS ? hoist(x, [...freeIdx(x).values()]) : inlineReduce(x, L);
    }
    if (x.op !== 'sum') {
      // LICM for transcendental calls: exp(f(t, s)) inside a loop that f does not depend on (the
      // embedding dimension of a gradient) is computed once per (t, s) as a temp, not once per loop step
      if (inLoop && x.op === 'call' && (x.fn === 'exp' || x.fn === 'log' || x.fn === 'sigmoid' || x.fn === 'softplus')) {
        const free = freeIdx(x);
        if (free.size > 0 && free.size < L.size && cellsOf(free.values()) <= MAX_TEMP_CELLS && [...free.values()].some((i) => isDataSpace(i.space))) {
          return hoist(x, [...free.values()]);
        }
      }
      return mapChildren(x, (c) => rewrite(c, L, inLoop));
    }
    const free = freeIdx(x);
    for (const k of free.keys()) if (!L.has(k)) throw new InternalError(`plan: index ${k} is not bound`);
    const csr = csrOf(x, L);
    const fits = cellsOf(free.values()) <= MAX_TEMP_CELLS;
    const doHoist =
      (free.size < L.size && fits) ||
      L.size === 0 ||
      (!csr && itersOf(x) > maxInline) ||
      (inLoop && fits && x.over.some((i) => isDataSpace(i.space)));
    if (!doHoist) {
      // a sum another expression of the group already has as a temp (up to renaming) is read, not
      // recomputed: a logsumexp's Σ exp in its term and inside the sigmoid of each gradient
      const known = hoisted.get(canonOf(x, [...free.values()]).id);
      if (known) return tensor('temp', known.name, [...free.values()].map(v));
      const inner = new Set([...L, ...keysOf(x.over)]);
      if (csr) return walkSum(x, csr, inner);
      return sum(x.over, rewrite(x.body, inner, true));
    }
    return hoist(x, [...free.values()]);
  };

  /** Rule 5: a CSR walk reads the per-tuple factor of its body from a CSR-ordered temp. */
  const walkSum = (x: ExprOf<'sum'>, c: CsrLoop, inner: ReadonlySet<string>): Expr => {
    const tk = idxKey(c.t);
    const factors = x.body.op === 'mul' ? x.body.args : [x.body];
    const per: Expr[] = [];
    const consts: Expr[] = [];
    const rest: Expr[] = [];
    for (const f of factors) {
      const fk = [...freeIdx(f).keys()];
      if (f.op === 'eq') rest.push(f);
      else if (fk.length === 0 && (f.op === 'const' || f.op === 'size' || f.op === 'tensor')) consts.push(f);
      else if (fk.length > 0 && fk.every((k) => k === tk)) per.push(f);
      else rest.push(f);
    }
    if (per.length === 0) return sum(x.over, rewrite(x.body, inner, true));
    const P = mul(...consts, ...per);
    // elementwise over reads at [t]: computed in CSR order directly; otherwise a natural-order
    // step (shared by every CSR that reads it) and a copy into CSR order
    const direct = (y: Expr): boolean =>
      y.op === 'tensor' ? y.ix.every((i) => i.kind === 'var' && idxKey(i.idx) === tk) : y.op !== 'sum' && y.op !== 'reduce' && y.op !== 'eq' && children(y).every(direct);
    const tSet = new Set([tk]);
    const src = direct(P) ? P : hoist(P, [c.t]);
    const key = `${src.id}|${csrKey(c.rel, c.col)}`;
    let name = ordered.get(key);
    if (!name) {
      name = push({ kind: 'kernel', expr: rewrite(src, tSet, false), out: [pidx(c.t)], order: { rel: c.rel, col: c.col, domain: c.domain } });
      ordered.set(key, name);
    }
    return sum(x.over, mul(...rest.map((f) => rewrite(f, inner, true)), tensor('temp', name, [v(c.t)])));
  };

  /** Plans the steps computing `x` over `o`; returns the name of the temp holding it. */
  const planStep = (x: Expr, o: readonly Idx[]): string => {
    const L = keysOf(o);
    if (x.op === 'reduce') return push({ kind: 'kernel', expr: inlineReduce(x, L), out: o.map(pidx) });
    if (o.length === 0 && x.op !== 'sum') {
      const body = rewrite(x, L, false);
      return push({ kind: 'host-eval', expr: body, out: [] });
    }
    if (x.op !== 'sum') return push({ kind: 'kernel', expr: rewrite(x, L, false), out: o.map(pidx) });
    const walk = csrOf(x, L);
    if (walk) return push({ kind: 'kernel', expr: walkSum(x, walk, new Set([...L, ...keysOf(x.over)])), out: o.map(pidx) });
    const body = rewrite(x.body, new Set([...L, ...keysOf(x.over)]), true);
    const s = sum(x.over, body);
    if (s.op !== 'sum') return push({ kind: 'kernel', expr: s, out: o.map(pidx) });
    if (csrOf(s, L) || itersOf(s) <= maxInline) return push({ kind: 'kernel', expr: s, out: o.map(pidx) });
    // split-K: partial sums over boxes of the iteration space, then a reduction over the boxes
    const split = chooseSplit(s, chunk, pidx);
    const partName = fresh();
    const chunks = chunkSpace(partName);
    const nChunks = split.dims.reduce((a, d) => a * d.chunks, 1);
    allSizes.set(chunks, nChunks);
    const ci = mkIdx('c', chunks);
    const chunkIdx = pidx(ci);
    push({ kind: 'kernel', expr: s, out: [...o.map(pidx), chunkIdx], split: { ...split, chunkIdx } }, partName);
    if (o.length === 0) return push({ kind: 'host-sum', expr: tensor('temp', partName, [v(ci)]), out: [], of: partName });
    return planStep(sum([ci], tensor('temp', partName, [...o.map(v), v(ci)])), o);
  };

  const orderOf = (temp: string): CsrUse | undefined => steps.find((p) => p.name === temp)?.order;

  const push = (s: Omit<Step, 'name' | 'text' | 'cells' | 'args' | 'csr' | 'cost'>, name = fresh()): string => {
    const cells = s.out.reduce((a, i) => a * i.size, 1);
    const bound = new Set(s.out.filter((i) => !s.split || i !== s.split.chunkIdx).map((i) => idxKey(i)));
    const { args, csr } = s.kind === 'kernel' ? collectArgs(s.expr, bound, s.split, size, orderOf, s.order && s.out[0] ? { t: s.out[0], ...s.order } : undefined) : { args: [], csr: [] };
    let perCell: number;
    if (s.kind === 'host-sum') perCell = 0;
    else if (s.split && s.expr.op === 'sum') {
      const inner = new Set([...bound, ...s.expr.over.map(idxKey)]);
      perCell = s.split.dims.reduce((a, d) => a * d.chunk, 1) * (inlineFlops(s.expr.body, size, inner) + 1);
    } else perCell = inlineFlops(s.expr, size, bound);
    const flops = s.kind === 'host-sum' ? (steps.find((p) => p.name === s.of)?.cells ?? 0) : cells * perCell;
    steps.push({ ...s, name, text: printIR(s.expr), cells, args, csr, cost: { flops, bytes: 4 * cells } });
    return name;
  };

  // per-tuple subexpressions that two or more of the expressions contain: one step each
  // sums over one relation's tuples added together: one pass (mergeTupleSums)
  const roots = items.map((it) => mergeTupleSums(flattenSums(it.expr), isRelation));
  const shared = sharedPerTuple(roots, isRelation);
  const substMemo = new Map<number, Expr>();
  const subst = (x: Expr): Expr => {
    let r = substMemo.get(x.id);
    if (r) return r;
    if (shared.has(x.id)) r = hoist(x, [...freeIdx(x).values()]);
    else r = mapChildren(x, subst);
    substMemo.set(x.id, r);
    return r;
  };

  const results: GroupResult[] = items.map((it, j) => {
    const root = shared.size ? subst(roots[j]!) : roots[j]!;
    for (const k of freeIdx(root).keys()) if (!keysOf(it.out).has(k)) throw new InternalError(`plan: free index ${k} is not an output index`);
    const result = planStep(root, it.out);
    return { source: printIR(it.expr), out: it.out.map(pidx), result, scalar: it.out.length === 0 };
  });
  const flops = steps.reduce((a, s) => a + s.cost.flops, 0);
  const bytes = steps.reduce((a, s) => a + s.cost.bytes, 0);
  return {
    version: 1,
    // own properties only (a space may be named `constructor`); read with Object.hasOwn
    sizes: Object.assign(Object.create(null) as Record<string, number>, Object.fromEntries([...allSizes].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))),
    steps,
    results,
    cost: { flops, bytes },
  };
}

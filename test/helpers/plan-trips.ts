// An instrument for the cost model: the FLOPs a plan's kernels execute on actual data, counted
// loop trip by loop trip. Every kernel step is walked cell by cell as the emitter runs it — a sum
// the planner walks through a CSR index (`csrOf` with the step's bound indices) visits the actual
// tuples of its key's segment in the env's id columns (not the average |R|/|domain| the cost model
// assumes), a split step's top-level sum visits its whole space across its chunks — and every
// visited iteration adds the operations of its body (OP_FLOPS, the cost model's own weights).
// Deterministic: no timing. A subexpression whose count cannot depend on an index's value (no δ
// mentions it) is counted once and multiplied, so the walk stays fast on a training step.
import { InternalError } from '../../compiler/diagnostics/diagnostics.ts';
import { commonDeltas, csrOf } from '../../compiler/ir/csr-walk.ts';
import type { Env } from '../../compiler/ir/interp.ts';
import { freeIdx, idxKey, type Expr, type ExprOf, type Idx, type Ix } from '../../compiler/ir/nodes.ts';
import { children } from '../../compiler/ir/walk.ts';
import { opFlops } from '../../compiler/passes/cost.ts';
import type { GroupPlan, Step } from '../../compiler/plan/plan.ts';

/**
 * Index keys whose values can change how many trips `e` makes: the free indices of `e` that a
 * possible CSR key reads — a side of a δ common to the body of some loop inside `e` (`commonDeltas`,
 * the candidates `csrOf` picks its key from). Other δs are evaluated, not walked.
 */
function makeDeps(): (e: Expr) => ReadonlySet<string> {
  const memo = new Map<number, ReadonlySet<string>>();
  const deps = (e: Expr): ReadonlySet<string> => {
    const hit = memo.get(e.id);
    if (hit) return hit;
    const out = new Set<string>();
    const free = freeIdx(e);
    const see = (x: Ix): void => {
      const k = idxKey(x.kind === 'var' ? x.idx : x.t);
      if (free.has(k)) out.add(k);
    };
    if (e.op === 'sum')
      for (const d of commonDeltas(e.body)) {
        see(d.a);
        see(d.b);
      }
    for (const c of children(e)) for (const k of deps(c)) if (free.has(k)) out.add(k);
    memo.set(e.id, out);
    return out;
  };
  return deps;
}

export interface TripCount {
  /** FLOPs executed, by the cost model's per-op weights */
  readonly flops: number;
  /** per step: name → FLOPs */
  readonly steps: ReadonlyMap<string, number>;
}

/** Counts the FLOPs the kernels and host steps of `plan` execute on `env`'s data. */
export function countPlanFlops(plan: Pick<GroupPlan, 'steps' | 'sizes'>, env: Env): TripCount {
  const size = (s: string): number => {
    const n = Object.hasOwn(plan.sizes, s) ? plan.sizes[s] : env.sizes.get(s);
    if (n === undefined) throw new InternalError(`trips: no size for ${s}`);
    return n;
  };
  const deps = makeDeps();
  // CSR segments: per relation column, the tuples holding each id
  const csrs = new Map<string, { offsets: Int32Array; perm: Int32Array }>();
  const csr = (rel: string, col: string, domain: string): { offsets: Int32Array; perm: Int32Array } => {
    const key = `${rel}.${col}`;
    let c = csrs.get(key);
    if (!c) {
      const ids = env.ids.get(key);
      if (!ids) throw new InternalError(`trips: no id column ${key}`);
      const n = size(domain);
      const offsets = new Int32Array(n + 1);
      for (let t = 0; t < ids.length; t++) offsets[ids[t]! + 1]!++;
      for (let a = 0; a < n; a++) offsets[a + 1]! += offsets[a]!;
      const fill = offsets.slice(0, n);
      const perm = new Int32Array(ids.length);
      for (let t = 0; t < ids.length; t++) perm[fill[ids[t]!]!++] = t;
      c = { offsets, perm };
      csrs.set(key, c);
    }
    return c;
  };
  const valueOf = (x: Ix, at: ReadonlyMap<string, number>): number => {
    if (x.kind === 'var') return at.get(idxKey(x.idx)) ?? 0;
    const ids = env.ids.get(`${x.rel}.${x.col}`);
    if (!ids) throw new InternalError(`trips: no id column ${x.rel}.${x.col}`);
    return ids[at.get(idxKey(x.t)) ?? 0]!;
  };

  // a loop-free subtree costs the same wherever it is evaluated
  const flat = new Map<number, number | null>();
  const loopFree = (e: Expr): number | null => {
    let n = flat.get(e.id);
    if (n !== undefined) return n;
    n = e.op === 'sum' || e.op === 'reduce' ? null : opFlops(e);
    for (const c of children(e)) {
      if (n === null) break;
      const k = loopFree(c);
      n = k === null ? null : n + k;
    }
    flat.set(e.id, n);
    return n;
  };
  // bound sets, interned: a memo key carries a number, not the set
  const boundIds = new Map<string, number>();
  const boundId = (b: ReadonlySet<string>): number => {
    const k = [...b].sort().join('\u0001');
    let id = boundIds.get(k);
    if (id === undefined) boundIds.set(k, (id = boundIds.size));
    return id;
  };
  const innerSets = new Map<string, ReadonlySet<string>>();
  const innerOf = (e: ExprOf<'sum' | 'reduce'>, bound: ReadonlySet<string>): ReadonlySet<string> => {
    const k = `${boundId(bound)}|${e.id}`;
    let s = innerSets.get(k);
    if (!s) innerSets.set(k, (s = new Set([...bound, ...e.over.map(idxKey)])));
    return s;
  };
  // counts that cannot depend on the binding (no CSR key reads a free index) are memoized
  const memo = new Map<string, number>();
  /** FLOPs of one evaluation of `e` with `at` binding the indices in `bound` (`at` is shared and mutated). */
  const count = (e: Expr, bound: ReadonlySet<string>, at: Map<string, number>, splitTop: boolean): number => {
    const f = loopFree(e);
    if (f !== null) return f;
    const d = deps(e);
    const key = d.size === 0 ? `${e.id}|${splitTop ? 1 : 0}|${boundId(bound)}` : undefined;
    const hit = key === undefined ? undefined : memo.get(key);
    if (hit !== undefined) return hit;
    let n: number;
    if (e.op === 'sum' || e.op === 'reduce') {
      const inner = innerOf(e, bound);
      const walk = e.op === 'sum' && !splitTop ? csrOf(e, bound) : undefined;
      const bodyDeps = deps(e.body);
      // the loop nest: one index at a time; an index no CSR key of the body reads is multiplied, not iterated
      const nest = (j: number): number => {
        if (j === e.over.length) return count(e.body, inner, at, false) + opFlops(e);
        const i = e.over[j]!;
        const k = idxKey(i);
        let seg: Int32Array | undefined;
        let len: number;
        if (walk && k === idxKey(walk.t)) {
          const c = csr(walk.rel, walk.col, walk.domain);
          const a = valueOf(walk.key, at);
          seg = c.perm.subarray(c.offsets[a]!, c.offsets[a + 1]!);
          len = seg.length;
        } else len = size(i.space);
        if (len === 0) return 0;
        if (!bodyDeps.has(k)) {
          at.set(k, seg ? seg[0]! : 0);
          return len * nest(j + 1);
        }
        let total = 0;
        for (let r = 0; r < len; r++) {
          at.set(k, seg ? seg[r]! : r);
          total += nest(j + 1);
        }
        return total;
      };
      n = nest(0);
    } else n = opFlops(e) + children(e).reduce((a, c) => a + count(c, bound, at, false), 0);
    if (key !== undefined) memo.set(key, n);
    return n;
  };

  /** A kernel step: every output cell (a split step's chunks together make its whole sum). */
  const kernel = (s: Step): number => {
    const out: Idx[] = s.out.filter((i) => !s.split || i !== s.split.chunkIdx).map((i) => ({ name: i.name, space: i.space }));
    const bound = new Set(out.map(idxKey));
    const d = deps(s.expr);
    const m = new Map<string, number>();
    const cells = (j: number): number => {
      if (j === out.length) return count(s.expr, bound, m, s.split !== undefined);
      const i = out[j]!;
      const k = idxKey(i);
      const len = size(i.space);
      if (!d.has(k)) {
        m.set(k, 0);
        return len * cells(j + 1);
      }
      let total = 0;
      for (let r = 0; r < len; r++) {
        m.set(k, r);
        total += cells(j + 1);
      }
      return total;
    };
    return cells(0);
  };

  const perStep = new Map<string, number>();
  for (const s of plan.steps) {
    const n = s.kind === 'kernel' ? kernel(s) : s.kind === 'host-sum' ? (plan.steps.find((p) => p.name === s.of)?.cells ?? 0) : count(s.expr, new Set(), new Map<string, number>(), false);
    perStep.set(s.name, n);
  }
  return { flops: [...perStep.values()].reduce((a, b) => a + b, 0), steps: perStep };
}

// How each term of a model splits across the ranks of a torch.distributed run, decided from the
// rewritten IR. A term is read as a sum of leaves, each with constant coefficients (consts, sizes,
// hypers): Σ_leaf Π coef · leaf. Every rank holds a slice of each step's tuples (its shard of every
// relation, and the entries of its rows) and a slice of every domain's ids. Then:
//   local      a leaf that is a Σ over a relation's tuples, or a Σ over a domain that reads no tuple
//              data: each rank sums its shard; the leaf is the sum of the ranks' values (linear), so
//              the sum of their gradients is the leaf's gradient.
//   global     any other leaf that reads tuple data only inside closed partial sums (sums over a
//              relation or a domain whose free indices are dims: Gramians UᵀU, VᵀV): each such sum is
//              computed per rank and all-reduced (rt.allsum: the global value forward, the local
//              partial's gradient backward), and every param read outside them is replicated with
//              1/W of its gradient (rt.rep). The leaf f(G₁…, θ) then has the single-process value on
//              every rank, and Σ_ranks ∇ = Σ_j ∂f/∂G_j · Σ_r ∇G_j^r + W · (1/W) ∂f/∂θ = ∇f.
//   replicated a leaf that reads tuple data outside such sums: every rank computes it on the whole
//              step's data and scales it by 1/W, so the ranks' gradients again sum to its gradient.
// DDP averages gradients over W ranks, so the trainer multiplies each rank's objective by W.
import { freeIdx, type Expr } from '../../ir/nodes.ts';
import type { Space } from '../../ir/spaces.ts';
import { children } from '../../ir/walk.ts';

export type PartKind = 'local' | 'global' | 'replicated';

export interface Leaf {
  readonly coefs: readonly Expr[];
  readonly leaf: Expr;
  readonly kind: PartKind;
  /** sums whose domain indices take this rank's shard */
  readonly shard: ReadonlySet<number>;
  /** closed partial sums all-reduced across ranks */
  readonly allsum: ReadonlySet<number>;
}

const isTupleSpace = (spaces: ReadonlyMap<string, Space>, s: string): boolean => {
  const k = spaces.get(s)?.kind;
  return k === 'relation' || k === 'entries';
};

/** A coefficient: no param, no data, no free index, no sum (consts, sizes, hypers and their arithmetic). */
function isCoef(e: Expr): boolean {
  if (freeIdx(e).size) return false;
  const ok = (x: Expr): boolean => {
    if (x.op === 'sum' || x.op === 'reduce' || x.op === 'eq' || x.op === 'ord') return false;
    if (x.op === 'tensor') return x.kind === 'hyper';
    return children(x).every(ok);
  };
  return ok(e);
}

function linearLeaves(e: Expr, coefs: readonly Expr[], out: { coefs: readonly Expr[]; leaf: Expr }[]): void {
  if (e.op === 'add') {
    e.args.forEach((a) => linearLeaves(a, coefs, out));
    return;
  }
  if (e.op === 'mul') {
    const rest = e.args.filter((a) => !isCoef(a));
    if (rest.length === 1) {
      linearLeaves(rest[0]!, [...coefs, ...e.args.filter(isCoef)], out);
      return;
    }
  }
  out.push({ coefs, leaf: e });
}

/** Does `e` read tuple data (a data column or a gather over a relation's tuples)? */
function readsTuples(e: Expr, spaces: ReadonlyMap<string, Space>): boolean {
  if (e.op === 'tensor') {
    if (e.ix.some((x) => x.kind === 'gather' && isTupleSpace(spaces, x.t.space))) return true;
    if (e.kind === 'data' && e.ix.some((x) => x.kind === 'var' && isTupleSpace(spaces, x.idx.space))) return true;
  }
  if (e.op === 'eq' || e.op === 'ord') {
    const xs = e.op === 'eq' ? [e.a, e.b] : [e.ix];
    if (xs.some((x) => (x.kind === 'gather' ? isTupleSpace(spaces, x.t.space) : isTupleSpace(spaces, x.idx.space)))) return true;
  }
  if (e.op === 'sum' || e.op === 'reduce') if (e.over.some((i) => isTupleSpace(spaces, i.space))) return true;
  return children(e).some((c) => readsTuples(c, spaces));
}

/** The term's leaves, each with how it is computed across ranks. */
export function shardTerm(e: Expr, spaces: ReadonlyMap<string, Space>): Leaf[] {
  const leaves: { coefs: readonly Expr[]; leaf: Expr }[] = [];
  linearLeaves(e, [], leaves);
  return leaves.map(({ coefs, leaf }): Leaf => {
    const none = new Set<number>();
    if (leaf.op === 'sum' && leaf.over.some((i) => isTupleSpace(spaces, i.space))) return { coefs, leaf, kind: 'local', shard: none, allsum: none };
    if (leaf.op === 'sum' && leaf.over.some((i) => spaces.get(i.space)?.kind === 'domain') && !readsTuples(leaf, spaces))
      return { coefs, leaf, kind: 'local', shard: new Set([leaf.id]), allsum: none };
    // closed partial sums: the outermost sums over a relation or domain whose free indices are dims
    const shard = new Set<number>();
    const allsum = new Set<number>();
    let tuplesOutside = false;
    const walk = (x: Expr): void => {
      if (x.op === 'sum' && x.over.some((i) => isTupleSpace(spaces, i.space) || spaces.get(i.space)?.kind === 'domain') && [...freeIdx(x).values()].every((i) => spaces.get(i.space)?.kind === 'dim')) {
        allsum.add(x.id);
        if (x.over.some((i) => spaces.get(i.space)?.kind === 'domain') && !readsTuples(x, spaces)) shard.add(x.id);
        else if (!x.over.some((i) => isTupleSpace(spaces, i.space))) tuplesOutside ||= readsTuples(x, spaces);
        return;
      }
      const leafRead = x.op === 'tensor' || x.op === 'eq' || x.op === 'ord';
      const overTuples = (x.op === 'sum' || x.op === 'reduce') && x.over.some((i) => isTupleSpace(spaces, i.space));
      if ((leafRead && readsTuples(x, spaces)) || overTuples) {
        tuplesOutside = true;
        return;
      }
      children(x).forEach(walk);
    };
    walk(leaf);
    if (tuplesOutside) return { coefs, leaf, kind: 'replicated', shard: none, allsum: none };
    return { coefs, leaf, kind: 'global', shard, allsum };
  });
}

// One IR expression → Python statements over torch tensors with named axes. Every value is a tensor
// whose axes are the expression's free index variables (in a known order), so an IR node maps to one
// torch call: a Σ of a product is one torch.einsum over its factors — the nesting of sums is the
// contraction path recc's `contract` pass chose (a Gramian is two d×d einsums and a third for the
// trace) — a gather `R.c[t]` is an index_select, and a δ between a gather and an index is an
// index_add (a segment sum) followed by an index_select, never a comparison matrix. Elementwise
// functions broadcast. Nothing is differentiated here: torch autograd runs over these forms.
// Names come from PyNames (names.ts), numbers from pyNumber: nothing else of the model reaches the text.
import { InternalError } from '../../diagnostics/diagnostics.ts';
import { freeIdx, idxKey, type Expr, type Idx, type Ix } from '../../ir/nodes.ts';
import type { Space } from '../../ir/spaces.ts';
import { columnKey } from '../../ir/spaces.ts';
import { PyNames, pyNumber } from './names.ts';

interface Val {
  readonly name: string;
  /** idxKeys of the value's axes, in order */
  readonly axes: readonly string[];
}

export interface EmitOptions {
  readonly spaces: ReadonlyMap<string, Space>;
  readonly names: PyNames;
  /** sums (node ids) whose domain indices run over this rank's shard (SH) instead of the whole domain */
  readonly shard?: ReadonlySet<number>;
  /** closed partial sums (node ids) that are all-reduced across ranks (value global, gradient local) */
  readonly allsum?: ReadonlySet<number>;
  /** a global part (shard.ts): param reads outside the all-reduced sums keep 1/W of their gradient (rt.rep) */
  readonly replicate?: boolean;
}

const UNARY: Record<string, string> = {
  exp: 'torch.exp',
  log: 'torch.log',
  sqrt: 'torch.sqrt',
  abs: 'torch.abs',
  sigmoid: 'torch.sigmoid',
  logsigmoid: 'rt.logsigmoid',
  softplus: 'rt.softplus',
  relu: 'torch.relu',
  tanh: 'torch.tanh',
  step: 'rt.step',
  sign: 'torch.sign',
};

const CMP: Record<string, string> = { '<': '<', '<=': '<=', '>': '>', '>=': '>=', '==': '==', '!=': '!=' };

/** Emits statements computing `e` over its free indices `out` (in that order); returns the final temp's name. */
export class TorchEmitter {
  readonly lines: string[] = [];
  private tmp = 0;
  private readonly memo = new Map<string, Val>();
  private readonly idxOf = new Map<string, Idx>();
  /** idxKeys bound by a sharded sum around the node being emitted */
  private sharded = new Set<string>();
  /** how many all-reduced sums enclose the node being emitted */
  private inAllsum = 0;

  constructor(private readonly opts: EmitOptions) {}

  /** Emits `e` and permutes it to `out`; returns the Python expression of the result. */
  emitTo(e: Expr, out: readonly Idx[]): string {
    const v = this.emit(e);
    out.forEach((i) => this.idxOf.set(idxKey(i), i));
    const keys = out.map(idxKey);
    for (const k of v.axes) if (!keys.includes(k)) throw new InternalError(`torch codegen: free index ${k} not in the output`);
    if (v.axes.length === keys.length) return this.align(v, keys, true);
    // a form that does not depend on some output index (score(u, i) = b[i]) is the same along it
    return `${this.align(v, keys)}.expand(${this.shapeOf(keys)})`;
  }

  private fresh(): string {
    return `v${++this.tmp}`;
  }

  private let(code: string, axes: readonly string[]): Val {
    const name = this.fresh();
    this.lines.push(`${name} = ${code}  # axes: ${axes.length ? axes.map((k) => this.idxOf.get(k)?.name ?? k).map(axisLabel).join(', ') : 'scalar'}`);
    return { name, axes };
  }

  private size(space: string): string {
    return `S["${this.opts.names.name('size', space)}"]`;
  }

  private isDomain(space: string): boolean {
    return this.opts.spaces.get(space)?.kind === 'domain';
  }

  /** The positions an index variable takes: its shard, an evaluation block, or 0..n−1. */
  private range(i: Idx): string {
    const n = this.opts.names.name('size', i.space);
    if (!this.isDomain(i.space)) return `torch.arange(S["${n}"], device=rt.DEVICE)`;
    return `rt.ar(S, ${this.sharded.has(idxKey(i)) ? 'SH' : 'R'}, "${n}")`;
  }

  /** The number of positions an index variable takes here (a shard's or a block's count for a domain). */
  private count(i: Idx): string {
    const n = this.opts.names.name('size', i.space);
    if (!this.isDomain(i.space)) return `S["${n}"]`;
    return `rt.cnt(S, ${this.sharded.has(idxKey(i)) ? 'SH' : 'R'}, "${n}")`;
  }

  private ids(x: Extract<Ix, { kind: 'gather' }>): string {
    return `I["${this.opts.names.name('ids', columnKey(x.rel, x.col))}"]`;
  }

  /** `v` permuted and unsqueezed to broadcast against axes `to` (a superset of v's axes, or exactly them when `exact`). */
  private align(v: Val, to: readonly string[], exact = false): string {
    if (exact && v.axes.length !== to.length) throw new InternalError('torch codegen: align to a different rank');
    const present = to.filter((k) => v.axes.includes(k));
    if (present.length !== v.axes.length) throw new InternalError('torch codegen: align drops an axis');
    let code = v.name;
    const perm = present.map((k) => v.axes.indexOf(k));
    if (perm.some((p, j) => p !== j)) code = `${code}.permute(${perm.join(', ')})`;
    if (present.length !== to.length && present.length > 0) code = `${code}[${to.map((k) => (v.axes.includes(k) ? ':' : 'None')).join(', ')}]`;
    return code;
  }

  private union(vs: readonly Val[]): string[] {
    const out: string[] = [];
    for (const v of vs) for (const k of v.axes) if (!out.includes(k)) out.push(k);
    return out;
  }

  private note(e: Expr): void {
    freeIdx(e).forEach((i, k) => this.idxOf.set(k, i));
  }

  emit(e: Expr): Val {
    this.note(e);
    const shardedFree = [...freeIdx(e).keys()].filter((k) => this.sharded.has(k)).sort();
    const key = `${e.id}|${shardedFree.join(',')}|${this.inAllsum > 0 ? 1 : 0}`;
    const hit = this.memo.get(key);
    if (hit) return hit;
    const v = this.emitNode(e);
    this.memo.set(key, v);
    return v;
  }

  private emitNode(e: Expr): Val {
    switch (e.op) {
      case 'const':
        return this.let(`rt.C(${pyNumber(e.value)})`, []);
      case 'size':
        return this.let(`rt.C(${this.size(e.space)})`, []);
      case 'tensor':
        return this.tensor(e);
      case 'add': {
        const vs = e.args.map((a) => this.emit(a));
        const axes = this.union(vs);
        return this.let(vs.map((v) => this.align(v, axes)).join(' + '), axes);
      }
      case 'mul':
        return this.product(e.args.map((a) => this.emit(a)));
      case 'pow': {
        const b = this.emit(e.base);
        return this.let(e.exp === 2 ? `${b.name} * ${b.name}` : `${b.name} ** ${pyNumber(e.exp)}`, b.axes);
      }
      case 'call': {
        const a = this.emit(e.arg);
        return this.let(`${UNARY[e.fn]}(${a.name})`, a.axes);
      }
      case 'call2': {
        const a = this.emit(e.a);
        const b = this.emit(e.b);
        const axes = this.union([a, b]);
        return this.let(`torch.${e.fn === 'max' ? 'maximum' : 'minimum'}(${this.align(a, axes)}, ${this.align(b, axes)})`, axes);
      }
      case 'cmp': {
        const a = this.emit(e.a);
        const b = this.emit(e.b);
        const axes = this.union([a, b]);
        return this.let(`(${this.align(a, axes)} ${CMP[e.cmp]} ${this.align(b, axes)}).to(rt.DTYPE)`, axes);
      }
      case 'select': {
        const c = this.emit(e.cond);
        const a = this.emit(e.a);
        const b = this.emit(e.b);
        const axes = this.union([c, a, b]);
        const full = (v: Val): string => (v.axes.length === axes.length ? this.align(v, axes) : `${this.align(v, axes)}.expand(${this.shapeOf(axes)})`);
        return this.let(`torch.where(${full(c)} != 0, ${full(a)}, ${full(b)})`, axes);
      }
      case 'eq': {
        const a = this.position(e.a);
        const b = this.position(e.b);
        const axes = this.union([a, b]);
        return this.let(`(${this.align(a, axes)} == ${this.align(b, axes)}).to(rt.DTYPE)`, axes);
      }
      case 'ord': {
        const p = this.position(e.ix);
        return this.let(`${p.name}.to(rt.DTYPE)`, p.axes);
      }
      case 'sum':
        return this.sum(e);
      case 'reduce':
        return this.reduce(e);
    }
  }

  /** The ids an index position holds, as an integer tensor over its index variable. */
  private position(x: Ix): Val {
    if (x.kind === 'var') return this.let(this.range(x.idx), [idxKey(x.idx)]);
    this.idxOf.set(idxKey(x.t), x.t);
    return this.let(this.ids(x), [idxKey(x.t)]);
  }

  private shapeOf(axes: readonly string[]): string {
    return axes.map((k) => this.count(this.idxOf.get(k)!)).join(', ');
  }

  /**
   * A tensor read: gathers `R.c[t]` (grouped by their tuple index: several on one t index jointly)
   * and domain indices restricted to a shard or block (index_select); other index variables take
   * the whole axis.
   */
  private tensor(e: Extract<Expr, { op: 'tensor' }>): Val {
    const kind = e.kind === 'param' ? 'param' : e.kind === 'hyper' ? 'hyper' : 'data';
    if (e.kind === 'temp') throw new InternalError('torch codegen: planner temps never reach the emitter');
    let code = `T["${this.opts.names.name(kind, e.name)}"]`;
    if (kind === 'param' && this.opts.replicate && this.inAllsum === 0) code = `rt.rep(${code})`;
    // axes[j]: the axis key at position j of the current value
    let axes = e.ix.map((x) => (x.kind === 'var' ? idxKey(x.idx) : `@${idxKey(x.t)}`));
    // restricted domain variables
    e.ix.forEach((x, p) => {
      if (x.kind === 'var' && this.isDomain(x.idx.space)) {
        code = `rt.rx(${code}, ${p}, ${this.sharded.has(idxKey(x.idx)) ? 'SH' : 'R'}, "${this.opts.names.name('size', x.idx.space)}")`;
      }
    });
    // gathers, one tuple index at a time: its positions move to the front and are indexed together
    const gathers = new Map<string, { pos: number[]; ids: string[] }>();
    e.ix.forEach((x, p) => {
      if (x.kind !== 'gather') return;
      this.idxOf.set(idxKey(x.t), x.t);
      const g = gathers.get(idxKey(x.t)) ?? { pos: [], ids: [] };
      g.pos.push(p);
      g.ids.push(this.ids(x));
      gathers.set(idxKey(x.t), g);
    });
    for (const [t, g] of gathers) {
      // the current positions of this t's gather axes (still marked `@t`)
      const cur = axes.flatMap((a, k) => (a === `@${t}` ? [k] : []));
      if (cur.length === 1 && cur[0] === 0) code = `${code}.index_select(0, ${g.ids[0]})`;
      else code = `rt.gather(${code}, (${cur.join(', ')},), (${g.ids.join(', ')},))`;
      axes = [t, ...axes.filter((a) => a !== `@${t}`)];
    }
    // a variable repeated in one access (W[a, a]) reads the diagonal
    let v = this.let(code, axes);
    for (;;) {
      const dup = v.axes.findIndex((a, k) => v.axes.indexOf(a) !== k);
      if (dup < 0) break;
      const first = v.axes.indexOf(v.axes[dup]!);
      v = this.let(`torch.diagonal(${v.name}, 0, ${first}, ${dup})`, [...v.axes.filter((_, k) => k !== first && k !== dup), v.axes[dup]!]);
    }
    return v;
  }

  /** A product of values without summation (elementwise, broadcast). */
  private product(vs: readonly Val[]): Val {
    const scalars = vs.filter((v) => v.axes.length === 0);
    const tensors = vs.filter((v) => v.axes.length > 0);
    const axes = this.union(tensors);
    let code: string;
    if (tensors.length <= 1) code = tensors.length ? tensors[0]!.name : '';
    else code = this.einsum(tensors, axes);
    const parts = [...(code ? [code] : []), ...scalars.map((s) => s.name)];
    return this.let(parts.join(' * ') || 'rt.C(1.0)', axes);
  }

  private einsum(vs: readonly Val[], out: readonly string[]): string {
    const letters = new Map<string, string>();
    const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
    const letter = (k: string): string => {
      let l = letters.get(k);
      if (!l) {
        l = alphabet[letters.size];
        if (!l) throw new InternalError('torch codegen: more than 52 indices in one einsum');
        letters.set(k, l);
      }
      return l;
    };
    const spec = `${vs.map((v) => v.axes.map(letter).join('')).join(',')}->${out.map(letter).join('')}`;
    return `torch.einsum("${spec}", ${vs.map((v) => v.name).join(', ')})`;
  }

  /**
   * Σ_over Π factors: δ factors first (each a segment sum or a gather, see `delta`), then one einsum
   * of what is left, with the summed indices that no factor mentions counted as a size.
   */
  private sum(e: Extract<Expr, { op: 'sum' }>): Val {
    const shard = this.opts.shard?.has(e.id) ?? false;
    const reduced = this.opts.allsum?.has(e.id) ?? false;
    if (reduced) this.inAllsum++;
    const saved = this.sharded;
    const over = e.over.map(idxKey);
    e.over.forEach((i) => this.idxOf.set(idxKey(i), i));
    // an inner binder of a name hides an outer sharded one; a sharded sum shards its domain indices
    this.sharded = new Set([...saved].filter((k) => !over.includes(k)));
    if (shard) e.over.filter((i) => this.isDomain(i.space)).forEach((i) => this.sharded.add(idxKey(i)));
    try {
      const factors = e.body.op === 'mul' ? e.body.args : [e.body];
      let vals = factors.filter((f) => f.op !== 'eq').map((f) => this.emit(f));
      let remaining = [...over];
      for (const d of factors.filter((f): f is Extract<Expr, { op: 'eq' }> => f.op === 'eq')) {
        const r = this.delta(d, vals, remaining);
        vals = r.vals;
        remaining = r.remaining;
      }
      const outAxes = [...freeIdx(e).keys()];
      const scalars = vals.filter((v) => v.axes.length === 0);
      const tensors = vals.filter((v) => v.axes.length > 0);
      const mentioned = new Set(tensors.flatMap((v) => v.axes));
      const counted = remaining.filter((k) => !mentioned.has(k)).map((k) => this.count(this.idxOf.get(k)!));
      let code: string;
      if (tensors.length === 0) code = '';
      else if (tensors.length === 1) {
        const t = tensors[0]!;
        const dims = t.axes.flatMap((k, p) => (remaining.includes(k) ? [p] : []));
        const kept = t.axes.filter((k) => !remaining.includes(k));
        code = dims.length ? `${t.name}.sum(dim=(${dims.join(', ')},))` : t.name;
        if (kept.some((k, p) => outAxes[p] !== k)) code = this.einsum([{ name: t.name, axes: t.axes }], outAxes);
      } else code = this.einsum(tensors, outAxes);
      const parts = [...(code ? [code] : []), ...scalars.map((s) => s.name), ...counted];
      if (!code && scalars.length === 0) parts.unshift('rt.C(1.0)');
      let v = this.let(parts.join(' * '), outAxes);
      if (reduced) v = this.let(`rt.allsum(${v.name})`, v.axes);
      return v;
    } finally {
      this.sharded = saved;
      if (reduced) this.inAllsum--;
    }
  }

  /**
   * One δ(a, b) inside a Σ over `remaining`. A gather `R.c[n]` with n summed here: the factors that
   * mention n are multiplied and added into the other side's positions (index_add, a segment sum
   * over n); if the other side is a gather `S.c'[m]`, the segment sums are then read at its ids
   * (index_select), which is Σ_n δ(R.c[n], S.c'[m]) f(n) = F[S.c'[m]] with F the per-id sums. An
   * index x summed here against a gather: x takes the gather's ids. Otherwise the comparison.
   */
  private delta(d: Extract<Expr, { op: 'eq' }>, vals: Val[], remaining: string[]): { vals: Val[]; remaining: string[] } {
    const keyOf = (x: Ix): string => (x.kind === 'var' ? idxKey(x.idx) : idxKey(x.t));
    for (const [src, dst] of [
      [d.a, d.b],
      [d.b, d.a],
    ] as [Ix, Ix][]) {
      const n = keyOf(src);
      if (src.kind !== 'gather' || !remaining.includes(n) || keyOf(dst) === n) continue;
      const users = vals.filter((v) => v.axes.includes(n));
      const rest = vals.filter((v) => !v.axes.includes(n));
      const prod = users.length ? (users.length === 1 ? users[0]! : this.product(users)) : this.let(`torch.ones(${this.count(src.t)}, dtype=rt.DTYPE, device=rt.DEVICE)`, [n]);
      const moved = this.let(prod.axes[0] === n ? prod.name : this.align(prod, [n, ...prod.axes.filter((k) => k !== n)], true), [n, ...prod.axes.filter((k) => k !== n)]);
      if (dst.kind === 'var') {
        const x = idxKey(dst.idx);
        this.idxOf.set(x, dst.idx);
        const seg = this.let(`rt.segsum(${moved.name}, ${this.ids(src)}, ${this.count(dst.idx)})`, [x, ...moved.axes.slice(1)]);
        return { vals: [...rest, seg], remaining: remaining.filter((k) => k !== n) };
      }
      const m = idxKey(dst.t);
      this.idxOf.set(m, dst.t);
      const seg = this.let(`rt.segsum(${moved.name}, ${this.ids(src)}, ${this.size(src.domain)})`, ['#ids', ...moved.axes.slice(1)]);
      const read = this.let(`${seg.name}.index_select(0, ${this.ids(dst)})`, [m, ...moved.axes.slice(1)]);
      return { vals: [...rest, read], remaining: remaining.filter((k) => k !== n) };
    }
    for (const [x, g] of [
      [d.a, d.b],
      [d.b, d.a],
    ] as [Ix, Ix][]) {
      if (x.kind !== 'var' || g.kind !== 'gather' || !remaining.includes(idxKey(x.idx)) || this.isDomain(x.idx.space) && this.sharded.has(idxKey(x.idx))) continue;
      const k = idxKey(x.idx);
      const t = idxKey(g.t);
      this.idxOf.set(t, g.t);
      const out = vals.map((v) => {
        const p = v.axes.indexOf(k);
        if (p < 0) return v;
        return this.let(`${v.name}.index_select(${p}, ${this.ids(g)})`, v.axes.map((a) => (a === k ? t : a)));
      });
      // several factors now carry t: they broadcast on it (one axis each, same ids)
      return { vals: out, remaining: remaining.filter((r) => r !== k) };
    }
    return { vals: [...vals, this.emit(d)], remaining };
  }

  private reduce(e: Extract<Expr, { op: 'reduce' }>): Val {
    const saved = this.sharded;
    const over = e.over.map(idxKey);
    this.sharded = new Set([...saved].filter((k) => !over.includes(k)));
    try {
      const b = this.emit(e.body);
      const dims = b.axes.flatMap((k, p) => (over.includes(k) ? [p] : []));
      const kept = b.axes.filter((k) => !over.includes(k));
      const empty = over.map((k) => this.count(e.over.find((i) => idxKey(i) === k)!)).join(' * ');
      if (e.fn === 'argmax' || e.fn === 'argmin') {
        if (dims.length === 0) return this.let(`rt.rt.C(0.0) * ${b.name}`, b.axes);
        return this.let(`torch.${e.fn}(${b.name}, dim=${dims[0]}).to(rt.DTYPE)`, kept);
      }
      if (dims.length === 0) return this.let(`${b.name} if ${empty} > 0 else rt.C(0.0) * ${b.name}`, b.axes);
      return this.let(`rt.extremum(${b.name}, (${dims.join(', ')},), ${e.fn === 'max' ? 'True' : 'False'})`, kept);
    } finally {
      this.sharded = saved;
    }
  }
}

function axisLabel(name: string): string {
  return name.replace(/[^A-Za-z0-9_'#~]/g, '?');
}

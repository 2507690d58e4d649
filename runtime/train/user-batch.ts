// User mini-batches (`batch 256 users`): each step trains on a seeded batch B of one domain's members.
// The step's world is that batch: the domain's size is |B|, every relation with a column over the
// domain keeps only the batch members' tuples (ids renumbered to 0..|B|−1), and every param whose
// first axis is the domain is sliced to the batch's rows; gradients are scattered back to full size.
// The compiled terms scale sums over the domain by |D|/|B| (lower.ts), so a whole-data loss over
// B × all items costs O(|B|d² + |I|d²) per step, not O(|B||I|d).
import type { Compiled } from '../../compiler/compile.ts';
import type { Relation } from '../data/load.ts';
import { Rng, type RngState } from '../data/rng.ts';

/** Where a batcher is in its data: the epoch's order, the next position, and its stream (checkpoints). */
export interface BatcherState {
  readonly order: Int32Array;
  readonly pos: number;
  readonly epoch: number;
  readonly rng: RngState;
}

/** A saved order must be a permutation of the rows the batcher draws from, and its position inside it. */
export function checkBatcherState(st: BatcherState, rows: number): void {
  const seen = new Uint8Array(rows);
  const ok =
    st.order instanceof Int32Array &&
    st.order.length === rows &&
    Number.isInteger(st.pos) &&
    st.pos >= 0 &&
    st.pos <= rows &&
    Number.isInteger(st.epoch) &&
    st.epoch >= 0 &&
    st.order.every((r) => r >= 0 && r < rows && !seen[r] && (seen[r] = 1) === 1);
  if (!ok) throw new RangeError(`the saved batch order is not a permutation of ${rows} rows`);
}

export class UserBatcher {
  private order: Int32Array;
  private pos = 0;
  constructor(readonly domain: string, private readonly members: number, private readonly size: number, private rng: Rng) {
    this.order = Int32Array.from({ length: members }, (_, j) => j);
    this.rng.shuffle(this.order);
  }
  get batchesPerEpoch(): number {
    return Math.max(1, Math.ceil(this.members / this.size));
  }
  /** The order, position and stream, to resume from (`epoch` is not counted here: always 0). */
  state(): BatcherState {
    return { order: Int32Array.from(this.order), pos: this.pos, epoch: 0, rng: this.rng.state() };
  }
  restore(st: BatcherState): void {
    checkBatcherState(st, this.members);
    this.order = Int32Array.from(st.order);
    this.pos = st.pos;
    this.rng = Rng.fromState(st.rng);
  }
  /** The next batch's members (dense ids, sorted so batch rows keep the domain's order). */
  next(): Int32Array {
    if (this.pos >= this.order.length) {
      this.pos = 0;
      this.rng.shuffle(this.order);
    }
    const batch = this.order.slice(this.pos, Math.min(this.pos + this.size, this.order.length)).sort();
    this.pos += batch.length;
    return batch;
  }
}

/** Relations restricted to tuples whose `domain` columns hold batch members, renumbered to positions. */
export function restrictRelations(full: ReadonlyMap<string, Relation>, domain: string, members: Int32Array, domainSize: number): Map<string, Relation> {
  const position = new Int32Array(domainSize).fill(-1);
  members.forEach((m, j) => (position[m] = j));
  const out = new Map<string, Relation>();
  for (const [name, rel] of full) {
    const cols = [...rel.idDomains].filter(([, d]) => d === domain).map(([c]) => c);
    if (cols.length === 0) {
      out.set(name, rel);
      continue;
    }
    const keep: number[] = [];
    for (let t = 0; t < rel.size; t++) if (cols.every((c) => position[rel.ids.get(c)![t]!]! >= 0)) keep.push(t);
    const ids = new Map<string, Int32Array>();
    for (const [c, a] of rel.ids) ids.set(c, Int32Array.from(keep, (t) => (cols.includes(c) ? position[a[t]!]! : a[t]!)));
    const values = new Map<string, Float64Array>();
    for (const [c, a] of rel.values) values.set(c, Float64Array.from(keep, (t) => a[t]!));
    out.set(name, { ...rel, size: keep.length, ids, values });
  }
  return out;
}

/** Params whose first axis is `domain`, sliced to the batch's rows; others as they are. */
export function sliceParams(compiled: Compiled, params: ReadonlyMap<string, Float32Array>, domain: string, members: Int32Array, domainSize: number): Map<string, Float32Array> {
  const out = new Map(params);
  for (const p of compiled.module.params) {
    if (p.shape[0] !== domain) continue;
    const full = params.get(p.name)!;
    const row = full.length / domainSize;
    const slice = new Float32Array(members.length * row);
    members.forEach((m, j) => slice.set(full.subarray(m * row, m * row + row), j * row));
    out.set(p.name, slice);
  }
  return out;
}

/** A batch-row gradient of a sliced param, as a full-size gradient (zero outside the batch). */
export function scatterRows(grad: ArrayLike<number>, members: Int32Array, fullLength: number): Float32Array {
  const row = grad.length / Math.max(1, members.length);
  const out = new Float32Array(fullLength);
  members.forEach((m, j) => {
    for (let c = 0; c < row; c++) out[m * row + c] = grad[j * row + c]!;
  });
  return out;
}

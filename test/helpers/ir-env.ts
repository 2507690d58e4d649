// Random environments for IR property tests: small sizes, random float64 tensors and relations.
import type { Env, TensorValue } from '../../compiler/ir/interp.ts';
import { batchKey, columnKey, totalKey } from '../../compiler/ir/spaces.ts';

/** A tiny deterministic PRNG (mulberry32) so failures reproduce from the printed seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface EnvSpec {
  readonly sizes: Record<string, number>;
  /** tensor name → axis spaces */
  readonly tensors: Record<string, readonly string[]>;
  /** relation → id columns (col → domain); each relation also gets float columns listed in `values` */
  readonly relations?: Record<string, { readonly ids: Record<string, string>; readonly values?: readonly string[]; readonly distinct?: boolean }>;
}

export function randomEnv(spec: EnvSpec, seed: number): Env {
  const rnd = prng(seed);
  const sizes = new Map(Object.entries(spec.sizes));
  const tensors = new Map<string, TensorValue>();
  const ids = new Map<string, Int32Array>();
  for (const [rel, r] of Object.entries(spec.relations ?? {})) {
    const n = sizes.get(rel)!;
    sizes.set(totalKey(rel), n);
    sizes.set(batchKey(rel), n);
    const cols = Object.entries(r.ids).map(([col, dom]) => ({ col, dom, data: new Int32Array(n) }));
    if (r.distinct) {
      // n distinct tuples: a seeded shuffle of every tuple of the (small) product space
      const dims = cols.map((c) => sizes.get(c.dom)!);
      const total = dims.reduce((a, b) => a * b, 1);
      if (n > total) throw new Error(`randomEnv: ${n} distinct tuples of a space of ${total}`);
      const order = Array.from({ length: total }, (_, j) => j);
      for (let j = total - 1; j > 0; j--) {
        const r2 = Math.floor(rnd() * (j + 1));
        [order[j], order[r2]] = [order[r2]!, order[j]!];
      }
      for (let t = 0; t < n; t++) {
        let rem = order[t]!;
        for (let c = cols.length - 1; c >= 0; c--) {
          cols[c]!.data[t] = rem % dims[c]!;
          rem = Math.floor(rem / dims[c]!);
        }
      }
    } else {
      for (let t = 0; t < n; t++) for (const c of cols) c.data[t] = Math.floor(rnd() * sizes.get(c.dom)!);
    }
    for (const c of cols) ids.set(columnKey(rel, c.col), c.data);
    for (const col of r.values ?? []) {
      tensors.set(columnKey(rel, col), { data: Float64Array.from({ length: n }, () => 1 + 4 * rnd()), shape: [rel] });
    }
  }
  for (const [name, shape] of Object.entries(spec.tensors)) {
    const n = shape.reduce((a, s) => a * sizes.get(s)!, 1);
    tensors.set(name, { data: Float64Array.from({ length: n }, () => rnd() * 2 - 1), shape });
  }
  return { sizes, tensors, ids };
}

export function relErr(a: number, b: number): number {
  return Math.abs(a - b) / Math.max(1e-6, Math.abs(a), Math.abs(b));
}

/** Max |a − b| relative to the largest magnitude; values here are O(1), so a result that is exactly
 * zero (e.g. a gradient whose terms cancel) is judged against a floor of 1e-6, not against 0. */
export function maxRelErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let scale = 1e-6;
  for (let j = 0; j < a.length; j++) scale = Math.max(scale, Math.abs(a[j]!), Math.abs(b[j]!));
  let m = 0;
  for (let j = 0; j < a.length; j++) m = Math.max(m, Math.abs(a[j]! - b[j]!) / scale);
  return m;
}

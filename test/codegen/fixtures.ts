// Shared fixtures for the codegen tests: a small MF module (user, item, d, ratings), random
// float32 data with a seeded generator, and a comparison of executor output against interp.
import { expect } from 'vitest';
import { idx, type Idx, type Ix } from '../../compiler/ir/nodes.ts';
import type { Space } from '../../compiler/ir/module.ts';
import type { Env, TensorValue } from '../../compiler/ir/interp.ts';
import type { Env32 } from '../../runtime/exec/executor.ts';
import { prng } from '../helpers/ir-env.ts';

/** mulberry32, shared with the other property tests */
export const rng = prng;

export const u = idx('u', 'user');
export const i = idx('i', 'item');
export const k = idx('k', 'd');
export const l = idx('l', 'd');
export const t = idx('t', 'ratings');
export const a = idx('a', 'user');
export const b = idx('b', 'd');
export const c = idx('c', 'item');

export const gather = (col: 'user' | 'item', ti: Idx = t, rel = 'ratings'): Ix => ({ kind: 'gather', rel, col, domain: col, t: ti });

export interface Fixture {
  readonly spaces: Map<string, Space>;
  readonly sizes: Map<string, number>;
  readonly env: Env;
  readonly env32: Env32;
}

export interface FixtureSizes {
  users: number;
  items: number;
  d: number;
  nnz: number;
  /** extra dims, e.g. a long one for reductions */
  dims?: Record<string, number>;
  seed?: number;
}

/** Random params U[user,d], V[item,d], biases, a relation `ratings(user, item, rating)`. */
export function makeFixture(s: FixtureSizes): Fixture {
  const r = rng(s.seed ?? 1);
  const spaces = new Map<string, Space>([
    ['user', { kind: 'domain', name: 'user' }],
    ['item', { kind: 'domain', name: 'item' }],
    ['d', { kind: 'dim', name: 'd', size: s.d }],
    ['ratings', { kind: 'relation', name: 'ratings', columns: new Map([['user', 'user'], ['item', 'item'], ['rating', 'float']]) }],
  ]);
  const sizes = new Map<string, number>([
    ['user', s.users],
    ['item', s.items],
    ['d', s.d],
    ['ratings', s.nnz],
  ]);
  for (const [name, n] of Object.entries(s.dims ?? {})) {
    spaces.set(name, { kind: 'dim', name, size: n });
    sizes.set(name, n);
  }
  const vec = (n: number, lo: number, hi: number): Float32Array => Float32Array.from({ length: n }, () => lo + (hi - lo) * r());
  const tensors = new Map<string, TensorValue & { data: Float32Array }>([
    ['U', { data: vec(s.users * s.d, -1, 1), shape: ['user', 'd'] }],
    ['V', { data: vec(s.items * s.d, -1, 1), shape: ['item', 'd'] }],
    ['bu', { data: vec(s.users, -0.5, 0.5), shape: ['user'] }],
    ['bi', { data: vec(s.items, -0.5, 0.5), shape: ['item'] }],
    ['mu', { data: Float32Array.of(3.5), shape: [] }],
    ['lambda', { data: Float32Array.of(0.05), shape: [] }],
    ['ratings.rating', { data: Float32Array.from({ length: s.nnz }, () => 1 + Math.floor(5 * r())), shape: ['ratings'] }],
  ]);
  for (const [name, n] of Object.entries(s.dims ?? {})) tensors.set(`x_${name}`, { data: vec(n, -1, 1), shape: [name] });
  // skewed users so CSR segments differ in length; every id column is an Int32Array
  const users = Int32Array.from({ length: s.nnz }, () => Math.floor(s.users * r() ** 2));
  const items = Int32Array.from({ length: s.nnz }, () => Math.floor(s.items * r()));
  const ids = new Map<string, ArrayLike<number>>([
    ['ratings.user', users],
    ['ratings.item', items],
  ]);
  const env: Env = { sizes, tensors, ids };
  const env32: Env32 = { sizes, tensors, ids };
  return { spaces, sizes, env, env32 };
}

/** |got − want| ≤ rtol·(|want| + scale), scale = mean |want| (float32 sums of mixed signs). */
export function expectClose(got: ArrayLike<number> | number, want: ArrayLike<number> | number, rtol = 2e-5, label = ''): void {
  const g = typeof got === 'number' ? [got] : Array.from(got);
  const w = typeof want === 'number' ? [want] : Array.from(want);
  expect(g.length, `${label} length`).toBe(w.length);
  const scale = w.reduce((s, x) => s + Math.abs(x), 0) / Math.max(1, w.length);
  let worst = 0;
  let at = -1;
  for (let j = 0; j < w.length; j++) {
    const err = Math.abs(g[j]! - w[j]!) / (Math.abs(w[j]!) + scale || 1);
    if (!(err <= worst)) {
      worst = err;
      at = j;
    }
  }
  expect(worst, `${label} worst relative error at ${at}: got ${g[at]}, want ${w[at]}`).toBeLessThanOrEqual(rtol);
}

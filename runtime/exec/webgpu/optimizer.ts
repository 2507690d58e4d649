// The optimizer update as a WGSL kernel: the same elementwise rules as runtime/train/optimizer.ts,
// in place on device-resident params and slots, one thread per updated element. Dense: every element
// of the param. Row-sparse (the lazy semantics of optimizer.ts): only the rows a batch touched, their
// ids in a buffer; the gradient is either dense (read at row·width + c) or already at those rows (read
// at r·width + c, the touched-rows kernels' layout). The source holds only fixed text and the variant
// switches below; hyper-parameters travel as uniforms (numbers).
// A param larger than one storage binding is updated one window [base, base + count) at a time: the
// param, its slots and a full-size gradient are bound as that window of their buffers; dense updates
// run one thread per cell of the window, row-sparse ones one per touched cell, skipping cells outside it.
//   sgd:      m ← μ·m + g;  θ ← θ − η·m           (μ = 0: θ ← θ − η·g)
//   adagrad:  s ← s + g²;   θ ← θ − η·g / (√s + ε)
//   adam:     m ← β₁m + (1−β₁)g;  v ← β₂v + (1−β₂)g²;  θ ← θ − η·(m/c₁) / (√(v/c₂) + ε)
import type { GradientOptimizerInfo } from '../../../compiler/check/model.ts';
import { spreadGroups } from './rows.ts';

/** Bytes of the update kernel's uniform block (`updateUniforms`), uploaded per launch. */
export const UPDATE_UNIFORM_BYTES = 48;

/** Threads per workgroup of the update kernel. */
export const UPDATE_WORKGROUP = 64;

export interface UpdateVariant {
  readonly kind: GradientOptimizerInfo['kind'];
  readonly momentum: boolean;
  /** rows: update only the touched rows; `at`: the gradient holds only those rows */
  readonly rows: 'all' | 'dense-grad' | 'at-rows';
}

/** How many slot buffers a variant updates besides the param (0, 1 or 2). */
export function slotCount(v: Pick<UpdateVariant, 'kind' | 'momentum'>): number {
  return v.kind === 'adam' ? 2 : v.kind === 'adagrad' || v.momentum ? 1 : 0;
}

/** Uniforms: n, width (u32), lr, a, b, eps, c1, c2 (f32), base, count (u32); meanings in `updateUniforms`. */
export function updateSource(v: UpdateVariant): string {
  const slots = slotCount(v);
  const b: string[] = [
    'struct U { n : u32, width : u32, lr : f32, a : f32, b : f32, eps : f32, c1 : f32, c2 : f32, base : u32, count : u32, pad0 : u32, pad1 : u32 }',
    '@group(0) @binding(0) var<uniform> u : U;',
    '@group(0) @binding(1) var<storage, read_write> p : array<f32>;',
    '@group(0) @binding(2) var<storage, read> g : array<f32>;',
  ];
  let next = 3;
  if (v.rows !== 'all') b.push(`@group(0) @binding(${next++}) var<storage, read> rows : array<f32>;`);
  if (slots >= 1) b.push(`@group(0) @binding(${next++}) var<storage, read_write> m : array<f32>;`);
  if (slots >= 2) b.push(`@group(0) @binding(${next++}) var<storage, read_write> v : array<f32>;`);
  b.push(
    `@compute @workgroup_size(${UPDATE_WORKGROUP})`,
    'fn main(@builtin(global_invocation_id) gid : vec3<u32>, @builtin(num_workgroups) nw : vec3<u32>) {',
    `  let t : u32 = gid.x + gid.y * nw.x * ${UPDATE_WORKGROUP}u;`,
    '  if (t >= u.n) { return; }',
  );
  if (v.rows === 'all') b.push('  let j : u32 = t;', '  let gj : f32 = g[t];');
  else {
    // the touched cell's place in the param, then in the bound window (cells outside it: another launch)
    b.push('  let r : u32 = t / u.width;', '  let at : u32 = u32(rows[r]) * u.width + (t - r * u.width);');
    b.push('  if (at < u.base || at >= u.base + u.count) { return; }', '  let j : u32 = at - u.base;');
    b.push(v.rows === 'at-rows' ? '  let gj : f32 = g[t];' : '  let gj : f32 = g[j];');
  }
  switch (v.kind) {
    case 'sgd':
      if (v.momentum) b.push('  m[j] = u.a * m[j] + gj;', '  p[j] = p[j] - u.lr * m[j];');
      else b.push('  p[j] = p[j] - u.lr * gj;');
      break;
    case 'adagrad':
      b.push('  m[j] = m[j] + gj * gj;', '  p[j] = p[j] - (u.lr * gj) / (sqrt(m[j]) + u.eps);');
      break;
    case 'adam':
      b.push(
        '  m[j] = u.a * m[j] + (1.0 - u.a) * gj;',
        '  v[j] = u.b * v[j] + (1.0 - u.b) * gj * gj;',
        '  p[j] = p[j] - (u.lr * (m[j] / u.c1)) / (sqrt(v[j] / u.c2) + u.eps);',
      );
      break;
  }
  b.push('}');
  return b.join('\n');
}

/**
 * The uniform block for one update of `n` elements (touched rows × width, or the window's cells with
 * width 1) at global step `step` (1-based), of the param's window [base, base + count).
 */
export function updateUniforms(opt: GradientOptimizerInfo, n: number, width: number, lr: number, step: number, window: { readonly base: number; readonly count: number }): ArrayBuffer {
  const buf = new ArrayBuffer(UPDATE_UNIFORM_BYTES);
  const u32 = new Uint32Array(buf);
  const f32 = new Float32Array(buf);
  u32[0] = n;
  u32[1] = Math.max(1, width);
  f32[2] = lr;
  if (opt.kind === 'sgd') f32[3] = opt.momentum;
  else if (opt.kind === 'adagrad') f32[5] = opt.eps;
  else {
    f32[3] = opt.beta1;
    f32[4] = opt.beta2;
    f32[5] = opt.eps;
    f32[6] = 1 - Math.pow(opt.beta1, step);
    f32[7] = 1 - Math.pow(opt.beta2, step);
  }
  u32[8] = window.base;
  u32[9] = window.count;
  return buf;
}

/** Workgroups for `n` threads: x up to 65,535, the rest along y. */
export function updateGroups(n: number): [number, number] {
  return spreadGroups(Math.ceil(n / UPDATE_WORKGROUP));
}

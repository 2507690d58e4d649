// Row moves on the device for user mini-batches (`batch N users`), whose steps read a param's rows
// of the batch's members only: gather those rows into a slice before the step, and scatter the
// slice's gradient back into a zeroed full-size gradient after it, so the update (optimizer.ts) is
// the dense one the CPU path applies to `scatterRows`'s result. The members' ids (drawn on the host)
// are one float buffer; sizes are baked into the source (one pipeline per shape). The executor's
// gather also puts an id column into a CSR's order (width 1, the permutation as `members`).
//   gather:  S[j, c] = P[members[j], c]          zero: G[k] = 0          scatter: G[members[j], c] = g[j, c]
// A param over one storage binding is moved one window [base, base + count) of its cells at a time
// (`Window`, baked into the source): P and G are bound as that window of their buffers, and a thread
// whose cell lies outside it does nothing (zero: one launch per window, bound as that window).
import type { Device } from './device.ts';

/** Threads per workgroup; workgroups spread along y past 65,535 (spreadGroups). */
const WG = 64;

function head(bindings: readonly string[]): string[] {
  return [
    ...bindings.map((b, j) => `@group(0) @binding(${j}) ${b}`),
    `@compute @workgroup_size(${WG})`,
    'fn main(@builtin(global_invocation_id) gid : vec3<u32>, @builtin(num_workgroups) nw : vec3<u32>) {',
    `  let t : u32 = gid.x + gid.y * nw.x * ${WG}u;`,
  ];
}

function checkShape(rows: number, width: number): void {
  if (!Number.isInteger(rows) || rows < 0 || !Number.isInteger(width) || width < 1) throw new RangeError(`rows ${rows} × width ${width}`);
}

/** The cells [base, base + count) of a param one launch binds, when the param spans several bindings. */
export interface Window {
  readonly base: number;
  readonly count: number;
}

/** The member cell `at` of thread t, returned from when outside `w`, and its place in the window. */
function windowed(w: Window | undefined): string[] {
  if (!w) return [];
  checkShape(w.base, 1);
  checkShape(w.count, 1);
  return [`  if (at < ${w.base}u || at >= ${w.base + w.count}u) { return; }`];
}

/**
 * S (rows × width) ← the member rows of P (or of its window `w`); bindings: P (the window), members
 * (float32 values, or int32 bits with `memberBits`: a CSR permutation of 2^24 tuples or more), S.
 */
export function gatherSource(rows: number, width: number, w?: Window, memberBits = false): string {
  checkShape(rows, width);
  return [
    ...head(['var<storage, read> p : array<f32>;', `var<storage, read> members : array<${memberBits ? 'u32' : 'f32'}>;`, 'var<storage, read_write> s : array<f32>;']),
    `  if (t >= ${rows * width}u) { return; }`,
    `  let j : u32 = t / ${width}u;`,
    `  let at : u32 = u32(members[j]) * ${width}u + (t - j * ${width}u);`,
    ...windowed(w),
    `  s[t] = p[at${w ? ` - ${w.base}u` : ''}];`,
    '}',
  ].join('\n');
}

/** G[0..n) ← 0; binding: G. */
export function zeroSource(n: number): string {
  checkShape(n, 1);
  return [...head(['var<storage, read_write> g : array<f32>;']), `  if (t >= ${n}u) { return; }`, '  g[t] = 0.0;', '}'].join('\n');
}

/**
 * G's member rows (those in its window `w`) ← g (rows × width); bindings: g, members, G (the window).
 * Members are distinct: no two threads write one cell.
 */
export function scatterSource(rows: number, width: number, w?: Window): string {
  checkShape(rows, width);
  return [
    ...head(['var<storage, read> g : array<f32>;', 'var<storage, read> members : array<f32>;', 'var<storage, read_write> full : array<f32>;']),
    `  if (t >= ${rows * width}u) { return; }`,
    `  let j : u32 = t / ${width}u;`,
    `  let at : u32 = u32(members[j]) * ${width}u + (t - j * ${width}u);`,
    ...windowed(w),
    `  full[at${w ? ` - ${w.base}u` : ''}] = g[t];`,
    '}',
  ].join('\n');
}

/** A dispatch of `groups` workgroups (at least one): x up to 65,535 (WebGPU's limit per dimension), the rest along y. */
export function spreadGroups(groups: number): [number, number] {
  const x = Math.max(1, Math.min(groups, 65535));
  return [x, Math.max(1, Math.ceil(groups / x))];
}

/** Workgroups for `n` threads: x up to 65,535, the rest along y. */
export function rowGroups(n: number): [number, number] {
  return spreadGroups(Math.ceil(n / WG));
}

/**
 * The windows of a buffer of `cells` cells that one storage binding spans (`tile` cells each), or one
 * undefined: the buffer fits one binding and its kernels bind it whole.
 */
export function windows(cells: number, tile: number): (Window | undefined)[] {
  if (cells <= tile) return [undefined];
  const out: Window[] = [];
  for (let base = 0; base < cells; base += tile) out.push({ base, count: Math.min(tile, cells - base) });
  return out;
}

/** Buffer `id` as a launch binds it: its window `w` (in bytes), or whole. */
export function windowBinding(id: number, w: Window | undefined): number | { id: number; offset: number; size: number } {
  return w ? { id, offset: w.base * 4, size: w.count * 4 } : id;
}

/** Where a row move reads or writes: the param's buffer and cells, the members' buffer and count, the rows' width. */
export interface RowMove {
  readonly param: number;
  readonly cells: number;
  readonly members: number;
  readonly rows: number;
  readonly width: number;
  readonly what: string;
}

/** Posts slice ← the member rows of the param (gatherSource), one launch per window of the param. */
export function postGather(dev: Device, tile: number, m: RowMove, slice: number): void {
  for (const w of windows(m.cells, tile)) {
    dev.post({ op: 'compute', source: gatherSource(m.rows, m.width, w), buffers: [windowBinding(m.param, w), m.members, slice], alloc: [{ id: slice, n: m.rows * m.width }], groups: rowGroups(m.rows * m.width), what: m.what });
  }
}

/** Posts the param's member rows ← slice (scatterSource), one launch per window of the param. */
export function postScatter(dev: Device, tile: number, m: RowMove, slice: number): void {
  for (const w of windows(m.cells, tile)) {
    dev.post({ op: 'compute', source: scatterSource(m.rows, m.width, w), buffers: [slice, m.members, windowBinding(m.param, w)], groups: rowGroups(m.rows * m.width), what: m.what });
  }
}

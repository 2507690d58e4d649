// ALS's row solves on the device (optimizer als, runtime/train/als.ts): every row r of a block solves
// H_r x_r = −g_r(0) as `solveRows` does on the host (a Cholesky factorization, or `steps` conjugate-
// gradient iterations from the current row), in float32, one workgroup per row, its threads sharing the
// row's columns. Cholesky: L by columns, its lower triangle packed in workgroup memory up to n = 85
// (else in place of H's lower triangle), each row's Σ L_rk² kept as its entries are made, so every
// thread reads the pivot alike; one barrier a column; then the two substitutions, one barrier a column each. CG: dot products as tree sums in
// workgroup memory. A 64-wide row loops ~5,000 times per thread, far from the 65,535 iterations after
// which Mesa 22's GLES path stops a shader (never requested: device.ts); rows of several hundred would
// pass it there.
//   solve:  p (rows × n: the current values, CG's start), H (rows × n × n; past n = 85 its lower
//           triangle overwritten by L), g (rows × n: −g read, the solution written in its place; a row whose
//           H_r and g_r are all zero gets its current value), status (one u32: the first row whose
//           H_r is not positive definite, by atomicMin; 0xffffffff for none)
//   copy:   p's rows before the first bad one ← g's (the rows from it on keep their values, as on the host)
//   reset:  status ← 0xffffffff
// A block's H can exceed one storage binding: the rows are solved in launches of as many rows as one
// binding holds, each binding the windows of H, g and p that hold them (offsets rounded down to 256
// bytes). A launch's first row, row count and the two windows' shifts are its uniform (the worker's
// `wgsl` command, four u32s made once per distinct value); n, the solver and its steps are baked into
// the source (one pipeline per shape); nothing from a model file reaches the source but numbers.
import { SizeLimitError } from '../../../compiler/ir/limits.ts';
import type { Device } from './device.ts';
import { rowGroups, spreadGroups } from './rows.ts';

/** The solver of `optimizer als` (compiler/check/model.ts's AlsInfo['solver'], declared structurally). */
export type RowSolver = { readonly kind: 'cholesky' } | { readonly kind: 'cg'; readonly steps: number };

/** 0xffffffff: no row failed. */
export const NO_BAD_ROW = 0xffffffff;

/** A launch's uniform: its first row, its rows, the shifts of its H and g windows (four u32s). */
const LAUNCH_UNIFORM = 'struct Launch { first : u32, rows : u32, hs : u32, gs : u32 }\n@group(0) @binding(0) var<uniform> u : Launch;';

/** Cells (64: 256 bytes, WebGPU's largest minStorageBufferOffsetAlignment) a binding offset is a multiple of. */
const ALIGN = 64;

/** WebGPU's guaranteed workgroup memory (maxComputeWorkgroupStorageSize), in bytes. */
const WORKGROUP_BYTES = 16384;

/**
 * Threads per row: the next power of two ≥ n, at most 16 (on lavapipe, whose workgroups run 8 lanes
 * wide, 8 or 16 solved 1,000 rows of 64 in ~370 ms, 32 in ~600 ms, 64 in ~900 ms; loaded machine).
 */
export function solveThreads(n: number): number {
  let wg = 1;
  while (wg < n && wg < 16) wg *= 2;
  return wg;
}

/** n-float workgroup arrays either solver keeps: the pivots, Σ L_rk², y and z (Cholesky), or x, r, q, Hq (CG). */
const ROW_ARRAYS = 4;

/** Whether a row's L (its lower triangle packed, n(n+1)/2 floats) fits in workgroup memory beside the rest (n ≤ 85). */
export function choleskyPacked(n: number): boolean {
  return ((n * (n + 1)) / 2 + ROW_ARRAYS * n + solveThreads(n) + 1) * 4 <= WORKGROUP_BYTES;
}

/** Refuses a row length whose workgroup arrays do not fit WebGPU's guaranteed 16 KiB. */
export function checkSolveWidth(n: number, solver: RowSolver, what: string): void {
  const bytes = (ROW_ARRAYS * n + solveThreads(n) + 1) * 4;
  if (bytes > WORKGROUP_BYTES) {
    throw new SizeLimitError(
      `${what}: rows of ${n.toLocaleString('en-US')} numbers need ${bytes.toLocaleString('en-US')} bytes of workgroup memory for the ${solver.kind === 'cg' ? 'conjugate-gradient' : 'Cholesky'} solve on the device, beyond WebGPU's guaranteed 16,384; use --mode wasm or a smaller row`,
    );
  }
}

/** A window of an array bound for one launch: cells [offset, offset + count) of its buffer; the launch's first cell is at `shift` in it. */
export interface SolveWindow {
  readonly offset: number;
  readonly count: number;
  readonly shift: number;
}

/** One launch: rows [firstRow, firstRow + rows), the windows of H (n² a row) and of g and p (n a row). */
export interface SolveLaunch {
  readonly firstRow: number;
  readonly rows: number;
  readonly h: SolveWindow;
  readonly g: SolveWindow;
}

function windowOf(first: number, cells: number): SolveWindow {
  const offset = Math.floor(first / ALIGN) * ALIGN;
  return { offset, count: first + cells - offset, shift: first - offset };
}

/**
 * The launches that solve `rows` rows of length n when one binding spans `tile` cells: one when H fits
 * a binding, else runs of rows whose H window (plus its alignment shift) fits one.
 */
export function solveLaunches(rows: number, n: number, tile: number, what: string): SolveLaunch[] {
  const perRow = n * n;
  const max = rows * perRow <= tile ? rows : Math.floor((tile - (ALIGN - 1)) / perRow);
  if (max < 1) {
    throw new SizeLimitError(`${what}: one row's H has ${perRow.toLocaleString('en-US')} cells (${(perRow * 4).toLocaleString('en-US')} bytes), beyond this WebGPU adapter's ${(tile * 4).toLocaleString('en-US')} bytes per storage binding; use --mode wasm`);
  }
  const out: SolveLaunch[] = [];
  for (let first = 0; first < rows; first += max) {
    const k = Math.min(max, rows - first);
    out.push({ firstRow: first, rows: k, h: windowOf(first * perRow, k * perRow), g: windowOf(first * n, k * n) });
  }
  return out;
}



function checkInt(x: number, what: string): void {
  if (!Number.isInteger(x) || x < 0 || x > 0x7fffffff) throw new RangeError(`${what} ${x}`);
}

/**
 * WGSL solving a launch's rows (one workgroup a row); bindings: the launch's uniform, p (its window of
 * the current values; g's shift), h (its H window), g (its g window), status (one u32, whole).
 */
export function solveSource(n: number, solver: RowSolver): string {
  checkInt(n, 'row length');
  if (n < 1) throw new RangeError(`row length ${n}`);
  if (solver.kind === 'cg') checkInt(solver.steps, 'CG steps');
  const wg = solveThreads(n);
  const N = `${n}u`;
  const head = [
    LAUNCH_UNIFORM,
    '@group(0) @binding(1) var<storage, read> p : array<f32>;',
    '@group(0) @binding(2) var<storage, read_write> h : array<f32>;',
    '@group(0) @binding(3) var<storage, read_write> g : array<f32>;',
    '@group(0) @binding(4) var<storage, read_write> status : array<atomic<u32>>;',
    `var<workgroup> red : array<f32, ${wg}>;`,
    'var<workgroup> total_out : f32;',
    // the sum over the workgroup of each thread's v, the same (uniform) value in every thread
    'fn total(i : u32, v : f32) -> f32 {',
    '  red[i] = v;',
    '  workgroupBarrier();',
    `  for (var w : u32 = ${wg >> 1}u; w > 0u; w = w / 2u) {`,
    '    if (i < w) { red[i] = red[i] + red[i + w]; }',
    '    workgroupBarrier();',
    '  }',
    '  if (i == 0u) { total_out = red[0]; }',
    '  let s = workgroupUniformLoad(&total_out);',
    '  return s;',
    '}',
  ];
  const body: string[] = [];
  if (solver.kind === 'cholesky') {
    // L in workgroup memory (its lower triangle packed) when it fits, else in place of H's lower triangle
    const packed = choleskyPacked(n);
    const L = (r: string, c: string): string => (packed ? `lw[(${r}) * ((${r}) + 1u) / 2u + ${c}]` : `h[hb + (${r}) * ${N} + ${c}]`);
    if (packed) head.push(`var<workgroup> lw : array<f32, ${(n * (n + 1)) / 2}>;`);
    head.push(`var<workgroup> dg : array<f32, ${n}>;`, `var<workgroup> sq : array<f32, ${n}>;`, `var<workgroup> y : array<f32, ${n}>;`, `var<workgroup> z : array<f32, ${n}>;`);
    if (packed) {
      body.push(
        `  for (var t : u32 = i; t < ${n * n}u; t = t + ${wg}u) {`,
        `    let a = t / ${N};`,
        `    let b = t - a * ${N};`,
        `    if (b <= a) { ${L('a', 'b')} = h[hb + t]; }`,
        '  }',
        '  workgroupBarrier();',
      );
    }
    body.push(
      // H_r = L Lᵀ by columns (left-looking): L_jj = √(H_jj − Σ_k<j L_jk²), the sum kept in sq[j] as
      // row j's entries were made (every thread reads it alike: no barrier), then each thread's rows'
      // L_rj for r > j (and sq[r] += L_rj²); the pivots apart in dg, H_jj untouched.
      // A pivot that is not positive marks the row bad: the rest runs on and its result is dropped
      // (the copy kernel stops before the first bad row), so no thread leaves the barriers' loops early
      '  var bad : bool = false;',
      `  for (var j : u32 = 0u; j < ${N}; j = j + 1u) {`,
      `    let s : f32 = ${L('j', 'j')} - sq[j];`,
      '    if (!(s > 0.0)) { bad = true; }',
      '    let piv = sqrt(s);',
      '    if (i == 0u) { dg[j] = piv; }',
      `    for (var r : u32 = j + 1u + i; r < ${N}; r = r + ${wg}u) {`,
      `      var t : f32 = ${L('r', 'j')};`,
      `      for (var k : u32 = 0u; k < j; k = k + 1u) { t = t - ${L('r', 'k')} * ${L('j', 'k')}; }`,
      '      let v = t / piv;',
      `      ${L('r', 'j')} = v;`,
      '      sq[r] = sq[r] + v * v;',
      '    }',
      packed ? '    workgroupBarrier();' : '    storageBarrier();\n    workgroupBarrier();',
      '  }',
      '  if (bad && i == 0u) { atomicMin(&status[0], row); }',
      // L z = −g (y: the right-hand side as it is eliminated), then Lᵀ x = z (z eliminated, x in y)
      `  for (var c : u32 = i; c < ${N}; c = c + ${wg}u) { y[c] = -g[gb + c]; }`,
      '  workgroupBarrier();',
      `  for (var j : u32 = 0u; j < ${N}; j = j + 1u) {`,
      '    let zj = y[j] / dg[j];',
      '    if (i == 0u) { z[j] = zj; }',
      `    for (var r : u32 = j + 1u + i; r < ${N}; r = r + ${wg}u) { y[r] = y[r] - ${L('r', 'j')} * zj; }`,
      '    workgroupBarrier();',
      '  }',
      `  for (var jj : u32 = ${N}; jj > 0u; jj = jj - 1u) {`,
      '    let j = jj - 1u;',
      '    let xj = z[j] / dg[j];',
      '    if (i == 0u) { y[j] = xj; }',
      `    for (var r : u32 = i; r < j; r = r + ${wg}u) { z[r] = z[r] - ${L('j', 'r')} * xj; }`,
      '    workgroupBarrier();',
      '  }',
      `  for (var c : u32 = i; c < ${N}; c = c + ${wg}u) { g[gb + c] = y[c]; }`,
    );
  } else {
    head.push(
      `var<workgroup> x : array<f32, ${n}>;`,
      `var<workgroup> r : array<f32, ${n}>;`,
      `var<workgroup> q : array<f32, ${n}>;`,
      `var<workgroup> hq : array<f32, ${n}>;`,
      // e with 2^e ≤ v < 2^(e+1) for a positive normal v (0 for 0), kept where ldexp(·, ±e) stays finite
      'fn exponent(v : f32) -> i32 { if (!(v > 0.0)) { return 0; } return clamp(i32(floor(log2(v))), -120, 120); }',
    );
    body.push(
      // r = −g − H x from the current row
      `  for (var c : u32 = i; c < ${N}; c = c + ${wg}u) { x[c] = p[gb + c]; }`,
      '  workgroupBarrier();',
      '  var ar : f32 = 0.0;',
      '  var ah : f32 = 0.0;',
      `  for (var c : u32 = i; c < ${N}; c = c + ${wg}u) {`,
      '    var s : f32 = -g[gb + c];',
      `    for (var k : u32 = 0u; k < ${N}; k = k + 1u) { let hk = h[hb + c * ${N} + k]; s = s - hk * x[k]; ah = ah + abs(hk); }`,
      '    r[c] = s;',
      '    ar = ar + abs(s);',
      '  }',
      // CG on the update δ: H δ = r, run on (2^-eh·H) δ' = 2^-eb·r, powers of two near the sizes of H_r
      // and r (exact scalings): a row already near its minimizer (r ~ 1e-12) would otherwise underflow
      // float32 in r·r and q·Hq two steps on and read as not positive definite; x += 2^(eb−eh)·α·q.
      // It stops once r·r is 10^24 below where it started: what further steps add to x is below
      // what float32 holds (the host's float64 runs on to r·r = 0)
      '  let eb : i32 = exponent(total(i, ar));',
      '  let eh : i32 = exponent(total(i, ah));',
      '  var part : f32 = 0.0;',
      `  for (var c : u32 = i; c < ${N}; c = c + ${wg}u) {`,
      '    let s = ldexp(r[c], -eb);',
      '    r[c] = s;',
      '    q[c] = s;',
      '    part = part + s * s;',
      '  }',
      '  var rr = total(i, part);',
      '  let stop = rr * 1e-24;',
      `  for (var step : u32 = 0u; step < ${solver.steps}u; step = step + 1u) {`,
      '    if (!(rr > stop)) { break; }',
      '    var pq : f32 = 0.0;',
      `    for (var c : u32 = i; c < ${N}; c = c + ${wg}u) {`,
      '      var s : f32 = 0.0;',
      `      for (var k : u32 = 0u; k < ${N}; k = k + 1u) { s = s + h[hb + c * ${N} + k] * q[k]; }`,
      '      s = ldexp(s, -eh);',
      '      hq[c] = s;',
      '      pq = pq + q[c] * s;',
      '    }',
      '    let qhq = total(i, pq);',
      '    if (!(qhq > 0.0)) {',
      '      if (i == 0u) { atomicMin(&status[0], row); }',
      '      return;',
      '    }',
      '    let alpha = rr / qhq;',
      '    var p2 : f32 = 0.0;',
      `    for (var c : u32 = i; c < ${N}; c = c + ${wg}u) {`,
      '      x[c] = x[c] + ldexp(alpha * q[c], eb - eh);',
      '      r[c] = r[c] - alpha * hq[c];',
      '      p2 = p2 + r[c] * r[c];',
      '    }',
      '    let rr2 = total(i, p2);',
      '    let beta = rr2 / rr;',
      `    for (var c : u32 = i; c < ${N}; c = c + ${wg}u) { q[c] = r[c] + beta * q[c]; }`,
      '    rr = rr2;',
      '    workgroupBarrier();',
      '  }',
      `  for (var c : u32 = i; c < ${N}; c = c + ${wg}u) { g[gb + c] = x[c]; }`,
    );
  }
  return [
    ...head,
    `@compute @workgroup_size(${wg})`,
    'fn main(@builtin(local_invocation_index) i : u32, @builtin(workgroup_id) wid : vec3<u32>, @builtin(num_workgroups) nw : vec3<u32>) {',
    '  let local : u32 = wid.x + wid.y * nw.x;',
    '  if (local >= u.rows) { return; }',
    '  let row : u32 = u.first + local;',
    `  let hb : u32 = u.hs + local * ${n * n}u;`,
    `  let gb : u32 = u.gs + local * ${N};`,
    // a row whose H_r and g_r are all zero (an id without data) keeps its value
    '  var nz : f32 = 0.0;',
    `  for (var c : u32 = i; c < ${n * n}u; c = c + ${wg}u) { nz = nz + abs(h[hb + c]); }`,
    `  for (var c : u32 = i; c < ${N}; c = c + ${wg}u) { nz = nz + abs(g[gb + c]); }`,
    '  if (total(i, nz) == 0.0) {',
    `    for (var c : u32 = i; c < ${N}; c = c + ${wg}u) { g[gb + c] = p[gb + c]; }`,
    '    return;',
    '  }',
    ...body,
    '}',
  ].join('\n');
}

/** p's rows of the launch before the first bad row ← g's; bindings status, g, p (the launch's windows). */
export function copyRowsSource(n: number): string {
  checkInt(n, 'row length');
  return [
    LAUNCH_UNIFORM,
    '@group(0) @binding(1) var<storage, read> status : array<u32>;',
    '@group(0) @binding(2) var<storage, read> g : array<f32>;',
    '@group(0) @binding(3) var<storage, read_write> p : array<f32>;',
    '@compute @workgroup_size(64)',
    'fn main(@builtin(global_invocation_id) gid : vec3<u32>, @builtin(num_workgroups) nw : vec3<u32>) {',
    '  let t : u32 = gid.x + gid.y * nw.x * 64u;',
    `  if (t >= u.rows * ${n}u) { return; }`,
    `  if (u.first + t / ${n}u >= status[0]) { return; }`,
    '  p[u.gs + t] = g[u.gs + t];',
    '}',
  ].join('\n');
}

/** status[0] ← 0xffffffff (no bad row yet); binding: status. */
export function resetStatusSource(): string {
  return ['@group(0) @binding(0) var<storage, read_write> status : array<u32>;', '@compute @workgroup_size(1)', 'fn main() {', '  status[0] = 0xffffffffu;', '}'].join('\n');
}

/**
 * Posts the solves of `rows` rows of length n: H (`h`, rows × n × n; its lower triangle is overwritten)
 * and g (`g`, rows × n; overwritten) solved into `p` (rows × n, the current values), `tile` cells a
 * binding; `status` is a buffer this call owns. Returns the first row whose H_r is not positive
 * definite (the rows from it on keep their values in `p`), or −1. Reads back 4 bytes.
 */
export function solveOnDevice(dev: Device, tile: number, status: number, bufs: { readonly h: number; readonly g: number; readonly p: number }, rows: number, n: number, solver: RowSolver, what: string): number {
  checkSolveWidth(n, solver, what);
  if (rows === 0) return -1;
  const launches = solveLaunches(rows, n, tile, what);
  dev.post({ op: 'compute', source: resetStatusSource(), buffers: [status], alloc: [{ id: status, n: 1 }], groups: [1], what });
  const bind = (id: number, w: SolveWindow): { id: number; offset: number; size: number } => ({ id, offset: w.offset * 4, size: w.count * 4 });
  const whole = { id: status, offset: 0, size: 4 };
  const uniforms = (l: SolveLaunch): number[] => [l.firstRow, l.rows, l.h.shift, l.g.shift];
  dev.post({
    op: 'wgsl',
    source: solveSource(n, solver),
    out: { id: status, n: 1 },
    writable: 3,
    launches: launches.map((l) => ({ uniforms: uniforms(l), bindings: [bind(bufs.p, l.g), bind(bufs.h, l.h), bind(bufs.g, l.g), whole], groups: spreadGroups(l.rows) })),
    what,
  });
  dev.post({
    op: 'wgsl',
    source: copyRowsSource(n),
    out: { id: status, n: 1 },
    launches: launches.map((l) => ({ uniforms: uniforms(l), bindings: [whole, bind(bufs.g, l.g), bind(bufs.p, l.g)], groups: rowGroups(l.rows * n) })),
    what,
  });
  const [got] = dev.read([status]);
  const bad = new Uint32Array(got!.buffer, got!.byteOffset, 1)[0]!;
  return bad === NO_BAD_ROW ? -1 : bad;
}

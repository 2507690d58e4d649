// What sizes recc can run: the one place that says so. Two limits:
// - every tensor lives in one typed array, at most 2^32 cells (16 GiB as float32): `check` refuses a
//   param whose dims alone pass it, `compile`/`run` one that passes it at the data's sizes (before
//   anything is allocated);
// - the gpu.js kernels (compiler/codegen/gpujs.ts: webasm, cpu, GPUs) compute flat indices and thread
//   ids in float32, exact only below 2^24, so codegen throws SizeLimitError (a user error) for a gpu.js
//   kernel over it. recc's own js kernels (compiler/codegen/js.ts) index with integers and have no
//   such limit; its own WGSL kernels (compiler/codegen/wgsl.ts, webgpu's kernels past gpu.js's limit)
//   index with i32, below 2^31.

/** Flat indices are computed in float32 on webasm (and GPUs): exact only below 2^24. */
export const MAX_EXACT_INDEX = 2 ** 24;

/** recc's own WGSL kernels index with i32: a tensor or kernel of at most 2^31 − 1 cells. */
export const MAX_INT_INDEX = 2 ** 31 - 1;

/** The most cells one tensor (one typed array) holds: V8's typed-array length limit on 64-bit Node. */
export const MAX_TENSOR_CELLS = 2 ** 32;

/** Whether a param of `cells` cells can be held at all, on any backend. */
export function tensorFits(cells: number): boolean {
  return cells <= MAX_TENSOR_CELLS;
}

/**
 * 4294967296 → "4,294,967,296". Not toLocaleString: its first call loads ICU's locale data (~80 ms),
 * and these texts are built when the module loads, on every start of the CLI (`recc --help` too).
 */
export function groupDigits(n: number): string {
  return Number.isSafeInteger(n) ? String(n).replace(/\B(?=(\d{3})+$)/g, ',') : n.toLocaleString('en-US');
}

/** The tensor limit in words, for help lines. */
export const TENSOR_LIMIT_TEXT = `2^32 = ${groupDigits(MAX_TENSOR_CELLS)} cells per tensor (16 GiB as float32)`;

/** "600 × 1000000 = 600,000,000 cells (2.2 GiB as float32)": a size, in words, for diagnostics. */
export function describeCells(factors: readonly (readonly [string, number])[]): string {
  const cells = factors.reduce((p, [, n]) => p * n, 1);
  const product = factors.length > 1 ? `${factors.map(([name, n]) => `|${name}| ${groupDigits(n)}`).join(' × ')} = ` : '';
  return `${product}${groupDigits(cells)} cells (${bytes(cells * 4)} as float32)`;
}

/** The limit in words, for help lines. */
export const LIMIT_TEXT = `2^24 = ${groupDigits(MAX_EXACT_INDEX)} cells per tensor or kernel (gpu.js indexes in float32)`;

/** The i32 limit in words. */
export const INT_LIMIT_TEXT = `2^31 - 1 = ${groupDigits(MAX_INT_INDEX)} cells per tensor or kernel (WebGPU kernels index with i32)`;

/** 153600000 → "146.5 MiB", 4096 → "4.0 KiB": a byte count in words. */
export function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let k = 0;
  while (n >= 1024 && k < units.length - 1) {
    n /= 1024;
    k++;
  }
  return `${k === 0 ? n : n.toFixed(1)} ${units[k]}`;
}

/** A kernel or tensor too large for the backend, found while generating it: the user's sizes, not a bug. */
export class SizeLimitError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SizeLimitError';
  }
}

// NumPy .npy v1.0 files for learned parameters and id-indexed arrays: float32 (`<f4`) and int32 (`<i4`),
// C order (row-major). Layout: magic "\x93NUMPY", version 1 0, header length (uint16 LE), then an ASCII
// dict literal `{'descr': '<f4', 'fortran_order': False, 'shape': (m, n), }` padded with spaces and
// ended by '\n' so that 10 + header length is a multiple of 64; then the little-endian data.
// Invariant: decode(encode(a)) = a exactly; ∏shape = data.length.
import { readFileSync } from 'node:fs';
import { writeFileAtomic } from './write.ts';

export type NpyDtype = '<f4' | '<i4';

export interface NpyArray {
  readonly dtype: NpyDtype;
  readonly shape: readonly number[];
  readonly data: Float32Array | Int32Array;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93 N U M P Y
const PREAMBLE = 10; // magic (6) + version (2) + header length (2)

/** Python's repr of a shape tuple: (), (n,), (m, n). */
function shapeRepr(shape: readonly number[]): string {
  return shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
}

/** The header bytes (without preamble): the dict literal, space padding, '\n'. */
export function npyHeader(dtype: NpyDtype, shape: readonly number[]): string {
  const dict = `{'descr': '${dtype}', 'fortran_order': False, 'shape': ${shapeRepr(shape)}, }`;
  // pad so that PREAMBLE + len(dict) + pad + 1 ≡ 0 (mod 64)
  const pad = (64 - ((PREAMBLE + dict.length + 1) % 64)) % 64;
  return dict + ' '.repeat(pad) + '\n';
}

/** Encode an array as .npy bytes (v1.0). */
export function encodeNpy(a: NpyArray): Uint8Array {
  checkShape(a.shape, a.data.length);
  const expected: NpyDtype = a.data instanceof Float32Array ? '<f4' : '<i4';
  if (a.dtype !== expected) throw new TypeError(`npy: dtype ${a.dtype} does not match a ${a.data.constructor.name}`);
  const header = npyHeader(a.dtype, a.shape);
  if (header.length > 0xffff) throw new RangeError('npy: header too long for format version 1.0');
  const out = new Uint8Array(PREAMBLE + header.length + a.data.length * 4);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  out[8] = header.length & 0xff;
  out[9] = header.length >>> 8;
  for (let i = 0; i < header.length; i++) out[PREAMBLE + i] = header.charCodeAt(i);
  const view = new DataView(out.buffer, PREAMBLE + header.length);
  if (a.data instanceof Float32Array) for (let i = 0; i < a.data.length; i++) view.setFloat32(i * 4, a.data[i], true);
  else for (let i = 0; i < a.data.length; i++) view.setInt32(i * 4, a.data[i], true);
  return out;
}

/** A file that is not a .npy array recc can read (truncated, another dtype, a bad header): the user's to fix. */
export class NpyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NpyError';
  }
}

/** Decode .npy bytes (v1.0, v2.0 or v3.0 headers; `<f4` or `<i4`, C order). Bad bytes throw NpyError. */
export function decodeNpy(bytes: Uint8Array, file = '<npy>'): NpyArray {
  for (let i = 0; i < MAGIC.length; i++) {
    if (bytes[i] !== MAGIC[i]) throw new NpyError(`${file}: not a .npy file (bad magic)`);
  }
  const major = bytes[6];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const hlenBytes = major === 1 ? 2 : 4;
  if (major !== 1 && major !== 2 && major !== 3) throw new NpyError(`${file}: unsupported .npy version ${major}.${bytes[7]}`);
  if (bytes.length < 8 + hlenBytes) throw new NpyError(`${file}: truncated .npy file (${bytes.length} bytes, no header)`);
  const hlen = hlenBytes === 2 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = 8 + hlenBytes;
  if (start + hlen > bytes.length) throw new NpyError(`${file}: truncated .npy file (the header needs ${hlen} bytes, ${bytes.length - start} are left)`);
  let header = '';
  for (let i = 0; i < hlen; i++) header += String.fromCharCode(bytes[start + i]);
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) throw new NpyError(`${file}: malformed .npy header ${JSON.stringify(header)}`);
  if (descr !== '<f4' && descr !== '<i4') throw new NpyError(`${file}: expected dtype '<f4' or '<i4', found '${descr}'`);
  if (fortran === 'True') throw new NpyError(`${file}: expected C order, found fortran_order True`);
  const dims = shapeText.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (!dims.every((s) => /^\d{1,15}$/.test(s))) throw new NpyError(`${file}: malformed .npy shape (${shapeText})`);
  const shape = dims.map(Number);
  const count = shape.reduce((p, d) => p * d, 1);
  const off = start + hlen;
  if (bytes.length - off < count * 4) throw new NpyError(`${file}: expected ${count * 4} data bytes for shape ${shapeRepr(shape)}, found ${bytes.length - off}`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset + off, count * 4);
  if (descr === '<f4') {
    const data = new Float32Array(count);
    for (let i = 0; i < count; i++) data[i] = dv.getFloat32(i * 4, true);
    return { dtype: descr, shape, data };
  }
  const data = new Int32Array(count);
  for (let i = 0; i < count; i++) data[i] = dv.getInt32(i * 4, true);
  return { dtype: descr, shape, data };
}

/** Write `a` to `path` atomically (temp file, then rename). */
export function writeNpy(path: string, a: NpyArray): void {
  writeFileAtomic(path, encodeNpy(a));
}

export function readNpy(path: string): NpyArray {
  return decodeNpy(readFileSync(path), path);
}

/** Convenience: a float32 array with the given shape (data converted from float64 if needed). */
export function f32(shape: readonly number[], data: ArrayLike<number>): NpyArray {
  return { dtype: '<f4', shape, data: data instanceof Float32Array ? data : Float32Array.from(data) };
}

/** Convenience: an int32 array with the given shape. */
export function i32(shape: readonly number[], data: ArrayLike<number>): NpyArray {
  return { dtype: '<i4', shape, data: data instanceof Int32Array ? data : Int32Array.from(data) };
}

function checkShape(shape: readonly number[], length: number): void {
  if (!shape.every((d) => Number.isInteger(d) && d >= 0)) throw new RangeError(`npy: shape ${shapeRepr(shape)} must hold non-negative integers`);
  const count = shape.reduce((p, d) => p * d, 1);
  if (count !== length) throw new RangeError(`npy: shape ${shapeRepr(shape)} holds ${count} elements, data has ${length}`);
}

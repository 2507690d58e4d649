import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodeNpy, encodeNpy, f32, i32, npyHeader, readNpy, writeNpy } from '../../runtime/output/npy.ts';
import { tempFile } from './helpers.ts';

const hasNumpy = spawnSync('python3', ['-c', 'import numpy'], { encoding: 'utf8' }).status === 0;
if (!hasNumpy) console.log('[npy] skipping numpy interop tests: `python3 -c "import numpy"` failed on this machine');

describe('npy', () => {
  it('writes the exact v1.0 header bytes of the spec', () => {
    const bytes = encodeNpy(f32([3, 4], new Float32Array(12)));
    // magic \x93NUMPY, version 1.0, little-endian header length 118: the 59-char dict, 58 spaces, '\n',
    // so that preamble 10 + 118 = 128 is the next multiple of 64
    expect([...bytes.subarray(0, 10)]).toEqual([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, 118, 0]);
    const header = String.fromCharCode(...bytes.subarray(10, 128));
    const dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }";
    expect(dict.length).toBe(59);
    expect(header).toBe(dict + ' '.repeat(58) + '\n');
    expect(bytes.length).toBe(128 + 48);
  });

  it('pads every header so the data starts at a multiple of 64', () => {
    for (const shape of [[], [7], [1682, 64], [2, 3, 4], [123456789, 1]]) {
      const h = npyHeader('<i4', shape);
      expect((10 + h.length) % 64).toBe(0);
      expect(h.endsWith('\n')).toBe(true);
    }
    expect(npyHeader('<i4', [7])).toContain("'shape': (7,), }");
    expect(npyHeader('<f4', [])).toContain("'shape': (), }");
  });

  it('round-trips float32 and int32 arrays exactly, little-endian', () => {
    const a = f32([2, 3], [1.5, -2, 3.25, 1e-30, Infinity, -0]);
    const b = decodeNpy(encodeNpy(a));
    expect(b.shape).toEqual([2, 3]);
    expect(b.dtype).toBe('<f4');
    expect([...b.data]).toEqual([...a.data]);
    const c = i32([4], [0, -1, 2147483647, -2147483648]);
    const bytes = encodeNpy(c);
    expect([...bytes.subarray(128, 132)]).toEqual([0, 0, 0, 0]);
    expect([...bytes.subarray(132, 136)]).toEqual([255, 255, 255, 255]);
    expect([...decodeNpy(bytes).data]).toEqual([0, -1, 2147483647, -2147483648]);
    const path = tempFile('c.npy', '');
    writeNpy(path, c);
    expect(readNpy(path)).toEqual(decodeNpy(bytes));
  });

  it('rejects a shape that does not match the data, and a mismatched dtype', () => {
    expect(() => encodeNpy(f32([2, 2], [1, 2, 3]))).toThrow(/holds 4 elements, data has 3/);
    expect(() => encodeNpy({ dtype: '<i4', shape: [1], data: new Float32Array(1) })).toThrow(/dtype/);
  });

  it.skipIf(!hasNumpy)('numpy loads what we write', () => {
    const path = tempFile('u.npy', '');
    writeNpy(path, f32([2, 3], [1, 2, 3, 4, 5, 6.5]));
    const out = spawnSync('python3', ['-c', `import numpy as np; a = np.load(${JSON.stringify(path)}); print(a.dtype.str, a.shape, a[1, 2], a.sum())`], { encoding: 'utf8' });
    expect(out.stderr).toBe('');
    expect(out.stdout.trim()).toBe('<f4 (2, 3) 6.5 21.5');
    const ipath = tempFile('ids.npy', '');
    writeNpy(ipath, i32([3], [7, -8, 9]));
    const iout = spawnSync('python3', ['-c', `import numpy as np; a = np.load(${JSON.stringify(ipath)}); print(a.dtype.str, a.shape, a.tolist())`], { encoding: 'utf8' });
    expect(iout.stdout.trim()).toBe('<i4 (3,) [7, -8, 9]');
  });

  it.skipIf(!hasNumpy)('we read what numpy writes (its header has extra growth padding)', () => {
    const path = tempFile('np.npy', '');
    const out = spawnSync('python3', ['-c', `import numpy as np; np.save(${JSON.stringify(path)}, np.arange(12, dtype='<f4').reshape(4, 3) / 4)`], { encoding: 'utf8' });
    expect(out.status).toBe(0);
    const a = decodeNpy(readFileSync(path));
    expect(a.shape).toEqual([4, 3]);
    expect([...a.data]).toEqual(Array.from({ length: 12 }, (_, j) => j / 4));
  });
});

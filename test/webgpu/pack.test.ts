// Binding packing (runtime/exec/webgpu/pack.ts) without a device: which arguments are packed (as many
// as free the bindings needed, immutable data first, then the smallest), and that the rewritten kernel
// source, run as JavaScript over the packed array, computes what the original computes over the
// separate arrays — nested indices and ternaries inside an index included. The device side (nce on
// lavapipe, three examples forced to 4 bindings) is in kernels.test.ts.
import { describe, expect, it } from 'vitest';
import type { Arg } from '../../compiler/plan/plan.ts';
import { choosePacking, packSource, PACK_NAME } from '../../runtime/exec/webgpu/pack.ts';

const args: Arg[] = [
  { name: 'p0', kind: 'tensor', tensor: 'U', tensorKind: 'param', size: 6 },
  { name: 'p1', kind: 'ids', rel: 'r', col: 'user', size: 4 },
  { name: 'p2', kind: 'temp', temp: 't1', size: 4 },
  { name: 'p3', kind: 'csr-offsets', rel: 'r', col: 'user', size: 4 },
  { name: 'p4', kind: 'tensor', tensor: 'lambda', tensorKind: 'hyper', size: 1 },
];

const source = [
  'function (p0, p1, p2, p3, p4) {',
  '  // t[a] = a comment naming p0[ and p1[x] is left alone',
  '  const w0 = this.thread.x;',
  '  const w1 = p0[p1[w0] * 2 + (w0 > 1 ? 1 : 0)];',
  '  return w1 * p4[0] + p2[p3[w0 > 2 ? 2 : w0]] - p0[w0 + 1];',
  '}',
].join('\n');

type Kernel = (...a: Float32Array[]) => number;
const compile = (src: string): Kernel => new Function(`return ${src}`)() as Kernel;

function runAll(k: Kernel, inputs: Float32Array[]): number[] {
  return [0, 1, 2, 3].map((x) => k.apply({ thread: { x } }, inputs));
}

describe('binding packing', () => {
  it('packs nothing when the kernel fits, else just enough arrays, immutable ones first and the smallest', () => {
    expect(choosePacking(args, 6, 1e6)).toBeUndefined();
    // 5 args + output = 6 bindings; 4 allowed: 2 too many → 3 arrays into one pack
    const p = choosePacking(args, 4, 1e6)!;
    expect(p.parts.map((j) => args[j]!.name)).toEqual(['p4', 'p1', 'p3']);
    expect(p.offsets).toEqual([0, 1, 5]);
    expect(p.length).toBe(9);
    expect(p.immutable).toBe(true);
    // 3 allowed: 4 arrays, a temp joins (the pack is then copied each run)
    const q = choosePacking(args, 3, 1e6)!;
    expect(q.parts.map((j) => args[j]!.name)).toEqual(['p4', 'p1', 'p3', 'p2']);
    expect(q.immutable).toBe(false);
    // a pack that would pass the storage-buffer limit is not made
    expect(choosePacking(args, 3, 10)).toBeUndefined();
  });

  it('the packed source computes what the original does', () => {
    const U = Float32Array.of(1, 2, 3, 4, 5, 6);
    const ids = Float32Array.of(2, 0, 1, 2);
    const t1 = Float32Array.of(10, 20, 30, 40);
    const off = Float32Array.of(3, 1, 0, 2);
    const lambda = Float32Array.of(0.5);
    const want = runAll(compile(source), [U, ids, t1, off, lambda]);
    for (const max of [4, 3, 2]) {
      const p = choosePacking(args, max, 1e6)!;
      const packed = packSource(source, args, p);
      expect(packed.split('\n')[0]).toBe(`function (${[...args.filter((_, j) => !p.parts.includes(j)).map((a) => a.name), PACK_NAME].join(', ')}) {`);
      expect(packed).toContain('// t[a] = a comment naming p0[ and p1[x] is left alone');
      const all = [U, ids, t1, off, lambda];
      const pk = new Float32Array(p.length);
      p.parts.forEach((j, k) => pk.set(all[j]!, p.offsets[k]!));
      const got = runAll(compile(packed), [...all.filter((_, j) => !p.parts.includes(j)), pk]);
      expect(got, `${max} bindings:\n${packed}`).toEqual(want);
    }
  });
});

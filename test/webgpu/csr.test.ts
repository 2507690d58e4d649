// A mini-batch's CSR index built on the device (runtime/exec/webgpu/csr.ts) is buildCsr's, bit for
// bit: offsets over the whole domain and the stable permutation (equal ids in their order), for
// lengths from 1 to the workgroup's 4096, skewed ids and ids missing from the column. Skipped where
// no adapter answers.
import { afterAll, describe, expect, it } from 'vitest';
import { Rng } from '../../runtime/data/rng.ts';
import { buildCsr } from '../../runtime/exec/executor.ts';
import { CSR_ON_DEVICE_MAX, csrOffsetsSource, csrOnDevice, csrSortSource } from '../../runtime/exec/webgpu/csr.ts';
import { rowGroups } from '../../runtime/exec/webgpu/rows.ts';
import { openTestDevice } from './available.ts';

const { device, skip } = openTestDevice();
afterAll(() => device?.close());

describe.skipIf(skip !== undefined)(`CSR indexes built on the device${skip ? ` — skipped: ${skip}` : ''}`, () => {
  it.each([
    [1, 5],
    [7, 3],
    [300, 943],
    [1024, 1682],
    [CSR_ON_DEVICE_MAX, 600],
    [CSR_ON_DEVICE_MAX - 1, 40],
  ])('%i ids over %i values: buildCsr exactly', (n, domain) => {
    expect(csrOnDevice(n, domain)).toBe(true);
    const rng = new Rng(n * 31 + domain);
    // skewed: a few popular ids, many absent ones
    const ids = Float32Array.from({ length: n }, () => Math.floor(domain * rng.uniform() ** 3));
    const want = buildCsr(ids, domain);
    const dev = device!;
    const [keys, perm, sorted, offsets] = [dev.id(), dev.id(), dev.id(), dev.id()];
    dev.upload(keys, ids, 'ids');
    dev.post({ op: 'compute', source: csrSortSource(n), buffers: [keys, perm, sorted], alloc: [{ id: perm, n }, { id: sorted, n }], groups: [1] });
    dev.post({ op: 'compute', source: csrOffsetsSource(n, domain), buffers: [sorted, offsets], alloc: [{ id: offsets, n: domain + 1 }], groups: rowGroups(domain + 1) });
    const [o, p] = dev.read([offsets, perm]);
    dev.post({ op: 'free', ids: [keys, perm, sorted, offsets] });
    expect(Array.from(o!)).toEqual(Array.from(want.offsets));
    expect(Array.from(p!)).toEqual(Array.from(want.perm));
  });

  it('longer columns, or ids·n past 32 bits, stay on the host', () => {
    expect(csrOnDevice(CSR_ON_DEVICE_MAX + 1, 10)).toBe(false);
    expect(csrOnDevice(4096, 2 ** 20)).toBe(false);
    expect(csrOnDevice(0, 10)).toBe(false);
  });
});

// Acceptance (issue 12, items 2 and 3): one short training run of each model family (mf-gramian and
// enmf full batch, bpr and mf-biased in mini-batches, on the bundled data) on webgpu with params
// resident on the device reaches the js kernels' metrics and loss within float32 noise; and after
// warm-up a step moves only the loss scalars to the host (partial sums added on the device), and to the device only the
// optimizer's 48-byte uniforms (full batch) plus the batch's ids, CSR index and touched rows
// (mini-batches) — never the params. Skipped with the reason where no WebGPU device answers.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { GpuBackend } from '../../runtime/backends/backends.ts';
import { WebGpuBackend } from '../../runtime/exec/webgpu/backend.ts';
import { UPDATE_UNIFORM_BYTES } from '../../runtime/exec/webgpu/optimizer.ts';
import { train, type TrainResult } from '../../runtime/train/train.ts';
import { EXAMPLES_DIR, loadExample } from '../helpers/examples.ts';
import { relErr } from '../helpers/ir-env.ts';
import { openTestDevice } from './available.ts';

const { device, skip } = openTestDevice();
afterAll(() => device?.close());

/**
 * The families, each with a step count that ends on no evaluation of its own but the last. `dim`:
 * mf-biased's batch of 4096 ratings (ids, ratings, the batch's CSR index, touched rows: ~127 KB a
 * step, drawn on the host) weighs as much as its d=32 params, so there d is raised until params
 * dwarf a batch and "a step moves no params" can be told apart by bytes.
 */
const FAMILIES: readonly { file: string; steps: number; dim?: number; users?: number; bindingBytes?: number }[] = [
  { file: 'mf-gramian.recmodel', steps: 12 },
  { file: 'enmf.recmodel', steps: 12 },
  // user mini-batches (`batch 200 users` of 600): U's member rows are gathered and its gradient
  // scattered on the device; only the members' ids and the batch's restricted relation go up
  { file: 'enmf.recmodel', steps: 7, users: 200 },
  // the same and mf-gramian with 64 and 32 KiB storage bindings: params over one are read by recc's WGSL
  // kernels through windows, updated a window at a time, and a user batch's rows gathered and its
  // gradient scattered window by window (what a param over lavapipe's 128 MiB gets; large.test.ts)
  { file: 'enmf.recmodel', steps: 7, users: 200, bindingBytes: 65536 },
  { file: 'mf-gramian.recmodel', steps: 12, bindingBytes: 32768 },
  { file: 'bpr.recmodel', steps: 8 },
  { file: 'mf-biased.recmodel', steps: 5, dim: 256 },
];

describe.skipIf(skip !== undefined)(`training on webgpu with resident params${skip ? ` — skipped: ${skip}` : ''}`, () => {
  describe.each(FAMILIES)('examples/$file, $steps steps (batch of $users users, $bindingBytes-byte bindings)', ({ file, steps, dim, users, bindingBytes }) => {
    const path = join(EXAMPLES_DIR, file);
    let text = readFileSync(path, 'utf8');
    if (dim !== undefined) text = text.replace(/^dim d = \d+$/m, `dim d = ${dim}`);
    if (users !== undefined) text = text.replace(/ batch full /, ` batch ${users} users `);
    const l = loadExample(path, text);
    if (users !== undefined) expect(l.compiled.model.train.batch.kind).toBe('users');
    const paramBytes = [...l.compiled.module.params].reduce((a, p) => a + p.shape.reduce((n, s) => n * (l.sizes.get(s) ?? 1), 1) * 4, 0);

    it('reaches the js metrics and loss, and a step after warm-up moves no params', () => {
      const js = new GpuBackend('js', l.compiled.module.spaces);
      const want = train(l.compiled, l.ds, { backend: js, steps });
      js.dispose();

      const gpu = new WebGpuBackend(l.compiled.module.spaces, device, bindingBytes ? { maxBindingBytes: bindingBytes } : {});
      const perStep: { toDevice: number; toHost: number }[] = [];
      let last = { ...gpu.device.traffic };
      const got: TrainResult = train(l.compiled, l.ds, {
        backend: gpu,
        steps,
        onStep: () => {
          const now = gpu.device.traffic;
          perStep.push({ toDevice: now.toDevice - last.toDevice, toHost: now.toHost - last.toHost });
          last = { ...now };
        },
      });

      expect(got.stepsRun).toBe(steps);
      const a = want.log.at(-1)!;
      const b = got.log.at(-1)!;
      expect(relErr(b.total, a.total), `last loss: webgpu ${b.total} vs js ${a.total}`).toBeLessThan(1e-3);
      const wm = (want.heldOut.test ?? want.evals.at(-1)!).metrics;
      const gm = (got.heldOut.test ?? got.evals.at(-1)!).metrics;
      for (const [k, v] of Object.entries(wm)) expect(Math.abs(gm[k]! - v), `${k}: webgpu ${gm[k]} vs js ${v}`).toBeLessThan(2e-3);

      // steps 3.. (kernels built, data columns and CSR indexes of the full data uploaded once)
      const warm = perStep.slice(2);
      const batched = users !== undefined || (l.compiled.model.train.batch.kind === 'tuples' && l.compiled.model.train.batch.size < l.ds.train.get(l.ds.primary)!.size);
      // one uniform block per update launch: one per window of the param that one binding spans
      const cellsOf = (name: string): number => l.compiled.module.params.find((p) => p.name === name)!.shape.reduce((n, s) => n * (l.sizes.get(s) ?? 1), 1);
      const uniforms = l.compiled.grads.reduce((n, g) => n + UPDATE_UNIFORM_BYTES * Math.max(1, Math.ceil(cellsOf(g.param) / gpu.exec.tileCells)), 0);
      if (bindingBytes) expect(gpu.exec.tiledKernels, 'kernels reading or writing through windows').toBeGreaterThan(0);
      // what comes back is the loss scalars only: each host-sum's partials are summed on the device into
      // a float32 pair (8 bytes; before that, mf-biased at d=256 read ~49 KB of partials a step), plus
      // the odd one-cell scalar: a few dozen bytes per term, never the params nor the partials
      const hostBound = 64 * l.compiled.terms.length;
      for (const [j, t] of warm.entries()) {
        expect(t.toHost, `step ${j + 3}: ${t.toHost} bytes to the host (params are ${paramBytes}; ${l.compiled.terms.length} terms)`).toBeLessThanOrEqual(hostBound);
        // a batch's ids (a user batch's: its members and their tuples, ~29 KB for enmf) are drawn on the host
        // and go up each step (their CSR indexes are sorted on the device), never the params (a user batch
        // uploaded all 256 KB of them every step before its rows were gathered on the device)
        if (batched) expect(t.toDevice, `step ${j + 3}: ${t.toDevice} bytes to the device`).toBeLessThan(paramBytes / 4);
        else expect(t.toDevice, `step ${j + 3}: only the update kernels' uniforms`).toBe(uniforms);
      }
      console.log(`${file} on webgpu: ${steps} steps, after warm-up per step ${Math.max(...warm.map((t) => t.toDevice))} B to the device, ${Math.max(...warm.map((t) => t.toHost))} B to the host; params ${paramBytes} B; last loss ${b.total.toPrecision(6)} (js ${a.total.toPrecision(6)})`);
    });
  });
});

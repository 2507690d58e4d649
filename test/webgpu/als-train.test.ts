// ALS on webgpu (issue 12: params and optimizer state resident, the update a kernel, only loss scalars
// per step): examples/ials.recmodel and wals.recmodel trained by `optimizer als` on webgpu reach the wasm
// kernels' loss and metrics within train.test.ts's tolerances (loss 1e-3 relative, metrics 2e-3), with
// the row solves in float32 on the device (runtime/exec/webgpu/solve.ts) against wasm's float64
// solveRows; also with CG, user batches (`batch 200 users`: rows gathered, solved and scattered on the
// device), 1 MiB storage bindings (H solved a few hundred rows a launch, params in windows), and
// mf-biased and enmf trained by ALS (bias blocks of 1×1 rows, a global mean, ENMF's h[d]). After
// warm-up a sweep moves only the loss terms (two float32s per sum) and one status word per solve to the
// host, and nothing to the device (but a global mean's scalar H and g, 4 bytes each). A block whose H_r is not positive definite stops the run naming it,
// as on wasm. Skipped with the reason where no WebGPU device answers.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { GpuBackend } from '../../runtime/backends/backends.ts';
import { WebGpuBackend } from '../../runtime/exec/webgpu/backend.ts';
import { alsBatches } from '../../runtime/train/als.ts';
import { train } from '../../runtime/train/train.ts';
import { EXAMPLES_DIR, loadExample } from '../helpers/examples.ts';
import { relErr } from '../helpers/ir-env.ts';
import { openTestDevice } from './available.ts';

const { device, skip } = openTestDevice();
afterAll(() => device?.close());

/** Each variant evaluates once, at the end (no evaluation's params read back inside the sweeps measured). */
const VARIANTS: readonly { file: string; sweeps: number; edit?: (t: string) => string; label: string; bindingBytes?: number }[] = [
  { file: 'ials.recmodel', sweeps: 6, label: 'Cholesky' },
  { file: 'wals.recmodel', sweeps: 6, label: 'Cholesky' },
  { file: 'ials.recmodel', sweeps: 6, label: 'CG, 3 steps', edit: (t) => t.replace(/blocks V, U seed 42/, 'blocks V, U solver cg(steps = 3) seed 42') },
  { file: 'ials.recmodel', sweeps: 5, label: 'batch 200 users', edit: (t) => t.replace(/blocks V, U seed 42/, 'blocks V, U batch 200 users seed 42') },
  { file: 'wals.recmodel', sweeps: 5, label: '1 MiB bindings', bindingBytes: 1 << 20 },
  // biases (blocks of 1×1 rows) and a global mean (one scalar row), by CG; ENMF's h[d] (one d×d row)
  { file: 'mf-biased.recmodel', sweeps: 5, label: 'als blocks U, V, bu, bi, mu by CG', edit: (t) => asAls(t, 5, 'solver cg(steps = 3)') },
  { file: 'mf-biased.recmodel', sweeps: 5, label: 'als blocks U, V, bu, bi, mu', edit: (t) => asAls(t, 5, '') },
  { file: 'enmf.recmodel', sweeps: 5, label: 'als blocks P, Q, h', edit: (t) => asAls(t, 5, '') },
];

/** An example trained by `optimizer als` instead (its `sweep` block searches lr, which ALS has not: RC0608). */
function asAls(text: string, sweeps: number, solver: string): string {
  return text.replace(/train\s*\{[^}]*\}/, `train { optimizer als(sweeps = ${sweeps}) ${solver} seed 42 }`).replace(/sweep\s*\{[^}]*\}/, '');
}

describe.skipIf(skip !== undefined)(`ALS on webgpu, solved on the device${skip ? ` — skipped: ${skip}` : ''}`, () => {
  it.each(VARIANTS)('examples/$file ($label): the wasm metrics and loss; a sweep after warm-up moves only loss scalars', ({ file, sweeps, edit, bindingBytes }) => {
    const path = join(EXAMPLES_DIR, file);
    let text = readFileSync(path, 'utf8').replace(/ every \d+ (steps|epochs)/, '');
    if (edit) text = edit(text);
    const l = loadExample(path, text);
    expect(l.compiled.model.train.optimizer.kind).toBe('als');
    const paramBytes = [...l.compiled.module.params].reduce((a, p) => a + p.shape.reduce((n, s) => n * (l.sizes.get(s) ?? 1), 1) * 4, 0);

    const wasm = new GpuBackend('wasm', l.compiled.module.spaces);
    const want = train(l.compiled, l.ds, { backend: wasm, steps: sweeps });
    wasm.dispose();

    const gpu = new WebGpuBackend(l.compiled.module.spaces, device, bindingBytes ? { maxBindingBytes: bindingBytes } : {});
    const perSweep: { toDevice: number; toHost: number }[] = [];
    let last = { ...gpu.device.traffic };
    const got = train(l.compiled, l.ds, {
      backend: gpu,
      steps: sweeps,
      onStep: () => {
        const now = gpu.device.traffic;
        perSweep.push({ toDevice: now.toDevice - last.toDevice, toHost: now.toHost - last.toHost });
        last = { ...now };
      },
    });

    expect(got.diverged).toBeUndefined();
    expect(got.stepsRun).toBe(sweeps);
    const a = want.log.at(-1)!;
    const b = got.log.at(-1)!;
    expect(relErr(b.total, a.total), `last loss: webgpu ${b.total} vs wasm ${a.total}`).toBeLessThan(1e-3);
    const wm = (want.heldOut.test ?? want.evals.at(-1)!).metrics;
    const gm = (got.heldOut.test ?? got.evals.at(-1)!).metrics;
    expect(Object.keys(wm).length).toBeGreaterThan(0);
    for (const [k, v] of Object.entries(wm)) expect(Math.abs(gm[k]! - v), `${k}: webgpu ${gm[k]} vs wasm ${v}`).toBeLessThan(2e-3);
    if (bindingBytes) expect(gpu.exec.tiledKernels, 'kernels reading or writing through windows').toBeGreaterThan(0);

    // sweeps 3.. (kernels built, data, CSR indexes, params and the batches' members uploaded once); the
    // last entry holds the final objective and evaluation, not a sweep
    const warm = perSweep.slice(2, -1);
    expect(warm.length).toBeGreaterThan(0);
    const blocks = l.compiled.blocks!.length;
    const batches = alsBatches(l.compiled, l.ds)?.batches.length ?? 0;
    // per block update: the terms (each a two-float sum or a one-cell scalar: a few dozen bytes each), and
    // 4 bytes of status per solve (one per block, or per batch of a batched block)
    const hostBound = blocks * 64 * l.compiled.terms.length + 4 * (blocks + batches);
    // a block of one number (a global mean): its H and g are scalar sums, read back as terms are and
    // put back on the device for the solve, 4 bytes each; nothing else goes up
    const scalarBlocks = l.compiled.blocks!.filter((bl) => bl.hessian.out.length === 0).length;
    for (const [j, t] of warm.entries()) {
      expect(t.toHost, `sweep ${j + 3}: ${t.toHost} bytes to the host (params are ${paramBytes})`).toBeLessThanOrEqual(hostBound + 2 * 64 * scalarBlocks);
      expect(t.toDevice, `sweep ${j + 3}: ${t.toDevice} bytes to the device`).toBe(8 * scalarBlocks);
    }
    console.log(`${file} on webgpu: ${sweeps} sweeps, after warm-up per sweep ${Math.max(...warm.map((t) => t.toDevice))} B to the device, ${Math.max(...warm.map((t) => t.toHost))} B to the host; params ${paramBytes} B; last loss ${b.total.toPrecision(6)} (wasm ${a.total.toPrecision(6)}); ${JSON.stringify(gm)}`);
  });

  it('a block whose H_r is not positive definite stops the run naming it, as on wasm, the params as they were', () => {
    // λ < 0: a user's H_u = 2(Σ w V_i V_iᵀ + λI) has a negative eigenvalue where V_i span less than d dims
    const path = join(EXAMPLES_DIR, 'wals.recmodel');
    const l = loadExample(path, readFileSync(path, 'utf8').replace('const lambda = 0.05', 'const lambda = -0.5'));
    const wasm = new GpuBackend('wasm', l.compiled.module.spaces);
    const want = train(l.compiled, l.ds, { backend: wasm, steps: 3 });
    wasm.dispose();
    const gpu = new WebGpuBackend(l.compiled.module.spaces, device);
    const got = train(l.compiled, l.ds, { backend: gpu, steps: 3 });
    expect(want.diverged).toEqual({ term: 'H(U)', step: 1, value: 0 });
    expect(got.diverged).toEqual(want.diverged);
    expect(got.stepsRun).toBe(want.stepsRun);
    for (const [name, p] of want.params) expect(got.params.get(name), name).toEqual(p);
  });
});

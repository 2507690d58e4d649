// The wasm optimizer step (runtime/exec/wasm/optimizer.ts, runtime/train/wasm-update.ts): each rule
// (sgd, momentum, adagrad, adam) over each segment layout (a dense gradient, one at the touched rows,
// a dense one read at the touched rows) writes the bytes of optimizer.ts's JS loops, params and slots;
// its finiteness check finds the first non-finite element in row order; and mini-batch training on
// wasm (touched rows, lazy Adam, sampled negatives) ends with the js run's params, optimizer slots and
// losses for every rule, on 1 and 2 threads (batches gathered on a worker), and a run resumed from a
// checkpoint continues with them.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { GradientOptimizerInfo } from '../../compiler/check/model.ts';
import { GpuBackend } from '../../runtime/backends/backends.ts';
import { Arena } from '../../runtime/exec/wasm/memory.ts';
import { WasmOptimizer, type UpdateRule } from '../../runtime/exec/wasm/optimizer.ts';
import { Rng } from '../../runtime/data/rng.ts';
import { applyUpdate, createState } from '../../runtime/train/optimizer.ts';
import { train, type TrainState } from '../../runtime/train/train.ts';
import { EXAMPLES_DIR, loadExample } from '../helpers/examples.ts';

const bytes = (a: Float32Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

const RULES: readonly [UpdateRule, GradientOptimizerInfo][] = [
  ['sgd', { kind: 'sgd', lr: 0.05, momentum: 0 }],
  ['momentum', { kind: 'sgd', lr: 0.05, momentum: 0.9 }],
  ['adagrad', { kind: 'adagrad', lr: 0.05, eps: 1e-8 }],
  ['adam', { kind: 'adam', lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8 }],
];

describe('the wasm update kernels', () => {
  const rows = Int32Array.from([0, 3, 4, 9]);
  const width = 5;
  const nRows = 10;
  const rng = new Rng(7);
  const random = (n: number): Float32Array => Float32Array.from({ length: n }, () => rng.uniform() * 2 - 1);
  /** one random param W as the JS update holds it and as the wasm kernels do (in an arena, slots resident) */
  const twin = (opt: GradientOptimizerInfo) => {
    const arena = new Arena({ initial: 1 << 16 });
    const kernels = new WasmOptimizer(arena.memory);
    const start = random(nRows * width);
    const jsP = new Map([['W', Float32Array.from(start)]]);
    const jsState = createState(opt, jsP);
    const wP = arena.resident(start);
    const wState = createState(opt, new Map([['W', wP]]));
    const wSlots = wState.slots.get('W')!.map((x) => arena.resident(x));
    return { arena, kernels, start, jsP, jsState, wP, wState, wSlots };
  };

  it.each(RULES)('%s writes the JS update’s bytes (dense, at rows, dense read at rows)', (rule, opt) => {
    for (const layout of ['dense', 'at-rows', 'dense-at-rows'] as const) {
      const { arena, kernels, start, jsP, jsState, wP, wState, wSlots } = twin(opt);
      for (let t = 0; t < 3; t++) {
        const g = layout === 'at-rows' ? random(rows.length * width) : random(nRows * width);
        // the JS reference: a dense gradient, or the touched rows' values
        const values = layout === 'dense-at-rows' ? Float32Array.from(Array.from(rows).flatMap((r) => [...g.subarray(r * width, (r + 1) * width)])) : g;
        applyUpdate(opt, jsState, jsP, new Map([['W', layout === 'dense' ? values : { rows, values, width }]]), opt.lr);
        wState.step++;
        const gw = arena.resident(g);
        const rowsAt = arena.resident(new Float32Array(rows.buffer.slice(0)));
        const seg = layout === 'dense' ? { p: arena.addressOf(wP)!, g: arena.addressOf(gw)!, rows: 0, n: 1, width: wP.length, atRows: true } : { p: arena.addressOf(wP)!, g: arena.addressOf(gw)!, rows: arena.addressOf(rowsAt)!, n: rows.length, width, atRows: layout === 'at-rows' };
        const s = wState.step;
        const h = opt.kind === 'adam' ? [opt.beta1, 1 - opt.beta1, opt.beta2, 1 - opt.beta2, opt.eps, 1 - Math.pow(opt.beta1, s), 1 - Math.pow(opt.beta2, s)] : opt.kind === 'adagrad' ? [opt.eps] : opt.kind === 'sgd' && opt.momentum ? [opt.momentum] : [];
        kernels.update(rule, seg, wSlots[0] ? arena.addressOf(wSlots[0])! : 0, wSlots[1] ? arena.addressOf(wSlots[1])! : 0, opt.lr, h);
      }
      expect(Buffer.compare(bytes(wP), bytes(jsP.get('W')!)), `${layout}: params`).toBe(0);
      jsState.slots.get('W')!.forEach((s, k) => expect(Buffer.compare(bytes(wSlots[k]!), bytes(s)), `${layout}: slot ${k}`).toBe(0));
      if (layout !== 'dense') {
        // rows the batch did not touch keep their start values
        expect(wP[1 * width]).toBe(start[1 * width]);
      }
    }
  });

  it('adam past the step where its bias corrections reach 1 (their divisions left out) keeps the JS bits', () => {
    // β₁ = 0.1, β₂ = 0.2: 1 − βᵗ rounds to 1 in float32 from t = 8 and t = 11 on (exactly 1 in float64 from 17 and 24)
    const opt: GradientOptimizerInfo = { kind: 'adam', lr: 0.01, beta1: 0.1, beta2: 0.2, eps: 1e-8 };
    const { arena, kernels, jsP, jsState, wP, wSlots } = twin(opt);
    for (let t = 1; t <= 30; t++) {
      const g = random(nRows * width);
      applyUpdate(opt, jsState, jsP, new Map([['W', g]]), opt.lr);
      const gw = arena.resident(g);
      kernels.update('adam', { p: arena.addressOf(wP)!, g: arena.addressOf(gw)!, rows: 0, n: 1, width: wP.length, atRows: true }, arena.addressOf(wSlots[0]!)!, arena.addressOf(wSlots[1]!)!, opt.lr, [0.1, 1 - 0.1, 0.2, 1 - 0.2, 1e-8, 1 - Math.pow(0.1, t), 1 - Math.pow(0.2, t)]);
      expect(Buffer.compare(bytes(wP), bytes(jsP.get('W')!)), `step ${t}`).toBe(0);
    }
    expect([Math.fround(1 - Math.pow(0.1, 7)), Math.fround(1 - Math.pow(0.1, 8))]).toEqual([Math.fround(1 - 1e-7), 1]);
    expect([Math.fround(1 - Math.pow(0.2, 10)), Math.fround(1 - Math.pow(0.2, 11))]).toEqual([Math.fround(1 - Math.pow(0.2, 10)), 1]);
    expect(Math.fround(1 - Math.pow(0.2, 10))).toBeLessThan(1);
  });

  it('finds the first non-finite gradient element in row order', () => {
    const arena = new Arena({ initial: 1 << 16 });
    const kernels = new WasmOptimizer(arena.memory);
    const p = arena.resident(new Float32Array(nRows * width));
    const g = arena.resident(new Float32Array(nRows * width).fill(0.5));
    const rowsAt = arena.resident(new Float32Array(rows.buffer.slice(0)));
    const out = arena.resident(new Float32Array(1));
    const seg = (atRows: boolean, dense = false) => ({ p: arena.addressOf(p)!, g: arena.addressOf(g)!, rows: dense ? 0 : arena.addressOf(rowsAt)!, n: dense ? 1 : rows.length, width: dense ? p.length : width, atRows });
    const at = (x: number): number => (x === 0 ? -1 : (x - arena.addressOf(g)!) / 4);
    expect(at(kernels.firstNonFinite(seg(true, true), arena.addressOf(out)!))).toBe(-1);
    g[2 * width + 1] = Infinity; // row 2: untouched by rows (0, 3, 4, 9) read densely, but 3rd row at rows
    g[9 * width + 4] = NaN;
    expect(at(kernels.firstNonFinite(seg(true, true), arena.addressOf(out)!))).toBe(2 * width + 1);
    expect(at(kernels.firstNonFinite(seg(true), arena.addressOf(out)!))).toBe(2 * width + 1);
    expect(at(kernels.firstNonFinite(seg(false), arena.addressOf(out)!))).toBe(9 * width + 4);
    g[9 * width + 4] = -Infinity;
    g[2 * width + 1] = 3;
    expect(at(kernels.firstNonFinite(seg(false), arena.addressOf(out)!))).toBe(9 * width + 4);
    g[9 * width + 4] = 3.4e38;
    expect(at(kernels.firstNonFinite(seg(false), arena.addressOf(out)!))).toBe(-1);
    // in the last lane of a row's first four (the check runs on f32x4 lanes)
    g[1 * width + 3] = NaN;
    expect(at(kernels.firstNonFinite(seg(true), arena.addressOf(out)!))).toBe(1 * width + 3);
    expect(at(kernels.firstNonFinite(seg(true, true), arena.addressOf(out)!))).toBe(1 * width + 3);
  });
});

const opened: GpuBackend[] = [];
afterAll(() => opened.forEach((b) => b.dispose()));

/** the example with another optimizer (and a small batch, so that a few steps touch part of the rows) */
function load(file: string, optimizer: string) {
  const path = join(EXAMPLES_DIR, file);
  const text = readFileSync(path, 'utf8').replace(/optimizer \w+\([^)]*\)/, `optimizer ${optimizer}`).replace(/batch \d+/, 'batch 256');
  return loadExample(path, text);
}

/** a run's end: params and optimizer slots as bytes, and the losses */
function run(l: ReturnType<typeof load>, mode: 'js' | 'wasm', threads: number, steps: number, resume?: TrainState) {
  const b = new GpuBackend(mode, l.compiled.module.spaces, { threads, minParallelFlops: 0 });
  opened.push(b);
  let end: TrainState | undefined;
  const copy = (s: TrainState): TrainState => ({
    ...s,
    params: new Map([...s.params].map(([k, v]) => [k, Float32Array.from(v)])),
    optimizer: { step: s.optimizer.step, slots: new Map([...s.optimizer.slots].map(([k, v]) => [k, v.map((x) => Float32Array.from(x))])) },
    log: [...s.log],
  });
  // on 2 threads each next batch is gathered on a worker (batch-prefetch.ts), however small the data
  const r = train(l.compiled, l.ds, { backend: b, steps, resume, prefetchMinTuples: 0, checkpoint: { atEnd: true, save: (s) => (end = copy(s)) } });
  expect(b.fallbacks()).toEqual([]);
  return { r, end: end! };
}

describe.each([
  ['bpr.recmodel', 'adam(lr = 0.005)'],
  ['mf-biased.recmodel', 'adam(lr = 0.005)'],
  ['mf-biased.recmodel', 'sgd(lr = 0.05)'],
  ['mf-biased.recmodel', 'sgd(lr = 0.05, momentum = 0.9)'],
  ['bpr.recmodel', 'adagrad(lr = 0.05)'],
])('%s with %s, trained on wasm', (file, optimizer) => {
  const l = load(file, optimizer);
  const want = run(l, 'js', 1, 5);

  it('ends with the js run’s params, slots and losses (1 and 2 threads)', () => {
    for (const threads of [1, 2]) {
      const got = run(l, 'wasm', threads, 5);
      expect(got.r.log.map((s) => s.terms)).toEqual(want.r.log.map((s) => s.terms));
      for (const [name, p] of want.end.params) expect(Buffer.compare(bytes(got.end.params.get(name)!), bytes(p)), `${threads} threads: ${name}`).toBe(0);
      for (const [name, slots] of want.end.optimizer.slots) slots.forEach((s, k) => expect(Buffer.compare(bytes(got.end.optimizer.slots.get(name)![k]!), bytes(s)), `${threads} threads: ${name} slot ${k}`).toBe(0));
      expect(got.r.params.get('U')!.buffer).toBeInstanceOf(SharedArrayBuffer);
    }
  });

  it('resumed from a checkpoint, continues with the same numbers (1 and 2 threads)', () => {
    for (const threads of [1, 2]) {
      const half = run(l, 'wasm', threads, 2);
      const rest = run(l, 'wasm', threads, 5, half.end);
      for (const [name, p] of want.end.params) expect(Buffer.compare(bytes(rest.end.params.get(name)!), bytes(p)), `${threads} threads: ${name}`).toBe(0);
      expect(rest.r.log.map((s) => s.terms)).toEqual(want.r.log.map((s) => s.terms));
    }
  });
});

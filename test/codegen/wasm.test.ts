// The wasm mode (codegen/wasm/, runtime/exec/wasm/): its kernels write the same bytes as the js
// kernels of the same steps (one schedule, the same IEEE operations, SIMD lanes included) on every
// term and gradient of the full-batch examples, with no step left to the js fallback; 1, 2 and 3
// threads give the same bytes with every splittable kernel really split; training on wasm (params
// resident in the arena, the optimizer updating them there) ends with the js run's params; the
// memory arena keeps resident arrays, caches by identity, reuses its per-run region and survives
// growth; every kernel step of the other examples lowers; and text outside the js kernels'
// statement language is refused, not lowered.
// The oracle tests (accuracy, corpus, examples-kernels, executor, large, reduce) run wasm as well.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseKernel, Unsupported } from '../../compiler/codegen/parse.ts';
import { emitWasmKernel } from '../../compiler/codegen/wasm/kernel.ts';
import { genFunction } from '../../compiler/codegen/wasm/gen.ts';
import { planGroup } from '../../compiler/plan/plan.ts';
import { GpuBackend } from '../../runtime/backends/backends.ts';
import { makeEnv } from '../../runtime/exec/env.ts';
import { Arena } from '../../runtime/exec/wasm/memory.ts';
import { initParams, train } from '../../runtime/train/train.ts';
import { EXAMPLES_DIR, loadExample, type Loaded } from '../helpers/examples.ts';

const opened: GpuBackend[] = [];
afterAll(() => opened.forEach((b) => b.dispose()));
const backend = (l: Loaded, mode: 'js' | 'wasm', threads = 1): GpuBackend => {
  const b = new GpuBackend(mode, l.compiled.module.spaces, { threads, minParallelFlops: 0 });
  opened.push(b);
  return b;
};

const load = (f: string): Loaded => {
  const path = join(EXAMPLES_DIR, f);
  return loadExample(path, readFileSync(path, 'utf8'));
};

/** every term (float64 host sums of float32 partials) and gradient of one full-batch step */
function step(l: Loaded, b: GpuBackend): { scalars: number[]; tensors: Uint8Array[] } {
  const env = makeEnv(l.compiled, l.sizes, initParams(l.compiled, l.sizes, 3), l.ds.train);
  const r = b.evalMany(
    l.compiled.terms.map((t) => t.expr),
    l.compiled.grads.map((g) => ({ expr: g.expr, out: g.out })),
    env,
  );
  return { scalars: r.scalars, tensors: r.tensors.map((t) => new Uint8Array(t.buffer, t.byteOffset, t.byteLength).slice()) };
}

describe.each(['mf-gramian.recmodel', 'enmf.recmodel', 'mf-biased.recmodel'])('%s on wasm', (file) => {
  const l = load(file);
  const want = step(l, backend(l, 'js'));

  it('writes the js kernels’ bytes, every step on a wasm kernel', () => {
    const b = backend(l, 'wasm');
    const got = step(l, b);
    expect(got.scalars).toEqual(want.scalars);
    got.tensors.forEach((t, j) => expect(Buffer.compare(t, want.tensors[j]!), `∂/∂${l.compiled.grads[j]!.param}`).toBe(0));
    expect(b.fallbacks()).toEqual([]);
    expect(b.report().length).toBeGreaterThan(3);
  });

  it('gives the same bytes on 1, 2 and 3 threads, with its row loops split', () => {
    for (const threads of [2, 3]) {
      const b = backend(l, 'wasm', threads);
      const got = step(l, b);
      expect(got.scalars).toEqual(want.scalars);
      got.tensors.forEach((t, j) => expect(Buffer.compare(t, want.tensors[j]!), `${threads} threads: ∂/∂${l.compiled.grads[j]!.param}`).toBe(0));
      expect(b.parallelRuns, 'kernels split over threads').toBeGreaterThan(3);
    }
  });
});

// the other constructs: sparse features and FM pairs, sampled softmax (logsumexp, max), NCE and
// hinge (samplers, relu), iALS (whole-data weights)
describe.each(['fm.recmodel', 'sampled-softmax.recmodel', 'nce.recmodel', 'hinge.recmodel', 'ials.recmodel'])('%s', (file) => {
  it('lowers every kernel step to a valid wasm module (none left to the js fallback)', () => {
    const l = load(file);
    const g = planGroup([...l.compiled.terms.map((t) => ({ expr: t.expr, out: [] })), ...l.compiled.grads.map((x) => ({ expr: x.expr, out: x.out }))], l.compiled.module.spaces, l.sizes);
    const kernels = g.steps.filter((s) => s.kind === 'kernel');
    expect(kernels.length).toBeGreaterThan(2);
    for (const s of kernels) {
      const w = emitWasmKernel(s, g);
      expect(w.ok ? '' : w.unsupported, s.name).toBe('');
      if (w.ok) expect(WebAssembly.validate(w.bytes), s.name).toBe(true);
    }
  });
});

describe('training on wasm', () => {
  it('ends with the params of the same run on js (params resident, updated in place)', () => {
    const l = load('mf-biased.recmodel');
    const js = train(l.compiled, l.ds, { backend: backend(l, 'js'), steps: 4 });
    const wb = backend(l, 'wasm', 2);
    const wasm = train(l.compiled, l.ds, { backend: wb, steps: 4 });
    for (const [name, p] of js.params) expect(Buffer.compare(Buffer.from(p.buffer, p.byteOffset, p.byteLength), Buffer.from(wasm.params.get(name)!.buffer, wasm.params.get(name)!.byteOffset, p.byteLength)), name).toBe(0);
    expect(js.log.map((s) => s.total)).toEqual(wasm.log.map((s) => s.total));
    // the params the run returns live in the kernels' memory
    expect(wasm.params.get('U')!.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(wb.fallbacks()).toEqual([]);
  });
});

describe('the wasm memory arena', () => {
  it('keeps resident arrays, caches copies by identity, reuses the per-run region, survives growth', () => {
    const a = new Arena({ initial: 1 << 16, cacheBudget: 1 << 20 });
    const p = a.resident(Float32Array.from([1, 2, 3]));
    expect([...p]).toEqual([1, 2, 3]);
    const at = a.addressOf(p)!;
    expect(at).toBeGreaterThan(0);
    expect(new Float32Array(a.memory.buffer, at, 3)[1]).toBe(2);

    const ids = Int32Array.from([5, 6, 7]);
    const c1 = a.cachedCopy(ids);
    expect(a.cachedCopy(ids)).toBe(c1);
    expect([...new Int32Array(a.memory.buffer, c1, 3)]).toEqual([5, 6, 7]);
    expect(a.cachedCopy(p)).toBe(at); // an arena array is its own copy

    a.beginRun();
    const t1 = a.transient(Float32Array.from([9]));
    a.beginRun();
    expect(a.transient(Float32Array.from([8]))).toBe(t1);

    // growth: far past the initial 64 KiB; earlier views still read and write the same memory
    const big = new Float32Array(1 << 20).fill(4);
    const bp = a.cachedCopy(big);
    expect(a.memory.buffer.byteLength).toBeGreaterThan(4 << 20);
    p[0] = 11;
    expect(new Float32Array(a.memory.buffer, at, 1)[0]).toBe(11);
    expect(new Float32Array(a.memory.buffer, bp + 4 * 1000, 1)[0]).toBe(4);

    // past its budget the cache is dropped at the next run; resident arrays stay
    a.beginRun();
    expect(a.used).toBe(a.residentBytes);
    expect(a.cachedCopy(ids)).not.toBe(bp);
    expect(p[0]).toBe(11);
  });
});

describe('the js kernel statement language', () => {
  it('refuses text outside it (the step then runs its js kernel)', () => {
    expect(() => parseKernel('out[0] = eval(1);')).toThrow(Unsupported);
    expect(() => parseKernel('while (1) { }')).toThrow(Unsupported);
    expect(() => parseKernel('out[0] = Math.random(1.0);')).toThrow(Unsupported);
    expect(parseKernel('for (let i0 = 0; i0 < 4; i0++) {\n  out[i0] = 1.0;\n}')).toHaveLength(1);
  });
});

describe('SIMD around an inner loop (a row times a matrix)', () => {
  // out[r, b] = 2·Σ_k P[r, k]·G[k, b] + s[b]: the loop over b runs as lane pairs (b, b + 1), each
  // lane with its own four partial sums over k, every G load a pair; 7 columns leave a remainder
  const N = 7;
  const src = (inner: string) => `
  const s0 = new Float64Array(${N});
  for (let i1 = 0; i1 < ${N}; i1++) { s0[i1] = 0.5 * i1; }
  for (let i2 = 0; i2 < 3; i2++) {
    for (let i3 = 0; i3 < ${N}; i3++) {
      let s4 = 0.0;
      let s5 = 0.0;
      let s6 = 0.0;
      let s7 = 0.0;
      for (let i8 = 0; i8 < 8; i8 += 4) {
         {
          const v9 = p0[i2 * 9 + i8];
          const v10 = p1[i8 * ${N} + i3];
          s4 += v9 * v10;
        }
         {
          const w11 = i8 + 1;
          const v12 = p0[i2 * 9 + w11];
          const v13 = p1[w11 * ${N} + i3];
          s5 += v12 * v13;
        }
         {
          const w14 = i8 + 2;
          const v15 = p0[i2 * 9 + w14];
          const v16 = p1[w14 * ${N} + i3];
          s6 += v15 * v16;
        }
         {
          const w17 = i8 + 3;
          const v18 = p0[i2 * 9 + w17];
          const v19 = p1[w17 * ${N} + i3];
          s7 += v18 * v19;
        }
      }
      for (let i20 = 8; i20 < 9; i20++) {
        const v21 = p0[i2 * 9 + i20];
        const v22 = p1[i20 * ${N} + i3];
        s4 += v21 * v22;
      }
      s4 = s4 + s5 + (s6 + s7);
      ${inner}
    }
  }`;
  const P = Float32Array.from({ length: 27 }, (_, j) => Math.sin(j + 1) / 3);
  const G = Float32Array.from({ length: 9 * N }, (_, j) => Math.cos(j * 1.7) / 7);
  const run = (body: string) => {
    const js = new Float32Array(3 * N);
    (new Function('out', 'p0', 'p1', body) as (o: Float32Array, a: Float32Array, b: Float32Array) => void)(js, P, G);
    const fn = genFunction(parseKernel(body), ['f32', 'f32']);
    const a = new Arena();
    const ptrs = [P, G].map((x) => a.cachedCopy(x));
    const out = a.buffer({}, 3 * N);
    const k = new WebAssembly.Instance(new WebAssembly.Module(fn.bytes), { env: { mem: a.memory, exp: Math.exp, log: Math.log, log1p: Math.log1p, tanh: Math.tanh, pow: Math.pow } }).exports.kernel as (...x: number[]) => void;
    k(a.addressOf(out)!, ...ptrs, a.scratch({}, 4096), 0, 0);
    return { js, wasm: out.slice(), simd: fn.simdLoops };
  };

  it('writes the js kernel’s bytes, the column loop vectorized', () => {
    const r = run(src(`const v23 = 2.0 * s4 + s0[i3];\n      out[i2 * ${N} + i3] = v23;`));
    expect(Buffer.compare(Buffer.from(r.wasm.buffer), Buffer.from(r.js.buffer))).toBe(0);
    expect([...r.js].some((x) => x !== 0)).toBe(true);
    // the column loop (around its inner sums) and the remainder column's unrolled sum; scalar
    // column loops would give 1 (their unrolled sums only)
    expect(r.simd).toBe(2);
  });

  it('keeps a loop scalar when a store sits inside its inner loop (two lanes could meet at a cell)', () => {
    const body = src(`out[i2 * ${N} + i3] = s4;`).replace('s7 += v18 * v19;', `s7 += v18 * v19;\n          out[i8 + i3] = s7;`);
    const r = run(body);
    expect(Buffer.compare(Buffer.from(r.wasm.buffer), Buffer.from(r.js.buffer))).toBe(0);
    // neither the column loop nor its unrolled sum (a block with a store) runs as pairs
    expect(r.simd).toBe(0);
  });
});

describe('a CSR walk two tuples per pass (unroll-and-jam)', () => {
  // acc[k] += V[item[j], k]·r[j] and acc2[k] += V[item[j], k] over rows of 0…5 tuples (odd and even)
  const body = `
  const s0 = new Float64Array(6);
  const s1 = new Float64Array(6);
  for (let i1 = 0; i1 < 5; i1++) {
    s0.fill(0.0);
    s1.fill(0.0);
    const w2 = p0[i1];
    const w3 = p0[i1 + 1];
    for (let j4 = w2; j4 < w3; j4++) {
      const v5 = p1[j4];
      const v6 = p2[j4];
      for (let i7 = 0; i7 < 6; i7++) {
        const v8 = p3[v5 * 6 + i7];
        const v9 = v8 * v6;
        s0[i7] += v9;
        s1[i7] += v8;
      }
    }
    for (let i10 = 0; i10 < 6; i10++) {
      out[i1 * 6 + i10] = s0[i10] * 0.25 + s1[i10];
    }
  }`;
  it('writes the js kernel’s bytes', () => {
    const off = Int32Array.from([0, 0, 1, 3, 6, 11]);
    const ids = Int32Array.from({ length: 11 }, (_, j) => (j * 7) % 4);
    const r = Float32Array.from({ length: 11 }, (_, j) => Math.sin(j + 0.5) / 3);
    const V = Float32Array.from({ length: 24 }, (_, j) => Math.cos(j * 1.3) / 5);
    const js = new Float32Array(30);
    (new Function('out', 'p0', 'p1', 'p2', 'p3', body) as (...a: unknown[]) => void)(js, off, ids, r, V);
    const fn = genFunction(parseKernel(body), ['i32', 'i32', 'f32', 'f32']);
    expect(fn.jammedLoops).toBe(1);
    const a = new Arena();
    const ptrs = [off, ids, r, V].map((x) => a.cachedCopy(x));
    const out = a.buffer({}, 30);
    const k = new WebAssembly.Instance(new WebAssembly.Module(fn.bytes), { env: { mem: a.memory, exp: Math.exp, log: Math.log, log1p: Math.log1p, tanh: Math.tanh, pow: Math.pow } }).exports.kernel as (...x: number[]) => void;
    k(a.addressOf(out)!, ...ptrs, a.scratch({}, 4096), 0, fn.rows ?? 5);
    expect(Buffer.compare(Buffer.from(out.slice().buffer), Buffer.from(js.buffer))).toBe(0);
    expect(js.some((x) => x !== 0)).toBe(true);
  });
});

describe('a split-K box two tuples per pass (unroll-and-jam past its `if (t >= n) break`)', () => {
  // boxes of 4 over 11 tuples: acc[k] += U[user[t], k]·r[t]; the last box has 3 (an odd count, a break)
  const body = `
  const s0 = new Float64Array(6);
  for (let i1 = 0; i1 < 3; i1++) {
    s0.fill(0.0);
    for (let j2 = 0; j2 < 4; j2++) {
      const i3 = i1 * 4 + j2;
      if (i3 >= 11) { break; }
      const v4 = p0[i3];
      const v5 = p1[i3];
      for (let i6 = 0; i6 < 6; i6++) {
        const v7 = p2[v4 * 6 + i6];
        const v8 = v7 * v5;
        s0[i6] += v8;
      }
    }
    for (let i9 = 0; i9 < 6; i9++) {
      out[i9 * 3 + i1] = s0[i9];
    }
  }`;
  it('writes the js kernel’s bytes', () => {
    const ids = Int32Array.from({ length: 11 }, (_, j) => (j * 5) % 4);
    const r = Float32Array.from({ length: 11 }, (_, j) => Math.sin(j + 0.25) / 3);
    const U = Float32Array.from({ length: 24 }, (_, j) => Math.cos(j * 0.7) / 5);
    const js = new Float32Array(18);
    (new Function('out', 'p0', 'p1', 'p2', body) as (...a: unknown[]) => void)(js, ids, r, U);
    const fn = genFunction(parseKernel(body), ['i32', 'f32', 'f32']);
    expect(fn.jammedLoops).toBe(1);
    const a = new Arena();
    const ptrs = [ids, r, U].map((x) => a.cachedCopy(x));
    const out = a.buffer({}, 18);
    const k = new WebAssembly.Instance(new WebAssembly.Module(fn.bytes), { env: { mem: a.memory, exp: Math.exp, log: Math.log, log1p: Math.log1p, tanh: Math.tanh, pow: Math.pow } }).exports.kernel as (...x: number[]) => void;
    k(a.addressOf(out)!, ...ptrs, a.scratch({}, 4096), 0, fn.rows ?? 3);
    expect(Buffer.compare(Buffer.from(out.slice().buffer), Buffer.from(js.buffer))).toBe(0);
    expect(js.every((x) => x !== 0)).toBe(true);
  });
});

describe('a one-cell float64 accumulator (a split-K box of a closed sum) held in a local', () => {
  // boxes of 5 over 13 tuples: s0[0] += c·(1 − r[t])² − r[t]², written out per box, the last box short
  const body = `
  const s0 = new Float64Array(1);
  for (let i1 = 0; i1 < 3; i1++) {
    s0.fill(0.0);
    const v2 = p1[0];
    for (let j3 = 0; j3 < 5; j3++) {
      const i4 = i1 * 5 + j3;
      if (i4 >= 13) { break; }
      const v5 = p0[i4];
      const v6 = 1.0 - v5;
      const v7 = v2 * v6 * v6 - v5 * v5;
      s0[0] += v7;
    }
    for (let i8 = 0; i8 < 1; i8++) {
      out[i8 * 3 + i1] = s0[i8];
    }
  }`;
  it('writes the js kernel’s bytes, on every row range, with no scratch memory', () => {
    const r = Float32Array.from({ length: 13 }, (_, j) => Math.sin(j * 1.3 + 0.2) / 3);
    const c = Float32Array.of(0.37);
    const js = new Float32Array(3);
    (new Function('out', 'p0', 'p1', body) as (...a: unknown[]) => void)(js, r, c);
    const fn = genFunction(parseKernel(body), ['f32', 'f32']);
    expect(fn.scratchBytes).toBe(0);
    expect(fn.rows).toBe(3);
    const a = new Arena();
    const ptrs = [r, c].map((x) => a.cachedCopy(x));
    const out = a.buffer({}, 3);
    const k = new WebAssembly.Instance(new WebAssembly.Module(fn.bytes), { env: { mem: a.memory, exp: Math.exp, log: Math.log, log1p: Math.log1p, tanh: Math.tanh, pow: Math.pow } }).exports.kernel as (...x: number[]) => void;
    // each row clears its accumulator: rows [0, 1) then [1, 3) write what [0, 3) writes
    k(a.addressOf(out)!, ...ptrs, a.scratch({}, 16), 0, 1);
    k(a.addressOf(out)!, ...ptrs, a.scratch({}, 16), 1, 3);
    expect(Buffer.compare(Buffer.from(out.slice().buffer), Buffer.from(js.buffer))).toBe(0);
    expect(js.every((x) => x !== 0)).toBe(true);
  });
});

// Acceptance: the generated kernels (js, and gpu.js webasm AND cpu) agree with the float64 reference
// interpreter within float32 tolerance on every loss term and every param gradient of every bundled
// example, compiled for the real sizes of a small data set (80 users × 80 items, ML-style ratings).
// Also in a mini-batch environment (|ratings| = B, ratings#total = N), where `mean` divides by B and
// `sum` over a batch is scaled by N/B — checked against a hand-written float64 computation.
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Env } from '../../compiler/ir/interp.ts';
import { batchKey, totalKey } from '../../compiler/ir/spaces.ts';
import { ReferenceBackend, type Backend } from '../../runtime/exec/backend.ts';
import { GpuBackend } from '../../runtime/backends/backends.ts';
import { selectRows, type Relation } from '../../runtime/data/load.ts';
import { Rng } from '../../runtime/data/rng.ts';
import { generateRatings, SMALL_SPEC, toUData } from '../../runtime/data/synthetic.ts';
import { initParams } from '../../runtime/train/train.ts';
import { makeEnv, sizesFor } from '../../runtime/exec/env.ts';
import { EXAMPLES_DIR, loadExample, type Loaded } from '../helpers/examples.ts';

/** the examples the acceptance criterion names (examples.test.ts covers every example) */
const ACCEPTANCE = ['mf-gramian.recmodel', 'mf-biased.recmodel'];
import { maxRelErr, relErr } from '../helpers/ir-env.ts';

const TERM_RTOL = 1e-5;
const GRAD_RTOL = 1e-4;
/** the written and rewritten forms, both in float64: only summation order differs */
const REWRITE_RTOL = 1e-9;

// 80 users × 80 items, 400 ratings (≥ 5 per user): the examples' data layout, big enough that the
// Gramian rewrite pays off at d = 32 (|U||I|/(|U|+|I|) > d), small enough for the interpreter to
// evaluate every gradient (it loops over all tuples for each output element: seconds, not minutes)
const small = generateRatings({ ...SMALL_SPEC, nUsers: 80, nItems: 80, nRatings: 400, minPerUser: 5, maxPerUser: 80, seed: 606 });
const dataFile = join(mkdtempSync(join(tmpdir(), 'recc-kernels-')), 'ratings-80x80.tsv');
writeFileSync(dataFile, toUData(small));

/** initial params plus a seeded N(0, 0.05) perturbation, so zero-initialized biases are exercised too */
function testParams(l: Loaded): Map<string, Float32Array> {
  const params = initParams(l.compiled, l.sizes, l.compiled.model.train.seed);
  const rng = new Rng(12345);
  for (const p of params.values()) for (let j = 0; j < p.length; j++) p[j] = Math.fround(p[j]! + rng.normal(0, 0.05));
  return params;
}

interface Backends {
  readonly ref: ReferenceBackend;
  readonly gpus: readonly GpuBackend[];
}

const opened: GpuBackend[] = [];
afterAll(() => opened.forEach((b) => b.dispose()));

function backendsFor(l: Loaded): Backends {
  const gpus = (['js', 'webasm', 'cpu', 'wasm'] as const).map((m) => new GpuBackend(m, l.compiled.module.spaces));
  opened.push(...gpus);
  return { ref: new ReferenceBackend(), gpus };
}

/** Every term and every gradient: gpu.js (each mode) against the reference, within float32 tolerance. */
function expectAgree(l: Loaded, env: Env, b: Backends, where: string): void {
  for (const t of l.compiled.terms) {
    const want = b.ref.scalar(t.expr, env);
    expect(Number.isFinite(want), `${where}: reference ${t.name} = ${want}`).toBe(true);
    for (const g of b.gpus) {
      const got = g.scalar(t.expr, env);
      expect(relErr(got, want), `${where}: term ${t.name} on ${g.name}: ${got} vs reference ${want}`).toBeLessThan(TERM_RTOL);
    }
  }
  for (const gr of l.compiled.grads) {
    const want = b.ref.tensor(gr.expr, gr.out, env);
    expect(want.some((x) => x !== 0), `${where}: ∂/∂${gr.param} is identically zero`).toBe(true);
    for (const g of b.gpus) {
      const got = g.tensor(gr.expr, gr.out, env);
      expect(got.length, `${where}: ∂/∂${gr.param} on ${g.name} has the wrong length`).toBe(want.length);
      expect(maxRelErr(got, want), `${where}: ∂/∂${gr.param} on ${g.name} (max |error| / max |g|)`).toBeLessThan(GRAD_RTOL);
    }
  }
  for (const g of b.gpus) expect(g.fallbacks(), `${g.name} ran kernels on another gpu.js backend`).toEqual([]);
}

/** A mini-batch of B training tuples of the primary relation, and its environment. */
function batchEnv(l: Loaded, params: ReadonlyMap<string, Float32Array>, B: number): { env: Env; rel: Relation; sizes: Map<string, number> } {
  const full = l.ds.train.get(l.ds.primary)!;
  const rows = new Rng(77).permutation(full.size).subarray(0, B);
  const rel = selectRows(full, rows);
  const relations = new Map(l.ds.train);
  relations.set(l.ds.primary, rel);
  const sizes = sizesFor(l.compiled, l.ds, relations, l.ds.train);
  return { env: makeEnv(l.compiled, sizes, params, relations), rel, sizes };
}

describe.each(ACCEPTANCE)('examples/%s on 80 users × 80 items', (file) => {
  const path = join(EXAMPLES_DIR, file);
  const text = readFileSync(path, 'utf8');
  const l = loadExample(path, text, { data: dataFile });
  const params = testParams(l);
  const b = backendsFor(l);

  it('was compiled for the sizes of the data it loaded', () => {
    for (const dom of ['user', 'item']) {
      expect(l.sizes.get(dom)).toBe(l.ds.ids.get(dom).size);
      expect(l.sizes.get(dom)).toBeGreaterThan(70); // ids seen in train or test, of 80
      expect(l.compiled.sizes.get(dom)).toBe(l.sizes.get(dom));
    }
    expect(l.compiled.sizes.get(l.ds.primary)).toBe(l.ds.train.get(l.ds.primary)!.size);
    // at these sizes the all-pairs term is contracted, so the Gramian kernels are what runs
    const gram = l.compiled.terms.find((t) => t.name === 'gram');
    if (gram) expect(gram.steps.map((s) => s.rule)).toContain('expand+contract');
  });

  it('full data: js, webasm and cpu kernels agree with the reference on every term and gradient', () => {
    expectAgree(l, makeEnv(l.compiled, l.sizes, params, l.ds.train), b, 'full batch');
  });

  it('the rewritten terms equal the written ones (float64; gradients: test/props, test/grad)', () => {
    const env = makeEnv(l.compiled, l.sizes, params, l.ds.train);
    for (const t of l.compiled.terms) {
      expect(relErr(b.ref.scalar(t.expr, env), b.ref.scalar(t.written, env)), `term ${t.name}`).toBeLessThan(REWRITE_RTOL);
    }
  });

  it('mini-batch of 100 tuples: the batch sizes are set, and the kernels agree with the reference', () => {
    const { env, sizes } = batchEnv(l, params, 100);
    const N = l.ds.train.get(l.ds.primary)!.size;
    expect(sizes.get(l.ds.primary)).toBe(100);
    expect(sizes.get(batchKey(l.ds.primary))).toBe(100);
    expect(sizes.get(totalKey(l.ds.primary))).toBe(N);
    expectAgree(l, env, b, 'batch of 100');
  });
});

// mf-biased's terms by hand, on a batch: mse = (1/B) Σ_batch (r − ŝ)², l2 = λ (1/B) Σ_batch ‖U_u‖² + ‖V_i‖²;
// and with `sum` in place of `mean`, (N/B) Σ_batch (r − ŝ)²
describe('mf-biased on a mini-batch: mean divides by B, sum is scaled by N/B', () => {
  const path = join(EXAMPLES_DIR, 'mf-biased.recmodel');
  const text = readFileSync(path, 'utf8');
  const B = 128;

  function byHand(l: Loaded, params: ReadonlyMap<string, Float32Array>, rel: Relation): { sq: number; l2: number } {
    const d = l.sizes.get('d')!;
    const [U, V, bu, bi, mu] = ['U', 'V', 'bu', 'bi', 'mu'].map((n) => params.get(n)!);
    const users = rel.ids.get('user')!, items = rel.ids.get('item')!, r = rel.values.get('rating')!;
    let sq = 0;
    let l2 = 0;
    for (let t = 0; t < rel.size; t++) {
      const u = users[t]!, i = items[t]!;
      let s = bu![u]! + bi![i]! + mu![0]!;
      for (let k = 0; k < d; k++) {
        s += U![u * d + k]! * V![i * d + k]!;
        l2 += U![u * d + k]! ** 2 + V![i * d + k]! ** 2;
      }
      sq += (r[Math.min(t, r.length - 1)]! - s) ** 2;
    }
    return { sq, l2 };
  }

  const lambda = (l: Loaded): number => l.compiled.model.consts.get('lambda')!;

  it('mean: mse and l2 on the batch are per-batch means (reference, js, webasm, cpu)', () => {
    const l = loadExample(path, text, { data: dataFile });
    const params = testParams(l);
    const { env, rel } = batchEnv(l, params, B);
    const h = byHand(l, params, rel);
    const b = backendsFor(l);
    const want: Record<string, number> = { mse: h.sq / B, l2: (Math.fround(lambda(l)) * h.l2) / B };
    for (const backend of [b.ref, ...b.gpus] as Backend[]) {
      for (const t of l.compiled.terms) {
        const got = backend.scalar(t.expr, env);
        expect(relErr(got, want[t.name]!), `${t.name} on ${backend.name}: ${got} vs by hand ${want[t.name]}`).toBeLessThan(backend === b.ref ? 1e-12 : TERM_RTOL);
      }
    }
  });

  it('sum: a sum over the batch is scaled by N/B (reference, js, webasm, cpu)', () => {
    const summed = text.replace('loss mse = mean(', 'loss mse = sum(');
    expect(summed).not.toBe(text);
    const l = loadExample(path, summed, { data: dataFile });
    const N = l.ds.train.get(l.ds.primary)!.size;
    const params = testParams(l);
    const { env, rel } = batchEnv(l, params, B);
    const want = (N / B) * byHand(l, params, rel).sq;
    const mse = l.compiled.terms.find((t) => t.name === 'mse')!;
    const b = backendsFor(l);
    for (const backend of [b.ref, ...b.gpus] as Backend[]) {
      const got = backend.scalar(mse.expr, env);
      expect(relErr(got, want), `mse on ${backend.name}: ${got} vs (N/B)·Σ_batch = ${want}`).toBeLessThan(backend === b.ref ? 1e-12 : TERM_RTOL);
    }
    expectAgree(l, env, b, 'sum over a batch');
  });
});

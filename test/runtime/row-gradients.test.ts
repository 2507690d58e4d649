// Row-sparse gradients (compiler/passes/row-support.ts, runtime/touched-rows.ts): a sampled or
// mini-batch term's gradient is nonzero only at the rows the batch touches, so the trainer evaluates
// it there and updates those rows only. Checked here:
//   - the analysis: which examples' gradients are row-sparse, and over which id columns;
//   - the oracle: the dense gradient (float64 interpreter) is exactly zero outside the touched rows,
//     and the touched-rows form equals it on them — on the reference and on gpu.js webasm and cpu;
//   - the optimizer: a row-sparse update is the dense update for SGD and Adagrad, and lazy for Adam;
//   - training: with plain SGD, sparse and dense gradients give the same params.
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compileFile, compileSource, type Compiled } from '../../compiler/compile.ts';
import { explainCompiled } from '../../compiler/explain.ts';
import { evalTensor, type Env, type TensorValue } from '../../compiler/ir/interp.ts';
import { batchKey, logqTableName, totalKey } from '../../compiler/ir/spaces.ts';
import { ReferenceBackend } from '../../runtime/exec/backend.ts';
import { GpuBackend } from '../../runtime/backends/backends.ts';
import { selectRows, type Relation } from '../../runtime/data/load.ts';
import { repoRoot } from '../../runtime/data/data-paths.ts';
import type { GradientOptimizerInfo as OptimizerInfo } from '../../compiler/check/model.ts';
import { applyUpdate, createState } from '../../runtime/train/optimizer.ts';
import { Rng } from '../../runtime/data/rng.ts';
import { distribution, drawSamples } from '../../runtime/train/samplers.ts';
import { paddedCount, rowsCapacity, rowsRelation, touchedRows } from '../../runtime/train/touched-rows.ts';
import { initParams, train } from '../../runtime/train/train.ts';
import { makeEnv, sizesFor } from '../../runtime/exec/env.ts';
import { maxRelErr } from '../helpers/ir-env.ts';
import { TINY_PREAMBLE, tinyDataset } from '../helpers/tiny-dataset.ts';

const SAMPLED: Record<string, string> = {
  'bpr (uniform negative)': 'loss L = mean((u, i) in likes, j ~ uniform(item): bpr(score(u, i), score(u, j)))',
  'hinge + L2 on the batch rows': 'loss L = mean((u, i) in likes, j ~ uniform(item): hinge(score(u, i), score(u, j), margin))\nreg l2 = 0.01 * mean((u, i) in likes: U[u] . U[u] + V[i] . V[i] + b[i]^2)',
  'nce (pop set, log-Q)': 'loss L = mean((u, i) in likes, J ~ pop(item, 0.75) x 4: nce_pos(score(u, i), logq(i) + log(k)) + sum(j in J: nce_neg(score(u, j), logq(j) + log(k))))',
  'sampled softmax (pop set)': 'loss L = mean((u, i) in likes, J ~ pop(item, 0.75) x 5: sampled_softmax(score(u, i), logq(i), logsumexp(j in J: corrected(score(u, j), logq(j)))))',
  'in-batch softmax': 'loss L = mean((u, i) in likes, J ~ inbatch(item): softmax_xent(corrected(score(u, i), logq(i)), logsumexp(j in J: corrected(score(u, j), logq(j)))))',
  'hardest of K negatives (max)': 'loss L = mean((u, i) in likes, J ~ uniform(item) x 4: max(j in J: hinge(score(u, i), score(u, j), margin)))',
  'mse on the batch': 'loss L = mean((u, i, r) in likes: mse(r, score(u, i)))',
};

const TUPLES = 60;
const BATCH = 12;

function compileLoss(body: string): Compiled {
  const text = `${TINY_PREAMBLE}\n${body}\ntrain { optimizer sgd(lr = 0.1) steps 4 batch ${BATCH} seed 3 }\n`;
  const r = compileSource(join(repoRoot(), 'test', 'runtime', 'tiny.recmodel'), text, { allowDense: true });
  if (!r.compiled) throw new Error(r.diagnostics.map((d) => `${d.code} ${d.message}`).join('\n'));
  return r.compiled;
}

/** One step's relations: a batch of the tuples and one seeded draw of every sampler. */
function stepRelations(c: Compiled, seed: number): { ds: ReturnType<typeof tinyDataset>; relations: Map<string, Relation> } {
  const ds = tinyDataset({ users: 30, items: 40, tuples: TUPLES, seed, skew: 0.7 });
  const full = ds.train;
  const sizes0 = sizesFor(c, ds, full, full);
  const rows = new Rng(seed).permutation(TUPLES).subarray(0, BATCH);
  const relations = new Map(full);
  relations.set('likes', selectRows(full.get('likes')!, rows));
  const dists = c.module.samplers.map((s) => distribution(s, sizes0.get(s.domain)!, full.get(s.source ?? 'likes'), undefined));
  drawSamples(c.module.samplers, dists, relations, new Rng(seed).fork(2));
  return { ds, relations };
}

function logqTables(c: Compiled, ds: ReturnType<typeof tinyDataset>): Map<string, TensorValue> {
  const full = ds.train;
  const sizes0 = sizesFor(c, ds, full, full);
  return new Map(
    c.module.samplers.map((s) => [logqTableName(s), { data: distribution(s, sizes0.get(s.domain)!, full.get(s.source ?? 'likes'), undefined).logq, shape: [s.domain] }]),
  );
}

const gpus = (['webasm', 'cpu'] as const).map((m) => ({ mode: m, backends: new Map<Compiled, GpuBackend>() }));
afterAll(() => gpus.forEach((g) => g.backends.forEach((b) => b.dispose())));

describe('which gradients are row-sparse', () => {
  const supportOf = (file: string): Record<string, string> => {
    const r = compileFile(join(repoRoot(), 'examples', file));
    expect(r.compiled, `${file} compiles`).toBeDefined();
    return Object.fromEntries(r.compiled!.grads.map((g) => [g.param, g.rows ? g.rows.sources.map((s) => `${s.rel}.${s.col}`).sort().join(' ∪ ') : 'dense']));
  };
  it('BPR: U at the batch users, V at its positives and negatives', () => {
    expect(supportOf('bpr.recmodel')).toEqual({ U: 'likes.user', V: 'likes.item ∪ likes.~j' });
  });
  it('sampled softmax: V at the positives and the shared sample set', () => {
    expect(supportOf('sampled-softmax.recmodel')).toEqual({ U: 'likes.user', V: 'J~.id ∪ likes.item' });
  });
  it('mf-biased: every factor and bias row-sparse, the global mean dense', () => {
    expect(supportOf('mf-biased.recmodel')).toEqual({ U: 'ratings.user', V: 'ratings.item', bu: 'ratings.user', bi: 'ratings.item', mu: 'dense' });
  });
  it('recc explain says which gradients are row-sparse and over which columns', () => {
    const text = explainCompiled(compileFile(join(repoRoot(), 'examples', 'mf-biased.recmodel')).compiled!);
    expect(text).toContain("row-sparse: only the rows named by ratings.user in a step's batch are computed and updated");
    expect(text).toContain('dense: computed and applied over all of mu each step');
  });
  it('whole-data losses and penalties over every row are dense', () => {
    expect(supportOf('enmf.recmodel')).toEqual({ P: 'dense', Q: 'dense', h: 'dense' });
    expect(supportOf('mf-gramian.recmodel')).toEqual({ U: 'dense', V: 'dense' });
    const c = compileLoss('loss L = mean((u, i) in likes, j ~ uniform(item): bpr(score(u, i), score(u, j)))\nreg l2 = 0.01 * (sum(U^2) + sum(V^2))');
    expect(c.grads.filter((g) => g.rows).map((g) => g.param)).toEqual(['b']);
  });
});

describe.each(Object.entries(SAMPLED))('%s: the touched-rows gradient is the dense one', (_name, body) => {
  const c = compileLoss(body);
  it('has a row-sparse gradient for U, V and b', () => {
    expect(c.grads.map((g) => [g.param, g.rows !== undefined])).toEqual([['U', true], ['V', true], ['b', true]]);
  });
  for (const seed of [1, 2]) {
    it(`seed ${seed}: zero outside the touched rows, equal on them (reference, webasm, cpu)`, () => {
      const { ds, relations } = stepRelations(c, seed);
      const tables = logqTables(c, ds);
      const sizes0 = sizesFor(c, ds, relations, ds.train);
      const params = initParams(c, sizes0, seed);
      const withRows = new Map(relations);
      const sizes = new Map(sizes0);
      const touched = new Map<string, Int32Array>();
      for (const g of c.grads) {
        const rows = touchedRows(g.rows!, relations, sizes0.get(g.rows!.domain)!);
        const rel = rowsRelation(g.rows!, rows);
        touched.set(g.param, rows);
        withRows.set(rel.name, rel);
        for (const s of [rel.name, batchKey(rel.name), totalKey(rel.name)]) sizes.set(s, rel.size);
      }
      const env: Env = makeEnv(c, sizes, params, withRows, tables);
      let nonzero = 0;
      for (const g of c.grads) {
        const rows = touched.get(g.param)!;
        const width = g.out.slice(1).reduce((a, i) => a * sizes.get(i.space)!, 1);
        const dense = evalTensor(g.expr, env, g.out);
        const inRows = new Set(rows);
        expect(rows.length, `∂/∂${g.param}: the batch touches a proper subset of the rows`).toBeLessThan(dense.length / width);
        for (let row = 0; row < dense.length / width; row++) {
          if (inRows.has(row)) continue;
          for (let c2 = 0; c2 < width; c2++) expect(dense[row * width + c2], `∂/∂${g.param}[${row}] is untouched`).toBe(0);
        }
        const atRows = Float64Array.from({ length: rows.length * width }, (_, j) => dense[rows[Math.floor(j / width)]! * width + (j % width)]!);
        nonzero += atRows.filter((x) => x !== 0).length;
        const ref = new ReferenceBackend().tensor(g.rows!.expr, g.rows!.out, env).subarray(0, rows.length * width);
        expect(maxRelErr(ref, atRows), `∂/∂${g.param} touched rows, reference`).toBeLessThan(1e-12);
        for (const gpu of gpus) {
          let b = gpu.backends.get(c);
          if (!b) gpu.backends.set(c, (b = new GpuBackend(gpu.mode, c.module.spaces)));
          const got = b.tensor(g.rows!.expr, g.rows!.out, env).subarray(0, rows.length * width);
          expect(maxRelErr(got, atRows), `∂/∂${g.param} touched rows on ${gpu.mode}`).toBeLessThan(1e-4);
          expect(b.fallbacks()).toEqual([]);
        }
      }
      expect(nonzero, 'the gradients are not vacuous').toBeGreaterThan(10);
    });
  }
});

describe('touched rows', () => {
  it('pads to four sizes per octave: at most 25% padding, few distinct sizes', () => {
    const sizes = new Set<number>();
    for (let n = 1; n <= 5000; n++) {
      const p = paddedCount(n);
      expect(p).toBeGreaterThanOrEqual(n);
      expect(p).toBeLessThanOrEqual(Math.max(4, Math.ceil(n * 1.25)));
      if (n > 1000 && n <= 2000) sizes.add(p);
    }
    expect(sizes.size).toBeLessThanOrEqual(5);
  });
  it('the capacity only grows, never below the rows nor above the domain: few distinct plans per run', () => {
    const rnd = new Rng(9);
    let cap = 0;
    const seen = new Set<number>();
    for (let step = 0; step < 500; step++) {
      const n = 600 + Math.floor(rnd.uniform() * 300);
      const next = rowsCapacity(n, 943, cap);
      expect(next).toBeGreaterThanOrEqual(Math.max(n, cap));
      expect(next).toBeLessThanOrEqual(943);
      cap = next;
      seen.add(cap);
    }
    expect(seen.size).toBeLessThanOrEqual(4);
    expect(rowsCapacity(950, 943)).toBe(950); // never fewer slots than rows (cannot happen: ids are distinct)
  });
});

describe('row-sparse optimizer updates', () => {
  const width = 3;
  const nRows = 8;
  const rows = Int32Array.of(1, 4, 6);
  const values = Float32Array.from({ length: rows.length * width }, (_, j) => Math.sin(j + 1));
  const denseOf = (): Float32Array => {
    const g = new Float32Array(nRows * width);
    rows.forEach((r, k) => g.set(values.subarray(k * width, (k + 1) * width), r * width));
    return g;
  };
  const start = (): Map<string, Float32Array> => new Map([['P', Float32Array.from({ length: nRows * width }, (_, j) => Math.cos(j))]]);
  const opts: Record<string, OptimizerInfo> = {
    sgd: { kind: 'sgd', lr: 0.1, momentum: 0 } as OptimizerInfo,
    adagrad: { kind: 'adagrad', lr: 0.1, eps: 1e-8 } as OptimizerInfo,
  };
  it.each(Object.keys(opts))('%s: the same as the dense update with zero rows, over several steps', (k) => {
    const a = start();
    const b = start();
    const sa = createState(opts[k]!, a);
    const sb = createState(opts[k]!, b);
    for (let s = 0; s < 3; s++) {
      applyUpdate(opts[k]!, sa, a, new Map([['P', { rows, values, width }]]), 0.1);
      applyUpdate(opts[k]!, sb, b, new Map([['P', denseOf()]]), 0.1);
    }
    expect([...a.get('P')!]).toEqual([...b.get('P')!]);
  });
  it('adam: lazy — touched rows as dense Adam, untouched rows and their moments unchanged', () => {
    const opt = { kind: 'adam', lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8 } as OptimizerInfo;
    const a = start();
    const b = start();
    const before = Float32Array.from(a.get('P')!);
    const sa = createState(opt, a);
    const sb = createState(opt, b);
    applyUpdate(opt, sa, a, new Map([['P', { rows, values, width }]]), 0.01);
    applyUpdate(opt, sb, b, new Map([['P', denseOf()]]), 0.01);
    // after one step (zero moments before it) both agree everywhere
    expect([...a.get('P')!]).toEqual([...b.get('P')!]);
    // a second step touching other rows: dense Adam moves rows 1, 4, 6 on momentum, lazy Adam does not
    const other = { rows: Int32Array.of(0), values: Float32Array.of(1, 1, 1), width };
    const mid = Float32Array.from(a.get('P')!);
    applyUpdate(opt, sa, a, new Map([['P', other]]), 0.01);
    for (const r of rows) for (let c = 0; c < width; c++) expect(a.get('P')![r * width + c]).toBe(mid[r * width + c]);
    for (const r of [2, 3, 5, 7]) for (let c = 0; c < width; c++) expect(a.get('P')![r * width + c]).toBe(before[r * width + c]);
    expect(a.get('P')![0]).not.toBe(mid[0]);
  });
});

describe('training with row-sparse gradients', () => {
  it('plain SGD: the same params as dense gradients, on the reference backend', () => {
    const c = compileLoss(SAMPLED['hinge + L2 on the batch rows']!);
    const ds = tinyDataset({ users: 30, items: 40, tuples: TUPLES, seed: 5, skew: 0.7 });
    const run = (denseGradients: boolean): ReadonlyMap<string, Float32Array> =>
      train(c, ds, { backend: new ReferenceBackend(), steps: 6, denseGradients }).params;
    const sparse = run(false);
    const dense = run(true);
    for (const [name, p] of dense) expect(maxRelErr(sparse.get(name)!, p), name).toBeLessThan(1e-6);
    // a catalogue so small that the batches touch every row's worth of capacity: the dense gradient
    // read at the touched rows (train.ts), again the same params
    const small = tinyDataset({ users: 30, items: 5, tuples: TUPLES, seed: 6, skew: 0.7 });
    const runSmall = (denseGradients: boolean): ReadonlyMap<string, Float32Array> =>
      train(c, small, { backend: new ReferenceBackend(), steps: 6, denseGradients }).params;
    const [a, b] = [runSmall(false), runSmall(true)];
    for (const [name, p] of b) expect(maxRelErr(a.get(name)!, p), `${name}, 5 items`).toBeLessThan(1e-6);
    // and the run moved the params
    const init = initParams(c, sizesFor(c, ds, ds.train, ds.train), 3);
    expect(maxRelErr(sparse.get('V')!, init.get('V')!)).toBeGreaterThan(1e-4);
  });
});

// `mean(j in x: …)` over the features of a sparse row: the sum over the row's non-zeros divided by
// their count (0 for a row without features). Checked by hand on the scores of the test rows, and by
// training on gpu.js webasm step by step against the float64 reference backend.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileSource } from '../../compiler/compile.ts';
import { renderDiagnostics } from '../../compiler/diagnostics/diagnostics.ts';
import { ReferenceBackend } from '../../runtime/exec/backend.ts';
import { createBackend, GpuBackend } from '../../runtime/backends/backends.ts';
import { loadDataset } from '../../runtime/data/dataset.ts';
import { predictRows } from '../../runtime/eval/evaluate.ts';
import { train } from '../../runtime/train/train.ts';
import { sizesFor } from '../../runtime/exec/env.ts';
import { tempFile } from './helpers.ts';
import { CTR_ROWS } from './sparse-helpers.ts';

const MODEL = `model avg_features
index feature
data clicks(label: float, x: sparse feature) from "mean.libsvm" format libsvm
split clicks: holdout 0.5 seed 4
param w0 = 0.2
param w[feature] ~ normal(0, 1)
def score(x) = w0 + mean(j in x: w[j] * x[j])
loss fit = mean((y, x) in clicks: softplus(score(x)) - y * score(x))
train { optimizer adam(lr = 0.1) steps 8 batch 3 seed 1 }
`;

// the shared rows, one row without features and one with a single feature
const DATA = `${CTR_ROWS}1
0 d:2
`;

function setup() {
  const dir = join(tempFile('mean.libsvm', DATA), '..');
  const path = join(dir, 'mean.recmodel');
  writeFileSync(path, MODEL);
  const first = compileSource(path, MODEL);
  if (!first.compiled) throw new Error(renderDiagnostics(first.diagnostics, (f) => first.sources.get(f)));
  const ds = loadDataset(first.compiled.model);
  const compiled = compileSource(path, MODEL, { sizes: sizesFor(first.compiled, ds, ds.train, ds.train) }).compiled!;
  return { compiled, ds };
}

describe('mean over the features of a sparse row', () => {
  it('is the row sum over its non-zeros divided by their count, 0 for an empty row', () => {
    const { compiled, ds } = setup();
    const nF = ds.ids.get('feature').size;
    const params = new Map([['w0', Float32Array.of(0.2)], ['w', Float32Array.from({ length: nF }, (_, j) => 0.5 - 0.3 * j)]]);
    let empty = 0;
    for (const side of [ds.train, ds.test]) {
      const rel = side.get('clicks')!;
      const e = side.get('clicks~x')!;
      const row = e.ids.get('row')!, feat = e.ids.get('feat')!, val = e.values.get('val')!;
      const want = Array.from({ length: rel.size }, (_, r) => {
        const q = [...row.keys()].filter((n) => row[n] === r);
        if (q.length === 0) empty++;
        return 0.2 + (q.length ? q.reduce((a, n) => a + params.get('w')![feat[n]!]! * val[n]!, 0) / q.length : 0);
      });
      for (const mode of ['reference', 'cpu', 'webasm'] as const) {
        const got = predictRows(compiled, ds, params, createBackend(mode, compiled.module.spaces), rel);
        expect(got.length).toBe(rel.size);
        got.forEach((g, t) => expect(g, `${mode}, row ${t}`).toBeCloseTo(want[t]!, 5));
      }
    }
    expect(empty, 'the file has one row without features').toBe(1);
  });

  it('trains on gpu.js webasm as on the float64 reference, step by step', () => {
    const { compiled, ds } = setup();
    const ref = train(compiled, ds, { backend: new ReferenceBackend() });
    const gpu = new GpuBackend('webasm', compiled.module.spaces);
    const got = train(compiled, ds, { backend: gpu });
    gpu.dispose();
    expect(got.diverged).toBeUndefined();
    expect(got.log.length).toBe(8);
    got.log.forEach((s, q) => expect(Math.abs(s.total - ref.log[q]!.total), `step ${s.step}`).toBeLessThan(1e-4));
    for (const [name, p] of ref.params) {
      const g = got.params.get(name)!;
      p.forEach((x, j) => expect(Math.abs(g[j]! - x), `${name}[${j}]`).toBeLessThan(1e-3));
    }
  });
});

// evaluate.ts on sparse rows: predictRows applies `def score(x)` to every test row's entries, and
// `auc` / `logloss` become the global AUC and logloss over test rows. Checked against an FM score
// computed by hand from the same params.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileSource } from '../../compiler/compile.ts';
import { renderDiagnostics } from '../../compiler/diagnostics/diagnostics.ts';
import { createBackend } from '../../runtime/backends/backends.ts';
import { loadDataset } from '../../runtime/data/dataset.ts';
import { EvalError, evaluateModel, predictRows } from '../../runtime/eval/evaluate.ts';
import { globalAuc, logloss } from '../../runtime/eval/metrics.ts';
import { Rng } from '../../runtime/data/rng.ts';
import { train } from '../../runtime/train/train.ts';
import { sizesFor } from '../../runtime/exec/env.ts';
import { tempFile } from './helpers.ts';
import { CTR_ROWS } from './sparse-helpers.ts';

const FM = (metrics: string) => `model fm
index feature
data clicks(label: float, x: sparse feature) from "fm-eval.libsvm" format libsvm
split clicks: holdout 0.5 seed 3
dim k = 2
param w0 = 0
param w[feature] = 0
param V[feature, k] ~ normal(0, 0.1)
def score(x) = w0 + sum(j in x: w[j] * x[j]) + sum(j < l in x: (V[j] . V[l]) * x[j] * x[l])
loss fit = mean((y, x) in clicks: softplus(score(x)) - y * score(x))
evaluate { metrics ${metrics} }
train { optimizer adam(lr = 0.1) steps 6 batch 3 seed 1 }
`;

const DATA = CTR_ROWS;

function setup(metrics: string) {
  const dir = join(tempFile('fm-eval.libsvm', DATA), '..');
  const path = join(dir, 'fm.recmodel');
  const text = FM(metrics);
  writeFileSync(path, text);
  const first = compileSource(path, text);
  if (!first.compiled) throw new Error(renderDiagnostics(first.diagnostics, (f) => first.sources.get(f)));
  const ds = loadDataset(first.compiled.model);
  const compiled = compileSource(path, text, { sizes: sizesFor(first.compiled, ds, ds.train, ds.train) }).compiled!;
  // params with distinct values, so every term of the score matters
  const nF = ds.ids.get('feature').size;
  const rng = new Rng(5);
  const params = new Map<string, Float32Array>([
    ['w0', Float32Array.of(0.3)],
    ['w', Float32Array.from({ length: nF }, () => rng.normal(0, 1))],
    ['V', Float32Array.from({ length: nF * 2 }, () => rng.normal(0, 1))],
  ]);
  return { compiled, ds, params };
}

/** The FM score of every test row, by hand from the file's rows and the params (float64). */
function handScores(s: ReturnType<typeof setup>): number[] {
  const test = s.ds.test.get('clicks')!;
  const e = s.ds.test.get('clicks~x')!;
  const w0 = s.params.get('w0')![0]!, w = s.params.get('w')!, V = s.params.get('V')!;
  const out: number[] = [];
  const row = e.ids.get('row')!, feat = e.ids.get('feat')!, val = e.values.get('val')!;
  for (let r = 0; r < test.size; r++) {
    const q = [...row.keys()].filter((n) => row[n] === r);
    let z = w0;
    for (const a of q) z += w[feat[a]!]! * val[a]!;
    for (let i = 0; i < q.length; i++) {
      for (let j = i + 1; j < q.length; j++) {
        const a = q[i]!, b = q[j]!;
        let dot = 0;
        for (let f = 0; f < 2; f++) dot += V[feat[a]! * 2 + f]! * V[feat[b]! * 2 + f]!;
        z += dot * val[a]! * val[b]!;
      }
    }
    out.push(z);
  }
  return out;
}

describe('evaluation of sparse-row models', () => {
  it('predictRows = the FM score of each test row, on the reference and gpu.js cpu backends', () => {
    const s = setup('auc, logloss');
    const want = handScores(s);
    expect(want.length).toBe(4);
    for (const mode of ['reference', 'cpu'] as const) {
      const backend = createBackend(mode, s.compiled.module.spaces);
      const got = predictRows(s.compiled, s.ds, s.params, backend, s.ds.test.get('clicks')!);
      expect(got.length).toBe(4);
      got.forEach((g, t) => expect(g).toBeCloseTo(want[t]!, 5));
    }
  });

  it('auc and logloss are the global AUC and logloss of those scores against the labels', () => {
    const s = setup('auc, logloss');
    const labels = s.ds.test.get('clicks')!.values.get('label')!;
    const want = handScores(s);
    const r = evaluateModel(s.compiled, s.ds, s.params, createBackend('reference', s.compiled.module.spaces), 0, 0);
    expect(Object.keys(r.metrics).sort()).toEqual(['auc', 'logloss']);
    expect(r.metrics.auc).toBeCloseTo(globalAuc(want, labels), 12);
    expect(r.metrics.logloss).toBeCloseTo(logloss(want, labels), 5);
  });

  it('per-user ranking metrics are refused with a pointer to auc/logloss', () => {
    const s = setup('auc, recall@10');
    expect(() => evaluateModel(s.compiled, s.ds, s.params, createBackend('reference', s.compiled.module.spaces), 0, 0)).toThrow(EvalError);
    expect(() => evaluateModel(s.compiled, s.ds, s.params, createBackend('reference', s.compiled.module.spaces), 0, 0)).toThrow(
      'recall@10 rank items per user with score(user, item); rows of clicks are sparse feature rows: use auc or logloss',
    );
  });

  it('trains on mini-batches of sparse rows (each with its entries) and evaluates at the end', () => {
    const s = setup('auc, logloss');
    const backend = createBackend('reference', s.compiled.module.spaces);
    const r = train(s.compiled, s.ds, { backend });
    expect(r.diverged).toBeUndefined();
    expect(r.stepsRun).toBe(6);
    expect(r.log.every((l) => Number.isFinite(l.total))).toBe(true);
    expect(r.evals.length).toBe(1);
    expect(Object.keys(r.evals[0]!.metrics).sort()).toEqual(['auc', 'logloss']);
  });
});

// `recc export --target torch`: for every example, the exported objective (each term) and the
// gradient of every param at the initial params and the first step's batch and samples (drawn by
// recc and passed in) match recc's float64 reference interpreter to 1e-9 relative in float64 torch
// (acceptance 1), and no exported term materializes a |user|×|item| tensor (acceptance 3, traced on
// data with distinctive sizes). Small data and dims keep the interpreter's naive loops short; the
// forms are the same at any size. Skips, saying why, without Python 3 + torch.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { pythonRuntimeFiles, torchPackage } from '../../compiler/codegen/torch/package.ts';
import { compileForData } from '../../cli/commands/common.ts';
import { checkTorch, CHECK_TOLERANCE, findTorchPython } from '../../cli/commands/export-torch.ts';
import { loadRuntime, type Runtime } from '../../cli/lib/runtime.ts';

const python = findTorchPython();
const why = python ? '' : ' (skipped: no Python 3 with torch and numpy; apt-get install python3-torch python3-numpy, or set RECC_PYTHON)';
if (!python) console.warn(`test/export/torch.test.ts${why}`);

const dir = mkdtempSync(join(tmpdir(), 'recc-torch-'));
const lines = (file: string, n: number): string => readFileSync(join('examples/data', file), 'utf8').split('\n').slice(0, n).join('\n') + '\n';
const ratings = join(dir, 'ratings.tsv');
const clicks = join(dir, 'clicks.libsvm');
writeFileSync(ratings, lines('synthetic-ratings.tsv', 300));
writeFileSync(clicks, lines('synthetic-ctr.libsvm', 30));
// a shared set of 50 samples: its gradient's interpretation loops |J|² per tuple, so fewer tuples
const fewRatings = join(dir, 'few.tsv');
writeFileSync(fewRatings, lines('synthetic-ratings.tsv', 80));

const EXAMPLES: [string, string, Record<string, number>][] = [
  ['mf-biased', ratings, { d: 4 }],
  ['mf-gramian', ratings, { d: 4 }],
  ['enmf', ratings, { d: 4 }],
  ['bpr', ratings, { d: 4 }],
  ['hinge', ratings, { d: 4 }],
  ['nce', ratings, { d: 4 }],
  ['sampled-softmax', fewRatings, { d: 2 }],
  ['logistic-mf', ratings, { d: 4 }],
  ['weighted-logistic', ratings, { d: 4 }],
  ['mostpop', ratings, {}],
  ['fm', clicks, { k: 2 }],
  ['fm-ml100k', clicks, { k: 2 }],
];

let rt: Runtime;
beforeAll(async () => {
  rt = await loadRuntime();
});

function exportChecked(model: string, data: string, sets: Record<string, number>) {
  const r = compileForData(rt, `examples/${model}.recmodel`, { sets: new Map(Object.entries(sets)) }, { data });
  if (!r) throw new Error(`${model} did not compile`);
  const out = join(dir, model);
  const pkg = torchPackage(r.compiled, '0.1.0');
  rt.torchExport.writeTorchPackage(out, r.compiled, r.ds, pkg, pythonRuntimeFiles());
  return { ...checkTorch(rt, out, r.compiled, r.ds, pkg), sizes: r.sizes };
}

describe.skipIf(!python)(`exported torch objective vs the reference interpreter${why}`, () => {
  for (const [model, data, sets] of EXAMPLES) {
    it(`${model}: every term and gradient within ${CHECK_TOLERANCE} relative (float64)`, () => {
      const { rows } = exportChecked(model, data, sets);
      expect(rows.length).toBeGreaterThan(1);
      for (const row of rows) expect({ what: row.what, ok: row.rel <= CHECK_TOLERANCE, rel: row.rel }).toEqual({ what: row.what, ok: true, rel: row.rel });
    });
  }
});

describe.skipIf(!python)(`exported whole-data terms never materialize |user|×|item|${why}`, () => {
  // 37 users × 53 items, d = 5: any tensor with both sizes among its axes is an all-pairs one
  const file = join(dir, 'distinct.tsv');
  const rows: string[] = [];
  for (let u = 0; u < 37; u++) for (let j = 0; j < 6; j++) rows.push(`${u + 1}\t${((u * 7 + j * 11) % 53) + 1}\t${1 + ((u + j) % 5)}\t${1000 + u * 10 + j}`);
  // every item appears at least once
  for (let i = 0; i < 53; i++) rows.push(`${(i % 37) + 1}\t${i + 1}\t4\t${5000 + i}`);
  writeFileSync(file, rows.join('\n') + '\n');
  for (const model of ['mf-gramian', 'enmf', 'mostpop']) {
    it(`${model}: the largest traced tensor is far below |user|·|item|`, () => {
      const { rows: checked, shapes, sizes } = exportChecked(model, file, model === 'mostpop' ? {} : { d: 5 });
      expect(sizes.get('user')).toBe(37);
      expect(sizes.get('item')).toBe(53);
      expect(checked.every((r) => r.rel <= CHECK_TOLERANCE)).toBe(true);
      expect(shapes.length).toBeGreaterThan(3);
      const allPairs = shapes.filter((s) => s.includes(37) && s.includes(53));
      expect(allPairs).toEqual([]);
      const largest = Math.max(...shapes.map((s) => s.reduce((a, b) => a * b, 1)));
      expect(largest).toBeLessThan(37 * 53);
    });
  }
});

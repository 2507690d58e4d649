// bench/ranking: trains the sampled-loss examples — BPR, hinge, NCE, sampled softmax, logistic MF —
// and, for reference, MostPop and whole-data ENMF on ML-100K (ratings ≥ 4 are positives; per-user
// temporal holdout of the last 20% of each user's positives; every unseen item ranked), each through
// the real pipeline (compile at the loaded sizes → train → evaluate), and prints one table of
// Recall@20 / NDCG@20. Each model's hyperparameters are its example file's; nothing is tuned here.
// The data: ml-100k/u.data under runtime/data-paths.ts's shared folder; without it the bench says
// so and exits 0.
//   npx tsx bench/ranking.ts [--models bpr,hinge,...] [--mode webasm|cpu]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compileSource } from '../compiler/compile.ts';
import { hasErrors } from '../compiler/diagnostics/diagnostics.ts';
import { createBackend, type BackendMode } from '../runtime/backends/backends.ts';
import { ml100kDir, missingDataReason, repoRoot } from '../runtime/data/data-paths.ts';
import { loadDataset } from '../runtime/data/dataset.ts';
import { train } from '../runtime/train/train.ts';
import { sizesFor } from '../runtime/exec/env.ts';
import { option } from './common.ts';

const opt = option;
const SAMPLED = ['bpr', 'hinge', 'nce', 'sampled-softmax', 'logistic-mf'];
const REFERENCE = ['mostpop', 'enmf'];
const models = opt('models', [...SAMPLED, ...REFERENCE].join(',')).split(',');
const mode = opt('mode', 'webasm') as BackendMode;
/** NDCG@20 of the PyTorch references on this protocol (issue 5) */
const PYTORCH: Record<string, number> = { mostpop: 0.102, bpr: 0.147, 'sampled-softmax': 0.154 };

const dir = ml100kDir();
if (!dir) {
  console.log(`bench/ranking: skipped — ${missingDataReason()}`);
  process.exit(0);
}
const data = join(dir, 'u.data');

interface Row {
  readonly model: string;
  readonly recall: number;
  readonly ndcg: number;
  readonly seconds: number;
  readonly steps: number;
  readonly note: string;
}

const rows: Row[] = [];
for (const m of models) {
  const file = join(repoRoot(), 'examples', `${m}.recmodel`);
  const text = readFileSync(file, 'utf8');
  const first = compileSource(file, text);
  if (!first.compiled) throw new Error(`${m}: ${first.diagnostics.map((d) => `${d.code} ${d.message}`).join('; ')}`);
  const ds = loadDataset(first.compiled.model, { data });
  const sized = compileSource(file, text, { sizes: sizesFor(first.compiled, ds, ds.train, ds.train) });
  if (!sized.compiled || hasErrors(sized.diagnostics)) throw new Error(`${m} does not compile at the data's sizes`);
  const c = sized.compiled;
  // evaluate once, at the end (the example's `every` would evaluate along the way)
  const compiled = { ...c, model: { ...c.model, evaluate: { ...c.model.evaluate, every: undefined } } };
  const backend = createBackend(mode, compiled.module.spaces);
  process.stderr.write(`${m}: training (${ds.protocol}) … `);
  const r = train(compiled, ds, { backend });
  const last = r.evals[r.evals.length - 1]?.metrics ?? {};
  const warnings = sized.diagnostics.filter((d) => d.severity === 'warning').map((d) => d.code);
  rows.push({
    model: m,
    recall: last['recall@20'] ?? NaN,
    ndcg: last['ndcg@20'] ?? NaN,
    seconds: r.seconds,
    steps: r.stepsRun,
    note: [r.diverged ? `DIVERGED at ${r.diverged.term}` : '', ...warnings].filter(Boolean).join(' '),
  });
  process.stderr.write(`${r.seconds.toFixed(1)} s\n`);
  backend.dispose();
}

console.log(`\nML-100K (${data}): ratings ≥ 4, per-user temporal holdout 20%, all unseen items ranked; gpu.js ${mode}`);
console.log('model             Recall@20   NDCG@20   PyTorch NDCG@20    steps   train s   notes');
for (const r of rows) {
  const ref = PYTORCH[r.model];
  console.log(
    `${(SAMPLED.includes(r.model) ? r.model : `${r.model} (ref.)`).padEnd(17)} ${r.recall.toFixed(4).padStart(9)} ${r.ndcg.toFixed(4).padStart(9)}   ${(ref === undefined ? '—' : ref.toFixed(3)).padStart(15)} ${String(r.steps).padStart(8)} ${r.seconds.toFixed(1).padStart(9)}   ${r.note}`,
  );
}

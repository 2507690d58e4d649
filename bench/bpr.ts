// bench/bpr: seconds per training epoch of examples/bpr.recmodel (one uniform negative per positive,
// mini-batch 4096, d = 64: ⌈|likes|/4096⌉ steps an epoch) beside the whole-data model
// examples/enmf.recmodel (full batch: one step is one epoch), at the ML-100K shape (943 × 1682,
// 100,000 ratings: ML-100K u.data when present, else synthetic of that shape) and the ML-1M shape
// (syntheticMl1m(): 6040 × 3706, 1,000,209 ratings), per gpu.js mode, in one table. Positives are
// ratings ≥ 4 (`likes`), all of them training tuples (no split, no evaluation). Each config trains
// through the real pipeline (compileSource at the real sizes, runtime/train.ts `train`); the median
// step time after 1 warm-up step is extrapolated to an epoch. Structure as bench/train.ts.
// A model whose gradients are row-sparse (BPR: only the batch's users, positives and negatives) runs
// both ways, in two alternating rounds (each variant's faster median counts): with its touched-rows
// gradients and sparse updates (what `recc run` does), and with every gradient evaluated and applied
// densely over all rows (`denseGradients`), with the ratio.
// `--shapes ml20m-cat` adds ML-20M's catalogue (138,493 × 26,744) with 2M synthetic ratings.
//   npx tsx bench/bpr.ts [--modes webasm,cpu] [--steps 12] [--shapes ml100k,ml1m] [--models bpr,enmf] [--profile]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compileSource, type Compiled } from '../compiler/compile.ts';
import { batchKey, totalKey } from '../compiler/ir/spaces.ts';
import { GpuBackend } from '../runtime/backends/backends.ts';
import type { Relation } from '../runtime/data/load.ts';
import { repoRoot } from '../runtime/data/data-paths.ts';
import type { Dataset } from '../runtime/data/dataset.ts';
import type { ExecMode } from '../runtime/exec/executor.ts';
import { train } from '../runtime/train/train.ts';
import { identityIds, ml100kShape, ml1mShape, ml20mCatalogueShape, option, type Shape } from './common.ts';

const opt = option;
const modes = opt('modes', 'webasm,cpu').split(',') as ExecMode[];
const timedSteps = Number(opt('steps', '0')) || undefined;
const shapes = opt('shapes', 'ml100k,ml1m').split(',');
const models = opt('models', 'bpr,enmf').split(',');
const BATCH = 4096;

function datasetOf(compiled: Compiled, s: Shape): Dataset {
  const info = compiled.model.relations.find((r) => r.name === 'ratings')!;
  const ids = identityIds(s);
  const rel = (name: string, rows: Int32Array): Relation => ({
    name, size: rows.length, columns: info.columns,
    ids: new Map([['user', Int32Array.from(rows, (t) => s.users[t]!)], ['item', Int32Array.from(rows, (t) => s.items[t]!)]]),
    idDomains: new Map([['user', 'user'], ['item', 'item']]),
    values: new Map([['rating', Float64Array.from(rows, (t) => s.ratings[t]!)], ['time', Float64Array.from(rows, (t) => s.times[t]!)]]),
    source: s.source,
  });
  const all = Int32Array.from({ length: s.users.length }, (_, t) => t);
  const liked = all.filter((t) => s.ratings[t]! >= 4);
  return { ids, train: new Map([['ratings', rel('ratings', all)], ['likes', rel('likes', liked)]]), test: new Map(), primary: 'likes', protocol: 'all positives train (bench)' };
}

function compileAt(file: string, text: string, s: Shape, nLikes: number, batch: number): Compiled {
  const sizes = new Map([
    ['user', s.nUsers], ['item', s.nItems],
    ['ratings', s.users.length], [totalKey('ratings'), s.users.length], [batchKey('ratings'), s.users.length],
    ['likes', batch], [totalKey('likes'), nLikes], [batchKey('likes'), batch],
  ]);
  const r = compileSource(file, text, { sizes });
  if (!r.compiled) throw new Error(`${file} does not compile: ${r.diagnostics.map((d) => d.message).join('; ')}`);
  return { ...r.compiled, model: { ...r.compiled.model, evaluate: { ...r.compiled.model.evaluate, metrics: [] } } };
}

/** The example's text; BPR with the bench's mini-batch. */
function textOf(m: string): string {
  const text = readFileSync(join(repoRoot(), 'examples', `${m}.recmodel`), 'utf8');
  return m === 'enmf' ? text : text.replace(/batch \d+/, `batch ${BATCH}`);
}

const texts = new Map(models.map((m) => [m, textOf(m)]));
const shapeList: Shape[] = [];
for (const sh of shapes) {
  if (sh === 'ml100k') {
    const c = compileSource(join(repoRoot(), 'examples', `${models[0]}.recmodel`), texts.get(models[0]!)!).compiled;
    if (!c) throw new Error(`examples/${models[0]}.recmodel does not compile`);
    shapeList.push(ml100kShape(c.model.relations.find((r) => r.name === 'ratings')!));
  } else if (sh === 'ml1m') shapeList.push(ml1mShape());
  else if (sh === 'ml20m-cat') shapeList.push(ml20mCatalogueShape());
  else throw new Error(`unknown shape ${sh}`);
}

console.log(`seconds per epoch: median step time of ${timedSteps ?? '3 (full batch) or 12 (mini-batch)'} steps after 1 warm-up step, extrapolated to an epoch (steps/epoch × median step)`);
console.log(`node ${process.version}, gpu.js modes ${modes.join(', ')}; positives = ratings ≥ 4, all of them training tuples, no evaluation\n`);
console.log('model   shape       likes     batch  steps/epoch   mode     grads   ms/step   s/epoch   fallbacks');
for (const s of shapeList) {
  for (const m of models) {
    const file = join(repoRoot(), 'examples', `${m}.recmodel`);
    const text = texts.get(m)!;
    const nLikes = [...s.ratings].filter((r) => r >= 4).length;
    const probe = compileAt(file, text, s, nLikes, nLikes);
    const b = probe.model.train.batch;
    const batch = b.kind === 'tuples' && b.size < nLikes ? b.size : nLikes;
    const compiled = compileAt(file, text, s, nLikes, batch);
    const ds = datasetOf(compiled, s);
    const stepsPerEpoch = Math.ceil(nLikes / batch);
    const kinds = compiled.grads.some((g) => g.rows) ? (['rows', 'dense'] as const) : (['dense'] as const);
    for (const mode of modes) {
      // a few discarded steps first, so that neither variant pays the process's JIT warm-up; with two
      // variants, two alternating rounds (rows, dense, rows, dense) and each variant's faster median
      if (kinds.length > 1) {
        const warm = new GpuBackend(mode, compiled.module.spaces);
        train(compiled, ds, { backend: warm, steps: 4 });
        warm.dispose();
      }
      const rounds = kinds.length > 1 ? 2 : 1;
      const best = new Map<string, { ms: number; fb: number; diverged: string; report: string[] }>();
      for (let round = 0; round < rounds; round++) {
        for (const kind of kinds) {
          const backend = new GpuBackend(mode, compiled.module.spaces);
          const r = train(compiled, ds, { backend, steps: 1 + (timedSteps ?? (stepsPerEpoch > 1 ? 12 : 3)), denseGradients: kind === 'dense' });
          const timed = r.log.slice(1).map((l) => l.ms).sort((x, y) => x - y);
          const ms = timed.length ? (timed[(timed.length - 1) >> 1]! + timed[timed.length >> 1]!) / 2 : NaN;
          const prev = best.get(kind);
          if (!prev || ms < prev.ms) {
            const report = backend.report().map((k) => `    ${k.step.padEnd(6)} ${k.backend.padEnd(18)} calls ${String(k.calls).padStart(4)}  ${(k.ms / Math.max(1, k.calls)).toFixed(2).padStart(9)} ms/call`);
            best.set(kind, { ms, fb: (prev?.fb ?? 0) + backend.fallbacks().length, diverged: r.diverged ? ` DIVERGED ${r.diverged.term}` : '', report });
          }
          backend.dispose();
        }
      }
      const rowsMs = best.get('rows')?.ms ?? NaN;
      for (const kind of kinds) {
        const { ms, fb, diverged, report } = best.get(kind)!;
        const ratio = kind === 'dense' && Number.isFinite(rowsMs) ? `   (rows ${(ms / rowsMs).toFixed(2)}× faster)` : '';
        console.log(
          `${m.padEnd(7)} ${s.label.padEnd(10)} ${String(nLikes).padStart(7)} ${String(batch).padStart(9)} ${String(stepsPerEpoch).padStart(12)}   ${mode.padEnd(7)}  ${kind.padEnd(5)} ${ms.toFixed(1).padStart(9)} ${((ms * stepsPerEpoch) / 1000).toFixed(2).padStart(9)}   ${fb}${diverged}${ratio}`,
        );
        if (process.argv.includes('--profile')) console.log(report.join('\n'));
      }
    }
  }
}

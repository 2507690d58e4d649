// bench/train: seconds per training epoch of examples/mf-gramian.recmodel (full batch: one step is
// one epoch) and examples/mf-biased.recmodel (batch 4096: ⌈N/4096⌉ steps an epoch), at the ML-100K
// shape (943 × 1682, 100,000 ratings: ML-100K u.data when present, else synthetic) and the ML-1M
// shape (syntheticMl1m(): 6040 × 3706, 1,000,209 ratings), per gpu.js mode, side by side in one run.
// Each config trains through the real pipeline (compileSource at the real sizes, runtime/train.ts
// `train`) for `--steps` steps after one warm-up step (kernel compilation, CSR indexes); the mean
// step time is extrapolated to an epoch. All tuples are training tuples (no split, no evaluation).
//   npx tsx bench/train.ts [--modes webasm,cpu] [--steps 3] [--shapes ml100k,ml1m] [--models mf-gramian,mf-biased]
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
import { identityIds, ml100kShape, ml1mShape, option, type Shape } from './common.ts';

const opt = option;
const modes = opt('modes', 'webasm,cpu').split(',') as ExecMode[];
const timedSteps = Number(opt('steps', '0')) || undefined;
const shapes = opt('shapes', 'ml100k,ml1m').split(',');
const models = opt('models', 'mf-gramian,mf-biased').split(',');

function datasetOf(compiled: Compiled, s: Shape): Dataset {
  const info = compiled.model.relations.find((r) => r.name === 'ratings')!;
  const ids = identityIds(s);
  const rel: Relation = {
    name: 'ratings',
    size: s.users.length,
    columns: info.columns,
    ids: new Map([['user', s.users], ['item', s.items]]),
    idDomains: new Map([['user', 'user'], ['item', 'item']]),
    values: new Map([['rating', s.ratings], ['time', s.times]]),
    source: s.source,
  };
  return { ids, train: new Map([['ratings', rel]]), test: new Map(), primary: 'ratings', protocol: 'all tuples train (bench)' };
}

function compileAt(file: string, text: string, s: Shape, batch: number): Compiled {
  const n = s.users.length;
  const sizes = new Map([['user', s.nUsers], ['item', s.nItems], ['ratings', batch], [totalKey('ratings'), n], [batchKey('ratings'), batch]]);
  const r = compileSource(file, text, { sizes });
  if (!r.compiled) throw new Error(`${file} does not compile: ${r.diagnostics.map((d) => d.message).join('; ')}`);
  // training only: the bench measures steps, not metrics
  return { ...r.compiled, model: { ...r.compiled.model, evaluate: { ...r.compiled.model.evaluate, metrics: [] } } };
}

const texts = new Map(models.map((m) => [m, readFileSync(join(repoRoot(), 'examples', `${m}.recmodel`), 'utf8')]));
const shapeList: Shape[] = [];
for (const sh of shapes) {
  if (sh === 'ml100k') {
    const c = compileSource(`examples/${models[0]}.recmodel`, texts.get(models[0]!)!).compiled;
    if (!c) throw new Error(`examples/${models[0]}.recmodel does not compile`);
    shapeList.push(ml100kShape(c.model.relations.find((r) => r.name === 'ratings')!));
  }
  else if (sh === 'ml1m') shapeList.push(ml1mShape());
  else throw new Error(`unknown shape ${sh}`);
}

console.log(`seconds per epoch: median step time of ${timedSteps ?? '3 (full batch) or 12 (mini-batch)'} steps after 1 warm-up step, extrapolated to an epoch (steps/epoch × median step)`);
console.log(`node ${process.version}, gpu.js modes ${modes.join(', ')}; all tuples are training tuples, no evaluation\n`);
console.log('model        shape     ratings    batch  steps/epoch   mode     ms/step   s/epoch   fallbacks');
for (const s of shapeList) {
  for (const m of models) {
    const file = `examples/${m}.recmodel`;
    const text = texts.get(m)!;
    const probe = compileAt(file, text, s, s.users.length);
    const b = probe.model.train.batch;
    const n = s.users.length;
    const batch = b.kind === 'tuples' && b.size < n ? b.size : n;
    const compiled = compileAt(file, text, s, batch);
    const ds = datasetOf(compiled, s);
    const stepsPerEpoch = Math.ceil(n / batch);
    for (const mode of modes) {
      const backend = new GpuBackend(mode, compiled.module.spaces);
      const r = train(compiled, ds, { backend, steps: 1 + (timedSteps ?? (stepsPerEpoch > 1 ? 12 : 3)) });
      // the median: a mini-batch whose longest CSR segment needs a new loop bound compiles a kernel
      const timed = r.log.slice(1).map((l) => l.ms).sort((x, y) => x - y);
      const ms = timed.length ? (timed[(timed.length - 1) >> 1]! + timed[timed.length >> 1]!) / 2 : NaN;
      const fb = backend.fallbacks().length;
      const loss = r.log[r.log.length - 1]?.total ?? NaN;
      console.log(
        `${m.padEnd(12)} ${s.label.padEnd(8)} ${String(n).padStart(8)} ${String(batch).padStart(8)} ${String(stepsPerEpoch).padStart(12)}   ${mode.padEnd(7)} ${ms.toFixed(1).padStart(9)} ${((ms * stepsPerEpoch) / 1000).toFixed(2).padStart(9)}   ${fb}${r.diverged ? ` DIVERGED ${r.diverged.term}` : ''}  (loss ${loss.toFixed(4)})`,
      );
      if (process.argv.includes('--profile')) {
        for (const k of backend.report()) console.log(`    ${k.step.padEnd(6)} ${k.backend.padEnd(18)} calls ${String(k.calls).padStart(4)}  ${(k.ms / Math.max(1, k.calls)).toFixed(2).padStart(9)} ms/call`);
      }
      backend.dispose();
    }
  }
}

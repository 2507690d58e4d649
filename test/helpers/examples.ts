// Shared setup for tests that run the bundled examples: the example files, a model compiled for the
// sizes of the data it loads (as `recc run` does: compile, load, recompile with the real sizes), and
// the training objective Σ terms at given params.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { compileSource, type Compiled } from '../../compiler/compile.ts';
import { renderDiagnostics } from '../../compiler/diagnostics/diagnostics.ts';
import type { Backend } from '../../runtime/exec/backend.ts';
import type { Relation } from '../../runtime/data/load.ts';
import { repoRoot } from '../../runtime/data/data-paths.ts';
import { loadDataset, type Dataset, type DataOptions } from '../../runtime/data/dataset.ts';
import type { TensorValue } from '../../compiler/ir/interp.ts';
import { Rng } from '../../runtime/data/rng.ts';
import { distribution, drawSamples } from '../../runtime/train/samplers.ts';
import { logqTableName } from '../../compiler/ir/spaces.ts';
import { makeEnv, sizesFor } from '../../runtime/exec/env.ts';

export const EXAMPLES_DIR = join(repoRoot(), 'examples');

/** examples/*.recmodel, sorted */
export const exampleFiles = (): string[] => readdirSync(EXAMPLES_DIR).filter((f) => f.endsWith('.recmodel')).sort();

export interface Loaded {
  readonly compiled: Compiled;
  readonly ds: Dataset;
  /** sizes of every space for the full training data */
  readonly sizes: Map<string, number>;
}

/** Compiles `text` (as if it were the file at `path`), loads its data, recompiles for the real sizes. */
export function loadExample(path: string, text: string, data: DataOptions = {}): Loaded {
  const first = compileSource(path, text);
  if (!first.compiled) throw new Error(`${path} does not compile:\n${renderDiagnostics(first.diagnostics, (f) => first.sources.get(f))}`);
  const ds = loadDataset(first.compiled.model, data);
  const sizes = sizesFor(first.compiled, ds, ds.train, ds.train);
  const compiled = compileSource(path, text, { sizes }).compiled!;
  return { compiled, ds, sizes };
}

/** Σ over terms of the model at `params`, on `relations` (the full training data by default). */
export function objective(
  l: Loaded,
  params: ReadonlyMap<string, Float32Array>,
  backend: Backend,
  relations: ReadonlyMap<string, Relation> = l.ds.train,
): number {
  const samplers = l.compiled.module.samplers;
  if (samplers.length === 0) {
    const env = makeEnv(l.compiled, l.sizes, params, relations);
    return l.compiled.terms.reduce((acc, t) => acc + backend.scalar(t.expr, env), 0);
  }
  // a sampled objective at one fixed draw (seeded by the train seed): the same negatives for every
  // params it is evaluated at, so two evaluations compare the params, not the draws
  const dists = samplers.map((s) =>
    distribution(s, l.sizes.get(s.domain) ?? 0, l.ds.train.get(s.source ?? l.ds.primary), s.kind === 'per-tuple' && s.exclude ? { rel: l.ds.train.get(s.exclude.rel), owners: l.sizes.get(s.exclude.owner) ?? 0 } : undefined),
  );
  const drawn = new Map(relations);
  drawSamples(samplers, dists, drawn, new Rng(l.compiled.model.train.seed).fork(2));
  const sizes = sizesFor(l.compiled, l.ds, drawn, l.ds.train);
  const tables = new Map<string, TensorValue>(samplers.map((s, j) => [logqTableName(s), { data: Float32Array.from(dists[j]!.logq), shape: [s.domain] }]));
  const env = makeEnv(l.compiled, sizes, params, drawn, tables);
  return l.compiled.terms.reduce((acc, t) => acc + backend.scalar(t.expr, env), 0);
}

/** The model text with its train seed replaced (or added, when the train block names none). */
export function withTrainSeed(text: string, seed: number): string {
  const m = /train\s*\{[^}]*\}/.exec(text);
  if (!m) throw new Error('no train block');
  const block = /\bseed\s+\d+/.test(m[0]) ? m[0].replace(/\bseed\s+\d+/, `seed ${seed}`) : m[0].replace(/\}$/, ` seed ${seed} }`);
  return text.slice(0, m.index) + block + text.slice(m.index + m[0].length);
}

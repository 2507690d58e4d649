// The data side of `recc export --target torch`: the model's relations exactly as recc loaded them
// (ids mapped to the same dense indices, the same train/test split, derived relations filtered) as
// .npy files with their part of spec.json, so the exported trainer reads the same tuples without
// re-parsing files; and, for `--check`, the env of one training step (params at their initial values,
// the step's batch and drawn samples) with recc's float64 reference values of every term and gradient.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Compiled } from '../../compiler/compile.ts';
import type { TorchPackage } from '../../compiler/codegen/torch/package.ts';
import { evalScalar, evalTensor, type Env, type TensorValue } from '../../compiler/ir/interp.ts';
import { columnKey, logqTableName, totalKey } from '../../compiler/ir/spaces.ts';
import type { Relation } from '../data/load.ts';
import type { Dataset } from '../data/dataset.ts';
import { Rng } from '../data/rng.ts';
import { makeEnv, sizesFor } from '../exec/env.ts';
import { f32, i32, writeNpy } from '../output/npy.ts';
import { distribution } from '../train/samplers.ts';
import { Steps } from '../train/steps.ts';
import { initParams } from '../train/train.ts';

export class ExportError extends Error {
  override readonly name = 'ExportError';
}

/** Why recc cannot export this model to torch yet, or undefined. */
export function unsupported(compiled: Compiled): string | undefined {
  const b = compiled.model.train.batch;
  if (b.kind === 'users') return `\`batch ${b.size} users\` is not exported to torch yet (tuple mini-batches and full batches are)`;
  return undefined;
}

/** Writes the package: model.py, the runtime, spec.json and data/*.npy. */
export function writeTorchPackage(dir: string, compiled: Compiled, ds: Dataset, pkg: TorchPackage, runtimeFiles: readonly { name: string; text: string }[]): void {
  const why = unsupported(compiled);
  if (why) throw new ExportError(why);
  mkdirSync(join(dir, 'data'), { recursive: true });
  writeFileSync(join(dir, 'model.py'), pkg.modelPy);
  for (const f of runtimeFiles) writeFileSync(join(dir, f.name), f.text);
  const data = writeData(dir, compiled, ds, pkg);
  const spec = { ...pkg.spec, data, names: pkg.names.entries };
  writeFileSync(join(dir, 'spec.json'), JSON.stringify(spec, null, 1) + '\n');
}

function writeData(dir: string, compiled: Compiled, ds: Dataset, pkg: TorchPackage): Record<string, unknown> {
  const { names } = pkg;
  const spaces = compiled.module.spaces;
  let file = 0;
  const side = (rels: ReadonlyMap<string, Relation>, tag: string): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    for (const [name, rel] of rels) {
      const sp = spaces.get(name);
      if (!sp || (sp.kind !== 'relation' && sp.kind !== 'entries')) continue;
      const ids: Record<string, string> = {};
      const values: Record<string, string> = {};
      for (const [col, a] of rel.ids) {
        const f = `data/${tag}-${file++}.npy`;
        writeNpy(join(dir, f), i32([a.length], a));
        ids[names.name('ids', columnKey(name, col))] = f;
      }
      for (const [col, a] of rel.values) {
        const f = `data/${tag}-${file++}.npy`;
        writeNpy(join(dir, f), f32([a.length], a));
        values[names.name('data', columnKey(name, col))] = f;
      }
      const entriesOf = sp.kind === 'entries' ? { relation: sp.rel, row: names.name('ids', columnKey(name, 'row')) } : undefined;
      out[name] = { size: rel.size, ids, values, ...(entriesOf ? { entries_of: entriesOf } : {}) };
    }
    return out;
  };
  const domains: Record<string, number> = {};
  // the external id of each dense index, per domain (row r of a param over `user` is user ids[r]),
  // as a run folder's ids/*.json: what maps the package's rows (and a run's trained rows) back to the data
  const externalIds: Record<string, string> = {};
  for (const sp of spaces.values()) {
    if (sp.kind !== 'domain') continue;
    const ids = ds.ids.get(sp.name);
    domains[names.name('size', sp.name)] = ids.size;
    domains[names.name('size', totalKey(sp.name))] = ids.size;
    const f = `data/ids-${names.name('size', sp.name)}.json`;
    writeFileSync(join(dir, f), JSON.stringify(Array.from({ length: ids.size }, (_, r) => ids.external(r))) + '\n');
    externalIds[sp.name] = f;
  }
  const cols: Record<string, Record<string, string>> = {};
  const domainCols: Record<string, Record<string, string>> = {};
  for (const [name, rel] of ds.train) {
    cols[name] = {};
    domainCols[name] = {};
    for (const col of rel.ids.keys()) cols[name][col] = names.name('ids', columnKey(name, col));
    for (const [col, d] of rel.idDomains) if (!(d in domainCols[name])) domainCols[name][d] = names.name('ids', columnKey(name, col));
  }
  const test = ds.test.get(ds.primary);
  const labelCol = test?.columns.find((c) => c.type.kind === 'float') ?? test?.columns.find((c) => c.type.kind === 'int');
  return {
    primary: ds.primary,
    protocol: ds.protocol,
    label: labelCol ? names.name('data', columnKey(ds.primary, labelCol.name)) : null,
    domains,
    external_ids: externalIds,
    cols,
    domain_cols: domainCols,
    train: side(ds.train, 'train'),
    test: side(ds.test, 'test'),
  };
}

/**
 * The params an exported package starts from: the initializers, overlaid with a run's trained values
 * where it has them (a NaN row, one the run never saw, keeps its initializer: recc_torch.start_params).
 */
export function startParams(init: Map<string, Float32Array>, trained?: ReadonlyMap<string, Float32Array>): Map<string, Float32Array> {
  if (!trained) return init;
  const out = new Map(init);
  for (const [name, v] of trained) {
    const base = init.get(name);
    if (!base) continue;
    out.set(name, v.map((x, k) => (Number.isNaN(x) ? base[k]! : x)));
  }
  return out;
}

export interface Reference {
  readonly terms: readonly number[];
  /** each param's gradient of the whole objective, flat, row-major */
  readonly grads: ReadonlyMap<string, Float64Array>;
  /** the env's sizes (for shape checks) */
  readonly sizes: ReadonlyMap<string, number>;
}

/**
 * The first training step's env (initial params, the first batch, the samples recc draws for it)
 * written under `dir` with Python names, and recc's float64 reference interpreter's value of every
 * term and of every param's gradient of the objective there.
 */
export function writeCheckEnv(dir: string, compiled: Compiled, ds: Dataset, pkg: TorchPackage, trained?: ReadonlyMap<string, Float32Array>): Reference {
  mkdirSync(dir, { recursive: true });
  const cfg = compiled.model.train;
  const full = ds.train;
  const fullSizes = sizesFor(compiled, ds, full, full);
  const params = startParams(initParams(compiled, fullSizes, cfg.seed), trained);
  const samplers = compiled.module.samplers;
  const dists = samplers.map((smp) => {
    const ex = smp.kind === 'per-tuple' ? smp.exclude : undefined;
    const excluded = ex ? { rel: full.get(ex.rel), owners: fullSizes.get(ex.owner) ?? 0 } : undefined;
    return distribution(smp, fullSizes.get(smp.domain) ?? 0, full.get(smp.source ?? ds.primary), excluded);
  });
  const tables = new Map<string, TensorValue>(samplers.map((smp, j) => [logqTableName(smp), { data: Float32Array.from(dists[j]!.logq), shape: [smp.domain] }]));
  const steps = new Steps(compiled, ds, fullSizes, { denseGradients: true, samples: { dists, rng: new Rng(cfg.seed).fork(2) } });
  const { relations, sizes } = steps.next();
  const env = makeEnv(compiled, sizes, params, relations, tables);
  writeEnv(dir, compiled, env, pkg);
  const terms = compiled.terms.map((t) => evalScalar(t.expr, env));
  const grads = new Map(compiled.grads.map((g) => [g.param, evalTensor(g.expr, env, g.out)]));
  return { terms, grads, sizes };
}

function writeEnv(dir: string, compiled: Compiled, env: Env, pkg: TorchPackage): void {
  const { names } = pkg;
  const params = new Set(compiled.module.params.map((p) => p.name));
  const hypers = new Set(compiled.model.consts.keys());
  const tensors: Record<string, string> = {};
  const ids: Record<string, string> = {};
  let file = 0;
  for (const [key, t] of env.tensors) {
    const kind = params.has(key) ? 'param' : hypers.has(key) ? 'hyper' : 'data';
    const shape = t.shape.map((s) => env.sizes.get(s)!);
    const f = `t${file++}.npy`;
    writeNpy(join(dir, f), f32(shape, t.data));
    tensors[names.name(kind, key)] = f;
  }
  for (const [key, a] of env.ids) {
    const f = `i${file++}.npy`;
    writeNpy(join(dir, f), i32([a.length], a));
    ids[names.name('ids', key)] = f;
  }
  const sizes: Record<string, number> = {};
  for (const [key, n] of env.sizes) sizes[names.name('size', key)] = n;
  writeFileSync(join(dir, 'env.json'), JSON.stringify({ tensors, ids, sizes }, null, 1) + '\n');
}

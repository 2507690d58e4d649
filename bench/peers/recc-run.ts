// bench/peers/recc-run: one measured recc training run, in its own process (so that its peak RSS is
// its own), started by bench/peers/peers.ts. Reads a shape's tuples from .npy files, builds the
// dataset (every tuple trains; derived relations filtered by the model's own `where`), compiles the
// example at the real sizes with the bench's dim and batch, trains `--steps` steps on gpu.js and
// prints one JSON line: per-step losses per term, CPU and wall seconds per step, peak RSS.
// With --record DIR it also writes what the Python reference needs to replay the run: the params
// recc started from, every step's batch columns (ids, ratings, sampled negatives), and meta.json.
//   npx tsx bench/peers/recc-run.ts --model mf-gramian --data DIR --dim 32 --steps 5 [--batch 4096] [--mode js|webasm|cpu|wasm] [--threads N] [--record DIR] [--kernels]
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compileSource, type Compiled } from '../../compiler/compile.ts';
import type { Env } from '../../compiler/ir/interp.ts';
import { batchKey, totalKey } from '../../compiler/ir/spaces.ts';
import { evalMany, type Backend, type EvalManyOptions, type ManyResult, type TensorRequest } from '../../runtime/exec/backend.ts';
import { GpuBackend } from '../../runtime/backends/backends.ts';
import type { ExecMode } from '../../runtime/exec/executor.ts';
import { filterRelation, type Relation } from '../../runtime/data/load.ts';
import { predicate, type Dataset } from '../../runtime/data/dataset.ts';
import { repoRoot } from '../../runtime/data/data-paths.ts';
import { f32, i32, readNpy, writeNpy } from '../../runtime/output/npy.ts';
import { train } from '../../runtime/train/train.ts';
import { identityIds, option, type Shape } from '../common.ts';
import type { Expr } from '../../compiler/ir/nodes.ts';

/** What one run reports (one JSON line on stdout). */
export interface ReccRun {
  readonly steps: readonly { readonly step: number; readonly terms: Record<string, number>; readonly total: number; readonly cpu: number; readonly wall: number; readonly kernel: number }[];
  readonly stepsPerEpoch: number;
  readonly batch: number;
  readonly tuples: number;
  readonly maxRssKb: number;
  readonly backend: string;
  readonly fallbacks: number;
  readonly diverged?: string;
}

/** The shape's tuples as the driver wrote them (users, items: int32; ratings: float32; times: int32). */
function readShape(dir: string): Shape {
  const info = JSON.parse(readFileSync(join(dir, 'shape.json'), 'utf8')) as { label: string; source: string; nUsers: number; nItems: number };
  const col = (name: string) => readNpy(join(dir, `${name}.npy`)).data;
  return {
    ...info,
    users: Int32Array.from(col('users')),
    items: Int32Array.from(col('items')),
    ratings: Float64Array.from(col('ratings')),
    times: Float64Array.from(col('times')),
  };
}

/** Every tuple trains: the file relation from the shape, derived relations by their own `where`. */
function datasetOf(compiled: Compiled, s: Shape): Dataset {
  const model = compiled.model;
  const file = model.relations.find((r) => r.source.kind === 'file')!;
  const train = new Map<string, Relation>();
  train.set(file.name, {
    name: file.name, size: s.users.length, columns: file.columns,
    ids: new Map([['user', s.users], ['item', s.items]]),
    idDomains: new Map([['user', 'user'], ['item', 'item']]),
    values: new Map([['rating', s.ratings], ['time', s.times]]),
    source: s.source,
  });
  for (const info of model.relations) {
    if (info.source.kind !== 'derived') continue;
    const base = train.get(info.source.base)!;
    train.set(info.name, filterRelation(base, predicate(info.source.where, base), info.name));
  }
  // batches come from the relation the model splits (as `recc run` draws them), else its file relation
  const primary = model.split?.relation ?? file.name;
  return { ids: identityIds(s), train, test: new Map(), primary, protocol: 'every tuple trains (bench/peers)' };
}

/** The example's text with the bench's batch size (when given). */
function sourceOf(model: string, batch: number | undefined): { file: string; text: string } {
  const file = join(repoRoot(), 'examples', `${model}.recmodel`);
  const text = readFileSync(file, 'utf8');
  return { file, text: batch === undefined ? text : text.replace(/batch \d+/, `batch ${batch}`) };
}

/** Compiled at the real sizes: every relation's tuple count, the primary's batch (size keys from lower.ts). */
function compileAt(file: string, text: string, dim: number, s: Shape, relSizes: ReadonlyMap<string, number>, primary: string, batch: number): Compiled {
  const sizes = new Map([['user', s.nUsers], ['item', s.nItems]]);
  for (const [name, n] of relSizes) {
    const b = name === primary ? batch : n;
    sizes.set(name, b).set(batchKey(name), b).set(totalKey(name), n);
  }
  const r = compileSource(file, text, { sets: new Map([['d', dim]]), sizes });
  if (!r.compiled) throw new Error(`${file} does not compile: ${r.diagnostics.map((d) => d.message).join('; ')}`);
  // training only: the bench measures steps, not metrics
  return { ...r.compiled, model: { ...r.compiled.model, evaluate: { ...r.compiled.model.evaluate, metrics: [] } } };
}

/** A backend that hands every training step's environment to `see`, then evaluates on `inner`. */
class Watched implements Backend {
  readonly name: string;
  constructor(private readonly inner: GpuBackend, private readonly see: (env: Env) => void) {
    this.name = inner.name;
  }
  get threads(): number {
    return this.inner.threads;
  }
  evalMany(scalars: readonly Expr[], tensors: readonly TensorRequest[], env: Env, opts?: EvalManyOptions): ManyResult {
    this.see(env);
    return evalMany(this.inner, scalars, tensors, env, opts);
  }
  scalar(e: Expr, env: Env): number {
    return this.inner.scalar(e, env);
  }
  tensor(e: Expr, out: Parameters<Backend['tensor']>[1], env: Env): Float32Array {
    return this.inner.tensor(e, out, env);
  }
  adopt(params: Map<string, Float32Array>): void {
    this.inner.adopt(params);
  }
  dispose(): void {
    this.inner.dispose();
  }
}

interface Recorder {
  /** params at the first step (what recc started from), by name */
  readonly params: Map<string, Float32Array>;
  /** the primary relation's columns (ids, values, sampled ids) at each mini-batch step, by `rel.col` */
  readonly batches: Map<string, { readonly kind: 'id' | 'value'; readonly steps: number[][] }>;
}

/**
 * The one coupling to recc's compiler and runtime: compile `model` at the shape's sizes, train it on
 * gpu.js `mode` for `steps` steps, and time each step (CPU from process.cpuUsage, wall from
 * performance.now, both between consecutive step callbacks). `record` sees each step's env.
 */
function trainRecc(model: string, s: Shape, dim: number, batchOverride: number | undefined, mode: ExecMode, steps: number, record?: Recorder) {
  const { file, text } = sourceOf(model, batchOverride);
  const probe = compileSource(file, text, { sets: new Map([['d', dim]]) }).compiled;
  if (!probe) throw new Error(`${file} does not compile`);
  const ds = datasetOf(probe, s);
  const rel = ds.train.get(ds.primary)!;
  const b = probe.model.train.batch;
  const batch = b.kind === 'tuples' && b.size < rel.size ? b.size : rel.size;
  const relSizes = new Map([...ds.train].map(([name, r]) => [name, r.size]));
  const compiled = compileAt(file, text, dim, s, relSizes, ds.primary, batch);
  const gpu = new GpuBackend(mode, compiled.module.spaces, { threads: Number(option('threads', '1')) });
  const backend = record
    ? new Watched(gpu, (env) => {
        if (record.params.size === 0) for (const p of compiled.module.params) record.params.set(p.name, Float32Array.from(env.tensors.get(p.name)!.data));
        if (batch === rel.size) return; // full batch: the reference has every tuple already
        const cols = [...[...env.ids].map(([k, a]) => [k, a, 'id'] as const), ...[...env.tensors].map(([k, t]) => [k, t.data, 'value'] as const)];
        for (const [key, a, kind] of cols) {
          if (!key.startsWith(`${ds.primary}.`) || key.includes('#')) continue;
          let col = record.batches.get(key);
          if (!col) record.batches.set(key, (col = { kind, steps: [] }));
          col.steps.push(Array.from(a));
        }
      })
    : gpu;
  // kernel seconds per step from the executor's records (the rest of a step is glue: batches, env, optimizer)
  const kernelMs = () => gpu.report().reduce((a, k) => a + k.ms, 0);
  const times: { cpu: number; wall: number; kernel: number }[] = [];
  let cpu0 = process.cpuUsage();
  let wall0 = performance.now();
  let kernel0 = kernelMs();
  const r = train(compiled, ds, {
    backend,
    steps,
    onStep: () => {
      const cpu = process.cpuUsage(cpu0);
      const k = kernelMs();
      times.push({ cpu: (cpu.user + cpu.system) / 1e6, wall: (performance.now() - wall0) / 1000, kernel: (k - kernel0) / 1000 });
      cpu0 = process.cpuUsage();
      wall0 = performance.now();
      kernel0 = k;
    },
  });
  const fallbacks = gpu.fallbacks().length;
  // --kernels: the executor's per-kernel times (all steps), the heaviest first, on stderr
  if (process.argv.includes('--kernels')) {
    const all = [...gpu.report()].sort((a, b) => b.ms - a.ms);
    const sum = all.reduce((a, k) => a + k.ms, 0);
    for (const k of all) process.stderr.write(`${k.ms.toFixed(1).padStart(9)} ms ${((100 * k.ms) / sum).toFixed(1).padStart(5)}% ${String(k.calls).padStart(6)} calls  ${k.step} (${k.backend})\n`);
  }
  backend.dispose();
  return { compiled, ds, batch, result: r, times, fallbacks, backendName: gpu.name };
}

function main(): void {
  const model = option('model', '');
  const dim = Number(option('dim', '32'));
  const steps = Number(option('steps', '5'));
  const batchOpt = option('batch', '');
  const mode = option('mode', 'js') as ExecMode;
  const recordDir = option('record', '');
  const s = readShape(option('data', ''));
  const record: Recorder | undefined = recordDir ? { params: new Map(), batches: new Map() } : undefined;
  const run = trainRecc(model, s, dim, batchOpt ? Number(batchOpt) : undefined, mode, steps, record);
  const n = run.ds.train.get(run.ds.primary)!.size;
  const stepsPerEpoch = Math.ceil(n / run.batch);
  if (record) writeRecord(recordDir, record, run.compiled, run.ds, { model, dim, steps, batch: run.batch, stepsPerEpoch, tuples: n });
  const out: ReccRun = {
    steps: run.result.log.map((l, k) => ({ step: l.step, terms: { ...l.terms }, total: l.total, cpu: run.times[k]?.cpu ?? NaN, wall: run.times[k]?.wall ?? NaN, kernel: run.times[k]?.kernel ?? NaN })),
    stepsPerEpoch,
    batch: run.batch,
    tuples: n,
    maxRssKb: process.resourceUsage().maxRSS,
    backend: run.backendName,
    fallbacks: run.fallbacks,
    ...(run.result.diverged ? { diverged: `${run.result.diverged.term} at step ${run.result.diverged.step}` } : {}),
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

/**
 * The replay for the reference: params/<name>.npy (float32, the param's shape), batch/<col>.npy
 * (every step's column concatenated) with batch/offsets.npy (step k is [offsets[k], offsets[k+1])),
 * and meta.json: sizes, the model's consts and optimizer, and which params recc updates lazily (at a
 * batch's touched rows only) — the reference checks these against its own hand-written copy.
 */
function writeRecord(dir: string, rec: Recorder, compiled: Compiled, ds: Dataset, run: Record<string, number | string>): void {
  mkdirSync(join(dir, 'params'), { recursive: true });
  mkdirSync(join(dir, 'batch'), { recursive: true });
  const sizes = new Map<string, number>([['user', ds.ids.get('user').size], ['item', ds.ids.get('item').size]]);
  for (const p of compiled.model.params) {
    const shape = p.shape.map((a) => (a.kind === 'dim' ? a.size : sizes.get(a.name)!));
    writeNpy(join(dir, 'params', `${p.name}.npy`), f32(shape, rec.params.get(p.name)!));
  }
  const offsets = [0];
  const first = [...rec.batches.values()][0]?.steps ?? [];
  for (const step of first) offsets.push(offsets[offsets.length - 1]! + step.length);
  writeNpy(join(dir, 'batch', 'offsets.npy'), i32([offsets.length], offsets));
  // files by the column's name in the relation (user.npy, rating.npy…); a per-tuple sampler's draws
  // as sampled-<domain>.npy (sampled-item.npy: BPR's negatives), whatever the runtime calls the column
  const samplers = compiled.module.samplers.filter((x) => x.kind === 'per-tuple' && x.rel === ds.primary);
  const sampled: { file: string; domain: string; dist: string; alpha: number }[] = [];
  for (const [key, col] of rec.batches) {
    const name = key.slice(ds.primary.length + 1);
    const smp = samplers.find((x) => x.kind === 'per-tuple' && x.col === name);
    const file = smp ? `sampled-${smp.domain}${sampled.some((x) => x.domain === smp.domain) ? `-${sampled.length}` : ''}` : name;
    if (smp) sampled.push({ file, domain: smp.domain, dist: smp.dist, alpha: smp.alpha });
    const flat = col.steps.flat();
    writeNpy(join(dir, 'batch', `${file}.npy`), col.kind === 'id' ? i32([flat.length], flat) : f32([flat.length], flat));
  }
  const meta = {
    ...run,
    primary: ds.primary,
    nUsers: sizes.get('user'),
    nItems: sizes.get('item'),
    consts: Object.fromEntries(compiled.model.consts),
    optimizer: compiled.model.train.optimizer,
    schedule: compiled.model.train.schedule,
    terms: compiled.terms.map((t) => t.name),
    lazyParams: compiled.grads.filter((g) => g.rows).map((g) => g.param),
    sampled,
    relations: Object.fromEntries([...ds.train].map(([name, r]) => [name, r.size])),
  };
  writeFileSync(join(dir, 'meta.json'), `${JSON.stringify(meta, null, 2)}\n`);
}

main();

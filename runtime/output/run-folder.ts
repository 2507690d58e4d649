// The run folder: everything a run leaves behind, written atomically (temp file, then rename).
//   metrics.json   final (test) and per-evaluation metrics, the evaluation protocol in words, what the
//                  evaluations measured (validation or test), the best evaluation and the params' step
//   loss.csv       per step: step, epoch, lr, each term, total
//   params/*.npy   learned params, float32 row-major, plus params/manifest.json (axes per param)
//   ids/*.json     external id of each dense index, per domain (row r of U is user ids/user.json[r])
//   report.md      a human summary with the loss curve
//   run.json       how it was run (model, --set, data, mode, length) and who it is (CheckpointIdentity)
// readParams maps a saved run's rows onto another dataset's ids, for warm starts (--init).
//
// A run folder is always wholly one run. A run writes into its sibling `OUT.partial/` (with its
// checkpoint, runtime/train/checkpoint.ts) and renames it onto `OUT` once everything is written;
// killed, it leaves `OUT` as it was and `OUT.partial/` to resume from. The lock file `OUT.lock`
// (created exclusively, holding the writer's pid and start time) keeps two runs from one folder.
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmdirSync, rmSync, statSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { syncFolder } from '../train/checkpoint.ts';
import type { Compiled } from '../../compiler/compile.ts';
import type { EarlyStopInfo } from '../../compiler/check/model.ts';
import type { Dataset } from '../data/dataset.ts';
import { metricName, type EvalResult } from '../eval/evaluate.ts';
import { IdMap } from '../data/ids.ts';
import { f32, readNpy, writeNpy } from './npy.ts';
import { writeFileAtomic } from './write.ts';

export { NpyError } from './npy.ts';
import type { StepLog, TrainResult } from '../train/train.ts';

/** Writes `text` to `path` atomically; a failure (a full disk) names the path (write.ts). */
export function writeAtomic(path: string, text: string): void {
  writeFileAtomic(path, text);
}

/**
 * A run folder that cannot be used as asked (not empty, locked, half written) or read back (--init,
 * recommend: missing or malformed files, params of another shape): the user's to settle (exit 1).
 */
export class RunFolderError extends Error {
  override readonly name = 'RunFolderError';
}

/** The folder a run of `out` works in until it is complete. */
export const partialFolder = (out: string): string => `${out.replace(/\/+$/, '')}.partial`;
/** The lock file of `out` (beside it, so it guards both `out` and its partial folder). */
export const lockFile = (out: string): string => `${out.replace(/\/+$/, '')}.lock`;
/** The checkpoint inside a partial folder. */
export const CHECKPOINT_FILE = 'checkpoint.bin';

/**
 * A fresh default run folder: `runs/YYYYMMDD-HHMMSS-MODEL` (UTC), sorted by time, with `-2`, `-3`, …
 * appended when a folder (or a partial one) of that name exists.
 */
export function defaultRunFolder(model: string, now = new Date(), parent = 'runs'): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  const base = join(parent, `${stamp}-${model}`);
  for (let k = 1; ; k++) {
    const name = k === 1 ? base : `${base}-${k}`;
    if (!existsSync(name) && !existsSync(partialFolder(name)) && !existsSync(lockFile(name))) return name;
  }
}

/** The holder of a lock, as its file says. */
export interface LockHolder {
  readonly pid: number;
  readonly started: string;
  readonly host: string;
}

export interface RunLock {
  readonly path: string;
  /** set when the lock of a run that ended without releasing it was taken over: say so */
  readonly tookOver?: LockHolder;
  /** removes the lock file (if it is still this one's); idempotent */
  release(): void;
}

function parseLock(text: string): LockHolder | undefined {
  try {
    const j = JSON.parse(text) as Partial<LockHolder>;
    return Number.isSafeInteger(j.pid) && typeof j.started === 'string' && typeof j.host === 'string' ? (j as LockHolder) : undefined;
  } catch {
    return undefined;
  }
}

/** Whether process `pid` exists on this machine (EPERM: it exists, owned by someone else). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes the lock of run folder `out` (its parent must exist): an exclusive create of `OUT.lock`. A lock
 * held by a live process is refused (RunFolderError, naming it); one left by a process that is gone
 * (a kill, a crash) is taken over, and `tookOver` says whose it was.
 */
export function lockRunFolder(out: string): RunLock {
  const path = lockFile(out);
  const text = JSON.stringify({ pid: process.pid, started: new Date().toISOString(), host: hostname() }) + '\n';
  let tookOver: LockHolder | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(path, 'wx');
      try {
        writeSync(fd, text);
      } finally {
        closeSync(fd);
      }
      let released = false;
      return {
        path,
        ...(tookOver ? { tookOver } : {}),
        release: () => {
          if (released) return;
          released = true;
          try {
            if (readFileSync(path, 'utf8') === text) rmSync(path, { force: true });
          } catch {
            // already gone
          }
        },
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new RunFolderError(`cannot create the lock file ${path} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    let held: string;
    try {
      held = readFileSync(path, 'utf8');
    } catch {
      continue; // released meanwhile: try again
    }
    const holder = parseLock(held);
    // an unreadable lock is one whose writer died between creating and writing it
    if (holder && (holder.host !== hostname() || alive(holder.pid)))
      throw new RunFolderError(
        `${out} is being written by another recc run (pid ${holder.pid}${holder.host !== hostname() ? ` on ${holder.host}` : ''}, started ${holder.started}); ` +
          `wait for it to finish or stop it${holder.host !== hostname() ? `, or delete ${path} if that run is gone` : ''}`,
      );
    // stale: move it aside (atomic), and take it over only if it is still the lock judged stale
    const aside = `${path}.stale-${process.pid}`;
    try {
      renameSync(path, aside);
    } catch {
      continue;
    }
    const moved = readFileSync(aside, 'utf8');
    if (moved !== held) {
      if (!existsSync(path)) renameSync(aside, path);
      throw new RunFolderError(`${out} was locked by another recc run just now (its lock is ${path}); wait for it to finish`);
    }
    rmSync(aside, { force: true });
    tookOver = holder ?? { pid: 0, started: 'unknown', host: hostname() };
  }
  throw new RunFolderError(`cannot take the lock ${path}: other recc runs keep taking it`);
}

/** What is at a run folder's path now. */
export type FolderContents = { readonly kind: 'absent' | 'empty' | 'file' } | { readonly kind: 'run'; readonly model: string } | { readonly kind: 'other'; readonly entries: number };

export function folderContents(path: string): FolderContents {
  if (!existsSync(path)) return { kind: 'absent' };
  if (!statSync(path).isDirectory()) return { kind: 'file' };
  const entries = readdirSync(path);
  if (entries.length === 0) return { kind: 'empty' };
  const run = readRunJson(path);
  return run ? { kind: 'run', model: run.modelName } : { kind: 'other', entries: entries.length };
}

/** run.json of a run (or partial) folder, when it has a readable one. */
export function readRunJson(dir: string): (Record<string, unknown> & { readonly modelName: string }) | undefined {
  try {
    const j = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')) as Record<string, unknown>;
    const identity = j.identity as { model?: unknown } | undefined;
    const modelName = typeof identity?.model === 'string' ? identity.model : typeof j.model === 'string' ? basename(j.model, '.recmodel') : '?';
    return { ...j, modelName };
  } catch {
    return undefined;
  }
}

/**
 * Makes the partial folder the run folder: `partial` is renamed onto `out` (which must be absent or
 * an empty folder), in one step, and the rename is made durable; the checkpoint, needed no longer,
 * is then removed (a kill between the two leaves it in the finished folder: the same run's final state).
 */
export function finishRunFolder(partial: string, out: string): void {
  if (existsSync(out)) rmdirSync(out); // an empty folder (a non-empty one was refused or cleared)
  renameSync(partial, out);
  syncFolder(dirname(out));
  rmSync(join(out, CHECKPOINT_FILE), { force: true });
}

export interface ParamManifestEntry {
  readonly name: string;
  /** the space of each axis (a domain, whose row ids are in ids/<domain>.json, or a dim) */
  readonly axes: readonly string[];
  readonly shape: readonly number[];
  readonly file: string;
}

export function saveParams(dir: string, compiled: Compiled, ds: Dataset, params: ReadonlyMap<string, Float32Array>): void {
  const pdir = join(dir, 'params');
  mkdirSync(pdir, { recursive: true });
  const manifest: ParamManifestEntry[] = [];
  for (const p of compiled.module.params) {
    const shape = p.shape.map((s) => {
      const space = compiled.module.spaces.get(s)!;
      return space.kind === 'dim' ? space.size : ds.ids.get(s).size;
    });
    const file = `${p.name}.npy`;
    writeNpy(join(pdir, file), f32(shape, params.get(p.name)!));
    manifest.push({ name: p.name, axes: p.shape, shape, file });
  }
  writeAtomic(join(pdir, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  ds.ids.save(join(dir, 'ids'));
}


/** The JSON in `path`, or a RunFolderError naming the file. */
function readJson(path: string, what: string): unknown {
  if (!existsSync(path)) throw new RunFolderError(`${path}: missing (${what}); is the run folder complete? \`recc run --out\` writes it`);
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as unknown;
  } catch (err) {
    throw new RunFolderError(`${path}: not valid JSON (${(err as Error).message}); the run folder is damaged`);
  }
}

/** params/manifest.json, checked entry by entry. */
function readManifest(path: string): ParamManifestEntry[] {
  const m = readJson(path, 'the list of saved params');
  const ok = (e: unknown): e is ParamManifestEntry => {
    const x = e as Partial<ParamManifestEntry> | null;
    return (
      typeof x === 'object' && x !== null && typeof x.name === 'string' && typeof x.file === 'string' && /^[^/\\]+\.npy$/.test(x.file) && !x.file.startsWith('.') &&
      Array.isArray(x.axes) && x.axes.every((a) => typeof a === 'string') &&
      Array.isArray(x.shape) && x.shape.length === x.axes.length && x.shape.every((d) => Number.isSafeInteger(d) && d >= 0)
    );
  };
  if (!Array.isArray(m)) throw new RunFolderError(`${path}: expected a JSON array of saved params ({ name, axes, shape, file }), found ${m === null ? 'null' : typeof m}`);
  m.forEach((e, k) => {
    if (!ok(e)) throw new RunFolderError(`${path}: entry ${k} is not { name, axes: [..], shape: [..] (one size per axis), file: "NAME.npy" }: ${JSON.stringify(e)?.slice(0, 120)}`);
  });
  return m as ParamManifestEntry[];
}

const fmtShape = (axes: readonly string[], shape: readonly number[]): string => `[${axes.map((a, k) => `${a}=${shape[k]}`).join(', ')}]`;

/**
 * Params of a saved run, re-indexed to `ds`'s ids: row r of a domain axis is copied from the saved
 * row with the same external id; rows for ids the saved run never saw are left undefined (NaN-free:
 * the caller keeps its fresh initialization for them). A param the run lacks starts from its
 * initializer (a note). Anything else that does not fit is a RunFolderError naming the file or the
 * param: a damaged manifest, .npy or id file; a param with other axes or another size of a `dim`
 * (both shapes given); a run that holds none of this model's params.
 */
export function readParams(dir: string, compiled: Compiled, ds: Dataset): { params: Map<string, Float32Array>; notes: string[] } {
  const pdir = join(dir, 'params');
  const manifestPath = join(pdir, 'manifest.json');
  if (!existsSync(manifestPath)) throw new RunFolderError(`${dir} has no params/manifest.json: is it a run folder written by \`recc run --out\`?`);
  const manifest = readManifest(manifestPath);
  const notes: string[] = [];
  const out = new Map<string, Float32Array>();
  const idsOf = new Map<string, IdMap>();
  for (const p of compiled.module.params) {
    const saved = manifest.find((m) => m.name === p.name);
    if (!saved) {
      notes.push(`param ${p.name} is not in ${dir}; it starts from its initializer`);
      continue;
    }
    // every axis but a leading domain axis must have its size here
    const dimSize = (s: string): number | undefined => {
      const space = compiled.module.spaces.get(s);
      return space?.kind === 'dim' ? space.size : undefined;
    };
    const here = p.shape.map((s) => dimSize(s) ?? ds.ids.get(s).size);
    const byId = p.shape.length > 0 && dimSize(p.shape[0]!) === undefined; // rows of a leading domain axis are matched by id
    if (saved.axes.join(',') !== p.shape.join(',') || p.shape.some((_, k) => !(k === 0 && byId) && here[k] !== saved.shape[k]))
      throw new RunFolderError(
        `param ${p.name} has shape ${fmtShape(saved.axes, saved.shape)} in ${dir} but ${fmtShape(p.shape, here)} in this model; ` +
          `--init needs a run of a model with the same axes and dims (rows of index axes are matched by id)`,
      );
    const file = join(pdir, saved.file);
    if (!existsSync(file)) throw new RunFolderError(`${file}: missing (param ${p.name}, listed in ${manifestPath})`);
    const arr = readNpy(file);
    if (arr.dtype !== '<f4' || arr.shape.join(',') !== saved.shape.join(','))
      throw new RunFolderError(`${file}: holds ${arr.dtype} of shape (${arr.shape.join(', ')}), but ${manifestPath} says float32 (${saved.shape.join(', ')}) for param ${p.name}`);
    const data = arr.data as Float32Array;
    const lead = p.shape[0];
    const space = lead === undefined ? undefined : compiled.module.spaces.get(lead);
    if (!space || space.kind !== 'domain') {
      out.set(p.name, Float32Array.from(data));
      continue;
    }
    const row = saved.shape.slice(1).reduce((a, b) => a * b, 1);
    let savedIds = idsOf.get(lead!);
    if (!savedIds) {
      const idsPath = join(dir, 'ids', `${lead}.json`);
      const list = readJson(idsPath, `the ${lead} ids of the rows of ${p.name}`);
      if (!Array.isArray(list) || !list.every((x) => typeof x === 'string')) throw new RunFolderError(`${idsPath}: expected a JSON array of ${lead} ids (strings)`);
      if (new Set(list).size !== list.length) throw new RunFolderError(`${idsPath}: an id appears twice`);
      savedIds = new IdMap(lead!, list as string[]);
      idsOf.set(lead!, savedIds);
    }
    if (savedIds.size !== saved.shape[0]) throw new RunFolderError(`${join(dir, 'ids', `${lead}.json`)} lists ${savedIds.size} ${lead} ids, but ${file} has ${saved.shape[0]} rows`);
    const hereIds = ds.ids.get(lead!);
    const target = new Float32Array(hereIds.size * row).fill(Number.NaN);
    let copied = 0;
    for (let r = 0; r < hereIds.size; r++) {
      const old = savedIds.get(hereIds.external(r));
      if (old === undefined) continue;
      target.set(data.subarray(old * row, old * row + row), r * row);
      copied++;
    }
    if (copied < hereIds.size) notes.push(`${hereIds.size - copied} of ${hereIds.size} ${lead} rows of ${p.name} are new; they start from the initializer`);
    out.set(p.name, target);
  }
  if (out.size === 0 && compiled.module.params.length > 0)
    throw new RunFolderError(`${dir} holds none of this model's params (${compiled.module.params.map((p) => p.name).join(', ')}; it has ${manifest.map((m) => m.name).join(', ') || 'none'}); --init needs a run of the same model`);
  return { params: out, notes };
}

export function writeLossLog(dir: string, compiled: Compiled, log: readonly StepLog[]): void {
  const names = compiled.terms.map((t) => t.name);
  const lines = [['step', 'epoch', 'lr', ...names, 'total', 'ms'].join(',')];
  for (const s of log) lines.push([s.step, s.epoch.toFixed(4), s.lr, ...names.map((n) => s.terms[n]), s.total, s.ms.toFixed(2)].join(','));
  writeAtomic(join(dir, 'loss.csv'), lines.join('\n') + '\n');
}

export interface RunSummary {
  readonly model: string;
  readonly backend: string;
  readonly protocol: string;
  readonly seed: number;
  readonly sizes: Readonly<Record<string, number>>;
  readonly result: TrainResult;
  /** the model's `early_stop` rule, if any */
  readonly earlyStop?: EarlyStopInfo;
}

/** Said wherever a run's metrics are shown when they were measured on test at every evaluation. */
export const ON_TEST_NOTE =
  'no validation split: every evaluation was measured on the test split, so choosing settings or a stopping step by these numbers tunes on test (add `, validate 0.1` to the split)';

/** The test metrics of the saved params: measured once at the end with a validation part, else the last evaluation. */
export function finalTest(r: TrainResult): EvalResult | undefined {
  return r.heldOut.test ?? (r.heldOut.evaluatedOn === 'test' ? r.evals[r.evals.length - 1] : undefined);
}

/** Where the saved params come from, in words. */
export function paramsOrigin(r: TrainResult): string {
  const b = r.heldOut.best;
  if (b && r.heldOut.paramsFrom.step === b.step) return `the best validation ${b.metric} (${b.value.toFixed(4)}) at step ${b.step}`;
  return `the last step (${r.heldOut.paramsFrom.step})`;
}

export function writeMetrics(dir: string, s: RunSummary): void {
  const r = s.result;
  const h = r.heldOut;
  const test = finalTest(r);
  const rule = s.earlyStop;
  const json = {
    model: s.model,
    backend: s.backend,
    seed: s.seed,
    protocol: s.protocol,
    sizes: s.sizes,
    steps: s.result.stepsRun,
    seconds: Number(s.result.seconds.toFixed(3)),
    diverged: s.result.diverged ?? null,
    /** the test metrics of the saved params */
    final: test?.metrics ?? {},
    history: r.evals,
    /** what the evaluations during training measured */
    evaluatedOn: h.evaluatedOn,
    ...(h.evaluatedOn === 'test' && r.evals.length > 0 ? { note: ON_TEST_NOTE } : {}),
    params: { step: h.paramsFrom.step, epoch: h.paramsFrom.epoch, from: paramsOrigin(r) },
    validation: h.evaluatedOn === 'validation' ? { history: r.evals.filter((e) => e.on === 'validation'), best: h.best ?? null } : null,
    test: test ? { step: test.step, epoch: test.epoch, metrics: test.metrics } : null,
    earlyStop: rule
      ? { metric: metricName(rule.metric), direction: rule.direction, patience: rule.patience, minDelta: rule.minDelta, stoppedAt: h.stoppedAt ?? null, bestStep: h.best?.step ?? null, bestEpoch: h.best?.epoch ?? null, bestValue: h.best?.value ?? null }
      : null,
  };
  writeAtomic(join(dir, 'metrics.json'), JSON.stringify(json, null, 2) + '\n');
}

/** A loss curve as text: one row per bucket of steps, bar length ∝ total loss (log scale). */
export function lossChart(log: readonly StepLog[], rows = 20, width = 50): string {
  const finite = log.filter((s) => Number.isFinite(s.total));
  if (finite.length === 0) return '(no finite loss values)';
  const per = Math.max(1, Math.ceil(finite.length / rows));
  const buckets: { step: number; total: number }[] = [];
  for (let j = 0; j < finite.length; j += per) {
    const chunk = finite.slice(j, j + per);
    buckets.push({ step: chunk[chunk.length - 1]!.step, total: chunk.reduce((a, s) => a + s.total, 0) / chunk.length });
  }
  const lo = Math.min(...buckets.map((b) => b.total));
  const hi = Math.max(...buckets.map((b) => b.total));
  const pos = (x: number): number => (hi > lo ? Math.round(((x - lo) / (hi - lo)) * (width - 1)) + 1 : width);
  return buckets.map((b) => `${String(b.step).padStart(7)} | ${'█'.repeat(pos(b.total)).padEnd(width)} ${b.total.toPrecision(5)}`).join('\n');
}

export function writeReport(dir: string, compiled: Compiled, s: RunSummary): void {
  const r = s.result;
  const h = r.heldOut;
  const test = finalTest(r);
  const validation = r.evals.filter((e) => e.on === 'validation');
  const fmt = (m: Readonly<Record<string, number>>): string => Object.entries(m).map(([k, v]) => `- ${k}: ${v.toFixed(4)}`).join('\n');
  const metricLines =
    compiled.model.evaluate.metrics.length === 0
      ? ['(no metrics requested)']
      : h.evaluatedOn === 'validation'
        ? [
            `On the test split, once, with the params of ${paramsOrigin(r)}:`,
            '',
            test ? fmt(test.metrics) : '(not measured: training diverged)',
            '',
            `Evaluations during training were on the validation split${h.stoppedAt !== undefined ? `; early stopping ended training after step ${h.stoppedAt}` : ''}:`,
            '',
            '| step | epoch | ' + Object.keys(validation[0]?.metrics ?? {}).join(' | ') + ' |',
            '|---|---|' + Object.keys(validation[0]?.metrics ?? {}).map(() => '---|').join(''),
            ...validation.map((e) => `| ${e.step}${h.best?.step === e.step ? ' (best)' : ''} | ${e.epoch.toFixed(2)} | ${Object.values(e.metrics).map((v) => v.toFixed(4)).join(' | ')} |`),
          ]
        : [test ? fmt(test.metrics) : '(no evaluation)', '', `Note: ${ON_TEST_NOTE}.`];
  const lines = [
    `# ${s.model}`,
    '',
    `- backend: ${s.backend}`,
    `- data: ${s.protocol}`,
    `- sizes: ${Object.entries(s.sizes).map(([k, v]) => `|${k}| = ${v}`).join(', ')}`,
    `- seed: ${s.seed}; steps: ${r.stepsRun}; time: ${r.seconds.toFixed(2)} s`,
    `- params: from ${paramsOrigin(r)}`,
    r.diverged ? `- **stopped**: term \`${r.diverged.term}\` became ${r.diverged.value} at step ${r.diverged.step}` : '- finished normally',
    '',
    '## Metrics',
    '',
    ...metricLines,
    '',
    `## Terms (at the last step${r.log.length ? `, ${r.log[r.log.length - 1]!.step}` : ''})`,
    '',
    ...compiled.terms.map((t) => `- ${t.role} \`${t.name}\`: ${r.log.length ? r.log[r.log.length - 1]!.terms[t.name]!.toPrecision(6) : '–'}`),
    '',
    '## Loss curve (total objective, averaged per bucket of steps)',
    '',
    '```',
    lossChart(r.log),
    '```',
    '',
  ];
  writeAtomic(join(dir, 'report.md'), lines.join('\n'));
}

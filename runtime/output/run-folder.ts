// The run folder: everything a run leaves behind, written atomically (temp file, then rename).
//   metrics.json   final and per-evaluation metrics, with the evaluation protocol in words
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
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmdirSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { syncFolder } from '../train/checkpoint.ts';
import type { Compiled } from '../../compiler/compile.ts';
import type { Dataset } from '../data/dataset.ts';
import type { EvalResult } from '../eval/evaluate.ts';
import { IdMap } from '../data/ids.ts';
import { f32, readNpy, writeNpy } from './npy.ts';
import type { StepLog, TrainResult } from '../train/train.ts';

export function writeAtomic(path: string, text: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

/** A run folder that cannot be used as asked (not empty, locked, half written): the user's to settle (exit 1). */
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
    const tmp = join(pdir, `${file}.tmp-${process.pid}`);
    writeNpy(tmp, f32(shape, params.get(p.name)!));
    renameSync(tmp, join(pdir, file));
    manifest.push({ name: p.name, axes: p.shape, shape, file });
  }
  writeAtomic(join(pdir, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  ds.ids.save(join(dir, 'ids'));
}

/**
 * Params of a saved run, re-indexed to `ds`'s ids: row r of a domain axis is copied from the saved
 * row with the same external id; rows for ids the saved run never saw are left undefined (NaN-free:
 * the caller keeps its fresh initialization for them).
 */
export function readParams(dir: string, compiled: Compiled, ds: Dataset): { params: Map<string, Float32Array>; notes: string[] } {
  const pdir = join(dir, 'params');
  const manifestPath = join(pdir, 'manifest.json');
  if (!existsSync(manifestPath)) throw new Error(`${dir} has no params/manifest.json: is it a run folder written by \`recc run --out\`?`);
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as ParamManifestEntry[];
  const notes: string[] = [];
  const out = new Map<string, Float32Array>();
  for (const p of compiled.module.params) {
    const saved = manifest.find((m) => m.name === p.name);
    if (!saved) {
      notes.push(`param ${p.name} is not in ${dir}; it starts from its initializer`);
      continue;
    }
    if (saved.axes.join(',') !== p.shape.join(',')) {
      notes.push(`param ${p.name} has axes [${saved.axes}] in ${dir} but [${p.shape}] here; it starts from its initializer`);
      continue;
    }
    const arr = readNpy(join(pdir, saved.file));
    const data = arr.data as Float32Array;
    const lead = p.shape[0];
    const space = lead === undefined ? undefined : compiled.module.spaces.get(lead);
    if (!space || space.kind !== 'domain') {
      out.set(p.name, Float32Array.from(data));
      continue;
    }
    const row = saved.shape.slice(1).reduce((a, b) => a * b, 1);
    const savedIds = new IdMap(lead!, JSON.parse(readFileSync(join(dir, 'ids', `${lead}.json`), 'utf8')) as string[]);
    const here = ds.ids.get(lead!);
    const target = new Float32Array(here.size * row).fill(Number.NaN);
    let copied = 0;
    for (let r = 0; r < here.size; r++) {
      const old = savedIds.get(here.external(r));
      if (old === undefined) continue;
      target.set(data.subarray(old * row, old * row + row), r * row);
      copied++;
    }
    if (copied < here.size) notes.push(`${here.size - copied} of ${here.size} ${lead} rows of ${p.name} are new; they start from the initializer`);
    out.set(p.name, target);
  }
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
}

export function writeMetrics(dir: string, s: RunSummary): void {
  const last: EvalResult | undefined = s.result.evals[s.result.evals.length - 1];
  const json = {
    model: s.model,
    backend: s.backend,
    seed: s.seed,
    protocol: s.protocol,
    sizes: s.sizes,
    steps: s.result.stepsRun,
    seconds: Number(s.result.seconds.toFixed(3)),
    diverged: s.result.diverged ?? null,
    final: last?.metrics ?? {},
    history: s.result.evals,
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
  const last = r.evals[r.evals.length - 1];
  const lines = [
    `# ${s.model}`,
    '',
    `- backend: ${s.backend}`,
    `- data: ${s.protocol}`,
    `- sizes: ${Object.entries(s.sizes).map(([k, v]) => `|${k}| = ${v}`).join(', ')}`,
    `- seed: ${s.seed}; steps: ${r.stepsRun}; time: ${r.seconds.toFixed(2)} s`,
    r.diverged ? `- **stopped**: term \`${r.diverged.term}\` became ${r.diverged.value} at step ${r.diverged.step}` : '- finished normally',
    '',
    '## Metrics',
    '',
    last ? Object.entries(last.metrics).map(([k, v]) => `- ${k}: ${v.toFixed(4)}`).join('\n') : '(no metrics requested)',
    '',
    '## Terms',
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

// Checkpoints: a training run's whole state (train.ts's TrainState: params, optimizer moments and
// step, the data order and every random stream, the loss log and evaluations so far, and the
// trainer's `extra` section) in one file, written atomically (temp file in the same folder, fsync,
// rename, fsync of the folder), so a kill at any instant leaves either the previous checkpoint or the
// new one. The file records who it belongs to (`CheckpointIdentity`: recc's version, the model's
// source hash, the data's fingerprint, the seed and the backend), and a resume checks it.
//
// Layout: the line `RECCCKPT 1`, a line with the header's length in bytes, the header (JSON: the
// identity, the step, the JSON parts of the state, and where each array lies), then the arrays
// (float32 or int32, little-endian, each at an 8-byte aligned offset). The header holds the SHA-256
// of the array bytes: a truncated or altered file is refused, never half read.
import { createHash } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { Dataset } from '../data/dataset.ts';
import type { EvalResult } from '../eval/evaluate.ts';
import type { StepsState } from './steps.ts';
import type { StepLog, TrainState } from './train.ts';

/** Who a checkpoint belongs to; a resume with any field different is refused. */
export interface CheckpointIdentity {
  /** recc's version (numbers may change between versions) */
  readonly recc: string;
  /** the model's name */
  readonly model: string;
  /** SHA-256 of the model's sources (the file and its imports) and its `--set` values */
  readonly modelHash: string;
  /** `dataFingerprint` of the loaded dataset */
  readonly dataHash: string;
  readonly seed: number;
  /** the backend the numbers came from (`--mode`) */
  readonly mode: string;
}

export interface Checkpoint {
  readonly identity: CheckpointIdentity;
  /** when it was written (ISO 8601) */
  readonly written: string;
  readonly state: TrainState;
}

/** A checkpoint that cannot be read or is not this run's: the user's to fix (exit 1), never a bug. */
export class CheckpointError extends Error {
  override readonly name = 'CheckpointError';
}

const MAGIC = 'RECCCKPT 1\n';

type Dtype = 'f32' | 'i32';
interface ArrayEntry {
  readonly key: string;
  readonly dtype: Dtype;
  readonly length: number;
  /** byte offset from the start of the array section */
  readonly offset: number;
}

interface Header {
  readonly format: 1;
  readonly identity: CheckpointIdentity;
  readonly written: string;
  readonly step: number;
  readonly optimizerStep: number;
  readonly slotCount: number;
  readonly params: readonly string[];
  readonly extraTensors: readonly string[];
  readonly log: readonly StepLog[];
  readonly evals: readonly EvalResult[];
  readonly extra: Record<string, unknown>;
  /** the data order's scalars (its arrays are `order/batcher`, `order/userBatcher`) */
  readonly steps: Omit<StepsState, 'batcher' | 'userBatcher'> & {
    readonly batcher: { pos: number; epoch: number; rng: unknown } | null;
    readonly userBatcher: { pos: number; epoch: number; rng: unknown } | null;
  };
  readonly arrays: readonly ArrayEntry[];
  readonly arrayBytes: number;
  readonly sha256: string;
}

/** JSON that keeps NaN and ±Infinity (a loss log may hold them): they travel as {"$nonfinite": "NaN"}. */
function toJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? { $nonfinite: String(v) } : v));
}

function fromJson(text: string): unknown {
  return JSON.parse(text, (_k, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      const keys = Object.keys(v);
      const nf = (v as { $nonfinite?: unknown }).$nonfinite;
      if (keys.length === 1 && (nf === 'NaN' || nf === 'Infinity' || nf === '-Infinity')) return Number(nf);
    }
    return v;
  });
}

const align8 = (n: number): number => Math.ceil(n / 8) * 8;

/** The checkpoint's bytes. */
export function encodeCheckpoint(identity: CheckpointIdentity, state: TrainState, written = new Date().toISOString()): Buffer {
  const arrays: { key: string; data: Float32Array | Int32Array }[] = [];
  for (const [name, p] of state.params) arrays.push({ key: `param/${name}`, data: p });
  let slotCount = -1;
  for (const [name, slots] of state.optimizer.slots) {
    if (slotCount >= 0 && slots.length !== slotCount) throw new Error('optimizer slots differ in number between params');
    slotCount = slots.length;
    slots.forEach((s, k) => arrays.push({ key: `slot/${name}/${k}`, data: s }));
  }
  for (const [name, t] of state.extra.tensors) arrays.push({ key: `extra/${name}`, data: t });
  const { batcher, userBatcher } = state.steps;
  if (batcher) arrays.push({ key: 'order/batcher', data: batcher.order });
  if (userBatcher) arrays.push({ key: 'order/userBatcher', data: userBatcher.order });

  const entries: ArrayEntry[] = [];
  let bytes = 0;
  for (const a of arrays) {
    entries.push({ key: a.key, dtype: a.data instanceof Float32Array ? 'f32' : 'i32', length: a.data.length, offset: bytes });
    bytes = align8(bytes + a.data.byteLength);
  }
  const body = Buffer.alloc(bytes);
  arrays.forEach((a, j) => body.set(new Uint8Array(a.data.buffer, a.data.byteOffset, a.data.byteLength), entries[j]!.offset));
  const strip = (b: typeof batcher) => (b ? { pos: b.pos, epoch: b.epoch, rng: b.rng } : null);
  const header: Header = {
    format: 1,
    identity,
    written,
    step: state.step,
    optimizerStep: state.optimizer.step,
    slotCount: Math.max(0, slotCount),
    params: [...state.params.keys()],
    extraTensors: [...state.extra.tensors.keys()],
    log: state.log,
    evals: state.evals,
    extra: state.extra.json,
    steps: { ...state.steps, batcher: strip(batcher), userBatcher: strip(userBatcher) },
    arrays: entries,
    arrayBytes: bytes,
    sha256: createHash('sha256').update(body).digest('hex'),
  };
  const json = Buffer.from(toJson(header), 'utf8');
  const prefix = Buffer.from(`${MAGIC}${json.length}\n`, 'utf8');
  const pad = align8(prefix.length + json.length) - (prefix.length + json.length);
  return Buffer.concat([prefix, json, Buffer.alloc(pad, 0x20), body]);
}

/** Reads a checkpoint's bytes; `path` only names the file in errors. Throws CheckpointError. */
export function decodeCheckpoint(bytes: Buffer, path: string): Checkpoint {
  const bad = (why: string): CheckpointError =>
    new CheckpointError(`${path} is not a usable checkpoint: ${why}; delete it to start the run over (recc run … --force)`);
  if (bytes.length < MAGIC.length || bytes.toString('latin1', 0, MAGIC.length) !== MAGIC) throw bad('it does not start with a recc checkpoint header');
  const nl = bytes.indexOf(0x0a, MAGIC.length);
  const lenText = nl < 0 ? '' : bytes.toString('latin1', MAGIC.length, nl);
  if (!/^\d{1,10}$/.test(lenText)) throw bad('its header length is missing');
  const start = nl + 1;
  const end = start + Number(lenText);
  if (end > bytes.length) throw bad(`it is truncated (${bytes.length} bytes, the header alone needs ${end})`);
  let header: Header;
  try {
    header = fromJson(bytes.toString('utf8', start, end)) as Header;
  } catch (e) {
    throw bad(`its header is not valid JSON (${(e as Error).message})`);
  }
  if (!header || typeof header !== 'object' || header.format !== 1) throw bad('its header is not a format-1 checkpoint header');
  const body = bytes.subarray(align8(end));
  if (!Number.isSafeInteger(header.arrayBytes) || body.length !== header.arrayBytes)
    throw bad(`it is truncated or has extra bytes (${body.length} bytes of arrays, the header says ${header.arrayBytes})`);
  if (createHash('sha256').update(body).digest('hex') !== header.sha256) throw bad('its arrays do not match their checksum (the file is damaged)');
  try {
    return { identity: header.identity, written: header.written, state: stateOf(header, body) };
  } catch (e) {
    throw bad((e as Error).message);
  }
}

function stateOf(h: Header, body: Buffer): TrainState {
  const arrays = new Map<string, Float32Array | Int32Array>();
  for (const e of h.arrays) {
    const size = e.length * 4;
    if (!Number.isSafeInteger(e.offset) || !Number.isSafeInteger(e.length) || e.offset < 0 || e.length < 0 || e.offset % 4 !== 0 || e.offset + size > body.length)
      throw new Error(`array ${e.key} lies outside the file`);
    // a copy: aligned, and independent of the file's buffer
    const raw = body.buffer.slice(body.byteOffset + e.offset, body.byteOffset + e.offset + size);
    arrays.set(e.key, e.dtype === 'f32' ? new Float32Array(raw) : new Int32Array(raw));
  }
  const f32 = (key: string): Float32Array => {
    const a = arrays.get(key);
    if (!(a instanceof Float32Array)) throw new Error(`array ${key} is missing`);
    return a;
  };
  const i32 = (key: string): Int32Array => {
    const a = arrays.get(key);
    if (!(a instanceof Int32Array)) throw new Error(`array ${key} is missing`);
    return a;
  };
  if (!Array.isArray(h.params) || !Array.isArray(h.log) || !Array.isArray(h.evals) || !Number.isInteger(h.step) || !Number.isInteger(h.optimizerStep))
    throw new Error('its header lacks the step, params, log or evaluations');
  const params = new Map(h.params.map((name) => [name, f32(`param/${name}`)]));
  const slots = new Map(h.params.map((name) => [name, Array.from({ length: h.slotCount }, (_, k) => f32(`slot/${name}/${k}`))]));
  const s = h.steps;
  const order = (b: typeof s.batcher, key: string) => (b ? { pos: b.pos, epoch: b.epoch, rng: b.rng as never, order: i32(key) } : null);
  return {
    step: h.step,
    params,
    optimizer: { slots, step: h.optimizerStep },
    steps: { ...s, batcher: order(s.batcher, 'order/batcher'), userBatcher: order(s.userBatcher, 'order/userBatcher') },
    log: h.log,
    evals: h.evals,
    extra: { json: h.extra ?? {}, tensors: new Map((h.extraTensors ?? []).map((name) => [name, f32(`extra/${name}`)])) },
  };
}

/** Reads and checks the checkpoint at `path` (CheckpointError when it cannot be read or is damaged). */
export function readCheckpoint(path: string): Checkpoint {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new CheckpointError(`cannot read the checkpoint ${path} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return decodeCheckpoint(bytes, path);
}

/**
 * Writes `bytes` to `path` atomically: a temp file beside it, fsync, rename, fsync of the folder.
 * On failure (a full disk, say) the temp file is removed, `path` keeps its previous content, and the
 * error (with its errno code) is rethrown.
 */
export function writeFileAtomic(path: string, bytes: Uint8Array): void {
  const tmp = `${dirname(path)}/.${basename(path)}.tmp-${process.pid}`;
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'w');
    for (let off = 0; off < bytes.length; ) off += writeSync(fd, bytes, off, bytes.length - off);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, path);
  } catch (e) {
    if (fd !== undefined) closeSync(fd);
    rmSync(tmp, { force: true });
    throw e;
  }
  syncFolder(dirname(path));
}

/** fsync a folder, so that a rename in it survives a crash (where the platform allows it). */
export function syncFolder(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // some platforms (Windows) cannot open or fsync a folder; the rename itself is still atomic
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

export function writeCheckpoint(path: string, identity: CheckpointIdentity, state: TrainState): void {
  writeFileAtomic(path, encodeCheckpoint(identity, state));
}

/** The fields of two identities that differ, in words (empty when they match). */
export function identityDifferences(saved: CheckpointIdentity, now: CheckpointIdentity): string[] {
  const out: string[] = [];
  if (saved.model !== now.model) out.push(`it is a checkpoint of model \`${saved.model}\`, not \`${now.model}\``);
  else if (saved.modelHash !== now.modelHash) out.push('the model (its file, its imports or its --set values) changed since it was written');
  if (saved.dataHash !== now.dataHash) out.push('the data (its files, --data or --test) changed since it was written');
  if (saved.seed !== now.seed) out.push(`it was trained with seed ${saved.seed}, not ${now.seed}`);
  if (saved.mode !== now.mode) out.push(`it was trained with --mode ${saved.mode}, not ${now.mode}`);
  if (saved.recc !== now.recc) out.push(`it was written by recc ${saved.recc}, this is recc ${now.recc}`);
  return out;
}

/**
 * A fingerprint of the loaded data: SHA-256 over every relation of both sides (name, size, each id
 * and value column's bytes) and each domain's external ids, so any change to what training or
 * evaluation reads (a data file, --data, --test, the split) changes it.
 */
export function dataFingerprint(ds: Dataset): string {
  const h = createHash('sha256');
  for (const [side, rels] of [['train', ds.train], ['test', ds.test]] as const) {
    for (const name of [...rels.keys()].sort()) {
      const r = rels.get(name)!;
      h.update(`${side}:${name}:${r.size}\n`);
      for (const c of [...r.ids.keys()].sort()) h.update(`i:${c}\n`).update(bytesOf(r.ids.get(c)!));
      for (const c of [...r.values.keys()].sort()) h.update(`v:${c}\n`).update(bytesOf(r.values.get(c)!));
    }
  }
  for (const domain of ds.ids.domains()) {
    const m = ds.ids.get(domain);
    h.update(`ids:${domain}:${m.size}\n`);
    for (let r = 0; r < m.size; r++) h.update(`${m.external(r)}\n`);
  }
  return h.digest('hex');
}

const bytesOf = (a: Int32Array | Float64Array): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

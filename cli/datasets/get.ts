// `recc data get NAME`: a data set of the catalogue (catalogue.ts) into the cache folder, verified.
// The archive comes from its official URL (streamed to disk and hashed as it arrives), or from
// --from: the archive itself, a folder holding it, or a folder of already-extracted files (checked
// file by file against the pinned per-file SHA-256, where the catalogue has them). Nothing is put in
// the cache before its SHA-256 matches the pin; a mismatch is a ChecksumError (exit 3) that names the
// file, the expected and the actual hash. Archives are read with yauzl (a maintained, streaming unzip
// that validates entry names and sizes); an entry whose path would leave the target folder is refused.
// CACHE/NAME/ then holds the files and `.recc-data.json` (what was verified, from where); a later get
// re-hashes the cached files against it and reports the folder without fetching again.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, normalize, resolve, sep } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createRequire } from 'node:module';
import type yauzl from 'yauzl';
import { UserError } from '../lib/args.ts';
import { PIN_SOURCES, type DatasetEntry } from './catalogue.ts';

/** A copy whose SHA-256 differs from the pin: corrupted, truncated, or another file. */
export class ChecksumError extends UserError {}

export const MANIFEST = '.recc-data.json';

/** The default cache: $RECC_DATA_CACHE, else $XDG_CACHE_HOME/recc/data, else ~/.cache/recc/data. */
export function defaultCache(env: NodeJS.ProcessEnv = process.env): string {
  if (env.RECC_DATA_CACHE) return resolve(env.RECC_DATA_CACHE);
  return join(env.XDG_CACHE_HOME ? resolve(env.XDG_CACHE_HOME) : join(homedir(), '.cache'), 'recc', 'data');
}

export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  await pipeline(createReadStream(path), h);
  return h.digest('hex');
}

interface Manifest {
  readonly name: string;
  /** how the copy was verified: the archive's SHA-256, or each file's */
  readonly verified: 'archive' | 'files';
  readonly zipSha256?: string;
  readonly from: string;
  readonly files: Readonly<Record<string, string>>;
}

export interface GetResult {
  readonly dir: string;
  readonly state: 'cached' | 'fetched';
  readonly verified: 'archive' | 'files';
  readonly files: number;
}

export interface GetOptions {
  readonly cache: string;
  readonly from?: string;
  readonly log: (line: string) => void;
}

export async function getDataset(d: DatasetEntry, opts: GetOptions): Promise<GetResult> {
  const dir = join(opts.cache, d.name);
  if (opts.from === undefined && existsSync(join(dir, MANIFEST))) {
    const m = JSON.parse(readFileSync(join(dir, MANIFEST), 'utf8')) as Manifest;
    const bad = await firstMismatch(dir, m.files);
    if (!bad) return { dir, state: 'cached', verified: m.verified, files: Object.keys(m.files).length };
    opts.log(`recc data: the cached ${d.name} differs from what was verified (${bad}): fetching it again`);
  }
  mkdirSync(opts.cache, { recursive: true });
  const staging = join(opts.cache, `.${d.name}.tmp-${process.pid}`);
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging);
  try {
    let manifest: Manifest;
    const from = opts.from === undefined ? undefined : resolve(opts.from);
    if (from !== undefined && !existsSync(from)) throw new UserError(`--from ${opts.from}: no such file or folder`);
    const zip = from === undefined ? undefined : statSync(from).isFile() ? from : existsSync(join(from, `${d.name}.zip`)) ? join(from, `${d.name}.zip`) : undefined;
    if (from !== undefined && zip === undefined) {
      manifest = await copyVerifiedFolder(d, from, staging);
    } else {
      const archive = zip ?? join(staging, `${d.name}.zip.part`);
      if (zip === undefined) await download(d, archive, opts.log);
      await verifyArchive(d, archive);
      const files = await extract(archive, d.folder, staging);
      if (zip === undefined) rmSync(archive);
      if (d.files) {
        const bad = await firstMismatch(staging, d.files);
        if (bad) throw new ChecksumError(`${d.name}: the archive verified, but its ${bad}`);
      }
      manifest = { name: d.name, verified: 'archive', zipSha256: d.zip.sha256, from: zip ?? d.url, files };
    }
    writeFileSync(join(staging, MANIFEST), JSON.stringify(manifest, null, 2) + '\n');
    rmSync(dir, { recursive: true, force: true });
    renameSync(staging, dir);
    return { dir, state: 'fetched', verified: manifest.verified, files: Object.keys(manifest.files).length };
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/** The first file of `files` under `dir` that is missing or hashes differently, as a phrase; undefined when all match. */
async function firstMismatch(dir: string, files: Readonly<Record<string, string>>): Promise<string | undefined> {
  for (const [name, want] of Object.entries(files)) {
    const p = join(dir, name);
    if (!existsSync(p)) return `file ${name} is missing`;
    const got = await sha256File(p);
    if (got !== want) return `file ${name} has SHA-256 ${got}, not the pinned ${want}`;
  }
  return undefined;
}

async function verifyArchive(d: DatasetEntry, path: string): Promise<void> {
  const bytes = statSync(path).size;
  const got = await sha256File(path);
  if (got !== d.zip.sha256)
    throw new ChecksumError(
      `${path}: SHA-256 ${got} (${bytes} bytes) is not ${d.name}'s pinned ${d.zip.sha256} (${d.zip.bytes} bytes, from ${PIN_SOURCES.zip}); ` +
        'the copy is corrupted, truncated or another file: nothing was put in the cache',
    );
}

/** A folder of extracted files (FOLDER or FOLDER/NAME), checked file by file, copied into `to`. */
async function copyVerifiedFolder(d: DatasetEntry, from: string, to: string): Promise<Manifest> {
  if (!d.files)
    throw new UserError(`--from ${from}: ${d.name} pins only its archive's SHA-256, so an extracted folder cannot be verified; give --from the archive (${d.name}.zip) or a folder holding it`);
  const root = existsSync(join(from, d.folder)) && statSync(join(from, d.folder)).isDirectory() ? join(from, d.folder) : from;
  const missing = Object.keys(d.files).filter((f) => !existsSync(join(root, f)));
  if (missing.length === Object.keys(d.files).length)
    throw new UserError(`--from ${from}: neither ${d.name}.zip nor ${d.name}'s files (${Object.keys(d.files).slice(0, 3).join(', ')}, …) are there`);
  const bad = await firstMismatch(root, d.files);
  if (bad) throw new ChecksumError(`--from ${root}: ${d.name}'s ${bad} (pins: ${PIN_SOURCES.files}); the copy is corrupted or another version: nothing was put in the cache`);
  for (const f of Object.keys(d.files)) writeFileSync(join(to, f), readFileSync(join(root, f)));
  return { name: d.name, verified: 'files', from: root, files: d.files };
}

/** Streams the archive to `path`, failing on an HTTP error. */
async function download(d: DatasetEntry, path: string, log: (line: string) => void): Promise<void> {
  log(`recc data: downloading ${d.url} (${(d.zip.bytes / 1e6).toFixed(1)} MB)`);
  let res: Response;
  try {
    res = await fetch(d.url);
  } catch (err) {
    throw new UserError(`${d.url}: ${(err as Error).message}${(err as { cause?: Error }).cause ? ` (${(err as { cause: Error }).cause.message})` : ''}; offline, fetch the archive elsewhere and pass --from FILE`);
  }
  if (!res.ok || !res.body) throw new UserError(`${d.url}: HTTP ${res.status} ${res.statusText}; pass --from FILE with a copy of the archive`);
  await pipeline(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream), createWriteStream(path));
}

/**
 * yauzl, loaded when an archive is extracted and through require: a static `import` of a CommonJS
 * package makes node start its CommonJS export lexer (WebAssembly), +5 MB of resident memory in
 * every `recc` command (bench/e2e measures `recc run`'s peak RSS).
 */
function loadYauzl(): typeof yauzl {
  return createRequire(import.meta.url)('yauzl') as typeof yauzl;
}

/** Extracts the archive's files under `folder/` into `to` (that prefix dropped); returns each file's SHA-256. */
function extract(archive: string, folder: string, to: string): Promise<Record<string, string>> {
  return new Promise((done, fail) => {
    const files: Record<string, string> = {};
    loadYauzl().open(archive, { lazyEntries: true, validateEntrySizes: true }, (err, zip) => {
      if (err || !zip) return fail(new UserError(`${archive}: not a readable zip archive (${err?.message ?? 'no entries'})`));
      // a malformed archive (yauzl refuses bad entry names, sizes, CRCs) is the input's fault, not recc's
      const stop = (e: Error): void => {
        zip.close();
        fail(e instanceof UserError ? e : new UserError(`${archive}: ${e.message}`));
      };
      zip.on('error', stop);
      zip.on('end', () => done(files));
      zip.on('entry', (entry: yauzl.Entry) => {
        const name = entry.fileName.startsWith(`${folder}/`) ? entry.fileName.slice(folder.length + 1) : entry.fileName;
        const target = normalize(join(to, name));
        if (!target.startsWith(to + sep) && target !== to) return stop(new UserError(`${archive}: the entry ${entry.fileName} would be written outside the target folder`));
        if (entry.fileName.endsWith('/') || name === '') {
          mkdirSync(target, { recursive: true });
          return zip.readEntry();
        }
        zip.openReadStream(entry, (e, stream) => {
          if (e || !stream) return stop(e ?? new Error(`${entry.fileName}: no data`));
          mkdirSync(dirname(target), { recursive: true });
          const h = createHash('sha256');
          stream.on('data', (chunk: Buffer) => h.update(chunk));
          pipeline(stream, createWriteStream(target)).then(() => {
            files[name] = h.digest('hex');
            zip.readEntry();
          }, stop);
        });
      });
      zip.readEntry();
    });
  });
}

/** The cached folder of NAME when it holds a verified copy (its manifest), else undefined. */
export function cachedDir(cache: string, name: string): string | undefined {
  const dir = join(cache, name);
  return existsSync(join(dir, MANIFEST)) && readdirSync(dir).length > 1 ? dir : undefined;
}

// `recc data get`: a local copy (--from) is verified against the pinned SHA-256 before anything
// enters the cache, and a corrupted one is refused with exit 3 (acceptance 5); an archive is
// extracted (yauzl) under its pins, a truncated one and one whose entry would escape the folder are
// refused. Nothing here downloads: the real ML-100K copy is ../shared/data (skipped, with the reason,
// where it is absent) and the archives are written by the test itself (a stored zip, no compression).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync, copyFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { findDataset, type DatasetEntry } from '../../cli/datasets/catalogue.ts';
import { ChecksumError, getDataset, MANIFEST } from '../../cli/datasets/get.ts';
import { missingDataReason, ml100kDir, repoRoot } from '../../runtime/data/data-paths.ts';
import { UserError } from '../../cli/lib/args.ts';

const bin = join(repoRoot(), 'bin', 'recc.js');
const ml100k = ml100kDir();
const entry = findDataset('ml-100k')!;
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const quiet = { log: () => {} };

/** A zip of `files` (name → bytes), stored without compression: local headers, central directory, end record. */
function storedZip(files: readonly [string, Buffer][]): Buffer {
  const locals: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const [name, data] of files) {
    const n = Buffer.from(name, 'utf8');
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0); local.writeUInt16LE(20, 4); local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18); local.writeUInt32LE(data.length, 22); local.writeUInt16LE(n.length, 26);
    const dir = Buffer.alloc(46);
    dir.writeUInt32LE(0x02014b50, 0); dir.writeUInt16LE(20, 4); dir.writeUInt16LE(20, 6); dir.writeUInt32LE(crc, 16);
    dir.writeUInt32LE(data.length, 20); dir.writeUInt32LE(data.length, 24); dir.writeUInt16LE(n.length, 28); dir.writeUInt32LE(offset, 42);
    locals.push(local, n, data);
    central.push(dir, n);
    offset += 30 + n.length + data.length;
  }
  const cd = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0); end.writeUInt16LE(files.length, 8); end.writeUInt16LE(files.length, 10);
  end.writeUInt32LE(cd.length, 12); end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

/** The catalogue's ml-100k with its archive pin replaced by this archive's (the file pins stay). */
function pinnedTo(zip: Buffer): DatasetEntry {
  return { ...entry, zip: { sha256: sha(zip), bytes: zip.length } };
}

describe.skipIf(!ml100k)(`recc data get ml-100k --from the shared copy${ml100k ? '' : ` (skipped: ${missingDataReason()})`}`, () => {
  it('verifies every pinned file, caches the copy, and refuses a corrupted one with exit 3 (nothing cached)', () => {
    const tmp = mkdtempSync(join(tmpdir(), 'recc-data-'));
    const ok = spawnSync(process.execPath, [bin, 'data', 'get', 'ml-100k', '--from', ml100k!, '--cache', join(tmp, 'cache')], { encoding: 'utf8' });
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toContain("ml-100k: verified and cached (21 files' SHA-256 verified)");
    const cached = join(tmp, 'cache', 'ml-100k');
    for (const [f, want] of Object.entries(entry.files!)) expect(sha(readFileSync(join(cached, f))), f).toBe(want);
    expect(JSON.parse(readFileSync(join(cached, MANIFEST), 'utf8'))).toMatchObject({ name: 'ml-100k', verified: 'files' });

    // one rating appended to u.data: refused, named, and the cache is left without it
    const bad = join(tmp, 'bad');
    spawnSync('mkdir', [bad]);
    for (const f of Object.keys(entry.files!)) copyFileSync(join(ml100k!, f), join(bad, f));
    appendFileSync(join(bad, 'u.data'), '1\t1\t5\t881250949\n');
    const no = spawnSync(process.execPath, [bin, 'data', 'get', 'ml-100k', '--from', bad, '--cache', join(tmp, 'cache2')], { encoding: 'utf8' });
    expect(no.status).toBe(3);
    expect(no.stderr).toContain("error: checksum mismatch: --from");
    expect(no.stderr).toContain(`u.data has SHA-256 ${sha(readFileSync(join(bad, 'u.data')))}, not the pinned ${entry.files!['u.data']}`);
    expect(existsSync(join(tmp, 'cache2', 'ml-100k'))).toBe(false);
    expect(readdirSync(join(tmp, 'cache2'))).toEqual([]);
  }, 60_000);

  it('extracts an archive under its pins; a truncated archive is refused before extraction', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'recc-data-'));
    const zip = storedZip(Object.keys(entry.files!).map((f) => [`ml-100k/${f}`, readFileSync(join(ml100k!, f))]));
    writeFileSync(join(tmp, 'ml-100k.zip'), zip);
    // a folder holding NAME.zip is read as the archive
    const r = await getDataset(pinnedTo(zip), { cache: join(tmp, 'cache'), from: tmp, ...quiet });
    expect(r).toMatchObject({ state: 'fetched', verified: 'archive', files: 21 });
    for (const [f, want] of Object.entries(entry.files!)) expect(sha(readFileSync(join(r.dir, f))), f).toBe(want);
    // a second get finds it in the cache, re-hashed
    expect((await getDataset(pinnedTo(zip), { cache: join(tmp, 'cache'), ...quiet })).state).toBe('cached');

    const cut = join(tmp, 'cut.zip');
    writeFileSync(cut, zip.subarray(0, zip.length - 1000));
    await expect(getDataset(pinnedTo(zip), { cache: join(tmp, 'cache3'), from: cut, ...quiet })).rejects.toThrow(ChecksumError);
    expect(existsSync(join(tmp, 'cache3', 'ml-100k'))).toBe(false);
  }, 60_000);
});

describe('recc data get: archives', () => {
  it('refuses an archive whose files differ from the per-file pins, and an entry that leaves the folder', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'recc-data-'));
    const wrong = storedZip([['ml-100k/u.data', Buffer.from('1\t1\t5\t0\n')]]);
    writeFileSync(join(tmp, 'a.zip'), wrong);
    await expect(getDataset(pinnedTo(wrong), { cache: join(tmp, 'c'), from: join(tmp, 'a.zip'), ...quiet })).rejects.toThrow(/the archive verified, but its file README is missing/);
    const evil = storedZip([['ml-100k/../../evil', Buffer.from('x')]]);
    writeFileSync(join(tmp, 'e.zip'), evil);
    await expect(getDataset(pinnedTo(evil), { cache: join(tmp, 'c'), from: join(tmp, 'e.zip'), ...quiet })).rejects.toThrow(UserError);
    expect(existsSync(join(tmp, 'evil'))).toBe(false);
    expect(readdirSync(join(tmp, 'c'))).toEqual([]);
  });

  it('an extracted folder of a data set pinned only by its archive cannot be verified', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'recc-data-'));
    await expect(getDataset(findDataset('ml-1m')!, { cache: join(tmp, 'c'), from: tmp, ...quiet })).rejects.toThrow(/pins only its archive's SHA-256/);
  });
});

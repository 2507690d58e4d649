// Fuzzing the runtime's loaders (issue 11): seeded random bytes and mutations of the real example data
// (examples/data/*) and of real .npy files go through what `recc run` reads them with — UTF-8 decoding
// (decodeUtf8), the tsv/csv/movielens scanner (parseRelation) under several schemas and header
// options, the libsvm scanner (parseLibsvm), and the .npy decoder (decodeNpy). Every input must either
// load (with consistent column lengths) or fail with the user-facing error of that loader (DataError,
// NpyError); any other exception is a bug, and the test lists each with the input that caused it.
// RECC_LOADER_FUZZ=N sets the number of inputs (default 10,000).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RelationInfo } from '../../compiler/check/model.ts';
import { repoRoot } from '../../runtime/data/data-paths.ts';
import { IdMaps } from '../../runtime/data/ids.ts';
import { DataError, decodeUtf8, parseRelation, type LoadOptions, type Relation } from '../../runtime/data/load.ts';
import { Rng } from '../../runtime/data/rng.ts';
import { parseLibsvm } from '../../runtime/data/sparse.ts';
import { decodeNpy, encodeNpy, f32, i32, NpyError } from '../../runtime/output/npy.ts';
import { relationInfo } from '../runtime/helpers.ts';
import { libsvmInfo } from '../runtime/sparse-helpers.ts';

const COUNT = Number(process.env.RECC_LOADER_FUZZ ?? 10_000);
const SEED = 20261202;

const dataDir = join(repoRoot(), 'examples', 'data');
const RATINGS = readFileSync(join(dataDir, 'synthetic-ratings.tsv'));
const CTR = readFileSync(join(dataDir, 'synthetic-ctr.libsvm'));
const NPYS = [encodeNpy(f32([7, 3], Array.from({ length: 21 }, (_, k) => k / 3))), encodeNpy(i32([5], [1, -2, 3, 4, 5])), encodeNpy(f32([], [2.5]))];

/** The schemas a ratings-like file is read with: ids, numbers, strings, in several orders. */
const SCHEMAS: readonly { info: RelationInfo; format: 'tsv' | 'csv' | 'movielens'; opts?: LoadOptions }[] = [
  { info: relationInfo('ratings', { user: 'domain:user', item: 'domain:item', rating: 'float', time: 'int' }), format: 'tsv' },
  { info: relationInfo('ratings', { user: 'domain:user', item: 'domain:item', rating: 'float', time: 'int' }, 'csv'), format: 'csv' },
  { info: relationInfo('ratings', { user: 'domain:user', item: 'domain:item', rating: 'float', time: 'int' }, 'movielens'), format: 'movielens' },
  { info: relationInfo('events', { who: 'string', item: 'domain:item', w: 'float' }), format: 'tsv', opts: { header: true } },
  { info: relationInfo('events', { who: 'string', item: 'domain:item', w: 'float' }, 'csv'), format: 'csv', opts: { header: false } },
];
const LIBSVM = [libsvmInfo('clicks'), libsvmInfo('clicks', { kind: 'int' })];

/** Byte strings that tend to break scanners. */
const TOKENS = ['\r', '\n', '\r\n', '\t', ',', '"', '""', '::', ':', ' ', '#', '\ufeff', '1e400', '-1e999', 'NaN', 'Infinity', '0x1F', '-', '.', 'e', 'qid:1', '\u0000', 'é', '\u{1F600}', '999999999999', '07', 'user\titem\trating\ttime', 'user,item,rating,time'];
const BAD_BYTES = [0xff, 0xfe, 0xc0, 0x80, 0xed, 0xa0, 0xf4, 0x90, 0xe9, 0xc3];

function window(rng: Rng, src: Uint8Array): Uint8Array {
  const len = 1 + rng.int(Math.min(4096, src.length));
  const start = rng.int(src.length - len + 1);
  return src.slice(start, start + len);
}

/** One input: random bytes, or a window of a real file with 1–8 mutations. */
function input(rng: Rng, sources: readonly Uint8Array[]): Uint8Array {
  if (rng.int(10) === 0) return Uint8Array.from({ length: rng.int(512) }, () => rng.int(256));
  let b = Array.from(rng.int(4) === 0 ? sources[rng.int(sources.length)]!.slice(0, 1 + rng.int(2048)) : window(rng, sources[rng.int(sources.length)]!));
  const n = 1 + rng.int(8);
  for (let m = 0; m < n; m++) {
    const at = rng.int(b.length + 1);
    switch (rng.int(7)) {
      case 0: // flip a byte
        if (b.length) b[Math.min(at, b.length - 1)] = rng.int(256);
        break;
      case 1: // a byte that is not UTF-8
        b.splice(at, 0, BAD_BYTES[rng.int(BAD_BYTES.length)]!);
        break;
      case 2: // a token that scanners treat specially
        b.splice(at, 0, ...Buffer.from(TOKENS[rng.int(TOKENS.length)]!));
        break;
      case 3: // delete a range
        b.splice(at, 1 + rng.int(32));
        break;
      case 4: // duplicate a range
        b.splice(at, 0, ...b.slice(at, at + 1 + rng.int(64)));
        break;
      case 5: // truncate
        b = b.slice(0, at);
        break;
      case 6: // every line end as CR or CRLF
        b = Array.from(Buffer.from(Buffer.from(b).toString('latin1').replace(/\n/g, rng.int(2) ? '\r' : '\r\n'), 'latin1'));
        break;
    }
  }
  return Uint8Array.from(b);
}

function consistent(r: Relation): void {
  for (const a of [...r.ids.values(), ...r.values.values()]) if (a.length !== r.size) throw new Error(`column length ${a.length} ≠ size ${r.size}`);
  for (const a of r.values.values()) for (const v of a) if (!Number.isFinite(v)) throw new Error(`a non-finite value ${v} was loaded`);
}

describe('loader fuzz', () => {
  it(`${COUNT.toLocaleString('en-US')} inputs: every failure is a DataError or NpyError, never another exception`, () => {
    const rng = new Rng(SEED);
    const bugs: string[] = [];
    const tally = { inputs: 0, loaded: 0, refused: 0, calls: 0 };
    const guard = (what: string, bytes: Uint8Array, f: () => void, userError: (e: unknown) => boolean): void => {
      tally.calls++;
      try {
        f();
        tally.loaded++;
      } catch (e) {
        if (userError(e)) tally.refused++;
        else if (bugs.length < 20) bugs.push(`${what}: ${(e as Error)?.stack?.split('\n').slice(0, 3).join(' | ') ?? String(e)}\n  input (base64): ${Buffer.from(bytes).toString('base64').slice(0, 400)}`);
      }
    };
    const isData = (e: unknown): boolean => e instanceof DataError;
    const npyInputs = Math.round(COUNT / 5);
    for (let k = 0; k < COUNT - npyInputs; k++) {
      tally.inputs++;
      const bytes = input(rng, [RATINGS, CTR]);
      let text: string | undefined;
      guard('decodeUtf8', bytes, () => void (text = decodeUtf8(bytes, 'fuzz.txt')), isData);
      // the scanners must hold on any string: bytes that are not UTF-8 reach them read as latin-1
      const body = text ?? Buffer.from(bytes).toString('latin1');
      const s = SCHEMAS[k % SCHEMAS.length]!;
      guard(`parseRelation ${s.format} ${s.info.name}`, bytes, () => consistent(parseRelation(s.info, body, 'fuzz.txt', s.format, new IdMaps(), s.opts)), isData);
      const l = LIBSVM[k % LIBSVM.length]!;
      guard('parseLibsvm', bytes, () => {
        const r = parseLibsvm(l, body, 'fuzz.libsvm', new IdMaps());
        consistent(r.rel);
        for (const e of r.entries.values()) consistent(e);
      }, isData);
    }
    for (let k = 0; k < npyInputs; k++) {
      tally.inputs++;
      const bytes = input(rng, NPYS);
      guard('decodeNpy', bytes, () => {
        const a = decodeNpy(bytes, 'fuzz.npy');
        if (a.data.length !== a.shape.reduce((p, d) => p * d, 1)) throw new Error('data length ≠ ∏shape');
      }, (e) => e instanceof NpyError);
    }
    expect(bugs, bugs.join('\n')).toEqual([]);
    expect(tally.inputs).toBe(COUNT);
    // the inputs reach both outcomes: some load, most are refused with a position
    expect(tally.loaded).toBeGreaterThan(COUNT / 20);
    expect(tally.refused).toBeGreaterThan(COUNT / 5);
    console.log(`loader fuzz: ${tally.inputs} inputs, ${tally.calls} loader calls, ${tally.loaded} loaded, ${tally.refused} refused with a user error, 0 other exceptions`);
  });
});

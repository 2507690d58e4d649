// `recc data list` and `recc data get NAME [--from FILE_OR_DIR] [--cache DIR]`: public data sets by
// name (cli/datasets/catalogue.ts), fetched into a cache folder and verified against pinned SHA-256
// (cli/datasets/get.ts). Exit 3 when a copy does not match its pin (corrupted, truncated, another file).
import { command, UsageError } from '../lib/args.ts';
import { CATALOGUE, findDataset, PIN_SOURCES } from '../datasets/catalogue.ts';
import { cachedDir, ChecksumError, defaultCache, getDataset } from '../datasets/get.ts';
import { toMarkdown } from '../experiment/table.ts';
import { suggest } from '../../compiler/diagnostics/diagnostics.ts';

/** The exit code of a copy whose checksum differs from the pin. */
export const CHECKSUM_EXIT = 3;

export const data = command({
  name: 'data',
  summary: 'public data sets by name: list them, or get one into the cache, checked by SHA-256',
  description:
    '`recc data list` shows the data sets and where each is cached; `recc data get NAME` downloads the official archive\n' +
    '(GroupLens), checks its SHA-256 against the pin and extracts it into CACHE/NAME/. --from takes a local copy instead (the\n' +
    'archive, a folder holding it, or for ml-100k a folder of extracted files, each checked against its own pin), offline.\n' +
    `A copy that does not match is refused with exit ${CHECKSUM_EXIT}, and nothing is put in the cache. Pins: archives from ${PIN_SOURCES.zip};\n` +
    `ml-100k's files from ${PIN_SOURCES.files}.`,
  operands: [
    { name: 'ACTION', meaning: '`list` or `get`' },
    { name: 'NAME', meaning: 'the data set to get (see `recc data list`)', optional: true },
  ],
  flags: [
    { kind: 'string', name: 'from', arg: 'FILE_OR_DIR', meaning: 'a local copy to verify and use instead of downloading', default: 'download the official archive' },
    { kind: 'string', name: 'cache', arg: 'DIR', meaning: 'the cache folder (the data set goes to DIR/NAME/)', default: '$RECC_DATA_CACHE, else ~/.cache/recc/data' },
    { kind: 'boolean', name: 'quiet', short: 'q', meaning: 'no progress lines on stderr' },
  ],
  needsRuntime: () => false,
  run: async ({ operands, flags }) => {
    const [action, name] = operands as [string, string | undefined];
    const cache = flags.cache ?? defaultCache();
    if (action === 'list') {
      if (name !== undefined) throw new UsageError(`recc data list takes no NAME (got \`${name}\`)`);
      const rows = CATALOGUE.map((d) => ({
        name: d.name,
        MB: (d.zip.bytes / 1e6).toFixed(1),
        'archive SHA-256': d.zip.sha256.slice(0, 16) + '…',
        'files pinned': d.files ? Object.keys(d.files).length : 0,
        cached: cachedDir(cache, d.name) ?? '',
        what: d.title,
      }));
      process.stdout.write(toMarkdown(['name', 'MB', 'archive SHA-256', 'files pinned', 'cached', 'what'], rows));
      return 0;
    }
    if (action !== 'get') throw new UsageError(`unknown action \`${action}\`: recc data list, or recc data get NAME`);
    if (name === undefined) throw new UsageError(`recc data get needs a NAME: ${CATALOGUE.map((d) => d.name).join(', ')}`);
    const d = findDataset(name);
    if (!d) {
      const near = suggest(name, CATALOGUE.map((x) => x.name), 1)[0];
      throw new UsageError(`no data set named \`${name}\`${near ? ` (did you mean ${near}?)` : ''}; \`recc data list\` shows ${CATALOGUE.map((x) => x.name).join(', ')}`);
    }
    try {
      const r = await getDataset(d, { cache, ...(flags.from !== undefined ? { from: flags.from } : {}), log: (l) => flags.quiet || process.stderr.write(l + '\n') });
      const how = r.verified === 'archive' ? `archive SHA-256 ${d.zip.sha256} verified` : `${r.files} files' SHA-256 verified`;
      process.stdout.write(`${d.name}: ${r.state === 'cached' ? 'already in the cache' : 'verified and cached'} (${how}): ${r.dir}\n  ${d.note}\n`);
      return 0;
    } catch (err) {
      if (!(err instanceof ChecksumError)) throw err;
      process.stderr.write(`error: checksum mismatch: ${err.message}\n`);
      return CHECKSUM_EXIT;
    }
  },
});

// `recc recommend RUN_DIR`: the top-K items a trained run scores highest for a user, a list of users,
// or every user (to a CSV or JSON Lines file), leaving out each user's training items. Reads only
// the run folder's serving files (runtime/serve/): no compiling, no training data.
import { extname } from 'node:path';
import { loadServingModel } from '../../runtime/serve/serving-model.ts';
import { formatText, OUTPUT_FORMATS, recommendUsers, recommendUsersAnn, writeRecommendations, type OutputFormat } from '../../runtime/serve/recommend.ts';
import { AnnIndex } from '../../runtime/serve/ann.ts';
import { command, UsageError } from '../lib/args.ts';
import { ITEM_FLAGS, servingErrors, titlesFrom } from './serving-common.ts';

export const recommend = command({
  name: 'recommend',
  summary: 'top-K unseen items for a user, a list of users, or every user',
  description:
    "Scores every item with the run's serving factors (score(u, i) = X[u] · Y[i]); each user's training items\n" +
    'are left out. Reads only the run folder: the training data may have moved.',
  operands: [{ name: 'RUN_DIR', meaning: 'a run folder written by `recc run`' }],
  flags: [
    { kind: 'string', name: 'user', arg: 'ID', meaning: "one user's external id, as in the data", default: 'none' },
    { kind: 'string', name: 'users', arg: 'ID,ID,…', meaning: 'several users, comma-separated', default: 'none' },
    { kind: 'boolean', name: 'all-users', meaning: 'every user of the run (with --out FILE)' },
    { kind: 'count', name: 'top', short: 'k', arg: 'K', min: 1, value: 10, meaning: 'how many items per user' },
    { kind: 'string', name: 'out', short: 'o', arg: 'FILE', meaning: 'write the lists to FILE (.csv or .jsonl) instead of printing them', default: 'stdout' },
    { kind: 'string', name: 'format', arg: 'csv|jsonl', meaning: "the --out file's format", default: "by --out's extension (.jsonl: jsonl, else csv)" },
    { kind: 'boolean', name: 'include-seen', meaning: "keep the users' training items among the candidates" },
    { kind: 'boolean', name: 'ann', meaning: 'approximate top-K from the HNSW index `recc index RUN` saved (scores exact)' },
    ...ITEM_FLAGS,
  ],
  needsRuntime: () => false,
  run: ({ operands, flags }) => {
    const chosen = [flags.user !== undefined, flags.users !== undefined, flags['all-users']].filter(Boolean).length;
    if (chosen !== 1) throw new UsageError('give exactly one of --user ID, --users ID,ID,… or --all-users');
    if (flags['all-users'] && flags.out === undefined) throw new UsageError('--all-users writes a file: give --out FILE (.csv or .jsonl)');
    let format: OutputFormat | undefined;
    if (flags.format !== undefined) {
      if (!(OUTPUT_FORMATS as readonly string[]).includes(flags.format)) throw new UsageError(`--format expects one of ${OUTPUT_FORMATS.join(', ')}, got \`${flags.format}\``);
      if (flags.out === undefined) throw new UsageError('--format is the format of the --out file; give --out FILE');
      format = flags.format as OutputFormat;
    }
    return servingErrors(() => {
      const m = loadServingModel(operands[0]!);
      const titles = titlesFrom(flags);
      const users = flags['all-users'] ? undefined : flags.user !== undefined ? [flags.user] : flags.users!.split(',').map((s) => s.trim()).filter((s) => s !== '');
      const t0 = performance.now();
      const recs = flags.ann ? recommendUsersAnn(m, AnnIndex.load(m, 'ip'), users, flags.top, flags['include-seen']) : recommendUsers(m, users, flags.top, flags['include-seen']);
      const ms = performance.now() - t0;
      if (flags.out === undefined) {
        process.stdout.write(formatText(m, recs, titles).join('\n') + '\n');
        return 0;
      }
      const fmt = format ?? (['.jsonl', '.json', '.ndjson'].includes(extname(flags.out).toLowerCase()) ? 'jsonl' : 'csv');
      const rows = writeRecommendations(flags.out, fmt, m, recs, titles);
      process.stderr.write(`top ${flags.top} for ${recs.users.length} ${m.meta.userDomain}s in ${ms.toFixed(0)} ms; ${rows} ${fmt} rows in ${flags.out}\n`);
      return 0;
    });
  },
});

// `recc similar RUN_DIR --item ID | --user ID`: the nearest items to an item (or users to a user) in
// the model's own geometry, the vectors its score pairs (runtime/serve/similar.ts).
import { itemRow, loadServingModel, userRow } from '../../runtime/serve/serving-model.ts';
import { METRICS, similarItems, similarUsers } from '../../runtime/serve/similar.ts';
import { AnnIndex } from '../../runtime/serve/ann.ts';
import { command, UsageError } from '../lib/args.ts';
import { ITEM_FLAGS, servingErrors, titlesFrom } from './serving-common.ts';

export const similar = command({
  name: 'similar',
  summary: 'nearest items to an item, or users to a user, by the model\'s vectors',
  description:
    'Compares the vectors the score pairs (for U[u] . V[i] + b[i]: V for items, U for users; biases are not\n' +
    'geometry) by dot product or cosine; the query itself is left out.',
  operands: [{ name: 'RUN_DIR', meaning: 'a run folder written by `recc run`' }],
  flags: [
    { kind: 'string', name: 'item', arg: 'ID', meaning: 'the items nearest this item', default: 'none' },
    { kind: 'string', name: 'user', arg: 'ID', meaning: 'the users nearest this user', default: 'none' },
    { kind: 'count', name: 'top', short: 'k', arg: 'K', min: 1, value: 10, meaning: 'how many neighbours' },
    { kind: 'choice', name: 'metric', choices: METRICS, value: 'cosine', meaning: 'how vectors are compared' },
    { kind: 'boolean', name: 'ann', meaning: 'items from the cosine HNSW index (`recc index RUN --metric cosine`)' },
    ...ITEM_FLAGS,
  ],
  needsRuntime: () => false,
  run: ({ operands, flags }) => {
    if ((flags.item === undefined) === (flags.user === undefined)) throw new UsageError('give exactly one of --item ID or --user ID');
    if (flags.ann && (flags.item === undefined || flags.metric !== 'cosine')) throw new UsageError('--ann answers --item with --metric cosine (the index `recc index RUN --metric cosine` builds)');
    return servingErrors(() => {
      const m = loadServingModel(operands[0]!);
      const byItem = flags.item !== undefined;
      const titles = byItem ? titlesFrom(flags) : undefined;
      const q = byItem ? itemRow(m, flags.item!) : userRow(m, flags.user!);
      const approx = (): { rows: Int32Array; scores: Float64Array } => {
        const hits = AnnIndex.load(m, 'cosine').similar(m, q, flags.top);
        return { rows: hits.items, scores: hits.scores };
      };
      const nb = flags.ann ? approx() : byItem ? similarItems(m, q, flags.top, flags.metric) : similarUsers(m, q, flags.top, flags.metric);
      const ids = byItem ? m.items : m.users;
      const domain = byItem ? m.meta.itemDomain : m.meta.userDomain;
      const lines = [`${nb.rows.length} ${domain}s nearest ${domain} ${byItem ? flags.item : flags.user} by ${flags.metric}:`];
      nb.rows.forEach((r, j) => {
        const id = ids.external(r);
        const title = titles?.get(id);
        lines.push(`${String(j + 1).padStart(3)}. ${id.padEnd(8)} ${nb.scores[j]!.toFixed(4)}${title !== undefined ? `  ${title}` : ''}`);
      });
      process.stdout.write(lines.join('\n') + '\n');
      return 0;
    });
  },
});

// `recc export RUN_DIR --kv DIR`: a run's serving factors for other programs. This file only
// dispatches; each target is its own module (--kv: runtime/serve/kv-export.ts).
import { exportKv } from '../../runtime/serve/kv-export.ts';
import { loadServingModel } from '../../runtime/serve/serving-model.ts';
import { command, UsageError } from '../lib/args.ts';
import { servingErrors } from './serving-common.ts';

export const exportCommand = command({
  name: 'export',
  summary: "a run's vectors for other programs (SQLite user vectors, item matrix, id maps)",
  description:
    'Writes DIR/users.sqlite (user id → float32 vector and seen item rows), DIR/items.npy, DIR/item_ids.json,\n' +
    'DIR/user_ids.json and DIR/manifest.json; score(u, i) = vector(u) · items[i]. See docs/serving.md.',
  operands: [{ name: 'RUN_DIR', meaning: 'a run folder written by `recc run`' }],
  flags: [{ kind: 'string', name: 'kv', arg: 'DIR', meaning: 'write the key-value export to DIR (new, empty, or an earlier export)', default: 'none' }],
  needsRuntime: () => false,
  run: ({ operands, flags }) => {
    if (flags.kv === undefined) throw new UsageError('say what to export: --kv DIR');
    return servingErrors(() => {
      const m = loadServingModel(operands[0]!);
      const man = exportKv(m, flags.kv!);
      process.stdout.write(`${flags.kv}/: users.sqlite (${man.users} ${man.userDomain} vectors of ${man.width} float32), items.npy (${man.items} × ${man.width}), item_ids.json, user_ids.json, manifest.json\n`);
      return 0;
    });
  },
});

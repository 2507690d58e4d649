// `recc export`: a model or run for other programs. This file is the command line only; each target
// is its own module: `--kv DIR` (a run's serving vectors in SQLite: runtime/serve/kv-export.ts) and
// `--target torch -o DIR [--check]` (a PyTorch package: cli/commands/export-torch.ts, which uses
// compiler/codegen/torch/ and runtime/export/torch.ts).
import { existsSync } from 'node:fs';
import { exportKv } from '../../runtime/serve/kv-export.ts';
import { loadServingModel } from '../../runtime/serve/serving-model.ts';
import { command, UsageError } from '../lib/args.ts';
import type { Runtime } from '../lib/runtime.ts';
import { exportTorch } from './export-torch.ts';
import { ALLOW_DENSE_FLAG, SET_FLAG } from './common.ts';
import { servingErrors } from './serving-common.ts';

export const exportCommand = command({
  name: 'export',
  summary: 'a model or run as a PyTorch package, or a run\'s vectors as a SQLite store',
  description:
    '--target torch (the default): the package (model.py, recc_torch.py, train.py, spec.json, data/) holds every\n' +
    'term as the contraction recc chose, the model\'s data as recc loaded and split it, its samplers, optimizer and\n' +
    'metrics. Run it with `python3 DIR/train.py [--nproc N]`. --check evaluates every term and the gradient in\n' +
    'float64 torch and compares them with recc\'s reference.\n' +
    '--kv DIR (a run folder): DIR/users.sqlite (user id → float32 vector and seen item rows), DIR/items.npy,\n' +
    'DIR/item_ids.json, DIR/user_ids.json and DIR/manifest.json; score(u, i) = vector(u) · items[i]. See docs/serving.md.',
  operands: [{ name: 'MODEL|RUN', meaning: 'a .recmodel file, or a run folder written by `recc run` (its trained params)' }],
  flags: [
    { kind: 'choice', name: 'target', choices: ['torch'], value: 'torch', meaning: 'what to export to (without --kv)' },
    { kind: 'string', name: 'out', short: 'o', arg: 'DIR', meaning: 'the package folder to write (--target torch)', default: 'MODEL-torch' },
    { kind: 'boolean', name: 'check', meaning: "run the exported objective once in float64 and compare each term and gradient with recc's reference interpreter" },
    { kind: 'string', name: 'data', arg: 'FILE', meaning: "training data, replacing the model's primary relation's file", default: 'the file the model names' },
    { kind: 'string', name: 'test', arg: 'FILE', meaning: "test rows for that relation, instead of the model's split", default: "the model's split" },
    { kind: 'string', name: 'kv', arg: 'DIR', meaning: "write a run's user vectors, item matrix and id maps as a key-value export to DIR (new, empty, or an earlier export)", default: 'none' },
    SET_FLAG,
    ALLOW_DENSE_FLAG,
  ],
  needsRuntime: (args) => args.flags.kv === undefined,
  run: ({ operands, flags }, runtime: () => Runtime) => {
    const target = operands[0]!;
    if (flags.kv !== undefined) {
      const torchOnly = (['check', 'data', 'test'] as const).filter((f) => flags[f] !== undefined && flags[f] !== false);
      if (torchOnly.length > 0) throw new UsageError(`--kv exports a run folder's vectors; --${torchOnly[0]} belongs to --target torch`);
      return servingErrors(() => {
        const m = loadServingModel(target);
        const man = exportKv(m, flags.kv!);
        process.stdout.write(`${flags.kv}/: users.sqlite (${man.users} ${man.userDomain} vectors of ${man.width} float32), items.npy (${man.items} × ${man.width}), item_ids.json, user_ids.json, manifest.json\n`);
        return 0;
      });
    }
    if (!existsSync(target)) throw new UsageError(`no such file or folder: ${target}`);
    return exportTorch(runtime(), target, { out: flags.out, check: flags.check, data: flags.data, test: flags.test, sets: flags.set, allowDense: flags['allow-dense'] });
  },
});

// `recc export MODEL_OR_RUN --target torch -o DIR [--check]`: the command line only; the export
// itself is cli/commands/export-torch.ts (the PyTorch package: compiler/codegen/torch/, its data:
// runtime/export/torch.ts).
import { existsSync } from 'node:fs';
import { command, UsageError } from '../lib/args.ts';
import type { Runtime } from '../lib/runtime.ts';
import { exportTorch } from './export-torch.ts';
import { ALLOW_DENSE_FLAG, SET_FLAG } from './common.ts';

export const exportCommand = command({
  name: 'export',
  summary: 'write a model (or a run) as a PyTorch package with a torch.distributed trainer',
  description:
    'The package (model.py, recc_torch.py, train.py, spec.json, data/) holds every term as the contraction\n' +
    'recc chose, the model\'s data as recc loaded and split it, its samplers, optimizer and metrics.\n' +
    'Run it with `python3 DIR/train.py`, or `python3 -m torch.distributed.run --nproc_per_node N DIR/train.py`.\n' +
    '--check evaluates every term and the gradient in float64 torch and compares them with recc\'s reference.',
  operands: [{ name: 'MODEL|RUN', meaning: 'a .recmodel file, or a run folder written by `recc run --out` (its trained params)' }],
  flags: [
    { kind: 'choice', name: 'target', choices: ['torch'], value: 'torch', meaning: 'what to export to' },
    { kind: 'string', name: 'out', short: 'o', arg: 'DIR', meaning: 'the package folder to write', default: 'MODEL-torch' },
    { kind: 'boolean', name: 'check', meaning: "run the exported objective once in float64 and compare each term and gradient with recc's reference interpreter" },
    { kind: 'string', name: 'data', arg: 'FILE', meaning: "training data, replacing the model's primary relation's file", default: 'the file the model names' },
    { kind: 'string', name: 'test', arg: 'FILE', meaning: "test rows for that relation, instead of the model's split", default: "the model's split" },
    SET_FLAG,
    ALLOW_DENSE_FLAG,
  ],
  needsRuntime: () => true,
  run: ({ operands, flags }, runtime: () => Runtime) => {
    const target = operands[0]!;
    if (!existsSync(target)) throw new UsageError(`no such file or folder: ${target}`);
    return exportTorch(runtime(), target, { out: flags.out, check: flags.check, data: flags.data, test: flags.test, sets: flags.set, allowDense: flags['allow-dense'] });
  },
});

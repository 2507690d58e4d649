// `recc compile FILE -o DIR`: the compiled artifact (runtime/output/artifact.ts) — plan.json, the
// model's source and the generated kernels — which `recc run DIR` trains from.
import { command } from '../lib/args.ts';
import type { Runtime } from '../lib/runtime.ts';
import { ALLOW_DENSE_FLAG, compileOrReport, makeFolder, SET_FLAG } from './common.ts';

export const compile = command({
  name: 'compile',
  summary: 'write the compiled artifact: plan.json (schema-checked), model.recmodel, kernels/*.js',
  description: 'The artifact is compiled for default sizes; `recc run DIR` trains from it.',
  operands: [{ name: 'FILE', meaning: 'a .recmodel file' }],
  flags: [{ kind: 'string', name: 'out', short: 'o', arg: 'DIR', meaning: 'the folder to write the artifact to', required: true }, SET_FLAG, ALLOW_DENSE_FLAG],
  needsRuntime: () => true,
  run: ({ operands, flags }, runtime: () => Runtime) => {
    const path = operands[0]!;
    const compiled = compileOrReport(path, { sets: flags.set, allowDense: flags['allow-dense'] });
    if (!compiled) return 1;
    makeFolder(flags.out, '--out');
    runtime().artifact.writeArtifact(flags.out, path, flags.set, compiled);
    process.stdout.write(`compiled ${path} → ${flags.out}/ (plan.json, model.recmodel, kernels/)\n`);
    return 0;
  },
});

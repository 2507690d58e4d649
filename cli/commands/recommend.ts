// `recc recommend RUN_DIR --user ID`: the top-K items a trained run scores highest for a user, leaving
// out those the user rated in training (runtime/serve/serve.ts).
import { compileFile } from '../../compiler/compile.ts';
import { hasErrors } from '../../compiler/diagnostics/diagnostics.ts';
import { command } from '../lib/args.ts';
import type { Runtime } from '../lib/runtime.ts';

export const recommend = command({
  name: 'recommend',
  summary: 'top-K unseen items for a user, with titles when given',
  description: "Scores every item with the run's params; the items the user rated in training are left out.",
  operands: [{ name: 'RUN_DIR', meaning: 'a run folder written by `recc run`' }],
  flags: [
    { kind: 'string', name: 'user', arg: 'ID', meaning: "the user's external id, as in the data", required: true },
    { kind: 'count', name: 'top', arg: 'K', min: 1, value: 10, meaning: 'how many items to list' },
    { kind: 'string', name: 'items', arg: 'FILE', meaning: "item titles: MovieLens's u.item (id|title|…)", default: 'ids only' },
  ],
  needsRuntime: () => true,
  run: ({ operands, flags }, runtime: () => Runtime) => {
    const rt = runtime();
    const dir = operands[0]!;
    const { modelPath, sets } = rt.serve.readRun(dir);
    const r = compileFile(modelPath, { sets });
    if (hasErrors(r.diagnostics) || !r.compiled) throw new rt.serve.RecommendError(`${modelPath} no longer compiles`);
    const lines = rt.serve.recommend(r.compiled, dir, flags.user, flags.top, flags.items);
    process.stdout.write(lines.join('\n') + '\n');
    return 0;
  },
});

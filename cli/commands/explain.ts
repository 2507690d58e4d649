// `recc explain FILE`: every term and gradient before and after rewriting, the rules that fired, and
// their costs (compiler/explain.ts). Runs on the compiler alone, unless --data asks for the sizes of a
// data file, which needs the runtime's loader.
import { resolve } from 'node:path';
import { explainCompiled } from '../../compiler/explain.ts';
import { command } from '../lib/args.ts';
import type { Runtime } from '../lib/runtime.ts';
import { ALLOW_DENSE_FLAG, compileForData, compileOrReport, SET_FLAG } from './common.ts';

export const explain = command({
  name: 'explain',
  summary: 'each term and gradient before/after rewriting, the rules that fired, FLOPs and memory',
  description:
    'Costs are per evaluation, at catalogue-sized defaults unless --data or --sizes gives the sizes.\n' +
    '--sizes names domains and relations, e.g. --sizes user=6040,item=3706,ratings=1000209.',
  operands: [{ name: 'FILE', meaning: 'a .recmodel file' }],
  flags: [
    { kind: 'string', name: 'data', arg: 'FILE', meaning: "take the sizes from this data file, loaded as `recc run --data FILE` loads it", default: 'none' },
    { kind: 'bindings', name: 'sizes', whole: true, meaning: 'sizes of domains and relations, NAME=N, comma-separated or repeated; over --data', default: 'from --data, else 1000 per domain and 100000 per relation' },
    { kind: 'boolean', name: 'trace', meaning: 'list every rewrite step in order: the rule, the form it produced and its cost' },
    { kind: 'boolean', name: 'no-rewrite', meaning: 'keep every term as written (no expand+contract), for comparison' },
    SET_FLAG,
    ALLOW_DENSE_FLAG,
  ],
  needsRuntime: ({ flags }) => flags.data !== undefined,
  run: ({ operands, flags }, runtime: () => Runtime) => {
    const path = operands[0]!;
    const opts = { sets: flags.set, sizes: flags.sizes.size ? flags.sizes : undefined, rewrite: flags['no-rewrite'] ? false : undefined, allowDense: flags['allow-dense'], trace: flags.trace };
    const compiled = flags.data === undefined ? compileOrReport(path, opts) : compileForData(runtime(), path, opts, { data: resolve(flags.data) })?.compiled;
    if (!compiled) return 1;
    process.stdout.write(explainCompiled(compiled, { trace: flags.trace }) + '\n');
    return 0;
  },
});

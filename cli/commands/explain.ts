// `recc explain FILE`: every term and gradient before and after rewriting, the rules that fired, and
// their costs per training step (compiler/explain.ts), at the sizes of the model's own data (the
// runtime's loader and step-sizes), or at the compiler's defaults with --no-data.
import { resolve } from 'node:path';
import type { Compiled } from '../../compiler/compile.ts';
import { explainCompiled, sizesByPublicName, stepSizesOf } from '../../compiler/explain.ts';
import { command, UsageError } from '../lib/args.ts';
import type { Runtime } from '../lib/runtime.ts';
import { ALLOW_DENSE_FLAG, compileForData, compileOrReport, SET_FLAG } from './common.ts';

export const explain = command({
  name: 'explain',
  summary: 'each term and gradient before/after rewriting, the rules that fired, FLOPs and memory',
  description:
    "Costs are per training step, at the sizes of the model's own data (its data files, or --data FILE);\n" +
    '--sizes then overrides sizes by public name: a domain (user), a relation\'s tuples (ratings), a sparse\n' +
    "column's non-zeros (clicks.x), e.g. --sizes user=6040,item=3706,ratings=1000209. --no-data uses the\n" +
    "compiler's default sizes instead of loading the data.",
  operands: [{ name: 'FILE', meaning: 'a .recmodel file' }],
  flags: [
    { kind: 'string', name: 'data', arg: 'FILE', meaning: "take the sizes from this data file, loaded as `recc run --data FILE` loads it", default: "the model's data files" },
    { kind: 'boolean', name: 'no-data', meaning: "do not load any data: cost the model at the compiler's default sizes (1000 per domain, 100000 per relation)" },
    { kind: 'bindings', name: 'sizes', whole: true, meaning: 'sizes by public name, NAME=N, comma-separated or repeated; over the data\'s sizes', default: "the data's sizes" },
    { kind: 'boolean', name: 'trace', meaning: 'list every rewrite step in order: the rule, the form it rewrote and its replacement' },
    { kind: 'boolean', name: 'no-rewrite', meaning: 'keep every term as written (no expand+contract), for comparison' },
    SET_FLAG,
    ALLOW_DENSE_FLAG,
  ],
  needsRuntime: ({ flags }) => !flags['no-data'],
  run: ({ operands, flags }, runtime: () => Runtime) => {
    const path = operands[0]!;
    if (flags['no-data'] && flags.data !== undefined) throw new UsageError('--data and --no-data cannot be given together');
    const opts = { sets: flags.set, rewrite: flags['no-rewrite'] ? false : undefined, allowDense: flags['allow-dense'], trace: flags.trace };
    // one compilation at the sizes the costs are printed for: the data's (as `recc run` compiles),
    // else the defaults; --sizes then compiles again at the sizes it names
    let compiled: Compiled | undefined;
    let full: Map<string, number>;
    let step: Map<string, number> | undefined;
    let atRows: ReadonlySet<string> | undefined;
    let from: string | undefined;
    if (flags['no-data']) {
      compiled = compileOrReport(path, opts);
      if (!compiled) return 1;
      full = new Map(compiled.sizes);
    } else {
      const rt = runtime();
      const r = compileForData(rt, path, opts, { data: flags.data && resolve(flags.data) });
      if (!r) return 1;
      compiled = r.compiled;
      ({ full, step, atRows } = rt.stepSizes.stepSizes(compiled, r.ds));
      from = flags.data ?? `the model's data (${compiled.model.relations.flatMap((x) => (x.source.kind === 'file' ? [x.source.path] : [])).join(', ')})`;
    }
    if (flags.sizes.size) {
      const r = sizesByPublicName(compiled, full, flags.sizes);
      if (r.unknown.length) throw new UsageError(`--sizes: unknown name${r.unknown.length > 1 ? 's' : ''} ${r.unknown.map((n) => `\`${n}\``).join(', ')} (sizes of this model: ${r.known.join(', ')})`);
      full = r.sizes;
      step = undefined; // re-derived from the given sizes
      atRows = undefined;
      from = from ? `${from}, with --sizes` : '--sizes';
      compiled = compileOrReport(path, { ...opts, sizes: full }, false);
      if (!compiled) return 1;
    }
    process.stdout.write(explainCompiled(compiled, { trace: flags.trace, step: step ?? stepSizesOf(compiled, full), atRows, sizesFrom: from }) + '\n');
    return 0;
  },
});

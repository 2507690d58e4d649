// `recc index RUN_DIR`: builds an HNSW index over the run's item vectors (runtime/serve/ann.ts) and
// saves it in the run folder, for `recommend --ann` and `serve --ann` (ip) or `similar --ann` (cosine).
import { AnnIndex, ANN_METRICS, DEFAULT_ANN } from '../../runtime/serve/ann.ts';
import { loadServingModel } from '../../runtime/serve/serving-model.ts';
import { command } from '../lib/args.ts';
import { servingErrors } from './serving-common.ts';

export const annIndex = command({
  name: 'index',
  summary: 'build an HNSW index over the item vectors for approximate top-K (--ann)',
  description:
    'ip: maximum inner product (the score), by the extra-dimension reduction to L2; cosine: the items\'\n' +
    'geometry, for similar items. Saved as serving/ann-METRIC.usearch in the run folder.',
  operands: [{ name: 'RUN_DIR', meaning: 'a run folder written by `recc run`' }],
  flags: [
    { kind: 'choice', name: 'metric', choices: ANN_METRICS, value: 'ip', meaning: 'what the index finds nearest' },
    { kind: 'count', name: 'connectivity', arg: 'M', min: 2, value: DEFAULT_ANN.connectivity, meaning: 'HNSW links per node' },
    { kind: 'count', name: 'ef-construction', arg: 'N', min: 1, value: DEFAULT_ANN.expansionAdd, meaning: 'HNSW candidate list while building' },
    { kind: 'count', name: 'ef-search', arg: 'N', min: 1, value: DEFAULT_ANN.expansionSearch, meaning: 'HNSW candidate list while searching' },
  ],
  needsRuntime: () => false,
  run: ({ operands, flags }) =>
    servingErrors(() => {
      const m = loadServingModel(operands[0]!);
      const t0 = performance.now();
      const idx = AnnIndex.build(m, flags.metric, { connectivity: flags.connectivity, expansionAdd: flags['ef-construction'], expansionSearch: flags['ef-search'] });
      idx.save(operands[0]!);
      process.stdout.write(`${operands[0]}/serving/ann-${flags.metric}.usearch: ${idx.size} ${m.meta.itemDomain}s, HNSW M=${flags.connectivity} ef=${flags['ef-construction']}/${flags['ef-search']}, built in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
      return 0;
    }),
});

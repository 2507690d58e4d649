import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pythonRuntimeFiles, torchPackage } from './compiler/codegen/torch/package.ts';
import { compileForData } from './cli/commands/common.ts';
import { loadRuntime } from './cli/lib/runtime.ts';
import { generateRatings, ML1M_SPEC, toUData } from './runtime/data/synthetic.ts';
const rt = await loadRuntime();
writeFileSync('/tmp/ml1m.tsv', toUData(generateRatings(ML1M_SPEC)));
for (const model of ['mf-gramian', 'enmf']) {
  const r = compileForData(rt, `examples/${model}.recmodel`, { sets: new Map() }, { data: '/tmp/ml1m.tsv' });
  rt.torchExport.writeTorchPackage(join('/tmp/p1m', model), r!.compiled, r!.ds, torchPackage(r!.compiled, '0.1.0'), pythonRuntimeFiles());
}

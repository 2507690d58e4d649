import { writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pythonRuntimeFiles, torchPackage } from './compiler/codegen/torch/package.ts';
import { compileForData } from './cli/commands/common.ts';
import { loadRuntime } from './cli/lib/runtime.ts';
const rt = await loadRuntime();
const [model, data, out] = process.argv.slice(2);
const r = compileForData(rt, `examples/${model}.recmodel`, { sets: new Map() }, { data });
rt.torchExport.writeTorchPackage(out!, r!.compiled, r!.ds, torchPackage(r!.compiled, '0.1.0'), pythonRuntimeFiles());

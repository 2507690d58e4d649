// `recc export --target torch`: compile the model for its data (or read a run folder's model, data
// and trained params), write the PyTorch package, and with --check run its objective in float64
// torch against recc's reference interpreter, term by term and gradient by gradient.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { pythonRuntimeFiles, torchPackage, type TorchPackage } from '../../compiler/codegen/torch/package.ts';
import type { Compiled } from '../../compiler/compile.ts';
import type { Dataset } from '../../runtime/data/dataset.ts';
import { f32, writeNpy } from '../../runtime/output/npy.ts';
import { UserError } from '../lib/args.ts';
import type { Runtime } from '../lib/runtime.ts';
import { compileForData, makeFolder } from './common.ts';

export interface ExportOptions {
  readonly out: string | undefined;
  readonly check: boolean;
  readonly data: string | undefined;
  readonly test: string | undefined;
  readonly sets: ReadonlyMap<string, number>;
  readonly allowDense: boolean;
}

/** Relative tolerance of --check (float64 torch against float64 interpretation). */
export const CHECK_TOLERANCE = 1e-9;

function reccVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** A Python 3 with torch: $RECC_PYTHON, else python3, else Debian's /usr/bin/python3; undefined if none imports torch. */
export function findTorchPython(): string | undefined {
  const candidates = [process.env.RECC_PYTHON, 'python3', '/usr/bin/python3'].filter((c): c is string => !!c);
  for (const c of candidates) {
    const r = spawnSync(c, ['-c', 'import torch, numpy'], { stdio: 'ignore' });
    if (r.status === 0) return c;
  }
  return undefined;
}

export interface CheckRow {
  readonly what: string;
  readonly recc: number;
  readonly torch: number;
  readonly rel: number;
}

export function exportTorch(rt: Runtime, target: string, opts: ExportOptions): number {
  let modelPath = target;
  let sets = opts.sets;
  let data = opts.data && resolve(opts.data);
  let test = opts.test && resolve(opts.test);
  let baseDir: string | undefined;
  let runDir: string | undefined;
  if (statSync(target).isDirectory()) {
    if (!existsSync(join(target, 'run.json')) || !existsSync(join(target, 'params', 'manifest.json')))
      throw new UserError(`${target} is not a run folder (no run.json and params/manifest.json); export takes a .recmodel file or a folder written by \`recc run --out\``);
    const run = JSON.parse(readFileSync(join(target, 'run.json'), 'utf8')) as { sets?: Record<string, number>; data?: string | null; test?: string | null; baseDir?: string };
    runDir = target;
    modelPath = join(target, 'model.recmodel');
    sets = new Map([...Object.entries(run.sets ?? {}), ...opts.sets]);
    data ??= run.data ?? undefined;
    test ??= run.test ?? undefined;
    baseDir = run.baseDir;
  }
  const r = compileForData(rt, modelPath, { sets, allowDense: opts.allowDense }, { data, test, baseDir });
  if (!r) return 1;
  const { compiled, ds } = r;
  const why = rt.torchExport.unsupported(compiled);
  if (why) throw new UserError(why);
  const out = opts.out ?? `${compiled.model.name}-torch`;
  makeFolder(out, '--out');
  const pkg = torchPackage(compiled, reccVersion());
  rt.torchExport.writeTorchPackage(out, compiled, ds, pkg, pythonRuntimeFiles());
  let trained: Map<string, Float32Array> | undefined;
  if (runDir) {
    // the run's trained values replace the initializers (rows matched by external id; a row the run
    // never saw is NaN in its .npy and keeps its initializer: recc_torch.start_params)
    const read = rt.runFolder.readParams(runDir, compiled, ds);
    trained = read.params;
    const specPath = join(out, 'spec.json');
    const spec = JSON.parse(readFileSync(specPath, 'utf8')) as Record<string, unknown>;
    const files: Record<string, string> = {};
    for (const p of pkg.spec.params) {
      const v = read.params.get(p.name);
      if (!v) continue;
      const shape = compiled.module.params.find((x) => x.name === p.name)!.shape.map((s) => r.sizes.get(s)!);
      const f = `data/param-${p.py}.npy`;
      writeNpy(join(out, f), f32(shape, v));
      files[p.py] = f;
    }
    spec.trained = files;
    writeFileSync(specPath, JSON.stringify(spec, null, 1) + '\n');
    read.notes.forEach((n) => process.stderr.write(`note: ${n}\n`));
  }
  process.stdout.write(
    `exported ${compiled.model.name} → ${out}/ (model.py, recc_torch.py, train.py, spec.json, data/)\n` +
      (runDir ? `  params: the trained values of ${runDir} (train.py --init initial starts from the initializers instead)\n` : '') +
      `  train: python3 ${join(out, 'train.py')}   ·   DDP: python3 ${join(out, 'train.py')} --nproc 2, or python3 -m torch.distributed.run --standalone --nproc_per_node 2 ${join(out, 'train.py')}\n`,
  );
  if (!opts.check) return 0;
  const { rows } = checkTorch(rt, out, compiled, ds, pkg, trained);
  if (trained) process.stdout.write(`  (at the run's trained params)\n`);
  const width = Math.max(...rows.map((x) => x.what.length));
  for (const x of rows) process.stdout.write(`  ${x.what.padEnd(width)}  recc ${x.recc.toExponential(12).padStart(20)}  torch ${x.torch.toExponential(12).padStart(20)}  rel ${x.rel.toExponential(2)}\n`);
  const bad = rows.filter((x) => !(x.rel <= CHECK_TOLERANCE));
  process.stdout.write(bad.length ? `check FAILED: ${bad.map((x) => x.what).join(', ')} differ by more than ${CHECK_TOLERANCE} relative\n` : `check passed: every term and gradient within ${CHECK_TOLERANCE} relative (float64)\n`);
  return bad.length ? 1 : 0;
}

/** Runs the package's float64 check and compares it with recc's reference interpreter. */
export function checkTorch(rt: Runtime, out: string, compiled: Compiled, ds: Dataset, pkg: TorchPackage, trained?: ReadonlyMap<string, Float32Array>): { rows: CheckRow[]; shapes: number[][] } {
  const python = findTorchPython();
  if (!python) throw new UserError('--check needs Python 3 with torch and numpy (Debian: apt-get install python3-torch python3-numpy; or set RECC_PYTHON)');
  const envDir = join(out, 'check');
  const ref = rt.torchExport.writeCheckEnv(envDir, compiled, ds, pkg, trained);
  const result = join(envDir, 'result.json');
  try {
    execFileSync(python, [join(out, 'train.py'), '--check', envDir, '--out', result], { stdio: ['ignore', 'inherit', 'inherit'] });
  } catch {
    throw new UserError(`the exported package's check failed to run (${python} ${basename(out)}/train.py --check)`);
  }
  const got = JSON.parse(readFileSync(result, 'utf8')) as { terms: number[]; grads: Record<string, number[]>; shapes: number[][] };
  const rows: CheckRow[] = compiled.terms.map((t, j) => {
    const a = ref.terms[j]!;
    const b = got.terms[j]!;
    return { what: `${t.role} ${t.name}`, recc: a, torch: b, rel: Math.abs(a - b) / Math.max(Math.abs(a), Number.MIN_VALUE) };
  });
  for (const p of pkg.spec.params) {
    const a = ref.grads.get(p.name)!;
    const b = got.grads[p.py] ?? [];
    let diff = b.length === a.length ? 0 : Infinity;
    let scale = 0;
    for (let j = 0; j < a.length; j++) {
      diff = Math.max(diff, Math.abs(a[j]! - (b[j] ?? NaN)));
      scale = Math.max(scale, Math.abs(a[j]!));
    }
    // normwise: max |Δ| over the largest entry (an all-zero gradient must come back all zero)
    rows.push({ what: `∂/∂${p.name}`, recc: scale, torch: b.reduce((m, x) => Math.max(m, Math.abs(x)), 0), rel: scale > 0 ? diff / scale : diff });
  }
  return { rows, shapes: got.shapes };
}

// bench/als: seconds per sweep of `optimizer als` on examples/ials.recmodel (the whole-data implicit
// loss, blocks V then U, d = 64, row equations derived by the compiler, one Cholesky per row) at the
// ML-100K shape (u.data when present, else synthetic of its shape) and the ML-1M shape
// (syntheticMl1m()), side by side with (a) one Adam step of recc on the same model (terms + every
// gradient in one evalMany, as a full-batch training step runs them, plus the update) and (b) a
// hand-written numpy + scipy iALS of the same objective (bench/als-reference.py, one BLAS thread),
// run from the same initial params on the same training likes. Printed as ratios. The objective after
// the first sweep is printed for recc and numpy: they must agree (the same objective, the same exact
// minimizers), else the row is flagged and the exit code is 1. Runs interleave recc and numpy
// (A B A B), medians over --reps sweeps after a warm-up sweep (kernel compilation, CSR indexes). The
// reference is skipped, with the reason, when python3 with numpy and scipy is missing.
//   npx tsx bench/als.ts [--shapes ml100k,ml1m] [--reps 3] [--mode webasm|cpu] [--python python3]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileSource, type Compiled } from '../compiler/compile.ts';
import { ml100kDir, repoRoot } from '../runtime/data/data-paths.ts';
import { loadDataset, type Dataset } from '../runtime/data/dataset.ts';
import { evalMany } from '../runtime/exec/backend.ts';
import { GpuBackend } from '../runtime/backends/backends.ts';
import { makeEnv, sizesFor } from '../runtime/exec/env.ts';
import type { ExecMode } from '../runtime/exec/executor.ts';
import { generateRatings, ML1M_SPEC, syntheticMl1m, toUData } from '../runtime/data/synthetic.ts';
import { f32, i32, writeNpy } from '../runtime/output/npy.ts';
import { updateBlock } from '../runtime/train/als.ts';
import { initParams } from '../runtime/train/init.ts';
import { applyUpdate, createState } from '../runtime/train/optimizer.ts';
import { median, option } from './common.ts';

const mode = option('mode', 'webasm') as ExecMode;
const reps = Math.max(1, Number(option('reps', '3')));
const shapes = option('shapes', 'ml100k,ml1m').split(',');
const PYTHON = option('python', 'python3');
const FILE = join(repoRoot(), 'examples', 'ials.recmodel');
const source = readFileSync(FILE, 'utf8');
const adamSource = source.replace(/train\s*\{[^}]*\}/, 'train { optimizer adam(lr = 0.02) steps 1 batch full seed 42 }');
const tmp = mkdtempSync(join(tmpdir(), 'recc-bench-als-'));

function dataFor(shape: string): { label: string; path: string; source: string } {
  if (shape === 'ml100k') {
    const dir = ml100kDir();
    if (dir) return { label: 'ML-100K', path: join(dir, 'u.data'), source: 'u.data' };
    const path = join(tmp, 'ml100k-shape.tsv');
    writeFileSync(path, toUData(generateRatings({ ...ML1M_SPEC, nUsers: 943, nItems: 1682, nRatings: 100_000, seed: 100_000, maxPerUser: 737 })));
    return { label: 'ML-100K', path, source: 'synthetic (ML-100K shape)' };
  }
  if (shape === 'ml1m') {
    const path = join(tmp, 'ml1m-shape.tsv');
    writeFileSync(path, toUData(syntheticMl1m()));
    return { label: 'ML-1M', path, source: 'syntheticMl1m()' };
  }
  throw new Error(`unknown shape ${shape} (ml100k, ml1m)`);
}

function compileAt(text: string, ds: Dataset, first: Compiled): Compiled {
  const r = compileSource(FILE, text, { sizes: sizesFor(first, ds, ds.train, ds.train) });
  if (!r.compiled) throw new Error(`examples/ials.recmodel does not compile: ${r.diagnostics.map((d) => d.message).join('; ')}`);
  return r.compiled;
}

function pythonProblem(): string | undefined {
  const r = spawnSync(PYTHON, ['-c', 'import numpy, scipy'], { encoding: 'utf8' });
  if (r.error) return `${PYTHON} not found (${r.error.message})`;
  if (r.status !== 0) return `${PYTHON} cannot import numpy and scipy: ${r.stderr.trim().split('\n').pop()}`;
  return undefined;
}

const noPython = pythonProblem();
console.log(`examples/ials.recmodel, d = 64, blocks V then U, Cholesky per row; gpu.js ${mode}, node ${process.version}`);
console.log(noPython ? `numpy reference: skipped — ${noPython}` : `numpy reference: ${PYTHON} bench/als-reference.py, one BLAS thread`);
console.log(`medians of ${reps} sweeps (steps) after a warm-up one, recc and numpy interleaved\n`);
console.log('shape     users × items   likes    recc sweep s   recc Adam step s   numpy sweep s   sweep/Adam step   recc/numpy   objective after sweep 1 (recc / numpy)');
let bad = false;
for (const shape of shapes) {
  const data = dataFor(shape);
  const first = compileSource(FILE, source).compiled!;
  const ds = loadDataset(first.model, { data: data.path });
  const als = compileAt(source, ds, first);
  const adam = compileAt(adamSource, ds, first);
  const sizes = sizesFor(als, ds, ds.train, ds.train);
  const init = initParams(als, sizes, als.model.train.seed);
  const likes = ds.train.get('likes')!;
  const dir = join(tmp, shape);
  spawnSync('mkdir', ['-p', dir]);
  writeNpy(join(dir, 'U0.npy'), f32([sizes.get('user')!, 64], init.get('U')!));
  writeNpy(join(dir, 'V0.npy'), f32([sizes.get('item')!, 64], init.get('V')!));
  writeNpy(join(dir, 'users.npy'), i32([likes.size], likes.ids.get('user')!));
  writeNpy(join(dir, 'items.npy'), i32([likes.size], likes.ids.get('item')!));
  writeFileSync(join(dir, 'consts.json'), JSON.stringify(Object.fromEntries(als.model.consts)));

  const backend = new GpuBackend(mode, als.module.spaces);
  const params = new Map([...init].map(([k, v]) => [k, Float32Array.from(v)]));
  const env = makeEnv(als, sizes, params, ds.train);
  const opt = als.model.train.optimizer;
  if (opt.kind !== 'als') throw new Error('examples/ials.recmodel is not trained by als');
  const sweep = (): number => {
    const t0 = performance.now();
    for (const b of als.blocks!) updateBlock(als, b, backend, env, opt.solver);
    return (performance.now() - t0) / 1000;
  };
  const objective = (): number => evalMany(backend, als.terms.map((t) => t.expr), [], env).scalars.reduce((a, b) => a + b, 0);
  const adamParams = new Map([...init].map(([k, v]) => [k, Float32Array.from(v)]));
  const adamEnv = makeEnv(adam, sizes, adamParams, ds.train);
  const adamOpt = adam.model.train.optimizer;
  if (adamOpt.kind === 'als') throw new Error('unreachable: the Adam variant is trained by adam');
  const state = createState(adamOpt, adamParams);
  const adamStep = (): number => {
    const t0 = performance.now();
    const r = evalMany(backend, adam.terms.map((t) => t.expr), adam.grads.map((g) => ({ expr: g.expr, out: g.out })), adamEnv);
    applyUpdate(adamOpt, state, adamParams, new Map(adam.grads.map((g, j) => [g.param, r.tensors[j]!])), adamOpt.lr);
    return (performance.now() - t0) / 1000;
  };
  const numpy = (sweeps: number): { seconds: number[]; objective: number[] } | undefined => {
    if (noPython) return undefined;
    const r = spawnSync(PYTHON, [join(repoRoot(), 'bench', 'als-reference.py'), dir, String(sweeps)], { encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1', MKL_NUM_THREADS: '1' } });
    if (r.status !== 0) throw new Error(`als-reference.py failed: ${r.stderr}`);
    return JSON.parse(r.stdout.trim().split('\n').pop()!) as { seconds: number[]; objective: number[] };
  };

  try {
    sweep(); // warm-up: kernels, CSR indexes
  } catch (e) {
    // a block's H over rows × n × n cells beyond the kernels' exact float32 thread ids (2^24): H would
    // have to be evaluated a chunk of rows at a time, which als.ts does not do yet
    console.log(`${data.label.padEnd(8)} not run: ${(e as Error).message}`);
    backend.dispose();
    continue;
  }
  const afterOne = objective();
  adamStep();
  const reccS: number[] = [], adamS: number[] = [], numpyS: number[] = [];
  let numpyFirst: number | undefined;
  for (let j = 0; j < reps; j++) {
    reccS.push(sweep());
    const np = numpy(1);
    if (np) {
      numpyS.push(np.seconds[0]!);
      numpyFirst = np.objective[0];
    }
    adamS.push(adamStep());
  }
  const agree = numpyFirst === undefined || Math.abs(afterOne - numpyFirst) <= 1e-4 * Math.abs(numpyFirst);
  if (!agree) bad = true;
  const [r, a, n] = [median(reccS), median(adamS), numpyS.length ? median(numpyS) : undefined];
  console.log(
    `${data.label.padEnd(8)} ${`${sizes.get('user')} × ${sizes.get('item')}`.padStart(14)} ${String(likes.size).padStart(7)} ${r.toFixed(3).padStart(14)} ${a.toFixed(3).padStart(18)} ${(n === undefined ? '—' : n.toFixed(3)).padStart(15)} ${`${(r / a).toFixed(2)}×`.padStart(17)} ${(n === undefined ? '—' : `${(r / n).toFixed(2)}×`).padStart(12)}   ${afterOne.toPrecision(7)} / ${numpyFirst === undefined ? '—' : numpyFirst.toPrecision(7)}${agree ? '' : '   MISMATCH: not the same objective'}`,
  );
  console.log(`  data: ${data.source}, training side of the example's split`);
  backend.dispose();
}
rmSync(tmp, { recursive: true, force: true });
if (bad) process.exitCode = 1;

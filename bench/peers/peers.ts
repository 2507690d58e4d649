// bench/peers: recc side by side with a hand-written numpy + scipy peer (bench/peers/reference.py, one
// BLAS thread) on four examples — mf-gramian and enmf full batch, bpr (batch 4096, uniform negatives)
// and mf-biased (batch 4096) — at the ML-100K shape (u.data when present, else synthetic of its shape)
// and the ML-1M shape (syntheticMl1m()), d = 32 / 64, every tuple a training tuple. For each model ×
// shape × d it runs recc (bench/peers/recc-run.ts: compiled at the real sizes, recc run's default
// kernels — recc's own wasm; --mode webasm for gpu.js's — the runtime's `train`; node --import tsx) and
// the reference as child processes, interleaved (recc, numpy, recc, numpy, …), so each run's peak RSS is
// its own and a load change hits both. A first, untimed recc run records its initial params and every
// mini-batch (tuples and sampled negatives); each reference run replays them, so both optimize the same
// objective from the same point on the same batches, and their losses per term at every step are
// compared: they must agree to ~5 digits at step 1 (before any update) and closely after (float32
// rounding differs); a disagreement is flagged loudly and the exit code is 1.
// Glue: the share of each recc step's wall time outside the kernels (the executor's per-kernel times).
// Timing: per run, the median CPU (and wall) seconds of steps 2…N (step 1 compiles kernels), times
// steps per epoch (1 full batch, ⌈tuples/4096⌉ mini-batch); the table shows the median over reps and
// the ratios recc/numpy. The reference is skipped, with the reason, when python3/numpy/scipy are
// missing. Numbers mean something only on a machine with nothing else running.
// Variants: `--threads 1,2` (wasm) times recc once per thread count in each rep, and `--against DIR`
// (another checkout of recc, e.g. `git archive` of the commit before a change, with node_modules)
// times that recc too, so a before/after comparison on a busy machine is interleaved in one run; a
// row per variant, each with its own ratios to the same numpy runs and its own loss check.
//   npx tsx bench/peers/peers.ts [--models mf-gramian,enmf,bpr,mf-biased] [--shapes ml100k,ml1m]
//       [--dims 32,64] [--reps 3] [--steps N] [--mode js|webasm|cpu|wasm] [--threads N[,M…]] [--against DIR]
//       [--python PY] [--json FILE] [--keep]
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileSource } from '../../compiler/compile.ts';
import { repoRoot } from '../../runtime/data/data-paths.ts';
import { f32, i32, writeNpy } from '../../runtime/output/npy.ts';
import { ml100kShape, ml1mShape, option, referencePython, type Shape } from '../common.ts';
import { DEFAULT_MODE } from '../../cli/commands/run.ts';
import type { ReccRun } from './recc-run.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const MODELS = option('models', 'mf-gramian,enmf,bpr,mf-biased').split(',');
const SHAPES = option('shapes', 'ml100k,ml1m').split(',');
const DIMS = option('dims', '32,64').split(',').map(Number);
const REPS = Math.max(1, Number(option('reps', '3')));
/** steps per run: --steps, else 6 for a full-batch model (one step is an epoch) and 64 for a mini-batch
 * one: a mini-batch step is a few ms, and its first ~10 run before V8 has optimized the step's glue
 * (7–14 ms each, with TurboFan compiling on background threads: CPU > wall), so a median over steps
 * 2…16 measured warm-up, not the ~240 steps of an ML-1M epoch (2026-12-03: mf-biased ML-1M d=64, steps
 * 2…16 median 7.6 ms CPU, steps 12…40 2.6 ms) */
const STEPS_OPT = option('steps', '');
function stepsFor(model: string): number {
  if (STEPS_OPT) return Math.max(2, Number(STEPS_OPT));
  const file = join(repoRoot(), 'examples', `${model}.recmodel`);
  const c = compileSource(file, readFileSync(file, 'utf8')).compiled;
  return c?.model.train.batch.kind === 'full' ? 6 : 64;
}
const MODE = option('mode', DEFAULT_MODE);
/** --mode wasm: threads the kernels run on (1: the one-core comparison), one variant each */
const THREADS = option('threads', '1').split(',');
/** another checkout of recc to time beside this one (its bench/peers/recc-run.ts) */
const AGAINST = option('against', '');

/** One way of running recc: a checkout and a thread count. */
interface Variant {
  readonly label: string;
  readonly runner: string;
  readonly threads: string;
}
const VARIANTS: readonly Variant[] = (AGAINST ? [AGAINST, ''] : ['']).flatMap((root) =>
  (MODE === 'wasm' ? THREADS : ['1']).map((threads) => ({
    label: `${MODE === 'wasm' ? `${threads}t` : ''}${root ? ' before' : ''}`.trim(),
    runner: root ? join(root, 'bench', 'peers', 'recc-run.ts') : join(HERE, 'recc-run.ts'),
    threads,
  })),
);
const PYTHON = referencePython();
const JSON_OUT = option('json', '');
const KEEP = process.argv.includes('--keep');
/** the bench's mini-batch: mf-biased's own; BPR's example trains with 1024, the issue's table with 4096 */
const BATCH: Readonly<Record<string, number>> = { bpr: 4096 };
/** relative loss difference allowed before any update (float32 sums in a different order) … */
const TOL_FIRST = 1e-5;
/** … and after a few Adam steps (float32 rounding of the updates differs) */
const TOL_LATER = 1e-3;

interface Run {
  readonly steps: readonly { readonly step: number; readonly terms: Record<string, number>; readonly total: number; readonly cpu: number; readonly wall: number }[];
  readonly stepsPerEpoch: number;
  readonly maxRssKb: number;
}

interface Cell {
  readonly model: string;
  /** the variant's label ('' when there is one variant) */
  readonly variant: string;
  readonly shape: string;
  readonly dim: number;
  readonly recc: ReccRun[];
  readonly numpy: Run[];
  readonly errors: string[];
  /** worst relative loss difference at step 1 and over all steps (undefined: nothing compared) */
  agreement?: { first: number; all: number; ok: boolean };
}

function median(xs: readonly number[]): number {
  const s = [...xs].filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  return s.length ? (s[(s.length - 1) >> 1]! + s[s.length >> 1]!) / 2 : NaN;
}

/** Seconds per epoch of one run: the median of steps 2…N (step 1 compiles kernels) × steps per epoch. */
function perEpoch(r: Run, key: 'cpu' | 'wall'): number {
  return median(r.steps.slice(1).map((s) => s[key])) * r.stepsPerEpoch;
}

/** Why the reference cannot run here, or undefined when python3 with numpy and scipy answers. */
function pythonProblem(): string | undefined {
  const r = spawnSync(PYTHON, ['-c', 'import numpy, scipy, sys; print(sys.version.split()[0], numpy.__version__, scipy.__version__)'], { encoding: 'utf8' });
  if (r.error) return `${PYTHON} not found (${r.error.message})`;
  if (r.status !== 0) return `${PYTHON} cannot import numpy and scipy: ${r.stderr.trim().split('\n').pop()} (Debian: apt-get install python3-numpy python3-scipy)`;
  const [py, np, sc] = r.stdout.trim().split(' ');
  console.log(`reference: python ${py}, numpy ${np}, scipy ${sc}, 1 BLAS thread`);
  return undefined;
}

/** A shape's tuples as .npy files (the format both children read) and shape.json. */
function writeShape(dir: string, s: Shape): void {
  mkdirSync(dir, { recursive: true });
  const n = s.users.length;
  for (const t of s.times) if (!Number.isInteger(t) || Math.abs(t) > 2 ** 31 - 1) throw new RangeError(`${s.label}: time ${t} does not fit int32`);
  writeNpy(join(dir, 'users.npy'), i32([n], s.users));
  writeNpy(join(dir, 'items.npy'), i32([n], s.items));
  writeNpy(join(dir, 'ratings.npy'), f32([n], s.ratings));
  writeNpy(join(dir, 'times.npy'), i32([n], s.times));
  writeFileSync(join(dir, 'shape.json'), JSON.stringify({ label: s.label, source: s.source, nUsers: s.nUsers, nItems: s.nItems }));
}

function shapeOf(name: string): Shape {
  if (name === 'ml1m') return ml1mShape();
  if (name !== 'ml100k') throw new Error(`unknown shape ${name} (ml100k, ml1m)`);
  const file = join(repoRoot(), 'examples', `${MODELS[0]}.recmodel`);
  const c = compileSource(file, readFileSync(file, 'utf8')).compiled;
  const ratings = c?.model.relations.find((r) => r.name === 'ratings');
  if (!ratings) throw new Error(`${file}: no \`ratings\` relation to read u.data with`);
  return ml100kShape(ratings);
}

/** Runs a child that prints one JSON line; its parsed output, or the reason it gave none. */
function child(cmd: string, args: readonly string[], env: NodeJS.ProcessEnv): { out?: unknown; error?: string } {
  const r = spawnSync(cmd, args, { cwd: repoRoot(), encoding: 'utf8', env, maxBuffer: 64 << 20 });
  const last = r.stdout?.trim().split('\n').pop() ?? '';
  if (r.status === 0 && last.startsWith('{')) return { out: JSON.parse(last) };
  const why = (r.error?.message ?? r.stderr ?? '').trim().split('\n').slice(-6).join('\n    ');
  return { error: `${cmd} ${args.join(' ')} exited ${r.status ?? r.signal}:\n    ${why}` };
}

function runRecc(v: Variant, model: string, dataDir: string, dim: number, steps: number, record?: string): { out?: ReccRun; error?: string } {
  // node as bin/recc.js starts it (V8's helper pool at one thread): what `recc run` users get
  const args = ['--v8-pool-size=1', '--import', 'tsx', v.runner, '--model', model, '--data', dataDir, '--dim', String(dim), '--steps', String(steps), '--mode', MODE];
  if (BATCH[model]) args.push('--batch', String(BATCH[model]));
  if (MODE === 'wasm') args.push('--threads', v.threads);
  if (record) args.push('--record', record);
  return child(process.execPath, args, process.env) as { out?: ReccRun; error?: string };
}

function runNumpy(model: string, dataDir: string, dim: number, steps: number, replay: string): { out?: Run; error?: string } {
  const args = [join(HERE, 'reference.py'), '--model', model, '--data', dataDir, '--dim', String(dim), '--steps', String(steps), '--replay', replay];
  // one BLAS thread; and glibc keeps freed blocks (up to 16 MB) for reuse instead of mmapping each
  // temporary of ≥ 128 KB afresh and trimming the heap after it (a 4096 × 32 float32 array is 512 KB):
  // the page faults otherwise cost the peer 30% of a mini-batch step and 3× an ML-100K mf-gramian
  // epoch here. Both knobs together: setting the mmap threshold alone freezes the trim threshold at
  // 128 KB, which is worse than the default (measured: 14 ms default, 77 ms mmap only, 5 ms both).
  const env = {
    ...process.env, OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1', MKL_NUM_THREADS: '1',
    MALLOC_MMAP_THRESHOLD_: String(16 << 20), MALLOC_TRIM_THRESHOLD_: String(256 << 20),
  };
  return child(PYTHON, args, env) as { out?: Run; error?: string };
}

function relDiff(a: number, b: number): number {
  if (a === b) return 0;
  return Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b), 1e-30);
}

/** Prints recc's and numpy's losses per term at every step with their relative difference. */
function compareLosses(cell: Cell): void {
  const a = cell.recc[0], b = cell.numpy[0];
  if (!a || !b) return;
  let first = 0, all = 0, ok = true;
  const terms = Object.keys(a.steps[0]?.terms ?? {});
  console.log(`  losses (recc${cell.variant ? ` ${cell.variant}` : ''} | numpy | relative difference), per step before its update:`);
  console.log(`    step  ${terms.map((t) => `${t.padEnd(8)} ${'recc'.padStart(15)} ${'numpy'.padStart(15)} ${'rel'.padStart(8)}`).join('   ')}`);
  for (let k = 0; k < Math.max(a.steps.length, b.steps.length); k++) {
    const sa = a.steps[k], sb = b.steps[k];
    const parts = terms.map((t) => {
      const x = sa?.terms[t] ?? NaN, y = sb?.terms[t] ?? NaN;
      const d = Number.isFinite(x) && Number.isFinite(y) ? relDiff(x, y) : Infinity;
      const tol = k === 0 ? TOL_FIRST : TOL_LATER;
      if (k === 0) first = Math.max(first, d);
      all = Math.max(all, d);
      const bad = !(d <= tol);
      ok &&= !bad;
      return `${t.padEnd(8)} ${x.toPrecision(9).padStart(15)} ${y.toPrecision(9).padStart(15)} ${d.toExponential(1).padStart(8)}${bad ? ' <-- DISAGREE' : ''}`;
    });
    console.log(`    ${String(k + 1).padStart(4)}  ${parts.join('   ')}`);
  }
  // every rep trains from the same seed: recc's losses must repeat exactly, numpy's too
  const same = (runs: readonly Run[]) => runs.every((r) => JSON.stringify(r.steps.map((s) => s.terms)) === JSON.stringify(runs[0]!.steps.map((s) => s.terms)));
  if (!same(cell.recc)) console.log('    note: recc runs of this config did not repeat their losses exactly');
  if (!same(cell.numpy)) console.log('    note: numpy runs of this config did not repeat their losses exactly');
  cell.agreement = { first, all, ok };
  if (!ok) {
    console.log(`  !!!!!!!! LOSSES DISAGREE: ${cell.model} ${cell.shape} d=${cell.dim}${cell.variant ? ` ${cell.variant}` : ''}: step 1 within ${first.toExponential(1)} (need ≤ ${TOL_FIRST}), all steps within ${all.toExponential(1)} (need ≤ ${TOL_LATER}) !!!!!!!!`);
  }
}

function fmt(x: number, digits = 3): string {
  return Number.isFinite(x) ? x.toFixed(digits) : '—';
}

function ratio(a: number, b: number): string {
  return Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${(a / b).toFixed(1)}×` : '—';
}

/** The share of a recc run's step wall time spent outside kernels: median over steps 2…N. */
function glueShare(r: ReccRun): number {
  return median(r.steps.slice(1).map((s) => (s.wall > 0 ? 1 - s.kernel / s.wall : NaN)));
}

function summary(cells: readonly Cell[]): void {
  console.log(`\nseconds per epoch (median over runs of each run's median step 2…N × steps/epoch), peak RSS (median over runs); ratios recc/numpy`);
  console.log('glue: the share of recc\'s step wall time outside kernels (batches, env, optimizer, host sums; median of steps 2…N)');
  const w = Math.max(0, ...cells.map((c) => c.variant.length));
  console.log('model       shape     d ' + (w ? `${'recc'.padEnd(w)} ` : '') + ' steps/ep │ CPU s/ep: recc   numpy  ratio │ wall s/ep: recc   numpy  ratio │  glue │ RSS MB: recc  numpy  ratio │ losses: step 1 / all');
  for (const c of cells) {
    const spe = c.recc[0]?.stepsPerEpoch ?? c.numpy[0]?.stepsPerEpoch ?? NaN;
    const rc = median(c.recc.map((r) => perEpoch(r, 'cpu'))), nc = median(c.numpy.map((r) => perEpoch(r, 'cpu')));
    const rw = median(c.recc.map((r) => perEpoch(r, 'wall'))), nw = median(c.numpy.map((r) => perEpoch(r, 'wall')));
    const rm = median(c.recc.map((r) => r.maxRssKb / 1024)), nm = median(c.numpy.map((r) => r.maxRssKb / 1024));
    const glue = median(c.recc.map((r) => glueShare(r)));
    const ag = c.agreement ? `${c.agreement.first.toExponential(1)} / ${c.agreement.all.toExponential(1)}${c.agreement.ok ? '' : '  DISAGREE'}` : '—';
    console.log(
      `${c.model.padEnd(11)} ${c.shape.padEnd(8)} ${String(c.dim).padStart(3)} ${w ? `${c.variant.padEnd(w)} ` : ''}${String(spe).padStart(8)} │ ${fmt(rc).padStart(14)} ${fmt(nc).padStart(7)} ${ratio(rc, nc).padStart(6)} │ ${fmt(rw).padStart(15)} ${fmt(nw).padStart(7)} ${ratio(rw, nw).padStart(6)} │ ${Number.isFinite(glue) ? `${(100 * glue).toFixed(0)}%`.padStart(5) : '    —'} │ ${fmt(rm, 0).padStart(12)} ${fmt(nm, 0).padStart(6)} ${ratio(rm, nm).padStart(6)} │ ${ag}${c.errors.length ? `  (${c.errors.length} failed runs)` : ''}`,
    );
  }
}

function main(): void {
  console.log(`bench/peers: recc (gpu.js ${MODE}) vs numpy+scipy; ${REPS} interleaved runs of ${STEPS_OPT || '6 (full batch) or 64 (mini-batch)'} steps per config; node ${process.version}, ${cpus().length} CPUs`);
  console.log(`load average at start: ${loadavg().map((x) => x.toFixed(2)).join(' ')} (timings mean something only when nothing else runs)`);
  const noPython = pythonProblem();
  if (noPython) console.log(`reference SKIPPED: ${noPython}; recc is timed alone, no ratios, no loss check`);
  const tmp = mkdtempSync(join(tmpdir(), 'recc-peers-'));
  const cells: Cell[] = [];
  try {
    for (const shapeName of SHAPES) {
      const s = shapeOf(shapeName);
      const dataDir = join(tmp, shapeName);
      writeShape(dataDir, s);
      console.log(`\n${s.label}: ${s.nUsers} users × ${s.nItems} items, ${s.users.length} ratings (${s.source})`);
      for (const model of MODELS) {
        const steps = stepsFor(model);
        for (const dim of DIMS) {
          // a cell per variant; they share the numpy runs
          const numpy: Run[] = [];
          const byVariant = VARIANTS.map((v) => ({ v, cell: { model, variant: VARIANTS.length > 1 ? v.label : '', shape: s.label, dim, recc: [], numpy, errors: [] } as Cell }));
          cells.push(...byVariant.map((x) => x.cell));
          const replay = join(tmp, `${shapeName}-${model}-d${dim}`);
          console.log(`\n${model} ${s.label} d=${dim}`);
          // an untimed run (of this checkout) records the replay (its copying of every batch would count as recc's step time)
          const recorded = runRecc(VARIANTS[VARIANTS.length - 1]!, model, dataDir, dim, steps, replay);
          if (!recorded.out) byVariant[0]!.cell.errors.push(`recc (recording the replay): ${recorded.error}`);
          const line = (r: Run | undefined) => (r ? `${fmt(perEpoch(r, 'cpu'))} s CPU, ${fmt(perEpoch(r, 'wall'))} s wall / epoch, ${(r.maxRssKb / 1024).toFixed(0)} MB` : 'failed');
          for (let rep = 0; rep < REPS; rep++) {
            const parts: string[] = [];
            for (const { v, cell } of byVariant) {
              const a = runRecc(v, model, dataDir, dim, steps);
              if (a.out) cell.recc.push(a.out);
              else cell.errors.push(`recc: ${a.error}`);
              if (a.out?.fallbacks) console.log(`  warning: ${a.out.fallbacks} kernels fell back from ${MODE}`);
              if (a.out?.diverged) console.log(`  warning: recc diverged (${a.out.diverged})`);
              parts.push(`recc${cell.variant ? ` ${cell.variant}` : ''} ${line(a.out)}`);
            }
            // the reference replays the recording run: without it there is nothing to replay
            if (!noPython && recorded.out) {
              const b = runNumpy(model, dataDir, dim, steps, replay);
              if (b.out) numpy.push(b.out);
              else byVariant[0]!.cell.errors.push(`numpy: ${b.error}`);
              parts.push(`numpy ${line(b.out)}`);
            }
            console.log(`  run ${rep + 1}: ${parts.join(' │ ')}`);
          }
          for (const { cell } of byVariant) {
            for (const e of cell.errors) console.log(`  FAILED ${e}`);
            compareLosses(cell);
          }
        }
      }
    }
  } finally {
    if (KEEP) console.log(`\nkept ${tmp}`);
    else rmSync(tmp, { recursive: true, force: true });
  }
  summary(cells);
  console.log(`load average at end: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  if (JSON_OUT) writeFileSync(JSON_OUT, `${JSON.stringify({ reps: REPS, mode: MODE, cells }, null, 1)}\n`);
  const bad = cells.filter((c) => (c.agreement && !c.agreement.ok) || c.errors.length);
  if (bad.length) {
    console.log(`\n!!!!!!!! ${bad.length} configs disagree or failed: ${bad.map((c) => `${c.model} ${c.shape} d=${c.dim}${c.variant ? ` ${c.variant}` : ''}`).join(', ')} !!!!!!!!`);
    process.exitCode = 1;
  }
}

main();

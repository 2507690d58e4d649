// bench/e2e: issue 10's end-to-end acceptance row. `recc run examples/mf-biased.recmodel` on ML-100K
// u1.base → u1.test (the run's --data/--test) against bench/e2e/mf_biased_numpy.py, the same model
// written by hand in numpy+scipy (same steps, batch 4096, Adam, per-epoch test RMSE/MAE, params
// written as .npy; one BLAS thread). Both are whole processes started from the shell as a user
// would (recc as the executable bin/recc.js, not `node bin/recc.js`), interleaved (recc, numpy, recc,
// numpy, …) so a load change hits both; each one's wall time and peak RSS come from /usr/bin/time -v
// (else from polling /proc/PID/status VmHWM). Prints every run, the medians and the ratios
// recc/numpy (the acceptance: both ≤ 1.5). dist/ is built first (scripts/build-dist.mjs, as `npm
// install` does), so recc starts as an installed copy does.
// Numbers mean something only on a machine with nothing else running.
//   npx tsx bench/e2e.ts [--reps 3] [--python PY] [--data DIR] [--mode js] [--no-build] [--json FILE]
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ml100kDir, repoRoot } from '../runtime/data/data-paths.ts';
import { median, option, referencePython } from './common.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPS = Math.max(1, Number(option('reps', '3')));
const PYTHON = referencePython();
const MODE = option('mode', '');
const JSON_OUT = option('json', '');
const TIME = '/usr/bin/time';

interface Measured {
  readonly wall: number;
  readonly rssMb: number;
  readonly rmse: number;
}

/** Runs argv; wall seconds and peak RSS (MB) from GNU time -v when installed, else from /proc. */
async function measure(argv: readonly string[]): Promise<{ wall: number; rssMb: number }> {
  if (existsSync(TIME)) {
    const r = spawnSync(TIME, ['-v', ...argv], { encoding: 'utf8', cwd: repoRoot(), maxBuffer: 64 << 20 });
    if (r.status !== 0) throw new Error(`${argv.join(' ')} failed (${r.status}):\n${r.stderr.slice(-3000)}`);
    const wall = /Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)/.exec(r.stderr);
    const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr);
    if (!wall || !rss) throw new Error(`no time -v report from ${argv.join(' ')}`);
    return { wall: Number(wall[1] ?? 0) * 3600 + Number(wall[2]) * 60 + Number(wall[3]), rssMb: Number(rss[1]) / 1024 };
  }
  // no GNU time: poll the child's high-water mark (the kernel keeps it; read every 10 ms until exit)
  const t0 = performance.now();
  const child = spawn(argv[0]!, argv.slice(1), { cwd: repoRoot(), stdio: ['ignore', 'ignore', 'pipe'] });
  let hwm = 0;
  let err = '';
  child.stderr.on('data', (b: Buffer) => (err = (err + b.toString()).slice(-3000)));
  const poll = setInterval(() => {
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
      if (m) hwm = Math.max(hwm, Number(m[1]));
    } catch {
      // exited between polls
    }
  }, 10);
  const code = await new Promise<number | null>((res) => child.on('exit', res));
  clearInterval(poll);
  if (code !== 0) throw new Error(`${argv.join(' ')} failed (${code}):\n${err}`);
  return { wall: (performance.now() - t0) / 1000, rssMb: hwm / 1024 };
}

function finalRmse(file: string): number {
  const m = JSON.parse(readFileSync(file, 'utf8')) as { final: { rmse: number } };
  return m.final.rmse;
}

async function main(): Promise<void> {
  const dir = option('data', ml100kDir() ?? '');
  if (!dir || !existsSync(join(dir, 'u1.base'))) {
    console.log('bench/e2e: skipped — ML-100K (u1.base/u1.test) not found; pass --data DIR or put it in ../shared/data/ml-100k');
    return;
  }
  const np = spawnSync(PYTHON, ['-c', 'import numpy, scipy'], { encoding: 'utf8' });
  if (np.status !== 0) {
    console.log(`bench/e2e: skipped — ${PYTHON} has no numpy/scipy (${(np.stderr || np.error?.message || '').trim().split('\n').at(-1)})`);
    return;
  }
  if (!process.argv.includes('--no-build')) {
    const b = spawnSync(process.execPath, [join(repoRoot(), 'scripts', 'build-dist.mjs')], { encoding: 'utf8' });
    console.log((b.stdout + b.stderr).trim());
  }
  const train = join(dir, 'u1.base');
  const test = join(dir, 'u1.test');
  const tmp = mkdtempSync(join(tmpdir(), 'recc-e2e-'));
  // bin/recc.js run as a program, as npm's bin link runs it (its shell line starts node with its flags)
  const reccArgv = (out: string) => [join(repoRoot(), 'bin', 'recc.js'), 'run', join(repoRoot(), 'examples', 'mf-biased.recmodel'), '--data', train, '--test', test, '-o', out, '--force', '-q', ...(MODE ? ['--mode', MODE] : [])];
  const numpyArgv = (out: string) => [PYTHON, join(HERE, 'e2e', 'mf_biased_numpy.py'), train, test, out];
  const recc: Measured[] = [];
  const numpy: Measured[] = [];
  console.log(`bench/e2e: examples/mf-biased.recmodel on ${train} → ${test}, ${REPS} reps interleaved; load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  try {
    for (let k = 0; k < REPS; k++) {
      const ro = join(tmp, `recc-${k}`);
      const r = await measure(reccArgv(ro));
      recc.push({ ...r, rmse: finalRmse(join(ro, 'metrics.json')) });
      console.log(`  recc  #${k + 1}: ${r.wall.toFixed(2)} s  ${r.rssMb.toFixed(1)} MB  rmse ${recc.at(-1)!.rmse.toFixed(4)}`);
      const no = join(tmp, `numpy-${k}`);
      const n = await measure(numpyArgv(no));
      numpy.push({ ...n, rmse: finalRmse(join(no, 'metrics.json')) });
      console.log(`  numpy #${k + 1}: ${n.wall.toFixed(2)} s  ${n.rssMb.toFixed(1)} MB  rmse ${numpy.at(-1)!.rmse.toFixed(4)}`);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  const row = (xs: Measured[]) => ({ wall: median(xs.map((x) => x.wall)), rssMb: median(xs.map((x) => x.rssMb)), rmse: median(xs.map((x) => x.rmse)) });
  const a = row(recc);
  const b = row(numpy);
  const ratio = { wall: a.wall / b.wall, rss: a.rssMb / b.rssMb };
  console.log('');
  console.log('|              | wall s (median) | peak RSS MB (median) | test RMSE |');
  console.log('|---|---|---|---|');
  console.log(`| recc run     | ${a.wall.toFixed(2)} | ${a.rssMb.toFixed(1)} | ${a.rmse.toFixed(4)} |`);
  console.log(`| numpy script | ${b.wall.toFixed(2)} | ${b.rssMb.toFixed(1)} | ${b.rmse.toFixed(4)} |`);
  console.log(`| recc / numpy | ${ratio.wall.toFixed(2)}× ${ratio.wall <= 1.5 ? '(≤ 1.5 ✓)' : '(> 1.5 ✗)'} | ${ratio.rss.toFixed(2)}× ${ratio.rss <= 1.5 ? '(≤ 1.5 ✓)' : '(> 1.5 ✗)'} | |`);
  console.log(`load average after: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  if (JSON_OUT) writeFileSync(JSON_OUT, JSON.stringify({ recc, numpy, median: { recc: a, numpy: b }, ratio }, null, 2));
}

await main();

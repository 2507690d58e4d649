// bench/cli-start: how fast an installed recc starts. Packs this checkout (`npm pack`, which builds
// dist/ on prepack), installs the tarball globally into an empty prefix (`npm i -g --prefix`; the
// dependencies come from the registry), checks the tarball holds no test/ files, then runs
// `PREFIX/bin/recc --help` once to warm the file cache and `--runs` more times. Target: a median
// under 0.5 s. Also runs `recc run` of a bundled example for 3 steps from the install, to see the
// installed package trains. Exits 1 when the median misses the target or a check fails.
//   npx tsx bench/cli-start.ts [--runs 5]
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../runtime/data/data-paths.ts';

const runs = Number(process.argv[process.argv.indexOf('--runs') + 1] ?? 5) || 5;
const root = repoRoot();
const work = mkdtempSync(join(tmpdir(), 'recc-cli-start-'));
// prepack's build, run first so that its output does not mix with npm pack's JSON
execFileSync('node', [join(root, 'scripts', 'build-dist.mjs')], { cwd: root, stdio: 'inherit' });
const packed = JSON.parse(execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] })) as { filename: string; files: { path: string }[] }[];
const tests = packed[0]!.files.filter((f) => /^(test|\.ci|bench)\//.test(f.path));
console.log(`tarball ${packed[0]!.filename}: ${packed[0]!.files.length} files, ${tests.length} under test/, .ci/ or bench/`);
const prefix = join(work, 'prefix');
execFileSync('npm', ['i', '-g', '--prefix', prefix, '--no-audit', '--no-fund', join(work, packed[0]!.filename)], { stdio: 'inherit' });
const recc = join(prefix, 'bin', 'recc');
const time = (): number => {
  const t0 = performance.now();
  const r = spawnSync(recc, ['--help'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`recc --help exited ${r.status}: ${r.stderr}`);
  return (performance.now() - t0) / 1000;
};
time();
const times = Array.from({ length: runs }, time).sort((a, b) => a - b);
const median = times[Math.floor(times.length / 2)]!;
console.log(`recc --help from the install: median ${median.toFixed(3)} s of ${runs} (${times.map((t) => t.toFixed(3)).join(', ')}); target 0.5 s`);
const example = join(prefix, 'lib', 'node_modules', 'recc', 'examples', 'mf-gramian.recmodel');
const run = spawnSync(recc, ['run', example, '--steps', '3', '--mode', 'cpu', '--quiet', '--out', join(work, 'run')], { encoding: 'utf8' });
console.log(`recc run of the installed example: exit ${run.status}${run.status === 0 ? '' : `: ${run.stderr}`}; run folder ${readdirSync(join(work, 'run')).join(' ')}`);
process.exitCode = median < 0.5 && tests.length === 0 && run.status === 0 ? 0 : 1;

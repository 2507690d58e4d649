// bench/cli-start: how fast an installed recc starts, and what installing it brings. Packs this
// checkout (`npm pack`: prepack builds dist/ and writes npm-shrinkwrap.json), checks the tarball
// (no test/, .ci/ or bench/ files; the built CLI, the shrinkwrap, std/, examples and the schemas in
// it), installs it globally into an empty prefix (`npm i -g --prefix`; with --offline from npm's
// cache only), lists what the install brought (packages, sizes, and that no `webgpu` binary came: the
// 85 MB 0.2.9 that gpu.js pins is replaced by the empty package bundled with gpu.js), then times
// `PREFIX/bin/recc --help`: one run to warm the file cache, then --runs more; median against the
// 0.5 s target, printed beside `node -e 0`'s median (the floor; on a loaded machine both grow). Last,
// `recc check` and a 3-step `recc run` of a bundled example from the install.
// Exits 1 when the median misses the target or a check fails.
//   npx tsx bench/cli-start.ts [--runs 5] [--offline] [--keep]
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../runtime/data/data-paths.ts';

const argv = process.argv.slice(2);
const runs = Number(argv[argv.indexOf('--runs') + 1] ?? 5) || 5;
const offline = argv.includes('--offline');
const root = repoRoot();
const work = mkdtempSync(join(tmpdir(), 'recc-cli-start-'));
const failures: string[] = [];
const check = (ok: boolean, what: string): void => {
  if (!ok) failures.push(what);
};

// npm pack runs prepack (build-dist, shrinkwrap) and postpack; their lines go to stderr or before the JSON
const packOut = execFileSync('npm', ['pack', '--json', '--pack-destination', work], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
const packed = JSON.parse(packOut.slice(packOut.search(/^\[/m))) as { filename: string; size: number; unpackedSize: number; files: { path: string }[] }[];
const { filename, files, size, unpackedSize } = packed[0]!;
const paths = files.map((f) => f.path);
const unwanted = paths.filter((p) => /^(test|\.ci|bench)\//.test(p));
console.log(`tarball ${filename}: ${files.length} files, ${(size / 2 ** 20).toFixed(1)} MiB (${(unpackedSize / 2 ** 20).toFixed(1)} MiB unpacked), ${unwanted.length} under test/, .ci/ or bench/`);
check(unwanted.length === 0, `the tarball holds ${unwanted.slice(0, 3).join(', ')}`);
for (const want of ['dist/start.js', 'dist/main.js', 'dist/api.js', 'dist/manifest.json', 'npm-shrinkwrap.json', 'bin/recc.js', 'std/', 'examples/', 'runtime/output/schemas/', 'docs/', 'README.md']) {
  check(paths.some((p) => p === want || p.startsWith(want)), `the tarball lacks ${want}`);
}
check(!existsSync(join(root, 'npm-shrinkwrap.json')), 'postpack left npm-shrinkwrap.json in the checkout');

const prefix = join(work, 'prefix');
const t0 = performance.now();
execFileSync('npm', ['i', '-g', '--prefix', prefix, '--no-audit', '--no-fund', ...(offline ? ['--offline'] : ['--prefer-offline']), join(work, filename)], { stdio: 'inherit' });
const installSeconds = (performance.now() - t0) / 1000;
const pkgDir = join(prefix, 'lib', 'node_modules', 'recc');

/** Every package folder under node_modules (scoped and nested ones too), relative to pkgDir. */
function packages(dir: string, rel = ''): string[] {
  const nm = join(dir, 'node_modules');
  if (!existsSync(nm)) return [];
  const out: string[] = [];
  for (const name of readdirSync(nm)) {
    if (name.startsWith('.')) continue;
    const names = name.startsWith('@') ? readdirSync(join(nm, name)).map((n) => `${name}/${n}`) : [name];
    for (const n of names) {
      out.push(`${rel}node_modules/${n}`);
      out.push(...packages(join(nm, n), `${rel}node_modules/${n}/`));
    }
  }
  return out;
}
function du(path: string): number {
  const st = statSync(path, { throwIfNoEntry: false });
  if (!st) return 0;
  if (!st.isDirectory()) return st.size;
  return readdirSync(path).reduce((s, n) => s + du(join(path, n)), 0);
}
const installed = packages(pkgDir);
const topLevel = installed.filter((p) => p.split('node_modules/').length === 2);
const sizes = topLevel.map((p) => [p, du(join(pkgDir, p))] as const).sort((a, b) => b[1] - a[1]);
console.log(`installed in ${installSeconds.toFixed(0)} s: ${installed.length} packages, ${(du(prefix) / 2 ** 20).toFixed(0)} MiB in the prefix; largest: ${sizes
  .slice(0, 6)
  .map(([p, s]) => `${p.replace(/^node_modules\//, '')} ${(s / 2 ** 20).toFixed(1)} MiB`)
  .join(', ')}`);
const nameAt = (p: string): string => {
  const { name, version } = JSON.parse(readFileSync(join(pkgDir, p, 'package.json'), 'utf8')) as { name: string; version: string };
  return `${name}@${version}`;
};
const webgpus = installed.filter((p) => p.endsWith('node_modules/webgpu')).map((p) => `${p} = ${nameAt(p)}`);
console.log(`webgpu in the install: ${webgpus.join('; ') || 'none'}`);
check(webgpus.every((w) => w.endsWith('empty-npm-package@1.0.0')), `the install brought a webgpu binary (${webgpus.join('; ')})`);

const recc = join(prefix, 'bin', 'recc');
const timed = (cmd: string, args: string[]): number => {
  const t = performance.now();
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return (performance.now() - t) / 1000;
};
const median = (cmd: string, args: string[]): { median: number; all: number[] } => {
  timed(cmd, args);
  const all = Array.from({ length: runs }, () => timed(cmd, args)).sort((a, b) => a - b);
  return { median: all[Math.floor(all.length / 2)]!, all };
};
const help = median(recc, ['--help']);
const floor = median(process.execPath, ['-e', '0']);
console.log(`recc --help from the install: median ${help.median.toFixed(3)} s of ${runs} (${help.all.map((t) => t.toFixed(3)).join(', ')}); target 0.5 s; node -e 0: median ${floor.median.toFixed(3)} s`);
check(help.median < 0.5, `recc --help median ${help.median.toFixed(3)} s ≥ 0.5 s`);

const example = join(pkgDir, 'examples', 'mf-gramian.recmodel');
const checked = spawnSync(recc, ['check', example], { encoding: 'utf8' });
console.log(`recc check of the installed example: exit ${checked.status}${checked.status === 0 ? '' : `: ${checked.stderr}`}`);
check(checked.status === 0, 'recc check of the installed example failed');
const run = spawnSync(recc, ['run', example, '--steps', '3', '--mode', 'cpu', '--quiet', '--out', join(work, 'run')], { encoding: 'utf8' });
console.log(`recc run of the installed example: exit ${run.status}${run.status === 0 ? `; run folder ${readdirSync(join(work, 'run')).join(' ')}` : `: ${run.stderr}`}`);
check(run.status === 0 && existsSync(join(work, 'run', 'metrics.json')), 'recc run of the installed example failed');

if (!argv.includes('--keep')) rmSync(work, { recursive: true, force: true });
else console.log(`kept ${work}`);
for (const f of failures) console.log(`FAIL: ${f}`);
process.exitCode = failures.length ? 1 : 0;

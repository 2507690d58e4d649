// bench/gpu/examples: every bundled example trained from the CLI (`recc run examples/X.recmodel --mode M`,
// its own data, split, steps and evaluation unless --steps/--epochs say otherwise) on webgpu and on the
// CPU kernels (js; add wasm with --modes), its final test metrics side by side with the largest
// difference, the seconds each run took and, for a run that did not finish, the error it printed
// (a refusal's reason). Issue 12, acceptance 2. On a software adapter (lavapipe) the seconds measure
// overheads, not a GPU. Writes the Markdown table to stdout and, with --out FILE, to FILE; exits 1 when
// any run did not finish.
//   npx tsx bench/gpu/examples.ts [--modes js,webgpu] [--examples bpr,enmf] [--steps N | --epochs N] [--out FILE]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../../runtime/data/data-paths.ts';
import { option } from '../common.ts';

const modes = option('modes', 'js,webgpu').split(',');
const root = repoRoot();
const all = readdirSync(join(root, 'examples')).filter((f) => f.endsWith('.recmodel')).map((f) => f.replace(/\.recmodel$/, '')).sort();
const examples = option('examples', all.join(',')).split(',');
const steps = option('steps', '');
const epochs = option('epochs', '');
const outFile = option('out', '');
const dir = mkdtempSync(join(tmpdir(), 'recc-bench-examples-'));

interface Outcome {
  readonly ok: boolean;
  readonly seconds: number;
  readonly steps?: number;
  readonly metrics: Record<string, number>;
  readonly backend?: string;
  /** the error lines of a run that failed */
  readonly error?: string;
}

function runOne(example: string, mode: string): Outcome {
  const out = join(dir, `${example}-${mode}`);
  const argv = ['bin/recc.js', 'run', `examples/${example}.recmodel`, '--mode', mode, '--out', out, '--force', '--quiet'];
  if (steps) argv.push('--steps', steps);
  else if (epochs) argv.push('--epochs', epochs);
  const t0 = performance.now();
  const r = spawnSync(process.execPath, argv, { cwd: root, encoding: 'utf8', timeout: 1_800_000 });
  const seconds = (performance.now() - t0) / 1000;
  if (r.status !== 0) {
    const lines = `${r.stderr ?? ''}`.split('\n').filter((l) => /error|refus|RC0\d+/i.test(l));
    return { ok: false, seconds, metrics: {}, error: (lines.length ? lines : [`exit ${r.status ?? r.signal}`]).slice(0, 2).join(' ').slice(0, 300) };
  }
  const m = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8')) as { final: Record<string, number>; steps: number; backend: string };
  return { ok: true, seconds, steps: m.steps, metrics: m.final, backend: m.backend };
}

/** How an example trains, from its source: what part of it the backend runs. */
function how(example: string): string {
  const src = readFileSync(join(root, 'examples', `${example}.recmodel`), 'utf8');
  if (/^neighbours /m.test(src)) return 'ItemCF: table built on the host, scores on the backend';
  if (/optimizer als/.test(src)) return 'ALS: H and g(0) on the backend; row solves on the host in float64 (js, wasm) or on the device in float32 (webgpu)';
  const m = /\bbatch (full|\d+)(?: (\w+))?/.exec(src);
  if (!m || m[1] === 'full') return 'full batch';
  // `batch 256 users` names a domain (plural); `batch 1024 seed 42` is followed by another setting
  const unit = m[2] && /s$/.test(m[2]) && !['steps', 'epochs'].includes(m[2]) ? ` ${m[2]}` : ' tuples';
  return `mini-batch ${m[1]}${unit}`;
}

const fmt = (x: number | undefined): string => (x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(4));
const rows: string[] = [];
const notes: string[] = [];
let backendLine = '';
for (const ex of examples) {
  const got = new Map(modes.map((m) => [m, runOne(ex, m)] as const));
  for (const [m, o] of got) {
    if (m === 'webgpu' && o.backend) backendLine = o.backend;
    process.stderr.write(`${ex} ${m}: ${o.ok ? `${o.seconds.toFixed(1)} s ${JSON.stringify(o.metrics)}` : `failed: ${o.error}`}\n`);
  }
  const names = [...new Set([...got.values()].flatMap((o) => Object.keys(o.metrics)))];
  const base = got.get(modes[0]!)!;
  let maxDiff = 0;
  for (const [m, o] of got) {
    if (m === modes[0] || !o.ok || !base.ok) continue;
    for (const k of names) maxDiff = Math.max(maxDiff, Math.abs((o.metrics[k] ?? NaN) - (base.metrics[k] ?? NaN)) || 0);
  }
  const cells = modes.map((m) => {
    const o = got.get(m)!;
    return o.ok ? names.map((k) => fmt(o.metrics[k])).join(' / ') : 'refused (see below)';
  });
  const allOk = [...got.values()].every((o) => o.ok);
  rows.push(`| ${ex} | ${how(ex)} | ${base.steps ?? '—'} | ${names.join(' / ') || '—'} | ${cells.join(' | ')} | ${allOk ? maxDiff.toExponential(1) : '—'} | ${modes.map((m) => got.get(m)!.seconds.toFixed(1)).join(' / ')} |`);
  for (const [m, o] of got) if (!o.ok) notes.push(`- ${ex} on ${m}: ${o.error}`);
}

const cmd = `npx tsx bench/gpu/examples.ts${process.argv.slice(2).length ? ` ${process.argv.slice(2).join(' ')}` : ''}`;
const text = [
  `Measured ${new Date().toISOString().slice(0, 10)} with \`${cmd}\` (node ${process.version}); each example's own data, split, optimizer, length and evaluation${steps ? `, --steps ${steps}` : epochs ? `, --epochs ${epochs}` : ''}.`,
  backendLine ? `webgpu: ${backendLine}${/software/.test(backendLine) ? ' — a software adapter: the seconds measure overheads, not a GPU' : ''}.` : '',
  '',
  `| example | training | steps | metrics | ${modes.join(' | ')} | max \\|Δ\\| vs ${modes[0]} | seconds (${modes.join(' / ')}) |`,
  `|---|---|---:|---|${modes.map(() => '---').join('|')}|---:|---:|`,
  ...rows,
  '',
  ...(notes.length ? ['Runs that did not finish:', ...notes, ''] : []),
].join('\n');
console.log(text);
if (outFile) writeFileSync(outFile, text);
// a run that did not finish is a failure of the bench (the table still lists it with its reason)
if (notes.length) process.exitCode = 1;

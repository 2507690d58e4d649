// bench/scale: issue 10's real sizes. Trains examples at shapes past gpu.js's 2^24-cell limit on the
// default mode (recc's js kernels, integer indexing): ML-20M's catalogue (138,493 users × 26,744 items)
// at d = 128 with synthetic ratings (ML-20M's 20,000,263 by default), and 1,000,000 users × 20,000 items
// at d = 64 (10,000,000 ratings). Each shape trains mf-gramian (full batch: a step is an epoch) and
// mf-biased (batch 4096, row-sparse Adam) for --steps steps (default 3) through the runtime's `train`,
// each config in its own child process (so its peak RSS is its own: process.resourceUsage().maxRSS,
// which counts the data generation too). Prints data-generation seconds, ms per step (first step, which
// builds kernels and CSR indexes, and the median of the rest), the loss, and peak RSS.
// Memory is bounded by the shapes: the largest config (ML-20M catalogue, 20M ratings, d = 128) peaks at
// a few GB; --ratings N lowers the tuple count of every shape.
//   npx tsx bench/scale.ts [--shapes ml20m,1m] [--models mf-gramian,mf-biased] [--steps 3] [--ratings N] [--mode js]
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { compileSource, type Compiled } from '../compiler/compile.ts';
import { batchKey, totalKey } from '../compiler/ir/spaces.ts';
import { repoRoot } from '../runtime/data/data-paths.ts';
import type { Dataset } from '../runtime/data/dataset.ts';
import type { Relation } from '../runtime/data/load.ts';
import { generateRatings, ML1M_SPEC, type SyntheticSpec } from '../runtime/data/synthetic.ts';
import { createBackend, type BackendMode } from '../runtime/backends/backends.ts';
import { train } from '../runtime/train/train.ts';
import { fromSynthetic, identityIds, option, type Shape } from './common.ts';

interface ShapeSpec {
  readonly label: string;
  readonly dim: number;
  readonly spec: SyntheticSpec;
}

const RATINGS = Number(option('ratings', '0'));
/** the spec with --ratings tuples when given (each user keeps at least what that many allow) */
function sized(spec: SyntheticSpec): SyntheticSpec {
  return RATINGS ? { ...spec, nRatings: RATINGS, minPerUser: Math.max(1, Math.min(spec.minPerUser, Math.floor(RATINGS / spec.nUsers))) } : spec;
}
const SHAPES: Readonly<Record<string, ShapeSpec>> = {
  ml20m: {
    label: 'ML-20M catalogue',
    dim: 128,
    spec: sized({ ...ML1M_SPEC, nUsers: 138_493, nItems: 26_744, nRatings: 20_000_263, minPerUser: 20, maxPerUser: 9254, seed: 20_000_263 }),
  },
  '1m': {
    label: '1M users',
    dim: 64,
    spec: sized({ ...ML1M_SPEC, nUsers: 1_000_000, nItems: 20_000, nRatings: 10_000_000, minPerUser: 5, maxPerUser: 500, seed: 1_000_000 }),
  },
};

const shapes = option('shapes', 'ml20m,1m').split(',');
const models = option('models', 'mf-gramian,mf-biased').split(',');
const steps = Math.max(1, Number(option('steps', '3')));
const mode = option('mode', 'js') as BackendMode;

/** One config, in this process: prints one JSON line. */
function runOne(shapeName: string, model: string): void {
  const sh = SHAPES[shapeName];
  if (!sh) throw new Error(`unknown shape ${shapeName} (${Object.keys(SHAPES).join(', ')})`);
  const t0 = performance.now();
  const s = fromSynthetic(sh.label, generateRatings(sh.spec), 'synthetic');
  const genS = (performance.now() - t0) / 1000;
  const file = join(repoRoot(), 'examples', `${model}.recmodel`);
  const text = readFileSync(file, 'utf8');
  const n = s.users.length;
  const compileAt = (batch: number): Compiled => {
    const sizes = new Map([['user', s.nUsers], ['item', s.nItems], ['ratings', batch], [totalKey('ratings'), n], [batchKey('ratings'), batch]]);
    const r = compileSource(file, text, { sizes, sets: new Map([['d', sh.dim]]) });
    if (!r.compiled) throw new Error(`${model} does not compile at ${sh.label}: ${r.diagnostics.map((d) => `${d.code} ${d.message}`).join('; ')}`);
    // training only: the bench measures steps, not metrics
    return { ...r.compiled, model: { ...r.compiled.model, evaluate: { ...r.compiled.model.evaluate, metrics: [], every: undefined } } };
  };
  const b = compileAt(n).model.train.batch;
  const batch = b.kind === 'tuples' && b.size < n ? b.size : n;
  const compiled = compileAt(batch);
  const ds = datasetOf(compiled, s);
  const backend = createBackend(mode, compiled.module.spaces);
  const r = train(compiled, ds, { backend, steps });
  backend.dispose();
  const ms = r.log.map((l) => l.ms);
  const rest = ms.slice(1).sort((x, y) => x - y);
  const median = rest.length ? (rest[(rest.length - 1) >> 1]! + rest[rest.length >> 1]!) / 2 : NaN;
  const cells = compiled.module.params.map((p) => `${p.name}[${p.shape.join(',')}]`).join(' ');
  console.log(
    JSON.stringify({
      shape: sh.label, model, users: s.nUsers, items: s.nItems, ratings: n, d: sh.dim, batch, params: cells,
      genS, firstMs: ms[0], medianMs: median, loss: r.log.at(-1)?.total, diverged: r.diverged?.term ?? null,
      maxRssMb: process.resourceUsage().maxRSS / 1024,
    }),
  );
}

function datasetOf(compiled: Compiled, s: Shape): Dataset {
  const info = compiled.model.relations.find((r) => r.name === 'ratings')!;
  const rel: Relation = {
    name: 'ratings',
    size: s.users.length,
    columns: info.columns,
    ids: new Map([['user', s.users], ['item', s.items]]),
    idDomains: new Map([['user', 'user'], ['item', 'item']]),
    values: new Map([['rating', s.ratings], ['time', s.times]]),
    source: s.source,
  };
  return { ids: identityIds(s), train: new Map([['ratings', rel]]), test: new Map(), primary: 'ratings', protocol: 'all tuples train (bench)' };
}

const one = option('one', '');
if (one) {
  const [shapeName, model] = one.split(':');
  runOne(shapeName!, model!);
} else {
  console.log(`bench/scale: ${steps} training steps per config on --mode ${mode}, each config in its own process; machine ${(totalmem() / 2 ** 30).toFixed(0)} GiB, load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  console.log('| shape | users × items | ratings | d | model | batch | data gen s | first step ms | median step ms | loss | peak RSS MB |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|');
  let failed = false;
  for (const sh of shapes) {
    for (const m of models) {
      const args = ['--import', 'tsx', join(repoRoot(), 'bench', 'scale.ts'), '--one', `${sh}:${m}`, '--steps', String(steps), '--mode', mode, ...(RATINGS ? ['--ratings', String(RATINGS)] : [])];
      const c = spawnSync(process.execPath, args, { encoding: 'utf8', cwd: repoRoot(), maxBuffer: 64 << 20 });
      const line = c.stdout.split('\n').find((l) => l.startsWith('{'));
      if (c.status !== 0 || !line) {
        failed = true;
        console.log(`| ${sh} | | | | ${m} | | FAILED (exit ${c.status}${c.signal ? `, ${c.signal}` : ''}): ${(c.stderr || '').trim().split('\n').slice(-3).join(' / ')} | | | | |`);
        continue;
      }
      const r = JSON.parse(line) as Record<string, number | string | null>;
      const f = (x: unknown, k = 0) => (typeof x === 'number' ? x.toLocaleString('en-US', { maximumFractionDigits: k, minimumFractionDigits: k }) : String(x));
      console.log(
        `| ${r.shape} | ${f(r.users)} × ${f(r.items)} | ${f(r.ratings)} | ${r.d} | ${r.model} | ${f(r.batch)} | ${f(r.genS, 1)} | ${f(r.firstMs)} | ${f(r.medianMs)} | ${r.diverged ? `diverged: ${r.diverged}` : f(r.loss, 4)} | ${f(r.maxRssMb)} |`,
      );
    }
  }
  console.log(`load average after: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  if (failed) process.exitCode = 1;
}

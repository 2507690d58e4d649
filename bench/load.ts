// bench/load: how fast the data loaders read large files — the timings the test suite used to assert
// (a busy machine made them flaky; tests now check only what was read). Two cases, each the median
// of `--runs` runs after generating its input once:
//   1. an ML-1M-shaped ratings.dat (1,000,209 `user::item::rating::time` lines, syntheticMl1m()):
//      loadRelation in movielens format. Target: under 2 s.
//   2. 1M libsvm rows × 10 non-zeros (98 MB; 1000 distinct rows repeated, so every row still goes
//      through the full scan and the feature id lookup): parseLibsvm. Target: under 3 s.
// Each also checks what it read (row counts, id sizes). Exits 1 when a median misses its target.
//   npx tsx bench/load.ts [--runs 3]        (npm run bench:load)
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkSource } from '../compiler/compile.ts';
import type { RelationInfo } from '../compiler/check/model.ts';
import { loadRelation } from '../runtime/data/load.ts';
import { IdMaps } from '../runtime/data/ids.ts';
import { parseLibsvm } from '../runtime/data/sparse.ts';
import { syntheticMl1m } from '../runtime/data/synthetic.ts';
import { option } from './common.ts';

const runs = Math.max(1, Number(option('runs', '3')) || 3);

/** The relations of a small model, as the checker declares them (no test helpers). */
function relations(): Map<string, RelationInfo> {
  const text = [
    'model bench_load',
    'index user, item, feature',
    'data ratings(user: user, item: item, rating: float, time: int) from "ratings.dat" format movielens',
    'data clicks(label: float, x: sparse feature) from "ctr.libsvm" format libsvm',
    'dim d = 2',
    'param U[user, d] ~ normal(0, 0.1)',
    'param V[item, d] ~ normal(0, 0.1)',
    'param w[feature] = 0',
    'loss fit = mean((u, i, r) in ratings: (r - U[u] . V[i])^2)',
    'loss ctr = mean((y, x) in clicks: (y - sum(j in x: w[j] * x[j]))^2)',
    '',
  ].join('\n');
  const r = checkSource('bench-load.recmodel', text);
  if (!r.model) throw new Error(`bench/load: its model does not check: ${r.diagnostics.map((d) => d.message).join('; ')}`);
  return new Map(r.model.relations.map((x) => [x.name, x]));
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function timed(label: string, targetMs: number, run: () => void): boolean {
  const ms: number[] = [];
  for (let k = 0; k < runs; k++) {
    const t0 = performance.now();
    run();
    ms.push(performance.now() - t0);
  }
  const m = median(ms);
  const ok = m < targetMs;
  console.log(`${label}: median ${m.toFixed(0)} ms over ${runs} run(s) (${ms.map((x) => x.toFixed(0)).join(', ')}) · target < ${targetMs} ms · ${ok ? 'ok' : 'MISSED'}`);
  return ok;
}

function expectEq(what: string, got: unknown, want: unknown): void {
  if (JSON.stringify(got) !== JSON.stringify(want)) throw new Error(`bench/load: ${what} is ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`);
}

const rels = relations();

// 1. ML-1M ratings.dat
const d = syntheticMl1m();
const lines = new Array<string>(d.users.length);
for (let t = 0; t < d.users.length; t++) lines[t] = `${d.users[t]! + 1}::${d.items[t]! + 1}::${d.ratings[t]}::${d.times[t]}`;
const path = join(mkdtempSync(join(tmpdir(), 'recc-bench-load-')), 'ratings.dat');
writeFileSync(path, lines.join('\n') + '\n');
const ml1m = timed('loadRelation, ML-1M ratings.dat (1,000,209 lines)', 2000, () => {
  const ids = new IdMaps();
  const r = loadRelation(rels.get('ratings')!, path, ids);
  expectEq('the ML-1M relation size', r.size, 1_000_209);
  expectEq('the ML-1M id sizes', ids.sizes(), { user: 6040, item: 3706 });
});

// 2. libsvm, 1M rows × 10 non-zeros
const block: string[] = [];
for (let t = 0; t < 1000; t++) {
  let l = String(t % 2);
  for (let j = 0; j < 10; j++) l += ` ${(t * 7919 + j * 104729) % 50000}:${((t + j) % 97) / 10}`;
  block.push(l);
}
const text = (block.join('\n') + '\n').repeat(1000);
const libsvm = timed(`parseLibsvm, 1M rows × 10 non-zeros (${(text.length / 1e6).toFixed(0)} MB)`, 3000, () => {
  const s = parseLibsvm(rels.get('clicks')!, text, 'ctr.libsvm', new IdMaps());
  expectEq('the libsvm row count', s.rel.size, 1_000_000);
  expectEq('the libsvm entry count', s.entries.get('clicks~x')?.size, 10_000_000);
});

process.exitCode = ml1m && libsvm ? 0 : 1;

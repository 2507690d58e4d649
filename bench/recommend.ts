// All-users top-K from a run folder's serving files (issue 14: every ML-100K user's top-10 "in about
// a second"): runtime/serve/top-k.ts's blocked X·Yᵀ + heaps, --rounds times (default 5), median.
//   npx tsx bench/recommend.ts [RUN_DIR] [--k 10] [--rounds 5]
// Without RUN_DIR: a synthetic model of ML-100K's shape (943 users × 1682 items, d = 64, 100 seen each).
import { loadServingModel } from '../runtime/serve/serving-model.ts';
import { recommendRows } from '../runtime/serve/top-k.ts';
import { option } from './common.ts';
import { syntheticServingModel } from './serving-synthetic.ts';

const runDir = process.argv[2] !== undefined && !process.argv[2].startsWith('--') ? process.argv[2] : undefined;
const k = Number(option('k', '10'));
const rounds = Number(option('rounds', '5'));
let t = performance.now();
const m = runDir ? loadServingModel(runDir) : syntheticServingModel(943, 1682, 64, 100);
const loadMs = performance.now() - t;
const rows = Int32Array.from({ length: m.users.size }, (_, u) => u);
const ms: number[] = [];
for (let r = 0; r < rounds; r++) {
  t = performance.now();
  recommendRows(m, rows, k);
  ms.push(performance.now() - t);
}
ms.sort((a, b) => a - b);
console.log(
  `recc recommend --all-users: ${runDir ?? 'synthetic 943 × 1682, d = 64'} · ${m.users.size} users × ${m.items.size} items × width ${m.width} · top ${k}\n` +
    `  load ${loadMs.toFixed(0)} ms · all users: median ${ms[Math.floor(rounds / 2)]!.toFixed(0)} ms (min ${ms[0]!.toFixed(0)}, max ${ms[rounds - 1]!.toFixed(0)}) over ${rounds} rounds`,
);

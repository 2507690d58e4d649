// Regenerates examples/data/synthetic-ratings.tsv byte-identically: `npx tsx examples/data/make-synthetic.ts`
// (`--check` compares instead of writing). The data is runtime/synthetic.ts's SMALL_SPEC, seed 20240601:
//   600 users × 400 items, 30,000 ratings in MovieLens u.data layout `user\titem\trating\ttime`, ids 1-based.
//   Planted: r = clip(round_0.5(3.6 + b_u + b_i + U_u·V_i + ε), 1, 5) with rank 4 factors (U_u·V_i std 0.6),
//   b_u ~ N(0, 0.3²), b_i ~ N(0, 0.4²), noise ε ~ N(0, 0.5²); popularity-skewed items p ∝ (rank + 10)^−0.9;
//   ≥ 20 ratings per user. Best achievable RMSE ≈ noise std 0.5: the oracle clip(planted score) scores
//   RMSE 0.498 on the whole file (rounding adds ≈ 0.14 in quadrature, clipping at 1 and 5 removes some).
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { oracleRmse, syntheticSmall, toUData } from '../../runtime/data/synthetic.ts';

const out = join(dirname(fileURLToPath(import.meta.url)), 'synthetic-ratings.tsv');
const data = syntheticSmall();
const text = toUData(data);
if (process.argv.includes('--check')) {
  const same = readFileSync(out, 'utf8') === text;
  console.log(same ? `${out}: up to date` : `${out}: differs from the generator`);
  process.exit(same ? 0 : 1);
}
writeFileSync(out, text);
console.log(`wrote ${out}: ${data.users.length} ratings, ${text.length} bytes, oracle RMSE ${oracleRmse(data).toFixed(4)}`);

// Issue 15, acceptance 2, on real data (skipped, with the reason printed, when ML-100K is absent):
// examples/ials.recmodel — the whole-data implicit loss without `h`, trained by `optimizer als`, whose
// row equations the compiler derived — on ML-100K's implicit protocol (ratings ≥ 4, each user's last
// 20% of likes by time held out, every item the user did not like in training ranked) reaches
// NDCG@20 ≥ 0.157 (the ENMF example's Adam result) within its 15 sweeps, and the objective it logs
// never increases from one sweep to the next; with `batch 256 users` (U solved 256 rows at a time) the
// sweeps are the same.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { missingDataReason, ml100kDir } from '../../runtime/data/data-paths.ts';
import { recc } from '../helpers/cli.ts';
import { EXAMPLES_DIR } from '../helpers/examples.ts';

const dir = ml100kDir();
if (dir === undefined) console.log(`[ials-ml100k] skipping: ${missingDataReason()}`);

describe.skipIf(dir === undefined)('iALS by optimizer als on ML-100K (ratings ≥ 4, last 20% per user by time)', () => {
  const root = mkdtempSync(join(tmpdir(), 'recc-ials-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('reaches NDCG@20 ≥ 0.157 within 15 sweeps, the objective never increasing', () => {
    const out = join(root, 'ials');
    const r = recc('run', join(EXAMPLES_DIR, 'ials.recmodel'), '--data', join(dir ?? '', 'u.data'), '--out', out, '--quiet');
    expect(r.code, r.stderr).toBe(0);
    const m = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8')) as { steps: number; seconds: number; final: Record<string, number> };
    const ndcg = m.final['ndcg@20']!;
    console.log(`[ials-ml100k] ${m.steps} sweeps (${m.seconds.toFixed(1)} s): NDCG@20 ${ndcg.toFixed(4)}, Recall@20 ${m.final['recall@20']!.toFixed(4)}`);
    expect(m.steps).toBe(15);
    expect(ndcg).toBeGreaterThanOrEqual(0.157);
    const totals = readFileSync(join(out, 'loss.csv'), 'utf8').trim().split('\n').slice(1).map((l) => Number(l.split(',').at(-2)));
    expect(totals.length).toBe(15);
    for (let j = 1; j < totals.length; j++) expect(totals[j]!, `sweep ${j + 1}`).toBeLessThanOrEqual(totals[j - 1]! * (1 + 1e-6));
  });

  // mini-batch ALS: U's rows solved 256 users at a time (every term reading U is a sum over users, so
  // each batch's rows are the whole objective's minimizer): the same sweeps, to float32 rounding
  it('with `batch 256 users` the sweeps are the unbatched ones: the same objective and NDCG@20', () => {
    const file = join(root, 'ials-b256.recmodel');
    const text = readFileSync(join(EXAMPLES_DIR, 'ials.recmodel'), 'utf8').replace(/blocks V, U seed 42/, 'blocks V, U batch 256 users seed 42');
    expect(text).toContain('batch 256 users');
    writeFileSync(file, text);
    const runs = ['ials.recmodel', file].map((m, k) => {
      const out = join(root, `cmp-${k}`);
      const r = recc('run', k === 0 ? join(EXAMPLES_DIR, m) : m, '--data', join(dir ?? '', 'u.data'), '--out', out, '--quiet');
      expect(r.code, r.stderr).toBe(0);
      const m_ = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8')) as { final: Record<string, number> };
      const totals = readFileSync(join(out, 'loss.csv'), 'utf8').trim().split('\n').slice(1).map((l) => Number(l.split(',').at(-2)));
      return { ndcg: m_.final['ndcg@20']!, totals };
    });
    const [full, batched] = runs as [(typeof runs)[0], (typeof runs)[0]];
    console.log(`[ials-ml100k] batch 256 users: NDCG@20 ${batched.ndcg.toFixed(4)} (unbatched ${full.ndcg.toFixed(4)}), final objective ${batched.totals.at(-1)} (unbatched ${full.totals.at(-1)})`);
    expect(Math.abs(batched.ndcg - full.ndcg)).toBeLessThanOrEqual(1e-3);
    expect(batched.totals.length).toBe(full.totals.length);
    full.totals.forEach((x, j) => expect(Math.abs(batched.totals[j]! - x) / x, `sweep ${j + 1}`).toBeLessThanOrEqual(1e-5));
  });
});

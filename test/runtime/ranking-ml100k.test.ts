// Issue 4, acceptance 2, on real data (skipped, with the reason printed, when ML-100K is absent):
// examples/enmf.recmodel on ML-100K u.data — positives are ratings ≥ 4, each user's last 20% of
// positives by time are held out, and every item the user did not like in training is ranked —
// reaches NDCG@20 ≥ 0.14 and beats examples/mostpop.recmodel by ≥ 40% relative; Recall@20 is reported.
// Both run through `recc run` (in-process) with the examples' own settings, except that ENMF trains
// 50 full-batch steps instead of 200 (it is at NDCG@20 ≈ 0.154 by then; 200 steps give 0.157, at
// about 4× the time). The MostPop number is cross-checked against popularity counted directly from
// the training likes, ranked and scored here without runtime/metrics.ts. Finally `recc recommend`
// with `--items u.item` prints titles, and never an item the user has rated (liked or not).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missingDataReason, ml100kDir } from '../../runtime/data/data-paths.ts';
import type { Dataset } from '../../runtime/data/dataset.ts';
import { recc } from '../helpers/cli.ts';
import { EXAMPLES_DIR, loadExample } from '../helpers/examples.ts';

const dir = ml100kDir();
if (dir === undefined) console.log(`[ranking-ml100k] skipping: ${missingDataReason()}`);

const ENMF = join(EXAMPLES_DIR, 'enmf.recmodel');
const MOSTPOP = join(EXAMPLES_DIR, 'mostpop.recmodel');
/** ENMF's full-batch steps here (the example trains 200) */
const ENMF_STEPS = 50;

interface Final {
  readonly steps: number;
  readonly seconds: number;
  readonly final: Readonly<Record<string, number>>;
}

/** u.item: id → title (latin1, `id|title|…`) */
function titlesOf(path: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of readFileSync(path, 'latin1').split('\n')) {
    const f = line.split('|');
    if (f.length > 1) out.set(f[0]!, f[1]!);
  }
  return out;
}

/** NDCG@k and Recall@k of ranking items by `score` (ties: lower dense index first), by the protocol of
 * docs/metrics.md, written out independently of runtime/metrics.ts. */
function ndcgRecall(ds: Dataset, score: Float64Array, k: number): { ndcg: number; recall: number; users: number } {
  const nUsers = ds.ids.get('user').size;
  const nItems = ds.ids.get('item').size;
  const sets = (side: ReadonlyMap<string, { ids: ReadonlyMap<string, Int32Array>; size: number }>): Set<number>[] => {
    const rel = side.get('likes')!;
    const out = Array.from({ length: nUsers }, () => new Set<number>());
    const us = rel.ids.get('user')!, is = rel.ids.get('item')!;
    for (let t = 0; t < rel.size; t++) out[us[t]!]!.add(is[t]!);
    return out;
  };
  const train = sets(ds.train), test = sets(ds.test);
  const order = Array.from({ length: nItems }, (_, i) => i).sort((a, b) => score[b]! - score[a]! || a - b);
  let ndcg = 0, recall = 0, users = 0;
  for (let u = 0; u < nUsers; u++) {
    const rel = [...test[u]!].filter((i) => !train[u]!.has(i));
    if (rel.length === 0) continue;
    const top = order.filter((i) => !train[u]!.has(i)).slice(0, k);
    let dcg = 0, idcg = 0, hits = 0;
    top.forEach((i, r) => {
      if (test[u]!.has(i)) {
        hits++;
        dcg += 1 / Math.log2(r + 2);
      }
    });
    for (let r = 0; r < Math.min(rel.length, k); r++) idcg += 1 / Math.log2(r + 2);
    ndcg += dcg / idcg;
    recall += hits / rel.length;
    users++;
  }
  return { ndcg: ndcg / users, recall: recall / users, users };
}

describe.skipIf(dir === undefined)('ranking on ML-100K u.data: ratings ≥ 4, last 20% of each user\'s likes by time held out', () => {
  const root = mkdtempSync(join(tmpdir(), 'recc-ranking-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const data = join(dir ?? '', 'u.data');
  const runs = { enmf: join(root, 'enmf'), mostpop: join(root, 'mostpop') };
  const results: Partial<Record<keyof typeof runs, Final>> = {};

  beforeAll(() => {
    for (const [name, model, extra] of [['enmf', ENMF, ['--steps', String(ENMF_STEPS)]], ['mostpop', MOSTPOP, []]] as const) {
      const r = recc('run', model, '--data', data, '--out', runs[name], '--quiet', ...extra);
      expect(r.code, r.stderr).toBe(0);
      results[name] = JSON.parse(readFileSync(join(runs[name], 'metrics.json'), 'utf8')) as Final;
    }
  });

  it('the protocol: likes split per user by time, 80/20, every user keeps training likes', () => {
    const l = loadExample(ENMF, readFileSync(ENMF, 'utf8'), { data });
    const tr = l.ds.train.get('likes')!, te = l.ds.test.get('likes')!;
    expect(l.ds.primary).toBe('likes');
    expect(tr.size + te.size).toBe(55_375); // ratings ≥ 4 in u.data
    const per = (rel: typeof tr) => {
      const m = new Map<number, number[]>();
      const us = rel.ids.get('user')!, ts = rel.values.get('time')!;
      for (let t = 0; t < rel.size; t++) m.set(us[t]!, [...(m.get(us[t]!) ?? []), ts[t]!]);
      return m;
    };
    const trainTimes = per(tr), testTimes = per(te);
    for (const [u, times] of testTimes) {
      const before = trainTimes.get(u) ?? [];
      expect(before.length, `user ${u} has test likes but none in training`).toBeGreaterThan(0);
      // held out = the user's latest likes (time ties may fall on either side)
      expect(Math.max(...before)).toBeLessThanOrEqual(Math.min(...times));
      const n = before.length + times.length;
      expect(Math.abs(times.length - 0.2 * n)).toBeLessThanOrEqual(1);
    }
    expect(te.size / (tr.size + te.size)).toBeCloseTo(0.2, 1);
  });

  it(`ENMF (${ENMF_STEPS} steps) reaches NDCG@20 ≥ 0.14 and beats MostPop by ≥ 40% relative`, () => {
    const e = results.enmf!, m = results.mostpop!;
    expect(e.steps).toBe(ENMF_STEPS);
    const [en, er, mn, mr] = [e.final['ndcg@20']!, e.final['recall@20']!, m.final['ndcg@20']!, m.final['recall@20']!];
    console.log(
      `[ranking-ml100k] ENMF ${e.steps} steps (${e.seconds.toFixed(1)} s): NDCG@20 ${en.toFixed(4)}, Recall@20 ${er.toFixed(4)} · ` +
        `MostPop ${m.steps} steps (${m.seconds.toFixed(1)} s): NDCG@20 ${mn.toFixed(4)}, Recall@20 ${mr.toFixed(4)} · ` +
        `NDCG +${((en / mn - 1) * 100).toFixed(1)}%, Recall +${((er / mr - 1) * 100).toFixed(1)}%`,
    );
    expect(en).toBeGreaterThanOrEqual(0.14);
    expect(en).toBeGreaterThanOrEqual(1.4 * mn);
    expect(er).toBeGreaterThan(mr);
    // the PyTorch reference of this protocol: MostPop ≈ 0.102, whole-data MF ≈ 0.157
    expect(mn).toBeGreaterThan(0.08);
    expect(mn).toBeLessThan(0.12);
  });

  it('MostPop\'s metrics match popularity counted from the training likes and ranked independently', () => {
    const l = loadExample(MOSTPOP, readFileSync(MOSTPOP, 'utf8'), { data });
    const likes = l.ds.train.get('likes')!;
    const counts = new Float64Array(l.ds.ids.get('item').size);
    for (const i of likes.ids.get('item')!) counts[i]!++;
    const want = ndcgRecall(l.ds, counts, 20);
    const got = results.mostpop!.final;
    console.log(`[ranking-ml100k] popularity counted directly: NDCG@20 ${want.ndcg.toFixed(4)}, Recall@20 ${want.recall.toFixed(4)} over ${want.users} users`);
    // the trained b_i are the counts / |user| up to Adam's residual, which can reorder near-ties
    expect(Math.abs(got['ndcg@20']! - want.ndcg)).toBeLessThan(0.005);
    expect(Math.abs(got['recall@20']! - want.recall)).toBeLessThan(0.005);
  });

  it('recc recommend --items u.item prints titles, and no item the user has rated', () => {
    const titles = titlesOf(join(dir!, 'u.item'));
    // seen = every item the user rated in u.data (rated 3 is seen too; a held-out like is seen by the user)
    const rated = new Map<string, Set<string>>();
    for (const line of readFileSync(data, 'utf8').split('\n')) {
      const [u, i] = line.split('\t');
      if (u && i) rated.set(u, (rated.get(u) ?? new Set()).add(i));
    }
    for (const user of ['1', '405']) {
      const r = recc('recommend', runs.enmf, '--user', user, '--top', '10', '--items', join(dir!, 'u.item'));
      expect(r.code, r.stderr).toBe(0);
      const lines = r.stdout.trim().split('\n');
      const seen = rated.get(user)!;
      expect(lines[0]).toBe(`top 10 for user ${user} (excluding ${seen.size} seen items):`);
      const recs = lines.slice(1).map((line) => /^\s*(\d+)\.\s+(\S+)\s+(-?\d+\.\d+)  (.+)$/.exec(line));
      expect(recs.length).toBe(10);
      recs.forEach((m, j) => {
        expect(m, lines[j + 1]).not.toBeNull();
        const [rank, id, , title] = [Number(m![1]), m![2]!, m![3], m![4]!];
        expect(rank).toBe(j + 1);
        expect(title).toBe(titles.get(id));
        expect(seen.has(id), `item ${id} (${title}) was rated by user ${user}`).toBe(false);
      });
      if (user === '1') console.log(`[ranking-ml100k] recc recommend ${runs.enmf} --user 1 --top 10 --items u.item:\n${r.stdout}`);
    }
  });
});

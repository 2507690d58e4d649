// Batches gathered on a worker thread (runtime/train/batch-prefetch.ts): the columns and the distinct
// ids a worker gathers (polling for its jobs, or woken from its sleep) are the ones the calling
// thread gathers itself; a job the worker has not started is taken back, and a worker that is gone
// costs nothing but the prefetch (the caller gathers); through `Steps`, every step's batch, touched
// rows and sizes are the same with and without prefetching, across epoch boundaries and a restore
// from a saved state.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Relation } from '../../runtime/data/load.ts';
import { Rng } from '../../runtime/data/rng.ts';
import { heapArrays } from '../../runtime/exec/step-pool.ts';
import { BatchPrefetch } from '../../runtime/train/batch-prefetch.ts';
import { Steps, type StepData } from '../../runtime/train/steps.ts';
import { EXAMPLES_DIR, loadExample } from '../helpers/examples.ts';

const opened: { close(): void }[] = [];
afterEach(() => opened.splice(0).forEach((p) => p.close()));

const N = 5000;
const rng = new Rng(3);
const relation: Relation = {
  name: 'r',
  size: N,
  columns: [],
  ids: new Map([
    ['user', Int32Array.from({ length: N }, () => rng.int(700))],
    ['item', Int32Array.from({ length: N }, () => rng.int(90))],
    ['ctx', Int32Array.from({ length: N }, () => rng.int(5))],
  ]),
  idDomains: new Map([['user', 'user'], ['item', 'item'], ['ctx', 'ctx']]),
  values: new Map([['rating', Float64Array.from({ length: N }, () => rng.uniform() * 5)]]),
  source: undefined,
};

/** what the calling thread gathers: the rows' cells of each column, and a column's distinct ids in [0, size) ascending */
const gathered = (rows: Int32Array, col: string) => Array.from(rows, (r) => relation.ids.get(col)![r]!);
const distinctOf = (rows: Int32Array, col: string, size: number) => [...new Set(gathered(rows, col))].filter((x) => x < size).sort((a, b) => a - b);

function prefetcher(): BatchPrefetch {
  // ctx is not read; item's distinct ids are asked for below its domain (ids ≥ 60 are dropped)
  const p = new BatchPrefetch(relation, { ids: ['user', 'item'], values: ['rating'] }, 512, [{ column: 'user', size: 700 }, { column: 'item', size: 60 }]);
  opened.push(p);
  return p;
}

const sleep = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/** takes the job for (0, pos) once the worker has taken it (or after 2 s) */
function takeAfterStart(p: BatchPrefetch, pos: number, n: number) {
  for (const until = Date.now() + 2000; !p.started && Date.now() < until; ) sleep(1);
  return p.take(0, pos, n, heapArrays);
}

describe('a batch gathered on a worker', () => {
  it('holds the columns and distinct ids the calling thread gathers', () => {
    const p = prefetcher();
    const order = Int32Array.from({ length: N }, (_, j) => j);
    new Rng(9).shuffle(order);
    let fromWorker = 0;
    for (let pos = 0; pos < N; pos += 512) {
      const rows = order.subarray(pos, Math.min(pos + 512, N));
      // every other job finds the worker asleep (it polls 5 ms for the next one): it must be woken
      if ((pos / 512) % 2) sleep(12);
      p.post(0, pos, rows);
      const got = takeAfterStart(p, pos, rows.length);
      if (!got) continue; // the worker had not started it: the caller gathers (counted below)
      fromWorker++;
      expect([...got.relation.ids.get('user')!]).toEqual(gathered(rows, 'user'));
      expect([...got.relation.ids.get('item')!]).toEqual(gathered(rows, 'item'));
      expect(got.relation.ids.has('ctx')).toBe(false);
      expect([...got.relation.values.get('rating')!]).toEqual(Array.from(rows, (r) => relation.values.get('rating')![r]!));
      expect([...got.distinct.get('user')!.ids]).toEqual(distinctOf(rows, 'user', 700));
      expect([...got.distinct.get('item')!.ids]).toEqual(distinctOf(rows, 'item', 60));
      expect(got.relation.size).toBe(rows.length);
    }
    expect(fromWorker).toBe(p.counts.gathered);
    expect(fromWorker + p.counts.revoked).toBe(Math.ceil(N / 512));
    expect(fromWorker).toBeGreaterThan(0);
  });

  it('is not taken for another batch than the one posted', () => {
    const p = prefetcher();
    const rows = Int32Array.from({ length: 100 }, (_, j) => j);
    p.post(0, 0, rows);
    expect(p.take(0, 100, 100, heapArrays)).toBeUndefined(); // another position: dropped, not waited for
    expect(p.take(0, 0, 100, heapArrays)).toBeUndefined(); // … and gone
    p.post(1, 0, rows);
    expect(p.take(0, 0, 100, heapArrays)).toBeUndefined(); // another epoch
  });

  it('costs only the prefetch when its worker is gone', async () => {
    const p = prefetcher();
    await p.thread.terminate();
    const rows = Int32Array.from({ length: 64 }, (_, j) => j * 3);
    for (let k = 0; k < 5; k++) {
      p.post(0, 0, rows);
      expect(p.take(0, 0, rows.length, heapArrays)).toBeUndefined();
    }
  });
});

describe('steps with batches prefetched', () => {
  const path = join(EXAMPLES_DIR, 'bpr.recmodel');
  // a small batch: an epoch of many steps, and its end crossed twice
  const l = loadExample(path, readFileSync(path, 'utf8').replace(/batch \d+/, 'batch 1000'));
  const steps = (prefetch: boolean) => {
    const s = new Steps(l.compiled, l.ds, l.sizes, { samples: undefined, prefetch: prefetch ? { minTuples: 0 } : undefined });
    opened.push(s);
    return s;
  };
  /** a step's data as plain values (the arrays are reused by the next step) */
  const plain = (d: StepData) => ({
    relations: [...d.relations].filter(([, r]) => r !== l.ds.train.get(r.name)).map(([n, r]) => [n, r.size, [...r.ids].map(([c, a]) => [c, [...a]]), [...r.values].map(([c, a]) => [c, [...a]])]),
    sizes: [...d.sizes],
    touched: [...d.touched].map(([k, a]) => [k, [...a]]),
    atRows: [...d.atRows],
  });

  it('are the same steps as without, across epochs and a restore', () => {
    const plainSteps = steps(false);
    const fetched = steps(true);
    const perEpoch = plainSteps.stepsPerEpoch;
    expect(perEpoch).toBeGreaterThan(5);
    const want = Array.from({ length: 2 * perEpoch + 3 }, () => plain(plainSteps.next()));
    expect(want[0]!.touched.length).toBeGreaterThan(0);
    // time for the worker to gather each next batch (a step's kernels would run here)
    const got = want.map(() => {
      const d = plain(fetched.next());
      sleep(3);
      return d;
    });
    expect(got).toEqual(want);
    const counts = fetched.prefetched!;
    expect(counts.gathered + counts.revoked).toBe(want.length - 3); // none across the two epoch ends, the last one still pending
    expect(counts.gathered).toBeGreaterThan(0);
    // a state saved mid-epoch, restored into a fresh prefetching Steps and into this one (its pending batch dropped)
    const again = steps(true);
    const replay = steps(false);
    for (let k = 0; k < perEpoch + 2; k++) replay.next();
    const saved = replay.state();
    again.restore(saved);
    fetched.restore(saved);
    for (let k = perEpoch + 2; k < want.length; k++) {
      expect(plain(again.next()), `step ${k}`).toEqual(want[k]);
      expect(plain(fetched.next()), `step ${k}`).toEqual(want[k]);
    }
  });
});

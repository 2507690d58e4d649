// Early stopping (runtime/train/early-stop.ts, held-out.ts): the tracker's rule (direction, patience,
// min_delta, NaN), its state as plain JSON that resumes to the same decisions; and a training run
// built so that the validation metric gets worse — a global bias trained towards r + 2 while RMSE is
// measured against r, so RMSE falls while the bias nears the mean rating and rises after — where
// training stops `patience` evaluations after the best one, returns exactly the params of the best
// step (those of a run stopped there), and measures test once on them. Without a validation part
// every evaluation is on test and the run says so.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { EarlyStopInfo } from '../../compiler/check/model.ts';
import { ReferenceBackend } from '../../runtime/exec/backend.ts';
import { EvalError, evaluateModel, type EvalResult } from '../../runtime/eval/evaluate.ts';
import { generateRatings, SMALL_SPEC, toUData } from '../../runtime/data/synthetic.ts';
import { EarlyStopping, improves } from '../../runtime/train/early-stop.ts';
import { train } from '../../runtime/train/train.ts';
import { loadExample } from '../helpers/examples.ts';

const rule = (direction: 'min' | 'max', patience: number, minDelta = 0): EarlyStopInfo => ({ metric: direction === 'min' ? { name: 'rmse' } : { name: 'ndcg', k: 20 }, patience, minDelta, direction });
const at = (step: number, metrics: Record<string, number>): EvalResult => ({ step, epoch: step / 10, on: 'validation', metrics });
const P = (x: number) => new Map([['w', Float32Array.of(x)]]);

describe('EarlyStopping', () => {
  it('maximizes ranking metrics: stops after `patience` evaluations without improvement, keeping the best params', () => {
    const s = EarlyStopping.start(rule('max', 2));
    const values = [0.1, 0.3, 0.25, 0.3, 0.2];
    const stops = values.map((x, j) => s.observe(at(10 * (j + 1), { 'ndcg@20': x }), P(x)));
    // 0.3 at step 20 is the best; an equal value is no improvement, so steps 30 and 40 exhaust patience 2
    // (and it stays exhausted)
    expect(stops).toEqual([false, false, false, true, true]);
    expect(s.state).toEqual({ metric: 'ndcg@20', direction: 'max', value: 0.3, step: 20, epoch: 2, sinceBest: 3 });
    expect(s.bestParams!.get('w')![0]).toBeCloseTo(0.3, 6);
  });

  it('minimizes errors, and min_delta asks for an improvement larger than it', () => {
    const s = EarlyStopping.start(rule('min', 2, 0.05));
    expect(s.observe(at(1, { rmse: 1.0 }), P(1))).toBe(false);
    expect(s.observe(at(2, { rmse: 0.97 }), P(0.97))).toBe(false); // better by 0.03 ≤ 0.05: not an improvement
    expect(s.observe(at(3, { rmse: 0.9 }), P(0.9))).toBe(false); // better than the best (1.0) by 0.1
    expect(s.state.step).toBe(3);
    expect(s.observe(at(4, { rmse: 0.88 }), P(0.88))).toBe(false);
    expect(s.observe(at(5, { rmse: 0.86 }), P(0.86))).toBe(true);
    expect(s.state.value).toBe(0.9);
    expect(improves(NaN, 1, 'min', 0)).toBe(false);
    expect(improves(0.5, Infinity, 'min', 0.1)).toBe(true);
    expect(improves(0.5, -Infinity, 'max', 0.1)).toBe(true);
  });

  it('a NaN never becomes the best, and a metric the evaluation lacks is an error', () => {
    const s = EarlyStopping.start(rule('max', 1));
    expect(s.observe(at(1, { 'ndcg@20': NaN }), P(0))).toBe(true);
    expect(s.bestParams).toBeUndefined();
    expect(() => EarlyStopping.start(rule('max', 1)).observe(at(1, { rmse: 1 }), P(0))).toThrow(/did not compute it/);
  });

  it('its state is plain JSON: resumed from it, the tracker takes the same decisions', () => {
    const seq = [0.5, 0.4, 0.6, 0.55, 0.58, 0.59, 0.61, 0.3];
    const whole = EarlyStopping.start(rule('max', 3));
    const first = EarlyStopping.start(rule('max', 3));
    const decisions = seq.map((x, j) => whole.observe(at(j + 1, { 'ndcg@20': x }), P(x)));
    seq.slice(0, 4).forEach((x, j) => first.observe(at(j + 1, { 'ndcg@20': x }), P(x)));
    const resumed = EarlyStopping.resume(rule('max', 3), JSON.parse(JSON.stringify(first.state)), first.bestParams);
    const rest = seq.slice(4).map((x, j) => resumed.observe(at(j + 5, { 'ndcg@20': x }), P(x)));
    expect(rest).toEqual(decisions.slice(4));
    expect(resumed.state).toEqual(whole.state);
    expect(resumed.bestParams).toEqual(whole.bestParams);
    expect(() => EarlyStopping.resume(rule('min', 3), first.state, undefined)).toThrow(/is for ndcg@20/);
  });
});

describe('training with early stopping', () => {
  const dir = mkdtempSync(join(tmpdir(), 'recc-early-stop-'));
  const data = join(dir, 'ratings.tsv');
  writeFileSync(data, toUData(generateRatings({ ...SMALL_SPEC, nUsers: 60, nItems: 40, nRatings: 900, minPerUser: 5, maxPerUser: 40, seed: 4060 })));
  const model = (split: string, evaluate: string, steps = 60) => `
index user, item
data ratings(user: user, item: item, rating: float, time: int) from "${data}" format tsv
${split}
param mu = 0
def score(u, i) = mu
# trained towards r + 2, measured against r: validation RMSE falls, then rises
loss fit = mean((u, i, r) in ratings: (r + 2 - mu)^2)
train { optimizer sgd(lr = 0.05) steps ${steps} batch full seed 1 }
evaluate { ${evaluate} }
`;
  const load = (text: string) => loadExample(join(dir, 'm.recmodel'), text);
  const backend = new ReferenceBackend();

  it('stops `patience` evaluations after the best, returns the best step\'s params, and measures test once on them', () => {
    const l = load(model('split ratings: holdout 0.2 seed 3, validate 0.2', 'metrics rmse, mae every 2 steps early_stop on rmse patience 3'));
    const r = train(l.compiled, l.ds, { backend });
    const rmse = r.evals.map((e) => e.metrics.rmse!);
    expect(r.evals.every((e) => e.on === 'validation')).toBe(true);
    // the metric gets worse after its best: the case early stopping is for
    const bestAt = rmse.indexOf(Math.min(...rmse));
    expect(bestAt).toBeGreaterThan(0);
    expect(bestAt).toBeLessThan(rmse.length - 1);
    for (let j = bestAt + 1; j < rmse.length; j++) expect(rmse[j]!).toBeGreaterThan(rmse[j - 1]!);
    const bestStep = r.evals[bestAt]!.step;
    expect(r.heldOut.best).toMatchObject({ metric: 'rmse', direction: 'min', step: bestStep, value: rmse[bestAt] });
    expect(r.stepsRun).toBe(bestStep + 3 * 2);
    expect(r.heldOut.stoppedAt).toBe(r.stepsRun);
    expect(r.stepsRun).toBeLessThan(60);
    expect(r.heldOut.paramsFrom.step).toBe(bestStep);
    // the params returned are exactly those of a run without early stopping that ends at the best step
    const plain = load(model('split ratings: holdout 0.2 seed 3, validate 0.2', 'metrics rmse, mae every 2 steps'));
    const short = train(plain.compiled, plain.ds, { backend, steps: bestStep });
    expect(r.params.get('mu')).toEqual(short.params.get('mu'));
    // test is measured once, at the end, on those params, and it is not the last params' test value
    expect(r.heldOut.test).toMatchObject({ on: 'test', step: bestStep });
    expect(r.heldOut.test!.metrics).toEqual(evaluateModel(l.compiled, l.ds, r.params, backend, bestStep, 0, 'test').metrics);
    // a run whose planned length ends where patience runs out did not stop early, but still keeps the best
    const exact = train(l.compiled, l.ds, { backend, steps: r.stepsRun });
    expect(exact.heldOut.stoppedAt).toBeUndefined();
    expect(exact.heldOut.paramsFrom.step).toBe(bestStep);
    expect(exact.params.get('mu')).toEqual(r.params.get('mu'));
    const last = train(plain.compiled, plain.ds, { backend, steps: r.stepsRun });
    expect(last.params.get('mu')).not.toEqual(r.params.get('mu'));
    expect(evaluateModel(l.compiled, l.ds, last.params, backend, 0, 0, 'test').metrics.rmse).toBeGreaterThan(r.heldOut.test!.metrics.rmse!);
  });

  it('with a validation part and no early_stop: evaluations on validation, test once on the last params', () => {
    const l = load(model('split ratings: holdout 0.2 seed 3, validate 0.2', 'metrics rmse every 5 steps', 20));
    const r = train(l.compiled, l.ds, { backend });
    expect(r.evals.map((e) => [e.step, e.on])).toEqual([[5, 'validation'], [10, 'validation'], [15, 'validation'], [20, 'validation']]);
    expect(r.heldOut).toMatchObject({ evaluatedOn: 'validation', paramsFrom: { step: 20 }, test: { on: 'test', step: 20 } });
    expect(r.heldOut.best).toBeUndefined();
  });

  it('an empty validation part is an error before training starts', () => {
    // per user, round(0.01·n_u) is 0 for every user of this data
    const l = load(model('split ratings: holdout 0.2 per user seed 3, validate 0.01', 'metrics rmse every 5 steps early_stop on rmse patience 2', 10));
    expect(l.ds.validation!.get('ratings')!.size).toBe(0);
    let steps = 0;
    expect(() => train(l.compiled, l.ds, { backend, onStep: () => steps++ })).toThrow(EvalError);
    expect(() => train(l.compiled, l.ds, { backend })).toThrow(/the validation part of ratings is empty .*raise the validate fraction/);
    expect(steps).toBe(0);
  });

  it('without a validation part: every evaluation is on test, as before, and the run says so', () => {
    const l = load(model('split ratings: holdout 0.2 seed 3', 'metrics rmse every 5 steps', 10));
    const r = train(l.compiled, l.ds, { backend });
    expect(r.evals.map((e) => e.on)).toEqual(['test', 'test']);
    expect(r.heldOut).toEqual({ evaluatedOn: 'test', paramsFrom: { step: 10, epoch: 10 } });
  });
});

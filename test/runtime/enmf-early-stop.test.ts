// Issue 11, acceptance 3: `recc run` of the ENMF example with a validation part and early stopping,
// on its bundled data. The run folder keeps the best params (byte-identical to a run stopped at the
// best step), metrics.json records the validation history, the best step and the final test metrics
// (measured on those params), and report.md says where the params come from. Without a validation
// part, metrics.json, report.md and the progress output say every evaluation was on test.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../runtime/data/data-paths.ts';
import { recc } from '../helpers/cli.ts';

const examples = join(repoRoot(), 'examples');
const data = join(examples, 'data', 'synthetic-ratings.tsv');
const dir = mkdtempSync(join(tmpdir(), 'recc-enmf-early-stop-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Metrics {
  steps: number;
  final: Record<string, number>;
  history: { step: number; on: string; metrics: Record<string, number> }[];
  evaluatedOn: string;
  note?: string;
  params: { step: number; from: string };
  validation: { history: { step: number; on: string; metrics: Record<string, number> }[]; best: { metric: string; step: number; value: number } } | null;
  test: { step: number; metrics: Record<string, number> } | null;
  earlyStop: { metric: string; direction: string; patience: number; stoppedAt: number | null; bestStep: number } | null;
}

const read = (out: string): Metrics => JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8')) as Metrics;
const params = (out: string): Map<string, Buffer> => new Map(readdirSync(join(out, 'params')).filter((f) => f.endsWith('.npy')).map((f) => [f, readFileSync(join(out, 'params', f))]));

describe('ENMF with a validation split and early stopping (bundled data)', () => {
  const text = readFileSync(join(examples, 'enmf.recmodel'), 'utf8')
    .replace('split likes: holdout 0.2 by time per user', 'split likes: holdout 0.2 by time per user, validate 0.1')
    .replace('evaluate { metrics recall@20, ndcg@20 every 50 steps }', 'evaluate { metrics recall@20, ndcg@20 every 10 steps early_stop on ndcg@20 patience 3 }');
  const model = join(dir, 'enmf-early-stop.recmodel');
  writeFileSync(model, text);

  it('keeps the best params and records the validation history, the best step and the test metrics', () => {
    expect(text).toContain('validate 0.1');
    expect(text).toContain('early_stop on ndcg@20 patience 3');
    const out = join(dir, 'run');
    const r = recc('run', model, '--data', data, '--out', out);
    expect(r.code, r.stderr).toBe(0);
    const m = read(out);
    expect(m.evaluatedOn).toBe('validation');
    expect(m.note).toBeUndefined();
    const history = m.validation!.history;
    expect(history.length).toBeGreaterThan(3);
    expect(history.every((e) => e.on === 'validation')).toBe(true);
    expect(m.history).toEqual(history);
    // the best step is the first evaluation with the highest validation NDCG@20
    const ndcg = history.map((e) => e.metrics['ndcg@20']!);
    const best = history[ndcg.indexOf(Math.max(...ndcg))]!;
    expect(m.validation!.best).toMatchObject({ metric: 'ndcg@20', step: best.step, value: best.metrics['ndcg@20'] });
    expect(m.earlyStop).toMatchObject({ metric: 'ndcg@20', direction: 'max', patience: 3, bestStep: best.step });
    // it stopped 3 evaluations (30 steps) after the best, before the 200 steps of the train block
    if (m.earlyStop!.stoppedAt !== null) {
      expect(m.steps).toBe(best.step + 30);
      expect(m.earlyStop!.stoppedAt).toBe(m.steps);
    } else expect(m.steps).toBe(200);
    console.log(`[enmf-early-stop] validation NDCG@20 by step: ${history.map((e) => `${e.step}:${e.metrics['ndcg@20']!.toFixed(4)}`).join(' ')}; best step ${best.step}; stopped after ${m.steps}; test ${JSON.stringify(m.final)}`);
    // params from the best step, and test measured once on them: `final` is that test measurement
    expect(m.params.step).toBe(best.step);
    expect(m.params.from).toContain(`at step ${best.step}`);
    expect(m.test!.step).toBe(best.step);
    expect(m.final).toEqual(m.test!.metrics);
    expect(Object.keys(m.final).sort()).toEqual(['ndcg@20', 'recall@20']);
    const report = readFileSync(join(out, 'report.md'), 'utf8');
    expect(report).toContain(`- params: from the best validation ndcg@20`);
    expect(report).toContain(`| ${best.step} (best) |`);
    // the HTML report says the same (runtime/output/run-report.ts)
    expect(readFileSync(join(out, 'report.html'), 'utf8')).toContain(`on ndcg@20 (higher is better), patience 3; best ${best.metrics['ndcg@20']!.toFixed(4)} at step ${best.step}`);
    expect(r.stderr).toMatch(new RegExp(`eval  step ${best.step} on test:`));
    // the saved params are byte for byte those of the same run stopped at the best step
    const short = join(dir, 'short');
    expect(recc('run', model, '--data', data, '--out', short, '--steps', String(best.step), '-q').code).toBe(0);
    const a = params(out), b = params(short);
    expect([...a.keys()].sort()).toEqual(['P.npy', 'Q.npy', 'h.npy']);
    for (const [f, bytes] of a) expect(bytes.equals(b.get(f)!), f).toBe(true);
    expect(read(short).final).toEqual(m.final);
  });

  it('without a validation split, says every evaluation was measured on test', () => {
    const out = join(dir, 'on-test');
    const r = recc('run', join(examples, 'enmf.recmodel'), '--out', out, '--steps', '10');
    expect(r.code, r.stderr).toBe(0);
    const m = read(out);
    expect(m.evaluatedOn).toBe('test');
    expect(m.history.map((e) => e.on)).toEqual(['test']);
    expect(m.note).toMatch(/measured on the test split.*tunes on test/);
    expect(m.validation).toBeNull();
    expect(m.earlyStop).toBeNull();
    expect(m.params.step).toBe(10);
    expect(m.final).toEqual(m.history[0]!.metrics);
    expect(readFileSync(join(out, 'report.md'), 'utf8')).toMatch(/Note: no validation split: every evaluation was measured on the test split/);
    expect(r.stderr).toMatch(/eval {2}step 10 on test:.*\n.*note: no validation split/);
  });
});

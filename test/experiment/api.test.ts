// The library API as a script uses it: compile an example for its data, train it, evaluate it; the
// metrics are the ones the trainer measured on the same test part (the same params give the same
// numbers); check reports a broken model's diagnostics without throwing; compile throws them.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { check, compile, evaluate, recommend, train, ReccError } from 'recc';
import { recc } from '../helpers/cli.ts';
import { repoRoot } from '../../runtime/data/data-paths.ts';

const example = join(repoRoot(), 'examples', 'mf-gramian.recmodel');

describe("import … from 'recc'", () => {
  it('compiles, trains and evaluates an example; evaluate agrees with the final evaluation of training', () => {
    const exp = compile(example, { sets: { d: 4 } });
    expect(exp.compiled.model.dims.get('d')).toBe(4);
    const steps: number[] = [];
    const run = train(exp, { steps: 20, mode: 'cpu', onStep: (s) => steps.push(s.step) });
    expect(run.stepsRun).toBe(20);
    expect(steps).toHaveLength(20);
    const first = run.log[0]!.total, last = run.log.at(-1)!.total;
    expect(last).toBeLessThan(first);
    const m = evaluate(exp, run.params, { mode: 'cpu' });
    expect(Object.keys(m)).toEqual(['rmse', 'mae']);
    expect(m.rmse).toBeCloseTo(run.evals.at(-1)!.metrics.rmse!, 10);
    const untrained = evaluate(exp, train(exp, { steps: 0, mode: 'cpu' }).params, { mode: 'cpu' });
    expect(m.rmse).toBeLessThan(untrained.rmse!);
  });

  it('check reports errors without throwing; compile throws them rendered', () => {
    const dir = mkdtempSync(join(tmpdir(), 'recc-api-'));
    const bad = join(dir, 'bad.recmodel');
    writeFileSync(bad, 'model m\nindex user\nparam U[user, dd] ~ normal(0, 0.1)\n');
    const c = check(bad);
    expect(c.model).toBeUndefined();
    expect(c.text).toMatch(/bad\.recmodel:3:/);
    expect(() => compile(bad)).toThrow(ReccError);
    expect(check(example).model?.name).toBe('mf_gramian');
  });

  it('recommend lists a run folder\'s top items for a user', () => {
    const dir = mkdtempSync(join(tmpdir(), 'recc-api-'));
    expect(recc('run', example, '--steps', '3', '--set', 'd=4', '--mode', 'cpu', '--quiet', '-o', join(dir, 'r')).code).toBe(0);
    const lines = recommend(join(dir, 'r'), '1', { top: 3 });
    expect(lines).toEqual(recc('recommend', join(dir, 'r'), '--user', '1', '--top', '3').stdout.trim().split('\n'));
    expect(lines).toHaveLength(4);
  });
});

// `recc explain`'s costs against what the kernels execute (issue 9, acceptance 9). For every example
// on its bundled data: the FLOPs the cost model predicts for one training step (the step's plan at
// the sizes `recc explain` reads from the data) agree within 2× with an instrumented count of the
// loop trips the planned kernels execute on the first training step's actual batch (CSR segments of
// their real lengths; test/helpers/plan-trips.ts) — a count, not a timing. And explain's text has no
// line over 160 characters and no internal name (`#0'13`, `n'4`, `clicks~x`, `R#batch`), run as
// `recc explain FILE` with no flags.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { explainCompiled, MAX_LINE, trainingStepPlan } from '../compiler/explain.ts';
import { publicName, publicSize } from '../compiler/ir/print.ts';
import { planGroup } from '../compiler/plan/plan.ts';
import type { Backend } from '../runtime/exec/backend.ts';
import { stepSizes } from '../runtime/train/step-sizes.ts';
import { train } from '../runtime/train/train.ts';
import { EXAMPLES_DIR, exampleFiles, loadExample } from './helpers/examples.ts';
import { recc } from './helpers/cli.ts';
import { countPlanFlops, type TripCount } from './helpers/plan-trips.ts';

/** Thrown by the counting backend once it has counted the first step: the run stops there. */
class StepCounted extends Error {}

/** FLOPs executed by the first training step of `train`, counted on the plan the trainer asked for. */
function countFirstStep(l: ReturnType<typeof loadExample>): TripCount {
  let counted: TripCount | undefined;
  const refuse = (): never => {
    throw new Error('the trip counter only serves a training step');
  };
  const backend: Backend = {
    name: 'trip counter',
    scalar: refuse,
    tensor: refuse,
    evalMany(scalars, tensors, env) {
      const plan = planGroup([...scalars.map((expr) => ({ expr, out: [] })), ...tensors], l.compiled.module.spaces, env.sizes);
      counted = countPlanFlops(plan, env);
      throw new StepCounted();
    },
    dispose() {},
  };
  expect(() => train(l.compiled, l.ds, { backend, steps: 1 })).toThrow(StepCounted);
  return counted!;
}

describe.each(exampleFiles())('%s', (file) => {
  const path = join(EXAMPLES_DIR, file);
  const l = loadExample(path, readFileSync(path, 'utf8'));
  const s = stepSizes(l.compiled, l.ds);

  it('predicts the FLOPs of a training step within 2× of the loop trips its kernels execute', () => {
    const predicted = trainingStepPlan(l.compiled, s.step, s.atRows).cost.flops;
    const counted = countFirstStep(l).flops;
    expect(counted).toBeGreaterThan(0);
    const ratio = predicted / counted;
    expect(ratio, `predicted ${predicted}, counted ${counted}`).toBeGreaterThanOrEqual(0.5);
    expect(ratio, `predicted ${predicted}, counted ${counted}`).toBeLessThanOrEqual(2);
  });

  it('`recc explain` (no flags) prints lines of at most 160 characters and public names only', () => {
    const r = recc('explain', path);
    expect(r.code, r.stderr).toBe(0);
    const text = r.stdout;
    expect(text).toMatch(/sizes from the model's data/);
    const long = text.split('\n').filter((line) => [...line].length > MAX_LINE);
    expect(long).toEqual([]);
    expect(text).not.toMatch(/[~#]/); // R~x, R#batch, P#rows, #0, #logq_table
    expect(text).not.toMatch(/[A-Za-z0-9]'(\d|[,\]) :])/); // n'4, a', #0'13
    expect(text).toMatch(/^total per training step: .* FLOPs as planned/m);
  });
});

describe('fm.recmodel', () => {
  it('shows the FM rewrite: fm-pairwise fired, the O(k·nnz) form, and fewer FLOPs than written', () => {
    const path = join(EXAMPLES_DIR, 'fm.recmodel');
    const l = loadExample(path, readFileSync(path, 'utf8'));
    const s = stepSizes(l.compiled, l.ds);
    const text = explainCompiled(l.compiled, { step: s.step, atRows: s.atRows, sizesFrom: 'fm.recmodel' });
    const block = text.split(/\n\s*\n/).find((b) => b.startsWith('loss fit'))!;
    expect(block).toMatch(/rules: .*fm-pairwise/);
    // ½·pairs·(Σ_k (Σ_n x·V)² − Σ_n x²·Σ_k V²): the pair sum is gone from the rewritten form
    expect(block).toMatch(/rewritten: [^]*0\.5·pairs·\(-sum\(/);
    expect(block.slice(block.indexOf('rewritten:'))).not.toMatch(/x\.pos/);
    expect(block).toMatch(/\(\d+× fewer FLOPs\)/);
    expect(block).not.toMatch(/kept as written/);
    expect(text).toMatch(/B\(R\) is the number of R's tuples in one training step/);
  });
});

describe('publicName: the one reader of internal names', () => {
  it.each([
    ['clicks~x', 'clicks.x'], // entries of sparse column x
    ['clicks~x.feat', 'x.feat'],
    ['ratings#batch', 'ratings'],
    ['ratings#total', 'ratings'],
    ['J~', 'J'], // a sample set
    ['J~2.id', 'J.id'],
    ['likes.~j', 'j'], // a sampled id column
    ['likes.~j#logq', 'logq(j)'],
    ['J~#logq_table', 'logq_table(J)'],
    ['V#rows', 'rows(V)'],
    ['ratings.user', 'ratings.user'],
  ])('%s → %s', (internal, shown) => expect(publicName(internal)).toBe(shown));
  it('prints a batch size as B(R) and a space as |S|', () => {
    expect(publicSize('ratings#batch')).toBe('B(ratings)');
    expect(publicSize('clicks~x')).toBe('|clicks.x|');
  });
});

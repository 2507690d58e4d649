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
import { printForm } from '../compiler/ir/print.ts';
import { size } from '../compiler/ir/nodes.ts';
import {
  batchSize, columnKey, dimSpace, domainSpace, entriesSpace, logqTableName, publicNames, relationSpace, sampledColumn,
  sampledLogqColumn, sampleSetSpace, spaceSize, touchedRowsSpace, type Space,
} from '../compiler/ir/spaces.ts';
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

  // a model whose only table is a `neighbours` table (ItemCF) is computed from the data, with no training step
  it.skipIf(l.compiled.model.neighbours !== undefined)('predicts the FLOPs of a training step within 2× of the loop trips its kernels execute', () => {
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

describe('publicNames: public names from kinds, never from the shape of a name', () => {
  // a module with every kind of space and sampler, built with spaces.ts's own constructors
  const spaces = new Map<string, Space>([
    ['user', domainSpace('user')],
    ['d', dimSpace('d', 4)],
    ['ratings', relationSpace('ratings', new Map([['user', 'user'], ['rating', 'float']]))],
    ['clicks', relationSpace('clicks', new Map([['label', 'float']]))],
  ]);
  const entries = entriesSpace('clicks', 'x', 'feature');
  const set = sampleSetSpace('J~2', 'J', 'item');
  const rows = touchedRowsSpace('V', 'item');
  for (const s of [entries, set, rows]) spaces.set(s.name, s);
  const perTuple = { kind: 'per-tuple', rel: 'likes', col: sampledColumn('j3'), variable: 'j' } as const;
  const names = publicNames(spaces, [perTuple, { kind: 'set', space: set.name }]);
  it.each([
    [entries.name, 'clicks.x'],
    [set.name, 'J'],
    [rows.name, 'rows(V)'],
    ['ratings', 'ratings'],
  ])('space %s → %s', (internal, shown) => expect(names.space(internal)).toBe(shown));
  it.each([
    [columnKey(entries.name, 'feat'), 'x.feat'],
    [columnKey(set.name, 'id'), 'J.id'],
    [columnKey('likes', perTuple.col), 'j'],
    [columnKey('likes', sampledLogqColumn(perTuple.col)), 'logq(j)'],
    [logqTableName({ kind: 'set', space: set.name }), 'logq_table(J)'],
    [columnKey('ratings', 'user'), 'ratings.user'],
    ['U', 'U'],
  ])('tensor %s → %s', (internal, shown) => expect(names.tensor(internal)).toBe(shown));
  it('a user relation or column shaped like an internal name is only itself', () => {
    const own = publicNames(new Map<string, Space>([['pos', relationSpace('pos', new Map([['row', 'float']]))]]));
    expect(own.space('pos')).toBe('pos');
    expect(own.tensor(columnKey('pos', 'row'))).toBe('pos.row');
    expect(own.kind('pos')).toBe('relation');
  });
  it('prints a batch size as B(R) and a space as |S|, by the size symbol', () => {
    const names2 = publicNames(spaces);
    expect(printForm(size(batchSize('ratings')), { names: names2 })).toBe('B(ratings)');
    expect(printForm(size(spaceSize(entries.name)), { names: names2 })).toBe('|clicks.x|');
  });
});

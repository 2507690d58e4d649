// Issue 4, acceptance 3 on the bundled data: examples/fm.recmodel trains on
// examples/data/synthetic-ctr.libsvm (30,000 rows; planted rank-4 pairwise logits) with its own
// settings and reports AUC and logloss on its 20% holdout; switching the pairwise term off
// (`--set pairs=0`: logistic regression on the same features, an FM with k = 0) loses clearly.
// Both run through `recc run` (in-process), as a user would.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recc } from '../helpers/cli.ts';
import { EXAMPLES_DIR } from '../helpers/examples.ts';

const FM = join(EXAMPLES_DIR, 'fm.recmodel');

interface Metrics {
  readonly steps: number;
  readonly seconds: number;
  readonly diverged: unknown;
  readonly final: Readonly<Record<string, number>>;
}

describe('examples/fm.recmodel on the bundled synthetic CTR data', () => {
  const root = mkdtempSync(join(tmpdir(), 'recc-fm-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const runs: Record<'on' | 'off', Metrics | undefined> = { on: undefined, off: undefined };

  beforeAll(() => {
    for (const [name, pairs] of [['on', '1'], ['off', '0']] as const) {
      const out = join(root, name);
      const r = recc('run', FM, '--set', `pairs=${pairs}`, '--out', out, '--quiet');
      expect(r.code, r.stderr).toBe(0);
      runs[name] = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8')) as Metrics;
    }
  });

  it('reports AUC and logloss on the test rows, both in range', () => {
    for (const m of [runs.on!, runs.off!]) {
      expect(m.diverged).toBeNull();
      expect(m.steps).toBe(120); // 10 epochs of ⌈24,000 / 2048⌉ = 12 batches
      expect(m.final.auc).toBeGreaterThan(0.5);
      expect(m.final.auc).toBeLessThan(1);
      expect(m.final.logloss).toBeGreaterThan(0);
      expect(m.final.logloss).toBeLessThan(Math.log(2));
    }
  });

  it('the pairwise term helps: AUC up by ≥ 0.05 and logloss down by ≥ 0.05 against pairs = 0', () => {
    const on = runs.on!.final, off = runs.off!.final;
    console.log(
      `[fm-synthetic] pairs on: AUC ${on.auc!.toFixed(4)}, logloss ${on.logloss!.toFixed(4)} (${runs.on!.seconds.toFixed(1)} s) · ` +
        `pairs = 0: AUC ${off.auc!.toFixed(4)}, logloss ${off.logloss!.toFixed(4)} (${runs.off!.seconds.toFixed(1)} s)`,
    );
    expect(on.auc! - off.auc!).toBeGreaterThanOrEqual(0.05);
    expect(off.logloss! - on.logloss!).toBeGreaterThanOrEqual(0.05);
  });
});

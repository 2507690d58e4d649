// Checker goldens (test/golden/check: parse + check diagnostics, "ok" for clean models) and
// assertions on the Model the checker builds: defaults, optimizer/schedule settings, --set.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { resolveImports } from '../compiler/check/imports.ts';
import { check } from '../compiler/check/index.ts';
import { hasErrors } from '../compiler/diagnostics/diagnostics.ts';
import { isCode, messages } from '../compiler/diagnostics/messages.ts';
import type { Model } from '../compiler/check/model.ts';
import { parse } from '../compiler/syntax/parse.ts';
import { sourceFile } from '../compiler/diagnostics/source.ts';
import { golden, loadFixtures, render } from './helpers/golden.ts';

const dir = new URL('./golden/check/', import.meta.url).pathname;

describe('check goldens', () => {
  for (const fx of loadFixtures(dir)) {
    it(fx.name, () => {
      const p = parse(fx.src);
      // imports resolve against the fixture's real path (helpers live in golden/check/imports/)
      const imp = p.program ? resolveImports(p.program, fx.path) : undefined;
      const c = p.program && !hasErrors(imp?.diagnostics ?? []) ? check(p.program, { sets: fx.sets, imports: imp?.files }) : undefined;
      const ds = [...(imp?.diagnostics ?? []), ...p.diagnostics, ...(c?.diagnostics ?? [])];
      const actual = render(ds, fx.src, imp?.sources);
      expect(actual).toBe(golden(fx, actual));
      for (const d of ds) expect(isCode(d.code), d.code).toBe(true);
      const errors = ds.some((d) => d.severity === 'error');
      expect(c?.model === undefined).toBe(errors);
      // every span and note lies inside the file it names
      const files = new Map([[fx.src.path, fx.src], ...(imp?.sources ?? [])]);
      for (const d of ds)
        for (const sp of [d.span, ...(d.notes ?? []).flatMap((n) => (n.span ? [n.span] : []))]) {
          const f = files.get(sp.file);
          if (f) expect(sp.end, `${d.code} in ${sp.file}`).toBeLessThanOrEqual(f.text.length);
          else expect(sp.file).toBe('--set');
        }
    });
  }
});

function model(text: string, sets?: ReadonlyMap<string, number>, path = 'dir/t.recmodel'): Model {
  const p = parse(sourceFile(path, text));
  expect(p.diagnostics).toEqual([]);
  const c = check(p.program!, sets ? { sets } : undefined);
  expect(c.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  return c.model!;
}

const BASE = `index user, item
data ratings(user: user, item: item, rating: float) from "r.tsv" format tsv
dim d = 4
const a = 2, b = a * 3
param U[user, d] ~ normal(0, 0.1)
param V[item, d] ~ uniform(-b, b)
loss fit = mean((u, i, r) in ratings: (r - U[u] . V[i])^2)
`;

describe('deep nesting', () => {
  it('is a diagnostic, not a crash', () => {
    for (const text of ['loss f = ' + '('.repeat(20000) + '1' + ')'.repeat(20000), 'loss f = 1' + ' + 1'.repeat(30000)]) {
      const p = parse(sourceFile('deep.recmodel', text));
      const ds = p.program ? check(p.program).diagnostics : p.diagnostics;
      expect(ds.length).toBeGreaterThan(0);
    }
  });
});

describe('the checked model', () => {
  it('builds the flagship example', () => {
    const text = readFileSync(new URL('../examples/mf-gramian.recmodel', import.meta.url), 'utf8');
    const m = model(text, undefined, 'examples/mf-gramian.recmodel');
    expect(m.name).toBe('mf_gramian');
    expect(m.terms.map((t) => `${t.role} ${t.name}`)).toEqual(['loss omse', 'reg l2', 'reg gram']);
    expect(m.train).toEqual({
      optimizer: { kind: 'adam', lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8 },
      schedule: { kind: 'constant' },
      length: { unit: 'steps', count: 300 },
      batch: { kind: 'full' },
      seed: 42,
    });
    expect(m.evaluate).toEqual({ metrics: [{ name: 'rmse' }, { name: 'mae' }], every: { unit: 'steps', count: 50 } });
    expect(m.relations[0]!.source).toEqual({ kind: 'file', path: 'data/synthetic-ratings.tsv', format: 'tsv' });
    expect(m.params.map((p) => p.shape)).toEqual([
      [{ kind: 'domain', name: 'user' }, { kind: 'dim', name: 'd', size: 32 }],
      [{ kind: 'domain', name: 'item' }, { kind: 'dim', name: 'd', size: 32 }],
    ]);
  });

  it('fills defaults', () => {
    const m = model(BASE);
    expect(m.name).toBe('t');
    expect(m.train).toEqual({ optimizer: { kind: 'sgd', lr: 0.01, momentum: 0 }, schedule: { kind: 'constant' }, length: { unit: 'epochs', count: 10 }, batch: { kind: 'full' }, seed: 42 });
    expect(m.evaluate).toEqual({ metrics: [], every: undefined });
    expect(m.split).toBeUndefined();
    expect([...m.consts]).toEqual([['a', 2], ['b', 6]]);
    expect(m.params[1]!.init).toEqual({ kind: 'uniform', lo: -6, hi: 6 });
  });

  it('reads optimizers, schedules, batches and splits', () => {
    const m = model(
      BASE +
        `split ratings: kfold 5 fold 2
train { optimizer adam(lr = 0.001, beta2 = 0.99) schedule exponential(0.99) epochs 3 batch 256 users seed 7 }
def score(u, i) = U[u] . V[i]
evaluate { metrics recall@10, ndcg@20, mrr every 2 epochs }`,
    );
    expect(m.train.optimizer).toEqual({ kind: 'adam', lr: 0.001, beta1: 0.9, beta2: 0.99, eps: 1e-8 });
    expect(m.train.schedule).toEqual({ kind: 'exponential', factor: 0.99 });
    expect(m.train.batch).toEqual({ kind: 'users', size: 256, domain: 'user' });
    expect(m.train.seed).toBe(7);
    expect(m.split).toEqual({ kind: 'kfold', relation: 'ratings', k: 5, fold: 2, seed: 42 });
    expect(m.evaluate.metrics).toEqual([{ name: 'recall', k: 10 }, { name: 'ndcg', k: 20 }, { name: 'mrr' }]);
    expect(model(BASE + 'train { optimizer adagrad(0.1) batch 64 }').train.optimizer).toEqual({ kind: 'adagrad', lr: 0.1, eps: 1e-10 });
    expect(model(BASE + 'split ratings: holdout 0.1 per user').split).toEqual({ kind: 'holdout', relation: 'ratings', fraction: 0.1, seed: 42, byTime: false, perUser: true });
  });

  it('applies --set to consts (and what depends on them) and dims', () => {
    const m = model(BASE, new Map([['a', 5], ['d', 16]]));
    expect([...m.consts]).toEqual([['a', 5], ['b', 15]]);
    expect(m.dims.get('d')).toBe(16);
    expect(m.params[0]!.shape[1]).toEqual({ kind: 'dim', name: 'd', size: 16 });
  });

  it('keeps derived relations with their base columns', () => {
    const m = model(BASE + 'data likes = ratings where rating >= 4\nloss l = sum((u, i) in likes: U[u] . V[i])');
    const likes = m.relations.find((r) => r.name === 'likes')!;
    expect(likes.columns).toEqual(m.relations[0]!.columns);
    expect(likes.source.kind).toBe('derived');
  });
});

describe('the diagnostic catalogue', () => {
  const fixtures = [
    ...loadFixtures(dir),
    ...loadFixtures(new URL('./golden/syntax/', import.meta.url).pathname),
    ...loadFixtures(new URL('./golden/compile/', import.meta.url).pathname),
  ];
  // RC0530 and up are reported after checking (lowering, rewriting: compile.ts), not by the front end
  const frontEnd = Object.keys(messages).filter((c) => c < 'RC0530');
  it('has a golden fixture for every front-end code', () => {
    const seen = new Set(fixtures.flatMap((f) => [...(f.expected ?? '').matchAll(/^(?:error|warning)\[(RC\d{4})\]/gm)].map((m) => m[1]!)));
    expect(frontEnd.filter((c) => !seen.has(c))).toEqual([]);
    for (const c of seen) expect(isCode(c), c).toBe(true);
  });
  it('has at least 40 invalid fixtures', () => {
    expect(fixtures.filter((f) => !f.name.startsWith('valid-')).length).toBeGreaterThanOrEqual(40);
  });
});

// Spaces and tensors are typed values (compiler/ir/spaces.ts): no module reads meaning out of a name.
// A user's relations, columns and domains may be called anything the lexer allows — `pos`, `row`,
// `val`, `total`, `rows` — and none of them can trigger a rewrite meant for the compiler's own
// spaces: fm-pairwise recognises its ordering guard as ord(n₁) < ord(n₂), never a data column.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileSource, type Compiled } from '../compiler/compile.ts';
import { evalScalar, type Env } from '../compiler/ir/interp.ts';
import { displayName, publicSizes, totalKey } from '../compiler/ir/spaces.ts';
import { nodes } from '../compiler/ir/walk.ts';
import { GpuBackend } from '../runtime/backends/backends.ts';
import { repoRoot } from '../runtime/data/data-paths.ts';
import { prng, randomEnv, relErr } from './helpers/ir-env.ts';

function compiled(text: string, sizes: ReadonlyMap<string, number>): Compiled {
  const r = compileSource('lookalike.recmodel', text, { sizes });
  if (!r.compiled) throw new Error(r.diagnostics.map((d) => d.message).join('\n'));
  return r.compiled;
}

// Σ over ordered pairs of tuples by a user column `pos`: with ties in `pos` this is not half the sum
// over distinct pairs, so the FM identity must not be applied to it (it was, when the guard was
// recognised by a `.pos` name suffix).
const DENSE = `
model lookalike
index user, total
data rows(user: user, total: total, pos: float, row: float, val: float) from "rows.tsv" format tsv
dim d = 2
param U[user, d] ~ normal(0, 0.1)
param b[total] = 0
loss pairs = sum((u, i, p, r, x) in rows, (v, j, q, s, y) in rows: (p < q) * (U[u] . U[v]) * r * s)
loss vals = mean((u, i, p, r, x) in rows: (x - b[i] - |total|)^2)
train { optimizer sgd(lr = 0.1) steps 1 }
`;

describe('a user column named `pos` (and other internal-looking names)', () => {
  const sizes = new Map([['user', 5], ['total', 3], ['rows', 9], ['d', 2]]);
  const c = compiled(DENSE, sizes);
  const env = (seed: number): Env => {
    const e = randomEnv(
      { sizes: Object.fromEntries(sizes), tensors: { U: ['user', 'd'], b: ['total'] }, relations: { rows: { ids: { user: 'user', total: 'total' }, values: ['pos', 'row', 'val'] } } },
      seed,
    );
    // many ties in `pos`: the wrongly applied identity would count tied pairs half
    const rnd = prng(seed + 1);
    const tensors = new Map(e.tensors);
    tensors.set('rows.pos', { data: Float64Array.from({ length: 9 }, () => Math.floor(rnd() * 2)), shape: ['rows'] });
    return { ...e, tensors };
  };

  it('does not trigger fm-pairwise; the ordered-pair guard stays', () => {
    const pairs = c.terms.find((t) => t.name === 'pairs')!;
    expect(pairs.steps.map((s) => s.rule)).not.toContain('fm-pairwise');
    expect(nodes(pairs.expr).some((x) => x.op === 'cmp' && x.cmp === '<')).toBe(true);
    for (const g of c.grads) expect(g.steps.map((s) => s.rule)).not.toContain('fm-pairwise');
  });

  it('evaluates, rewritten and as kernels, equal to the interpreter on the written form', () => {
    const backend = new GpuBackend('cpu', c.module.spaces);
    try {
      for (const seed of [1, 2, 3]) {
        const e = env(seed);
        for (const t of c.terms) {
          const want = evalScalar(t.written, e);
          expect(relErr(evalScalar(t.expr, e), want), `${t.name} seed ${seed}`).toBeLessThan(1e-9);
          expect(relErr(backend.scalar(t.expr, e), want), `${t.name} kernels seed ${seed}`).toBeLessThan(1e-4);
        }
      }
    } finally {
      backend.dispose();
    }
  });

  it('keeps user spaces apart from the size symbols of others: |total| is the domain, not a count', () => {
    expect(c.module.spaces.get('total')).toEqual({ kind: 'domain', name: 'total' });
    expect(c.module.spaces.get('rows')?.kind).toBe('relation');
    expect(new Map(publicSizes(c.module.spaces, c.sizes))).toEqual(new Map([['user', 5], ['total', 3], ['rows', 9], ['d', 2]]));
    expect(c.sizes.get(totalKey('rows'))).toBe(9);
  });
});

// The FM model with its label called `pos`: the pair guard of `j < l in x` still fires fm-pairwise,
// and the user's own `pos` comparison (another term) still does not.
const FM = `
model fm_lookalike
index feature
data clicks(pos: float, x: sparse feature) from "clicks.libsvm" format libsvm
dim k = 2
param V[feature, k] ~ normal(0, 0.05)
loss fm = mean((p, x) in clicks: (p - sum(j < l in x: (V[j] . V[l]) * x[j] * x[l]))^2)
loss order = sum((p, x) in clicks, (q, y) in clicks: (p < q) * (sum(j in x: x[j]) * sum(l in y: y[l])))
param w[feature] ~ normal(0, 0.1)
loss asym = mean((p, x) in clicks: sum(j < l in x: w[j] * x[l]))
train { optimizer sgd(lr = 0.1) steps 1 }
`;

describe('sparse entries are typed, whatever the user columns are called', () => {
  const c = compiled(FM, new Map([['feature', 50], ['clicks', 1000], ['clicks~x', 8000]]));

  it('the entries space says what it is, and prints as the model names it', () => {
    const e = [...c.module.spaces.values()].find((s) => s.kind === 'entries')!;
    expect(e).toMatchObject({ kind: 'entries', rel: 'clicks', col: 'x', domain: 'feature' });
    expect(displayName(e)).toBe('clicks.x');
  });

  it('fm-pairwise fires on `j < l in x` and not on the user comparison `p < q`', () => {
    const rules = (name: string): string[] => c.terms.find((t) => t.name === name)!.steps.map((s) => s.rule);
    expect(rules('fm')).toContain('fm-pairwise');
    expect(rules('order')).not.toContain('fm-pairwise');
    // w_j·x_l is not symmetric in (j, l): the identity does not apply and the ord guard stays
    expect(rules('asym')).not.toContain('fm-pairwise');
    expect(nodes(c.terms.find((t) => t.name === 'asym')!.expr).some((x) => x.op === 'ord')).toBe(true);
  });

  it('the ord guard, where it stays, runs in kernels as in the interpreter', () => {
    const E = 'clicks~x';
    const backend = new GpuBackend('cpu', c.module.spaces);
    try {
      for (const seed of [4, 5]) {
        const env = randomEnv(
          {
            sizes: { feature: 6, clicks: 4, [E]: 11, k: 2 },
            tensors: { V: ['feature', 'k'], w: ['feature'] },
            relations: { clicks: { ids: {}, values: ['pos'] }, [E]: { ids: { row: 'clicks', feat: 'feature' }, values: ['val'] } },
          },
          seed,
        );
        for (const t of c.terms) {
          const want = evalScalar(t.written, env);
          expect(relErr(evalScalar(t.expr, env), want), `${t.name} seed ${seed}`).toBeLessThan(1e-9);
          expect(relErr(backend.scalar(t.expr, env), want), `${t.name} kernels seed ${seed}`).toBeLessThan(1e-4);
        }
      }
    } finally {
      backend.dispose();
    }
  });
});

describe('every space prints in the model\'s own words', () => {
  it('sample sets by their variable, touched rows by their param; no internal name is shown', () => {
    const text = readFileSync(join(repoRoot(), 'examples', 'sampled-softmax.recmodel'), 'utf8');
    const r = compileSource('sampled-softmax.recmodel', text);
    const spaces = [...r.compiled!.module.spaces.values()];
    expect(spaces.filter((s) => s.kind === 'samples').map(displayName)).toEqual(['J']);
    expect(spaces.filter((s) => s.kind === 'touched-rows').map(displayName).sort()).toEqual(['rows(U)', 'rows(V)']);
    for (const s of spaces) expect(displayName(s)).toMatch(/^[A-Za-z_][A-Za-z0-9_.()]*$/);
  });
});

// Static guard: no module of the compiler or the runtime tests a string's shape against the
// characters internal names are made of (`~`, `#`) or against a column suffix such as `.pos`.
describe('no module parses meaning out of a name', () => {
  const files = (dir: string): string[] =>
    readdirSync(dir).flatMap((f) => {
      const p = join(dir, f);
      return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
    });
  const SHAPE_TEST = /\.(includes|startsWith|endsWith|indexOf|lastIndexOf|split)\(\s*(['"`])[^'"`]*([~#]|\.pos)[^'"`]*\2/;

  it('finds no includes/startsWith/endsWith/indexOf/split on `~`, `#` or `.pos`', () => {
    const hits: string[] = [];
    for (const dir of ['compiler', 'runtime']) {
      for (const f of files(join(repoRoot(), dir))) {
        readFileSync(f, 'utf8').split('\n').forEach((line, n) => {
          if (SHAPE_TEST.test(line)) hits.push(`${f}:${n + 1}: ${line.trim()}`);
        });
      }
    }
    expect(hits).toEqual([]);
  });
});

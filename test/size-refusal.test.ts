// A model too large to hold (10^9 rows × d = 512: 512,000,000,000 cells, 1.9 TiB as float32) is
// refused with its size and RC0553, never an internal error: by `check` when the rows are a dim, and by
// `compile` at the data's sizes when they are a domain (what `recc run` compiles with after loading).
// Nothing of that size is allocated: the refusal comes from the shapes alone.
import { describe, expect, it } from 'vitest';
import { checkSource, compileSource } from '../compiler/compile.ts';

const model = (rows: string) => `model huge
index user, item
data ratings(user: user, item: item, rating: float) from "r.tsv" format tsv
dim d = 512
${rows}
param U[user, d] ~ normal(0, 0.1)
param V[item, d] ~ normal(0, 0.1)
loss mse = mean((u, i, r) in ratings: (r - U[u] . V[i])^2)
`;

describe('a model too large to fit', () => {
  it('is refused by check with its size when its rows are a dim', () => {
    const text = model('dim n = 1000000000\nparam W[n, d] = 0').replace('^2)\n', '^2) + sum(W^2)\n');
    const r = checkSource('huge.recmodel', text);
    const errors = r.diagnostics.filter((d) => d.severity === 'error');
    expect(errors.map((d) => d.code)).toEqual(['RC0553']);
    expect(errors[0]!.message).toBe('param `W` is too large to run: |n| 1,000,000,000 × |d| 512 = 512,000,000,000 cells (1.9 TiB as float32)');
    // the caret is on the param's name
    expect(text.slice(errors[0]!.span!.start, errors[0]!.span!.end)).toBe('W');
  });

  it('is refused at the data\'s sizes when its rows are a domain of 10^9 ids', () => {
    const sizes = new Map([['user', 1_000_000_000], ['item', 1000], ['ratings', 1_000_000]]);
    const r = compileSource('huge.recmodel', model(''), { sizes });
    expect(r.compiled).toBeUndefined();
    const errors = r.diagnostics.filter((d) => d.severity === 'error');
    expect(errors.map((d) => d.code)).toEqual(['RC0553']);
    expect(errors[0]!.message).toContain('param `U` is too large to run: |user| 1,000,000,000 × |d| 512 = 512,000,000,000 cells (1.9 TiB as float32) at the data\'s sizes');
  });

  it('is accepted at the limit: 2^32 cells (8,388,608 × 512) is the one tensor limit, not 2^24', () => {
    // 2^24 cells was gpu.js's float32 index limit; js kernels index with integers
    const sizes = new Map([['user', 8_388_608], ['item', 1000], ['ratings', 1_000_000]]);
    const r = compileSource('huge.recmodel', model(''), { sizes });
    expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(r.compiled).toBeDefined();
  });
});

// Lowering of the `max` and `min` aggregations (IR `reduce` nodes) and of the max-shifted
// logsumexp: every binding form a sum has except a sparse row's features, never scaled by N/B over a
// mini-batch, and a logsumexp whose gradient carries no ∂max term.
import { describe, expect, it } from 'vitest';
import { compileSource, type Compiled } from '../compiler/compile.ts';
import type { Expr } from '../compiler/ir/nodes.ts';
import { printIR } from '../compiler/ir/print.ts';
import { nodes } from '../compiler/ir/walk.ts';

const PREAMBLE = `
import "std/losses"
index user, item
data likes(user: user, item: item, rating: float) from "likes.tsv" format tsv
dim d = 4
const margin = 1
param U[user, d] ~ normal(0, 0.1)
param V[item, d] ~ normal(0, 0.1)
def score(u, i) = U[u] . V[i]
`;

function compile(body: string, train = 'train { optimizer adam(lr = 0.01) steps 1 batch 32 seed 1 }'): { compiled: Compiled | undefined; codes: string[]; messages: string[] } {
  // --allow-dense: a min over every (user, item) pair is all-pairs work, and RC0530 says so
  const r = compileSource('max-min.recmodel', `${PREAMBLE}\n${body}\n${train}\n`, { allowDense: true });
  return { compiled: r.compiled, codes: r.diagnostics.map((d) => d.code), messages: r.diagnostics.map((d) => d.message) };
}

const reductions = (e: Expr) => nodes(e).filter((n) => n.op === 'reduce');

describe('max and min aggregations lower', () => {
  it('`max(j in J: …)` over a sample set (the docs example) compiles to a max over the set', () => {
    const { compiled, codes } = compile('loss top = mean((u, i) in likes, J ~ uniform(item) x 10: max(j in J: hinge(score(u, i), score(u, j), margin)))');
    // the gradient by V reaches the argmax sample's row, a scatter: the gather-only planner computes
    // it per row of V, over 4× the term, and RC0532 (a warning) says so
    expect(codes).toEqual(['RC0532']);
    const rs = reductions(compiled!.module.terms[0]!.expr);
    expect(rs.map((r) => (r.op === 'reduce' ? `${r.fn} over ${r.over.map((i) => i.space).join(',')}` : ''))).toEqual(['max over J~']);
    // the subgradient picks the argmax sample
    const gv = compiled!.grads.find((g) => g.param === 'V')!;
    expect(printIR(gv.expr)).toContain('argmax(');
  });

  it('over domains, dims and relation tuples; `min` alike', () => {
    const { compiled, codes } = compile(
      [
        'loss worst = mean((u, i) in likes: max(j in item: score(u, j)) - score(u, i))',
        'reg low = 0.1 * mean(u in user: -min(f in d: U[u, f]))',
        'reg peak = 0.1 * max((u, i) in likes: score(u, i)^2)',
        'reg pair = 0.1 * min(u in user, i in item: score(u, i))',
      ].join('\n'),
      'train { optimizer adam(lr = 0.01) steps 1 batch full seed 1 }',
    );
    // RC0530: `pair` is all-pairs work; RC0531: `worst` loops over every item for each tuple
    expect(codes).toEqual(['RC0530', 'RC0531']);
    expect(compiled).toBeDefined();
    const fns = compiled!.module.terms.map((t) => reductions(t.expr).map((r) => (r.op === 'reduce' ? `${r.fn}:${r.over.map((i) => i.space).join(',')}` : '')));
    expect(fns).toEqual([['max:item'], ['min:d'], ['max:likes'], ['min:item,user']]);
  });

  it('a max over a mini-batch of tuples is not scaled by N/B (a sum over it is)', () => {
    const { compiled } = compile('loss peak = max((u, i) in likes: score(u, i)^2)\nloss total = sum((u, i) in likes: score(u, i)^2)');
    const [peak, total] = compiled!.module.terms.map((t) => printIR(t.expr));
    expect(peak).toMatch(/^max\(t\d* in likes: /);
    expect(peak).not.toMatch(/\|likes\||B\(likes\)/);
    expect(total).toContain('B(likes)^(-1)');
    expect(total).toContain('|likes|');
  });

  it('over a sparse row\'s features: RC0590, for that form only', () => {
    const r = compileSource(
      'sparse.recmodel',
      `index feature
data clicks(label: float, x: sparse feature) from "ctr.libsvm" format libsvm
param w[feature] = 0
loss l = mean((y, x) in clicks: softplus(-y * max(j in x: w[j] * x[j])))
loss m = mean((y, x) in clicks: softplus(-y * sum(j in x: w[j] * x[j])))
`,
    );
    expect(r.diagnostics.map((d) => `${d.code} ${d.message}`)).toEqual(['RC0590 the `max` aggregation over the features of a sparse row is not supported yet']);
  });
});

describe('logsumexp', () => {
  it('is shifted by the max, and its gradients carry no ∂max (argmax) term', () => {
    const { compiled, codes } = compile(
      'loss ssm = mean((u, i) in likes, J ~ pop(item, 0.75) x 10: sampled_softmax(score(u, i), logq(i), logsumexp(j in J: corrected(score(u, j), logq(j)))))',
    );
    expect(codes).toEqual([]);
    expect(reductions(compiled!.module.terms[0]!.expr).map((r) => (r.op === 'reduce' ? r.fn : ''))).toEqual(['max']);
    for (const g of compiled!.grads) {
      expect(nodes(g.written).some((n) => n.op === 'cmp' || (n.op === 'reduce' && n.fn === 'argmax')), `∂/∂${g.param}: ${printIR(g.written)}`).toBe(false);
    }
  });
});

// Golden rewritten forms, written in the DSL and compared up to renaming of bound indices: what
// simplify → expand+contract → split-default → fm-pairwise make of the classic all-pairs and pair
// terms. Each model has one loss; sizes are fixed here, since the cost model picks the forms.
import { describe, it } from 'vitest';
import { compileSource } from '../../compiler/compile.ts';
import type { Expr } from '../../compiler/ir/nodes.ts';
import { entriesName } from '../../compiler/ir/spaces.ts';
import { expectSameForm, scopeOf } from '../helpers/rewrites.ts';

const MF = `model golden
index user, item
data ratings(user: user, item: item, rating: float) from "r.tsv" format tsv
dim d = 8
param U[user, d] ~ normal(0, 0.1)
param V[item, d] ~ normal(0, 0.1)
param bu[user] = 0
param bi[item] = 0
param h[d] = 1
`;
const FM = `model golden
index feature
data clicks(label: float, x: sparse feature) from "c.libsvm" format libsvm
dim k = 4
param V[feature, k] ~ normal(0, 0.05)
`;
const SIZES = new Map([['user', 1000], ['item', 1000], ['ratings', 100_000], ['feature', 1000], ['clicks', 100_000], [entriesName('clicks', 'x'), 100_000]]);

/** The rewritten loss of `model + loss`, or the gradient of its objective by `param`; with the scope to read the expectation in. */
function rewritten(model: string, loss: string, param?: string) {
  const r = compileSource('golden.recmodel', `${model}loss golden = ${loss}\n`, { sizes: SIZES });
  if (!r.compiled) throw new Error(r.diagnostics.map((d) => d.message).join('\n'));
  const c = r.compiled;
  const g = param === undefined ? undefined : c.grads.find((x) => x.param === param)!;
  const expr: Expr = g ? g.expr : c.terms[0]!.expr;
  const free = Object.fromEntries((g?.out ?? []).map((i) => [i.name, i.space]));
  return { expr, scope: scopeOf(c.module, free) };
}

const golden = (model: string, loss: string, want: string, param?: string): void => {
  const { expr, scope } = rewritten(model, loss, param);
  expectSameForm(expr, want, scope);
};

describe('golden rewritten forms', () => {
  it('Gramian: Σ_{u,i} (U_u·V_i)² = ⟨UᵀU, VᵀV⟩', () =>
    golden(MF, 'sum(u in user, i in item: (U[u] . V[i])^2)', 'sum(k in d, l in d: sum(u in user: U[u,k]*U[u,l])*sum(i in item: V[i,k]*V[i,l]))'));

  it('bias cross terms: Σ_{u,i} (U_u·V_i + bu_u + bi_i)²', () =>
    golden(
      MF,
      'sum(u in user, i in item: (U[u] . V[i] + bu[u] + bi[i])^2)',
      'sum(k in d, l in d: sum(u in user: U[u,k]*U[u,l])*sum(i in item: V[i,k]*V[i,l]))' +
        ' + 2*sum(k in d: sum(i in item: V[i,k])*sum(u in user: U[u,k]*bu[u]))' +
        ' + 2*sum(k in d: sum(u in user: U[u,k])*sum(i in item: V[i,k]*bi[i]))' +
        ' + |item|*sum(u in user: bu[u]^2) + 2*sum(i in item: bi[i])*sum(u in user: bu[u]) + |user|*sum(i in item: bi[i]^2)',
    ));

  it('h weights: Σ_{u,i} (Σ_k U_uk V_ik h_k)²', () =>
    golden(
      MF,
      'sum(u in user, i in item: sum(k in d: U[u, k] * V[i, k] * h[k])^2)',
      'sum(l in d: h[l]*sum(k in d: h[k]*sum(u in user: U[u,k]*U[u,l])*sum(i in item: V[i,k]*V[i,l])))',
    ));

  it('split-default: membership-weighted squares split into all pairs at 0.1 plus a correction on ratings', () =>
    golden(
      MF,
      'sum(u in user, i in item: ((u, i) in ratings ? 1 : 0.1) * (U[u] . V[i])^2)',
      'sum(t in ratings: 0.9*sum(k in d: U[ratings.user[t],k]*V[ratings.item[t],k])^2)' +
        ' + 0.1*sum(k in d, l in d: sum(u in user: U[u,k]*U[u,l])*sum(i in item: V[i,k]*V[i,l]))',
    ));

  it('FM pairs: Σ_{j<l} ⟨V_j, V_l⟩ x_j x_l per row = ½ (Σ_f (Σ_j V_jf x_j)² − Σ_j ‖V_j‖² x_j²)', () =>
    golden(
      FM,
      'sum((y, x) in clicks: softplus(sum(j < l in x: (V[j] . V[l]) * x[j] * x[l])))',
      '|clicks|*B(clicks)^(-1)*sum(t in clicks: softplus(0.5*(' +
        '-sum(n in clicks~x: δ(clicks~x.row[n], t)*sum(f in k: V[clicks~x.feat[n],f]^2)*clicks~x.val[n]^2)' +
        ' + sum(f in k: sum(n in clicks~x: V[clicks~x.feat[n],f]*clicks~x.val[n]*δ(clicks~x.row[n], t))*sum(m in clicks~x: V[clicks~x.feat[m],f]*clicks~x.val[m]*δ(clicks~x.row[m], t))))))',
    ));

  it('the gradient of the Gramian term: ∂/∂U = 2·U(VᵀV)', () =>
    golden(MF, 'sum(u in user, i in item: (U[u] . V[i])^2)', "2*sum(k in d: U[a',k]*sum(i in item: V[i,k]*V[i,b']))", 'U'));
});

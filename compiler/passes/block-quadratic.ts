// block-quadratic: may ALS update a param block exactly, and with which equations? `optimizer als`
// minimizes the objective over one param (a block) at a time, every row at once. That is exact when,
// with the other params fixed,
//   1. the objective is a polynomial of degree ≤ 2 in the block (then its Hessian is constant in it),
//      and of degree 2 (degree ≤ 1 has no minimizer) — proved on the IR by `polynomialDegree`, which
//      names the first subterm that is not a polynomial (`softplus(…)`, a division by the block, …);
//   2. its rows do not couple: ∂²L/∂P[a,·]∂P[b,·] = 0 for a ≠ b — proved from the symbolic second
//      derivative (autodiff/hessian.ts `crossHessian`): every product in it carries δ factors that
//      chain a to b (δ(a, ratings.user[t])·δ(ratings.user[t], b), or δ(a, b) itself).
// A Gramian such as VᵀV in the whole-data loss Σ_{u,i} c·(y − U_u·V_i)² or in the book chapter's
// Σ_{u,i}(U_u·V_i)² never couples U's rows: each pair (u, i) holds one row of U, so its ∂²/∂U_u∂U_u'
// carries δ(u, u'). Solving for U it is a constant (it does not involve U) — exact, as in
// implicit's ALS and eALS, not an approximation. The same Gramian solving for V is UᵀU, likewise.
// `deriveBlock` then gives H_r (rows × n × n) and g_r(0) (rows × n) for the trainer to solve.
import type { Model } from '../check/model.ts';
import type { Diagnostic } from '../diagnostics/diagnostics.ts';
import { rowHessian, crossHessian, atZero } from '../autodiff/hessian.ts';
import { grad } from '../autodiff/grad.ts';
import type { IRModule, ParamDecl } from '../ir/module.ts';
import { idx, type Expr, type Idx, type Ix } from '../ir/nodes.ts';
import { printForm } from '../ir/print.ts';
import { publicNames } from '../ir/spaces.ts';
import { children } from '../ir/walk.ts';
import { simplify } from './simplify.ts';

/** The degree of `e` as a polynomial in param `name`, or the first subterm that is not one. */
export type Degree = { readonly degree: number } | { readonly degree: typeof Infinity; readonly culprit: Expr; readonly why: string };

export function polynomialDegree(e: Expr, name: string): Degree {
  const memo = new Map<number, Degree>();
  const bad = (culprit: Expr, why: string): Degree => ({ degree: Infinity, culprit, why });
  const go = (x: Expr): Degree => {
    const hit = memo.get(x.id);
    if (hit) return hit;
    const r = degreeOf(x, go, name, bad);
    memo.set(x.id, r);
    return r;
  };
  return go(e);
}

function degreeOf(x: Expr, go: (y: Expr) => Degree, name: string, bad: (c: Expr, why: string) => Degree): Degree {
  const worst = (ds: readonly Degree[], combine: (a: number, b: number) => number): Degree => {
    let d = 0;
    for (const k of ds) {
      if (!Number.isFinite(k.degree)) return k;
      d = combine(d, k.degree);
    }
    return { degree: d };
  };
  switch (x.op) {
    case 'const':
    case 'size':
    case 'eq':
    case 'ord':
      return { degree: 0 };
    case 'tensor':
      return { degree: x.kind === 'param' && x.name === name ? 1 : 0 };
    case 'add':
      return worst(x.args.map(go), Math.max);
    case 'mul':
      return worst(x.args.map(go), (a, b) => a + b);
    case 'sum':
      return go(x.body);
    case 'pow': {
      const b = go(x.base);
      if (!Number.isFinite(b.degree) || b.degree === 0) return b;
      if (!Number.isInteger(x.exp) || x.exp < 0) return bad(x, x.exp < 0 ? 'a division by an expression of the block' : 'a fractional power of the block');
      return { degree: b.degree * x.exp };
    }
    case 'select': {
      const c = go(x.cond);
      if (!Number.isFinite(c.degree)) return c;
      if (c.degree > 0) return bad(x, 'a condition that depends on the block');
      return worst([go(x.a), go(x.b)], Math.max);
    }
    case 'call':
    case 'call2':
    case 'cmp':
    case 'reduce': {
      const inner = worst(children(x).map(go), Math.max);
      if (!Number.isFinite(inner.degree) || inner.degree === 0) return inner;
      return bad(x, x.op === 'call' ? `\`${x.fn}\` of an expression of the block` : x.op === 'reduce' ? `a ${x.fn} over an expression of the block` : 'a comparison or min/max of the block');
    }
  }
}

/**
 * Whether every product of `h` (a second derivative ∂²/∂P[a…]∂P[b…]) carries δ factors that chain
 * index `a` to index `b`, so that h = 0 whenever a ≠ b. Products are read in disjunctive form (sums
 * distributed, each select branch on its own); a bound index is renamed per sum node it is bound by,
 * so δ(u, a) in one Σ_u and δ(u, b) in a sibling Σ_u do not chain. Conservative: `false` when the
 * forms grow past `limit` (the caller then refuses the block).
 */
export function deltasChain(h: Expr, a: Idx, b: Idx, limit = 4096): boolean {
  type Alt = readonly (readonly [string, string])[];
  let scopes = 0;
  let tooMany = false;
  const key = (i: Idx, scope: ReadonlyMap<string, string>): string => scope.get(`${i.name}:${i.space}`) ?? `${i.name}:${i.space}`;
  const ixKey = (x: Ix, scope: ReadonlyMap<string, string>): string => (x.kind === 'var' ? key(x.idx, scope) : `${x.rel}.${x.col}@${key(x.t, scope)}`);
  const alts = (e: Expr, scope: ReadonlyMap<string, string>): Alt[] => {
    switch (e.op) {
      case 'const':
        return e.value === 0 ? [] : [[]];
      case 'eq':
        return [[[ixKey(e.a, scope), ixKey(e.b, scope)]]];
      case 'add':
        return e.args.flatMap((x) => alts(x, scope));
      case 'mul': {
        let acc: Alt[] = [[]];
        for (const f of e.args) {
          const fa = alts(f, scope);
          const next: Alt[] = [];
          for (const x of acc) for (const y of fa) next.push([...x, ...y]);
          if (next.length > limit) {
            tooMany = true;
            return [[]];
          }
          acc = next;
        }
        return acc;
      }
      case 'sum': {
        const inner = new Map(scope);
        const id = ++scopes;
        for (const i of e.over) inner.set(`${i.name}:${i.space}`, `${i.name}:${i.space}#${id}`);
        return alts(e.body, inner);
      }
      case 'pow':
        return e.exp > 0 ? alts(e.base, scope) : [[]];
      case 'select':
        return [...alts(e.a, scope), ...alts(e.b, scope)];
      default:
        return [[]];
    }
  };
  const forms = alts(h, new Map());
  if (tooMany) return false;
  const ka = `${a.name}:${a.space}`;
  const kb = `${b.name}:${b.space}`;
  return forms.every((edges) => {
    const parent = new Map<string, string>();
    const find = (x: string): string => {
      let r = x;
      while (parent.has(r)) r = parent.get(r)!;
      return r;
    };
    for (const [x, y] of edges) {
      const rx = find(x);
      const ry = find(y);
      if (rx !== ry) parent.set(rx, ry);
    }
    return find(ka) === find(kb);
  });
}

/** Whether a param has a row axis (its first axis is an index domain): then each row is its own problem. */
export function hasRowAxis(p: ParamDecl, spaces: IRModule['spaces']): boolean {
  return p.shape.length > 0 && spaces.get(p.shape[0]!)?.kind === 'domain';
}

/** The blocks `optimizer als` updates, in order: `blocks …` as written, else every param as declared. */
export function alsBlocks(model: Model, module: IRModule): ParamDecl[] {
  const opt = model.train.optimizer;
  if (opt.kind !== 'als') return [];
  const order = opt.blocks ?? module.params.map((p) => p.name);
  return order.flatMap((n) => module.params.filter((p) => p.name === n));
}

/** Output indices a', b', … over a param's axes (as compile.ts names a gradient's). */
export function paramOut(p: ParamDecl): Idx[] {
  return p.shape.map((s, j) => idx(`${String.fromCharCode(97 + j)}'`, s));
}

const MAX_SHOWN = 90;
const shorten = (s: string): string => (s.length > MAX_SHOWN ? `${s.slice(0, MAX_SHOWN - 1)}…` : s);

/**
 * RC0561/RC0562 for a model trained by ALS: per block and per term, the term that is not a
 * polynomial of degree ≤ 2 in the block (named, with the offending subterm), the block in which the
 * objective is of degree < 2 (no minimizer), the term that couples the block's rows; and RC0561 for an
 * objective that draws samples (it changes every sweep, so no block minimizer is exact).
 */
export function alsDiagnostics(model: Model, module: IRModule): Diagnostic[] {
  if (model.train.optimizer.kind !== 'als') return [];
  const out: Diagnostic[] = [];
  const names = publicNames(module.spaces, module.samplers);
  const termSpan = (name: string) => model.terms.find((t) => t.name === name)!.decl.name.span;
  const paramSpan = (name: string) => model.params.find((p) => p.name === name)!.decl.name.span;
  const help = 'train it with a gradient optimizer instead, e.g. `optimizer adam(lr = 0.01)`';
  if (module.samplers.length > 0) {
    const first = module.terms.find((t) => t.expr) ?? module.terms[0];
    out.push({
      code: 'RC0561', severity: 'error', span: first ? termSpan(first.name) : paramSpan(module.params[0]!.name),
      message: 'the objective draws samples, so it changes every sweep and ALS has no exact block minimizer',
      label: 'draws samples', help,
    });
    return out;
  }
  for (const p of alsBlocks(model, module)) {
    let top = 0;
    let broken = false;
    for (const t of module.terms) {
      const d = polynomialDegree(t.expr, p.name);
      if ('culprit' in d) {
        broken = true;
        out.push({
          code: 'RC0561', severity: 'error', span: termSpan(t.name),
          message: `${t.role} \`${t.name}\` is not quadratic in \`${p.name}\`: ${shorten(printForm(d.culprit, { names }))}`,
          label: `not a polynomial in \`${p.name}\``,
          notes: [{ message: `${d.why}; ALS solves for one block at a time in closed form, which needs the objective to be of degree at most 2 in it` }],
          help,
        });
        continue;
      }
      if (d.degree > 2) {
        broken = true;
        out.push({
          code: 'RC0561', severity: 'error', span: termSpan(t.name),
          message: `${t.role} \`${t.name}\` is of degree ${d.degree} in \`${p.name}\`, not quadratic`,
          label: `degree ${d.degree} in \`${p.name}\``,
          notes: [{ message: 'ALS solves for one block at a time in closed form, which needs the objective to be of degree at most 2 in it' }],
          help,
        });
        continue;
      }
      top = Math.max(top, d.degree);
      if (d.degree === 2 && hasRowAxis(p, module.spaces) && !rowsSeparate(t.expr, p)) {
        broken = true;
        out.push({
          code: 'RC0562', severity: 'error', span: termSpan(t.name),
          message: `${t.role} \`${t.name}\` couples the rows of \`${p.name}\``,
          label: `couples rows of \`${p.name}\``,
          notes: [{ message: `its second derivative ∂²/∂${p.name}[a]∂${p.name}[b] is not zero for a ≠ b, so the rows cannot be solved one at a time` }],
          help,
        });
      }
    }
    if (!broken && top < 2) {
      out.push({
        code: 'RC0561', severity: 'error', span: paramSpan(p.name),
        message: `the objective is ${top === 0 ? 'constant' : 'linear'} in \`${p.name}\`, so it has no minimizer over it`,
        label: `ALS block \`${p.name}\``,
        help: 'add a quadratic term in it (an L2 regularizer), or leave it out of `blocks`',
      });
    }
  }
  return out;
}

/** Whether term `e` (degree 2 in p) leaves p's rows uncoupled: its ∂²/∂p[a]∂p[b] chains a to b. */
function rowsSeparate(e: Expr, p: ParamDecl): boolean {
  const out = paramOut(p);
  const g = grad(e, p.name, out);
  const { expr, other } = crossHessian(g, p.name, out);
  return deltasChain(simplify(expr), out[0]!, other[0]!);
}

/** A block's normal equations: H_r over [row?, k…, l…] and g_r(0) over [row?, k…], as written. */
export interface BlockEquations {
  readonly param: string;
  readonly hasRowAxis: boolean;
  readonly hessian: Expr;
  readonly hessianOut: readonly Idx[];
  readonly gradAtZero: Expr;
  readonly gradOut: readonly Idx[];
}

/**
 * H_r and g_r(0) of block `p` from the objective's simplified gradient ∂L/∂p[out…] (the one
 * compile.ts plans): the diagonal block of its derivative, and its value at p = 0.
 */
export function deriveBlock(gradient: Expr, p: ParamDecl, out: readonly Idx[], spaces: IRModule['spaces']): BlockEquations {
  const rows = hasRowAxis(p, spaces);
  const { expr, inner } = rowHessian(gradient, p.name, out, rows);
  return {
    param: p.name,
    hasRowAxis: rows,
    hessian: simplify(expr),
    hessianOut: [...out, ...inner],
    gradAtZero: simplify(atZero(gradient, p.name)),
    gradOut: out,
  };
}

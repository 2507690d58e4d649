// A compilation does not depend on what the process compiled before it (issue 9, acceptance 5): the
// same model compiled alone, after another model, or twice in a row gives the same rewritten forms,
// the same kernel plans (each expression's, and the training step's group plan) and the same gpu.js
// kernel sources. Before, add/mul operands sorted by node creation id and fresh index names counted
// over the whole process, so both the printed forms and the summation order inside kernels (float32
// rounding) changed with history.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { emitKernel } from '../compiler/codegen/gpujs.ts';
import { compileSource, type Compiled } from '../compiler/compile.ts';
import { add, konst, mul, pow, tensor, v, idx, type Expr } from '../compiler/ir/nodes.ts';
import { printIR } from '../compiler/ir/print.ts';
import { planExpr, planGroup, type GroupPlan, type KernelPlan } from '../compiler/plan/plan.ts';
import { EXAMPLES_DIR } from './helpers/examples.ts';

/** node ids are identities, not structure: they may differ between equal compilations */
const noIds = (key: string, value: unknown): unknown => (key === 'id' ? undefined : value);

function kernels(p: KernelPlan | GroupPlan): string[] {
  return p.steps.filter((s) => s.kind === 'kernel').map((s) => emitKernel(s, p).source);
}

/** Everything a compilation hands to the runtime, as text: forms, rules, costs, plans, kernel sources. */
function fingerprint(c: Compiled): string {
  const exprs = [...c.terms.map((t) => ({ label: `${t.role} ${t.name}`, c: t, out: [] as const })), ...c.grads.map((g) => ({ label: `∂${g.param}`, c: g, out: g.out }))];
  const each = exprs.map(({ label, c: x, out }) => {
    const plan = planExpr(x.expr, out, c.module.spaces, c.sizes);
    return { label, written: printIR(x.written), rewritten: printIR(x.expr), rules: x.steps.map((s) => s.rule), cost: x.cost, plan, kernels: kernels(plan) };
  });
  const group = planGroup(
    exprs.map(({ c: x, out }) => ({ expr: x.expr, out })),
    c.module.spaces,
    c.sizes,
  );
  return JSON.stringify({ each, group, groupKernels: kernels(group) }, noIds);
}

function compileExample(name: string): string {
  const path = join(EXAMPLES_DIR, name);
  const r = compileSource(path, readFileSync(path, 'utf8'));
  if (!r.compiled) throw new Error(`${name} does not compile`);
  return fingerprint(r.compiled);
}

// pairs that share params, data columns and sampler shapes, so the second reuses nodes of the first
const PAIRS: readonly (readonly [string, string])[] = [
  ['mf-gramian.recmodel', 'mf-biased.recmodel'],
  ['fm.recmodel', 'bpr.recmodel'],
  ['enmf.recmodel', 'nce.recmodel'],
];

describe('the same model compiles to the same plans and kernels whatever was compiled before', () => {
  for (const [a, b] of PAIRS) {
    it(`${a} and ${b}: A alone, A after B, A after A; B after A and after A, B, A, A`, () => {
      const seen = new Map<string, string[]>([
        [a, []],
        [b, []],
      ]);
      for (const name of [a, b, a, a, b]) seen.get(name)!.push(compileExample(name));
      for (const [name, prints] of seen) {
        expect(prints.length).toBeGreaterThan(1);
        for (const p of prints.slice(1)) expect(p, `${name} compiled again`).toBe(prints[0]);
      }
      expect(seen.get(a)![0]).not.toBe(seen.get(b)![0]);
    });
  }
});

describe('canonical operand order is structural', () => {
  const U = tensor('param', 'U', [v(idx('u', 'user'))]);
  const V = tensor('param', 'V', [v(idx('i', 'item'))]);
  it('does not follow creation order: W0 built after W1 still sorts first', () => {
    const X = tensor('param', 'W1', [v(idx('w', 'item'))]);
    const W = tensor('param', 'W0', [v(idx('w', 'item'))]);
    // W is created after X (a higher id) and still comes first, whatever the argument order
    expect(mul(X, W)).toBe(mul(W, X));
    expect((mul(X, W) as Extract<Expr, { op: 'mul' }>).args).toEqual([W, X]);
    expect((add(X, W) as Extract<Expr, { op: 'add' }>).args).toEqual([W, X]);
  });
  it('puts the coefficient first and a power beside its base', () => {
    const e = mul(V, konst(3), pow(U, 2));
    expect(printIR(e)).toBe(printIR(mul(konst(3), pow(U, 2), V)));
    expect((e as Extract<Expr, { op: 'mul' }>).args.map((x) => x.op)).toEqual(['const', 'pow', 'tensor']);
  });
  it('is a total order: antisymmetric, and 0 only for the same node', () => {
    const xs = [U, V, pow(U, 2), pow(U, -1), add(U, V), mul(U, V), konst(2), konst(-1), add(U, konst(1)), mul(konst(2), U, V)];
    for (const x of xs) {
      for (const y of xs) {
        expect(Math.sign(((a: Expr, b: Expr) => a.id - b.id)(x, y)) + Math.sign(((a: Expr, b: Expr) => a.id - b.id)(y, x))).toBe(0);
        expect(((a: Expr, b: Expr) => a.id - b.id)(x, y) === 0).toBe(x === y);
      }
    }
  });
});

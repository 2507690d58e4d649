// lower: checked Model → IRModule. Inlines defs, turns `a . b` into Σ_k a_k·b_k, `mean` into a sum
// divided by the sizes of its iteration spaces, tuple bindings into a sum over the relation's tuples
// with id columns as gathers (`U[ratings.user[t], k]`), and whole-tensor reductions into sums over
// fresh indices. Input invariant: the model passed check/; constructs whose runtime support lands
// later are reported as RC0590 diagnostics, never thrown.
// This file is the entry: it wires one lowering's context (context.ts: spaces, samplers, fresh
// names) to expressions.ts, calls.ts and aggregate.ts (with bindings.ts and samplers.ts), and turns
// Unsupported into diagnostics. values.ts holds the lowered Values; def-memo.ts makes checking linear.
import type { Diagnostic } from '../diagnostics/diagnostics.ts';
import type { Model } from '../check/model.ts';
import type { IRModule, Space, Term } from '../ir/module.ts';
import type { Expr, Ix } from '../ir/nodes.ts';
import { entriesName } from '../ir/spaces.ts';
import { lowerAggregate } from './aggregate.ts';
import { lowerCall } from './calls.ts';
import { lowerState, type LowerCtx } from './context.ts';
import { pureDefNames } from './def-memo.ts';
import { lowerExpr } from './expressions.ts';
import { Unsupported, type SparseArg, type Value } from './values.ts';

export { EXCLUDE_RETRIES } from './samplers.ts';
export { sparseRowArg, type SparseArg } from './values.ts';

export interface LowerResult {
  readonly module: IRModule | undefined;
  readonly diagnostics: readonly Diagnostic[];
}

/** Lowers every loss and reg term of a checked model. */
export function lower(model: Model): LowerResult {
  return makeLowerer(model).lowerTerms();
}

/**
 * The diagnostics of `lower(model)` (RC0590) without its IR: what `recc check` reports. Lowering
 * inlines defs, so a chain of defs each calling the previous one costs its whole length at every
 * call; here a def applied again in the same situation is not lowered again (see `defMemoKey`), which
 * makes checking linear in the file. test/lower-diagnostics.test.ts compares it with `lower`.
 */
export function lowerDiagnostics(model: Model): readonly Diagnostic[] {
  return makeLowerer(model, { diagnosticsOnly: true }).lowerTerms().diagnostics;
}

export interface LowererOptions {
  /**
   * only the diagnostics are wanted: no IR is built (every IR constructor gives one placeholder
   * leaf), `lowerTerms` returns no module and `applyDef` a placeholder
   */
  readonly diagnosticsOnly?: boolean;
}

export interface Lowerer {
  readonly spaces: ReadonlyMap<string, Space>;
  lowerTerms(): LowerResult;
  /**
   * `def(args…)` with each argument an index position, e.g. score(test.user[t], test.item[t]) for
   * predictions, or score(u, i) with u, i free for ranking. Undefined (with a diagnostic) if the
   * def cannot be applied to those indices or is not scalar.
   */
  applyDef(name: string, args: readonly (Ix | SparseArg)[]): { expr: Expr | undefined; diagnostics: readonly Diagnostic[] };
}

export function makeLowerer(model: Model, opts: LowererOptions = {}): Lowerer {
  const diagnosticsOnly = opts.diagnosticsOnly === true;
  const ctx: LowerCtx = {
    ...lowerState(model, diagnosticsOnly),
    lowerExpr: (e, scope, stack) => lowerExpr(ctx, e, scope, stack),
    lowerCall: (e, scope, stack) => lowerCall(ctx, e, scope, stack),
    lowerAggregate: (e, scope, stack) => lowerAggregate(ctx, e, scope, stack),
    defMemo: diagnosticsOnly ? new Map<string, Value>() : undefined,
    pureDefs: diagnosticsOnly ? pureDefNames(model) : new Set<string>(),
  };
  const unsupported = (err: Unsupported, note: string): Diagnostic => ({
    code: 'RC0590',
    severity: 'error',
    message: err.what,
    span: err.span,
    label: 'not available yet',
    notes: [{ message: note }],
    help: 'this construct parses and checks, but training it lands in a later release; see docs/language.md',
  });

  const lowerTerms = (): LowerResult => {
    const diagnostics: Diagnostic[] = [];
    const terms: Term[] = [];
    for (const t of model.terms) {
      try {
        const val = ctx.lowerExpr(t.body, new Map(), []);
        if (val.kind !== 'scalar') throw new Unsupported(t.body.span, 'a loss or reg term must be a scalar');
        terms.push({ name: t.name, role: t.role, expr: val.e });
      } catch (err) {
        if (!(err instanceof Unsupported)) throw err;
        diagnostics.push(unsupported(err, `in ${t.role} \`${t.name}\``));
      }
    }
    if (diagnostics.length || opts.diagnosticsOnly) return { module: undefined, diagnostics };
    return { module: { spaces: ctx.spaces, params: ctx.params, hypers: new Map(model.consts), terms, samplers: ctx.samplers }, diagnostics };
  };

  const applyDef = (name: string, args: readonly (Ix | SparseArg)[]): { expr: Expr | undefined; diagnostics: readonly Diagnostic[] } => {
    const def = model.defs.get(name);
    if (!def) return { expr: undefined, diagnostics: [] };
    try {
      const scope = new Map<string, Value>();
      def.params.forEach((p, j) => {
        const ix = args[j];
        if (!ix) throw new Unsupported(def.decl.span, `\`${name}\` takes ${def.params.length} arguments`);
        if (ix.kind === 'sparse-row') scope.set(p.name, { kind: 'sparse', entries: entriesName(ix.rel, ix.column), domain: ix.domain, t: ix.t });
        else scope.set(p.name, { kind: 'index', ix, domain: ix.kind === 'var' ? ix.idx.space : ix.domain });
      });
      const val = ctx.lowerExpr(def.body, scope, [name]);
      if (val.kind !== 'scalar') throw new Unsupported(def.body.span, `\`${name}\` must return a scalar`);
      return { expr: val.e, diagnostics: [] };
    } catch (err) {
      if (!(err instanceof Unsupported)) throw err;
      return { expr: undefined, diagnostics: [unsupported(err, `in def \`${name}\``)] };
    }
  };

  return { spaces: ctx.spaces, lowerTerms, applyDef };
}

// The state one lowering shares across its files: the space table built from the model's declarations
// (domains, dims, relations and their sparse entries; sample sets join as samplers are met), the
// samplers, fresh names, and the IR constructors (no-ops when only diagnostics are wanted). The three
// mutually recursive entry points (expressions, calls, aggregations) are reached through the context,
// so the files that implement them never import each other.
import type * as ast from '../syntax/ast.ts';
import type { Model } from '../check/model.ts';
import type { ParamDecl, Sampler, Space } from '../ir/module.ts';
import { add, call, call2, cmp, div, eq, konst, mul, neg, ord, pow, reduce, select, size, sub, sum, tensor, type Expr } from '../ir/nodes.ts';
import { dimSpace, domainSpace, entriesSpace, relationSpace } from '../ir/spaces.ts';
import type { Scope, Value } from './values.ts';

/** The IR constructors lowering uses; `NO_IR`'s when only diagnostics are wanted. */
export const IR = { add, call, call2, cmp, div, eq, konst, mul, neg, ord, pow, reduce, select, size, sub, sum, tensor };
export type IRBuilders = typeof IR;

/**
 * Lowering never branches on the IR it builds (diagnostics depend on the kinds of values, never on
 * their expressions), so for diagnostics alone every constructor gives one placeholder leaf.
 */
export const NO_IR: IRBuilders = (() => {
  const leaf = tensor('temp', '(not lowered)', []);
  const f = (): Expr => leaf;
  return { add: f, call: f, call2: f, cmp: f, div: f, eq: f, konst: f, mul: f, neg: f, ord: f, pow: f, reduce: f, select: f, size: f, sub: f, sum: f, tensor: f };
})();

/** A lowering's state, built from the model by `lowerState`. */
export interface LowerState {
  readonly model: Model;
  readonly ir: IRBuilders;
  /** every space the IR refers to; sample sets are added while lowering */
  readonly spaces: Map<string, Space>;
  /** relation → column → its domain or value type (a derived relation has its base's columns) */
  readonly relationCols: ReadonlyMap<string, ReadonlyMap<string, string>>;
  /** relation → sparse column → feature domain */
  readonly sparseColumns: ReadonlyMap<string, ReadonlyMap<string, string>>;
  /** with `batch N users`, each step sees N members of this domain: sums over it scale by |D|/N */
  readonly batchDomain: string | undefined;
  readonly samplers: Sampler[];
  /** per sampled domain, the data tensor (over that domain) of the latest sampler's log-probabilities */
  readonly samplerTables: Map<string, string>;
  readonly params: readonly ParamDecl[];
  readonly paramShape: ReadonlyMap<string, readonly string[]>;
  /** lazily mapped whole tensors (`U^2` before a reduction binds its axes), by their fresh key */
  readonly wholeFns: Map<string, { readonly name: string; readonly f: (x: Expr) => Expr }>;
  /** a name not given before in this lowering: base, base1, base2, … */
  fresh(base: string): string;
}

/** The state plus the recursive entry points, wired by lower.ts. */
export interface LowerCtx extends LowerState {
  lowerExpr(e: ast.Expr, scope: Scope, stack: readonly string[]): Value;
  lowerCall(e: ast.CallExpr, scope: Scope, stack: readonly string[]): Value;
  lowerAggregate(e: ast.AggregateExpr, scope: Scope, stack: readonly string[]): Value;
  /** diagnostics only: a pure def's scalar result per `defMemoKey` (its IR belongs to the first application) */
  readonly defMemo: Map<string, Value> | undefined;
  readonly pureDefs: ReadonlySet<string>;
}

export function lowerState(model: Model, diagnosticsOnly: boolean): LowerState {
  const spaces = new Map<string, Space>();
  for (const d of model.domains) spaces.set(d, domainSpace(d));
  for (const [name, n] of model.dims) spaces.set(name, dimSpace(name, n));
  const relationCols = new Map<string, Map<string, string>>();
  const sparseColumns = new Map<string, Map<string, string>>();
  for (const r of model.relations) {
    const cols = new Map<string, string>();
    const base = r.source.kind === 'derived' ? model.relations.find((x) => x.name === (r.source as { base: string }).base) : r;
    for (const c of (base ?? r).columns) {
      cols.set(c.name, c.type.kind === 'domain' ? c.type.domain : c.type.kind);
    }
    relationCols.set(r.name, cols);
    spaces.set(r.name, relationSpace(r.name, cols));
    for (const c of (base ?? r).columns) {
      if (c.type.kind !== 'sparse') continue;
      if (!sparseColumns.has(r.name)) sparseColumns.set(r.name, new Map());
      sparseColumns.get(r.name)!.set(c.name, c.type.domain);
      // the non-zeros of sparse column c: entries (row: R, feat: domain, val: float)
      const entries = entriesSpace(r.name, c.name, c.type.domain);
      spaces.set(entries.name, entries);
    }
  }
  const params: ParamDecl[] = model.params.map((p) => ({ name: p.name, shape: p.shape.map((a) => a.name) }));

  const used = new Set<string>();
  /** per base, the suffix its last fresh name stopped at (names are never freed, so it only grows) */
  const nextSuffix = new Map<string, number>();
  const fresh = (base: string): string => {
    let name = base;
    let n = nextSuffix.get(base) ?? 0;
    if (n > 0) name = `${base}${n}`;
    while (used.has(name)) name = `${base}${++n}`;
    nextSuffix.set(base, n);
    used.add(name);
    return name;
  };

  return {
    model,
    ir: diagnosticsOnly ? NO_IR : IR,
    spaces,
    relationCols,
    sparseColumns,
    batchDomain: model.train.batch.kind === 'users' ? model.train.batch.domain : undefined,
    samplers: [],
    samplerTables: new Map(),
    params,
    // neighbours tables are read like params (tensor 'param' nodes) but are not module params: nothing
    // trains them, and only the neighbour form of `def score` (passes/neighbour-score.ts) reads them
    paramShape: new Map([...params, ...model.neighbours.map((p) => ({ name: p.name, shape: p.shape.map((a) => a.name) }))].map((p) => [p.name, p.shape] as const)),
    wholeFns: new Map(),
    fresh,
  };
}

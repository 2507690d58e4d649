// lower: checked Model → IRModule. Inlines defs, turns `a . b` into Σ_k a_k·b_k, `mean` into a sum
// divided by the sizes of its iteration spaces, tuple bindings into a sum over the relation's tuples
// with id columns as gathers (`U[ratings.user[t], k]`), and whole-tensor reductions into sums over
// fresh indices. Input invariant: the model passed check/; constructs whose runtime support lands
// later are reported as RC0590 diagnostics, never thrown.
import type * as ast from '../syntax/ast.ts';
import type { Diagnostic } from '../diagnostics/diagnostics.ts';
import type { Model } from '../check/model.ts';
import type { IRModule, ParamDecl, Sampler, SamplerExclude, Space, Term } from '../ir/module.ts';
import {
  add, call, call2, cmp, div, eq, idx, idxKey, konst, mul, neg, ord, pow, reduce, select, size, sub, sum, tensor, v,
  type Expr, type Idx, type Ix, type UnaryFn,
} from '../ir/nodes.ts';
import {
  batchSize, columnKey, dimSpace, domainSpace, ENTRY_FEAT, ENTRY_ROW, ENTRY_VAL, entriesName, entriesSpace, isTupleSpace,
  logqTableName, relationSpace, SAMPLE_ID, SAMPLE_LOGQ, sampledColumn, sampledLogqColumn, sampleSetBase, sampleSetSpace,
  totalSize,
} from '../ir/spaces.ts';
import { substitute } from '../ir/walk.ts';

/** A lowered value: a scalar expression, a row vector over a dim, an index, or a whole tensor. */
type Value =
  | { readonly kind: 'scalar'; readonly e: Expr }
  | { readonly kind: 'row'; readonly dim: string; readonly at: (k: Idx) => Expr }
  | {
      readonly kind: 'index';
      readonly ix: Ix;
      readonly domain: string;
      readonly logq?: Expr;
      /** for `j in x`: the entry of the sparse row that j walks (x[j] reads its value) */
      readonly entry?: { readonly space: string; readonly n: Idx };
    }
  /** a sparse row `x` of tuple t: its non-zeros are the tuples of entries space `entries` with row = t */
  | { readonly kind: 'sparse'; readonly entries: string; readonly domain: string; readonly t: Idx }
  /** a sample set `J ~ pop(item) x K`: a space of K sampled ids shared by the batch */
  | { readonly kind: 'samples'; readonly space: string; readonly domain: string }
  | { readonly kind: 'whole'; readonly name: string };

/** `j ~ uniform(item, exclude = likes)`: redraws while the draw is one of the tuple's owner's positives, at most this many times, then accepts the last draw. */
export const EXCLUDE_RETRIES = 10;

class Unsupported extends Error {
  constructor(readonly span: ast.Expr['span'], readonly what: string) {
    super(what);
  }
}

const UNARY: Readonly<Record<string, UnaryFn>> = {
  exp: 'exp', log: 'log', sqrt: 'sqrt', abs: 'abs', sigmoid: 'sigmoid', logsigmoid: 'logsigmoid',
  softplus: 'softplus', relu: 'relu', tanh: 'tanh',
};

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

/** The IR constructors lowering uses; `makeLowerer` shadows them with NO_IR's when only diagnostics are wanted. */
const IR = { add, call, call2, cmp, div, eq, konst, mul, neg, ord, pow, reduce, select, size, sub, sum, tensor };
const NO_IR: typeof IR = (() => {
  const leaf = tensor('temp', '(not lowered)', []);
  const f = (): Expr => leaf;
  return { add: f, call: f, call2: f, cmp: f, div: f, eq: f, konst: f, mul: f, neg: f, ord: f, pow: f, reduce: f, select: f, size: f, sub: f, sum: f, tensor: f };
})();

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
  // Lowering never branches on the IR it builds (diagnostics depend on the kinds of values, never on
  // their expressions), so for diagnostics alone these shadow the imported constructors with no-ops.
  const { add, call, call2, cmp, div, eq, konst, mul, neg, ord, pow, reduce, select, size, sub, sum, tensor } = opts.diagnosticsOnly ? NO_IR : IR;
  const spaces = new Map<string, Space>();
  for (const d of model.domains) spaces.set(d, domainSpace(d));
  for (const [name, n] of model.dims) spaces.set(name, dimSpace(name, n));
  const relationCols = new Map<string, Map<string, string>>();
  /** relation → sparse column → feature domain */
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
  /** with `batch N users`, each step sees N members of this domain: sums over it scale by |D|/N */
  const batchDomain = model.train.batch.kind === 'users' ? model.train.batch.domain : undefined;
  const samplers: Sampler[] = [];
  /** per sampled domain, the data tensor (over that domain) of the latest sampler's log-probabilities */
  const samplerTables = new Map<string, string>();
  const params: ParamDecl[] = model.params.map((p) => ({ name: p.name, shape: p.shape.map((a) => a.name) }));
  const paramShape = new Map(params.map((p) => [p.name, p.shape] as const));

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

  type Scope = ReadonlyMap<string, Value>;

  const asScalar = (val: Value, at: ast.Expr): Expr => {
    if (val.kind === 'scalar') return val.e;
    throw new Unsupported(at.span, `expected a scalar here, found a ${val.kind === 'row' ? 'row vector' : val.kind}`);
  };

  /** Applies a scalar op elementwise, broadcasting scalars over rows. */
  const lift = (a: Value, b: Value, f: (x: Expr, y: Expr) => Expr, at: ast.Expr): Value => {
    if (a.kind === 'row' || b.kind === 'row') {
      const dim = a.kind === 'row' ? a.dim : (b as { dim: string }).dim;
      const ea = (k: Idx): Expr => (a.kind === 'row' ? a.at(k) : asScalar(a, at));
      const eb = (k: Idx): Expr => (b.kind === 'row' ? b.at(k) : asScalar(b, at));
      return { kind: 'row', dim, at: (k) => f(ea(k), eb(k)) };
    }
    return { kind: 'scalar', e: f(asScalar(a, at), asScalar(b, at)) };
  };
  const lift1 = (a: Value, f: (x: Expr) => Expr, at: ast.Expr): Value =>
    a.kind === 'row' ? { kind: 'row', dim: a.dim, at: (k) => f(a.at(k)) } : { kind: 'scalar', e: f(asScalar(a, at)) };

  const indexOf = (val: Value, at: ast.Expr): Ix => {
    if (val.kind === 'index') return val.ix;
    throw new Unsupported(at.span, 'expected an index variable here');
  };

  /** Reads a tensor: bare (`whole`), a row `U[u]`, or a scalar `U[u, k]`. */
  const access = (name: string, indices: readonly Ix[]): Value => {
    const shape = paramShape.get(name)!;
    if (indices.length === shape.length) return { kind: 'scalar', e: tensor('param', name, indices) };
    if (indices.length === shape.length - 1) {
      const dim = shape[shape.length - 1]!;
      return { kind: 'row', dim, at: (k) => tensor('param', name, [...indices, v(k)]) };
    }
    return { kind: 'whole', name };
  };

  const lowerExpr = (e: ast.Expr, scope: Scope, stack: readonly string[]): Value => {
    const go = (x: ast.Expr): Value => lowerExpr(x, scope, stack);
    switch (e.kind) {
      case 'NumberLit':
        return { kind: 'scalar', e: konst(e.value) };
      case 'StringLit':
        throw new Unsupported(e.span, 'a string is not a value');
      case 'IdentExpr': {
        const bound = scope.get(e.name);
        if (bound) return bound;
        if (model.consts.has(e.name)) return { kind: 'scalar', e: tensor('hyper', e.name, []) };
        if (paramShape.has(e.name)) {
          const shape = paramShape.get(e.name)!;
          return shape.length === 0 ? { kind: 'scalar', e: tensor('param', e.name, []) } : { kind: 'whole', name: e.name };
        }
        if (model.dims.has(e.name)) return { kind: 'scalar', e: konst(model.dims.get(e.name)!) };
        throw new Unsupported(e.span, `\`${e.name}\` cannot be used as a value here`);
      }
      case 'UnaryExpr': {
        const a = go(e.arg);
        return e.op === '-' ? lift1(a, neg, e) : lift1(a, (x) => sub(konst(1), x), e);
      }
      case 'BinaryExpr': {
        const a = go(e.left);
        if (e.op === '^') {
          const n = constNumber(e.right, model.consts);
          if (n === undefined) throw new Unsupported(e.right.span, 'an exponent must be a number');
          if (a.kind === 'whole') return wholeMap(a.name, (x) => pow(x, n));
          return lift1(a, (x) => pow(x, n), e);
        }
        const b = go(e.right);
        switch (e.op) {
          case '+':
            return lift(a, b, (x, y) => add(x, y), e);
          case '-':
            return lift(a, b, sub, e);
          case '*':
            return lift(a, b, (x, y) => mul(x, y), e);
          case '/':
            return lift(a, b, div, e);
          case '.': {
            if (a.kind !== 'row' || b.kind !== 'row') throw new Unsupported(e.opSpan, '`.` needs two row vectors');
            const k = idx(fresh('k'), a.dim);
            return { kind: 'scalar', e: sum([k], mul(a.at(k), b.at(k))) };
          }
          case '<':
          case '<=':
          case '>':
          case '>=':
          case '==':
          case '!=': {
            const op = e.op;
            return lift(a, b, (x, y) => cmp(op, x, y), e);
          }
          case 'and':
            return lift(a, b, (x, y) => mul(cmp('!=', x, konst(0)), cmp('!=', y, konst(0))), e);
          case 'or':
            return lift(a, b, (x, y) => call2('max', cmp('!=', x, konst(0)), cmp('!=', y, konst(0))), e);
          default:
            throw new Unsupported(e.opSpan, `operator ${e.op}`);
        }
      }
      case 'TernaryExpr': {
        const c = asScalar(go(e.cond), e.cond);
        const a = go(e.then);
        const b = go(e.else);
        return lift(a, b, (x, y) => select(cmp('!=', c, konst(0)), x, y), e);
      }
      case 'SizeExpr': {
        const n = e.name.name;
        return { kind: 'scalar', e: size(spaces.get(n)?.kind === 'relation' || n === batchDomain ? totalSize(n) : n) };
      }
      case 'IndexExpr': {
        const name = e.target.name;
        const bound = scope.get(name);
        if (bound?.kind === 'sparse' && e.indices.length === 1) {
          // x[j] for j walking x: the entry's value; any other feature of a sparse row reads as 0
          const j = go(e.indices[0]!);
          if (j.kind !== 'index' || j.entry?.space !== bound.entries) {
            throw new Unsupported(e.span, `\`${name}[…]\` can only read the features a \`j in ${name}\` binding walks`);
          }
          return { kind: 'scalar', e: tensor('data', columnKey(bound.entries, ENTRY_VAL), [v(j.entry.n)]) };
        }
        if (bound?.kind === 'row' && e.indices.length === 1) {
          const k = indexOf(go(e.indices[0]!), e.indices[0]!);
          if (k.kind !== 'var') throw new Unsupported(e.span, 'a row is indexed by a dim variable');
          return { kind: 'scalar', e: bound.at(k.idx) };
        }
        if (!paramShape.has(name)) throw new Unsupported(e.target.span, `\`${name}\` cannot be indexed`);
        return access(name, e.indices.map((x) => indexOf(go(x), x)));
      }
      case 'MemberExpr': {
        // (x₁…xₙ) in R  =  Σ_{t∈R} Π_j δ(R.col_j[t], x_j)   (1 on R's tuples when R has no duplicates)
        const rel = e.relation.name;
        const cols = [...relationCols.get(rel)!].filter(([, type]) => spaces.get(type)?.kind === 'domain');
        // one bound name per relation (a quote cannot occur in user names), so every spelling of
        // the same membership test is the same hash-consed node
        const t = idx(`${rel}'m`, rel);
        const deltas = e.tuple.map((x, j) => {
          const [col, domain] = cols[j]!;
          return eq({ kind: 'gather', rel, col, domain, t }, indexOf(go(x), x));
        });
        return { kind: 'scalar', e: sum([t], mul(...deltas)) };
      }
      case 'CallExpr':
        return lowerCall(e, scope, stack);
      case 'AggregateExpr':
        return lowerAggregate(e, scope, stack);
      default: {
        const never: never = e;
        throw new Unsupported((never as ast.Expr).span, 'unknown expression');
      }
    }
  };

  /** Elementwise map over a whole tensor, kept lazy until a reduction binds its axes. */
  const wholeFns = new Map<string, { name: string; f: (x: Expr) => Expr }>();
  const wholeMap = (name: string, f: (x: Expr) => Expr): Value => {
    const key = fresh(`${name}~`);
    const prev = wholeFns.get(name);
    const g = prev ? (x: Expr) => f(prev.f(x)) : f;
    wholeFns.set(key, { name: wholeFns.get(name)?.name ?? name, f: g });
    return { kind: 'whole', name: key };
  };
  const wholeBody = (val: Value, at: ast.Expr): { e: Expr; over: Idx[] } => {
    if (val.kind === 'scalar') return { e: val.e, over: [] };
    if (val.kind !== 'whole') throw new Unsupported(at.span, 'expected a tensor');
    const entry = wholeFns.get(val.name);
    const base = entry?.name ?? val.name;
    const shape = paramShape.get(base)!;
    const over = shape.map((s) => idx(fresh(s.slice(0, 1)), s));
    const leaf = tensor('param', base, over.map(v));
    return { e: entry ? entry.f(leaf) : leaf, over };
  };

  const lowerCall = (e: ast.CallExpr, scope: Scope, stack: readonly string[]): Value => {
    const name = e.callee.name;
    const args = e.args.map((a) => a.value);
    const go = (x: ast.Expr): Value => lowerExpr(x, scope, stack);
    const def = model.defs.get(name);
    if (def) {
      if (stack.includes(name)) throw new Unsupported(e.span, `\`${name}\` calls itself`);
      const inner = new Map(scope);
      def.params.forEach((p, j) => inner.set(p.name, go(args[j]!)));
      const key = defMemo && defMemoKey(name, inner, pureDefs);
      const hit = key && defMemo!.get(key);
      if (hit) return hit;
      const val = lowerExpr(def.body, inner, [...stack, name]);
      if (key && val.kind === 'scalar') defMemo!.set(key, val);
      return val;
    }
    if (name === 'sum' || name === 'mean') {
      if (args.length !== 1) throw new Unsupported(e.span, `${name}(…) of a whole tensor takes one argument`);
      const { e: body, over } = wholeBody(go(args[0]!), args[0]!);
      const s = sum(over, body);
      if (name === 'mean') return { kind: 'scalar', e: div(s, mul(...over.map((i) => size(i.space)))) };
      // a whole-tensor sum over the batched domain sees the batch's rows: scale by |D|/|B|
      const batched = over.filter((i) => i.space === batchDomain);
      return { kind: 'scalar', e: mul(s, ...batched.map((i) => div(size(totalSize(i.space)), size(i.space)))) };
    }
    const fn = UNARY[name];
    if (fn) return lift1(go(args[0]!), (x) => call(fn, x), e);
    switch (name) {
      case 'logq': {
        const a = go(args[0]!);
        if (a.kind !== 'index') throw new Unsupported(e.span, '`logq` takes an index variable');
        if (a.logq) return { kind: 'scalar', e: a.logq };
        // logq(i) of an id the sampler did not draw (NCE's positive): the sampler's log-probability table
        const table = samplerTables.get(a.domain);
        if (!table) throw new Unsupported(e.span, `\`logq\` needs a sampler over \`${a.domain}\``);
        return { kind: 'scalar', e: tensor('data', table, [a.ix]) };
      }
      case 'log1p':
        return lift1(go(args[0]!), (x) => call('log', add(konst(1), x)), e);
      case 'min':
      case 'max':
        if (args.length !== 2) throw new Unsupported(e.span, `\`${name}(…)\` of a whole tensor is not supported by the compiler yet`);
        return lift(go(args[0]!), go(args[1]!), (x, y) => call2(name, x, y), e);
      case 'clip': {
        const lo = go(args[1]!);
        const hi = go(args[2]!);
        const clipped = lift(go(args[0]!), lo, (x, y) => call2('max', x, y), e);
        return lift(clipped, hi, (x, y) => call2('min', x, y), e);
      }
      case 'norm': {
        const a = go(args[0]!);
        if (a.kind !== 'row') throw new Unsupported(e.span, '`norm` takes a row vector');
        const k = idx(fresh('k'), a.dim);
        return { kind: 'scalar', e: pow(sum([k], pow(a.at(k), 2)), 0.5) };
      }
      case 'cosine': {
        const a = go(args[0]!);
        const b = go(args[1]!);
        if (a.kind !== 'row' || b.kind !== 'row') throw new Unsupported(e.span, '`cosine` takes two row vectors');
        const k1 = idx(fresh('k'), a.dim);
        const k2 = idx(fresh('k'), a.dim);
        const k3 = idx(fresh('k'), a.dim);
        const d = sum([k1], mul(a.at(k1), b.at(k1)));
        return { kind: 'scalar', e: div(d, mul(pow(sum([k2], pow(a.at(k2), 2)), 0.5), pow(sum([k3], pow(b.at(k3), 2)), 0.5))) };
      }
      default:
        throw new Unsupported(e.callee.span, `\`${name}(…)\` is not supported by the compiler yet`);
    }
  };

  const lowerAggregate = (e: ast.AggregateExpr, scope: Scope, stack: readonly string[]): Value => {
    const inner = new Map(scope);
    const over: Idx[] = [];
    /** factors that restrict the iteration: δ(R~x.row[n], t) for sparse-row walks, pair orderings */
    const guards: Expr[] = [];
    const guardedSpaces = new Set<string>();
    /** the relation of the last tuple binding: per-tuple samplers attach to it */
    let outerRel: { rel: string; t: Idx } | undefined = [...scope.values()].reduce<{ rel: string; t: Idx } | undefined>(
      (acc, val) => (val.kind === 'index' && val.ix.kind === 'gather' ? { rel: val.ix.rel, t: val.ix.t } : acc),
      undefined,
    );
    for (const b of e.bindings) {
      switch (b.kind) {
        case 'TupleBinding': {
          const rel = b.relation.name;
          const t = idx(fresh('t'), rel);
          over.push(t);
          const cols = [...relationCols.get(rel)!];
          outerRel = { rel, t };
          b.vars.forEach((name, j) => {
            const [col, type] = cols[j]!;
            const sparseCol = sparseColumns.get(rel)?.get(col);
            if (sparseCol) inner.set(name.name, { kind: 'sparse', entries: entriesName(rel, col), domain: sparseCol, t });
            else if (type === 'float' || type === 'int') inner.set(name.name, { kind: 'scalar', e: tensor('data', columnKey(rel, col), [v(t)]) });
            else if (spaces.get(type)?.kind === 'domain') inner.set(name.name, { kind: 'index', ix: { kind: 'gather', rel, col, domain: type, t }, domain: type });
            else throw new Unsupported(name.span, `column \`${col}\` of type ${type} cannot be bound yet`);
          });
          break;
        }
        case 'RangeBinding': {
          const bound = inner.get(b.range.name);
          if (bound?.kind === 'sparse') {
            // j in x: Σ over the entries n of x's relation with row[n] = t, j = feat[n]
            const n = idx(fresh('n'), bound.entries);
            over.push(n);
            guardedSpaces.add(bound.entries);
            guards.push(eq({ kind: 'gather', rel: bound.entries, col: ENTRY_ROW, domain: bound.t.space, t: n }, v(bound.t)));
            inner.set(b.var.name, {
              kind: 'index',
              ix: { kind: 'gather', rel: bound.entries, col: ENTRY_FEAT, domain: bound.domain, t: n },
              domain: bound.domain,
              entry: { space: bound.entries, n },
            });
            break;
          }
          if (bound?.kind === 'samples') {
            // j in J: every id of the sample set, with its sampling log-probability
            const sIdx = idx(fresh('s'), bound.space);
            over.push(sIdx);
            inner.set(b.var.name, {
              kind: 'index',
              ix: { kind: 'gather', rel: bound.space, col: SAMPLE_ID, domain: bound.domain, t: sIdx },
              domain: bound.domain,
              logq: tensor('data', columnKey(bound.space, SAMPLE_LOGQ), [v(sIdx)]),
            });
            break;
          }
          const space = b.range.name;
          if (!spaces.has(space) || isTupleSpace(spaces.get(space))) {
            throw new Unsupported(b.span, `ranging over \`${space}\` is not supported by the compiler yet`);
          }
          const i = idx(fresh(b.var.name), space);
          over.push(i);
          inner.set(b.var.name, { kind: 'index', ix: v(i), domain: space });
          break;
        }
        case 'SampleBinding': {
          const callee = b.sampler.callee.name;
          const dist = callee === 'pop' ? 'pop' : callee === 'inbatch' ? 'inbatch' : 'uniform';
          const excludeArg = b.sampler.args.find((a) => a.name?.name === 'exclude');
          const positional = b.sampler.args.filter((a) => a !== excludeArg);
          const domainArg = positional[0]?.value;
          const domain = domainArg?.kind === 'IdentExpr' ? domainArg.name : '';
          const alphaArg = positional[1]?.value;
          // inbatch's log-Q is the item's frequency among the positives: popularity^1
          const alpha = dist === 'inbatch' ? 1 : alphaArg ? constNumber(alphaArg, model.consts) ?? 1 : 1;
          if (dist === 'inbatch') {
            // J ~ inbatch(item): the current batch's positives (the enclosing relation's `item` column), as a set
            if (!outerRel) throw new Unsupported(b.span, '`inbatch` needs a tuple binding before it, e.g. `(u, i) in likes, J ~ inbatch(item)`');
            const sourceCol = [...relationCols.get(outerRel.rel)!].find(([, type]) => type === domain)?.[0];
            if (!sourceCol) throw new Unsupported(b.sampler.span, `\`inbatch(${domain})\` needs a \`${domain}\` column in \`${outerRel.rel}\``);
            const space = fresh(sampleSetBase(b.var.name));
            spaces.set(space, sampleSetSpace(space, domain));
            const smp: Sampler = { kind: 'set', space, domain, dist, alpha, count: 0, source: outerRel.rel, sourceCol };
            samplers.push(smp);
            samplerTables.set(domain, logqTableName(smp));
            inner.set(b.var.name, { kind: 'samples', space, domain });
          } else if (b.count) {
            // J ~ s x K: K ids drawn per step and shared by the batch (as TF's sampled softmax does)
            const space = fresh(sampleSetBase(b.var.name));
            spaces.set(space, sampleSetSpace(space, domain));
            const smp: Sampler = { kind: 'set', space, domain, dist, alpha, count: b.count.value, source: outerRel?.rel };
            samplers.push(smp);
            samplerTables.set(domain, logqTableName(smp));
            inner.set(b.var.name, { kind: 'samples', space, domain });
          } else {
            // j ~ s: one id per tuple of the enclosing relation, a sampled column of that relation
            if (!outerRel) throw new Unsupported(b.span, 'a single sample `j ~ …` needs a tuple binding before it, e.g. `(u, i) in likes, j ~ uniform(item)`');
            const col = sampledColumn(fresh(b.var.name));
            const exclude = excludeArg ? excludeOf(excludeArg, domain, outerRel.rel) : undefined;
            const smp: Sampler = { kind: 'per-tuple', rel: outerRel.rel, col, domain, dist, alpha, source: outerRel.rel, ...(exclude ? { exclude } : {}) };
            samplers.push(smp);
            samplerTables.set(domain, logqTableName(smp));
            const ix: Ix = { kind: 'gather', rel: outerRel.rel, col, domain, t: outerRel.t };
            inner.set(b.var.name, { kind: 'index', ix, domain, logq: tensor('data', columnKey(outerRel.rel, sampledLogqColumn(col)), [v(outerRel.t)]) });
          }
          break;
        }
        case 'PairBinding': {
          // j < l in x: two entries n₁, n₂ of x's row with ord(n₁) < ord(n₂), their positions among
          // the entries (each unordered pair once; fm-pairwise recognises this guard)
          const row = inner.get(b.row.name);
          if (row?.kind !== 'sparse') throw new Unsupported(b.span, '`j < l in x` needs a sparse row `x`');
          const pair = [b.first, b.second].map((name) => {
            const n = idx(fresh('n'), row.entries);
            over.push(n);
            guardedSpaces.add(row.entries);
            guards.push(eq({ kind: 'gather', rel: row.entries, col: ENTRY_ROW, domain: row.t.space, t: n }, v(row.t)));
            inner.set(name.name, {
              kind: 'index',
              ix: { kind: 'gather', rel: row.entries, col: ENTRY_FEAT, domain: row.domain, t: n },
              domain: row.domain,
              entry: { space: row.entries, n },
            });
            return n;
          });
          guards.push(cmp('<', ord(v(pair[0]!)), ord(v(pair[1]!))));
          break;
        }
      }
    }
    if ((e.op === 'max' || e.op === 'min') && guards.length) {
      // a guard restricts a sum by multiplying it by 0; a max would count those zeros as elements
      throw new Unsupported(e.opSpan, `the \`${e.op}\` aggregation over the features of a sparse row is not supported yet`);
    }
    const body = mul(...guards, asScalar(lowerExpr(e.body, inner, stack), e.body));
    // max/min over the iteration space, whatever its kind: never scaled by N/B nor divided (over a
    // mini-batch it is the batch's extremum); 0 over an empty space (compiler/ir/nodes.ts `reduce`)
    if (e.op === 'max' || e.op === 'min') return { kind: 'scalar', e: reduce(e.op, over, body) };
    if (e.op === 'logsumexp') {
      if (guards.length) throw new Unsupported(e.opSpan, '`logsumexp` over the features of a sparse row is not supported yet');
      // logsumexp(j: f_j) = m + log Σ_j exp(f_j − m) with m = max_j f_j (its own copy of the bound
      // indices): exact for any m, and with the max every exponent is ≤ 0 and the sum ≥ 1, so float32
      // neither overflows nor takes log 0 whatever the logits. No stop-gradient is needed: the chain
      // rule gives ∂m·(1 − Σ_j softmax_j), and autodiff/grad.ts builds it so that this cancels
      // symbolically (S⁻¹·S = 1 on the same hash-consed S), leaving the softmax-weighted Σ_j p_j ∂f_j
      // of the unshifted form. See docs/language.md, "Sampled and full softmax".
      const mOver = over.map((i) => idx(fresh(i.name), i.space));
      const m = reduce('max', mOver, substitute(body, new Map(over.map((i, j): [string, Ix] => [idxKey(i), v(mOver[j]!)]))));
      return { kind: 'scalar', e: add(m, call('log', sum(over, call('exp', sub(body, m))))) };
    }
    const s = sum(over, body);
    const count = (i: Idx): Expr => size(isTupleSpace(spaces.get(i.space)) ? batchSize(i.space) : i.space);
    // over a sparse row's features the count is the row's non-zeros (the guards' sum); an empty row
    // has mean 0, not 0/0
    if (e.op === 'mean' && guards.length) return { kind: 'scalar', e: div(s, call2('max', sum(over, mul(...guards)), konst(1))) };
    if (e.op === 'mean') return { kind: 'scalar', e: div(s, mul(...over.map(count))) };
    // Σ over a relation's tuples runs over the current batch: scale by N/B for an unbiased estimate
    // (not a sparse row's entries: those sums are exact, restricted to one row by their guard)
    const rels = over.filter((i) => (isTupleSpace(spaces.get(i.space)) && !guardedSpaces.has(i.space)) || i.space === batchDomain);
    return { kind: 'scalar', e: mul(s, ...rels.map((i) => div(size(totalSize(i.space)), count(i)))) };
  };

  /** `exclude = likes` of a per-tuple sampler over `domain` in relation `rel`: which columns pair up. */
  const excludeOf = (arg: ast.NamedArg, domain: string, rel: string): SamplerExclude => {
    const name = arg.value.kind === 'IdentExpr' ? arg.value.name : '';
    const cols = [...(relationCols.get(name) ?? [])];
    const col = cols.find(([, type]) => type === domain)?.[0];
    const tupleCols = [...relationCols.get(rel)!];
    // the owner: the excluded relation's first id column of another domain that the tuple also has
    const key = cols.find(([c, type]) => c !== col && type !== domain && spaces.get(type)?.kind === 'domain' && tupleCols.some(([, t]) => t === type));
    const tupleCol = key ? tupleCols.find(([, t]) => t === key[1])?.[0] : undefined;
    if (!col || !key || !tupleCol) throw new Unsupported(arg.span, `\`exclude = ${name}\` needs \`${rel}\` to have a column of the domain whose ${domain}s \`${name}\` lists`);
    return { rel: name, col, keyCol: key[0], tupleCol, owner: key[1], retries: EXCLUDE_RETRIES };
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

  /** diagnostics only: a pure def's scalar result per `defMemoKey` (its IR belongs to the first application) */
  const defMemo = opts.diagnosticsOnly ? new Map<string, Value>() : undefined;
  const pureDefs = opts.diagnosticsOnly ? pureDefNames(model) : new Set<string>();

  const lowerTerms = (): LowerResult => {
    const diagnostics: Diagnostic[] = [];
    const terms: Term[] = [];
    for (const t of model.terms) {
      try {
        const val = lowerExpr(t.body, new Map(), []);
        if (val.kind !== 'scalar') throw new Unsupported(t.body.span, 'a loss or reg term must be a scalar');
        terms.push({ name: t.name, role: t.role, expr: val.e });
      } catch (err) {
        if (!(err instanceof Unsupported)) throw err;
        diagnostics.push(unsupported(err, `in ${t.role} \`${t.name}\``));
      }
    }
    if (diagnostics.length || opts.diagnosticsOnly) return { module: undefined, diagnostics };
    return { module: { spaces, params, hypers: new Map(model.consts), terms, samplers }, diagnostics };
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
      const val = lowerExpr(def.body, scope, [name]);
      if (val.kind !== 'scalar') throw new Unsupported(def.body.span, `\`${name}\` must return a scalar`);
      return { expr: val.e, diagnostics: [] };
    } catch (err) {
      if (!(err instanceof Unsupported)) throw err;
      return { expr: undefined, diagnostics: [unsupported(err, `in def \`${name}\``)] };
    }
  };

  return { spaces, lowerTerms, applyDef };
}

/**
 * Defs whose lowering depends only on the kinds of the values in scope: neither the def nor any def
 * it calls, directly or through others, has an aggregation (whose samplers and spaces change the
 * lowerer's state, and whose tuple bindings read the caller's scope) or reaches a cycle of calls
 * (whose "calls itself" error depends on the call stack).
 */
function pureDefNames(model: Model): Set<string> {
  const calls = new Map<string, Set<string>>();
  const aggregates = new Set<string>();
  for (const [name, def] of model.defs) {
    const callees = new Set<string>();
    const visit = (e: ast.Expr): void => {
      switch (e.kind) {
        case 'NumberLit':
        case 'StringLit':
        case 'IdentExpr':
        case 'SizeExpr':
          return;
        case 'UnaryExpr':
          return visit(e.arg);
        case 'BinaryExpr':
          visit(e.left);
          return visit(e.right);
        case 'TernaryExpr':
          visit(e.cond);
          visit(e.then);
          return visit(e.else);
        case 'CallExpr':
          if (model.defs.has(e.callee.name)) callees.add(e.callee.name);
          return e.args.forEach((a) => visit(a.value));
        case 'IndexExpr':
          return e.indices.forEach(visit);
        case 'MemberExpr':
          return e.tuple.forEach(visit);
        default:
          // an aggregation, or an expression kind this walk does not know: not pure
          aggregates.add(name);
      }
    };
    visit(def.body);
    calls.set(name, callees);
  }
  // impure: an aggregation in the def or in a def it reaches, or a cycle it reaches; settled once per def
  const state = new Map<string, 'open' | 'pure' | 'impure'>();
  const isPure = (name: string): boolean => {
    const s = state.get(name);
    if (s === 'open') return false; // a cycle
    if (s) return s === 'pure';
    state.set(name, 'open');
    let ok = !aggregates.has(name);
    for (const c of calls.get(name)!) if (!isPure(c)) ok = false;
    state.set(name, ok ? 'pure' : 'impure');
    return ok;
  };
  return new Set([...model.defs.keys()].filter(isPure));
}

/**
 * When only diagnostics are wanted, applying a pure def (`pureDefNames`) twice in scopes that agree
 * on every name, on the kind of every value and on the spaces, relations, domains, sampler presence
 * and sparse entries of its indices gives the same diagnostics: lowering never looks inside a
 * scalar's IR, and the names of index variables and gathered columns only reach the IR. Such a def's body either throws the
 * same Unsupported (not memoized: it is lowered again) or returns a scalar, so the first scalar can
 * stand for the others. The lowerer's state a pure def reads only grows (sampler tables for `logq`),
 * so a success stays a success. Undefined (no memo) when a value in scope is a row (its deferred
 * elements may throw), a whole tensor (a lazily mapped tensor) or anything else not keyed here.
 */
function defMemoKey(name: string, scope: ReadonlyMap<string, Value>, pure: ReadonlySet<string>): string | undefined {
  if (!pure.has(name)) return undefined;
  let key = name;
  for (const [n, val] of scope) {
    let k: string;
    switch (val.kind) {
      case 'scalar':
        k = 's';
        break;
      case 'index': {
        const ix = val.ix;
        // not the column of a gather: a sampled id's column is a fresh name (`likes.~j3`) and, like
        // index variables' names, only reaches the IR
        const where = ix.kind === 'var' ? `v${ix.idx.space}` : `g${ix.rel}:${ix.domain}:${ix.t.space}`;
        k = `i${where}|${val.domain}|${val.logq ? 1 : 0}|${val.entry?.space ?? ''}`;
        break;
      }
      case 'sparse':
        k = `p${val.entries}|${val.domain}|${val.t.space}`;
        break;
      case 'samples':
        k = `m${val.space}|${val.domain}`;
        break;
      default:
        return undefined;
    }
    key += `\u0000${n}=${k}`;
  }
  return key;
}

/** A sparse-row argument for applyDef: row t of relation `rel`'s sparse column `column`. */
export interface SparseArg {
  readonly kind: 'sparse-row';
  readonly rel: string;
  readonly column: string;
  readonly domain: string;
  readonly t: Idx;
}

export function sparseRowArg(rel: string, column: string, domain: string, t: Idx): SparseArg {
  return { kind: 'sparse-row', rel, column, domain, t };
}

/** A numeric literal or const, possibly negated (exponents must be known at compile time). */
function constNumber(e: ast.Expr, consts: ReadonlyMap<string, number>): number | undefined {
  if (e.kind === 'NumberLit') return e.value;
  if (e.kind === 'IdentExpr') return consts.get(e.name);
  if (e.kind === 'UnaryExpr' && e.op === '-') {
    const n = constNumber(e.arg, consts);
    return n === undefined ? undefined : -n;
  }
  return undefined;
}

// Tensor IR in index notation: sums over iteration spaces of products of tensor accesses.
// Invariants: nodes are immutable and hash-consed, so `a === b` iff they are structurally equal;
// smart constructors canonicalize (flatten and sort add/mul by `compareExpr`, a structural order, fold
// constants, drop empty sums). Nothing about a node depends on what the process built before it.
// The node types, index keys and free indices live in expr.ts, re-exported here.
// An index variable ranges over a *space*: an index domain (`user`), a dim (`d`) or the tuples of
// a relation (`ratings`); `space` names it and the module's space table says which kind it is.
import { InternalError } from '../diagnostics/diagnostics.ts';
import {
  assertNever, evalCmp, evalUnary, freeKeys, idxKey, ixKey, type BinaryFn, type CmpOp, type Expr, type ExprOf, type Idx, type Ix, type Op,
  type ReduceFn, type TensorKind, type UnaryFn,
} from './expr.ts';
import { sizeKey, spaceSize, type SizeSym } from './spaces.ts';

export * from './expr.ts';

// ---------------------------------------------------------------------------------------------
// Hash-consing
//
// The table maps a node's key (its op, fields and its children's ids) to the node, weakly: an entry
// lives as long as the node does, so the table holds exactly the nodes some compilation, artifact or
// cache still references, and shrinks when they are dropped. It is shared by the whole process rather
// than private to one compile(): a compiled expression outlives its compilation (the runtime re-plans
// it for the sizes of the data it loads, and planning builds new nodes from it), and `===` must keep
// meaning structural equality between those nodes and the compiled ones. Ids are identities only —
// unique for the life of the process, never reused, so memo maps keyed by id stay sound — and never
// an order: canonical order is `compareExpr`, computed from structure alone.

const table = new Map<string, WeakRef<Expr>>();
const collected = new FinalizationRegistry<string>((key) => {
  if (table.get(key)?.deref() === undefined) table.delete(key);
});
let nextId = 1;

function intern<E extends Expr>(key: string, make: (id: number) => E): E {
  const hit = table.get(key)?.deref();
  if (hit) return hit as E;
  const e = make(nextId++);
  table.set(key, new WeakRef(e));
  collected.register(e, key);
  return e;
}


// ---------------------------------------------------------------------------------------------
// Smart constructors

export function konst(value: number): Expr {
  if (Number.isNaN(value)) throw new InternalError('NaN constant in IR');
  const val = Object.is(value, -0) ? 0 : value;
  return intern(`c${val}`, (id) => ({ op: 'const', id, value: val }));
}

export const ZERO = konst(0);
export const ONE = konst(1);

/** The size of a space (given its name) or of a size symbol: |user|, |ratings| (all tuples), B(ratings). */
export function size(of: string | SizeSym): Expr {
  const sym = typeof of === 'string' ? spaceSize(of) : of;
  const space = sizeKey(sym);
  return intern(`z${space}`, (id) => ({ op: 'size', id, space, sym }));
}

export function tensor(kind: TensorKind, name: string, ix: readonly Ix[]): Expr {
  return intern(`t${kind}:${name}[${ix.map(ixKey).join(',')}]`, (id) => ({ op: 'tensor', id, kind, name, ix: [...ix] }));
}

export function isConst(e: Expr, value?: number): boolean {
  return e.op === 'const' && (value === undefined || e.value === value);
}

/** n-ary sum: flattens nested adds, folds constants, merges like terms (c·x + c'·x → (c+c')·x). */
export function add(...xs: readonly Expr[]): Expr {
  const terms = new Map<number, { coef: number; rest: Expr }>();
  let c = 0;
  const push = (e: Expr): void => {
    if (e.op === 'add') return e.args.forEach(push);
    if (e.op === 'const') {
      c += e.value;
      return;
    }
    const [coef, rest] = splitCoef(e);
    const prev = terms.get(rest.id);
    terms.set(rest.id, { coef: (prev?.coef ?? 0) + coef, rest });
  };
  xs.forEach(push);
  const args: Expr[] = [];
  for (const { coef, rest } of terms.values()) if (coef !== 0) args.push(coef === 1 ? rest : mul(konst(coef), rest));
  if (c !== 0) args.push(konst(c));
  if (args.length === 0) return ZERO;
  if (args.length === 1) return args[0]!;
  args.sort(compareExpr);
  return intern(`+${args.map((a) => a.id).join(',')}`, (id) => ({ op: 'add', id, args }));
}

/** A product's numeric coefficient and the rest: 3·x·y → [3, x·y]. */
export function splitCoef(e: Expr): [number, Expr] {
  if (e.op === 'const') return [e.value, ONE];
  if (e.op === 'mul' && e.args[0]!.op === 'const') {
    const rest = e.args.slice(1);
    return [e.args[0].value, rest.length === 1 ? rest[0]! : internMul(rest)];
  }
  return [1, e];
}

/** n-ary product: flattens, folds constants, collects equal factors into powers (x·x → x²). */
export function mul(...xs: readonly Expr[]): Expr {
  let c = 1;
  const powers = new Map<number, { base: Expr; exp: number }>();
  const push = (e: Expr): void => {
    if (e.op === 'mul') return e.args.forEach(push);
    if (e.op === 'const') {
      c *= e.value;
      return;
    }
    const [base, exp] = e.op === 'pow' ? [e.base, e.exp] : [e, 1];
    const prev = powers.get(base.id);
    powers.set(base.id, { base, exp: (prev?.exp ?? 0) + exp });
  };
  xs.forEach(push);
  if (c === 0) return ZERO;
  const args: Expr[] = [];
  for (const { base, exp } of powers.values()) {
    const f = pow(base, exp);
    if (f.op === 'const') c *= f.value;
    else if (f.op === 'mul') args.push(...f.args);
    else args.push(f);
  }
  args.sort(compareExpr);
  if (c !== 1) args.unshift(konst(c));
  if (args.length === 0) return konst(c);
  if (args.length === 1) return args[0]!;
  return internMul(args);
}

function internMul(args: readonly Expr[]): Expr {
  return intern(`*${args.map((a) => a.id).join(',')}`, (id) => ({ op: 'mul', id, args: [...args] }));
}

export function neg(e: Expr): Expr {
  return mul(konst(-1), e);
}

export function sub(a: Expr, b: Expr): Expr {
  return add(a, neg(b));
}

export function div(a: Expr, b: Expr): Expr {
  return mul(a, pow(b, -1));
}

export function pow(base: Expr, exp: number): Expr {
  if (exp === 0) return ONE;
  if (exp === 1) return base;
  if (base.op === 'const') {
    const r = Math.pow(base.value, exp);
    if (Number.isFinite(r)) return konst(r);
  }
  if (base.op === 'pow' && Number.isInteger(exp) && Number.isInteger(base.exp)) return pow(base.base, base.exp * exp);
  if (base.op === 'eq' && exp > 0) return base; // δⁿ = δ
  // (c·x)^n = c^n · x^n for integer n keeps coefficients outside, so like terms merge
  if (base.op === 'mul' && Number.isInteger(exp)) return mul(...base.args.map((a) => pow(a, exp)));
  return intern(`^${base.id},${exp}`, (id) => ({ op: 'pow', id, base, exp }));
}

export function call(fn: UnaryFn, arg: Expr): Expr {
  if (arg.op === 'const') {
    const r = evalUnary(fn, arg.value);
    if (Number.isFinite(r)) return konst(r);
  }
  return intern(`f${fn}(${arg.id})`, (id) => ({ op: 'call', id, fn, arg }));
}

export function call2(fn: BinaryFn, a: Expr, b: Expr): Expr {
  if (a.op === 'const' && b.op === 'const') return konst(fn === 'max' ? Math.max(a.value, b.value) : Math.min(a.value, b.value));
  return intern(`g${fn}(${a.id},${b.id})`, (id) => ({ op: 'call2', id, fn, a, b }));
}

export function cmp(op: CmpOp, a: Expr, b: Expr): Expr {
  if (a.op === 'const' && b.op === 'const') return konst(evalCmp(op, a.value, b.value) ? 1 : 0);
  return intern(`?${op}(${a.id},${b.id})`, (id) => ({ op: 'cmp', id, cmp: op, a, b }));
}

export function select(cond: Expr, a: Expr, b: Expr): Expr {
  if (cond.op === 'const') return cond.value !== 0 ? a : b;
  if (a === b) return a;
  return intern(`s(${cond.id},${a.id},${b.id})`, (id) => ({ op: 'select', id, cond, a, b }));
}

export function eq(a: Ix, b: Ix): Expr {
  if (ixKey(a) === ixKey(b)) return ONE;
  const [x, y] = ixKey(a) < ixKey(b) ? [a, b] : [b, a];
  return intern(`=${ixKey(x)},${ixKey(y)}`, (id) => ({ op: 'eq', id, a: x, b: y }));
}

/** Σ over `over` of body. Drops indices the body does not mention (multiplying by their size). */
export function sum(over: readonly Idx[], body: Expr): Expr {
  if (over.length === 0) return body;
  if (body.op === 'const' && body.value === 0) return ZERO;
  const free = freeKeys(body);
  const used: Idx[] = [];
  const sizes: Idx[] = [];
  for (const i of over) (free.has(idxKey(i)) ? used : sizes).push(i);
  const scale = sizes.map((i) => size(i.space));
  if (used.length === 0) return mul(...scale, body);
  const sorted = [...used].sort((a, b) => (idxKey(a) < idxKey(b) ? -1 : 1));
  for (let j = 1; j < sorted.length; j++) {
    if (idxKey(sorted[j]!) === idxKey(sorted[j - 1]!)) throw new InternalError(`sum binds ${sorted[j]!.name} twice`);
  }
  const s = intern(`S[${sorted.map(idxKey).join(',')}](${body.id})`, (id) => ({ op: 'sum' as const, id, over: sorted, body }));
  return scale.length ? mul(...scale, s) : s;
}

/**
 * max (or min) over `over` of body. `over` binds its indices as a sum's does (sorted, each once).
 * An empty iteration space (an empty batch or relation, a CSR segment with no tuples) gives 0, not
 * ∓∞: kernels hold float32 values and only finite literals (codegen/gpujs.ts), so the interpreter and
 * every kernel start from "no element yet" and return 0 when none came, like a sum's empty value.
 * Unlike `sum`, indices the body does not mention are kept (max over them is the body itself only
 * when their space is not empty), and nothing is folded: max_j c is c or, over nothing, 0.
 * `argmax`/`argmin` range over exactly one index and give its position at the first element (in
 * index order) that attains the extremum (0 over nothing): autodiff's subgradient compares it with
 * `ord(j)`, exact integers, never two float values computed by differently ordered expressions.
 */
export function reduce(fn: ReduceFn, over: readonly Idx[], body: Expr): Expr {
  if ((fn === 'argmax' || fn === 'argmin') && over.length !== 1) throw new InternalError(`${fn} over ${over.length} indices`);
  if (over.length === 0) return body;
  const sorted = [...over].sort((a, b) => (idxKey(a) < idxKey(b) ? -1 : 1));
  for (let j = 1; j < sorted.length; j++) {
    if (idxKey(sorted[j]!) === idxKey(sorted[j - 1]!)) throw new InternalError(`${fn} binds ${sorted[j]!.name} twice`);
  }
  return intern(`M${fn}[${sorted.map(idxKey).join(',')}](${body.id})`, (id) => ({ op: 'reduce' as const, id, fn, over: sorted, body }));
}

/** The id index position `ix` holds, as a number (a variable's position, a gather's id). */
export function ord(ix: Ix): Expr {
  return intern(`#${ixKey(ix)}`, (id) => ({ op: 'ord' as const, id, ix }));
}

// ---------------------------------------------------------------------------------------------
// Canonical order

/** Rank of each op in the canonical order: leaves first, then the nodes built from them. */
const RANK: { readonly [K in Op]: number } = {
  const: 0, size: 1, tensor: 2, ord: 3, eq: 4, pow: 5, call: 6, call2: 7, cmp: 8, select: 9, add: 10, mul: 11, sum: 12, reduce: 13,
};

const cmpStr = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const cmpNum = (a: number, b: number): number => (a < b ? -1 : a > b ? 1 : 0);

function cmpList<T>(a: readonly T[], b: readonly T[], cmp: (x: T, y: T) => number): number {
  for (let j = 0; j < a.length && j < b.length; j++) {
    const c = cmp(a[j]!, b[j]!);
    if (c !== 0) return c;
  }
  return a.length - b.length;
}

const cmpIdx = (a: Idx, b: Idx): number => cmpStr(a.name, b.name) || cmpStr(a.space, b.space);

function cmpIx(a: Ix, b: Ix): number {
  if (a.kind === 'var') return b.kind === 'var' ? cmpIdx(a.idx, b.idx) : -1;
  if (b.kind === 'var') return 1;
  return cmpStr(a.rel, b.rel) || cmpStr(a.col, b.col) || cmpStr(a.domain, b.domain) || cmpIdx(a.t, b.t);
}

/**
 * The canonical order of add/mul operands: a total order on nodes computed from their structure
 * alone (op, then fields, then children, lexicographically), so a kernel's summation order — and its
 * float32 rounding — is the same whatever else the process compiled. A power sorts beside its base
 * (`U[u,k]^2 · V[i,k]`, `x + x^2`); a sum or max/min by its body before its binders, so what is summed
 * decides (`Σ_u U_uk U_ul` before `Σ_i V_ik V_il`), not what the bound indices are called. Equal subtrees are the same node, so a comparison walks only the
 * path down to the first difference.
 */
export function compareExpr(a: Expr, b: Expr): number {
  if (a === b) return 0;
  const [ba, ea] = a.op === 'pow' ? [a.base, a.exp] : [a, 1];
  const [bb, eb] = b.op === 'pow' ? [b.base, b.exp] : [b, 1];
  return (ba === bb ? 0 : compareNode(ba, bb)) || cmpNum(ea, eb);
}

function compareNode(a: Expr, b: Expr): number {
  if (a.op !== b.op) return RANK[a.op] - RANK[b.op];
  switch (a.op) {
    case 'const':
      return cmpNum(a.value, (b as ExprOf<'const'>).value);
    case 'size':
      return cmpStr(a.space, (b as ExprOf<'size'>).space);
    case 'tensor': {
      const y = b as ExprOf<'tensor'>;
      return cmpStr(a.name, y.name) || cmpStr(a.kind, y.kind) || cmpList(a.ix, y.ix, cmpIx);
    }
    case 'add':
    case 'mul':
      return cmpList(a.args, (b as ExprOf<'add' | 'mul'>).args, compareExpr);
    case 'pow': {
      const y = b as ExprOf<'pow'>;
      return compareExpr(a.base, y.base) || cmpNum(a.exp, y.exp);
    }
    case 'call': {
      const y = b as ExprOf<'call'>;
      return cmpStr(a.fn, y.fn) || compareExpr(a.arg, y.arg);
    }
    case 'call2': {
      const y = b as ExprOf<'call2'>;
      return cmpStr(a.fn, y.fn) || compareExpr(a.a, y.a) || compareExpr(a.b, y.b);
    }
    case 'cmp': {
      const y = b as ExprOf<'cmp'>;
      return cmpStr(a.cmp, y.cmp) || compareExpr(a.a, y.a) || compareExpr(a.b, y.b);
    }
    case 'select': {
      const y = b as ExprOf<'select'>;
      return compareExpr(a.cond, y.cond) || compareExpr(a.a, y.a) || compareExpr(a.b, y.b);
    }
    case 'eq': {
      const y = b as ExprOf<'eq'>;
      return cmpIx(a.a, y.a) || cmpIx(a.b, y.b);
    }
    case 'ord':
      return cmpIx(a.ix, (b as ExprOf<'ord'>).ix);
    case 'sum': {
      const y = b as ExprOf<'sum'>;
      return compareExpr(a.body, y.body) || cmpList(a.over, y.over, cmpIdx);
    }
    case 'reduce': {
      const y = b as ExprOf<'reduce'>;
      return cmpStr(a.fn, y.fn) || compareExpr(a.body, y.body) || cmpList(a.over, y.over, cmpIdx);
    }
    default:
      return assertNever(a);
  }
}

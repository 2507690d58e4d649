// Tensor IR in index notation: sums over iteration spaces of products of tensor accesses.
// Invariants: nodes are immutable and hash-consed, so `a === b` iff they are structurally equal;
// smart constructors canonicalize (flatten add/mul and merge like terms and factors, sort by
// `compareExpr`, a structural order) and fold constants by the rules of fold.ts (2+3 → 5, x·0 → 0,
// Σ 0 → 0, …) before interning. Nothing about a node depends on what the process built before it.
// The node types, index keys and free indices live in expr.ts, re-exported here.
// An index variable ranges over a *space*: an index domain (`user`), a dim (`d`) or the tuples of
// a relation (`ratings`); `space` names it and the module's space table says which kind it is.
import { InternalError } from '../diagnostics/diagnostics.ts';
import {
  assertNever, idxKey, ixKey, type BinaryFn, type CmpOp, type Expr, type ExprOf, type Idx, type Ix, type Op, type ReduceFn,
  type TensorKind, type UnaryFn,
} from './expr.ts';
import { fold, type Build } from './fold.ts';
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

/** The constructors folding rules build their replacements with (ir/fold.ts). */
const BUILD: Build = { konst, size, mul, pow, sum, addOf, mulOf };

/**
 * n-ary sum. Canonicalizes — flattens nested adds and merges like terms, c·x + c'·x → (c+c')·x, the
 * coefficients summed in the order they came (a term whose coefficient comes to 0 is 0·x, which mul
 * folds to 0) — then folds the constants (fold.ts: add-consts, add-zero) and sorts.
 */
export function add(...xs: readonly Expr[]): Expr {
  const terms = new Map<number, { coef: number; rest: Expr }>();
  const consts: Expr[] = [];
  const push = (e: Expr): void => {
    if (e.op === 'add') return e.args.forEach(push);
    if (e.op === 'const') {
      consts.push(e);
      return;
    }
    const [coef, rest] = splitCoef(e);
    const prev = terms.get(rest.id);
    terms.set(rest.id, { coef: (prev?.coef ?? 0) + coef, rest });
  };
  xs.forEach(push);
  const args: Expr[] = [];
  for (const { coef, rest } of terms.values()) args.push(coef === 1 ? rest : mul(konst(coef), rest));
  return addOf([...args, ...consts]);
}

/** The add of operands already flattened and merged: one operand is itself, none is 0; else folded
 * (fold.ts), or sorted and interned. */
function addOf(args: readonly Expr[]): Expr {
  if (args.length === 0) return ZERO;
  if (args.length === 1) return args[0]!;
  const folded = fold('add', { args }, BUILD);
  if (folded) return folded;
  const sorted = [...args].sort(compareExpr);
  return intern(`+${sorted.map((a) => a.id).join(',')}`, (id) => ({ op: 'add', id, args: sorted }));
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

/**
 * n-ary product. Canonicalizes — flattens nested muls and collects equal factors into powers,
 * x·x → x², x²·x⁻¹ → x (each power built by `pow`, which folds) — then folds the constants (fold.ts:
 * mul-consts, mul-zero, mul-one) and sorts: the coefficient first, a power beside its base.
 */
export function mul(...xs: readonly Expr[]): Expr {
  const consts: Expr[] = [];
  const powers = new Map<number, { base: Expr; exp: number }>();
  const push = (e: Expr): void => {
    if (e.op === 'mul') return e.args.forEach(push);
    if (e.op === 'const') {
      consts.push(e);
      return;
    }
    const [base, exp] = e.op === 'pow' ? [e.base, e.exp] : [e, 1];
    const prev = powers.get(base.id);
    powers.set(base.id, { base, exp: (prev?.exp ?? 0) + exp });
  };
  xs.forEach(push);
  const args: Expr[] = [];
  for (const { base, exp } of powers.values()) {
    const f = exp === 1 ? base : pow(base, exp); // a factor that occurs once is itself
    if (f.op === 'mul') args.push(...f.args);
    else args.push(f);
  }
  return mulOf([...args, ...consts]);
}

/** The mul of factors already flattened and merged: one factor is itself, none is 1; else folded
 * (fold.ts), or sorted and interned. */
function mulOf(args: readonly Expr[]): Expr {
  if (args.length === 0) return ONE;
  if (args.length === 1) return args[0]!;
  return fold('mul', { args }, BUILD) ?? internMul([...args].sort(compareExpr));
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

/** base^exp; folded by fold.ts's pow rules (x⁰, x¹, cⁿ, (xᵃ)ⁿ, δⁿ, (c·x)ⁿ) where one applies. */
export function pow(base: Expr, exp: number): Expr {
  return fold('pow', { base, exp }, BUILD) ?? intern(`^${base.id},${exp}`, (id) => ({ op: 'pow', id, base, exp }));
}

export function call(fn: UnaryFn, arg: Expr): Expr {
  return fold('call', { fn, arg }, BUILD) ?? intern(`f${fn}(${arg.id})`, (id) => ({ op: 'call', id, fn, arg }));
}

export function call2(fn: BinaryFn, a: Expr, b: Expr): Expr {
  return fold('call2', { fn, a, b }, BUILD) ?? intern(`g${fn}(${a.id},${b.id})`, (id) => ({ op: 'call2', id, fn, a, b }));
}

export function cmp(op: CmpOp, a: Expr, b: Expr): Expr {
  return fold('cmp', { cmp: op, a, b }, BUILD) ?? intern(`?${op}(${a.id},${b.id})`, (id) => ({ op: 'cmp', id, cmp: op, a, b }));
}

export function select(cond: Expr, a: Expr, b: Expr): Expr {
  return fold('select', { cond, a, b }, BUILD) ?? intern(`s(${cond.id},${a.id},${b.id})`, (id) => ({ op: 'select', id, cond, a, b }));
}

/** δ(a, b), its two positions in canonical order; δ(x, x) folds to 1. */
export function eq(a: Ix, b: Ix): Expr {
  const folded = fold('eq', { a, b }, BUILD);
  if (folded) return folded;
  const [x, y] = ixKey(a) < ixKey(b) ? [a, b] : [b, a];
  return intern(`=${ixKey(x)},${ixKey(y)}`, (id) => ({ op: 'eq', id, a: x, b: y }));
}

/** Σ over `over` of body, its binders sorted (each once); a sum over nothing is its body. Folds
 * Σ 0 to 0 and drops indices the body does not mention, multiplying by their size (fold.ts). */
export function sum(over: readonly Idx[], body: Expr): Expr {
  if (over.length === 0) return body;
  const folded = fold('sum', { over, body }, BUILD);
  if (folded) return folded;
  const sorted = [...over].sort((a, b) => (idxKey(a) < idxKey(b) ? -1 : 1));
  for (let j = 1; j < sorted.length; j++) {
    if (idxKey(sorted[j]!) === idxKey(sorted[j - 1]!)) throw new InternalError(`sum binds ${sorted[j]!.name} twice`);
  }
  return intern(`S[${sorted.map(idxKey).join(',')}](${body.id})`, (id) => ({ op: 'sum' as const, id, over: sorted, body }));
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

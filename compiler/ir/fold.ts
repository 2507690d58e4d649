// Constant folding as data: the local rewrites the smart constructors of nodes.ts apply while they
// build a node, so that 2+3 is the node 5, x·0 is 0 and (x^2)^3 is x^6 from the moment they exist.
// They run at construction, not as a later pass (see rewrite/rule.ts): hash-consing's `===`, like-term
// merging and the rewrite rules' guards (`select(c, g, 0)`, dropped empty sums) rely on it.
//
// A constructor first canonicalizes what it was given — structural work, not folding: add and mul
// flatten nested operands and merge like terms (c·x + c'·x → (c+c')·x) or like factors (x·x → x²);
// an add or mul of one operand is that operand, of none its unit; a sum over no index is its body.
// Then `fold` tries the rules of that op in list order on the node-to-be (`Parts`: its fields, no id
// yet); the first whose guard holds gives the result, which the rule builds with the constructors it
// is handed (`Build`), so it is canonical again. Where none fires, the constructor sorts (add, mul, eq,
// sum binders: `compareExpr`, the structural order) and interns the node.
// Each rule's math is the one-line comment above it; test/rewrite/fold.test.ts has a line for each.
import { evalCmp, evalUnary, freeKeys, idxKey, ixKey, type Expr, type ExprOf, type Idx, type Op } from './expr.ts';

/** A node of `op` before it exists: the fields its constructor was given, canonicalized, no id. For add
 * and mul the operands are flattened and merged but not sorted; constants among them not yet folded. */
export type Parts<K extends Op> = Omit<ExprOf<K>, 'op' | 'id'>;

/** The constructors a rule builds its replacement with: nodes.ts's, handed in because nodes.ts imports
 * this file. Each canonicalizes (and folds) what it builds. */
export interface Build {
  readonly konst: (value: number) => Expr;
  readonly size: (space: string) => Expr;
  readonly mul: (...xs: readonly Expr[]) => Expr;
  readonly pow: (base: Expr, exp: number) => Expr;
  readonly sum: (over: readonly Idx[], body: Expr) => Expr;
  /** the add of operands that are already flattened and merged (folded again, then sorted and interned) */
  readonly addOf: (args: readonly Expr[]) => Expr;
  /** the mul of factors that are already flattened and merged (folded again, then sorted and interned) */
  readonly mulOf: (args: readonly Expr[]) => Expr;
}

/** One folding rule: rewrites the parts of a node of `op` about to be built, or undefined where its guard fails. */
export interface FoldRule<K extends Op = Op> {
  readonly name: string;
  readonly op: K;
  apply(p: Parts<K>, k: Build): Expr | undefined;
}

/** A folding rule over `op`: `match` is the guard (what the rewrite needs, or undefined), `apply` the replacement. */
export function foldRule<K extends Op, M>(
  name: string,
  op: K,
  match: (p: Parts<K>) => M | undefined,
  apply: (p: Parts<K>, m: M, k: Build) => Expr,
): FoldRule<K> {
  return {
    name,
    op,
    apply: (p, k) => {
      const m = match(p);
      return m === undefined ? undefined : apply(p, m, k);
    },
  };
}

type Const = ExprOf<'const'>;
const isConst = (e: Expr): e is Const => e.op === 'const';
const isValue = (value: number) => (e: Expr): boolean => e.op === 'const' && e.value === value;
const when = (b: boolean): true | undefined => (b ? true : undefined);
const finite = (r: number): number | undefined => (Number.isFinite(r) ? r : undefined);
/** the constant operands, where there are two or more to fold into one */
const severalConsts = (args: readonly Expr[]): Const[] | undefined => {
  const cs = args.filter(isConst);
  return cs.length >= 2 ? cs : undefined;
};
const bothConst = (a: Expr, b: Expr): readonly [number, number] | undefined => (isConst(a) && isConst(b) ? [a.value, b.value] : undefined);
const others = (args: readonly Expr[], drop: (e: Expr) => boolean): Expr[] => args.filter((a) => !drop(a));

// c₁ + c₂ + x  →  (c₁+c₂) + x     the constants summed in the order they came (float rounding)
export const addConsts = foldRule('add-consts', 'add', (p) => severalConsts(p.args), (p, cs, k) =>
  k.addOf([...others(p.args, isConst), k.konst(cs.reduce((s, c) => s + c.value, 0))]),
);

// x + 0  →  x
export const addZero = foldRule('add-zero', 'add', (p) => when(p.args.some(isValue(0))), (p, _, k) => k.addOf(others(p.args, isValue(0))));

// c₁·c₂·x  →  (c₁c₂)·x     the constants multiplied in the order they came
export const mulConsts = foldRule('mul-consts', 'mul', (p) => severalConsts(p.args), (p, cs, k) =>
  k.mulOf([...others(p.args, isConst), k.konst(cs.reduce((s, c) => s * c.value, 1))]),
);

// 0·x  →  0
export const mulZero = foldRule('mul-zero', 'mul', (p) => when(p.args.some(isValue(0))), (_p, _, k) => k.konst(0));

// 1·x  →  x
export const mulOne = foldRule('mul-one', 'mul', (p) => when(p.args.some(isValue(1))), (p, _, k) => k.mulOf(others(p.args, isValue(1))));

// x⁰  →  1
export const powZero = foldRule('pow-zero', 'pow', (p) => when(p.exp === 0), (_p, _, k) => k.konst(1));

// x¹  →  x
export const powOne = foldRule('pow-one', 'pow', (p) => when(p.exp === 1), (p) => p.base);

// cⁿ  →  the number cⁿ     where it is finite
export const powConst = foldRule(
  'pow-const',
  'pow',
  (p) => (isConst(p.base) ? finite(Math.pow(p.base.value, p.exp)) : undefined),
  (_p, r, k) => k.konst(r),
);

// (xᵃ)ⁿ  →  x^(a·n)     a, n integers
export const powPow = foldRule(
  'pow-pow',
  'pow',
  (p) => (p.base.op === 'pow' && Number.isInteger(p.exp) && Number.isInteger(p.base.exp) ? p.base : undefined),
  (p, b, k) => k.pow(b.base, b.exp * p.exp),
);

// δⁿ  →  δ     n > 0: a δ is 0 or 1
export const powDelta = foldRule('pow-delta', 'pow', (p) => when(p.base.op === 'eq' && p.exp > 0), (p) => p.base);

// (c·x·…)ⁿ  →  cⁿ·xⁿ·…     n an integer: the coefficient stays outside, so like terms merge
export const powMul = foldRule(
  'pow-mul',
  'pow',
  (p) => (p.base.op === 'mul' && Number.isInteger(p.exp) ? p.base : undefined),
  (p, b, k) => k.mul(...b.args.map((a) => k.pow(a, p.exp))),
);

// f(c)  →  the number f(c)     where it is finite
export const callConst = foldRule(
  'call-const',
  'call',
  (p) => (isConst(p.arg) ? finite(evalUnary(p.fn, p.arg.value)) : undefined),
  (_p, r, k) => k.konst(r),
);

// max(c₁, c₂)  →  the larger (min: the smaller)
export const call2Consts = foldRule('call2-consts', 'call2', (p) => bothConst(p.a, p.b), (p, [a, b], k) =>
  k.konst(p.fn === 'max' ? Math.max(a, b) : Math.min(a, b)),
);

// c₁ < c₂  →  1 or 0     (every comparison)
export const cmpConsts = foldRule('cmp-consts', 'cmp', (p) => bothConst(p.a, p.b), (p, [a, b], k) => k.konst(evalCmp(p.cmp, a, b) ? 1 : 0));

// (c ? a : b)  →  a where c ≠ 0, else b
export const selectConst = foldRule('select-const', 'select', (p) => (isConst(p.cond) ? p.cond : undefined), (p, c) =>
  c.value !== 0 ? p.a : p.b,
);

// (c ? a : a)  →  a
export const selectSame = foldRule('select-same', 'select', (p) => when(p.a === p.b), (p) => p.a);

// δ(x, x)  →  1
export const deltaSame = foldRule('delta-same', 'eq', (p) => when(ixKey(p.a) === ixKey(p.b)), (_p, _, k) => k.konst(1));

// Σ_x 0  →  0
export const sumZero = foldRule('sum-zero', 'sum', (p) => when(isValue(0)(p.body)), (_p, _, k) => k.konst(0));

// Σ_{x,…} g  →  |x|·Σ_{…} g     x not in g
export const sumUnused = foldRule(
  'sum-unused',
  'sum',
  (p) => {
    const free = freeKeys(p.body);
    const unused = p.over.filter((i) => !free.has(idxKey(i)));
    return unused.length ? { unused, used: p.over.filter((i) => free.has(idxKey(i))) } : undefined;
  },
  (p, { unused, used }, k) => k.mul(...unused.map((i) => k.size(i.space)), k.sum(used, p.body)),
);

/** Every folding rule; at a node, the first of its op's rules whose guard holds fires. */
export const foldRules: readonly FoldRule[] = [
  addConsts, addZero,
  mulConsts, mulZero, mulOne,
  powZero, powOne, powConst, powPow, powDelta, powMul,
  callConst, call2Consts, cmpConsts,
  selectConst, selectSame,
  deltaSame,
  sumZero, sumUnused,
];

const byOp = new Map<Op, FoldRule[]>();
for (const r of foldRules) byOp.set(r.op, [...(byOp.get(r.op) ?? []), r]);

let onFold: ((rule: string, result: Expr) => void) | undefined;

/** The node `p` folds to by the first rule of `op` that fires, or undefined: then the caller interns it. */
export function fold<K extends Op>(op: K, p: Parts<K>, k: Build): Expr | undefined {
  const rules = byOp.get(op) as readonly FoldRule<K>[] | undefined;
  if (rules === undefined) return undefined;
  for (const r of rules) {
    const out = r.apply(p, k);
    if (out === undefined) continue;
    onFold?.(r.name, out);
    return out;
  }
  return undefined;
}

/** Runs `body` with `trace` told of every folding rule that fires, innermost first (tests). */
export function traceFolds<T>(trace: (rule: string, result: Expr) => void, body: () => T): T {
  const prev = onFold;
  onFold = trace;
  try {
    return body();
  } finally {
    onFold = prev;
  }
}

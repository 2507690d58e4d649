// Rewrite tests written in the DSL (TACO, egg): `parseIR` reads IR in the notation `printIR` writes
// (`sum(u in user: U[u,k]*δ(u, a))`), `sameUpToRenaming` compares two expressions up to renaming of
// bound indices and the order of + and * operands, and `rewritesTo` is a one-line rule test:
//   rewritesTo([deltaEliminate], 'sum(u in user: δ(u, a)*U[u,b])', 'U[a,b]')
// Names: an identifier in an index position is an index (bound by an enclosing sum, or free with its
// space from `scope.free`); `rel.col[t]` there is a gather. In expression position `rel.col[t]` is a
// data column, a declared param is a param, and any other bare name a scalar hyperparameter.
import { expect } from 'vitest';
import type { IRModule, Space } from '../../compiler/ir/module.ts';
import {
  add, assertNever, call, call2, cmp, div, eq, idxKey, konst, mul, neg, ord, pow, reduce, select, size, sum, tensor,
  type BinaryFn, type CmpOp, type Expr, type Idx, type Ix, type ReduceFn, type UnaryFn,
} from '../../compiler/ir/nodes.ts';
import { batchSize, totalSize } from '../../compiler/ir/spaces.ts';
import { printIR } from '../../compiler/ir/print.ts';
import { rewrite } from '../../compiler/rewrite/engine.ts';
import type { Rule } from '../../compiler/rewrite/rule.ts';

export interface IRScope {
  /** every space an index or `|size|` may name; relations give gathers their domains */
  readonly spaces: ReadonlyMap<string, Space>;
  /** param name → the spaces of its axes */
  readonly params: ReadonlyMap<string, readonly string[]>;
  /** free index name → its space */
  readonly free: Readonly<Record<string, string>>;
}

const relation = (name: string, columns: Record<string, string>): Space => ({ kind: 'relation', name, columns: new Map(Object.entries(columns)) });

/** user × item ratings, d = 4, params U V bu bi mu h, a sparse-row entries relation `x` over
 * feature rows (columns row, feat, val) with param W[feature, d]; free a: user, b: d, c: item. */
export const FIXTURE: IRScope = {
  spaces: new Map<string, Space>([
    ['user', { kind: 'domain', name: 'user' }],
    ['item', { kind: 'domain', name: 'item' }],
    ['feature', { kind: 'domain', name: 'feature' }],
    ['d', { kind: 'dim', name: 'd', size: 4 }],
    ['ratings', relation('ratings', { user: 'user', item: 'item', rating: 'float' })],
    ['rows', relation('rows', { label: 'float' })],
    ['x', relation('x', { row: 'rows', feat: 'feature', val: 'float' })],
  ]),
  params: new Map([
    ['U', ['user', 'd']],
    ['V', ['item', 'd']],
    ['W', ['feature', 'd']],
    ['bu', ['user']],
    ['bi', ['item']],
    ['mu', []],
    ['h', ['d']],
  ]),
  free: { a: 'user', b: 'd', c: 'item', t: 'rows' },
};

/** The scope of a lowered module: its spaces and params, with gradient outputs a', b', c' free. */
export function scopeOf(m: IRModule, free: Readonly<Record<string, string>> = {}): IRScope {
  return { spaces: m.spaces, params: new Map(m.params.map((p) => [p.name, p.shape])), free };
}

// ---------------------------------------------------------------------------------------------
// Parsing printIR's notation

const UNARY = new Set<string>(['exp', 'log', 'sqrt', 'abs', 'sigmoid', 'logsigmoid', 'softplus', 'relu', 'tanh', 'step', 'sign']);
const REDUCE = new Set<string>(['max', 'min', 'argmax', 'argmin']);
const CMP = new Set<string>(['<', '<=', '>', '>=', '==', '!=']);
const TOKEN = /\s*(\d+(?:\.\d+)?(?:e[+-]?\d+)?|[A-Za-z_#][\w~#'.]*|δ|<=|>=|==|!=|[()[\],:+\-*/^?<>|])/y;

export function parseIR(text: string, scope: IRScope = FIXTURE): Expr {
  const toks: string[] = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < text.length) {
    if (/^\s*$/.test(text.slice(TOKEN.lastIndex))) break;
    const at = TOKEN.lastIndex;
    const m = TOKEN.exec(text);
    if (!m) throw new Error(`parseIR: cannot read ${JSON.stringify(text.slice(at, at + 20))} in ${text}`);
    toks.push(m[1]!);
  }
  let p = 0;
  const bound: Map<string, Idx>[] = [];
  const peek = (k = 0): string | undefined => toks[p + k];
  const next = (): string => {
    const t = toks[p++];
    if (t === undefined) throw new Error(`parseIR: unexpected end of ${text}`);
    return t;
  };
  const expectTok = (t: string): void => {
    const got = next();
    if (got !== t) throw new Error(`parseIR: expected \`${t}\`, found \`${got}\` in ${text}`);
  };
  const isName = (t: string | undefined): t is string => t !== undefined && /^[A-Za-z_#]/.test(t);

  const variable = (name: string): Idx => {
    for (let j = bound.length - 1; j >= 0; j--) {
      const hit = bound[j]!.get(name);
      if (hit) return hit;
    }
    const space = scope.free[name];
    if (!space) throw new Error(`parseIR: index \`${name}\` is neither bound nor declared free in ${text}`);
    return { name, space };
  };
  const ix = (): Ix => {
    const name = next();
    if (peek() !== '[') return { kind: 'var', idx: variable(name) };
    next();
    const t = variable(next());
    expectTok(']');
    const dot = name.lastIndexOf('.');
    const [rel, col] = [name.slice(0, dot), name.slice(dot + 1)];
    const r = scope.spaces.get(rel);
    const domain = r !== undefined && 'columns' in r ? r.columns.get(col) : undefined;
    if (!domain) throw new Error(`parseIR: \`${name}\` is not an id column of a relation`);
    return { kind: 'gather', rel, col, domain, t };
  };
  const ixList = (close: string): Ix[] => {
    const out = [ix()];
    while (peek() === ',') {
      next();
      out.push(ix());
    }
    expectTok(close);
    return out;
  };
  const binders = (): Idx[] => {
    const out: Idx[] = [];
    for (;;) {
      const name = next();
      expectTok('in');
      out.push({ name, space: next() });
      if (peek() !== ',') break;
      next();
    }
    expectTok(':');
    return out;
  };
  const sizeOf = (space: string): Expr => (scope.spaces.get(space)?.kind === 'relation' ? size(totalSize(space)) : size(space));

  const atom = (): Expr => {
    const t = next();
    if (/^\d/.test(t)) return konst(Number(t));
    if (t === '(') {
      const e = expr();
      expectTok(')');
      return e;
    }
    if (t === '|') {
      const s = next();
      expectTok('|');
      return sizeOf(s);
    }
    if (t === 'δ') {
      expectTok('(');
      const a = ix();
      expectTok(',');
      const b = ix();
      expectTok(')');
      return eq(a, b);
    }
    if (!isName(t)) throw new Error(`parseIR: unexpected \`${t}\` in ${text}`);
    if (t === 'B' && peek() === '(') {
      next();
      const s = next();
      expectTok(')');
      return size(batchSize(s));
    }
    if (t === 'ord' && peek() === '(') {
      next();
      return ord(ixList(')')[0]!);
    }
    if ((t === 'sum' || REDUCE.has(t)) && peek() === '(' && peek(2) === 'in') {
      next();
      const over = binders();
      bound.push(new Map(over.map((i) => [i.name, i])));
      const body = expr();
      bound.pop();
      expectTok(')');
      return t === 'sum' ? sum(over, body) : reduce(t as ReduceFn, over, body);
    }
    if (UNARY.has(t) && peek() === '(') {
      next();
      const arg = expr();
      expectTok(')');
      return call(t as UnaryFn, arg);
    }
    if ((t === 'max' || t === 'min') && peek() === '(') {
      next();
      const a = expr();
      expectTok(',');
      const b = expr();
      expectTok(')');
      return call2(t as BinaryFn, a, b);
    }
    if (peek() === '[') {
      next();
      const ixs = ixList(']');
      return tensor(scope.params.has(t) ? 'param' : 'data', t, ixs);
    }
    return tensor(scope.params.has(t) ? 'param' : t.includes('.') ? 'data' : 'hyper', t, []);
  };
  const power = (): Expr => {
    const base = atom();
    if (peek() !== '^') return base;
    next();
    let sign = 1;
    let paren = false;
    if (peek() === '(') {
      next();
      paren = true;
      if (peek() === '-') {
        next();
        sign = -1;
      }
    }
    const n = sign * Number(next());
    if (paren) expectTok(')');
    return pow(base, n);
  };
  const unary = (): Expr => {
    if (peek() !== '-') return power();
    next();
    return neg(unary());
  };
  const product = (): Expr => {
    let e = unary();
    while (peek() === '*' || peek() === '/') e = next() === '*' ? mul(e, unary()) : div(e, unary());
    return e;
  };
  const addition = (): Expr => {
    let e = product();
    while (peek() === '+' || peek() === '-') e = next() === '+' ? add(e, product()) : add(e, neg(product()));
    return e;
  };
  const comparison = (): Expr => {
    const a = addition();
    if (!CMP.has(peek() ?? '')) return a;
    const op = next() as CmpOp;
    return cmp(op, a, addition());
  };
  const expr = (): Expr => {
    const c = comparison();
    if (peek() !== '?') return c;
    next();
    const a = comparison();
    expectTok(':');
    return select(c, a, comparison());
  };
  const e = expr();
  if (p !== toks.length) throw new Error(`parseIR: unexpected \`${toks[p]}\` in ${text}`);
  return e;
}

// ---------------------------------------------------------------------------------------------
// Comparison up to renaming of bound indices

interface Shown {
  /** bound indices as their space only: the same for every renaming */
  readonly anon: string;
  /** bound indices as markers of their binder, to name them by first occurrence */
  readonly marked: string;
}

/**
 * A string equal for two expressions iff they are equal up to renaming of bound indices and the
 * order of + and * operands. Operands sort by their renaming-free form; a sum names its indices in
 * order of first occurrence in its sorted body. (Operands equal but for which bound index they read
 * are ordered by that index, so a rare asymmetric tie can make equal forms compare unequal — never
 * the reverse.)
 */
export function canonical(e: Expr): string {
  return show(e, new Map(), 0).marked;
}

function show(e: Expr, env: ReadonlyMap<string, Shown>, depth: number): Shown {
  const both = (f: (s: (x: Expr) => string, i: (x: Ix) => string) => string): Shown => ({
    anon: f((x) => show(x, env, depth).anon, (x) => showIx(x, env, 'anon')),
    marked: f((x) => show(x, env, depth).marked, (x) => showIx(x, env, 'marked')),
  });
  switch (e.op) {
    case 'const':
      return { anon: String(e.value), marked: String(e.value) };
    case 'size':
      return { anon: `|${e.space}|`, marked: `|${e.space}|` };
    case 'tensor':
      return both((_, i) => `${e.kind}:${e.name}[${e.ix.map(i).join(',')}]`);
    case 'add':
    case 'mul': {
      const args = e.args.map((a) => show(a, env, depth)).sort((x, y) => cmpStr(x.anon, y.anon) || cmpStr(x.marked, y.marked));
      return { anon: `${e.op}(${args.map((a) => a.anon).join(' ; ')})`, marked: `${e.op}(${args.map((a) => a.marked).join(' ; ')})` };
    }
    case 'pow':
      return both((s) => `pow(${s(e.base)}, ${e.exp})`);
    case 'call':
      return both((s) => `${e.fn}(${s(e.arg)})`);
    case 'call2':
      return both((s) => `${e.fn}(${s(e.a)}, ${s(e.b)})`);
    case 'cmp':
      return both((s) => `(${s(e.a)} ${e.cmp} ${s(e.b)})`);
    case 'select':
      return both((s) => `(${s(e.cond)} ? ${s(e.a)} : ${s(e.b)})`);
    case 'eq': {
      const side = (k: keyof Shown): string => [showIx(e.a, env, k), showIx(e.b, env, k)].sort().join(', ');
      return { anon: `δ(${side('anon')})`, marked: `δ(${side('marked')})` };
    }
    case 'ord':
      return both((_, i) => `ord(${i(e.ix)})`);
    case 'sum':
    case 'reduce': {
      const inner = new Map(env);
      e.over.forEach((i, j) => inner.set(idxKey(i), { anon: `?${i.space}`, marked: `\u0001${depth}:${j}\u0002` }));
      const body = show(e.body, inner, depth + 1);
      const marker = new RegExp(`\u0001${depth}:(\\d+)\u0002`, 'g');
      const order: number[] = [];
      for (const m of body.marked.matchAll(marker)) if (!order.includes(Number(m[1]))) order.push(Number(m[1]));
      const name = (j: number): string => `$${depth}.${order.indexOf(j)}`;
      const marked = body.marked.replace(marker, (_, j: string) => name(Number(j)));
      const head = e.op === 'sum' ? 'sum' : e.fn;
      const over = order.map((j) => `${name(j)}:${e.over[j]!.space}`).join(', ');
      return { anon: `${head}[${e.over.map((i) => i.space).sort().join(', ')}](${body.anon})`, marked: `${head}[${over}](${marked})` };
    }
    default:
      return assertNever(e);
  }
}

function showIx(x: Ix, env: ReadonlyMap<string, Shown>, k: keyof Shown): string {
  const v = (i: Idx): string => env.get(idxKey(i))?.[k] ?? `${i.name}:${i.space}`;
  return x.kind === 'var' ? v(x.idx) : `${x.rel}.${x.col}[${v(x.t)}]`;
}

const cmpStr = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Asserts `got` equals the IR that `want` (DSL text) denotes, up to renaming of bound indices. */
export function expectSameForm(got: Expr, want: string, scope: IRScope = FIXTURE): void {
  const w = parseIR(want, scope);
  expect(canonical(got), `got  ${printIR(got)}\nwant ${printIR(w)}`).toBe(canonical(w));
}

/** One-line rule test: `rules`, run by the driver on `before`, give `after` (up to renaming). */
export function rewritesTo(rules: readonly Rule[], before: string, after: string, scope: IRScope = FIXTURE): void {
  expectSameForm(rewrite(parseIR(before, scope), rules), after, scope);
}

// Prints IR in the DSL's own notation, so goldens, `recc explain` and kernel comments read like the
// model: `sum(u in user, i in item: (sum(k in d: U[u,k]*V[i,k]))^2)`. Gathers print as `ratings.user[t]`.
import { assertNever, type Expr, type ExprOf, type Ix } from './nodes.ts';
import { columnKey, printSize, type PublicNames } from './spaces.ts';
import { children } from './walk.ts';

const PREC: Record<string, number> = { select: 0, cmp: 1, add: 2, mul: 3, neg: 3, pow: 5 };

export function printIx(x: Ix): string {
  return x.kind === 'var' ? x.idx.name : `${x.rel}.${x.col}[${x.t.name}]`;
}

export function printIR(e: Expr): string {
  return show(e, 0);
}

function paren(s: string, inner: number, outer: number): string {
  return inner < outer ? `(${s})` : s;
}

function show(e: Expr, outer: number): string {
  switch (e.op) {
    case 'const':
      return e.value < 0 ? paren(String(e.value), 3, outer) : String(e.value);
    case 'size':
      // a relation's full count prints as the user wrote it; the current batch's count as B(rel)
      return printSize(e.sym);
    case 'tensor':
      return e.ix.length ? `${e.name}[${e.ix.map(printIx).join(',')}]` : e.name;
    case 'add': {
      const parts = e.args.map((a, j) => {
        const s = show(a, PREC.add! + 1);
        if (j > 0 && s.startsWith('-')) return ` - ${s.slice(1)}`;
        return j === 0 ? s : ` + ${s}`;
      });
      return paren(parts.join(''), PREC.add!, outer);
    }
    case 'mul': {
      const [first, ...rest] = e.args;
      if (first && first.op === 'const' && first.value === -1) {
        return paren(`-${rest.map((a) => show(a, PREC.mul! + 1)).join('*')}`, PREC.mul!, outer);
      }
      return paren(e.args.map((a) => show(a, PREC.mul! + 1)).join('*'), PREC.mul!, outer);
    }
    case 'pow':
      return paren(`${show(e.base, PREC.pow! + 1)}^${e.exp < 0 ? `(${e.exp})` : e.exp}`, PREC.pow!, outer);
    case 'call':
      return `${e.fn}(${show(e.arg, 0)})`;
    case 'call2':
      return `${e.fn}(${show(e.a, 0)}, ${show(e.b, 0)})`;
    case 'cmp':
      return paren(`${show(e.a, PREC.cmp! + 1)} ${e.cmp} ${show(e.b, PREC.cmp! + 1)}`, PREC.cmp!, outer);
    case 'select':
      return paren(`${show(e.cond, 1)} ? ${show(e.a, 1)} : ${show(e.b, 1)}`, PREC.select!, outer);
    case 'eq':
      return `δ(${printIx(e.a)}, ${printIx(e.b)})`;
    case 'ord':
      return `ord(${printIx(e.ix)})`;
    case 'sum':
    case 'reduce':
      return `${e.op === 'sum' ? 'sum' : e.fn}(${e.over.map((i) => `${i.name} in ${i.space}`).join(', ')}: ${show(e.body, 0)})`;
    default:
      return assertNever(e);
  }
}

// ---------------------------------------------------------------------------------------------
// The modeller's form (`recc explain`): public names only, binders named after their spaces
// (u, i, k, t, n, with ₂, ₃ … where one is taken), Gramians and dot products in matrix notation.

const SUB = '₀₁₂₃₄₅₆₇₈₉';
const subscript = (n: number): string => String(n).replace(/\d/g, (d) => SUB[Number(d)]!);

export interface FormOptions {
  /** free indices, named first (a gradient's output axes) */
  readonly free?: readonly { readonly name: string; readonly space: string }[];
  /** the module's public names and space kinds (ir/spaces.ts `publicNames`); without it, names print as they are */
  readonly names?: PublicNames;
}

const AS_IS: PublicNames = { space: (n) => n, tensor: (n) => n, kind: () => undefined };

/** Names binders by the first letter of their space (t for a relation's tuples, n for entries). */
function namer(opts: FormOptions): { nameFor: (key: string, space: string) => string; names: Map<string, string> } {
  const used = new Set<string>();
  const names = new Map<string, string>();
  const pub = opts.names ?? AS_IS;
  const letter = (space: string): string => {
    const kind = pub.kind(space);
    if (kind === 'entries') return 'n';
    if (kind === 'touched-rows') return 'r';
    if (kind === 'relation') return 't';
    const p = pub.space(space).replace(/[^A-Za-z]/g, '');
    return (p[0] ?? 'x').toLowerCase();
  };
  const nameFor = (key: string, space: string): string => {
    const have = names.get(key);
    if (have) return have;
    const base = letter(space);
    let n = 1;
    let name = base;
    while (used.has(name)) name = `${base}${subscript(++n)}`;
    used.add(name);
    names.set(key, name);
    return name;
  };
  for (const i of opts.free ?? []) nameFor(ik(i), i.space);
  return { nameFor, names };
}

const ik = (i: { readonly name: string; readonly space: string }): string => `${i.name}\u0000${i.space}`;

/** The names `printForm` gives the free indices `opts.free`, in order. */
export function formFreeNames(opts: FormOptions): string[] {
  const { names } = namer(opts);
  return (opts.free ?? []).map((i) => names.get(ik(i))!);
}

/** `e` as a modeller reads it, in the DSL's notation with public names and named binders. */
export function printForm(e: Expr, opts: FormOptions = {}): string {
  const { nameFor, names } = namer(opts);
  const pub = opts.names ?? AS_IS;
  const publicName = pub.tensor;
  // binders in order of appearance; a binder reused by two sibling sums keeps one name (same index)
  const seen = new Set<number>();
  const visit = (x: Expr): void => {
    if (seen.has(x.id)) return;
    seen.add(x.id);
    if (x.op === 'sum' || x.op === 'reduce') for (const i of x.over) nameFor(ik(i), i.space);
    for (const c of children(x)) visit(c);
  };
  visit(e);
  for (const [k, v] of [...freeOf(e)]) if (!names.has(k)) nameFor(k, v);
  const nm = (i: { readonly name: string; readonly space: string }): string => names.get(ik(i)) ?? i.name;
  const ix = (x: Ix): string => {
    if (x.kind === 'var') return nm(x.idx);
    return `${publicName(columnKey(x.rel, x.col))}[${nm(x.t)}]`;
  };
  /** `e` as a matrix over (k, l) if it is one: T[k,l] → T, Σ_u A[u,k]·B[u,l] → AᵀB. */
  const matrix = (x: Expr, k: string, l: string): string | undefined => {
    const at = (t: Expr, a: string, b: string): boolean => t.op === 'tensor' && t.ix.length === 2 && t.ix.every((y, j) => y.kind === 'var' && ik(y.idx) === [a, b][j]);
    if (x.op === 'tensor' && at(x, k, l)) return publicName(x.name);
    if (x.op === 'sum' && x.over.length === 1 && x.body.op === 'mul' && x.body.args.length === 2) {
      const u = ik(x.over[0]!);
      const [A, B] = x.body.args as [Expr, Expr];
      for (const [p, q] of [
        [A, B],
        [B, A],
      ] as const) {
        if (at(p, u, k) && at(q, u, l) && p.op === 'tensor' && q.op === 'tensor') return `${publicName(p.name)}ᵀ${publicName(q.name)}`;
      }
    }
    return undefined;
  };
  const go = (x: Expr, outer: number): string => {
    switch (x.op) {
      case 'const':
        return x.value < 0 ? paren(String(x.value), 3, outer) : String(x.value);
      case 'size':
        return x.sym.kind === 'batch' ? `B(${pub.space(x.sym.space)})` : `|${pub.space(x.sym.space)}|`;
      case 'tensor':
        return x.ix.length ? `${publicName(x.name)}[${x.ix.map(ix).join(',')}]` : publicName(x.name);
      case 'add': {
        const parts = x.args.map((a, j) => {
          const s = go(a, PREC.add! + 1);
          if (j > 0 && s.startsWith('-')) return ` - ${s.slice(1)}`;
          return j === 0 ? s : ` + ${s}`;
        });
        return paren(parts.join(''), PREC.add!, outer);
      }
      case 'mul': {
        const [first, ...rest] = x.args;
        const num = (first && first.op === 'const' && first.value === -1 ? rest : x.args).filter((a) => !(a.op === 'pow' && a.exp === -1));
        const den = x.args.filter((a): a is ExprOf<'pow'> => a.op === 'pow' && a.exp === -1).map((a) => go(a.base, PREC.pow! + 1));
        let s = num.length ? num.map((a) => go(a, PREC.mul! + 1)).join('·') : '1';
        if (den.length) s += `/${den.length > 1 ? `(${den.join('·')})` : den[0]}`;
        return paren(first && first.op === 'const' && first.value === -1 ? `-${s}` : s, PREC.mul!, outer);
      }
      case 'pow':
        if (x.exp === -1) return paren(`1/${go(x.base, PREC.pow! + 1)}`, PREC.mul!, outer);
        return paren(`${go(x.base, PREC.pow! + 1)}${x.exp === 2 ? '²' : `^${x.exp < 0 ? `(${x.exp})` : x.exp}`}`, PREC.pow!, outer);
      case 'call':
        return `${x.fn}(${go(x.arg, 0)})`;
      case 'call2':
        return `${x.fn}(${go(x.a, 0)}, ${go(x.b, 0)})`;
      case 'cmp':
        return paren(`${go(x.a, PREC.cmp! + 1)} ${x.cmp} ${go(x.b, PREC.cmp! + 1)}`, PREC.cmp!, outer);
      case 'select':
        return paren(`${go(x.cond, 1)} ? ${go(x.a, 1)} : ${go(x.b, 1)}`, PREC.select!, outer);
      case 'eq':
        return `[${ix(x.a)} = ${ix(x.b)}]`;
      case 'ord':
        return `ord(${ix(x.ix)})`;
      case 'sum': {
        // ⟨A, B⟩ = Σ_{k,l} A_kl·B_kl over two matrices (Gramians)
        if (x.over.length === 2 && x.body.op === 'mul' && x.body.args.length === 2) {
          const [k, l] = x.over.map(ik) as [string, string];
          const ms = x.body.args.map((a) => matrix(a, k, l));
          if (ms.every((m) => m !== undefined)) return `⟨${ms.join(', ')}⟩`;
        }
        if (x.over.length === 2) {
          const [k, l] = x.over.map(ik) as [string, string];
          const m = matrix(x.body, k, l);
          if (m) return `sum(${m})`;
        }
        // a dot product over one dim: U[u]·V[i]
        if (x.over.length === 1 && x.body.op === 'mul' && x.body.args.length === 2) {
          const k = ik(x.over[0]!);
          const rows = x.body.args.map((a) =>
            a.op === 'tensor' && a.ix.length >= 1 && a.ix.at(-1)!.kind === 'var' && ik((a.ix.at(-1) as Extract<Ix, { kind: 'var' }>).idx) === k && a.ix.slice(0, -1).every((y) => !(y.kind === 'var' && ik(y.idx) === k))
              ? `${publicName(a.name)}${a.ix.length > 1 ? `[${a.ix.slice(0, -1).map(ix).join(',')}]` : ''}`
              : undefined,
          );
          if (rows.every((r) => r !== undefined)) return paren(rows.join(' · '), PREC.mul!, outer);
        }
        // a Gramian with free (k, l): (AᵀB)[k,l]
        if (x.over.length === 1 && x.body.op === 'mul' && x.body.args.length === 2) {
          const [A, B] = x.body.args as [Expr, Expr];
          if (A.op === 'tensor' && B.op === 'tensor' && A.ix.length === 2 && B.ix.length === 2 && A.ix[1]!.kind === 'var' && B.ix[1]!.kind === 'var') {
            const [k, l] = [A.ix[1].idx, B.ix[1].idx];
            const m = matrix(x, ik(k), ik(l));
            if (m) return `(${m})[${nm(k)},${nm(l)}]`;
          }
        }
        return `sum(${x.over.map((i) => `${nm(i)} in ${pub.space(i.space)}`).join(', ')}: ${go(x.body, 0)})`;
      }
      case 'reduce':
        return `${x.fn}(${x.over.map((i) => `${nm(i)} in ${pub.space(i.space)}`).join(', ')}: ${go(x.body, 0)})`;
      default:
        return assertNever(x);
    }
  };
  return go(e, 0);
}


/** Free index variables of `e` (key → space), in order of appearance. */
function freeOf(e: Expr): Map<string, string> {
  const out = new Map<string, string>();
  const go = (x: Expr, bound: ReadonlySet<string>): void => {
    const see = (y: Ix): void => {
      const i = y.kind === 'var' ? y.idx : y.t;
      const k = `${i.name}\u0000${i.space}`;
      if (!bound.has(k)) out.set(k, i.space);
    };
    if (x.op === 'tensor') x.ix.forEach(see);
    else if (x.op === 'eq') [x.a, x.b].forEach(see);
    else if (x.op === 'ord') see(x.ix);
    if (x.op === 'sum' || x.op === 'reduce') {
      const inner = new Set([...bound, ...x.over.map((i) => `${i.name}\u0000${i.space}`)]);
      go(x.body, inner);
    } else for (const c of children(x)) go(c, bound);
  };
  go(e, new Set());
  return out;
}

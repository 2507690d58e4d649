// Prints IR in the DSL's own notation, so goldens, `recc explain` and kernel comments read like the
// model: `sum(u in user, i in item: (sum(k in d: U[u,k]*V[i,k]))^2)`. Gathers print as `ratings.user[t]`.
import { assertNever, type Expr, type Ix } from './nodes.ts';
import { printSize } from './spaces.ts';

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

// Kernel arguments: the tensors, temps, id columns and CSR arrays a kernel step reads, in first-use
// order with generated names (p0, p1, …), and the CSR indexes its loops walk. Inside a walk, the
// walked column is the walk's key (no read) and other id columns of the walked relation are read in
// CSR order (`csr-ids`); a CSR-ordered temp may only be read at a walk's position over its index.
import { InternalError } from '../diagnostics/diagnostics.ts';
import { csrOf } from '../ir/csr-walk.ts';
import { idxKey, type Expr, type Ix } from '../ir/nodes.ts';
import { children } from '../ir/walk.ts';
import { csrKey, type Arg, type CsrUse, type PlanIdx, type Split } from './types.ts';

/** A tuple index bound at a CSR position: inside a walk, or the thread of a CSR-ordered step. */
export interface WalkCtx {
  readonly rel: string;
  readonly col: string;
}

/** Arguments of a kernel step in first-use order, and the CSR indexes its loops walk. */
export function collectArgs(
  e: Expr,
  bound: ReadonlySet<string>,
  split: Split | undefined,
  size: (s: string) => number,
  orderOf: (temp: string) => CsrUse | undefined,
  order: (CsrUse & { readonly t: PlanIdx }) | undefined,
): { args: Arg[]; csr: CsrUse[] } {
  const args: Arg[] = [];
  const csr: CsrUse[] = [];
  const seen = new Set<string>();
  const addArg = (key: string, make: (name: string) => Arg): void => {
    if (seen.has(key)) return;
    seen.add(key);
    args.push(make(`p${args.length}`));
  };
  const useCsr = (rel: string, col: string, domain: string): void => {
    const k = csrKey(rel, col);
    if (!csr.some((u) => u.rel === rel && u.col === col)) csr.push({ rel, col, domain });
    addArg(`perm:${k}`, (name) => ({ name, kind: 'csr-perm', rel, col, size: size(rel) }));
  };
  const ixArg = (x: Ix, walks: ReadonlyMap<string, WalkCtx & { walked: boolean }>): void => {
    if (x.kind !== 'gather') return;
    const w = walks.get(idxKey(x.t));
    // inside a walk, the walked column is the walk's key; other columns are read in CSR order
    if (w && w.rel === x.rel && w.walked && w.col === x.col) return;
    if (w && w.rel === x.rel) {
      addArg(`cids:${csrKey(w.rel, w.col)}\u0000${x.col}`, (name) => ({ name, kind: 'csr-ids', rel: w.rel, col: w.col, of: x.col, size: size(x.rel) }));
      return;
    }
    addArg(`ids:${x.rel}\u0000${x.col}`, (name) => ({ name, kind: 'ids', rel: x.rel, col: x.col, size: size(x.rel) }));
  };
  const memo = new Set<string>();
  // `known`: δ nodes a CSR walk makes identically 1 (the emitter reads no ids for them)
  const go = (x: Expr, b: ReadonlySet<string>, top: boolean, known: ReadonlySet<number>, walks: ReadonlyMap<string, WalkCtx & { walked: boolean }>): void => {
    const mk = `${x.id}|${[...b].sort().join(',')}|${[...known].join(',')}|${[...walks.keys()].join(',')}`;
    if (memo.has(mk)) return;
    memo.add(mk);
    switch (x.op) {
      case 'const':
      case 'size':
        return;
      case 'tensor': {
        const n = x.ix.reduce((a, i) => a * size(i.kind === 'var' ? i.idx.space : i.domain), 1);
        if (x.kind === 'temp') {
          const o = orderOf(x.name);
          if (o) {
            const i0 = x.ix[0];
            const w = i0 && i0.kind === 'var' ? walks.get(idxKey(i0.idx)) : undefined;
            if (x.ix.length !== 1 || !w || w.rel !== o.rel || w.col !== o.col) throw new InternalError(`plan: CSR-ordered temp ${x.name} read outside a walk over ${o.rel}.${o.col}`);
          }
          addArg(`temp:${x.name}`, (name) => ({ name, kind: 'temp', temp: x.name, size: n }));
        } else addArg(`tensor:${x.kind}\u0000${x.name}`, (name) => ({ name, kind: 'tensor', tensor: x.name, tensorKind: x.kind, size: n }));
        for (const i of x.ix) ixArg(i, walks);
        return;
      }
      case 'eq':
        if (known.has(x.id)) return;
        ixArg(x.a, walks);
        ixArg(x.b, walks);
        return;
      case 'ord':
        ixArg(x.ix, walks);
        return;
      case 'sum': {
        const c = top && split ? undefined : csrOf(x, b);
        let inner = walks;
        if (c) {
          const k = csrKey(c.rel, c.col);
          ixArg(c.key, walks);
          addArg(`off:${k}`, (name) => ({ name, kind: 'csr-offsets', rel: c.rel, col: c.col, size: size(c.domain) + 1 }));
          useCsr(c.rel, c.col, c.domain);
          inner = new Map([...walks, [idxKey(c.t), { rel: c.rel, col: c.col, walked: true }]]);
        }
        go(x.body, new Set([...b, ...x.over.map(idxKey)]), false, c ? new Set([...known, c.delta.id]) : known, inner);
        return;
      }
      case 'reduce':
        go(x.body, new Set([...b, ...x.over.map(idxKey)]), false, known, walks);
        return;
      default:
        for (const c of children(x)) go(c, b, false, known, walks);
    }
  };
  const walks = new Map<string, WalkCtx & { walked: boolean }>();
  if (order) {
    useCsr(order.rel, order.col, order.domain);
    walks.set(idxKey(order.t), { rel: order.rel, col: order.col, walked: false });
  }
  go(e, bound, true, new Set(), walks);
  return { args, csr };
}

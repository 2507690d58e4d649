// Checking without IR (`lowerDiagnostics`): a pure def applied again in the same situation gives the
// same diagnostics, so its first result stands for the others. This makes `recc check` linear in the
// length of a chain of defs that each call the previous one (lowering inlines every call).
import type * as ast from '../syntax/ast.ts';
import type { Model } from '../check/model.ts';
import type { Value } from './values.ts';

/**
 * Defs whose lowering depends only on the kinds of the values in scope: neither the def nor any def
 * it calls, directly or through others, has an aggregation (whose samplers and spaces change the
 * lowerer's state, and whose tuple bindings read the caller's scope) or reaches a cycle of calls
 * (whose "calls itself" error depends on the call stack).
 */
export function pureDefNames(model: Model): Set<string> {
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
export function defMemoKey(name: string, scope: ReadonlyMap<string, Value>, pure: ReadonlySet<string>): string | undefined {
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

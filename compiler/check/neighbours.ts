// Check of a `neighbours S[item, item] = cosine(likes, top = 50)` declaration: a table of the top-M
// item–item cosines |V_i ∩ V_j| / (√|V_i| √|V_j|) over the relation's users (V_i = the users with
// item i), computed from the training data when a run starts (runtime/train/neighbours.ts). Rules
// (RC0617–RC0620): the measure is `cosine`; both axes are the same index domain; the relation exists
// and has a column of that domain and another index column (the users); `top` is a positive integer.
import type * as A from '../syntax/ast.ts';
import type { Axis, NeighboursInfo, RelationInfo } from './model.ts';
import { didYouMean, error, type Report } from './report.ts';

/** the similarity measures a neighbours table may use */
const MEASURES: readonly string[] = ['cosine'];
/** the largest `top` accepted: more neighbours per item than this is a dense table in all but name */
export const MAX_TOP = 10_000;

export function neighboursInfo(
  d: A.ParamDecl & { readonly neighbours: NonNullable<A.ParamDecl['neighbours']> },
  shape: readonly Axis[],
  relations: ReadonlyMap<string, RelationInfo>,
  num: (e: A.Expr) => number | undefined,
  report: Report,
): NeighboursInfo | undefined {
  const n = d.neighbours;
  let ok = true;
  if (!MEASURES.includes(n.measure.name)) {
    const help = didYouMean(n.measure.name, MEASURES);
    report(error('RC0617', `unknown neighbour measure \`${n.measure.name}\``, n.measure.span, 'not a measure', { help: help ?? 'write `cosine(likes, top = 50)`' }));
    ok = false;
  }
  const [a, b] = shape;
  if (shape.length !== 2 || d.shape.length !== 2 || a?.kind !== 'domain' || b?.kind !== 'domain' || a.name !== b.name) {
    report(error('RC0618', `a neighbours table is indexed by one index domain twice, e.g. \`${d.name.name}[item, item]\``, d.shape.length ? { ...d.shape[0]!.span, end: d.shape[d.shape.length - 1]!.span.end } : d.name.span, shape.length !== 2 ? `${shape.length} axes` : 'not one domain twice', {
      help: 'an item–item table: `neighbours S[item, item] = cosine(likes, top = 50)`',
    }));
    return undefined;
  }
  const domain = a.name;
  // arguments: the relation (positional, a name) and `top = M`
  let relation: RelationInfo | undefined;
  let top: number | undefined;
  for (const [j, arg] of n.args.entries()) {
    if (!arg.name && j === 0) {
      if (arg.value.kind !== 'IdentExpr' || !relations.has(arg.value.name)) {
        const known = [...relations.keys()];
        const name = arg.value.kind === 'IdentExpr' ? arg.value.name : undefined;
        report(error('RC0619', name ? `\`${name}\` is not a relation` : 'the first argument of `cosine` is a relation', arg.value.span, 'not a relation', {
          help: (name && didYouMean(name, known)) ?? (known.length ? `one of ${known.map((r) => `\`${r}\``).join(', ')}` : 'declare one with `data likes = …`'),
        }));
        ok = false;
        continue;
      }
      relation = relations.get(arg.value.name)!;
      continue;
    }
    if (arg.name?.name === 'top') {
      const v = num(arg.value);
      if (v !== undefined && !(Number.isInteger(v) && v >= 1 && v <= MAX_TOP)) {
        report(error('RC0620', `\`top\` must be an integer in 1..${MAX_TOP}`, arg.value.span, `found ${v}`, { help: 'the number of neighbours kept per item, e.g. `top = 50`' }));
        ok = false;
      }
      top = v;
      continue;
    }
    report(error('RC0620', arg.name ? `\`cosine\` has no argument \`${arg.name.name}\`` : '`cosine` takes a relation and `top = M`', arg.span, 'unexpected argument', { help: 'write `cosine(likes, top = 50)`' }));
    ok = false;
  }
  if (!relation) {
    if (ok) report(error('RC0619', '`cosine` needs the relation whose users define item similarity', n.span, 'no relation given', { help: 'write `cosine(likes, top = 50)`' }));
    return undefined;
  }
  if (top === undefined) {
    if (ok) report(error('RC0620', '`cosine` needs `top = M`, the neighbours kept per item', n.span, 'no `top`', { help: `write \`cosine(${relation.name}, top = 50)\`` }));
    return undefined;
  }
  const ids = relation.columns.filter((c) => c.type.kind === 'domain');
  const itemCol = ids.find((c) => c.type.kind === 'domain' && c.type.domain === domain);
  const userCol = ids.find((c) => c !== itemCol);
  if (!itemCol || !userCol) {
    report(error('RC0619', itemCol ? `\`${relation.name}\` has no second index column (the users whose sets are compared)` : `\`${relation.name}\` has no column of domain \`${domain}\``, n.args[0]!.value.span, 'cannot define the cosine', {
      help: `the relation needs a user column and a \`${domain}\` column, e.g. \`data likes(user: user, ${domain}: ${domain})\``,
    }));
    return undefined;
  }
  if (!ok) return undefined;
  return { measure: 'cosine', relation: relation.name, userColumn: userCol.name, itemColumn: itemCol.name, domain, top };
}

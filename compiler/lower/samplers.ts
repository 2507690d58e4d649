// Sample bindings: `j ~ s(item)` adds a sampled id column to the enclosing relation (one draw per
// tuple, with its log-probability as a value column); `J ~ s(item) x K` and `J ~ inbatch(item)` a
// sample-set space shared by the batch. Each registers a Sampler for the runtime and its
// log-probability table, which `logq(i)` reads for ids the sampler did not draw.
import type * as ast from '../syntax/ast.ts';
import type { Sampler, SamplerExclude } from '../ir/module.ts';
import { v, type Ix } from '../ir/nodes.ts';
import { columnKey, logqTableName, sampledColumn, sampledLogqColumn, sampleSetBase, sampleSetSpace } from '../ir/spaces.ts';
import type { Bound } from './bindings.ts';
import type { LowerState } from './context.ts';
import { constNumber, Unsupported } from './values.ts';

/** `j ~ uniform(item, exclude = likes)`: redraws while the draw is one of the tuple's owner's positives, at most this many times, then accepts the last draw. */
export const EXCLUDE_RETRIES = 10;

export function bindSample(ctx: LowerState, b: Extract<ast.Binding, { kind: 'SampleBinding' }>, st: Bound): void {
  const { model, spaces, relationCols, samplers, samplerTables } = ctx;
  const { tensor } = ctx.ir;
  const outerRel = st.outerRel;
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
    const space = ctx.fresh(sampleSetBase(b.var.name));
    spaces.set(space, sampleSetSpace(space, b.var.name, domain));
    const smp: Sampler = { kind: 'set', space, domain, dist, alpha, count: 0, source: outerRel.rel, sourceCol };
    samplers.push(smp);
    samplerTables.set(domain, logqTableName(smp));
    st.inner.set(b.var.name, { kind: 'samples', space, domain });
  } else if (b.count) {
    // J ~ s x K: K ids drawn per step and shared by the batch (as TF's sampled softmax does)
    const space = ctx.fresh(sampleSetBase(b.var.name));
    spaces.set(space, sampleSetSpace(space, b.var.name, domain));
    const smp: Sampler = { kind: 'set', space, domain, dist, alpha, count: b.count.value, source: outerRel?.rel };
    samplers.push(smp);
    samplerTables.set(domain, logqTableName(smp));
    st.inner.set(b.var.name, { kind: 'samples', space, domain });
  } else {
    // j ~ s: one id per tuple of the enclosing relation, a sampled column of that relation
    if (!outerRel) throw new Unsupported(b.span, 'a single sample `j ~ …` needs a tuple binding before it, e.g. `(u, i) in likes, j ~ uniform(item)`');
    const col = sampledColumn(ctx.fresh(b.var.name));
    const exclude = excludeArg ? excludeOf(ctx, excludeArg, domain, outerRel.rel) : undefined;
    const smp: Sampler = { kind: 'per-tuple', rel: outerRel.rel, col, variable: b.var.name, domain, dist, alpha, source: outerRel.rel, ...(exclude ? { exclude } : {}) };
    samplers.push(smp);
    samplerTables.set(domain, logqTableName(smp));
    const ix: Ix = { kind: 'gather', rel: outerRel.rel, col, domain, t: outerRel.t };
    st.inner.set(b.var.name, { kind: 'index', ix, domain, logq: tensor('data', columnKey(outerRel.rel, sampledLogqColumn(col)), [v(outerRel.t)]) });
  }
}

/** `exclude = likes` of a per-tuple sampler over `domain` in relation `rel`: which columns pair up. */
function excludeOf(ctx: LowerState, arg: ast.NamedArg, domain: string, rel: string): SamplerExclude {
  const { spaces, relationCols } = ctx;
  const name = arg.value.kind === 'IdentExpr' ? arg.value.name : '';
  const cols = [...(relationCols.get(name) ?? [])];
  const col = cols.find(([, type]) => type === domain)?.[0];
  const tupleCols = [...relationCols.get(rel)!];
  // the owner: the excluded relation's first id column of another domain that the tuple also has
  const key = cols.find(([c, type]) => c !== col && type !== domain && spaces.get(type)?.kind === 'domain' && tupleCols.some(([, t]) => t === type));
  const tupleCol = key ? tupleCols.find(([, t]) => t === key[1])?.[0] : undefined;
  if (!col || !key || !tupleCol) throw new Unsupported(arg.span, `\`exclude = ${name}\` needs \`${rel}\` to have a column of the domain whose ${domain}s \`${name}\` lists`);
  return { rel: name, col, keyCol: key[0], tupleCol, owner: key[1], retries: EXCLUDE_RETRIES };
}

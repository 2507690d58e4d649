// Split-K: a reduction longer than the planner's inline limit is cut into boxes of at most `chunk`
// iterations; one thread sums each box and a second step (or the host, in float64) adds the boxes.
// This keeps float32 accumulation short and every shader loop under the drivers' iteration caps.
import type { ExprOf, Idx } from '../ir/nodes.ts';
import type { PlanIdx, Split } from './types.ts';

/** Boxes for a sum's iteration space: largest extents first, at most `chunk` iterations a box. */
export function chooseSplit(s: ExprOf<'sum'>, chunk: number, pidx: (i: Idx) => PlanIdx): Omit<Split, 'chunkIdx'> {
  const order = s.over.map((i, j) => ({ i: pidx(i), j })).sort((a, b) => b.i.size - a.i.size || a.j - b.j);
  let budget = chunk;
  const dims = new Map<number, { idx: PlanIdx; chunk: number; chunks: number }>();
  for (const { i, j } of order) {
    const edge = i.size <= budget ? i.size : Math.max(1, budget);
    budget = Math.max(1, Math.floor(budget / edge));
    dims.set(j, { idx: i, chunk: edge, chunks: Math.ceil(i.size / edge) });
  }
  return { dims: s.over.map((_, j) => dims.get(j)!) };
}

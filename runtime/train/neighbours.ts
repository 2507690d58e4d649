// neighbours: a `neighbours S[item, item] = cosine(likes, top = M)` table from the training tuples,
//   S_ij = |V_i ∩ V_j| / (√|V_i| √|V_j|),  V_i = the distinct users with item i,
// kept for each item i as its M largest S_ij (j ≠ i; ties: lower j first). S = AᵀA cosine-normalized,
// computed sparsely: for each item i, walk its users and their items and count co-occurrences in one
// reused |item| scratch row (cost Σ_u |items(u)|², never a dense |item| × |item| matrix). Stored
// fixed-width, |item| × M row-major (CSR with implicit offsets i·M), −1/0 padding where an item has
// fewer than M co-occurring items. `neighbourRun` is what `recc run` does for such a model: nothing
// to train, the table is the model (one evaluation, step 0).
import type { Compiled } from '../../compiler/compile.ts';
import type { NeighboursInfo } from '../../compiler/check/model.ts';
import type { Dataset } from '../data/dataset.ts';
import { itemsKey } from '../eval/neighbour-scores.ts';
import type { Backend } from '../exec/backend.ts';
import type { EvalResult } from '../eval/evaluate.ts';
import type { EarlyStopping } from './early-stop.ts';
import { HeldOut, type HeldOutReport } from './held-out.ts';
import type { StepLog } from './init.ts';

export interface NeighbourTable {
  readonly nItems: number;
  readonly top: number;
  /** |item| × top neighbour rows, best first; −1 pads */
  readonly items: Int32Array;
  readonly weights: Float32Array;
}


export function cosineNeighbours(users: Int32Array, items: Int32Array, nUsers: number, nItems: number, top: number): NeighbourTable {
  // distinct (user, item) pairs, as CSR both ways
  const byUser = csr(users, items, nUsers, nItems);
  const byItem = csr(byUser.to, byUser.from, nItems, nUsers);
  const deg = (i: number): number => byItem.offsets[i + 1]! - byItem.offsets[i]!;
  const outItems = new Int32Array(nItems * top).fill(-1);
  const outWeights = new Float32Array(nItems * top);
  const count = new Int32Array(nItems);
  const touched: number[] = [];
  for (let i = 0; i < nItems; i++) {
    for (let p = byItem.offsets[i]!; p < byItem.offsets[i + 1]!; p++) {
      const u = byItem.to[p]!;
      for (let q = byUser.offsets[u]!; q < byUser.offsets[u + 1]!; q++) {
        const j = byUser.to[q]!;
        if (j === i) continue;
        if (count[j] === 0) touched.push(j);
        count[j]!++;
      }
    }
    const di = deg(i);
    const sim = (j: number): number => count[j]! / Math.sqrt(di * deg(j));
    touched.sort((a, b) => sim(b) - sim(a) || a - b);
    for (let m = 0; m < Math.min(top, touched.length); m++) {
      outItems[i * top + m] = touched[m]!;
      outWeights[i * top + m] = sim(touched[m]!);
    }
    for (const j of touched) count[j] = 0;
    touched.length = 0;
  }
  return { nItems, top, items: outItems, weights: outWeights };
}

/** Distinct pairs grouped by `from` (sorted `to` within each row). */
function csr(from: Int32Array, to: Int32Array, nFrom: number, nTo: number): { offsets: Int32Array; from: Int32Array; to: Int32Array } {
  const rows: Set<number>[] = Array.from({ length: nFrom }, () => new Set<number>());
  for (let t = 0; t < from.length; t++) {
    const a = from[t]!, b = to[t]!;
    if (a < 0 || a >= nFrom || b < 0 || b >= nTo) throw new RangeError(`neighbours: id ${a} or ${b} out of range`);
    rows[a]!.add(b);
  }
  const offsets = new Int32Array(nFrom + 1);
  rows.forEach((r, a) => (offsets[a + 1] = offsets[a]! + r.size));
  const f = new Int32Array(offsets[nFrom]!), g = new Int32Array(offsets[nFrom]!);
  rows.forEach((r, a) => {
    const sorted = [...r].sort((x, y) => x - y);
    f.fill(a, offsets[a]!, offsets[a + 1]!);
    g.set(sorted, offsets[a]!);
  });
  return { offsets, from: f, to: g };
}

/** The table of `info` from the training side of `ds`. */
export function tableFor(info: NeighboursInfo, ds: Dataset): NeighbourTable {
  const rel = ds.train.get(info.relation);
  if (!rel) throw new RangeError(`neighbours: relation ${info.relation} is not loaded`);
  const userDomain = rel.columns.find((c) => c.name === info.userColumn)!.type;
  const nUsers = userDomain.kind === 'domain' ? ds.ids.get(userDomain.domain).size : 0;
  const nItems = ds.ids.get(info.domain).size;
  if (nItems >= 2 ** 24) throw new RangeError(`neighbours: ${nItems} items; a neighbours table holds fewer than 2^24`);
  return cosineNeighbours(rel.ids.get(info.userColumn)!, rel.ids.get(info.itemColumn)!, nUsers, nItems, info.top);
}

/** A model whose only tensors are neighbours tables: compute them, evaluate once (step 0). */
export function neighbourRun(
  compiled: Compiled,
  ds: Dataset,
  opts: { readonly backend: Backend; readonly onEval?: (r: EvalResult) => void; readonly earlyStopping?: EarlyStopping },
): { params: Map<string, Float32Array>; log: readonly StepLog[]; evals: readonly EvalResult[]; stepsRun: number; heldOut: HeldOutReport; seconds: number } {
  const started = performance.now();
  const params = new Map<string, Float32Array>();
  for (const t of compiled.model.neighbours) {
    const table = tableFor(t.neighbours!, ds);
    params.set(t.name, table.weights);
    params.set(itemsKey(t.name), Float32Array.from(table.items));
  }
  const evals: EvalResult[] = [];
  const heldOut = new HeldOut(compiled, ds, opts.backend, opts.earlyStopping);
  heldOut.evaluate(params, 0, 0, (r) => {
    evals.push(r);
    opts.onEval?.(r);
  });
  const report = heldOut.finish(params, 0, 1, { diverged: false, stoppedEarly: false }, (r) => opts.onEval?.(r));
  return { params, log: [], evals, stepsRun: 0, heldOut: report, seconds: (performance.now() - started) / 1000 };
}

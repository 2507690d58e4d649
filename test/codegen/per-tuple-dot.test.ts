// A per-tuple sum over a dense index whose body gathers rows through the tuple (BPR's
// U[user[t]]·V[j[t]], a step of its own in the group plan) is scheduled tuple-outermost, its sum in
// one float64 accumulator: each cell is exactly the sequential float64 sum over k of the products,
// rounded to float32 once — what the sum-outermost (Gramian) schedule gave, bit for bit.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { emitJsKernel } from '../../compiler/codegen/js.ts';
import { planGroup } from '../../compiler/plan/plan.ts';
import { Rng } from '../../runtime/data/rng.ts';
import { EXAMPLES_DIR, loadExample } from '../helpers/examples.ts';

describe('a per-tuple dot of gathered rows', () => {
  const path = join(EXAMPLES_DIR, 'bpr.recmodel');
  const l = loadExample(path, readFileSync(path, 'utf8'));
  const g = planGroup([...l.compiled.terms.map((t) => ({ expr: t.expr, out: [] })), ...l.compiled.grads.map((x) => ({ expr: x.expr, out: x.out }))], l.compiled.module.spaces, l.sizes);
  // steps of one output index (the tuple) that are a sum over d of two gathered params
  const dots = g.steps.filter((s) => s.kind === 'kernel' && s.out.length === 1 && !s.split && s.expr.op === 'sum' && s.args.filter((a) => a.kind === 'tensor' && a.tensorKind === 'param').length === 2 && s.args.filter((a) => a.kind === 'ids').length === 2);

  it('loops the tuple outermost and equals the sequential float64 sum of each cell', () => {
    expect(dots.length).toBeGreaterThan(0);
    const rng = new Rng(5);
    for (const s of dots) {
      const js = emitJsKernel(s, g);
      // the tuple loop first, the sum over d inside it
      expect(js.source.split('\n').find((line) => line.trim().startsWith('for'))!.trim()).toBe(`for (let i0 = 0; i0 < ${s.cells}; i0++) {`);
      // ids of the user column into U's rows, the others (item, the sampled ~j) into V's
      const domain = (col: string): number => l.sizes.get(col === 'user' ? 'user' : 'item')!;
      const args = s.args.map((a) => (a.kind === 'ids' ? Int32Array.from({ length: a.size }, () => rng.int(domain(a.col))) : Float32Array.from({ length: a.size }, () => rng.normal(0, 0.1))));
      const out = new Float32Array(s.cells);
      new Function(...js.params, js.source)(out, ...args);
      const [U, ids1, V, ids2] = [args[0] as Float32Array, args[1] as Int32Array, args[2] as Float32Array, args[3] as Int32Array];
      const d = U.length / l.sizes.get('user')!;
      for (let t = 0; t < s.cells; t++) {
        let acc = 0;
        for (let k = 0; k < d; k++) acc += U[ids1[t]! * d + k]! * V[ids2[t]! * d + k]!;
        expect(out[t], `${s.name}[${t}]`).toBe(Math.fround(acc));
      }
      // products 2⁶⁰, 1, 0, 0, −2⁶⁰, 0, …: in order the 1 is lost (2⁶⁰ + 1 = 2⁶⁰), so every cell is 0;
      // four interleaved partial sums (another schedule) would keep it and give 1
      for (const [P, w] of [[U, 2 ** 30], [V, 2 ** 30]] as const) {
        P.fill(0);
        for (let r = 0; r < P.length / d; r++) {
          P[r * d] = w;
          P[r * d + 1] = 1;
          P[r * d + 4] = P === U ? -w : w;
        }
      }
      new Function(...js.params, js.source)(out, ...args);
      expect(out.every((x) => x === 0), `${s.name}: the terms summed in order`).toBe(true);
    }
  });
});

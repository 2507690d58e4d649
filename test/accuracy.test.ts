// Acceptance 6: at the ML-1M shape (6040 users × 3706 items, 1,000,209 ratings), mf-gramian's
// compiled `omse` loss evaluated by the gpu.js webasm kernels is within 1e-5 relative of the float64
// reference on the same float32 params — while a naive sequential float32 accumulation of the same
// per-tuple terms is not. The kernels get there by chunked partial sums added in float64 on the host.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compileSource } from '../compiler/compile.ts';
import { batchKey, totalKey } from '../compiler/ir/spaces.ts';
import { ReferenceBackend } from '../runtime/exec/backend.ts';
import { GpuBackend } from '../runtime/backends/backends.ts';
import type { Relation } from '../runtime/data/load.ts';
import { syntheticMl1m } from '../runtime/data/synthetic.ts';
import { initParams } from '../runtime/train/train.ts';
import { makeEnv } from '../runtime/exec/env.ts';
import { EXAMPLES_DIR } from './helpers/examples.ts';

const RTOL = 1e-5;

describe('mf-gramian at the ML-1M shape: float32 kernels vs float64 reference', () => {
  const data = syntheticMl1m();
  const N = data.ratings.length;
  const path = join(EXAMPLES_DIR, 'mf-gramian.recmodel');
  const text = readFileSync(path, 'utf8');
  const dims = compileSource(path, text).compiled!.module.spaces;
  const d = [...dims.values()].find((s) => s.kind === 'dim' && s.name === 'd');
  const sizes = new Map<string, number>([
    ['user', data.spec.nUsers],
    ['item', data.spec.nItems],
    ['d', d && d.kind === 'dim' ? d.size : 32],
    ['ratings', N],
    [batchKey('ratings'), N],
    [totalKey('ratings'), N],
  ]);
  const r = compileSource(path, text, { sizes });
  const compiled = r.compiled!;
  const info = compiled.model.relations.find((x) => x.name === 'ratings')!;
  const ratings: Relation = {
    name: 'ratings',
    size: N,
    columns: info.columns,
    ids: new Map([['user', data.users], ['item', data.items]]),
    idDomains: new Map([['user', 'user'], ['item', 'item']]),
    values: new Map([['rating', data.ratings], ['time', data.times]]),
    source: undefined,
  };
  // float32 params as training starts from them; the reference reads the same float32 values
  const params = initParams(compiled, sizes, compiled.model.train.seed);
  const env = makeEnv(compiled, sizes, params, new Map([['ratings', ratings]]));
  const omse = compiled.terms.find((t) => t.name === 'omse')!;
  const webasm = new GpuBackend('webasm', compiled.module.spaces);
  afterAll(() => webasm.dispose());

  it('has the ML-1M shape', () => {
    expect(r.diagnostics.filter((x) => x.severity === 'error')).toEqual([]);
    expect([data.spec.nUsers, data.spec.nItems, N]).toEqual([6040, 3706, 1_000_209]);
    expect(omse).toBeDefined();
  });

  it('omse on webasm is within 1e-5 of float64; a sequential float32 sum of the same terms is not', () => {
    const want = new ReferenceBackend().scalar(omse.expr, env);
    const got = webasm.scalar(omse.expr, env);
    expect(webasm.fallbacks()).toEqual([]);

    // the per-tuple terms (r − U_u·V_i)², each rounded to float32 as a kernel would hold it, summed
    // one after another in float32 and divided by N
    const U = params.get('U')!;
    const V = params.get('V')!;
    const k = sizes.get('d')!;
    let acc = Math.fround(0);
    for (let t = 0; t < N; t++) {
      const u = data.users[t]! * k;
      const i = data.items[t]! * k;
      let dot = 0;
      for (let j = 0; j < k; j++) dot += U[u + j]! * V[i + j]!;
      acc = Math.fround(acc + Math.fround((data.ratings[t]! - dot) ** 2));
    }
    const naive = Math.fround(acc / N);

    const errKernel = Math.abs(got - want) / Math.abs(want);
    const errNaive = Math.abs(naive - want) / Math.abs(want);
    console.log(
      `[accuracy] ML-1M omse: float64 ${want} · webasm ${got} (rel. error ${errKernel.toExponential(2)}) · ` +
        `naive float32 ${naive} (rel. error ${errNaive.toExponential(2)})`,
    );
    expect(errKernel).toBeLessThan(RTOL);
    expect(errNaive).toBeGreaterThan(RTOL);
  });

  it('the Gramian term (d×d kernels over 6040 + 3706 rows) is within 1e-5 too', () => {
    const gram = compiled.terms.find((t) => t.name === 'gram')!;
    expect(gram.steps.map((s) => s.rule)).toContain('expand+contract');
    const want = new ReferenceBackend().scalar(gram.expr, env);
    const got = webasm.scalar(gram.expr, env);
    expect(Math.abs(got - want) / Math.abs(want)).toBeLessThan(RTOL);
  });
});

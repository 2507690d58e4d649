// A compiled model is code: names from a model file must never reach the emitted JavaScript or WebAssembly.
// Kernel sources may contain only generated identifiers, keywords, Math functions and numbers
// (comments are sanitized); hostile names still compute the right numbers.
import { describe, expect, it } from 'vitest';
import { eq, idx, mul, pow, sub, sum, tensor, v, type Ix } from '../../compiler/ir/nodes.ts';
import type { Space } from '../../compiler/ir/module.ts';
import { evalTensor, type Env } from '../../compiler/ir/interp.ts';
import { planExpr } from '../../compiler/plan/plan.ts';
import { commentText, emitKernel, flt } from '../../compiler/codegen/gpujs.ts';
import { emitJsKernel } from '../../compiler/codegen/js.ts';
import { emitWasmKernel } from '../../compiler/codegen/wasm/kernel.ts';
import { buildCsr, Executor } from '../../runtime/exec/executor.ts';
import { expectClose, rng } from './fixtures.ts';

const ALLOWED = new Set([
  'function', 'const', 'let', 'for', 'if', 'break', 'return', 'this', 'thread', 'x', 'Math',
  'exp', 'log', 'log1p', 'sqrt', 'abs', 'tanh', 'max', 'min', 'pow', 'floor',
  // js kernels (codegen/js.ts): the output array and the float64 row of sums of a row-vectorized walk
  'out', 'new', 'Float64Array', 'fill',
]);
const GENERATED = /^[pvijsw]\d+$/;

function identifiers(src: string): string[] {
  const code = src.replace(/\/\/[^\n]*/g, '');
  const tokens = code.match(/\d+(?:\.\d*)?(?:e[+-]?\d+)?|[A-Za-z_$][\w$]*|\S/g) ?? [];
  return tokens.filter((x) => /^[A-Za-z_$]/.test(x));
}

// tensors P, Q, R; then relation, domain and dim names (`__proto__` and `constructor` as spaces)
const HOSTILE = ['process.exit()', "x'];alert(1);//", 'U\u2028return 1', 'a\nprocess.exit(1)//', '__proto__', 'constructor'];

describe('kernel sources', () => {
  it('contain only generated identifiers even for hostile tensor, relation and space names', () => {
    const [P, Q, R, rel, dom, dim] = HOSTILE;
    const spaces = new Map<string, Space>([
      [dom!, { kind: 'domain', name: dom! }],
      [dim!, { kind: 'dim', name: dim!, size: 3 }],
      [rel!, { kind: 'relation', name: rel!, columns: new Map([[dom!, dom!]]) }],
    ]);
    const sizes = new Map([[dom!, 7], [dim!, 3], [rel!, 40]]);
    const a = idx('process', dom!);
    const k = idx('eval', dim!);
    const kk = idx('Function', dim!);
    const t = idx('require', rel!);
    const g: Ix = { kind: 'gather', rel: rel!, col: dom!, domain: dom!, t };
    const resid = sub(sum([kk], mul(tensor('param', P!, [g, v(kk)]), tensor('param', Q!, [g, v(kk)]))), tensor('data', R!, [v(t)]));
    const loss = sum([t], pow(resid, 2));
    const grad = sum([t], mul(eq(g, v(a)), resid, tensor('param', Q!, [g, v(k)])));
    const r = rng(3);
    const vec = (n: number): Float32Array => Float32Array.from({ length: n }, () => r() * 2 - 1);
    const ids = Int32Array.from({ length: 40 }, () => Math.floor(7 * r()));
    const env: Env = {
      sizes,
      tensors: new Map([
        [P!, { data: vec(21), shape: [dom!, dim!] }],
        [Q!, { data: vec(21), shape: [dom!, dim!] }],
        [R!, { data: vec(40), shape: [rel!] }],
      ]),
      ids: new Map([[`${rel}.${dom}`, ids]]),
    };
    const exs = [new Executor('webasm', { strict: true }), new Executor('js', { strict: true }), new Executor('wasm', { strict: true })];
    for (const [e, out] of [
      [loss, []],
      [grad, [a, k]],
    ] as const) {
      const plan = planExpr(e, out, spaces, sizes);
      for (const s of plan.steps) {
        if (s.kind !== 'kernel') continue;
        const gpu = emitKernel(s, plan, { maxSeg: new Map([[JSON.stringify([rel, dom]), buildCsr(ids, 7).maxSeg]]) }).source;
        const js = emitJsKernel(s, plan);
        expect(js.params.filter((x) => x !== 'out' && !GENERATED.test(x))).toEqual([]);
        for (const source of [gpu, js.source]) {
          const bad = identifiers(source).filter((x) => !ALLOWED.has(x) && !GENERATED.test(x));
          expect(bad, source).toEqual([]);
          // no comment line can end early: every line of the source is code or a whole comment
          for (const line of source.split('\n')) expect(line).not.toMatch(/[\u2028\u2029\r]/);
        }
        // a wasm module names only its imports and export (env, mem, kernel, Math functions)
        const w = emitWasmKernel(s, plan);
        expect(w.ok).toBe(true);
        if (w.ok) for (const h of [...HOSTILE, 'process', 'require']) expect(Buffer.from(w.bytes).includes(Buffer.from(h)), h).toBe(false);
      }
      for (const ex of exs) {
        const got = ex.run(plan, { ...env, tensors: env.tensors as never });
        expectClose(got, out.length ? evalTensor(e, env, out) : evalTensor(e, env, [])[0]!, 2e-5);
      }
    }
    for (const ex of exs) ex.destroy();
  });

  it('sanitizes comments and refuses non-finite literals', () => {
    expect(commentText('a\nb\u2028c*/d δ')).toBe('a?b?c*/d delta');
    expect(() => flt(Infinity)).toThrow();
    expect(() => flt(NaN)).toThrow();
    expect(flt(-2)).toBe('(-2.0)');
    expect(flt(1e-7)).toBe('1e-7');
  });
});

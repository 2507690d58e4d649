// recc's own WGSL kernels (compiler/codegen/wgsl.ts) without a device: for every kernel step of an
// example's terms and gradients, under a layout that tiles each array over 64 cells and packs others,
// the source binds one window per tile (the window function picks them), reads ids and CSR positions
// as i32, holds only generated names (no model name reaches it), and its thread id is the launch's
// base plus its cell; a CSR index of int32 bits is bound as array<i32>. What the kernels compute is checked on a device against the float64 reference
// (test/webgpu/kernels.test.ts, every example through this path; test/webgpu/large.test.ts, a 36M-cell param).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { emitWgslKernel, intArg, type ArgPlace } from '../../compiler/codegen/wgsl.ts';
import { InternalError } from '../../compiler/diagnostics/diagnostics.ts';
import type { Step } from '../../compiler/plan/plan.ts';
import { GroupPlans } from '../../runtime/exec/group-plans.ts';
import { makeEnv } from '../../runtime/exec/env.ts';
import { initParams } from '../../runtime/train/train.ts';
import { EXAMPLES_DIR, loadExample } from '../helpers/examples.ts';

const TILE = 64;
/** every word a WGSL kernel may contain: its fixed text, WGSL builtins and generated names */
const ALLOWED = /^(struct|Launch|base|count|width|pad|group|binding|var|uniform|launch|storage|read|read_write|array|f32|i32|u32|fn|let|return|if|for|break|select|compute|workgroup_size|main|builtin|global_invocation_id|gid|vec3|cell|x|y|t|o|i|exp|log|sqrt|abs|tanh|floor|max|min|pow|a_\d+|a_\d+_\d+|a_pk|a_out|rd_\d+|l_tid|l_[vwisj]\d+|e)$/;

describe.each(['mf-biased.recmodel', 'nce.recmodel', 'mf-gramian.recmodel'])("recc's WGSL kernels of examples/%s", (file) => {
  const path = join(EXAMPLES_DIR, file);
  const l = loadExample(path, readFileSync(path, 'utf8'));
  const env = makeEnv(l.compiled, l.sizes, initParams(l.compiled, l.sizes, 1), l.ds.train);
  const plan = new GroupPlans(l.compiled.module.spaces).get(l.compiled.terms.map((t) => t.expr), l.compiled.grads.map((g) => ({ expr: g.expr, out: g.out })), env);
  const kernels = plan.steps.filter((s): s is Step => s.kind === 'kernel');

  it('tiles, packs, types ids as i32 and holds only generated names', () => {
    expect(kernels.length).toBeGreaterThan(0);
    let tiled = 0;
    let packed = 0;
    for (const s of kernels) {
      // arrays over one tile in windows; the first that fits one (if any) packed
      const packedAt = s.args.findIndex((a) => a.size <= TILE);
      if (packedAt >= 0) packed++;
      const places: ArgPlace[] = s.args.map((a, j) => (j === packedAt ? { kind: 'packed', offset: 5 } : { kind: 'bound', tiles: Math.max(1, Math.ceil(a.size / TILE)) }));
      const k = emitWgslKernel(s, plan, {}, { places, tile: TILE, packed: packedAt >= 0 });
      const words = k.source.replace(/0x1\.fffffep\+127/g, '').match(/[A-Za-z_]\w*/g) ?? [];
      expect(words.filter((w) => !ALLOWED.test(w)), `${s.name}: words outside the generated set`).toEqual([]);
      // one binding per window, the pack, the output last
      const windows = places.reduce((n, p) => n + (p.kind === 'bound' ? p.tiles : 0), 0);
      expect(k.bindings.length, s.name).toBe(windows + (packedAt >= 0 ? 1 : 0) + 1);
      expect(k.bindings.at(-1)).toEqual({ kind: 'out' });
      places.forEach((p, j) => {
        if (p.kind === 'bound' && p.tiles > 1) {
          tiled++;
          expect(k.source, `${s.name}: the window function of argument ${j}`).toContain(`fn rd_${j}(i : i32) -> f32 {\n  let t : i32 = i / ${TILE};`);
          expect(k.source).toContain(`return a_${j}_${p.tiles - 1}[o];`);
        }
        if (p.kind === 'bound' && p.tiles === 1 && intArg(s.args[j]!)) expect(k.source, `${s.name}: ids of argument ${j} read as i32`).toMatch(new RegExp(`i32\\(a_${j}\\[`));
        if (p.kind === 'packed') expect(k.source, `${s.name}: argument ${j} read from the pack at its offset`).toContain('a_pk[5 + ');
      });
      expect(k.source).toContain('let l_tid : i32 = i32(launch.base + cell);');
      expect(k.source).toMatch(/a_out\[cell\] = [^;]+;\n}$/);
    }
    expect(tiled).toBeGreaterThan(0);
    expect(packed).toBeGreaterThan(0);
  });

  it('binds a CSR index of int32 bits as array<i32> and reads it without conversion', () => {
    const withCsr = kernels.filter((s) => s.args.some((a) => a.kind === 'csr-offsets' || a.kind === 'csr-perm'));
    expect(withCsr.length).toBeGreaterThan(0);
    for (const s of withCsr) {
      const places: ArgPlace[] = s.args.map((a) => ({ kind: 'bound', tiles: 1, bits: a.kind === 'csr-offsets' || a.kind === 'csr-perm' }));
      const k = emitWgslKernel(s, plan, {}, { places, tile: TILE, packed: false });
      s.args.forEach((a, j) => {
        if (a.kind !== 'csr-offsets' && a.kind !== 'csr-perm') return;
        expect(k.source, `${s.name}: argument ${j}`).toContain(` a_${j} : array<i32>;`);
        expect(k.source, `${s.name}: argument ${j} read as stored`).not.toMatch(new RegExp(`i32\\(a_${j}\\[`));
      });
    }
  });

  it('refuses a tile that is not a whole number of workgroups', () => {
    const s = kernels[0]!;
    expect(() => emitWgslKernel(s, plan, {}, { places: s.args.map(() => ({ kind: 'bound', tiles: 1 })), tile: 100, packed: false })).toThrow(InternalError);
  });
});

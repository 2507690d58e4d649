// Issue 12, "tensors larger than the adapter's max storage buffer tiled": a model whose user factors
// U[user, d] have 300,000 × 120 = 36,000,000 cells — past gpu.js's float32 indexing (2^24 cells) and,
// at 144,000,000 bytes, past lavapipe's 128 MiB maxStorageBufferBindingSize — evaluates and trains on
// webgpu. Its kernels run as recc's WGSL (codegen/wgsl.ts: i32 indices; U read through two windows of
// its buffer, ∂U written in two launches; d = 120 puts the window boundary inside a row). Checked:
// - the loss terms on the full data against the float64 reference interpreter;
// - every gradient on the full data against the js kernels (the reference's naive loops would take
//   hours over 36M cells × 320,000 tuples; the js kernels are checked against it in kernels.test.ts);
// - ∂U's rows of sampled users — both windows, the row the boundary cuts, the first and last user —
//   against the reference on the sub-problem of those users' ratings (the loss is a sum over ratings
//   plus λ‖U‖², so a user's row of ∂U depends only on that user's ratings, U row and V);
// - three Adam steps with params, moments and gradients resident on the device (the update runs per
//   window) reach the js path's loss, and move params in both windows.
// Also a relation of 2^24 + 4,096 tuples, whose CSR positions pass float32's exact range: the index is
// kept on the device as int32 bits and its walks run as recc's WGSL (gradients vs the js kernels,
// ∂U's rows of sampled users vs the reference on their sub-problem).
// And what still cannot run — a kernel whose windows outnumber the adapter's bindings — is refused with
// its sizes (SizeLimitError, a user error), never an internal one.
// Skipped, with the reason in the suite's name, where no WebGPU adapter answers, or (the tiled model)
// when the adapter's storage binding holds U whole (a real GPU's limit is often 2–4 GiB).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Env } from '../../compiler/ir/interp.ts';
import { MAX_EXACT_INDEX, SizeLimitError } from '../../compiler/ir/limits.ts';
import { compileSource } from '../../compiler/compile.ts';
import { batchKey, totalKey } from '../../compiler/ir/spaces.ts';
import { ReferenceBackend } from '../../runtime/exec/backend.ts';
import { GpuBackend } from '../../runtime/backends/backends.ts';
import { WebGpuBackend } from '../../runtime/exec/webgpu/backend.ts';
import { selectRows, type Relation } from '../../runtime/data/load.ts';
import { Rng } from '../../runtime/data/rng.ts';
import { initParams, train } from '../../runtime/train/train.ts';
import { makeEnv, sizesFor } from '../../runtime/exec/env.ts';
import { loadExample, type Loaded } from '../helpers/examples.ts';
import { maxRelErr, relErr } from '../helpers/ir-env.ts';
import { openTestDevice } from './available.ts';

const USERS = 300_000;
const ITEMS = 50;
const D = 120;
/** ratings beyond each user's first: some users have several, so CSR segments vary */
const EXTRA = 20_000;

const { device, skip: noDevice } = openTestDevice();
afterAll(() => device?.close());
const binding = device?.adapter.maxStorageBufferBindingSize ?? 0;
const skip = noDevice ?? (USERS * D * 4 <= binding ? `this adapter binds ${binding} bytes per storage buffer: U (${USERS * D * 4} bytes) is not tiled here` : undefined);

/** The ratings file (in a fresh folder): user u first appears on line u, so its dense id is u. */
function writeRatings(): string {
  const file = join(mkdtempSync(join(tmpdir(), 'recc-large-')), 'ratings.tsv');
  const rng = new Rng(2026);
  const lines: string[] = [];
  const line = (u: number): string => `${u}\t${rng.int(ITEMS)}\t${(1 + rng.int(9) / 2).toFixed(1)}`;
  for (let u = 0; u < USERS; u++) lines.push(line(u));
  for (let k = 0; k < EXTRA; k++) lines.push(line(rng.int(USERS)));
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

const MODEL = `model large
index user, item
data ratings(user: user, item: item, rating: float) from "ratings.tsv" format tsv
dim d = ${D}
const lambda = 0.05
param U[user, d] ~ normal(0, 0.1)
param V[item, d] ~ normal(0, 0.1)
def score(u, i) = U[u] . V[i]
loss sse = sum((u, i, r) in ratings: (r - score(u, i))^2)
reg  l2  = lambda * (sum(U^2) + sum(V^2))
train { optimizer adam(lr = 0.01) steps 3 batch full seed 5 }
`;

describe.skipIf(skip !== undefined)(`a ${USERS.toLocaleString('en-US')} × ${D} param on webgpu, tiled${skip ? ` — skipped: ${skip}` : ''}`, () => {
  // built by the first test that runs: a skipped suite's body is still collected, with no device
  let built: { l: Loaded; full: Relation; params: Map<string, Float32Array>; env: Env; gpu: WebGpuBackend } | undefined;
  const setup = (): NonNullable<typeof built> => {
    if (built) return built;
    const ratingsFile = writeRatings();
    const l = loadExample(join(dirname(ratingsFile), 'large.recmodel'), MODEL, { data: ratingsFile });
    const params = initParams(l.compiled, l.sizes, 5);
    return (built = { l, full: l.ds.train.get('ratings')!, params, env: makeEnv(l.compiled, l.sizes, params, l.ds.train), gpu: new WebGpuBackend(l.compiled.module.spaces, device) });
  };
  const cells = USERS * D;
  /** the first cell of U's second window on this adapter (codegen/wgsl.ts: windows of 64-cell multiples) */
  const tile = Math.floor(binding / 4 / 64) * 64;

  it('is past both limits: 2^24 cells and one storage binding', () => {
    const { l, full } = setup();
    expect(l.sizes.get('user')).toBe(USERS);
    expect(full.size).toBe(USERS + EXTRA);
    expect(cells).toBeGreaterThan(MAX_EXACT_INDEX);
    expect(cells * 4).toBeGreaterThan(binding);
    // the boundary cuts a row: ∂U's rows there are read and written across two windows
    expect(tile % D).not.toBe(0);
  });

  let got: { scalars: number[]; tensors: Float32Array[] } | undefined;
  const onGpu = (): { scalars: number[]; tensors: Float32Array[] } => {
    const { l, env, gpu } = setup();
    return (got ??= gpu.evalMany(l.compiled.terms.map((t) => t.expr), l.compiled.grads.map((g) => ({ expr: g.expr, out: g.out })), env) as { scalars: number[]; tensors: Float32Array[] });
  };

  it('the loss terms agree with the float64 reference', () => {
    const r = onGpu();
    const { l, env, gpu } = setup();
    expect(gpu.exec.wgslKernels, 'kernels run as recc WGSL').toBeGreaterThan(0);
    expect(gpu.exec.tiledKernels, 'kernels reading or writing through windows').toBeGreaterThan(0);
    const ref = new ReferenceBackend();
    l.compiled.terms.forEach((t, j) => {
      const want = ref.scalar(t.expr, env);
      expect(relErr(r.scalars[j]!, want), `term ${t.name}: webgpu ${r.scalars[j]} vs reference ${want}`).toBeLessThan(1e-5);
    });
  });

  it('every gradient agrees with the js kernels', () => {
    const r = onGpu();
    const { l, env } = setup();
    const js = new GpuBackend('js', l.compiled.module.spaces);
    const want = js.evalMany([], l.compiled.grads.map((g) => ({ expr: g.expr, out: g.out })), env);
    js.dispose();
    l.compiled.grads.forEach((g, j) => {
      expect(r.tensors[j]!.length, `∂/∂${g.param}`).toBe(want.tensors[j]!.length);
      expect(maxRelErr(r.tensors[j]!, want.tensors[j]!), `∂/∂${g.param} on webgpu vs the js kernels`).toBeLessThan(1e-4);
    });
  });

  it("∂U's rows of sampled users agree with the reference on those users' ratings", () => {
    const r = onGpu();
    const { l, full, params } = setup();
    const gU = r.tensors[l.compiled.grads.findIndex((g) => g.param === 'U')]!;
    const boundary = Math.floor(tile / D);
    const rng = new Rng(9);
    const sample = [...new Set([0, 1, boundary - 1, boundary, boundary + 1, USERS - 1, ...Array.from({ length: 40 }, () => rng.int(USERS))])];
    const local = new Map(sample.map((u, k) => [u, k]));
    // the sub-problem: the sampled users' ratings, users renumbered 0…m−1, their rows of U, all of V
    const users = full.ids.get('user')!;
    const rows = Int32Array.from({ length: full.size }, (_, t) => t).filter((t) => local.has(users[t]!));
    const picked = selectRows(full, rows);
    const sub: Relation = { ...picked, ids: new Map([...picked.ids].map(([c, a]) => [c, c === 'user' ? a.map((u) => local.get(u)!) : a])) };
    const U = params.get('U')!;
    const subParams = new Map(params);
    subParams.set('U', Float32Array.from(sample.flatMap((u) => [...U.subarray(u * D, (u + 1) * D)])));
    const sizes = new Map(sizesFor(l.compiled, l.ds, l.ds.train, l.ds.train));
    for (const [k, n] of [['user', sample.length], [totalKey('user'), sample.length], ['ratings', sub.size], [batchKey('ratings'), sub.size], [totalKey('ratings'), sub.size]] as const) sizes.set(k, n);
    const subEnv: Env = makeEnv(l.compiled, sizes, subParams, new Map([['ratings', sub]]));
    const g = l.compiled.grads.find((x) => x.param === 'U')!;
    const want = new ReferenceBackend().tensor(g.expr, g.out, subEnv);
    const have = Float32Array.from(sample.flatMap((u) => [...gU.subarray(u * D, (u + 1) * D)]));
    expect(maxRelErr(have, want), `∂U at users ${sample.slice(0, 6).join(', ')}, … on webgpu vs the reference`).toBeLessThan(1e-4);
  });

  it('three Adam steps with resident params reach the js loss and move U in both windows', () => {
    const { l, gpu } = setup();
    const js = new GpuBackend('js', l.compiled.module.spaces);
    const want = train(l.compiled, l.ds, { backend: js, steps: 3 });
    js.dispose();
    const b = train(l.compiled, l.ds, { backend: gpu, steps: 3 });
    expect(b.stepsRun).toBe(3);
    b.log.forEach((s, j) => expect(relErr(s.total, want.log[j]!.total), `step ${j + 1}: webgpu ${s.total} vs js ${want.log[j]!.total}`).toBeLessThan(1e-4));
    const before = initParams(l.compiled, l.sizes, l.compiled.model.train.seed).get('U')!;
    const after = b.params.get('U')!;
    for (const at of [0, tile - 1, tile, cells - 1]) expect(after[at], `U cell ${at} after 3 steps`).not.toBe(before[at]);
    // Adam's first steps move each cell by about lr·sign(g): the two paths agree but where g is ~0
    const diff = after.reduce((n, x, k) => n + (Math.abs(x - want.params.get('U')![k]!) > 1e-3 ? 1 : 0), 0);
    expect(diff / cells, 'share of U cells more than 1e-3 from the js path').toBeLessThan(1e-4);
  });
});

/** 2^24 + 4096 ratings of 2,048 users and 64 items: CSR positions past float32's exact range */
const TUPLES = 2 ** 24 + 4096;
const TALL = `model tall
index user, item
data ratings(user: user, item: item, rating: float) from "ratings.tsv" format tsv
dim d = 4
param U[user, d] ~ normal(0, 0.1)
param V[item, d] ~ normal(0, 0.1)
def score(u, i) = U[u] . V[i]
loss sse = sum((u, i, r) in ratings: (r - score(u, i))^2)
reg  l2  = 0.05 * (sum(U^2) + sum(V^2))
train { optimizer adam(lr = 0.01) steps 1 batch full }
`;

describe.skipIf(noDevice !== undefined)(`a relation of ${TUPLES.toLocaleString('en-US')} tuples on webgpu${noDevice ? ` — skipped: ${noDevice}` : ''}`, () => {
  it("walks its CSR index (positions past 2^24, kept as int32 bits): gradients agree with the js kernels, ∂U's sampled rows with the reference", () => {
    const users = 2048;
    const items = 64;
    const rng = new Rng(24);
    const u = new Int32Array(TUPLES);
    const i = new Int32Array(TUPLES);
    const r = new Float64Array(TUPLES);
    for (let t = 0; t < TUPLES; t++) {
      u[t] = rng.int(users);
      i[t] = rng.int(items);
      r[t] = 1 + rng.int(9) / 2;
    }
    const relation = (rows: Int32Array | undefined): Relation => {
      const ids = (a: Int32Array): Int32Array => (rows ? Int32Array.from(rows, (t) => a[t]!) : a);
      const values = rows ? Float64Array.from(rows, (t) => r[t]!) : r;
      return { name: 'ratings', size: rows ? rows.length : TUPLES, columns: [], ids: new Map([['user', ids(u)], ['item', ids(i)]]), idDomains: new Map([['user', 'user'], ['item', 'item']]), values: new Map([['rating', values]]), source: undefined };
    };
    const sizesOf = (nUsers: number, tuples: number): Map<string, number> =>
      new Map([['user', nUsers], [totalKey('user'), nUsers], ['item', items], [totalKey('item'), items], ['d', 4], ['ratings', tuples], [batchKey('ratings'), tuples], [totalKey('ratings'), tuples]]);
    const sizes = sizesOf(users, TUPLES);
    const compiled = compileSource('tall.recmodel', TALL, { sizes }).compiled!;
    const params = initParams(compiled, sizes, 3);
    const env = makeEnv(compiled, sizes, params, new Map([['ratings', relation(undefined)]]));
    const grads = compiled.grads.map((g) => ({ expr: g.expr, out: g.out }));

    const gpu = new WebGpuBackend(compiled.module.spaces, device);
    const got = gpu.evalMany(compiled.terms.map((t) => t.expr), grads, env);
    expect(gpu.exec.wgslKernels, 'kernels run as recc WGSL').toBeGreaterThan(0);
    const js = new GpuBackend('js', compiled.module.spaces);
    const want = js.evalMany(compiled.terms.map((t) => t.expr), grads, env);
    js.dispose();
    compiled.terms.forEach((t, j) => expect(relErr(got.scalars[j]!, want.scalars[j]!), `term ${t.name}: webgpu ${got.scalars[j]} vs js ${want.scalars[j]}`).toBeLessThan(1e-5));
    compiled.grads.forEach((g, j) => expect(maxRelErr(got.tensors[j]!, want.tensors[j]!), `∂/∂${g.param} on webgpu vs the js kernels`).toBeLessThan(1e-4));

    // ∂U's rows of three users (their tuples lie all over the relation, past position 2^24 too) against
    // the reference on the sub-problem of their ratings, users renumbered
    const sample = [0, 1017, users - 1];
    const local = new Map(sample.map((x, k) => [x, k]));
    const rows = Int32Array.from({ length: TUPLES }, (_, t) => t).filter((t) => local.has(u[t]!));
    const sub = relation(rows);
    const subRel: Relation = { ...sub, ids: new Map([...sub.ids].map(([c, a]) => [c, c === 'user' ? a.map((x) => local.get(x)!) : a])) };
    const U = params.get('U')!;
    const subParams = new Map(params);
    subParams.set('U', Float32Array.from(sample.flatMap((x) => [...U.subarray(x * 4, (x + 1) * 4)])));
    const subEnv = makeEnv(compiled, sizesOf(sample.length, rows.length), subParams, new Map([['ratings', subRel]]));
    const j = compiled.grads.findIndex((g) => g.param === 'U');
    const ref = new ReferenceBackend().tensor(compiled.grads[j]!.expr, compiled.grads[j]!.out, subEnv);
    const gU = got.tensors[j]!;
    expect(maxRelErr(Float32Array.from(sample.flatMap((x) => [...gU.subarray(x * 4, (x + 1) * 4)])), ref), "∂U's sampled rows on webgpu vs the reference").toBeLessThan(1e-4);
  });
});

describe.skipIf(noDevice !== undefined)(`webgpu refuses what it cannot tile, with the sizes${noDevice ? ` — skipped: ${noDevice}` : ''}`, () => {
  it('a kernel whose windows outnumber the adapter\'s bindings is a SizeLimitError naming them', () => {
    const src = 'model gram\nindex row\ndim k = 64\nparam A[row, k] ~ normal(0, 1)\nloss g = sum(r in row, a in k, b in k: A[r, a] * A[r, b])\ntrain { optimizer sgd(lr = 0.1) steps 1 }\n';
    const sizes = new Map([['row', 10_000], ['k', 64]]);
    const compiled = compileSource('gram.recmodel', src, { sizes }).compiled!;
    const env: Env = { sizes, tensors: new Map([['A', { data: new Float32Array(640_000).fill(0.5), shape: ['row', 'k'] }]]), ids: new Map() };
    // 1 KiB bindings: A's 640,000 cells would need 2,500 windows
    const gpu = new WebGpuBackend(compiled.module.spaces, device, { maxBindingBytes: 1024 });
    const run = (): number => gpu.scalar(compiled.terms[0]!.expr, env);
    expect(run).toThrow(SizeLimitError);
    expect(run).toThrow(/storage bindings of at most 1,024 bytes; this WebGPU adapter binds at most \d+ per kernel/);
  });
});

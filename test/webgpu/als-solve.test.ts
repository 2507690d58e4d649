// ALS's row solves on the device (runtime/exec/webgpu/solve.ts) against the host's float64 solveRows
// (runtime/train/als.ts) on the same float32 H and g: random SPD H_r = B Bᵀ/n + 0.05·I (B Gaussian, so
// κ(H_r) stays below ~100) for rows of n = 1, 3, 32, 64, several hundred rows each, Cholesky and CG
// (3 steps from the current row); whole buffers and H bound in windows of a few rows (what an H over
// one storage binding gets). Float32 against float64: each row within 2e-4 of its largest value
// (κ·n·2⁻²⁴ is ~4e-4 at worst; measured ≤ ~2e-5). A row with H_r and g_r all zero keeps its value; a row
// whose H_r is not positive definite is reported (the first such row), the rows from it on keep their
// values, as solveRows leaves them. Rows already at their minimizer with a tiny H_r (residuals ~1e-12)
// run CG steps without float32 underflow reading as a non-positive-definite row. 4 bytes come back per
// solve. Skipped where no adapter answers.
import { afterAll, describe, expect, it } from 'vitest';
import { Rng } from '../../runtime/data/rng.ts';
import { SizeLimitError } from '../../compiler/ir/limits.ts';
import { choleskyPacked, solveLaunches, solveOnDevice, type RowSolver } from '../../runtime/exec/webgpu/solve.ts';
import { solveRows } from '../../runtime/train/als.ts';
import { openTestDevice } from './available.ts';

const { device, skip } = openTestDevice();
afterAll(() => device?.close());

const TOLERANCE = 2e-4;

interface Problem {
  readonly H: Float32Array;
  readonly g: Float32Array;
  readonly x0: Float32Array;
}

/** rows SPD systems of size n (float32), with `zero` rows all zero and `indefinite` rows H_r = −I. */
function problem(rows: number, n: number, seed: number, zero: readonly number[], indefinite: readonly number[] = []): Problem {
  const rng = new Rng(seed);
  const H = new Float32Array(rows * n * n);
  const g = new Float32Array(rows * n);
  const x0 = Float32Array.from({ length: rows * n }, () => rng.normal(0, 1));
  const B = new Float64Array(n * n);
  for (let r = 0; r < rows; r++) {
    if (zero.includes(r)) continue;
    const h0 = r * n * n;
    if (indefinite.includes(r)) {
      for (let i = 0; i < n; i++) H[h0 + i * n + i] = -1;
    } else {
      for (let j = 0; j < n * n; j++) B[j] = rng.normal(0, 1);
      for (let i = 0; i < n; i++) {
        for (let j = 0; j <= i; j++) {
          let s = 0;
          for (let k = 0; k < n; k++) s += B[i * n + k]! * B[j * n + k]!;
          const v = s / n + (i === j ? 0.05 : 0);
          H[h0 + i * n + j] = v;
          H[h0 + j * n + i] = v;
        }
      }
    }
    for (let i = 0; i < n; i++) g[r * n + i] = rng.normal(0, 1);
  }
  return { H, g, x0 };
}

/** The device's solve of `pr` into a copy of x0, its bad row and the bytes read back. */
function onDevice(pr: Problem, rows: number, n: number, solver: RowSolver, tile: number): { x: Float32Array; bad: number; toHost: number } {
  const dev = device!;
  const [h, g, p, status] = [dev.id(), dev.id(), dev.id(), dev.id()];
  dev.upload(h, pr.H, 'H');
  dev.upload(g, pr.g, 'g');
  dev.upload(p, pr.x0, 'x');
  const before = dev.traffic.toHost;
  const bad = solveOnDevice(dev, tile, status, { h, g, p }, rows, n, solver, 'the test rows');
  const toHost = dev.traffic.toHost - before;
  const [x] = dev.read([p]);
  dev.post({ op: 'free', ids: [h, g, p, status] });
  return { x: x!, bad, toHost };
}

/** Per row: the largest |device − host| over the row's largest |host| value; the worst row. */
function worstRowError(got: Float32Array, want: Float64Array, rows: number, n: number): number {
  let worst = 0;
  for (let r = 0; r < rows; r++) {
    let d = 0;
    let m = 0;
    for (let c = 0; c < n; c++) {
      d = Math.max(d, Math.abs(got[r * n + c]! - want[r * n + c]!));
      m = Math.max(m, Math.abs(want[r * n + c]!));
    }
    worst = Math.max(worst, d / Math.max(m, 1e-30));
  }
  return worst;
}

const SOLVERS: readonly RowSolver[] = [{ kind: 'cholesky' }, { kind: 'cg', steps: 3 }];
const CASES = [
  { n: 1, rows: 700 },
  { n: 3, rows: 500 },
  { n: 32, rows: 400 },
  { n: 64, rows: 300 },
  // past what workgroup memory holds of L (n ≤ 85): L in place of H's lower triangle
  { n: 100, rows: 60 },
];

describe.skipIf(skip !== undefined)(`ALS row solves on the device${skip ? ` — skipped: ${skip}` : ''}`, () => {
  // one binding holds every H here (lavapipe: 128 MiB), or only 16,384 cells (n = 64: 3 rows a launch)
  const wholeTile = Math.floor(device ? device.adapter.maxStorageBufferBindingSize / 4 / 64 : 0) * 64;
  describe.each(SOLVERS)('$kind', (solver) => {
    it.each(CASES)('n = $n, $rows rows: within 2e-4 of solveRows (float64); zero rows keep their values', ({ n, rows }) => {
      const zero = [5, rows - 1];
      const pr = problem(rows, n, 1000 + n, zero);
      const want = Float64Array.from(pr.x0);
      expect(solveRows(pr.H, pr.g, rows, n, solver, want)).toBe(-1);
      for (const tile of [wholeTile, 16384]) {
        const got = onDevice(pr, rows, n, solver, tile);
        expect(got.bad, `tile ${tile}`).toBe(-1);
        expect(got.toHost, 'bytes read back by the solve').toBe(4);
        const err = worstRowError(got.x, want, rows, n);
        expect(err, `tile ${tile}: worst row's error`).toBeLessThan(TOLERANCE);
        console.log(`${solver.kind}, n = ${n}, ${rows} rows, ${tile}-cell bindings: worst row ${err.toExponential(2)} of its largest value`);
        for (const r of zero) expect(got.x.subarray(r * n, r * n + n)).toEqual(pr.x0.subarray(r * n, r * n + n));
        // the solve moved every other row (a test that cannot pass by leaving p as it was)
        expect(worstRowError(pr.x0, want, rows, n)).toBeGreaterThan(100 * TOLERANCE);
      }
    });

    it('rows at their minimizer already, with a tiny H_r (1e-5): no underflow read as not positive definite', () => {
      // the residual of such a row is ~1e-12: unscaled, r·r and q·Hq underflow float32 two CG steps on
      const rows = 200;
      for (const n of [1, 3, 16]) {
        const pr = problem(rows, n, 5 + n, []);
        for (let j = 0; j < pr.H.length; j++) pr.H[j] = Math.fround(pr.H[j]! * 1e-5);
        for (let j = 0; j < pr.g.length; j++) pr.g[j] = Math.fround(pr.g[j]! * 1e-5);
        const exact = Float64Array.from(pr.x0);
        expect(solveRows(pr.H, pr.g, rows, n, { kind: 'cholesky' }, exact)).toBe(-1);
        const start = { ...pr, x0: Float32Array.from(exact) };
        const deep: RowSolver = solver.kind === 'cg' ? { kind: 'cg', steps: 8 } : solver;
        const want = Float64Array.from(start.x0);
        expect(solveRows(pr.H, pr.g, rows, n, deep, want)).toBe(-1);
        const got = onDevice(start, rows, n, deep, wholeTile);
        expect(got.bad, `n = ${n}`).toBe(-1);
        expect(worstRowError(got.x, want, rows, n), `n = ${n}`).toBeLessThan(TOLERANCE);
      }
    });

    it('the first row whose H_r is not positive definite is reported; the rows from it on keep their values', () => {
      const rows = 120;
      const n = 32;
      const pr = problem(rows, n, 77, [3], [41, 90]);
      const want = Float64Array.from(pr.x0);
      expect(solveRows(pr.H, pr.g, rows, n, solver, want)).toBe(41);
      for (const tile of [wholeTile, 16384]) {
        const got = onDevice(pr, rows, n, solver, tile);
        expect(got.bad, `tile ${tile}`).toBe(41);
        expect(worstRowError(got.x.subarray(0, 41 * n), want.subarray(0, 41 * n), 41, n)).toBeLessThan(TOLERANCE);
        expect(got.x.subarray(41 * n)).toEqual(pr.x0.subarray(41 * n));
      }
    });
  });
});

describe('the launches of a block whose H exceeds one binding (no device needed)', () => {
  it.each([
    { rows: 1000, n: 64, tile: 1 << 25 },
    { rows: 1000, n: 64, tile: 16384 },
    { rows: 777, n: 3, tile: 4096 },
    { rows: 50, n: 100, tile: 10_112 },
  ])('$rows rows of $n, $tile-cell bindings: every row once, windows 256-byte aligned, within a binding', ({ rows, n, tile }) => {
    const launches = solveLaunches(rows, n, tile, 'test');
    let next = 0;
    for (const l of launches) {
      expect(l.firstRow).toBe(next);
      next += l.rows;
      for (const [w, per] of [[l.h, n * n], [l.g, n]] as const) {
        expect(w.offset % 64).toBe(0);
        expect(w.count).toBeLessThanOrEqual(tile);
        expect(w.offset + w.shift).toBe(l.firstRow * per);
        expect(w.count - w.shift).toBe(l.rows * per);
      }
    }
    expect(next).toBe(rows);
    if (rows * n * n > tile) expect(launches.length).toBeGreaterThan(1);
  });

  it("Cholesky keeps L in workgroup memory (16 KiB) up to rows of 85, past that in place of H", () => {
    expect(choleskyPacked(64)).toBe(true);
    expect(choleskyPacked(85)).toBe(true);
    expect(choleskyPacked(86)).toBe(false);
    expect(choleskyPacked(100)).toBe(false);
  });

  it('a row whose H alone is over a binding is refused with its size', () => {
    expect(() => solveLaunches(10, 100, 8192, 'the row solves of U')).toThrow(SizeLimitError);
  });
});

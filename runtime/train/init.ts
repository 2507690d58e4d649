// init: a run's starting params — each param's initializer (normal, uniform or a value) drawn from the
// train seed, one stream per param name, so adding a param does not change the others' values — and a
// warm start over them; also the log entry of an update, shared by the gradient loop and ALS.
import type { Compiled } from '../../compiler/compile.ts';
import { Rng } from '../data/rng.ts';

/** Parameter shapes in elements, per axis. */
export function paramShape(compiled: Compiled, sizes: ReadonlyMap<string, number>, name: string): number[] {
  const p = compiled.module.params.find((x) => x.name === name)!;
  return p.shape.map((s) => sizes.get(s)!);
}

export function initParams(compiled: Compiled, sizes: ReadonlyMap<string, number>, seed: number): Map<string, Float32Array> {
  const rng = new Rng(seed);
  const out = new Map<string, Float32Array>();
  for (const info of compiled.model.params) {
    const n = paramShape(compiled, sizes, info.name).reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    const init = info.init;
    const r = rng.fork(hashName(info.name));
    for (let j = 0; j < n; j++) {
      data[j] = init.kind === 'normal' ? init.mean + init.std * r.normal() : init.kind === 'uniform' ? init.lo + (init.hi - init.lo) * r.uniform() : init.value;
    }
    out.set(info.name, data);
  }
  return out;
}

/** Warm start: rows the saved run had (finite values) replace the fresh initialization, param by param. */
export function warmStart(params: ReadonlyMap<string, Float32Array>, saved: ReadonlyMap<string, Float32Array> | undefined): void {
  for (const [name, from] of saved ?? []) {
    const p = params.get(name);
    if (!p || p.length !== from.length) continue;
    for (let j = 0; j < p.length; j++) if (Number.isFinite(from[j]!)) p[j] = from[j]!;
  }
}

/** The log entry of one update (a step; for optimizer als, a sweep), as train.ts and als.ts record it. */
export interface StepLog {
  readonly step: number;
  readonly epoch: number;
  readonly lr: number;
  readonly terms: Readonly<Record<string, number>>;
  readonly total: number;
  readonly ms: number;
}

function hashName(s: string): number {
  let h = 2166136261;
  for (let j = 0; j < s.length; j++) h = Math.imul(h ^ s.charCodeAt(j), 16777619) >>> 0;
  return h;
}


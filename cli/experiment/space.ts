// A sweep's search space: one axis per `--param NAME=SPEC`, and the configurations of a grid or a
// seeded random search over them. SPEC is a list `32,64,128`, or a range: `uniform(a,b)`,
// `loguniform(a,b)`, `int(a,b)` (whole numbers, uniform), `logint(a,b)` (whole numbers, log-uniform,
// rounded), or `a..b` (log-uniform when it spans two
// decades or more and a > 0, else uniform; whole numbers when both ends are written as whole numbers).
// Trial i of a random search draws from Rng(seed).fork(i + 1) alone, so a resumed sweep draws every
// trial's configuration again exactly, whichever trials it had finished.
import { Rng } from '../../runtime/data/rng.ts';
import { UsageError } from '../lib/args.ts';

export type Axis =
  | { readonly name: string; readonly kind: 'list'; readonly values: readonly number[] }
  | { readonly name: string; readonly kind: 'uniform' | 'loguniform'; readonly lo: number; readonly hi: number; readonly whole: boolean };

export type Config = Readonly<Record<string, number>>;

const NUM = String.raw`[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?`;
const isWhole = (text: string): boolean => /^[-+]?\d+$/.test(text.trim());

/** `NAME=SPEC` → an axis; a malformed one is a usage error that shows the forms. */
export function parseAxis(text: string): Axis {
  const forms = 'NAME=a,b,c (a list), NAME=uniform(a,b), NAME=loguniform(a,b), NAME=int(a,b), NAME=logint(a,b) or NAME=a..b';
  const m = /^\s*([A-Za-z_][\w.]*)\s*=\s*(.+?)\s*$/.exec(text);
  if (!m) throw new UsageError(`--param expects ${forms}; got \`${text}\``);
  const [, name, spec] = m as unknown as [string, string, string];
  const fn = new RegExp(`^(uniform|loguniform|int|logint)\\(\\s*(${NUM})\\s*,\\s*(${NUM})\\s*\\)$`).exec(spec);
  const dots = new RegExp(`^(${NUM})\\s*\\.\\.\\s*(${NUM})$`).exec(spec);
  const range = (kind: 'uniform' | 'loguniform', loText: string, hiText: string, whole: boolean): Axis => {
    const lo = Number(loText), hi = Number(hiText);
    if (!(lo < hi)) throw new UsageError(`--param ${name}: the range's low end must be below its high end; got \`${spec}\``);
    if (kind === 'loguniform' && !(lo > 0)) throw new UsageError(`--param ${name}: a log-uniform range needs a positive low end; got \`${spec}\``);
    return { name, kind, lo, hi, whole };
  };
  if (fn) {
    const [, f, a, b] = fn as unknown as [string, string, string, string];
    if ((f === 'int' || f === 'logint') && !(isWhole(a) && isWhole(b))) throw new UsageError(`--param ${name}: ${f}(a,b) takes whole numbers; got \`${spec}\``);
    return range(f === 'loguniform' || f === 'logint' ? 'loguniform' : 'uniform', a, b, f === 'int' || f === 'logint');
  }
  if (dots) {
    const [, a, b] = dots as unknown as [string, string, string];
    const lo = Number(a), hi = Number(b);
    return range(lo > 0 && hi / lo >= 100 ? 'loguniform' : 'uniform', a, b, isWhole(a) && isWhole(b));
  }
  const parts = spec.split(',').map((s) => s.trim());
  const values = parts.map(Number);
  if (parts.some((p) => !new RegExp(`^${NUM}$`).test(p)) || values.some((v) => !Number.isFinite(v)))
    throw new UsageError(`--param expects ${forms}; got \`${text}\``);
  return { name, kind: 'list', values };
}

/** The `--param` text of an axis (what parseAxis reads back as the same axis): a `sweep { … }` block's axes are kept in sweep.json this way. */
export function axisText(a: Axis): string {
  if (a.kind === 'list') return `${a.name}=${a.values.map(String).join(',')}`;
  const f = a.kind === 'loguniform' ? (a.whole ? 'logint' : 'loguniform') : a.whole ? 'int' : 'uniform';
  return `${a.name}=${f}(${a.lo},${a.hi})`;
}

/** Every combination of the axes' lists (the first axis varies slowest); ranges cannot be gridded. */
export function gridConfigs(axes: readonly Axis[]): Config[] {
  let out: Record<string, number>[] = [{}];
  for (const a of axes) {
    if (a.kind !== 'list') throw new UsageError(`--search grid needs a list of values for every --param; ${a.name} is a range (use --search random, or list its values)`);
    out = out.flatMap((c) => a.values.map((v) => ({ ...c, [a.name]: v })));
  }
  return out;
}

/** Trial `i`'s configuration of a random search with seed `seed`. */
export function randomConfig(axes: readonly Axis[], seed: number, i: number): Config {
  const rng = new Rng(seed).fork(i + 1);
  const c: Record<string, number> = {};
  for (const a of axes) {
    const u = rng.uniform();
    if (a.kind === 'list') c[a.name] = a.values[Math.min(a.values.length - 1, Math.floor(u * a.values.length))]!;
    else if (a.kind === 'uniform' && a.whole) c[a.name] = a.lo + Math.min(a.hi - a.lo, Math.floor(u * (a.hi - a.lo + 1)));
    else {
      const x = a.kind === 'loguniform' ? Math.exp(Math.log(a.lo) + u * (Math.log(a.hi) - Math.log(a.lo))) : a.lo + u * (a.hi - a.lo);
      // 4 significant digits: a configuration that reads (and reruns) as written
      const r = Number(x.toPrecision(4));
      c[a.name] = a.whole ? Math.min(a.hi, Math.max(a.lo, Math.round(x))) : Math.min(a.hi, Math.max(a.lo, r));
    }
  }
  return c;
}

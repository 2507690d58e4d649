// Binding packing: gpu.js binds every array argument of a kernel (and its output) as one storage
// buffer, and an adapter binds only so many per shader stage (16 on lavapipe; nce's ∂U kernel reads 23
// arrays). A kernel over that limit reads some of its arrays from one packed buffer instead: argument
// pK's reads `pK[e]` become `pk[offset + (e)]`, the parts laid end to end in one device buffer filled
// by device-side copies (no host traffic). Immutable parts (data columns, id columns, CSR indexes,
// hyper-parameters) are chosen first, so a pack of them is copied once and kept; params and temps
// join only when those do not free enough bindings, and are then copied each run. Offsets are
// integers baked into the (generated) source; the pack's length stays below float32's exact range for
// a gpu.js kernel, below one storage binding for recc's WGSL kernels (codegen/wgsl.ts reads the pack
// itself, from the Packing's offsets).
import { InternalError } from '../../../compiler/diagnostics/diagnostics.ts';
import { MAX_EXACT_INDEX } from '../../../compiler/ir/limits.ts';
import type { Arg } from '../../../compiler/plan/plan.ts';

/** The packed argument's name in the kernel source (generated names are p0…, v…, i…, j…, s…, w…). */
export const PACK_NAME = 'pk';

export interface Packing {
  /** positions in the step's args of the packed arguments, in pack order */
  readonly parts: readonly number[];
  /** each part's first element in the pack */
  readonly offsets: readonly number[];
  /** elements in the pack */
  readonly length: number;
  /** every part is immutable: the pack is copied once per distinct set of part buffers */
  readonly immutable: boolean;
}

/** Data that never changes between runs of a kernel (uploaded once per host array). */
export function immutableArg(a: Arg): boolean {
  return a.kind === 'ids' || a.kind === 'csr-offsets' || a.kind === 'csr-perm' || a.kind === 'csr-ids' || (a.kind === 'tensor' && (a.tensorKind === 'data' || a.tensorKind === 'hyper'));
}

/** How a kernel's other bindings and its indexing bound a packing. */
export interface PackLimits {
  /** bindings the kernel needs beyond one per argument and the output (a tiled argument's extra windows) */
  readonly extraBindings?: number;
  /** the pack's length stays below this: gpu.js's float32 indices (the default), or the WGSL kernels' i32 */
  readonly maxIndex?: number;
  /** arguments that cannot join a pack (tiled ones) */
  readonly exclude?: ReadonlySet<number>;
}

/**
 * Which args to pack so the kernel binds at most `maxBindings` storage buffers (args + output), or
 * undefined when it fits already or no packing of arrays below `limit` elements does.
 */
export function choosePacking(args: readonly Arg[], maxBindings: number, limit: number, opts: PackLimits = {}): Packing | undefined {
  const over = args.length + 1 + (opts.extraBindings ?? 0) - maxBindings;
  if (over <= 0) return undefined;
  // packing m arrays into one frees m − 1 bindings
  const m = over + 1;
  const order = args
    .map((a, j) => ({ a, j }))
    .filter(({ j }) => !opts.exclude?.has(j))
    .sort((x, y) => Number(immutableArg(y.a)) - Number(immutableArg(x.a)) || x.a.size - y.a.size || x.j - y.j);
  const chosen = order.slice(0, m);
  if (chosen.length < m) return undefined;
  const offsets: number[] = [];
  let length = 0;
  for (const { a } of chosen) {
    offsets.push(length);
    length += Math.max(1, a.size);
  }
  if (length >= Math.min(opts.maxIndex ?? MAX_EXACT_INDEX, limit)) return undefined;
  return { parts: chosen.map((c) => c.j), offsets, length, immutable: chosen.every((c) => immutableArg(c.a)) };
}

/**
 * The kernel source with the packed args read from `pk` at their offsets, and its parameter list
 * (the unpacked args in order, then `pk`). Only generated code is rewritten: `name[` occurrences
 * outside comment lines, each index parenthesised up to its matching `]`.
 */
export function packSource(source: string, args: readonly Arg[], packing: Packing): string {
  const packed = new Map(packing.parts.map((j, k) => [args[j]!.name, packing.offsets[k]!]));
  const keep = args.filter((_, j) => !packing.parts.includes(j)).map((a) => a.name);
  const lines = source.split('\n');
  const head = lines[0]!;
  if (!/^function \([\w, ]*\) \{$/.test(head)) throw new InternalError(`pack: unexpected kernel head ${head}`);
  const body = lines.slice(1).map((line) => (/^\s*\/\//.test(line) ? line : rewriteLine(line, packed)));
  return [`function (${[...keep, PACK_NAME].join(', ')}) {`, ...body].join('\n');
}

function rewriteLine(line: string, packed: ReadonlyMap<string, number>): string {
  let out = '';
  let at = 0;
  const re = /\b(p\d+)\[/g;
  for (let m = re.exec(line); m; m = re.exec(line)) {
    const off = packed.get(m[1]!);
    if (off === undefined) continue;
    // the matching `]` of this `[`
    let depth = 1;
    let k = m.index + m[0].length;
    for (; k < line.length && depth > 0; k++) {
      if (line[k] === '[') depth++;
      else if (line[k] === ']') depth--;
    }
    if (depth !== 0) throw new InternalError(`pack: unbalanced index in ${line}`);
    const inner = rewriteLine(line.slice(m.index + m[0].length, k - 1), packed);
    out += `${line.slice(at, m.index)}${PACK_NAME}[${off} + (${inner})]`;
    at = k;
    re.lastIndex = k;
  }
  return out + line.slice(at);
}

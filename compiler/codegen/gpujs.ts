// Codegen: one planned kernel step → the source of a gpu.js kernel `function (p0, …) { … }` and
// its settings. One thread per output cell of a flat 1D output; inputs are flat row-major
// Float32Arrays indexed through strides; every loop has a constant bound (CSR walks use the
// segment bound `maxSeg` and break); flat indices are float32, so exact below MAX_EXACT_INDEX. The
// body is kernel-body.ts's (shared with js.ts); only `this.thread.x` is added here.
import { InternalError } from '../diagnostics/diagnostics.ts';
import { LIMIT_TEXT, MAX_EXACT_INDEX, SizeLimitError } from '../ir/limits.ts';
import { csrKey, type Arg, type KernelPlan, type Step } from '../plan/plan.ts';
import { argLabel, commentText, Gen, int, needsTuple, splitSum, type EmitSpec } from './kernel-body.ts';

export { commentText, flt, int, loopBoundFor, type EmitSpec } from './kernel-body.ts';

export interface KernelSettings {
  readonly output: [number];
  readonly loopMaxIterations: number;
  readonly tactic: 'precision';
  readonly precision: 'single';
}

export interface EmittedKernel {
  readonly source: string;
  readonly settings: KernelSettings;
  /** the step's arguments, in the kernel's parameter order */
  readonly args: readonly Arg[];
}

/** A kernel's body before it becomes gpu.js source: statements, the value returned, header comments. */
export interface KernelBody {
  /** the statements (generated names only), one per line */
  readonly body: string;
  /** the returned value: a generated name or a literal */
  readonly result: string;
  /** comment lines naming the step and its arguments (sanitized) */
  readonly head: readonly string[];
  /** the longest constant loop bound */
  readonly loopMax: number;
}

/** How a body reads its thread id and how large a flat index may be (gpu.js: float32, below 2^24). */
export interface BodyOptions {
  /** the expression of the flat thread id; gpu.js's `this.thread.x` */
  readonly thread: string;
  /** flat tensor indices and thread ids stay below this */
  readonly maxIndex: number;
  /** the limit in words, for the SizeLimitError */
  readonly limitText: string;
}

const GPUJS_BODY: BodyOptions = { thread: 'this.thread.x', maxIndex: MAX_EXACT_INDEX, limitText: LIMIT_TEXT };

/** Emits the gpu.js kernel for a `kernel` step of `plan`. */
export function emitKernel(step: Step, plan: Pick<KernelPlan, 'sizes' | 'steps'>, spec: EmitSpec = {}): EmittedKernel {
  const k = emitKernelBody(step, plan, spec, GPUJS_BODY);
  const source = `function (${step.args.map((a) => a.name).join(', ')}) {\n${k.head.join('\n')}\n${k.body}\n  return ${k.result};\n}`;
  return {
    source,
    settings: { output: [step.cells], loopMaxIterations: k.loopMax, tactic: 'precision', precision: 'single' },
    args: step.args,
  };
}

/**
 * The body of a `kernel` step's per-thread computation: gpu.js's (emitKernel) or, with another thread
 * expression and index limit, the input of recc's own WGSL kernels (webgpu/wgsl.ts).
 */
export function emitKernelBody(step: Step, plan: Pick<KernelPlan, 'sizes' | 'steps'>, spec: EmitSpec, opts: BodyOptions): KernelBody {
  if (step.kind !== 'kernel') throw new InternalError(`codegen: step ${step.name} is a ${step.kind} step`);
  if (step.cells < 1) throw new InternalError(`codegen: step ${step.name} has no cells`);
  const maxDim = step.out.reduce((a, i) => Math.max(a, i.size), 1);
  if (step.cells + (step.out.length > 1 ? maxDim : 0) > opts.maxIndex) {
    throw new SizeLimitError(`a kernel over ${step.out.map((i) => `${i.name} (${i.size})`).join(' × ')} has ${step.cells.toLocaleString('en-US')} cells, beyond ${opts.limitText}; use --mode js (no such limit), smaller dims or less data`);
  }
  const g = new Gen(plan.sizes, step.args, spec, plan.steps, { csrLoop: 'bounded', maxIndex: opts.maxIndex, limitText: opts.limitText });
  const names = decode(g, step.out, opts.thread);
  let result: string;
  if (step.order) {
    // thread r computes the value of tuple perm[r]
    const o = step.order;
    const t = step.out[0]!;
    if (step.out.length !== 1 || step.split) throw new InternalError(`codegen: CSR-ordered step ${step.name} has ${step.out.length} outputs`);
    const tv = needsTuple(step.expr, t, o.rel, new Map(plan.steps.filter((x) => x.order).map((x) => [x.name, x.order!])))
      ? g.let(`${g.arg(`perm:${csrKey(o.rel, o.col)}`)}[${names[0]!}]`, 'w')
      : names[0]!;
    g.bind(t, tv);
    g.bindWalk(t, { rel: o.rel, col: o.col, pos: names[0]! });
    result = g.expr(step.expr);
  } else if (step.split) {
    const s = step.expr;
    if (s.op !== 'sum') throw new InternalError(`codegen: split step ${step.name} is not a sum`);
    // the chunk index is the last output axis; the others are the sum's free indices
    step.out.slice(0, -1).forEach((o, a) => g.bind(o, names[a]!));
    result = splitSum(g, s, step, names[names.length - 1]!);
  } else {
    step.out.forEach((o, a) => g.bind(o, names[a]!));
    result = g.expr(step.expr);
  }
  const head = [
    `${step.name}${step.out.length ? `[${step.out.map((i) => i.name).join(',')}]` : ''} = ${step.text}`,
    ...(step.split ? [`partial sums: ${step.split.dims.map((d) => `${d.idx.name} in boxes of ${d.chunk} (x${d.chunks})`).join(', ')}`] : []),
    ...step.args.map((a) => `${a.name}: ${argLabel(a)}`),
  ].map((l) => `  // ${commentText(l)}`);
  return { body: g.body(), result, head, loopMax: g.loopMax };
}

/** Splits the flat thread id into the step's output indices (row-major). */
function decode(g: Gen, out: readonly { readonly name: string; readonly space: string; readonly size: number }[], thread: string): string[] {
  const x = g.let(thread, 'w');
  const names: string[] = new Array<string>(out.length);
  let rest = x;
  for (let a = out.length - 1; a >= 0; a--) {
    const n = out[a]!.size;
    if (a === 0) {
      names[a] = rest;
      break;
    }
    const q = g.let(`Math.floor(${rest} / ${int(n)})`, 'w');
    names[a] = g.let(`${rest} - ${q} * ${int(n)}`, 'w');
    rest = q;
  }
  return names;
}

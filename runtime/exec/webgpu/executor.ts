// WebGPU executor: runs a KernelPlan's steps on the device (device.ts), each kernel step being the
// same gpu.js kernel source as on webasm (codegen/gpujs.ts; gpu.js translates it to WGSL). Temps
// stay in device buffers between steps; host-sum steps add their partial sums on the device with
// error-free two-sums (reduce.ts) and read back one float32 pair each (hi + lo in float64 on the host,
// as accurate as the float64 loop over the partials every other backend runs), batched into one readback. Inputs: immutable arrays (data columns,
// id columns, CSR indexes) are uploaded once per array and kept; params are uploaded each call unless
// the caller made them resident (`resident`, runtime/train/resident.ts), in which case the device
// copy is the truth. A result can stay on the device (`keep`) for the optimizer kernel.
// Past gpu.js's reach — a tensor or kernel over 2^24 cells (gpu.js indexes in float32) or an array over
// the adapter's maxStorageBufferBindingSize (gpu.js binds arrays whole) — a step runs as recc's own WGSL
// kernel (codegen/wgsl.ts: i32 indices; arrays over one binding read through several windows of their
// buffer, the output written one window per launch). A tensor is one device buffer, up to the adapter's
// maxBufferSize; beyond it, or beyond 2^31 − 1 cells, the step is refused with its sizes. Ids travel as
// float32 values (exact below 2^24 per domain); a CSR index of 2^24 tuples or more as int32 bits, read
// only by WGSL kernels (as array<i32>).
import { InternalError } from '../../../compiler/diagnostics/diagnostics.ts';
import { bytes, MAX_EXACT_INDEX, MAX_INT_INDEX, SizeLimitError } from '../../../compiler/ir/limits.ts';
import { columnKey } from '../../../compiler/ir/spaces.ts';
import { commentText, emitKernel, loopBoundFor, type EmittedKernel } from '../../../compiler/codegen/gpujs.ts';
import { emitWgslKernel, WGSL_WORKGROUP, type ArgPlace, type EmittedWgsl } from '../../../compiler/codegen/wgsl.ts';
import { children, csrKey, type Arg, type GroupPlan, type Step } from '../../../compiler/plan/plan.ts';
import type { Expr } from '../../../compiler/ir/nodes.ts';
import { buildCsr, evalHost, type Csr, type Env32 } from '../executor.ts';
import type { Device } from './device.ts';
import { reduceSource } from './reduce.ts';
import { choosePacking, packSource, type Packing } from './pack.ts';
import { gatherSource, rowGroups, spreadGroups } from './rows.ts';
import { csrOffsetsSource, csrOnDevice, csrSortSource } from './csr.ts';

/** A result of `runGroup`: a float64 scalar, a host array, or a device buffer id (`keep`). */
export type DeviceResult = number | Float32Array | { readonly buffer: number; readonly length: number };

export class WebGpuExecutor {
  /** tensors whose device copy is the truth, by tensor name → buffer id */
  readonly resident = new Map<string, number>();
  private readonly uploaded = new WeakMap<object, number>();
  private readonly freeOnGc = new FinalizationRegistry<number>((id) => this.device.post({ op: 'free', ids: [id] }));
  private readonly csrs = new WeakMap<object, Map<number, Csr>>();
  private readonly floatCache = new WeakMap<object, Float32Array>();
  /** id columns in a CSR's order, on the device: per CSR, per column array → buffer id */
  private readonly permIds = new WeakMap<Csr, WeakMap<object, number>>();
  /** one output buffer per step (rewritten every run) and kernel keys already sent */
  private readonly stepOut = new WeakMap<Step, number>();
  private readonly keysByStep = new WeakMap<Step, Map<string, string>>();
  private readonly sent = new Set<string>();
  /** bytes one storage binding may span (maxStorageBufferBindingSize, or less: `maxBindingBytes`) */
  private readonly bindingLimit: number;
  /** bytes one device buffer may hold (maxBufferSize) */
  private readonly bufferLimit: number;
  /** cells per window of an array over one binding: a multiple of 64 cells (256 bytes, the largest
   * minStorageBufferOffsetAlignment WebGPU allows) */
  readonly tileCells: number;
  /** which steps run as recc's WGSL kernels: those gpu.js cannot run, or all (tests) */
  private readonly wgsl: 'large' | 'always';
  /** device copies of scalar results kept on the device, by result position */
  private readonly keptScalars = new Map<number, number>();
  kernelsRun = 0;

  /** storage buffers one kernel may bind: the adapter's, or fewer (`maxBindings`: tests force packing) */
  private readonly maxBindings: number;

  constructor(readonly device: Device, opts: ExecutorOptions = {}) {
    this.bufferLimit = device.adapter.maxBufferSize;
    this.bindingLimit = Math.min(device.adapter.maxStorageBufferBindingSize, device.adapter.maxBufferSize, opts.maxBindingBytes ?? Infinity);
    this.tileCells = Math.floor(this.bindingLimit / 4 / WGSL_WORKGROUP) * WGSL_WORKGROUP;
    if (this.tileCells < WGSL_WORKGROUP) throw new InternalError(`a storage binding of ${this.bindingLimit} bytes`);
    this.maxBindings = Math.min(device.adapter.maxStorageBuffersPerShaderStage, opts.maxBindings ?? Infinity);
    this.wgsl = opts.wgsl ?? 'large';
  }

  /** Kernels built so far as recc's own WGSL (codegen/wgsl.ts) rather than gpu.js's. */
  get wgslKernels(): number {
    return this.wgslBuilt.size;
  }

  /** WGSL kernels built so far that read an array through several windows or write their output in several launches. */
  get tiledKernels(): number {
    return this.tiledBuilt;
  }
  private tiledBuilt = 0;

  /** Kernels built so far that read some arrays from a pack (pack.ts). */
  get packedKernels(): number {
    return this.packings.size;
  }

  /** Runs every step; results as `keep` asks: true keeps tensor results on the device. */
  runGroup(plan: Pick<GroupPlan, 'sizes' | 'steps' | 'results'>, env: Env32, keep: readonly boolean[] = []): DeviceResult[] {
    for (const [space, n] of Object.entries(plan.sizes)) {
      const m = env.sizes.get(space);
      if (m !== undefined && m !== n) throw new InternalError(`plan made for |${space}| = ${n}, env has ${m}: plan again`);
    }
    /** device temps by step name; scalars computed on the host by name */
    const temps = new Map<string, number>();
    const exact = new Map<string, number>();
    const pending: Step[] = [];
    /** reads the pending host-sums' partials and the one-cell kernel temps in `cells`, in one readback */
    const resolve = (cells: readonly string[] = []): void => {
      const one = cells.filter((c) => !exact.has(c) && temps.has(c));
      if (!pending.length && !one.length) return;
      // each host-sum's partials summed on the device (reduce.ts): a float32 pair (hi, lo) comes back
      const sums = pending.map((s) => this.sumOnDevice(s, plan, temps.get(s.of!)!));
      const parts = this.device.read([...sums, ...one.map((c) => temps.get(c)!)]);
      pending.forEach((s, j) => exact.set(s.name, parts[j]![0]! + parts[j]![1]!));
      one.forEach((c, j) => exact.set(c, parts[pending.length + j]![0]!));
      pending.length = 0;
    };
    const scalarTemps = new Map<string, number>();
    for (const s of plan.steps) {
      if (s.kind === 'host-sum') {
        if (!temps.has(s.of!)) throw new InternalError(`no partials ${s.of}`);
        pending.push(s);
      } else if (s.kind === 'host-eval') {
        resolve(tempsIn(s.expr));
        exact.set(s.name, evalHost(s.expr, plan, env, new Map(), exact));
      } else {
        const csrs = this.csrsOf(s, plan.sizes, env);
        const args = s.args.map((a) => {
          if (a.kind === 'temp' && !temps.has(a.temp)) {
            // a host scalar read by a kernel: uploaded once per run
            resolve([a.temp]);
            const v = exact.get(a.temp);
            if (v === undefined) throw new InternalError(`temp ${a.temp} used before it is computed`);
            let id = scalarTemps.get(a.temp);
            if (id === undefined) {
              id = this.device.id();
              scalarTemps.set(a.temp, id);
              this.device.upload(id, Float32Array.of(v), a.temp);
            }
            return id;
          }
          return this.argBuffer(a, env, temps, csrs);
        });
        const key = this.kernelKey(s, plan, csrs);
        let out = this.stepOut.get(s);
        if (out === undefined) this.stepOut.set(s, (out = this.device.id()));
        const packing = this.packings.get(key);
        const own = this.wgslBuilt.get(key);
        if (own) this.runWgsl(s, own, args, out, packing);
        else this.device.post({ op: 'run', key, args: packing ? this.packArgs(s, packing, args) : args, out, what: `kernel ${s.name}` });
        this.kernelsRun++;
        temps.set(s.name, out);
      }
    }
    resolve();
    if (scalarTemps.size) this.device.post({ op: 'free', ids: [...scalarTemps.values()] });
    // tensor results to read, all in one readback
    const reads = plan.results.map((r, j) => (!r.scalar && !keep[j] ? temps.get(r.result) : undefined));
    const ids = reads.filter((x): x is number => x !== undefined);
    const got = ids.length ? this.device.read(ids) : [];
    let g = 0;
    return plan.results.map((r, j) => {
      if (r.scalar) {
        // a scalar kernel without a host-sum: one cell
        const v = exact.get(r.result) ?? this.device.read([temps.get(r.result)!])[0]![0]!;
        if (!keep[j]) return v;
        // kept (the gradient of a scalar param): its float32 value back on the device, 4 bytes
        let id = this.keptScalars.get(j);
        if (id === undefined) this.keptScalars.set(j, (id = this.device.id()));
        this.device.upload(id, Float32Array.of(v), r.result);
        return { buffer: id, length: 1 };
      }
      if (keep[j]) {
        const step = plan.steps.find((s) => s.name === r.result)!;
        return { buffer: temps.get(r.result)!, length: step.cells };
      }
      return got[g++]!;
    });
  }

  /** per CSR (relation, column): the largest walk bound used so far */
  private readonly segBounds = new Map<string, number>();
  /** one (hi, lo) buffer per host-sum step, rewritten every run */
  private readonly sumOut = new WeakMap<Step, number>();

  /** Posts the device sum of host-sum `s`'s partials (buffer `partials`); returns the (hi, lo) buffer. */
  private sumOnDevice(s: Step, plan: Pick<GroupPlan, 'steps'>, partials: number): number {
    const of = plan.steps.find((p) => p.name === s.of);
    if (!of) throw new InternalError(`no partials step ${s.of}`);
    let out = this.sumOut.get(s);
    if (out === undefined) this.sumOut.set(s, (out = this.device.id()));
    this.checkBinding(of.cells, `the partial sums of ${s.of}`);
    this.device.post({ op: 'compute', source: reduceSource(of.cells), buffers: [partials, out], alloc: [{ id: out, n: 2 }], groups: [1], what: `sum of ${s.of}` });
    return out;
  }

  private kernelKey(s: Step, plan: Pick<GroupPlan, 'sizes' | 'steps'>, csrs: ReadonlyMap<string, Csr>): string {
    // a CSR-ordered step only permutes: its source does not depend on the segment lengths
    // a CSR walk's loop bound (a power of two; the loop breaks at the segment's end) only grows per
    // relation and column: mini-batches whose segments vary (nce's five CSRs between 16 and 32) would
    // otherwise build a kernel for each mix of bounds (~300 ms each on lavapipe), not one per doubling
    const grown = this.segBounds;
    const maxSeg = s.order ? new Map<string, number>() : new Map([...csrs].map(([k, c]) => {
      const b = Math.max(loopBoundFor(c.maxSeg), grown.get(k) ?? 0);
      grown.set(k, b);
      return [k, b];
    }));
    const spec = [...maxSeg].map(([k, n]) => `${k}=${loopBoundFor(n)}`).join(';');
    let m = this.keysByStep.get(s);
    if (!m) this.keysByStep.set(s, (m = new Map()));
    let key = m.get(spec);
    if (key) return key;
    // a CSR index in int32 bits (a relation of 2^24 tuples or more) is read by recc's WGSL only
    const bits = new Set(s.args.flatMap((a, j) => ((a.kind === 'csr-offsets' || a.kind === 'csr-perm') && csrBits(csrs.get(csrKey(a.rel, a.col))!.perm.length) ? [j] : [])));
    const bigCsr = [...csrs.values()].some((c) => csrBits(c.perm.length));
    const gpujs = this.wgsl === 'always' || bigCsr ? undefined : this.gpujsKernel(s, plan, maxSeg);
    if (gpujs) {
      const { emitted, packing } = gpujs;
      const source = packing ? packSource(emitted.source, s.args, packing) : emitted.source;
      key = `${source}\u0000${s.args.map((a) => a.size).join(',')}\u0000${emitted.settings.output.join(',')}`;
      if (packing) this.packings.set(key, packing);
      if (!this.sent.has(key)) {
        this.device.post({ op: 'kernel', key, source, settings: { ...emitted.settings, output: [...emitted.settings.output] }, what: `build ${s.name}` });
        this.sent.add(key);
      }
    } else {
      const { emitted, packing } = this.wgslKernel(s, plan, maxSeg, bits);
      key = `wgsl\u0000${emitted.source}\u0000${s.args.map((a) => a.size).join(',')}\u0000${s.cells}`;
      if (packing) this.packings.set(key, packing);
      this.wgslBuilt.set(key, emitted);
    }
    if (process.env.RECC_WEBGPU_DEBUG) process.stderr.write(`webgpu: key of ${s.name}: ${spec} sizes ${s.args.map((a) => a.size).join(',')} ${gpujs ? 'gpu.js' : 'wgsl'}\n`);
    m.set(spec, key);
    return key;
  }

  /**
   * The step as a gpu.js kernel, or undefined when gpu.js cannot run it: an index past float32's exact
   * range, an array or the output over one storage binding, or more arrays than the adapter binds even
   * after packing (pack.ts).
   */
  private gpujsKernel(s: Step, plan: Pick<GroupPlan, 'sizes' | 'steps'>, maxSeg: ReadonlyMap<string, number>): { emitted: EmittedKernel; packing?: Packing } | undefined {
    // any array of 2^24 cells or more could be read past float32's exact positions (codegen checks the
    // tensors it indexes, not ids, temps read at a walk's position or CSR arrays)
    if (s.cells * 4 > this.bindingLimit || s.args.some((a) => a.size * 4 > this.bindingLimit || a.size >= MAX_EXACT_INDEX)) return undefined;
    let emitted: EmittedKernel;
    try {
      emitted = emitKernel(s, plan, { maxSeg });
    } catch (e) {
      if (e instanceof SizeLimitError) return undefined;
      throw e;
    }
    // gpu.js binds each array argument and the output as a storage buffer: over the adapter's count,
    // some arrays are read from one packed buffer (pack.ts)
    const packing = choosePacking(s.args, this.maxBindings, this.bindingLimit / 4);
    if (s.args.length + 1 > this.maxBindings && !packing) return undefined;
    return { emitted, packing };
  }

  /** The step as recc's WGSL kernel: arrays over one binding in windows, small ones packed when the bindings run out. */
  private wgslKernel(s: Step, plan: Pick<GroupPlan, 'sizes' | 'steps'>, maxSeg: ReadonlyMap<string, number>, bits: ReadonlySet<number>): { emitted: EmittedWgsl; packing?: Packing } {
    this.checkSize(s.cells, `the output of kernel ${s.name}`);
    const tile = this.tileCells;
    const tiles = s.args.map((a) => Math.max(1, Math.ceil(a.size / tile)));
    s.args.forEach((a) => this.checkSize(a.size, `${argWords(a)} read by kernel ${s.name}`));
    // a tiled array, or one of int32 bits (bound as array<i32>), has bindings of its own
    const tiled = new Set(tiles.flatMap((t, j) => (t > 1 || bits.has(j) ? [j] : [])));
    const extra = tiles.reduce((x, t) => x + t - 1, 0);
    const packing = choosePacking(s.args, this.maxBindings, tile, { extraBindings: extra, maxIndex: MAX_INT_INDEX, exclude: tiled });
    if (s.args.length + 1 + extra > this.maxBindings && !packing) {
      throw new SizeLimitError(
        `kernel ${s.name} (${commentText(s.text)}) reads ${s.args.length} arrays in ${s.args.length + extra} storage bindings of at most ${this.bindingLimit.toLocaleString('en-US')} bytes; this WebGPU adapter binds at most ${this.maxBindings} per kernel, and packing the small ones does not free enough; use --mode js or wasm, or smaller dims`,
      );
    }
    const places: ArgPlace[] = s.args.map((_, j) => {
      const k = packing ? packing.parts.indexOf(j) : -1;
      return k >= 0 ? { kind: 'packed', offset: packing!.offsets[k]! } : { kind: 'bound', tiles: tiles[j]!, bits: bits.has(j) };
    });
    if (tiled.size || s.cells > tile) this.tiledBuilt++;
    return { emitted: emitWgslKernel(s, plan, { maxSeg }, { places, tile, packed: Boolean(packing) }), packing };
  }

  /** recc's WGSL kernels by kernel key */
  private readonly wgslBuilt = new Map<string, EmittedWgsl>();

  /** Runs a WGSL kernel: one launch per window of its output, every argument bound by its windows. */
  private runWgsl(s: Step, k: EmittedWgsl, args: readonly number[], out: number, packing: Packing | undefined): void {
    const tile = this.tileCells;
    const pack = packing ? this.packBuffer(s, packing, args) : undefined;
    const launches: { uniforms: number[]; bindings: { id: number; offset: number; size: number }[]; groups: [number, number] }[] = [];
    for (let base = 0; base < s.cells; base += tile) {
      const count = Math.min(tile, s.cells - base);
      const groups = launchGroups(count);
      const bindings = k.bindings.map((b) => {
        if (b.kind === 'out') return { id: out, offset: base * 4, size: count * 4 };
        if (b.kind === 'pack') return { id: pack!, offset: 0, size: Math.max(1, packing!.length) * 4 };
        const n = s.args[b.arg]!.size;
        return { id: args[b.arg]!, offset: b.tile * tile * 4, size: Math.max(1, Math.min(tile, n - b.tile * tile)) * 4 };
      });
      launches.push({ uniforms: [base, count, groups[0] * WGSL_WORKGROUP, 0], bindings, groups });
    }
    this.device.post({ op: 'wgsl', source: k.source, out: { id: out, n: s.cells }, launches, what: `kernel ${s.name}` });
  }

  /** kernels reading some arrays from a pack, by kernel key; each step's pack buffer and what it holds */
  private readonly packings = new Map<string, Packing>();
  private readonly stepPack = new WeakMap<Step, { id: number; packing?: Packing; holds: string }>();

  /** The buffers a packed kernel binds: its unpacked args, then the pack (filled on the device when stale). */
  private packArgs(s: Step, packing: Packing, args: readonly number[]): number[] {
    return [...args.filter((_, j) => !packing.parts.includes(j)), this.packBuffer(s, packing, args)];
  }

  /** The step's pack buffer, (re)filled on the device when its parts changed or are not immutable. */
  private packBuffer(s: Step, packing: Packing, args: readonly number[]): number {
    let p = this.stepPack.get(s);
    if (!p) this.stepPack.set(s, (p = { id: this.device.id(), holds: '' }));
    const holds = packing.parts.map((j) => args[j]).join(',');
    if (!packing.immutable || holds !== p.holds || packing !== p.packing) {
      const parts = packing.parts.map((j, k) => ({ id: args[j]!, n: s.args[j]!.size, offset: packing.offsets[k]! }));
      this.device.post({ op: 'pack', to: p.id, length: packing.length, parts, what: `pack of kernel ${s.name}` });
      p.holds = holds;
      p.packing = packing;
    }
    return p.id;
  }

  /** A tensor is one device buffer: refused with its size beyond the adapter's maxBufferSize or i32 indexing. */
  checkSize(cells: number, what: string): void {
    if (cells * 4 > this.bufferLimit || cells > MAX_INT_INDEX) {
      throw new SizeLimitError(
        `${what} has ${cells.toLocaleString('en-US')} cells (${bytes(cells * 4)}), beyond ${cells > MAX_INT_INDEX ? `the WebGPU kernels' i32 indexing (2^31 - 1 cells)` : `this WebGPU adapter's ${bytes(this.bufferLimit)} per buffer (maxBufferSize)`}; use --mode js, smaller dims or less data`,
      );
    }
  }

  /** An array a whole-buffer WGSL kernel (reduce, rows, csr) binds: refused with its size beyond one storage binding. */
  checkBinding(cells: number, what: string): void {
    this.checkSize(cells, what);
    if (cells * 4 > this.bindingLimit) {
      throw new SizeLimitError(
        `${what} has ${cells.toLocaleString('en-US')} cells (${bytes(cells * 4)}), beyond this WebGPU adapter's ${bytes(this.bindingLimit)} per storage binding, and this kernel binds it whole; use --mode js, smaller dims or less data`,
      );
    }
  }

  private csrsOf(s: Step, sizes: Readonly<Record<string, number>>, env: Env32): Map<string, Csr> {
    const out = new Map<string, Csr>();
    for (const u of s.csr) {
      const n = Object.hasOwn(sizes, u.domain) ? sizes[u.domain] : undefined;
      if (n === undefined) throw new InternalError(`no size for ${u.domain}`);
      const ids = env.ids.get(columnKey(u.rel, u.col));
      if (!ids) throw new InternalError(`no id column ${u.rel}.${u.col}`);
      let m = this.csrs.get(ids);
      if (!m) this.csrs.set(ids, (m = new Map()));
      let c = m.get(n);
      if (!c) m.set(n, (c = buildCsr(ids, n, `${u.rel}.${u.col}`)));
      out.set(csrKey(u.rel, u.col), c);
    }
    return out;
  }

  /** The device buffer of an argument: resident, cached per immutable host array, or uploaded now. */
  private argBuffer(a: Arg, env: Env32, temps: ReadonlyMap<string, number>, csrs: ReadonlyMap<string, Csr>): number {
    switch (a.kind) {
      case 'tensor': {
        const r = this.resident.get(a.tensor);
        if (r !== undefined) return r;
        const t = env.tensors.get(a.tensor);
        if (!t) throw new InternalError(`no value for tensor ${a.tensor}`);
        // params change between calls (host optimizer); data columns do not; a hyper is kept per value
        if (a.tensorKind === 'param') return this.uploadFresh(a, t.data);
        if (a.tensorKind === 'hyper' && t.data.length === 1) return this.hyper(a.tensor, t.data[0]!);
        return this.uploadOnce(t.data, a.tensor);
      }
      case 'temp': {
        const id = temps.get(a.temp);
        if (id === undefined) throw new InternalError(`temp ${a.temp} used before it is computed`);
        return id;
      }
      case 'ids':
        return this.uploadOnce(this.floats(env, columnKey(a.rel, a.col)), `${a.rel}.${a.col}`);
      case 'csr-offsets':
        return this.csrBuffers(a.rel, a.col, csrs, env).offsets;
      case 'csr-perm':
        return this.csrBuffers(a.rel, a.col, csrs, env).perm;
      case 'csr-ids': {
        // the id column in CSR order, gathered on the device from the column and the CSR's permutation
        // (both uploaded once per array, and usually read by the kernels anyway): no permuted copy goes up
        const csr = csrs.get(csrKey(a.rel, a.col))!;
        const ids = this.floats(env, columnKey(a.rel, a.of));
        let m = this.permIds.get(csr);
        if (!m) this.permIds.set(csr, (m = new WeakMap()));
        let id = m.get(ids);
        if (id === undefined) {
          const n = csr.perm.length;
          const perm = this.csrBuffers(a.rel, a.col, csrs, env).perm;
          const src = this.uploadOnce(ids, `${a.rel}.${a.of}`);
          id = this.device.id();
          this.device.post({ op: 'compute', source: gatherSource(n, 1, undefined, csrBits(n)), buffers: [src, perm, id], alloc: [{ id, n }], groups: rowGroups(n), what: `${a.rel}.${a.of} in the order of ${a.col}` });
          m.set(ids, id);
          this.freeOnGc.register(ids, id);
        }
        return id;
      }
    }
  }

  /** CSR indexes on the device: per id column array, per domain size → offsets and perm buffers */
  private readonly deviceCsrs = new WeakMap<object, Map<number, { offsets: number; perm: number }>>();

  /**
   * The offsets and perm buffers of the CSR of `rel` by `col`: built on the device from the id column
   * when it is short (a mini-batch's: csr.ts; only the ids go up), else uploaded once from the host's.
   */
  private csrBuffers(rel: string, col: string, csrs: ReadonlyMap<string, Csr>, env: Env32): { offsets: number; perm: number } {
    const csr = csrs.get(csrKey(rel, col))!;
    const domain = csr.offsets.length - 1;
    const n = csr.perm.length;
    if (!csrOnDevice(n, domain)) {
      return { offsets: this.uploadOnce(this.positionsOf(csr.offsets, n), `csr ${rel}.${col}`), perm: this.uploadOnce(this.positionsOf(csr.perm, n), `csr ${rel}.${col}`) };
    }
    const ids = this.floats(env, columnKey(rel, col));
    let m = this.deviceCsrs.get(ids);
    if (!m) this.deviceCsrs.set(ids, (m = new Map()));
    let got = m.get(domain);
    if (!got) {
      const keys = this.uploadOnce(ids, `${rel}.${col}`);
      got = { offsets: this.device.id(), perm: this.device.id() };
      const sorted = this.device.id();
      this.device.post({ op: 'compute', source: csrSortSource(n), buffers: [keys, got.perm, sorted], alloc: [{ id: got.perm, n }, { id: sorted, n }], groups: [1], what: `csr ${rel}.${col}` });
      this.device.post({ op: 'compute', source: csrOffsetsSource(n, domain), buffers: [sorted, got.offsets], alloc: [{ id: got.offsets, n: domain + 1 }], groups: rowGroups(domain + 1), what: `csr ${rel}.${col}` });
      this.device.post({ op: 'free', ids: [sorted] });
      m.set(domain, got);
      this.freeOnGc.register(ids, got.offsets);
      this.freeOnGc.register(ids, got.perm);
    }
    return got;
  }

  /** The per-call parameter buffer of a non-resident param (one id per tensor name, rewritten). */
  private readonly paramIds = new Map<string, number>();

  private uploadFresh(a: Arg & { kind: 'tensor' }, data: Float32Array): number {
    this.checkSize(data.length, `tensor ${a.tensor}`);
    let id = this.paramIds.get(a.tensor);
    if (id === undefined) this.paramIds.set(a.tensor, (id = this.device.id()));
    this.device.upload(id, data, a.tensor);
    return id;
  }

  private readonly hypers = new Map<string, number>();

  private hyper(name: string, value: number): number {
    const key = `${name}\u0000${value}`;
    let id = this.hypers.get(key);
    if (id === undefined) {
      id = this.device.id();
      this.device.upload(id, Float32Array.of(value), name);
      this.hypers.set(key, id);
    }
    return id;
  }

  private uploadOnce(data: Float32Array, what: string): number {
    let id = this.uploaded.get(data);
    if (id === undefined) {
      this.checkSize(data.length, what);
      id = this.device.id();
      this.device.upload(id, data, what);
      this.uploaded.set(data, id);
      this.freeOnGc.register(data, id);
    }
    return id;
  }

  private floats(env: Env32, key: string): Float32Array {
    const ids = env.ids.get(key);
    if (!ids) throw new InternalError(`no id column ${key}`);
    if (ids instanceof Float32Array) return ids;
    let f = this.floatCache.get(ids);
    if (!f) {
      f = Float32Array.from(ids);
      // ids travel as float32 values (every kernel reads them so, and converts them to i32): exact below 2^24
      for (let t = 0; t < f.length; t++) {
        if (!(f[t]! >= 0)) throw new InternalError(`${key}[${t}] = ${f[t]} is not an id`);
        if (ids[t]! >= MAX_EXACT_INDEX) throw new SizeLimitError(`the id column ${key} holds id ${ids[t]}, beyond the 2^24 = 16,777,216 ids per domain the WebGPU kernels read exactly (ids travel as float32); use --mode js or wasm`);
      }
      this.floatCache.set(ids, f);
    }
    return f;
  }

  /**
   * A CSR array (offsets or perm) of a relation of `tuples` tuples as the device holds it: float32
   * values below 2^24 tuples, else its int32 bits unchanged (`csrBits`: only recc's WGSL kernels read
   * those, as array<i32>).
   */
  private positionsOf(a: Int32Array, tuples: number): Float32Array {
    let f = this.floatCache.get(a);
    if (!f) {
      if (tuples > MAX_INT_INDEX) throw new SizeLimitError(`a CSR index over ${tuples.toLocaleString('en-US')} tuples exceeds the WebGPU kernels' i32 positions; use --mode js`);
      f = csrBits(tuples) ? new Float32Array(a.buffer, a.byteOffset, a.length) : Float32Array.from(a);
      this.floatCache.set(a, f);
    }
    return f;
  }
}

/** What the executor is told beyond its device (tests shrink the limits to exercise packing and tiling). */
export interface ExecutorOptions {
  /** at most this many storage buffers per kernel */
  readonly maxBindings?: number;
  /** at most this many bytes per storage binding */
  readonly maxBindingBytes?: number;
  /** 'always': every kernel step as recc's WGSL; 'large' (default): only those gpu.js cannot run */
  readonly wgsl?: 'large' | 'always';
}

/**
 * Whether the CSR index of a relation of `tuples` tuples lies on the device as int32 bits: positions
 * from 2^24 on are not float32 values, so its kernels are recc's WGSL, which bind them as array<i32>.
 */
function csrBits(tuples: number): boolean {
  return tuples >= MAX_EXACT_INDEX;
}

/** Workgroups for `n` threads of a WGSL kernel: x up to 65,535, the rest along y. */
function launchGroups(n: number): [number, number] {
  return spreadGroups(Math.ceil(n / WGSL_WORKGROUP));
}

/** A kernel argument in words, for size messages (names only, no data). */
function argWords(a: Arg): string {
  return a.kind === 'tensor' ? `tensor ${a.tensor}` : a.kind === 'temp' ? `temp ${a.temp}` : a.kind === 'ids' ? `ids ${a.rel}.${a.col}` : `a CSR index of ${a.rel} by ${a.col}`;
}

/** The temps a host-eval expression reads (closed scalars). */
function tempsIn(e: Expr): string[] {
  const out = new Set<string>();
  const go = (x: Expr): void => {
    if (x.op === 'tensor' && x.kind === 'temp') out.add(x.name);
    for (const c of children(x)) go(c);
  };
  go(e);
  return [...out];
}

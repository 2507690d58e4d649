// The WebGPU device thread: Dawn (the `webgpu` npm package) and gpu.js's webgpu backend live in this
// worker, so the trainer's loop on the main thread stays synchronous. The main thread (device.ts) posts
// batches of commands and, when it needs an answer (a readback, adapter info), blocks on a shared flag
// until the reply is on the port. Commands run strictly in order. Buffers are named by integer ids the
// main thread chooses; every buffer is STORAGE | COPY_SRC | COPY_DST and wrapped as a gpu.js pipeline
// handle, so a kernel reads params, data and temps where they already live. The first failure is kept
// and reported at the next synchronous call. Nothing from a model file reaches this thread except
// generated kernel sources (codegen/gpujs.ts) and numbers. RECC_WEBGPU_DEBUG=1 prints each kernel's build time.
import { parentPort, workerData } from 'node:worker_threads';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { port, flag } = workerData;
const signal = new Int32Array(flag);

const USAGE = 0x0080 /* STORAGE */ | 0x0004 /* COPY_SRC */ | 0x0008 /* COPY_DST */;

let gpu; // { GPU, WebGPUContext, WebGPUBufferResult }
let ctx; // gpu.js's { adapter, device }
let instance; // gpu.js GPU in webgpu mode
const buffers = new Map(); // id → WebGPUBufferResult
const kernels = new Map(); // key → gpu.js kernel
const pipelines = new Map(); // WGSL source → compute pipeline (optimizer, reduce, rows)
let failure = null;
let chain = Promise.resolve();

port.on('message', (msg) => {
  chain = chain.then(() => handle(msg));
});

async function handle(msg) {
  let reply = null;
  for (const cmd of msg.cmds) {
    if (failure && cmd.op !== 'close') continue;
    try {
      const r = await exec(cmd);
      if (r !== undefined) reply = r;
    } catch (e) {
      failure = `${cmd.op}${cmd.what ? ` ${cmd.what}` : ''}: ${e && e.message ? e.message : String(e)}`;
    }
  }
  if (msg.sync) {
    const out = failure ? { error: failure } : { value: reply };
    failure = null;
    port.postMessage(out);
    Atomics.store(signal, 0, 1);
    Atomics.notify(signal, 0);
  }
}

function bufferOf(id) {
  const b = buffers.get(id);
  if (!b) throw new Error(`no device buffer #${id}`);
  return b;
}

/** A binding's resource: a buffer id (bound whole) or { id, offset, size } (a window, in bytes: arrays over one binding). */
function resourceOf(b) {
  return typeof b === 'number' ? { buffer: bufferOf(b).buffer } : { buffer: bufferOf(b.id).buffer, offset: b.offset, size: b.size };
}

/** Records one compute pass of `pipe` into `enc`: its bind group 0 of `entries`, `groups` workgroups. */
function recordPass(enc, pipe, entries, groups) {
  const group = ctx.device.createBindGroup({ layout: pipe.getBindGroupLayout(0), entries });
  const pass = enc.beginComputePass();
  pass.setPipeline(pipe);
  pass.setBindGroup(0, group);
  pass.dispatchWorkgroups(groups[0], groups[1] ?? 1, 1);
  pass.end();
}

/** Buffer `id`, made to hold n floats (allocated when absent or smaller); its length becomes n. */
function ensure(id, n) {
  let b = buffers.get(id);
  if (!b || b.buffer.size < Math.max(4, n * 4)) {
    if (b) b.delete();
    b = wrap(ctx.device.createBuffer({ size: Math.max(4, n * 4), usage: USAGE }), n);
    buffers.set(id, b);
  }
  b.output = [n];
  return b;
}

/**
 * The compute pipeline of a WGSL source (entry `main`), compiled once; compile errors thrown with their
 * positions. With `storage` (recc's kernels, codegen/wgsl.ts) its layout is explicit: binding 0 a
 * uniform, then `storage` storage buffers, read-only but the last `writable` (one unless told).
 */
async function pipelineOf(source, storage, writable = 1) {
  let pipe = pipelines.get(source);
  if (!pipe) {
    const module = ctx.device.createShaderModule({ code: source });
    const info = await module.getCompilationInfo();
    const errors = info.messages.filter((m) => m.type === 'error');
    if (errors.length) throw new Error(`WGSL: ${errors.map((m) => `${m.lineNum}:${m.linePos} ${m.message}`).join('; ')}`);
    let layout = 'auto';
    if (storage !== undefined) {
      const COMPUTE = 0x4;
      const entries = [{ binding: 0, visibility: COMPUTE, buffer: { type: 'uniform' } }];
      for (let j = 1; j <= storage; j++) entries.push({ binding: j, visibility: COMPUTE, buffer: { type: j > storage - writable ? 'storage' : 'read-only-storage' } });
      layout = ctx.device.createPipelineLayout({ bindGroupLayouts: [ctx.device.createBindGroupLayout({ entries })] });
    }
    pipe = ctx.device.createComputePipeline({ layout, compute: { module, entryPoint: 'main' } });
    pipelines.set(source, pipe);
  }
  return pipe;
}

const launchUniforms = new Map(); // "base,count,width,pad" → uniform buffer (never rewritten)

/** The uniform buffer of a WGSL launch's { base, count, width, 0 }, made once per distinct value. */
function launchUniform(values) {
  const key = values.join(',');
  let u = launchUniforms.get(key);
  if (!u) {
    u = ctx.device.createBuffer({ size: 16, usage: 0x0040 /* UNIFORM */ | 0x0008 });
    ctx.device.queue.writeBuffer(u, 0, Uint32Array.from(values));
    launchUniforms.set(key, u);
  }
  return u;
}

function wrap(buffer, n) {
  return new gpu.WebGPUBufferResult({ buffer, output: [n], context: ctx, kernel: null });
}

async function exec(cmd) {
  switch (cmd.op) {
    case 'init': {
      const webgpu = await import(cmd.webgpuPath);
      Object.assign(globalThis, webgpu.globals);
      const navigatorGpu = webgpu.create(cmd.flags);
      Object.defineProperty(globalThis, 'navigator', { value: { gpu: navigatorGpu }, configurable: true });
      const adapter = await navigatorGpu.requestAdapter({ powerPreference: 'high-performance' });
      if (!adapter) return { adapter: null };
      const i = adapter.info;
      const info = {
        vendor: i.vendor, architecture: i.architecture, device: i.device, description: i.description,
        fallback: Boolean(i.isFallbackAdapter),
        maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
        maxBufferSize: adapter.limits.maxBufferSize,
        maxStorageBuffersPerShaderStage: adapter.limits.maxStorageBuffersPerShaderStage,
      };
      if (cmd.probeOnly) return { adapter: info };
      // gpu.js asks for the buffer-size limits only; a kernel reading many tensors (a gradient with its
      // CSR indexes) needs more storage bindings than the default 8: ask for what the adapter has
      const requestDevice = adapter.requestDevice.bind(adapter);
      adapter.requestDevice = (desc = {}) =>
        requestDevice({ ...desc, requiredLimits: { ...desc.requiredLimits, maxStorageBuffersPerShaderStage: adapter.limits.maxStorageBuffersPerShaderStage } });
      navigatorGpu.requestAdapter = async () => adapter;
      const js = require(cmd.gpujsPath);
      const { WebGPUContext } = require(cmd.gpujsPath.replace(/index\.js$/, 'backend/web-gpu/context.js'));
      const { WebGPUBufferResult } = require(cmd.gpujsPath.replace(/index\.js$/, 'backend/web-gpu/buffer-result.js'));
      gpu = { GPU: js.GPU, WebGPUContext, WebGPUBufferResult };
      ctx = await WebGPUContext.acquire();
      instance = new js.GPU({ mode: 'webgpu' });
      return { adapter: info };
    }
    case 'upload': {
      // (re)writes buffer `id` with `data`, allocating it (at least 4 bytes) when absent or smaller
      const n = cmd.data.length;
      let b = buffers.get(cmd.id);
      if (!b || b.buffer.size < Math.max(4, n * 4)) {
        if (b) b.delete();
        b = wrap(ctx.device.createBuffer({ size: Math.max(4, n * 4), usage: USAGE }), n);
        buffers.set(cmd.id, b);
      }
      b.output = [n];
      if (n) ctx.device.queue.writeBuffer(b.buffer, 0, cmd.data.buffer, cmd.data.byteOffset, n * 4);
      return undefined;
    }
    case 'kernel': {
      if (kernels.has(cmd.key)) return undefined;
      const k = instance.createKernel(cmd.source, { ...cmd.settings, pipeline: true, immutable: true });
      kernels.set(cmd.key, k);
      return undefined;
    }
    case 'run': {
      const k = kernels.get(cmd.key);
      if (!k) throw new Error(`no kernel ${cmd.key}`);
      const fresh = !k.kernel?.built;
      const t0 = performance.now();
      const handle = await k(...cmd.args.map(bufferOf));
      if (process.env.RECC_WEBGPU_DEBUG && fresh) process.stderr.write(`webgpu: built and ran ${cmd.what} ${(performance.now() - t0).toFixed(0)} ms wgsl ${k.kernel?.compiledSource?.length}\n`);
      const old = buffers.get(cmd.out);
      if (old) old.delete();
      buffers.set(cmd.out, handle);
      return undefined;
    }
    case 'read': {
      // every buffer in cmd.ids, copied into one staging buffer, mapped once
      const parts = cmd.ids.map(bufferOf);
      const sizes = parts.map((b) => b.output.reduce((a, x) => a * x, 1) * 4);
      const total = sizes.reduce((a, x) => a + x, 0);
      const out = [];
      if (total === 0) return parts.map(() => new Float32Array(0));
      const staging = ctx.device.createBuffer({ size: total, usage: 0x0001 /* MAP_READ */ | 0x0008 });
      const enc = ctx.device.createCommandEncoder();
      let at = 0;
      parts.forEach((b, j) => {
        if (sizes[j]) enc.copyBufferToBuffer(b.buffer, 0, staging, at, sizes[j]);
        at += sizes[j];
      });
      ctx.device.queue.submit([enc.finish()]);
      await staging.mapAsync(0x0001, 0, total);
      const all = new Float32Array(staging.getMappedRange(0, total).slice(0));
      staging.unmap();
      staging.destroy();
      at = 0;
      for (const s of sizes) {
        out.push(all.slice(at / 4, (at + s) / 4));
        at += s;
      }
      return out;
    }
    case 'optimizer': {
      // an elementwise WGSL update (webgpu/optimizer.ts): bindings 0 = uniforms, then buffers in order
      const pipe = await pipelineOf(cmd.source);
      const uniforms = ctx.device.createBuffer({ size: cmd.uniforms.byteLength, usage: 0x0040 /* UNIFORM */ | 0x0008 });
      ctx.device.queue.writeBuffer(uniforms, 0, cmd.uniforms.buffer, cmd.uniforms.byteOffset, cmd.uniforms.byteLength);
      const enc = ctx.device.createCommandEncoder();
      recordPass(enc, pipe, [{ binding: 0, resource: { buffer: uniforms } }, ...cmd.buffers.map((b, j) => ({ binding: j + 1, resource: resourceOf(b) }))], cmd.groups);
      ctx.device.queue.submit([enc.finish()]);
      uniforms.destroy();
      return undefined;
    }
    case 'compute': {
      // a WGSL kernel with no uniforms (webgpu/reduce.ts, rows.ts): bindings 0.. = buffers in order; each
      // of `alloc` ({ id, n }) is made to hold n floats first (the kernel's outputs)
      for (const a of cmd.alloc ?? []) ensure(a.id, a.n);
      const pipe = await pipelineOf(cmd.source);
      const enc = ctx.device.createCommandEncoder();
      recordPass(enc, pipe, cmd.buffers.map((b, j) => ({ binding: j, resource: resourceOf(b) })), cmd.groups);
      ctx.device.queue.submit([enc.finish()]);
      return undefined;
    }
    case 'wgsl': {
      // recc's own WGSL kernel (codegen/wgsl.ts; ALS's row solves, webgpu/solve.ts): buffer `out` made
      // to hold out.n floats, then one pass per launch: binding 0 = its uniform of four u32 ({ base,
      // count, width, 0 }), then storage windows { id, offset, size } (bytes) of the buffers, in the
      // kernel's binding order, read-only but the last `writable` (one unless told)
      ensure(cmd.out.id, cmd.out.n);
      const fresh = !pipelines.has(cmd.source);
      // validation errors are reported asynchronously: the first run of a kernel collects them (its
      // pipeline, bind groups and passes; later runs bind the same shapes) and throws the first
      if (fresh) ctx.device.pushErrorScope('validation');
      // an explicit layout: 'auto' would drop a binding the shader never reads, and its bind group fail
      let pipe;
      try {
        pipe = await pipelineOf(cmd.source, cmd.launches[0].bindings.length, cmd.writable ?? 1);
      } catch (e) {
        if (fresh) await ctx.device.popErrorScope();
        throw e;
      }
      const enc = ctx.device.createCommandEncoder();
      for (const l of cmd.launches) {
        const u = launchUniform(l.uniforms);
        recordPass(enc, pipe, [{ binding: 0, resource: { buffer: u } }, ...l.bindings.map((b, j) => ({ binding: j + 1, resource: resourceOf(b) }))], l.groups);
      }
      ctx.device.queue.submit([enc.finish()]);
      if (fresh) {
        const err = await ctx.device.popErrorScope();
        if (err) throw new Error(err.message);
      }
      return undefined;
    }
    case 'pack': {
      // buffer `to` (cmd.length floats) becomes the parts laid end to end at their offsets (webgpu/pack.ts)
      const to = ensure(cmd.to, cmd.length);
      const enc = ctx.device.createCommandEncoder();
      for (const part of cmd.parts) {
        const src = bufferOf(part.id);
        const have = src.output.reduce((a, x) => a * x, 1);
        if (have < part.n) throw new Error(`pack: buffer #${part.id} holds ${have} floats, the kernel reads ${part.n}`);
        if (part.n) enc.copyBufferToBuffer(src.buffer, 0, to.buffer, part.offset * 4, part.n * 4);
      }
      ctx.device.queue.submit([enc.finish()]);
      return undefined;
    }
    case 'free': {
      for (const id of cmd.ids) {
        const b = buffers.get(id);
        if (b) b.delete();
        buffers.delete(id);
      }
      return undefined;
    }
    case 'copy': {
      // buffer `to` becomes a copy of buffer `from` (same length)
      const src = bufferOf(cmd.from);
      const n = src.output.reduce((a, x) => a * x, 1);
      let b = buffers.get(cmd.to);
      if (!b || b.buffer.size < Math.max(4, n * 4)) {
        if (b) b.delete();
        b = wrap(ctx.device.createBuffer({ size: Math.max(4, n * 4), usage: USAGE }), n);
        buffers.set(cmd.to, b);
      }
      b.output = [n];
      const enc = ctx.device.createCommandEncoder();
      if (n) enc.copyBufferToBuffer(src.buffer, 0, b.buffer, 0, n * 4);
      ctx.device.queue.submit([enc.finish()]);
      return undefined;
    }
    case 'close': {
      for (const b of buffers.values()) b.delete();
      buffers.clear();
      for (const k of kernels.values()) k.destroy?.();
      for (const u of launchUniforms.values()) u.destroy();
      launchUniforms.clear();
      kernels.clear();
      instance?.destroy?.();
      if (ctx) ctx.device.destroy();
      return undefined;
    }
    default:
      throw new Error(`unknown command ${cmd.op}`);
  }
}

parentPort?.on('close', () => {});

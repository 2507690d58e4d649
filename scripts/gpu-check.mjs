#!/usr/bin/env node
// `npm run gpu:check`: is WebGPU usable here? Loads the optional `webgpu` package (Dawn; installed by
// `npm run gpu:install`), asks Dawn for an adapter on Vulkan, then on OpenGL ES, prints the one that
// answered (name, driver, backend, storage-buffer limit), and runs a small compute shader
// (out[i] = 2·in[i] + 1 over 4096 floats, 64 invocations per workgroup, plus a 70,000-iteration loop
// that catches drivers which silently stop long shaders) and compares every element with the
// expected value. Exit status: 0 usable, 3 `webgpu` not installed or not loadable, 4 no adapter,
// 5 the shader's result is wrong. --backend vulkan|opengles|default tries only that one.
// The Dawn instance (`gpu`) is a module-level binding so that it stays referenced while its adapter and
// device are in use: a collected instance takes them down with it.
import { createRequire } from 'node:module';

const args = process.argv.slice(2);
const only = args.includes('--backend') ? args[args.indexOf('--backend') + 1] : undefined;
const backends = only ? [only] : ['vulkan', 'opengles'];
const flagsOf = { vulkan: ['backend=vulkan'], opengles: ['backend=opengles'], default: [] };
if (only && !(only in flagsOf)) {
  console.error(`gpu:check: unknown --backend ${only} (vulkan, opengles or default)`);
  process.exit(2);
}

function fail(status, message) {
  console.error(`gpu:check: ${message}`);
  process.exit(status);
}

let webgpu;
let version = '?';
try {
  webgpu = await import('webgpu');
  const require = createRequire(import.meta.url);
  version = require('webgpu/package.json').version;
  // GPUBufferUsage, GPUMapMode, … as a browser has them
  Object.assign(globalThis, webgpu.globals);
} catch (e) {
  fail(3, `the optional webgpu package is not installed or does not load (${e instanceof Error ? e.message.split('\n')[0] : e}); run \`npm run gpu:install\` (webgpu@0.6.2; the 0.2.9 that gpu.js pins needs glibc 2.38)`);
}

let gpu;
let adapter;
let backend;
const tried = [];
for (const b of backends) {
  gpu = webgpu.create(flagsOf[b]);
  // OpenGL ES adapters exist only at the compatibility feature level
  adapter = await gpu.requestAdapter(b === 'opengles' ? { featureLevel: 'compatibility' } : undefined);
  // Dawn's null backend answers with an adapter that has no description and computes nothing
  if (adapter && adapter.info.description) {
    backend = b;
    break;
  }
  tried.push(b);
  adapter = undefined;
}
if (!adapter) {
  fail(4, `webgpu@${version} loaded, but no adapter answered on ${tried.join(' or ')}: no Vulkan driver (Debian: mesa-vulkan-drivers from bookworm-backports for lavapipe on the CPU, or the GPU vendor's driver) and no EGL`);
}
const info = adapter.info;
console.log(`gpu:check: webgpu@${version}, adapter "${info.description}" (vendor ${info.vendor || '?'}, ${info.architecture || '?'}, device ${info.device || '?'}), backend ${backend}${info.isFallbackAdapter ? ', a software (fallback) adapter: it runs on the CPU' : ''}; max storage buffer ${(adapter.limits.maxStorageBufferBindingSize / 2 ** 20).toFixed(0)} MiB`);

const device = await adapter.requestDevice();
const n = 4096;
const loop = 70000;
const shader = /* wgsl */ `
@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3u) {
  let i = id.x;
  if (i >= ${n}u) { return; }
  var k = 0u;
  if (i == 0u) { for (var j = 0u; j < ${loop}u; j++) { k += 1u; } }
  dst[i] = 2.0 * src[i] + 1.0 + select(0.0, f32(k) - ${loop}.0, i == 0u);
}`;
const input = Float32Array.from({ length: n }, (_, i) => i * 0.25 - 100);
const bytes = n * 4;
const src = device.createBuffer({ size: bytes, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
const dst = device.createBuffer({ size: bytes, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
const read = device.createBuffer({ size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
device.queue.writeBuffer(src, 0, input);
const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module: device.createShaderModule({ code: shader }), entryPoint: 'main' } });
const bind = device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: src } }, { binding: 1, resource: { buffer: dst } }] });
const t0 = performance.now();
const enc = device.createCommandEncoder();
const pass = enc.beginComputePass();
pass.setPipeline(pipeline);
pass.setBindGroup(0, bind);
pass.dispatchWorkgroups(Math.ceil(n / 64));
pass.end();
enc.copyBufferToBuffer(dst, 0, read, 0, bytes);
device.queue.submit([enc.finish()]);
await read.mapAsync(GPUMapMode.READ);
const out = new Float32Array(read.getMappedRange().slice(0));
read.unmap();
const ms = performance.now() - t0;
let bad = 0;
let first = -1;
for (let i = 0; i < n; i++) {
  if (out[i] !== 2 * input[i] + 1) {
    bad++;
    if (first < 0) first = i;
  }
}
device.destroy();
if (bad) fail(5, `the compute shader's result is wrong in ${bad} of ${n} elements (first: [${first}] = ${out[first]}, expected ${2 * input[first] + 1})${first === 0 ? `: the ${loop}-iteration loop was cut short (the driver stops long shaders)` : ''}`);
console.log(`gpu:check: compute shader correct (${n} elements, a ${loop}-iteration loop) in ${ms.toFixed(1)} ms on ${backend}`);

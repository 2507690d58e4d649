// The WebGPU device, seen synchronously: starts gpu-worker.mjs (Dawn + gpu.js in a worker thread),
// queues commands to it and blocks on a shared flag when an answer is needed (Atomics.wait, then
// receiveMessageOnPort). Finds the optional `webgpu` package (≥ 0.6.2; gpu.js's own pin 0.2.9 does not
// load on Debian bookworm). Adapters: Vulkan only on Linux (`backend=vulkan`): Dawn's OpenGL ES backend
// on Mesa 22 silently stops a shader after ~65,535 loop iterations in total (a 64×64 Gramian over
// 100,000 rows came back 35% wrong), so that path is never requested. `--mode auto` treats a software
// adapter (lavapipe, `isFallbackAdapter`) as no GPU. Counts every byte moved each way (`traffic`).
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';

export interface AdapterInfo {
  readonly vendor: string;
  readonly architecture: string;
  readonly device: string;
  readonly description: string;
  /** a software adapter (lavapipe, SwiftShader) */
  readonly fallback: boolean;
  readonly maxStorageBufferBindingSize: number;
  readonly maxBufferSize: number;
  readonly maxStorageBuffersPerShaderStage: number;
}

/** Host↔device bytes since the counter was last reset. */
export interface Traffic {
  toDevice: number;
  toHost: number;
}

/** Why WebGPU cannot run here (package missing, or no adapter answered). */
export class NoWebGpuError extends Error {
  override name = 'NoWebGpuError';
}

/** The installed `webgpu` package's entry, or a reason it is not usable. */
export function findWebgpu(): { path: string } | { reason: string } {
  const require = createRequire(import.meta.url);
  let pkgPath: string;
  try {
    pkgPath = require.resolve('webgpu/package.json');
  } catch {
    return { reason: 'the optional `webgpu` package is not installed (npm install webgpu@0.6.2)' };
  }
  const version = (require(pkgPath) as { version: string }).version;
  const [maj, min] = version.split('.').map(Number) as [number, number];
  if (maj === 0 && min < 6) return { reason: `webgpu ${version} is installed; recc needs ≥ 0.6.2 (0.2.x needs glibc 2.38)` };
  return { path: pkgPath.replace(/package\.json$/, 'index.js') };
}

/** Dawn's instance flags: Vulkan only on Linux (see the header: the GLES path is refused). */
export function dawnFlags(): string[] {
  return process.platform === 'linux' ? ['backend=vulkan'] : [];
}

export type Cmd = { readonly op: string; readonly what?: string } & Record<string, unknown>;

/** A connection to the device thread. One per backend; `close` ends the thread. */
export class Device {
  private readonly worker: Worker;
  private readonly port: MessagePort;
  private readonly flag = new Int32Array(new SharedArrayBuffer(4));
  private queue: Cmd[] = [];
  private nextId = 1;
  readonly traffic: Traffic = { toDevice: 0, toHost: 0 };
  readonly adapter: AdapterInfo;

  private constructor(probeOnly: boolean) {
    const found = findWebgpu();
    if ('reason' in found) throw new NoWebGpuError(found.reason);
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    this.worker = new Worker(fileURLToPath(new URL('./gpu-worker.mjs', import.meta.url)), {
      workerData: { port: port2, flag: this.flag.buffer },
      transferList: [port2],
    });
    this.worker.unref();
    const gpujsPath = createRequire(import.meta.url).resolve('gpu.js');
    const r = this.call({ op: 'init', webgpuPath: found.path, gpujsPath, flags: dawnFlags(), probeOnly }) as { adapter: AdapterInfo | null };
    if (!r.adapter) {
      this.close();
      throw new NoWebGpuError(`no WebGPU adapter answered (Dawn flags: ${dawnFlags().join(' ') || 'none'}); on Linux install a Vulkan driver (mesa-vulkan-drivers for lavapipe, or the GPU vendor's)`);
    }
    this.adapter = r.adapter;
  }

  /** Opens the device (throws NoWebGpuError with the reason when there is none). */
  static open(): Device {
    return new Device(false);
  }

  /** The adapter that would answer, or the reason none does; starts and ends a device thread. */
  static probe(): { adapter: AdapterInfo } | { reason: string } {
    try {
      const d = new Device(true);
      const adapter = d.adapter;
      d.close();
      return { adapter };
    } catch (e) {
      if (e instanceof NoWebGpuError) return { reason: e.message };
      throw e;
    }
  }

  /** A fresh buffer id. */
  id(): number {
    return this.nextId++;
  }

  /** Queues a command (runs in order; its failure is reported at the next `call`). */
  post(cmd: Cmd): void {
    this.queue.push(cmd);
    if (this.queue.length >= 64) this.flush(false);
  }

  /** Uploads `data` into buffer `id` (counted). */
  upload(id: number, data: Float32Array, what?: string): void {
    this.traffic.toDevice += data.byteLength;
    // a copy: the host array may change before the worker reads it
    this.post({ op: 'upload', id, data: data.slice(), what });
  }

  /** Reads buffers back (counted). */
  read(ids: readonly number[]): Float32Array[] {
    const out = this.call({ op: 'read', ids }) as Float32Array[];
    for (const a of out) this.traffic.toHost += a.byteLength;
    return out;
  }

  /** Runs the queued commands and `cmd`, and waits for `cmd`'s answer. */
  call(cmd: Cmd): unknown {
    this.queue.push(cmd);
    return this.flush(true);
  }

  private flush(sync: boolean): unknown {
    const cmds = this.queue;
    this.queue = [];
    Atomics.store(this.flag, 0, 0);
    this.port.postMessage({ cmds, sync });
    if (!sync) return undefined;
    for (;;) {
      // the worker sets the flag after posting its reply
      const r = Atomics.wait(this.flag, 0, 0, 600_000);
      if (r === 'timed-out') throw new Error('the WebGPU device thread did not answer in 10 minutes');
      const m = receiveMessageOnPort(this.port) as { message: { error?: string; value?: unknown } } | undefined;
      if (!m) continue;
      if (m.message.error !== undefined) throw new Error(`WebGPU: ${m.message.error}`);
      return m.message.value;
    }
  }

  close(): void {
    try {
      this.call({ op: 'close' });
    } catch {
      // the device is going away either way
    }
    void this.worker.terminate();
  }
}

/** One line naming the adapter: `llvmpipe: Mesa 25.0.7 (software, Vulkan)`. */
export function adapterLine(a: AdapterInfo): string {
  const name = a.description || [a.vendor, a.architecture, a.device].filter(Boolean).join(' ');
  return `${name} (${a.fallback ? 'software' : 'hardware'}${process.platform === 'linux' ? ', Vulkan' : ''})`;
}

/** `--mode auto`: an open device on a hardware adapter, or why the CPU path runs instead. */
export function autoDevice(): { device: Device } | { reason: string } {
  let d: Device;
  try {
    d = Device.open();
  } catch (e) {
    if (e instanceof NoWebGpuError) return { reason: e.message };
    throw e;
  }
  if (d.adapter.fallback) {
    const line = adapterLine(d.adapter);
    d.close();
    return { reason: `the only WebGPU adapter is a software one (${line}), slower than the CPU kernels` };
  }
  return { device: d };
}

// What the fault tests share: model variants with another seed (in a temp folder whose data/ is the
// bundled examples/data), `recc` as a child process that the test kills, the step of the last
// checkpoint a run wrote, and a comparison of two run folders' numbers.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../runtime/data/data-paths.ts';
import { EXAMPLES_DIR } from '../helpers/examples.ts';

/** examples/NAME.recmodel written into `dir` with `seed S` in its train block (data/ links to the bundled data). */
export function seededVariant(dir: string, name: string, seed: number): string {
  mkdirSync(dir, { recursive: true });
  if (!existsSync(join(dir, 'data'))) symlinkSync(join(EXAMPLES_DIR, 'data'), join(dir, 'data'));
  const text = readFileSync(join(EXAMPLES_DIR, `${name}.recmodel`), 'utf8');
  const start = text.indexOf('train {');
  const end = text.indexOf('}', start);
  if (start < 0 || end < 0) throw new Error(`${name} has no train block`);
  const block = text.slice(start, end);
  const withSeed = /\bseed \d+/.test(block) ? block.replace(/\bseed \d+/, `seed ${seed}`) : `${block.trimEnd()} seed ${seed} `;
  const seeded = text.slice(0, start) + withSeed + text.slice(end);
  if (!seeded.includes(`seed ${seed}`)) throw new Error(`could not set the seed of ${name}`);
  const path = join(dir, `${name}-s${seed}.recmodel`);
  writeFileSync(path, seeded);
  return path;
}

/** `node bin/recc.js ...argv`, running; `exited` resolves with its code and signal. */
export interface Child {
  readonly proc: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
}

export function spawnRecc(argv: readonly string[]): Child {
  const proc = spawn(process.execPath, [join(repoRoot(), 'bin', 'recc.js'), ...argv], { cwd: repoRoot(), stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((res) => proc.on('exit', (code, signal) => res({ code, signal, stderr })));
  return { proc, exited };
}

/** The step of the checkpoint at `path` (from its header), or -1 when there is none yet. */
export function checkpointStep(path: string): number {
  let head: string;
  try {
    head = readFileSync(path).toString('utf8', 0, 4096);
  } catch {
    return -1;
  }
  const m = /"written":"[^"]*","step":(\d+)/.exec(head);
  return m ? Number(m[1]) : -1;
}

/** Resolves once `ready()` holds (polled every few ms), or rejects when the child exits first. */
export async function when(child: Child, ready: () => boolean, what: string): Promise<void> {
  let exited: { code: number | null; stderr: string } | undefined;
  void child.exited.then((e) => (exited = e));
  for (;;) {
    if (ready()) return;
    if (exited) throw new Error(`the run exited (code ${exited.code}) before ${what}:\n${exited.stderr}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** loss.csv without its timing column (ms), which no two runs share. */
export function lossWithoutTiming(dir: string): string {
  const lines = readFileSync(join(dir, 'loss.csv'), 'utf8').trim().split('\n');
  const ms = lines[0]!.split(',').indexOf('ms');
  return lines.map((l) => l.split(',').filter((_, j) => j !== ms).join(',')).join('\n');
}

/** metrics.json without its wall-clock seconds. */
export function metricsWithoutTime(dir: string): unknown {
  const j = JSON.parse(readFileSync(join(dir, 'metrics.json'), 'utf8')) as Record<string, unknown>;
  delete j.seconds;
  return j;
}

/** Each params/*.npy of a run folder, as bytes, by file name. */
export function paramBytes(dir: string): Map<string, Buffer> {
  const pdir = join(dir, 'params');
  return new Map(readdirSync(pdir).filter((f) => f.endsWith('.npy')).sort().map((f) => [f, readFileSync(join(pdir, f))]));
}

/** A deterministic stream of integers for choosing kill points (mulberry32), so a failure can be replayed. */
export function picker(seed: number): (lo: number, hi: number) => number {
  let a = seed >>> 0;
  return (lo, hi) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const u = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    return lo + Math.floor(u * (hi - lo + 1));
  };
}

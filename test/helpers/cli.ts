// Runs the CLI as a user would see it: in-process (`runCommand(argv, runtime)`, what `main(argv)` runs
// once it has imported the runtime; process.stdout/stderr writes captured) for speed, or as a child
// process of bin/recc.js when the real executable matters.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { loadRuntime, runCommand } from '../../cli/main.ts';
import { repoRoot } from '../../runtime/data/data-paths.ts';

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

type Write = typeof process.stdout.write;

/** The runtime modules that `main` imports lazily, loaded once for every in-process call. */
const runtime = await loadRuntime();

/** `recc ...argv` in this process; output is captured, not printed. */
export function recc(...argv: string[]): CliResult {
  let stdout = '';
  let stderr = '';
  const out = process.stdout.write;
  const err = process.stderr.write;
  const capture = (append: (s: string) => void): Write =>
    ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      append(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      const cb = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
      cb?.();
      return true;
    }) as Write;
  process.stdout.write = capture((s) => (stdout += s));
  process.stderr.write = capture((s) => (stderr += s));
  let code: number;
  try {
    code = runCommand(argv, runtime);
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
  }
  return { code, stdout, stderr };
}

/** `node bin/recc.js ...argv` as a child process, from the repository root. */
export function reccProcess(...argv: string[]): CliResult {
  const r = spawnSync(process.execPath, [join(repoRoot(), 'bin', 'recc.js'), ...argv], { cwd: repoRoot(), encoding: 'utf8', timeout: 60_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

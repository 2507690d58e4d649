// The `recc` command line: dispatch only. The grammar of each command (its operands and flags, with
// meanings and defaults) lives in cli/commands/*, parsing and help in cli/args.ts.
// Exit codes: 0 success; 1 the input has errors (diagnostics, bad data, training diverged); 2 the
// command line is wrong (on stderr, with the command's usage); 70 a bug in recc itself.
// Start-up matters (`recc check` in an editor, `recc --help`): only the compiler is imported
// statically; the runtime (gpu.js, data loading, training, artifacts) is imported by `main` for the
// command lines that need it.
import { suggest } from '../compiler/diagnostics/diagnostics.ts';
import { commandHelp, globalHelp, parseCommandLine, unknownCommand, usageLine, UsageError, UserError, type Command, type CommandContext, type Flag } from './lib/args.ts';
import { annIndex } from './commands/ann-index.ts';
import { check } from './commands/check.ts';
import { compare } from './commands/compare.ts';
import { compile } from './commands/compile.ts';
import { cv } from './commands/cv.ts';
import { sweep } from './commands/sweep.ts';
import { data } from './commands/data.ts';
import { explain } from './commands/explain.ts';
import { exportCommand } from './commands/export.ts';
import { recommend } from './commands/recommend.ts';
import { report } from './commands/report.ts';
import { run } from './commands/run.ts';
import { serve } from './commands/serve.ts';
import { similar } from './commands/similar.ts';
import { isRuntimeUserError, loadRuntime, type Runtime } from './lib/runtime.ts';
import { SizeLimitError } from '../compiler/ir/limits.ts';
import { reccVersion } from './lib/version.ts';

export { loadRuntime, type Runtime } from './lib/runtime.ts';

type AnyCommand = Command<readonly Flag[], Runtime>;

/** The commands, in the order `recc help` lists them. */
export const COMMANDS: readonly AnyCommand[] = [check, explain, compile, run, recommend, similar, serve, annIndex, exportCommand, cv, sweep, compare, report, data];

const byName = (name: string): AnyCommand => {
  const c = COMMANDS.find((c) => c.name === name);
  if (!c) throw unknownCommand(name, COMMANDS.map((c) => c.name));
  return c;
};

/** What a command line asks for, once parsed: a text to print (help, version), or a command to run. */
type Invocation =
  | { readonly kind: 'text'; readonly text: string; readonly code: number }
  | { readonly kind: 'command'; readonly command: AnyCommand; readonly args: ReturnType<typeof parseCommandLine> };

/** Before a command only these are accepted (`recc --help [COMMAND]` is `recc help [COMMAND]`). */
const TOP_LEVEL_FLAGS = ['--help', '--version'];

function parse(argv: readonly string[]): Invocation {
  const [first, ...rest] = argv;
  const text = (t: string, code = 0): Invocation => ({ kind: 'text', text: t, code });
  if (first === undefined) return text(globalHelp(COMMANDS), 2);
  if (first === 'help' || first === '--help' || first === '-h') {
    if (rest.length > 1) throw new UsageError(`unexpected argument \`${rest[1]}\`; usage: recc help [COMMAND]`);
    return text(rest[0] === undefined ? globalHelp(COMMANDS) : commandHelp(byName(rest[0])));
  }
  if (first === '--version') {
    if (rest.length) throw new UsageError(`unexpected argument \`${rest[0]}\` after --version`);
    return text(`recc ${reccVersion()}\n`);
  }
  if (first.startsWith('-')) {
    const near = first.startsWith('--') ? suggest(first.slice(2), TOP_LEVEL_FLAGS.map((f) => f.slice(2)), 1)[0] : undefined;
    throw new UsageError(`unknown option ${first}${near ? ` (did you mean --${near}?)` : ''}; before a command only --help and --version are accepted (recc COMMAND [options])`);
  }
  const command = byName(first);
  const args = parseCommandLine(command, rest);
  if (args.help) return text(commandHelp(command));
  return { kind: 'command', command, args };
}

/**
 * `recc ...argv`: imports the runtime if the command line needs it, then runs it as the executable
 * does: a command may install signal handlers and answer asynchronously (`recc run` stops cleanly on
 * Ctrl-C). Resolves to the exit code; never rejects.
 */
export async function main(argv: readonly string[]): Promise<number> {
  let runtime: Runtime | undefined;
  if (needsRuntime(argv)) {
    try {
      runtime = await loadRuntime();
    } catch (err) {
      return internalError(err);
    }
  }
  const code = dispatch(argv, runtime, { signals: true });
  return typeof code === 'number' ? code : code.catch((err: unknown) => exitCode(err, runtime));
}

function needsRuntime(argv: readonly string[]): boolean {
  try {
    const inv = parse(argv);
    return inv.kind === 'command' && inv.command.needsRuntime(inv.args);
  } catch {
    return false; // a usage error: runCommand reports it
  }
}

/**
 * Runs one command line synchronously and returns its exit code. `runtime` must be given when the
 * command needs it (`main` loads it; an in-process caller such as the tests may load it once with
 * `loadRuntime`). A command that waits on child processes (`recc sweep`) needs `runCommandAsync`.
 */
export function runCommand(argv: readonly string[], runtime?: Runtime): number {
  const code = dispatch(argv, runtime, { signals: false });
  if (typeof code !== 'number') return internalError(new Error('a command answered asynchronously to an in-process call'));
  return code;
}

/** Runs one command line, synchronous or not, and resolves to its exit code; never rejects. */
export async function runCommandAsync(argv: readonly string[], runtime?: Runtime): Promise<number> {
  const code = dispatch(argv, runtime, { signals: false });
  return typeof code === 'number' ? code : code.catch((err: unknown) => exitCode(err, runtime));
}

/** Parses and runs a command line; errors become their exit codes (also those a Promise rejects with). */
function dispatch(argv: readonly string[], runtime: Runtime | undefined, context: CommandContext): number | Promise<number> {
  const rt = (): Runtime => {
    if (!runtime) throw new Error('the runtime modules are not loaded (call main, or pass loadRuntime() to runCommand)');
    return runtime;
  };
  try {
    const inv = parse(argv);
    if (inv.kind === 'text') {
      process.stdout.write(inv.text);
      return inv.code;
    }
    const ofCommand = (err: unknown): unknown => (err instanceof UsageError ? err.of(inv.command.name) : err);
    try {
      const code = inv.command.run(inv.args, rt, context);
      return typeof code === 'number' ? code : code.catch((err: unknown) => exitCode(ofCommand(err), runtime));
    } catch (err) {
      throw ofCommand(err);
    }
  } catch (err) {
    return exitCode(err, runtime);
  }
}

/** Reports an error as the command line's outcome: 2 usage, 1 the user's input, 70 a bug. */
function exitCode(err: unknown, runtime: Runtime | undefined): number {
  if (err instanceof UsageError) {
    const c = err.command === undefined ? undefined : COMMANDS.find((c) => c.name === err.command);
    const usage = c ? `${usageLine(c)}\n(recc help ${c.name} lists every option)` : 'usage: recc COMMAND [options]\n(recc help lists the commands)';
    process.stderr.write(`error: ${err.message}\n\n${usage}\n`);
    return 2;
  }
  if (err instanceof UserError || err instanceof SizeLimitError || isSystemError(err) || (runtime && isRuntimeUserError(runtime, err))) {
    process.stderr.write(`error: ${err.message}\n`);
    return 1;
  }
  return internalError(err);
}

/** A failed file-system call (ENOTDIR, EACCES, ENOSPC …): the machine's state, not a bug; Node's message names the path. */
function isSystemError(err: unknown): err is Error {
  return err instanceof Error && typeof (err as NodeJS.ErrnoException).syscall === 'string' && /^E[A-Z]+$/.test(String((err as NodeJS.ErrnoException).code));
}

function internalError(err: unknown): number {
  const e = err instanceof Error ? err : new Error(String(err));
  process.stderr.write(`internal error: ${e.message}\n  = note: this is a bug in recc; please report it with the model file (RECC_DEBUG=1 shows the stack)\n`);
  if (process.env.RECC_DEBUG) process.stderr.write(`${e.stack}\n`);
  return 70;
}

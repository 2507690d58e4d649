// The command line's grammar: each command declares its operands and flags as data (name, kind,
// default, one-line meaning), and this module both parses argv against that table and prints the help
// from it, so the two cannot drift apart. Tokens come from Node's own `util.parseArgs` (no dependency
// to load at start-up; `--a=b`, `-o DIR`, `-qh`, `--` handled as Node does). It runs with strict off
// and returns tokens, and every check its strict mode makes (and more: a "did you mean" for unknown
// flags, values, choices, repeats, operand counts) is made here on those tokens, so that every message
// is recc's own and names the flag. A wrong command line throws UsageError (exit 2).
import { parseArgs } from 'node:util';
import { suggest } from '../../compiler/diagnostics/diagnostics.ts';

/** The command line is wrong: `main` prints the message and the command's usage, and exits 2. */
export class UsageError extends Error {
  constructor(
    message: string,
    /** the command whose usage line follows the message; none for the top level */
    readonly command?: string,
  ) {
    super(message);
  }

  /** this error, told which command it is about (if it was not told yet) */
  of(command: string): UsageError {
    return this.command === undefined ? new UsageError(this.message, command) : this;
  }
}

/** The input is wrong (a missing file or folder, say): `main` prints the message and exits 1. */
export class UserError extends Error {}

interface FlagBase {
  /** long name, without `--` */
  readonly name: string;
  readonly short?: string;
  /** one line, lowercase, no final period */
  readonly meaning: string;
}

/**
 * One flag. `default` is what the flag means when it is absent, as the help prints it; flags whose
 * absence has a value the command uses directly carry it in `value` instead (the help prints that).
 * Switches default to off.
 */
export type Flag =
  | (FlagBase & { readonly kind: 'boolean' })
  /** `required` flags have no default (the help says "required") */
  | (FlagBase & { readonly kind: 'string'; readonly arg: string; readonly required: true })
  | (FlagBase & { readonly kind: 'string'; readonly arg: string; readonly default: string; readonly required?: false })
  | (FlagBase & { readonly kind: 'count'; readonly arg: string; readonly min: number; readonly value: number })
  | (FlagBase & { readonly kind: 'count'; readonly arg: string; readonly min: number; readonly default: string; readonly value?: undefined })
  | (FlagBase & { readonly kind: 'choice'; readonly choices: readonly string[]; readonly value: string })
  /** NAME=NUMBER, repeatable, or several in one comma-separated value; `whole` asks for whole numbers */
  | (FlagBase & { readonly kind: 'bindings'; readonly whole: boolean; readonly default: string })
  /** a string that may be given several times; every value, in order */
  | (FlagBase & { readonly kind: 'list'; readonly arg: string; readonly default: string });

type FlagValue<F extends Flag> = F extends { kind: 'boolean' }
  ? boolean
  : F extends { kind: 'choice'; choices: infer Cs extends readonly string[] }
    ? Cs[number]
    : F extends { kind: 'count'; value: number }
      ? number
      : F extends { kind: 'count' }
        ? number | undefined
        : F extends { kind: 'bindings' }
          ? ReadonlyMap<string, number>
          : F extends { kind: 'list' }
            ? readonly string[]
          : F extends { kind: 'string'; required: true }
            ? string
            : string | undefined;

/** The parsed flags of a command, keyed by long name, typed by the table. */
export type Values<Fs extends readonly Flag[]> = { readonly [F in Fs[number] as F['name']]: FlagValue<F> };

export interface Operand {
  /** as the usage line shows it: `FILE`, `FILE|DIR` */
  readonly name: string;
  readonly meaning: string;
  /** `FILE...`: one or more */
  readonly repeat?: boolean;
  /** may be left out (the usage shows `[NAME]`; the command checks when it needs it) */
  readonly optional?: boolean;
}

export interface Parsed<Fs extends readonly Flag[]> {
  readonly operands: readonly string[];
  readonly flags: Values<Fs>;
  /** `--help` was given: the operands were not checked, and the command does not run */
  readonly help: boolean;
}

/** A command's grammar: what `parseCommandLine` parses and the help prints. */
export interface CommandSpec<Fs extends readonly Flag[] = readonly Flag[]> {
  readonly name: string;
  /** one line for `recc help` */
  readonly summary: string;
  /** a few lines after the usage in `recc help NAME` */
  readonly description: string;
  readonly operands: readonly Operand[];
  readonly flags: Fs;
}

/**
 * A command: its grammar and what it does with a parsed command line. `R` is the lazily loaded
 * runtime (cli/runtime.ts), passed as a getter so that commands which never need it never load it.
 * (Methods, not function-valued properties, so that every command fits one `Command` list.)
 */
export interface Command<Fs extends readonly Flag[] = readonly Flag[], R = unknown> extends CommandSpec<Fs> {
  /** whether this command line needs the runtime modules (gpu.js, data loading) */
  needsRuntime(args: Parsed<Fs>): boolean;
  /** the exit code; a Promise of it where `context.signals` is set (the real executable) or for a command that waits on child processes (`recc sweep`) */
  run(args: Parsed<Fs>, runtime: () => R, context?: CommandContext): number | Promise<number>;
}

/** How a command is being run. */
export interface CommandContext {
  /**
   * the command runs in recc's own process (bin/recc.js): it may install signal handlers and answer
   * with a Promise, so that a long job can yield to the event loop and stop cleanly on Ctrl-C
   */
  readonly signals: boolean;
}

/** Declares a command; the `const` parameter keeps the flag table's literal types, so `Values` is exact. */
export function command<const Fs extends readonly Flag[], R>(c: Command<Fs, R>): Command<Fs, R> {
  return c;
}

/** Every command takes `-h`/`--help`. */
export const HELP_FLAG = { kind: 'boolean', name: 'help', short: 'h', meaning: 'show this help and exit' } as const satisfies Flag;

const flagsOf = (c: CommandSpec): readonly Flag[] => [...c.flags, HELP_FLAG];

/** `unknown option --dta (did you mean --data?)`; no guess for a one-letter `-x` (every letter is one edit away) */
function unknownOption(token: string, known: readonly Flag[]): string {
  const near = token.startsWith('--') ? suggest(token.slice(2), known.map((f) => f.name), 1)[0] : undefined;
  return `unknown option ${token}${near ? ` (did you mean --${near}?)` : ''}`;
}

function parseCount(f: Extract<Flag, { kind: 'count' }>, raw: string): number {
  const n = /^\s*\d+\s*$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(n) || n < f.min) {
    const what = f.min === 0 ? 'a whole number' : f.min === 1 ? 'a positive whole number' : `a whole number ≥ ${f.min}`;
    throw new UsageError(`--${f.name} expects ${what}, got \`${raw}\``);
  }
  return n;
}

function parseChoice(f: Extract<Flag, { kind: 'choice' }>, raw: string): string {
  if (f.choices.includes(raw)) return raw;
  const near = suggest(raw, f.choices, 1)[0];
  throw new UsageError(`--${f.name} must be one of ${f.choices.join(', ')}; got \`${raw}\`${near ? ` (did you mean ${near}?)` : ''}`);
}

function parseBindings(f: Extract<Flag, { kind: 'bindings' }>, raws: readonly string[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const part of raws.flatMap((r) => r.split(','))) {
    const m = /^\s*([^=\s,]+)\s*=\s*(\S+)\s*$/.exec(part);
    const value = m ? Number(m[2]) : NaN;
    const ok = m !== null && Number.isFinite(value) && (!f.whole || (Number.isSafeInteger(value) && value >= 0));
    if (!ok) throw new UsageError(`--${f.name} expects NAME=${f.whole ? 'N' : 'NUMBER'}${f.whole ? ' (a whole number)' : ''}, got \`${part}\``);
    out.set(m[1]!, value);
  }
  return out;
}

/**
 * Parses `argv` (the words after the command's name) against the command's table. Throws UsageError
 * for an unknown flag, a flag without its value (or a switch given one), a malformed value, a
 * missing required flag, or too few or too many operands.
 */
export function parseCommandLine<Fs extends readonly Flag[]>(c: CommandSpec<Fs>, argv: readonly string[]): Parsed<Fs> {
  try {
    return parseTokens(c, argv);
  } catch (e) {
    throw e instanceof UsageError ? e.of(c.name) : e;
  }
}

function parseTokens<Fs extends readonly Flag[]>(c: CommandSpec<Fs>, argv: readonly string[]): Parsed<Fs> {
  const table = flagsOf(c);
  const options = Object.fromEntries(table.map((f) => [f.name, { type: f.kind === 'boolean' ? ('boolean' as const) : ('string' as const), multiple: true, ...(f.short ? { short: f.short } : {}) }]));
  // strict: false, so that an unknown flag arrives as a token to be named (with a suggestion) here
  const { tokens } = parseArgs({ args: [...argv], options, strict: false, allowPositionals: true, tokens: true });
  const byName = new Map(table.map((f) => [f.name, f]));
  const operands: string[] = [];
  const raw = new Map<string, string[]>();
  for (const t of tokens) {
    if (t.kind === 'positional') operands.push(t.value);
    else if (t.kind === 'option') {
      const f = byName.get(t.name);
      if (!f) throw new UsageError(unknownOption(t.rawName, table));
      if (f.kind === 'boolean' && t.value !== undefined) throw new UsageError(`--${f.name} takes no value, got \`${t.value}\``);
      if (f.kind !== 'boolean' && t.value === undefined) throw new UsageError(`${t.rawName} needs a value (${flagArg(f)})`);
      // `--data --quiet`: the value was forgotten (Node's strict mode refuses this too); `--data=--quiet` is accepted
      if (f.kind !== 'boolean' && !t.inlineValue && /^--?[A-Za-z]/.test(t.value!)) throw new UsageError(`${t.rawName} needs a value (${flagArg(f)}), but \`${t.value}\` is an option; write ${t.rawName}=${t.value} if you mean it`);
      raw.set(f.name, [...(raw.get(f.name) ?? []), t.value ?? 'true']);
    }
  }
  const help = raw.has(HELP_FLAG.name);
  const flags: Record<string, unknown> = {};
  for (const f of table) {
    const given = raw.get(f.name);
    const last = given?.at(-1);
    // one value each, except the repeatable NAME=V bindings (a repeated switch is harmless)
    if (given && given.length > 1 && f.kind !== 'bindings' && f.kind !== 'list' && f.kind !== 'boolean') throw new UsageError(`--${f.name} is given more than once (${given.map((v) => `\`${v}\``).join(', ')})`);
    switch (f.kind) {
      case 'boolean':
        flags[f.name] = given !== undefined;
        break;
      case 'string':
        if (f.required && last === undefined && !help) throw new UsageError(`recc ${c.name} needs ${f.short ? `-${f.short}` : `--${f.name}`} ${f.arg}`);
        flags[f.name] = last;
        break;
      case 'count':
        flags[f.name] = last === undefined ? f.value : parseCount(f, last);
        break;
      case 'choice':
        flags[f.name] = parseChoice(f, last ?? f.value);
        break;
      case 'bindings':
        flags[f.name] = parseBindings(f, given ?? []);
        break;
      case 'list':
        flags[f.name] = given ?? [];
        break;
      default:
        return assertNever(f);
    }
  }
  if (!help) checkOperands(c, operands);
  return { operands, flags: flags as Values<Fs>, help };
}

function checkOperands(c: CommandSpec, operands: readonly string[]): void {
  const repeat = c.operands.at(-1)?.repeat === true;
  const required = c.operands.filter((o) => !o.optional).length;
  if (operands.length < required) {
    const missing = c.operands[operands.length]!;
    throw new UsageError(`recc ${c.name} needs ${missing.name}${missing.repeat ? '...' : ''} (${missing.meaning})`);
  }
  if (!repeat && operands.length > c.operands.length) throw new UsageError(`unexpected argument \`${operands[c.operands.length]}\``);
}

function assertNever(x: never): never {
  throw new Error(`unexpected flag kind ${JSON.stringify(x)}`);
}

/** `--steps N`, `--mode webasm|cpu|reference`, `--quiet` */
function flagArg(f: Flag): string {
  switch (f.kind) {
    case 'boolean':
      return '';
    case 'choice':
      return f.choices.join('|');
    case 'bindings':
      return f.whole ? 'NAME=N' : 'NAME=NUMBER';
    case 'string':
    case 'count':
    case 'list':
      return f.arg;
    default:
      return assertNever(f);
  }
}

/** What the help says a flag means when absent. */
function flagDefault(f: Flag): string {
  switch (f.kind) {
    case 'boolean':
      return 'off';
    case 'choice':
      return f.value;
    case 'count':
      return f.value === undefined ? f.default : String(f.value);
    case 'string':
      return f.required ? 'required' : f.default;
    case 'bindings':
    case 'list':
      return f.default;
    default:
      return assertNever(f);
  }
}

/** `usage: recc run FILE|DIR [options]` */
export function usageLine(c: CommandSpec): string {
  const required = c.flags.filter((f) => f.kind === 'string' && f.required).map((f) => `${f.short ? `-${f.short}` : `--${f.name}`} ${flagArg(f)}`);
  const ops = c.operands.map((o) => (o.optional ? `[${o.name}${o.repeat ? '...' : ''}]` : `${o.name}${o.repeat ? '...' : ''}`));
  return `usage: recc ${[c.name, ...ops, ...required].join(' ')} [options]`;
}

/** Help lines are wrapped to this width. */
const WIDTH = 100;

/** Words of `text` in lines of at most `width` characters (a longer word gets a line of its own). */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  return [...lines, line];
}

/**
 * Lines `  LEFT  meaning`, the meanings aligned and wrapped; a left column wider than the others
 * moves its meaning to the next line.
 */
function table(rows: readonly (readonly [string, string])[]): string[] {
  const width = Math.min(24, Math.max(...rows.map(([l]) => l.length)));
  const indent = ' '.repeat(width + 4);
  return rows.flatMap(([l, r]) => {
    const text = wrap(r, WIDTH - indent.length).map((t) => indent + t);
    if (l.length > width) return [`  ${l}`, ...text];
    return [`  ${l.padEnd(width)}  ${text[0]!.trimStart()}`, ...text.slice(1)];
  });
}

/** `recc help NAME`: the usage, what the command does, every operand and every flag with its meaning and default. */
export function commandHelp(c: CommandSpec): string {
  const flagRows = flagsOf(c).map((f): [string, string] => {
    const arg = flagArg(f);
    const left = `${f.short ? `-${f.short}, ` : '    '}--${f.name}${arg ? ` ${arg}` : ''}`;
    const def = f.kind === 'string' && f.required ? 'required' : `default: ${flagDefault(f)}`;
    return [left, `${f.meaning} (${def})`];
  });
  return [
    `recc ${c.name} — ${c.summary}`,
    '',
    usageLine(c),
    '',
    ...c.description.split('\n').flatMap((l) => wrap(l, WIDTH - 2).map((w) => `  ${w}`)),
    '',
    'arguments:',
    ...table(c.operands.map((o) => [`${o.name}${o.repeat ? '...' : ''}`, o.meaning])),
    '',
    'options:',
    ...table(flagRows),
    '',
  ].join('\n');
}

/** `recc help`: every command with its summary. */
export function globalHelp(commands: readonly Pick<CommandSpec, 'name' | 'summary'>[]): string {
  return [
    'recc — a compiler for recommendation models',
    '',
    'usage: recc COMMAND [options]',
    '',
    'commands:',
    ...table(commands.map((c) => [c.name, c.summary])),
    '',
    'options:',
    ...table([
      ['-h, --help', 'show this help and exit'],
      ['    --version', "print recc's version and exit"],
    ]),
    '',
    '`recc help COMMAND` (or `recc COMMAND --help`) lists the command\'s options, each with its default.',
    '',
  ].join('\n');
}

/** `unknown command \`rnu\` (did you mean \`run\`?)` */
export function unknownCommand(name: string, commands: readonly string[]): UsageError {
  const near = suggest(name, commands, 1)[0];
  return new UsageError(`unknown command \`${name}\`${near ? ` (did you mean \`${near}\`?)` : ''}; the commands are ${commands.join(', ')}`);
}

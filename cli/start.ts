// The executable's entry when it runs the built dist/ (bin/recc.js → dist/start.js). `recc --help`,
// `recc help`, bare `recc` and `recc --version` are answered from the list of command names and
// summaries that scripts/build-dist.mjs took from cli/main.ts's COMMANDS when it built dist/ (in
// dist/manifest.json), printed by the same globalHelp, so they load neither the compiler nor any
// command; every other command line imports cli/main.ts (one more chunk) and runs there. This keeps
// an installed recc's start at Node's own plus a few milliseconds (bench/cli-start.ts).
import { globalHelp } from './lib/args.ts';
import { reccVersion } from './lib/version.ts';

/** A command's name and one-line summary, as `recc help` lists them. */
export interface CommandSummary {
  readonly name: string;
  readonly summary: string;
}

/** The names and summaries of COMMANDS, in their order: what build-dist records in the manifest. */
export function summariesOf(commands: readonly CommandSummary[]): CommandSummary[] {
  return commands.map(({ name, summary }) => ({ name, summary }));
}

/**
 * `recc ...argv` with the command list `commands` (undefined: not known, so everything goes through
 * cli/main.ts). Resolves to the exit code, as main does.
 */
export async function start(argv: readonly string[], commands: readonly CommandSummary[] | undefined): Promise<number> {
  if (commands && argv.length <= 1) {
    const [only] = argv;
    if (only === undefined || only === 'help' || only === '--help' || only === '-h') {
      process.stdout.write(globalHelp(commands));
      return only === undefined ? 2 : 0;
    }
    if (only === '--version') {
      process.stdout.write(`recc ${reccVersion()}\n`);
      return 0;
    }
  }
  const { main } = await import('./main.ts');
  return main(argv);
}

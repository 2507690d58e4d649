// The executable's fast path (cli/start.ts, dist/start.js): `recc`, `recc --help`, `recc help`,
// `recc -h` and `recc --version` answered from the command list that build-dist records must print
// exactly what cli/main.ts prints, with the same exit code; every other command line goes to main.
// Also: bin/recc.js, whichever way it runs here (dist/ when built and fresh, else the sources), agrees.
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../cli/main.ts';
import { start, summariesOf, type CommandSummary } from '../cli/start.ts';
import { recc, reccProcess, type CliResult } from './helpers/cli.ts';

type Write = typeof process.stdout.write;

/** What build-dist records in dist/manifest.json. */
const LIST = summariesOf(COMMANDS);

/** `start(argv, commands)` with stdout and stderr captured. */
async function started(argv: string[], commands: readonly CommandSummary[] | undefined): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const out = process.stdout.write;
  const err = process.stderr.write;
  const capture = (append: (s: string) => void): Write =>
    ((chunk: string | Uint8Array) => {
      append(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      return true;
    }) as Write;
  process.stdout.write = capture((s) => (stdout += s));
  process.stderr.write = capture((s) => (stderr += s));
  try {
    const code = await start(argv, commands);
    return { code, stdout, stderr };
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
  }
}

describe('cli/start.ts', () => {
  it('lists every command of COMMANDS, in order, with its summary', () => {
    expect(LIST.map((c) => c.name)).toEqual(COMMANDS.map((c) => c.name));
    expect(LIST.every((c, i) => c.summary === COMMANDS[i]!.summary && Object.keys(c).length === 2)).toBe(true);
  });

  for (const argv of [[], ['--help'], ['help'], ['-h'], ['--version']]) {
    it(`\`recc ${argv.join(' ')}\` prints what main prints, with its exit code`, async () => {
      const want = recc(...argv);
      expect(want.stdout.length).toBeGreaterThan(5);
      expect(await started(argv, LIST)).toEqual(want);
    });
  }

  it('answers help from the list it is given, not from the command modules', async () => {
    const r = await started(['--help'], [{ name: 'only', summary: 'the one command this list names' }]);
    expect(r.stdout).toContain('only  the one command this list names');
    expect(r.stdout).not.toContain('sweep');
  });

  it('passes any other command line to main', async () => {
    for (const argv of [['help', 'check'], ['check', '--help'], ['--verison'], ['--help', 'bogus']]) {
      expect(await started(argv, LIST)).toEqual(recc(...argv));
    }
    // without a list (no manifest), even help goes through main
    expect(await started(['--help'], undefined)).toEqual(recc('--help'));
  });

  it('bin/recc.js prints the same help and version as main', () => {
    for (const argv of [['--help'], ['--version']]) {
      const p = reccProcess(...argv);
      const want = recc(...argv);
      expect({ code: p.code, stdout: p.stdout }).toEqual({ code: want.code, stdout: want.stdout });
    }
  });
});

// `recc check FILE...`: diagnostics only (syntax, names, shapes, constructs not lowered yet), fast
// enough for an editor: the compiler's front end alone, no rewriting, no runtime.
import { readFileSync } from 'node:fs';
import { checkAndLower } from '../../compiler/compile.ts';
import { hasErrors, type Diagnostic } from '../../compiler/diagnostics/diagnostics.ts';
import { lineCol } from '../../compiler/diagnostics/source.ts';
import { command } from '../lib/args.ts';
import { modelFile, printDiagnostics, SET_FLAG, type Reported } from './common.ts';

export const check = command({
  name: 'check',
  summary: 'report diagnostics with file:line:col, a caret and a help line; exit 1 on errors',
  description:
    'Checks syntax, names, index domains and shapes, and that every construct can be lowered.\n' +
    'Costs (RC0530, RC0531) are judged by explain, compile and run, which rewrite every term.',
  operands: [{ name: 'FILE', meaning: 'a .recmodel file', repeat: true }],
  flags: [{ kind: 'choice', name: 'format', choices: ['text', 'json'], value: 'text', meaning: 'text for people (on stdout), or json: one array of diagnostics with line:col positions' }, SET_FLAG],
  needsRuntime: () => false,
  run: ({ operands, flags }) => {
    const json = flags.format === 'json';
    let failed = false;
    const all: object[] = [];
    for (const path of operands) {
      const r = checkAndLower(path, readFileSync(modelFile(path), 'utf8'), { sets: flags.set });
      failed ||= hasErrors(r.diagnostics);
      if (json) all.push(...r.diagnostics.map((d) => diagnosticJson(d, r)));
      else if (r.diagnostics.length) printDiagnostics(r, process.stdout);
      else process.stdout.write(`${path}: ok\n`);
    }
    if (json) process.stdout.write(JSON.stringify(all, null, 2) + '\n');
    return failed ? 1 : 0;
  },
});

function diagnosticJson(d: Diagnostic, r: Reported): object {
  const src = r.sources.get(d.span.file);
  const pos = (o: number) => (src ? lineCol(src, o) : undefined);
  return { ...d, start: pos(d.span.start), end: pos(d.span.end) };
}

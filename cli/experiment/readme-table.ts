// A generated table inside a Markdown file: the text between `<!-- recc compare:begin -->` and
// `<!-- recc compare:end -->` is replaced, the rest of the file kept byte for byte, so a README's
// results table is what `recc compare --readme FILE` printed and cannot drift from the runs.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { UserError } from '../lib/args.ts';

export const BEGIN = '<!-- recc compare:begin -->';
export const END = '<!-- recc compare:end -->';

/** `text` with the block between the markers replaced by `table`; a file without exactly one pair of markers is refused. */
export function replaceBetweenMarkers(text: string, table: string, file: string): string {
  const b = text.indexOf(BEGIN);
  const e = text.indexOf(END);
  if (b < 0 || e < 0 || e < b || text.indexOf(BEGIN, b + 1) >= 0 || text.indexOf(END, e + 1) >= 0)
    throw new UserError(`${file}: --readme needs one \`${BEGIN}\` line and one \`${END}\` line after it, around the table to replace`);
  return `${text.slice(0, b + BEGIN.length)}\n${table.endsWith('\n') ? table : table + '\n'}${text.slice(e)}`;
}

/** Rewrites `file` with `table` between its markers (atomically); whether it changed. */
export function writeReadmeTable(file: string, table: string): boolean {
  const text = readFileSync(file, 'utf8');
  const next = replaceBetweenMarkers(text, table, file);
  if (next === text) return false;
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, next);
  renameSync(tmp, file);
  return true;
}

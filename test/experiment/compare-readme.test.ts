// `recc compare --readme FILE`: the table compare prints replaces what stands between FILE's markers,
// and nothing else in the file changes; a file without the markers (or with two pairs) is refused.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { recc } from '../helpers/cli.ts';
import { repoRoot } from '../../runtime/data/data-paths.ts';
import { BEGIN, END, replaceBetweenMarkers } from '../../cli/experiment/readme-table.ts';

const example = join(repoRoot(), 'examples', 'mf-gramian.recmodel');

describe('recc compare --readme', () => {
  it('writes the printed table between the markers and keeps the rest of the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'recc-readme-'));
    const small = ['--steps', '3', '--mode', 'cpu', '--quiet'];
    expect(recc('run', example, ...small, '--set', 'd=4', '-o', join(dir, 'a')).code).toBe(0);
    expect(recc('run', example, ...small, '--set', 'd=8', '-o', join(dir, 'b')).code).toBe(0);
    const readme = join(dir, 'README.md');
    const before = `# title\n\nintro\n\n${BEGIN}\n| stale | table |\n${END}\n\nafter\n`;
    writeFileSync(readme, before);
    const r = recc('compare', join(dir, 'a'), join(dir, 'b'), '--sort', 'rmse', '--readme', readme);
    expect(r.code, r.stderr).toBe(0);
    const after = readFileSync(readme, 'utf8');
    expect(after).toBe(`# title\n\nintro\n\n${BEGIN}\n${r.stdout}${END}\n\nafter\n`);
    expect(r.stdout).toMatch(/^\| run +\| model +\| +d \|/);
    expect(r.stderr).toContain('rewritten');
    // the same runs again: the file is already what compare prints
    expect(recc('compare', join(dir, 'a'), join(dir, 'b'), '--sort', 'rmse', '--readme', readme).stderr).toContain('unchanged');
    expect(readFileSync(readme, 'utf8')).toBe(after);
    // --csv cannot go into a Markdown file
    expect(recc('compare', join(dir, 'a'), '--csv', '--readme', readme).code).toBe(2);
  });

  it('refuses a file without exactly one pair of markers', () => {
    expect(() => replaceBetweenMarkers('no markers', 't\n', 'R.md')).toThrow(/needs one `<!-- recc compare:begin -->` line/);
    expect(() => replaceBetweenMarkers(`${END}\n${BEGIN}\n`, 't\n', 'R.md')).toThrow(/needs one/);
    expect(() => replaceBetweenMarkers(`${BEGIN}\n${END}\n${BEGIN}\n${END}\n`, 't\n', 'R.md')).toThrow(/needs one/);
    expect(replaceBetweenMarkers(`a\n${BEGIN}\nold\n${END}\nb`, 'new\n', 'R.md')).toBe(`a\n${BEGIN}\nnew\n${END}\nb`);
  });
});

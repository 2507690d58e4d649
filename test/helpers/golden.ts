// Golden fixtures that carry their own expectations: a .recmodel source, then a marker line
// `# --- expected ---`, then the rendered diagnostics as `# ` comment lines ("# ok" when there are
// none). `UPDATE_GOLDEN=1` rewrites the expectations. `# set: d=64, l2w=1` lines in the source
// become --set overrides. Diagnostics name the fixture by its base name, so goldens are portable.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { renderDiagnostics, type Diagnostic } from '../../compiler/diagnostics/diagnostics.ts';
import { sourceFile, type SourceFile } from '../../compiler/diagnostics/source.ts';

export const MARKER = '# --- expected ---';

export interface Fixture {
  readonly path: string;
  readonly name: string;
  readonly src: SourceFile;
  readonly sets: ReadonlyMap<string, number>;
  readonly expected: string | undefined;
}

export function loadFixtures(dir: string): Fixture[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.recmodel'))
    .sort()
    .map((f) => {
      const path = join(dir, f);
      const text = readFileSync(path, 'utf8');
      const at = text.indexOf('\n' + MARKER);
      const source = at < 0 ? text : text.slice(0, at + 1);
      const expected =
        at < 0
          ? undefined
          : text
              .slice(at + 1 + MARKER.length + 1)
              .split('\n')
              .filter((l, k, all) => !(k === all.length - 1 && l === ''))
              .map((l) => (l === '#' ? '' : l.replace(/^# /, '')))
              .join('\n');
      const sets = new Map<string, number>();
      for (const m of source.matchAll(/^# set: (.*)$/gm))
        for (const kv of m[1]!.split(',')) {
          const [k, v] = kv.split('=').map((x) => x.trim());
          if (k && v !== undefined) sets.set(k, Number(v));
        }
      return { path, name: f, src: sourceFile(basename(f), source), sets, expected };
    });
}

/** Renders against the fixture's own source and any other files read for it (imports). */
export function render(ds: readonly Diagnostic[], src: SourceFile, others?: ReadonlyMap<string, SourceFile>): string {
  return ds.length ? renderDiagnostics(ds, (file) => (file === src.path ? src : others?.get(file))) : 'ok';
}

/** Compares or (with UPDATE_GOLDEN=1) rewrites; returns the expectation to assert against. */
export function golden(fx: Fixture, actual: string): string {
  if (process.env.UPDATE_GOLDEN === '1' || fx.expected === undefined) {
    const body = actual
      .split('\n')
      .map((l) => (l === '' ? '#' : `# ${l}`))
      .join('\n');
    writeFileSync(fx.path, `${fx.src.text}${MARKER}\n${body}\n`);
    return actual;
  }
  return fx.expected;
}

// Golden fixtures that carry their own expectations: a .recmodel source, then a marker line
// `# --- expected ---`, then the rendered diagnostics as `# ` comment lines ("# ok" when there are
// none). `UPDATE_GOLDEN=1` rewrites the expectations; a fixture without one gets it written on a
// developer's machine, but fails in CI (`CI` set), where nobody reviews what would be blessed.
// `# set: d=64, l2w=1` lines in the source become --set overrides. Diagnostics name the fixture by
// its base name, so goldens are portable.
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

/** Whether the environment says this is a CI run (`CI=true`, as CI services set it; `CI=1` too). */
export function inCi(env: NodeJS.ProcessEnv = process.env): boolean {
  const ci = env.CI?.trim().toLowerCase();
  return ci !== undefined && ci !== '' && ci !== '0' && ci !== 'false';
}

/**
 * Compares or (with UPDATE_GOLDEN=1) rewrites; returns the expectation to assert against. A fixture
 * with no expectation yet gets `actual` written as its expectation — except in CI, where that would
 * pass without anyone having read it: there it throws, saying how to create the expectation.
 */
export function golden(fx: Fixture, actual: string, env: NodeJS.ProcessEnv = process.env): string {
  const update = env.UPDATE_GOLDEN === '1';
  if (fx.expected === undefined && !update && inCi(env)) {
    throw new Error(
      `${fx.path} has no expectation (no '${MARKER}' line); in CI a missing expectation fails instead of being written.\n` +
        `Create it with UPDATE_GOLDEN=1 (e.g. \`UPDATE_GOLDEN=1 npx vitest run <test file>\`), review the written lines, and commit them.`,
    );
  }
  if (update || fx.expected === undefined) {
    const body = actual
      .split('\n')
      .map((l) => (l === '' ? '#' : `# ${l}`))
      .join('\n');
    writeFileSync(fx.path, `${fx.src.text}${MARKER}\n${body}\n`);
    return actual;
  }
  return fx.expected;
}

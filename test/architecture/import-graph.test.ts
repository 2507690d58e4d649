// The import graph of recc's own sources (grammar/, compiler/, runtime/, cli/): no file imports itself
// through a chain of other files, the folders form a DAG (a stage never imports a later stage), and the
// top-level layers point one way: grammar ← compiler ← runtime ← cli. Type-only imports count too: a
// cycle through types is still two modules that cannot be read one without the other.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../runtime/data/data-paths.ts';

const root = repoRoot();
const LAYERS = ['grammar', 'compiler', 'runtime', 'cli'] as const;

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return sources(p);
    return p.endsWith('.ts') && !p.endsWith('.d.ts') ? [p] : [];
  });
}

/** Relative import specifiers of a module: static imports/exports and dynamic import('…'). */
export function importSpecifiers(text: string): string[] {
  const out: string[] = [];
  const re = /(?:^|[\s;])(?:import|export)\b[^'"`;]*?from\s*(['"])(\.{1,2}\/[^'"]+)\1|import\s*\(\s*(['"])(\.{1,2}\/[^'"]+)\3\s*\)|^\s*import\s*(['"])(\.{1,2}\/[^'"]+)\5/gm;
  for (const m of text.matchAll(re)) out.push((m[2] ?? m[4] ?? m[6])!);
  return out;
}

function graph(): Map<string, string[]> {
  const files = LAYERS.flatMap((l) => sources(join(root, l)));
  const g = new Map<string, string[]>();
  for (const f of files) {
    const deps = importSpecifiers(readFileSync(f, 'utf8'))
      .map((s) => relative(root, resolve(dirname(f), s)))
      .filter((d) => LAYERS.some((l) => d.startsWith(`${l}/`)));
    g.set(relative(root, f), deps);
  }
  return g;
}

/** Every cycle's members, one list per strongly connected component with more than one node or a self-edge. */
export function cycles(g: ReadonlyMap<string, readonly string[]>): string[][] {
  let counter = 0;
  const index = new Map<string, number>(), low = new Map<string, number>(), onStack = new Set<string>();
  const stack: string[] = [], out: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, counter); low.set(v, counter); counter++;
    stack.push(v); onStack.add(v);
    for (const w of g.get(v) ?? []) {
      if (!index.has(w)) { visit(w); low.set(v, Math.min(low.get(v)!, low.get(w)!)); }
      else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do { w = stack.pop()!; onStack.delete(w); scc.push(w); } while (w !== v);
      if (scc.length > 1 || (g.get(v) ?? []).includes(v)) out.push(scc.sort());
    }
  };
  for (const v of [...g.keys()].sort()) if (!index.has(v)) visit(v);
  return out;
}

const folderOf = (f: string): string => dirname(f);
const layerOf = (f: string): number => LAYERS.findIndex((l) => f.startsWith(`${l}/`));

describe('import graph', () => {
  const g = graph();

  it('finds the sources and their imports', () => {
    expect(g.size).toBeGreaterThan(50);
    expect(g.get('cli/main.ts')?.length ?? 0).toBeGreaterThan(0);
  });

  it('has no import cycle between files', () => {
    expect(cycles(g)).toEqual([]);
  });

  it('has no cycle between folders (a stage never imports a later stage)', () => {
    const fg = new Map<string, string[]>();
    for (const [f, deps] of g) {
      const from = folderOf(f);
      const tos = fg.get(from) ?? [];
      for (const d of deps) if (folderOf(d) !== from && !tos.includes(folderOf(d))) tos.push(folderOf(d));
      fg.set(from, tos);
    }
    expect(cycles(fg)).toEqual([]);
  });

  it('points one way across layers: grammar ← compiler ← runtime ← cli', () => {
    const upward = [...g].flatMap(([f, deps]) => deps.filter((d) => layerOf(d) > layerOf(f)).map((d) => `${f} → ${d}`));
    expect(upward).toEqual([]);
  });

  it('the cycle finder finds a planted cycle and a self-import', () => {
    expect(cycles(new Map([['a', ['b']], ['b', ['c']], ['c', ['a']], ['d', ['a']]]))).toEqual([['a', 'b', 'c']]);
    expect(cycles(new Map([['a', ['a']]]))).toEqual([['a']]);
    expect(importSpecifiers("import { x } from './a.ts';\nimport type { Y } from '../b.ts';\nconst m = await import('./c.ts');\nexport * from './d.ts';"))
      .toEqual(['./a.ts', '../b.ts', './c.ts', './d.ts']);
  });
});

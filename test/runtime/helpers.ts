// Test helpers for runtime/: RelationInfo values built without the compiler front end, and temp files.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ColumnKind, RelationInfo } from '../../compiler/check/model.ts';

/** Column shorthand: 'user' / 'item' (any other name) = index domain, or 'float' | 'int' | 'string'. */
export type ColSpec = 'float' | 'int' | 'string' | `domain:${string}`;

function kindOf(spec: ColSpec): ColumnKind {
  if (spec === 'float' || spec === 'int' || spec === 'string') return { kind: spec };
  return { kind: 'domain', domain: spec.slice('domain:'.length) };
}

/** A RelationInfo as check/ would produce for `data name(cols) from path format fmt`. */
export function relationInfo(name: string, cols: Record<string, ColSpec>, format: 'tsv' | 'csv' | 'movielens' = 'tsv', path = 'data.tsv'): RelationInfo {
  const span = { file: 'test.recmodel', start: 0, end: 0 };
  const ident = (n: string) => ({ kind: 'Ident' as const, name: n, span });
  return {
    name,
    columns: Object.entries(cols).map(([n, s]) => ({ name: n, type: kindOf(s) })),
    source: { kind: 'file', path, format },
    decl: { kind: 'DataDecl', name: ident(name), columns: [], path, pathSpan: span, format: ident(format), span },
  };
}

/** The usual ratings relation: (user: user, item: item, rating: float, time: int). */
export const ratingsInfo = (format: 'tsv' | 'csv' | 'movielens' = 'tsv'): RelationInfo =>
  relationInfo('ratings', { user: 'domain:user', item: 'domain:item', rating: 'float', time: 'int' }, format);

let dir: string | undefined;
/** Write `body` to a fresh file in a per-process temp folder; returns its path. */
export function tempFile(name: string, body: string): string {
  dir ??= mkdtempSync(join(tmpdir(), 'recc-runtime-'));
  const p = join(dir, name);
  writeFileSync(p, body);
  return p;
}

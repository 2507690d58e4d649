// Test helpers for sparse relations: the RelationInfo of a libsvm relation, built without the compiler.
import type { ColumnKind, RelationInfo } from '../../compiler/model.ts';

/** `data name(label: <label>, x: sparse feature) from "…" format libsvm` as check/ would produce it. */
export function libsvmInfo(name = 'clicks', label: ColumnKind = { kind: 'float' }, extra: { name: string; type: ColumnKind }[] = []): RelationInfo {
  const span = { file: 'test.recmodel', start: 0, end: 0 };
  const ident = (n: string) => ({ kind: 'Ident' as const, name: n, span });
  return {
    name,
    columns: [{ name: 'label', type: label }, { name: 'x', type: { kind: 'sparse', domain: 'feature' } }, ...extra],
    source: { kind: 'file', path: 'ctr.libsvm', format: 'libsvm' },
    decl: { kind: 'DataDecl', name: ident(name), columns: [], path: 'ctr.libsvm', pathSpan: span, format: ident('libsvm'), span },
  };
}

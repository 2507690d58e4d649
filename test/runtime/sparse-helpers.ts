// Test helpers for sparse relations: the RelationInfo of a libsvm relation, built without the compiler.
import type { ColumnKind, RelationInfo } from '../../compiler/check/model.ts';

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

/** Eight labelled libsvm rows over features a–e (1 to 5 non-zeros each) for sparse-model tests. */
export const CTR_ROWS = `1 a:1 b:2 c:0.5
0 b:1 d:1
1 a:-1 c:1 d:2 e:1
0 e:3
1 b:1 e:1
0 a:2 d:0.5
1 c:1
0 a:1 b:1 c:1 d:1 e:1
`;

// Sparse feature rows: the libsvm loader and row selection that keeps a relation's entries with it.
// A relation R with a sparse column x (`data clicks(label: float, x: sparse feature) … format libsvm`)
// is held as two relations: R itself (its value columns; size = rows) and the entries relation
// named by `entriesName` (compiler/ir/spaces.ts) with ids `row` (the row of R, idDomains 'row' → R),
// `feat` (a dense id of the feature domain, interned in the shared IdMaps) and values `val`; size =
// nnz; its `sparseColumn` names x. Invariant: entries are grouped by
// row in row order (the entries of row r are contiguous, and rows never decrease), so a row's entries
// are one CSR slice. Every way of taking rows of R (splits, derived relations, mini-batches) goes
// through selectRowsSparse, which renumbers `row` to positions in the new relation.
import type { ColumnInfo, RelationInfo } from '../../compiler/check/model.ts';
import { DataError, normalizeText, outOfRange, parseNumber, readText, selectRows, type LoadOptions, type Relation } from './load.ts';
import { ENTRY_FEAT, ENTRY_ROW, ENTRY_VAL, entriesName } from '../../compiler/ir/spaces.ts';
import type { IdMaps } from './ids.ts';

/** A relation with sparse columns and its entries relations, keyed by entries name. */
export interface SparseLoad {
  readonly rel: Relation;
  readonly entries: Map<string, Relation>;
}

export { entriesName };

/** The sparse columns of a relation (or RelationInfo), in declaration order. */
export function sparseColumns(rel: { readonly columns: readonly ColumnInfo[] }): ColumnInfo[] {
  return rel.columns.filter((c) => c.type.kind === 'sparse');
}

/** The entries relations of `rel` present in `side` (a Dataset's train or test map), by name. */
export function entriesOf(rel: Relation, side: ReadonlyMap<string, Relation>): Map<string, Relation> {
  const out = new Map<string, Relation>();
  for (const c of sparseColumns(rel)) {
    const name = entriesName(rel.name, c.name);
    const e = side.get(name);
    if (e !== undefined) out.set(name, e);
  }
  return out;
}

// ---- libsvm --------------------------------------------------------------------------------------

const TAB = 9, CR = 13, SPACE = 32, HASH = 35, COLON = 58;

/** Ids as integers below this bound use a lookup table instead of string interning. */
const NUM_TABLE_MAX = 1 << 22;

/**
 * Load a libsvm file as relation `info`, which must declare exactly one label column (float or int)
 * and one sparse column: `(label: float, x: sparse feature)`. Gives R (the label) and `R~x`.
 */
export function loadSparse(info: RelationInfo, path: string, ids: IdMaps, opts: LoadOptions = {}): SparseLoad {
  const file = opts.displayPath ?? path;
  const format = opts.format ?? (info.source.kind === 'file' ? info.source.format : undefined);
  if (format !== 'libsvm') throw new DataError(file, undefined, undefined, `relation '${info.name}' has a sparse column; only format libsvm can hold it (found format ${format ?? 'none'})`);
  layoutOf(info, file); // declaration errors before reading the file
  return parseLibsvm(info, readText(file, path, opts.hint), file, ids, opts);
}

/** The label column and the sparse column of a libsvm relation, or a DataError naming the layout. */
function layoutOf(info: RelationInfo, file: string): { label: ColumnInfo; sparse: ColumnInfo & { type: { kind: 'sparse'; domain: string } } } {
  const labels = info.columns.filter((c) => c.type.kind === 'float' || c.type.kind === 'int');
  const sparse = sparseColumns(info);
  if (labels.length !== 1 || sparse.length !== 1 || info.columns.length !== 2) {
    const found = info.columns.map((c) => `${c.name}: ${c.type.kind === 'domain' ? c.type.domain : c.type.kind === 'sparse' ? `sparse ${c.type.domain}` : c.type.kind}`).join(', ');
    throw new DataError(file, undefined, undefined, `format libsvm holds rows 'label id:value id:value …': declare ${info.name} with one label and one sparse column, e.g. (label: float, x: sparse feature); found (${found})`);
  }
  return { label: labels[0]!, sparse: sparse[0] as ColumnInfo & { type: { kind: 'sparse'; domain: string } } };
}

/**
 * Parse a libsvm body: one row per line, `label id[:value] id[:value] …`, fields separated by spaces
 * or tabs. The label is a number kept as written (0/1, −1/+1, or a real target). A feature id is any
 * token text before ':' (interned as a string in the sparse column's domain; `7` and `07` differ);
 * `id` without `:value` means value 1. `#` starts a comment to the end of the line; blank and
 * comment-only lines are skipped. `qid:` fields (ranking files) are rejected. A feature may appear
 * once per row. unknownIds ('add' | 'error' | 'drop') applies to feature ids; 'drop' drops the entry.
 */
export function parseLibsvm(info: RelationInfo, body: string, file: string, ids: IdMaps, opts: LoadOptions = {}): SparseLoad {
  const { label, sparse } = layoutOf(info, file);
  const text = normalizeText(body);
  const n = text.length;
  const unknown = opts.unknownIds ?? 'add';
  const map = ids.get(sparse.type.domain);
  const isInt = label.type.kind === 'int';

  // capacities: rows ≤ lines; entries start at 8 per row and double on demand
  let capRows = 1;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) capRows++;
  let capEnt = 8 * capRows;
  const labels = new Float64Array(capRows);
  let eRow = new Int32Array(capEnt), eFeat = new Int32Array(capEnt);
  let eVal = new Float64Array(capEnt);
  let nnz = 0;
  const grow = (): void => {
    capEnt *= 2;
    const r = new Int32Array(capEnt); r.set(eRow); eRow = r;
    const f = new Int32Array(capEnt); f.set(eFeat); eFeat = f;
    const v = new Float64Array(capEnt); v.set(eVal); eVal = v;
  };

  // numTable[v] = 1 + dense id of the feature whose id text is the canonical integer v (0: unseen)
  let numTable = new Int32Array(0);
  // seenRow[d] = 1 + row in which feature d last appeared, seenCol[d] = its column (duplicate check)
  let seenRow = new Int32Array(Math.max(16, map.size));
  let seenCol = new Int32Array(seenRow.length);
  const quote = (s: number, e: number): string => JSON.stringify(text.slice(s, e));

  let rows = 0;
  let line = 0;
  let pos = 0;
  while (pos < n) {
    line++;
    const lineStart = pos;
    let eol = text.indexOf('\n', pos);
    if (eol < 0) eol = n;
    pos = eol + 1;
    let p = lineStart;
    let first = true;
    for (;;) {
      // next token [s, e)
      let c = 0;
      while (p < eol && ((c = text.charCodeAt(p)) === SPACE || c === TAB || c === CR)) p++;
      if (p >= eol || c === HASH) break;
      const s = p;
      let colon = -1;
      // the id as a canonical integer (digits, no leading 0, ≤ 7 digits) while scanning, else −1
      let num = 0;
      while (p < eol) {
        c = text.charCodeAt(p);
        if (c === SPACE || c === TAB || c === CR || c === HASH) break;
        if (colon < 0) {
          if (c === COLON) colon = p;
          else if (num >= 0) num = c >= 48 && c <= 57 && !(num === 0 && p > s) && p - s < 7 ? num * 10 + (c - 48) : -1;
        }
        p++;
      }
      const e = p;
      const col = s - lineStart + 1;
      if (first) {
        first = false;
        if (colon >= 0) throw new DataError(file, line, col, `expected a label before the features (rows are 'label id:value …'), found ${quote(s, e)}`);
        const y = parseNumber(text, s, e);
        if (Number.isNaN(y)) throw new DataError(file, line, col, `expected a number as the label in column '${label.name}', found ${quote(s, e)}`);
        if (!Number.isFinite(y)) throw new DataError(file, line, col, outOfRange(label.name, text.slice(s, e)));
        if (isInt && !Number.isInteger(y)) throw new DataError(file, line, col, `expected an integer label in column '${label.name}', found ${quote(s, e)}`);
        labels[rows] = y;
        continue;
      }
      const idEnd = colon < 0 ? e : colon;
      if (idEnd === s) throw new DataError(file, line, col, `expected a feature id before ':', found ${quote(s, e)}`);
      if (idEnd - s === 3 && text.startsWith('qid', s)) throw new DataError(file, line, col, `qid fields (libsvm ranking files) are not supported; remove the 'qid:…' field or group rows another way`);
      let val = 1;
      if (colon >= 0) {
        if (colon + 1 === e) throw new DataError(file, line, colon - lineStart + 2, `expected a number after ':' for feature ${quote(s, idEnd)}, found nothing`);
        val = parseNumber(text, colon + 1, e);
        if (Number.isNaN(val)) throw new DataError(file, line, colon - lineStart + 2, `expected a number after ':' for feature ${quote(s, idEnd)}, found ${quote(colon + 1, e)}`);
        if (!Number.isFinite(val)) throw new DataError(file, line, colon - lineStart + 2, `expected a finite number after ':' for feature ${quote(s, idEnd)}, found ${quote(colon + 1, e)}, which is beyond the float64 range (±1.8e308)`);
      }
      // feature id → dense id
      let d = num >= 0 && num < numTable.length ? numTable[num]! - 1 : -1;
      if (d < 0) {
        const key = text.slice(s, idEnd);
        if (unknown === 'add') d = map.intern(key);
        else {
          const got = map.get(key);
          if (got === undefined) {
            if (unknown === 'error') throw new DataError(file, line, col, `expected a known ${map.domain} id, found ${JSON.stringify(key)} (not in the id map)`);
            continue;
          }
          d = got;
        }
        if (num >= 0 && num < NUM_TABLE_MAX) {
          if (num >= numTable.length) {
            const t = new Int32Array(Math.min(NUM_TABLE_MAX, Math.max(2 * numTable.length, num + 1, 64)));
            t.set(numTable);
            numTable = t;
          }
          numTable[num] = d + 1;
        }
      }
      if (d >= seenRow.length) {
        const len = Math.max(2 * seenRow.length, d + 1);
        const a = new Int32Array(len); a.set(seenRow); seenRow = a;
        const b = new Int32Array(len); b.set(seenCol); seenCol = b;
      }
      if (seenRow[d] === rows + 1) throw new DataError(file, line, col, `duplicate feature ${quote(s, idEnd)} in this row (first at column ${seenCol[d]}); a feature may appear once per row`);
      seenRow[d] = rows + 1;
      seenCol[d] = col;
      if (nnz === capEnt) grow();
      eRow[nnz] = rows;
      eFeat[nnz] = d;
      eVal[nnz] = val;
      nnz++;
    }
    if (first) continue; // blank or comment-only line
    rows++;
  }
  if (rows === 0) throw new DataError(file, undefined, undefined, `empty file; expected libsvm rows 'label id:value id:value …'`);

  const rel: Relation = {
    name: info.name, size: rows, columns: info.columns,
    ids: new Map(), idDomains: new Map(), values: new Map([[label.name, labels.slice(0, rows)]]), source: file,
  };
  const entries = new Map<string, Relation>();
  entries.set(entriesName(info.name, sparse.name), makeEntries(info.name, sparse.name, sparse.type.domain, eRow.slice(0, nnz), eFeat.slice(0, nnz), eVal.slice(0, nnz), file));
  return { rel, entries };
}

/** The entries relation (`row`, `feat`, `val`) of sparse column `col` of relation `parent`, over feature domain `domain`. */
export function makeEntries(parent: string, col: string, domain: string, row: Int32Array, feat: Int32Array, val: Float64Array, source?: string): Relation {
  return {
    name: entriesName(parent, col),
    size: row.length,
    columns: entriesColumns(parent, domain),
    ids: new Map([[ENTRY_ROW, row], [ENTRY_FEAT, feat]]),
    idDomains: new Map([[ENTRY_ROW, parent], [ENTRY_FEAT, domain]]),
    values: new Map([[ENTRY_VAL, val]]),
    source,
    sparseColumn: col,
  };
}

function entriesColumns(parent: string, domain: string): ColumnInfo[] {
  return [
    { name: ENTRY_ROW, type: { kind: 'domain', domain: parent } },
    { name: ENTRY_FEAT, type: { kind: 'domain', domain } },
    { name: ENTRY_VAL, type: { kind: 'float' } },
  ];
}

// ---- row selection ---------------------------------------------------------------------------------

/** CSR offsets of an entries relation, cached per relation object (entries relations are immutable). */
const offsetsCache = new WeakMap<Relation, Int32Array>();

/**
 * offsets[r] .. offsets[r+1] are the entries of row r, for rows 0..nRows−1. Throws (a caller bug) if
 * the entries are not grouped by row in row order or point outside 0..nRows−1.
 */
export function rowOffsets(entries: Relation, nRows: number): Int32Array {
  const hit = offsetsCache.get(entries);
  if (hit !== undefined && hit.length === nRows + 1) return hit;
  const row = entries.ids.get(ENTRY_ROW);
  if (row === undefined) throw new Error(`relation '${entries.name}' has no 'row' column; it is not an entries relation`);
  const off = new Int32Array(nRows + 1);
  let prev = 0;
  for (let q = 0; q < row.length; q++) {
    const r = row[q]!;
    if (r < prev || r >= nRows) throw new Error(`entries '${entries.name}': entry ${q} has row ${r} after row ${prev} (of ${nRows}); entries must be grouped by row in row order`);
    off[r + 1]++;
    prev = r;
  }
  for (let r = 0; r < nRows; r++) off[r + 1] += off[r]!;
  offsetsCache.set(entries, off);
  return off;
}

/**
 * The entries of rows `rows` (of a relation with nRows rows) as entries of a new relation `name`:
 * `row` renumbered to positions in `rows`, other columns copied, grouped by the new row order.
 * The result is keyed by the new entries names (`entriesName(name, col)`, col each one's `sparseColumn`).
 */
export function selectEntries(entries: ReadonlyMap<string, Relation>, nRows: number, rows: Int32Array, name: string): Map<string, Relation> {
  const out = new Map<string, Relation>();
  const m = rows.length;
  for (const e of entries.values()) {
    const col = e.sparseColumn;
    if (col === undefined) throw new Error(`relation '${e.name}' is not an entries relation`);
    const newName = entriesName(name, col);
    const off = rowOffsets(e, nRows);
    let total = 0;
    for (let j = 0; j < m; j++) {
      const r = rows[j]!;
      if (r < 0 || r >= nRows) throw new RangeError(`selectEntries: row ${r} is outside 0..${nRows - 1}`);
      total += off[r + 1]! - off[r]!;
    }
    const newRow = new Int32Array(total);
    for (let j = 0, k = 0; j < m; j++) {
      const r = rows[j]!;
      for (let q = off[r]!; q < off[r + 1]!; q++) newRow[k++] = j;
    }
    const copy = <A extends Int32Array | Float64Array>(a: A, b: A): A => {
      for (let j = 0, k = 0; j < m; j++) {
        const r = rows[j]!;
        const lo = off[r]!, hi = off[r + 1]!;
        if (hi - lo > 8) { b.set(a.subarray(lo, hi), k); k += hi - lo; } else for (let q = lo; q < hi; q++) b[k++] = a[q]!;
      }
      return b;
    };
    const ids = new Map<string, Int32Array>();
    const idDomains = new Map(e.idDomains);
    for (const [c, a] of e.ids) ids.set(c, c === ENTRY_ROW ? newRow : copy(a, new Int32Array(total)));
    idDomains.set(ENTRY_ROW, name);
    const values = new Map<string, Float64Array>();
    for (const [c, a] of e.values) values.set(c, copy(a, new Float64Array(total)));
    const columns = e.columns.map((c) => (c.name === ENTRY_ROW ? { name: ENTRY_ROW, type: { kind: 'domain' as const, domain: name } } : c));
    out.set(newName, { name: newName, size: total, columns, ids, idDomains, values, source: e.source, sparseColumn: col });
  }
  return out;
}

/**
 * The rows `rows` of `rel` (in the given order) as a relation `name`, with its entries relations:
 * entry q of the result belongs to row j of the result iff it came from row rows[j] of `rel`.
 */
export function selectRowsSparse(rel: Relation, entries: ReadonlyMap<string, Relation>, rows: Int32Array, name: string = rel.name): SparseLoad {
  return { rel: selectRows(rel, rows, name), entries: selectEntries(entries, rel.size, rows, name) };
}

/** The rows of `rel` with predicate(t) true, in order, with their entries (a derived relation). */
export function filterRowsSparse(rel: Relation, entries: ReadonlyMap<string, Relation>, predicate: (t: number) => boolean, name: string = rel.name): SparseLoad {
  const keep = new Int32Array(rel.size);
  let m = 0;
  for (let t = 0; t < rel.size; t++) if (predicate(t)) keep[m++] = t;
  return selectRowsSparse(rel, entries, keep.subarray(0, m), name);
}

// Data loading: a relation's file (tsv, csv, MovieLens u.data / ratings.dat) → a columnar Relation.
// Takes a checked RelationInfo (column names and kinds) and the shared IdMaps; gives typed arrays:
// domain and string columns as dense Int32 ids (interned in first-seen order), float and int columns
// as Float64. Invariants: every column array has length `size`; an int column holds integers only.
// Bad input never throws a plain Error: it throws DataError naming `file:line:col` and what was
// expected. Parsing is one hand-written scan over the file string (no split/regex per line).
// libsvm files (sparse feature rows) load as two relations through runtime/sparse.ts (loadSparse).
import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { ColumnInfo, RelationInfo } from '../../compiler/check/model.ts';
import type { IdMaps } from './ids.ts';

export interface Relation {
  readonly name: string;
  /** number of tuples */
  readonly size: number;
  readonly columns: readonly ColumnInfo[];
  /** dense ids of domain and string columns, by column name */
  readonly ids: ReadonlyMap<string, Int32Array>;
  /** the IdMaps key of each id column: its index domain, or `<relation>.<column>` for strings */
  readonly idDomains: ReadonlyMap<string, string>;
  /** float and int columns, by column name */
  readonly values: ReadonlyMap<string, Float64Array>;
  /** file the tuples came from, if any (for messages) */
  readonly source: string | undefined;
  /** set on an entries relation (runtime/data/sparse.ts): the sparse column whose non-zeros it holds */
  readonly sparseColumn?: string;
}

export type DataFormat = 'tsv' | 'csv' | 'movielens' | 'libsvm';

export interface LoadOptions {
  /** overrides info.source.format (required for derived relations, which have none) */
  readonly format?: DataFormat;
  /** header row: 'auto' (default) detects it; true/false force it */
  readonly header?: boolean | 'auto';
  /** ids not yet in a domain's map: 'add' (default) interns them; 'error' rejects; 'drop' skips the row */
  readonly unknownIds?: 'add' | 'error' | 'drop';
  /** how the file is named in messages (default: `path` as given) */
  readonly displayPath?: string;
  /** appended to the missing-file message, e.g. how the caller resolved the path */
  readonly hint?: string;
}

/** A data error at a position in a file; the message reads `file:line:col: expected ..., found ...`. */
export class DataError extends Error {
  readonly file: string;
  readonly line: number | undefined;
  readonly col: number | undefined;
  constructor(file: string, line: number | undefined, col: number | undefined, what: string) {
    super(line === undefined ? `${file}: ${what}` : `${file}:${line}:${col ?? 1}: ${what}`);
    this.name = 'DataError';
    this.file = file;
    this.line = line;
    this.col = col;
  }
}

/** The IdMaps key of an id column: the column's index domain, or `<relation>.<column>` for strings. */
export function idDomainOf(relation: string, col: ColumnInfo): string | undefined {
  switch (col.type.kind) {
    case 'domain':
      return col.type.domain;
    case 'string':
      return `${relation}.${col.name}`;
    case 'float':
    case 'int':
    case 'sparse':
      return undefined;
  }
}

/** Separator modes of the scanner. */
type Mode = 'tab' | 'ws' | 'csv' | 'dcolon';

const TAB = 9, LF = 10, CR = 13, SPACE = 32, QUOTE = 34, COMMA = 44, COLON = 58;

/**
 * Load `path` as relation `info`. A first row that names a declared column (or holds no number at all
 * where a number is declared) is a header. A header that names every declared column maps columns by
 * name (case-insensitive; extra fields ignored); one that names none maps them by position; one that
 * names some is an error. Without a header, columns map by position. MovieLens files may carry extra
 * trailing fields (ignored), other formats may not.
 */
export function loadRelation(info: RelationInfo, path: string, ids: IdMaps, opts: LoadOptions = {}): Relation {
  const file = opts.displayPath ?? path;
  const format: DataFormat | undefined = opts.format ?? (info.source.kind === 'file' ? info.source.format : undefined);
  if (format === undefined) throw new Error(`relation '${info.name}' is derived; it has no file format (use filterRelation)`);
  if (format === 'libsvm') throw new DataError(file, undefined, undefined, `format libsvm loads as two relations (rows and their sparse entries): use loadSparse from runtime/sparse.ts`);
  for (const c of info.columns) {
    if (c.type.kind === 'sparse') throw new DataError(file, undefined, undefined, `column '${c.name}' is a sparse feature column; only format libsvm can hold it`);
  }
  const text = readText(file, path, opts.hint);
  return parseRelation(info, text, file, format, ids, opts);
}

/** Parse an in-memory file body (exported for tests and generated data). */
export function parseRelation(info: RelationInfo, body: string, file: string, format: Exclude<DataFormat, 'libsvm'>, ids: IdMaps, opts: LoadOptions = {}): Relation {
  const text = normalizeText(body);
  const n = text.length;
  const cols = info.columns;
  const ncols = cols.length;
  const colList = cols.map((c) => c.name).join(', ');
  const unknown = opts.unknownIds ?? 'add';

  // ---- scanner state: one row at a time into reusable field buffers -------------------------------
  let pos = 0;
  let line = 1; // line of `pos`
  let lineStart = 0; // offset where line `line` starts
  let cap = 16;
  let fs: Int32Array = new Int32Array(cap), fe: Int32Array = new Int32Array(cap);
  let fline: Int32Array = new Int32Array(cap), fcol: Int32Array = new Int32Array(cap);
  let fq: Uint8Array = new Uint8Array(cap); // 1: quoted field with "" escapes to undo
  let nf = 0;
  let rowLine = 1, rowEndCol = 1; // for column-count messages

  const push = (s: number, e: number, q: number, ln: number, ls: number): void => {
    if (nf === cap) {
      cap *= 2;
      const grow = (a: Int32Array): Int32Array => { const b = new Int32Array(cap); b.set(a); return b; };
      fs = grow(fs); fe = grow(fe); fline = grow(fline); fcol = grow(fcol);
      const q2 = new Uint8Array(cap); q2.set(fq); fq = q2;
    }
    fs[nf] = s; fe[nf] = e; fq[nf] = q; fline[nf] = ln; fcol[nf] = s - ls + 1; nf++;
  };
  const isSpace = (c: number): boolean => c === SPACE || c === TAB;

  // consume the line terminator at `p` (\n, \r\n or lone \r) and start the next line
  const endLine = (p: number): number => {
    if (p < n && text.charCodeAt(p) === CR) p++;
    if (p < n && text.charCodeAt(p) === LF) p++;
    line++;
    lineStart = p;
    return p;
  };

  /** Scan one physical row (csv: one logical row) at `pos` into the field buffers. */
  const scanRow = (mode: Mode): void => {
    nf = 0;
    rowLine = line;
    let p = pos;
    if (mode === 'ws') {
      for (;;) {
        while (p < n && isSpace(text.charCodeAt(p))) p++;
        const c = p < n ? text.charCodeAt(p) : LF;
        if (c === LF || c === CR) break;
        const s = p;
        while (p < n) { const d = text.charCodeAt(p); if (d === SPACE || d === TAB || d === LF || d === CR) break; p++; }
        push(s, p, 0, line, lineStart);
      }
    } else if (mode === 'tab' || mode === 'dcolon') {
      for (;;) {
        let s = p;
        while (s < n && text.charCodeAt(s) === SPACE) s++;
        p = s;
        let c = LF;
        while (p < n) {
          c = text.charCodeAt(p);
          if (c === LF || c === CR || c === TAB) break;
          if (mode === 'dcolon' && c === COLON && p + 1 < n && text.charCodeAt(p + 1) === COLON) break;
          p++;
        }
        if (p >= n) c = LF;
        let e = p;
        while (e > s && isSpace(text.charCodeAt(e - 1))) e--;
        push(s, e, 0, line, lineStart);
        if (c === TAB) { p++; continue; }
        if (c === COLON) { p += 2; continue; }
        break;
      }
    } else {
      // csv: fields separated by ',', optionally "quoted" with "" for a quote; quoted fields may span lines
      for (;;) {
        while (p < n && text.charCodeAt(p) === SPACE) p++;
        if (p < n && text.charCodeAt(p) === QUOTE) {
          const qLine = line, qLineStart = lineStart;
          const s = ++p;
          let esc = 0;
          for (;;) {
            if (p >= n) throw new DataError(file, qLine, s - qLineStart, `expected a closing '"' for the quoted field opened here, found end of file`);
            const c = text.charCodeAt(p);
            if (c === QUOTE) {
              if (p + 1 < n && text.charCodeAt(p + 1) === QUOTE) { esc = 1; p += 2; continue; }
              break;
            }
            if (c === LF) { line++; lineStart = p + 1; }
            p++;
          }
          push(s, p, esc, qLine, qLineStart);
          fcol[nf - 1] = s - qLineStart; // point at the opening quote
          p++;
          while (p < n && isSpace(text.charCodeAt(p))) p++;
          const c = p < n ? text.charCodeAt(p) : LF;
          if (c === COMMA) { p++; continue; }
          if (c === LF || c === CR) break;
          throw new DataError(file, line, p - lineStart + 1, `expected ',' or end of line after a quoted field, found ${JSON.stringify(text[p])}`);
        }
        const s = p;
        let c = LF;
        while (p < n) { c = text.charCodeAt(p); if (c === COMMA || c === LF || c === CR) break; p++; }
        if (p >= n) c = LF;
        let e = p;
        while (e > s && isSpace(text.charCodeAt(e - 1))) e--;
        push(s, e, 0, line, lineStart);
        if (c === COMMA) { p++; continue; }
        break;
      }
    }
    rowEndCol = p - lineStart + 1;
    pos = p < n ? endLine(p) : n;
    if (p >= n) { line++; lineStart = n; }
  };
  const blankRow = (): boolean => nf === 0 || (nf === 1 && fe[0] === fs[0] && fq[0] === 0);
  const fieldText = (j: number): string => {
    const s = text.slice(fs[j], fe[j]);
    return fq[j] === 1 ? s.replace(/""/g, '"') : s;
  };
  /** Next non-blank row, or false at end of file. */
  const nextRow = (mode: Mode): boolean => {
    while (pos < n) {
      scanRow(mode);
      if (!blankRow()) return true;
    }
    return false;
  };

  // ---- format and first row -------------------------------------------------------------------------
  const firstLine = firstNonBlankLine(text);
  let mode: Mode;
  if (format === 'csv') mode = 'csv';
  else if (format === 'movielens') mode = firstLine.includes('::') ? 'dcolon' : firstLine.includes('\t') ? 'tab' : 'ws';
  else mode = firstLine.includes('\t') ? 'tab' : 'ws';
  const allowExtra = format === 'movielens';

  if (!nextRow(mode)) throw new DataError(file, undefined, undefined, `empty file; expected rows of (${colList})`);

  // header detection: the first row is a header if it names a declared column, or if a value
  // column's field is not a number and no field of the row is one (a data row with one bad number
  // is reported as such, not skipped as a header)
  const valueCols = cols.map((c, j) => (c.type.kind === 'float' || c.type.kind === 'int' ? j : -1)).filter((j) => j >= 0);
  let header: boolean;
  if (opts.header === true || opts.header === false) header = opts.header;
  else {
    const declared = new Set(cols.map((c) => c.name.toLowerCase()));
    const namesOne = Array.from({ length: nf }, (_, j) => fieldText(j).toLowerCase()).some((f) => declared.has(f));
    const isNum = (j: number): boolean => !Number.isNaN(parseNumber(text, fs[j], fe[j]));
    const nonNumeric = valueCols.some((j) => j < nf && !isNum(j)) && !Array.from({ length: nf }, (_, j) => j).some(isNum);
    header = namesOne || nonNumeric;
  }

  // field j → declared column colOf[j] (−1: ignored)
  let expectedFields = ncols;
  let colOf = Int32Array.from({ length: ncols }, (_, j) => j);
  if (header) {
    const names = Array.from({ length: nf }, (_, j) => fieldText(j));
    const lower = names.map((s) => s.toLowerCase());
    const byName = cols.map((c) => lower.indexOf(c.name.toLowerCase()));
    if (byName.every((j) => j >= 0)) {
      colOf = new Int32Array(nf).fill(-1);
      byName.forEach((j, c) => { colOf[j] = c; });
      expectedFields = nf;
    } else if (byName.some((j) => j >= 0)) {
      // some names match and some do not: reading by position could put a column in another's place
      const missing = cols.filter((_, c) => byName[c] < 0).map((c) => `'${c.name}'`).join(', ');
      throw new DataError(file, fline[0], 1, `expected a header naming every declared column (${colList}), found (${names.join(', ')}); missing ${missing}; rename the header fields or the declared columns so that all match (columns are then read by name), or remove the header`);
    } else if (nf !== ncols && !(allowExtra && nf > ncols)) {
      const missing = cols.filter((_, c) => byName[c] < 0).map((c) => `'${c.name}'`).join(', ');
      throw new DataError(file, fline[0], 1, `expected a header naming columns (${colList}) or ${ncols} columns by position, found (${names.join(', ')}); missing ${missing}`);
    }
    if (!nextRow(mode)) throw new DataError(file, undefined, undefined, `no data rows after the header line; expected rows of (${colList})`);
  }

  // ---- output columns, sized by a newline count (an upper bound on rows) --------------------------
  let capRows = 1;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) capRows++;
  const idArr: (Int32Array | undefined)[] = cols.map((c) => (idDomainOf(info.name, c) !== undefined ? new Int32Array(capRows) : undefined));
  const valArr: (Float64Array | undefined)[] = cols.map((c) => (c.type.kind === 'float' || c.type.kind === 'int' ? new Float64Array(capRows) : undefined));
  const domainKeys = cols.map((c) => idDomainOf(info.name, c));
  const maps = domainKeys.map((d) => (d === undefined ? undefined : ids.get(d)));
  const isInt = cols.map((c) => c.type.kind === 'int');
  // last interned field per column: runs of the same id (files grouped by user) skip the map lookup
  const lastText: string[] = cols.map(() => '');
  const lastId = new Int32Array(ncols).fill(-1);
  // numTable[c][v] = 1 + dense id of the external id String(v), 0 if not yet seen
  const numTable: Int32Array[] = cols.map(() => new Int32Array(0));

  let r = 0;
  do {
    if (nf !== expectedFields && !(allowExtra && nf > expectedFields)) {
      if (nf < expectedFields) throw new DataError(file, rowLine, rowEndCol, `expected ${expectedFields} columns (${colList}), found ${nf}`);
      throw new DataError(file, fline[expectedFields], fcol[expectedFields], `expected ${expectedFields} columns (${colList}), found ${nf}`);
    }
    let keep = true;
    for (let j = 0; j < expectedFields; j++) {
      const c = colOf[j];
      if (c < 0) continue;
      const va = valArr[c];
      if (va !== undefined) {
        const v = fq[j] === 1 ? parseNumber(fieldText(j), 0, fieldText(j).length) : parseNumber(text, fs[j], fe[j]);
        if (Number.isNaN(v)) throw new DataError(file, fline[j], fcol[j], `expected ${isInt[c] ? 'an integer' : 'a number'} in column '${cols[c].name}', found ${JSON.stringify(fieldText(j))}`);
        if (!Number.isFinite(v)) throw new DataError(file, fline[j], fcol[j], outOfRange(cols[c].name, fieldText(j)));
        if (isInt[c] && !Number.isInteger(v)) throw new DataError(file, fline[j], fcol[j], `expected an integer in column '${cols[c].name}', found ${JSON.stringify(fieldText(j))}`);
        va[r] = v;
        continue;
      }
      const ia = idArr[c];
      const m = maps[c];
      if (ia === undefined || m === undefined) continue;
      const s = fs[j], len = fe[j] - s;
      // numeric ids (digits, no leading zero): dense id via a lookup table, no string or map work
      const num = fq[j] === 0 ? canonicalUint(text, s, fe[j]) : -1;
      if (num >= 0 && num < numTable[c].length && numTable[c][num] > 0) {
        ia[r] = numTable[c][num] - 1;
        continue;
      }
      const prev = lastText[c];
      if (lastId[c] >= 0 && fq[j] === 0 && prev.length === len && text.startsWith(prev, s)) {
        ia[r] = lastId[c];
        continue;
      }
      const key = fieldText(j);
      if (key.length === 0) throw new DataError(file, fline[j], fcol[j], `expected an id in column '${cols[c].name}', found an empty field`);
      let d: number | undefined;
      if (unknown === 'add') d = m.intern(key);
      else {
        d = m.get(key);
        if (d === undefined && unknown === 'error') throw new DataError(file, fline[j], fcol[j], `expected a known ${m.domain} id in column '${cols[c].name}', found ${JSON.stringify(key)} (not in the id map)`);
      }
      if (d === undefined) { keep = false; continue; }
      ia[r] = d;
      lastText[c] = key;
      lastId[c] = d;
      if (num >= 0 && num < NUM_TABLE_MAX) {
        if (num >= numTable[c].length) {
          const grown = new Int32Array(Math.min(NUM_TABLE_MAX, Math.max(2 * numTable[c].length, num + 1)));
          grown.set(numTable[c]);
          numTable[c] = grown;
        }
        numTable[c][num] = d + 1;
      }
    }
    if (keep) r++;
  } while (nextRow(mode));

  const idsOut = new Map<string, Int32Array>();
  const domainsOut = new Map<string, string>();
  const valuesOut = new Map<string, Float64Array>();
  cols.forEach((c, j) => {
    const ia = idArr[j], va = valArr[j], d = domainKeys[j];
    if (ia !== undefined && d !== undefined) { idsOut.set(c.name, ia.slice(0, r)); domainsOut.set(c.name, d); }
    if (va !== undefined) valuesOut.set(c.name, va.slice(0, r));
  });
  return { name: info.name, size: r, columns: cols, ids: idsOut, idDomains: domainsOut, values: valuesOut, source: file };
}

/**
 * Read a file as UTF-8, turning "not found" and "is a folder" into DataErrors with a hint. Bytes that
 * are not UTF-8 are an error at their line:col: decoding them to U+FFFD would merge distinct ids.
 */
export function readText(file: string, path: string, hint: string | undefined): string {
  const abs = resolve(path);
  const extra = hint === undefined ? '' : `; ${hint}`;
  let isDir = false;
  try {
    isDir = statSync(abs).isDirectory();
  } catch {
    throw new DataError(file, undefined, undefined, `file not found (looked for ${abs}); check the path in the 'data ... from' declaration${extra}`);
  }
  if (isDir) throw new DataError(file, undefined, undefined, `expected a data file, found a folder (${abs})${extra}`);
  return decodeUtf8(readFileSync(abs), file);
}

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** `bytes` as UTF-8 text, or a DataError at the first byte that is not part of a valid UTF-8 sequence. */
export function decodeUtf8(bytes: Uint8Array, file: string): string {
  try {
    return UTF8.decode(bytes);
  } catch {
    const bad = firstInvalidUtf8(bytes);
    let lineStart = 0, line = 1;
    for (let i = 0; i < bad; i++) {
      const b = bytes[i]!;
      if (b === LF || (b === CR && bytes[i + 1] !== LF)) { line++; lineStart = i + 1; }
    }
    const col = [...new TextDecoder('utf-8').decode(bytes.subarray(lineStart, bad))].length + 1;
    const hex = Array.from(bytes.subarray(bad, Math.min(bad + 4, bytes.length)), (b) => b.toString(16).padStart(2, '0')).join(' ');
    throw new DataError(file, line, col, `expected UTF-8 text, found the byte${bad + 1 < bytes.length ? 's' : ''} ${hex}, which are not valid UTF-8; save the file as UTF-8 (e.g. \`iconv -f latin1 -t utf-8\`)`);
  }
}

/** Offset of the first byte of `b` that does not start or continue a well-formed UTF-8 sequence (RFC 3629). */
function firstInvalidUtf8(b: Uint8Array): number {
  const n = b.length;
  for (let i = 0; i < n; ) {
    const c = b[i]!;
    if (c < 0x80) { i++; continue; }
    let len: number, lo = 0x80, hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) len = 2;
    else if (c >= 0xe0 && c <= 0xef) { len = 3; if (c === 0xe0) lo = 0xa0; if (c === 0xed) hi = 0x9f; }
    else if (c >= 0xf0 && c <= 0xf4) { len = 4; if (c === 0xf0) lo = 0x90; if (c === 0xf4) hi = 0x8f; }
    else return i;
    for (let k = 1; k < len; k++) {
      const d = b[i + k];
      if (d === undefined || d < (k === 1 ? lo : 0x80) || d > (k === 1 ? hi : 0xbf)) return i;
    }
    i += len;
  }
  return n;
}

/**
 * A file body as the scanners read it: without a UTF-8 byte order mark, and with every lone CR (old
 * Mac line ends) read as LF, so CR, LF and CRLF files number their lines alike. Offsets are unchanged.
 */
export function normalizeText(body: string): string {
  const text = body.charCodeAt(0) === 0xfeff ? body.slice(1) : body;
  return text.includes('\r') ? text.replace(/\r(?!\n)/g, '\n') : text;
}

/** The message for a number that float64 rounds to ±Infinity. */
export function outOfRange(column: string, text: string): string {
  return `expected a finite number in column '${column}', found ${JSON.stringify(text)}, which is beyond the float64 range (±1.8e308)`;
}

/** Ids as integers up to this bound use a lookup table (4 bytes per possible value). */
const NUM_TABLE_MAX = 1 << 22;

/** text[s, e) as an integer if it is the canonical decimal form of one (digits, no leading 0), else −1. */
function canonicalUint(text: string, s: number, e: number): number {
  const len = e - s;
  if (len === 0 || len > 7 || (len > 1 && text.charCodeAt(s) === 48)) return -1;
  let v = 0;
  for (let p = s; p < e; p++) {
    const c = text.charCodeAt(p) - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

/** The first line with a non-whitespace character (separator detection looks only at it). */
function firstNonBlankLine(text: string): string {
  let s = 0;
  while (s < text.length) {
    const i = text.indexOf('\n', s);
    const e = i < 0 ? text.length : i;
    const l = text.slice(s, e);
    if (l.trim() !== '') return l;
    s = e + 1;
  }
  return '';
}

const POW10 = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16];
const NUMBER_RE = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/**
 * Parse text[s, e) as a decimal number, or NaN if it is not one (no hex, no "Infinity", no "").
 * Fast path: ≤ 15 significant digits and no exponent → mantissa / 10^frac, where both operands are
 * exact doubles, so the single division is correctly rounded and equals Number(slice).
 */
export function parseNumber(text: string, s: number, e: number): number {
  let p = s;
  let neg = false;
  if (p < e) {
    const c = text.charCodeAt(p);
    if (c === 45) { neg = true; p++; } else if (c === 43) p++;
  }
  let mant = 0, digits = 0, frac = 0, seenDot = false, sawDigit = false;
  for (; p < e; p++) {
    const c = text.charCodeAt(p);
    if (c >= 48 && c <= 57) {
      mant = mant * 10 + (c - 48);
      sawDigit = true;
      if (mant !== 0) digits++;
      if (seenDot) frac++;
    } else if (c === 46 && !seenDot) seenDot = true;
    else break;
  }
  if (p === e && sawDigit && digits <= 15 && frac <= 16) {
    const v = frac === 0 ? mant : mant / POW10[frac];
    return neg ? -v : v;
  }
  const slice = text.slice(s, e);
  return NUMBER_RE.test(slice) ? Number(slice) : NaN;
}

/** The id column `col` of `rel`; throws if it is not one (a caller bug: the checker saw the columns). */
export function idColumn(rel: Relation, col: string): Int32Array {
  const a = rel.ids.get(col);
  if (a === undefined) throw new Error(`relation '${rel.name}' has no id column '${col}' (id columns: ${[...rel.ids.keys()].join(', ')})`);
  return a;
}

/** The float/int column `col` of `rel`. */
export function valueColumn(rel: Relation, col: string): Float64Array {
  const a = rel.values.get(col);
  if (a === undefined) throw new Error(`relation '${rel.name}' has no value column '${col}' (value columns: ${[...rel.values.keys()].join(', ')})`);
  return a;
}

/**
 * The tuples `rows` of `rel`, in the given order, as a new relation (columns copied). Its columns
 * are shared memory: a training relation's batches are gathered by a worker thread on 2+ threads
 * (runtime/train/batch-prefetch.ts), which then reads them where they are instead of a copy.
 */
export function selectRows(rel: Relation, rows: Int32Array, name: string = rel.name): Relation {
  const m = rows.length;
  const ids = new Map<string, Int32Array>();
  const values = new Map<string, Float64Array>();
  for (const [c, a] of rel.ids) {
    const b = new Int32Array(new SharedArrayBuffer(4 * m));
    for (let t = 0; t < m; t++) b[t] = a[rows[t]];
    ids.set(c, b);
  }
  for (const [c, a] of rel.values) {
    const b = new Float64Array(new SharedArrayBuffer(8 * m));
    for (let t = 0; t < m; t++) b[t] = a[rows[t]];
    values.set(c, b);
  }
  return { name, size: m, columns: rel.columns, ids, idDomains: rel.idDomains, values, source: rel.source };
}

/** A derived relation: the tuples t of `rel` with predicate(t) true, in their original order. */
export function filterRelation(rel: Relation, predicate: (t: number) => boolean, name: string = rel.name): Relation {
  const keep = new Int32Array(rel.size);
  let m = 0;
  for (let t = 0; t < rel.size; t++) if (predicate(t)) keep[m++] = t;
  return selectRows(rel, keep.subarray(0, m), name);
}

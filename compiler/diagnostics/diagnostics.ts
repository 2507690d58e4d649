// Diagnostics: what every stage reports about user input instead of throwing.
// A diagnostic has a stable code (catalogued in messages.ts), a primary span with a caret label,
// notes pointing at related spans, and at most one help line. Rendering is pure (rustc layout).
import { lineCol, lineText, type SourceFile, type Span } from './source.ts';

export interface Note {
  readonly message: string;
  readonly span?: Span;
}

export interface Diagnostic {
  readonly code: string;
  readonly severity: 'error' | 'warning';
  /** lowercase, no final period, stands alone */
  readonly message: string;
  readonly span: Span;
  readonly label?: string;
  readonly notes?: readonly Note[];
  readonly help?: string;
}

/** A bug in recc itself (never caused by user input). */
export class InternalError extends Error {
  override readonly name = 'InternalError';
}

export function hasErrors(ds: readonly Diagnostic[]): boolean {
  return ds.some((d) => d.severity === 'error');
}

export type SourceLookup = (file: string) => SourceFile | undefined;

/**
 * error[RC0302]: `U` is indexed by `user`, but `i` ranges over `item`
 *   --> examples/mf.recmodel:7:46
 *    |
 *  7 | loss fit = mean((u, i, r) in ratings: (r - U[i] . V[i])^2)
 *    |                                              ^ expected an index over `user`
 *    |
 *    = note: `U` is declared at 3:3 as U[user, k]
 *    = help: did you mean `U[u]`?
 *
 * A span over several lines shows each of them (at most MAX_LINES, the middle elided as `...`), with
 * carets from the start to the end of the first line and the extent under the last one (rustc keeps
 * the first line's carets too, and draws the rest as a bracket; plain text is easier to read in
 * goldens and terminals without box-drawing):
 *  3 | loss fit = mean((u, i, r) in ratings:
 *    |            ^^^^^^^^^^^^^^^^^^^^^^^^^^ this is a row of `d`
 *  4 |   U[u] + V[i])
 *    |   ------------ ...to 4:14 (lines 3–4)
 */
export function renderDiagnostic(d: Diagnostic, lookup: SourceLookup): string {
  const out: string[] = [`${d.severity}[${d.code}]: ${d.message}`];
  const src = lookup(d.span.file);
  if (!src) {
    out.push(`  --> ${d.span.file}`);
  } else {
    const start = lineCol(src, d.span.start);
    const end = lineCol(src, Math.max(d.span.start, d.span.end - 1));
    const gutter = String(end.line).length;
    const pad = ' '.repeat(gutter);
    const num = (n: number): string => String(n).padStart(gutter);
    out.push(`${pad}--> ${d.span.file}:${start.line}:${start.col}`);
    out.push(`${pad} |`);
    const text = lineText(src, start.line);
    out.push(`${num(start.line)} | ${text}`.trimEnd());
    const lastCol = end.line === start.line ? end.col : Math.max(start.col, text.length);
    const width = Math.max(1, lastCol - start.col + 1);
    const caret = ' '.repeat(start.col - 1) + '^'.repeat(width);
    out.push(`${pad} | ${caret}${d.label ? ' ' + d.label : ''}`.trimEnd());
    if (end.line > start.line) {
      const rest: number[] = [];
      for (let l = start.line + 1; l <= end.line; l++) rest.push(l);
      const shown = rest.length > MAX_LINES ? [...rest.slice(0, MAX_LINES - 2), -1, rest[rest.length - 1]!] : rest;
      for (const l of shown) out.push(l < 0 ? `${pad} | ...` : `${num(l)} | ${lineText(src, l)}`.trimEnd());
      const last = lineText(src, end.line);
      const indent = last.length - last.trimStart().length;
      const under = ' '.repeat(indent) + '-'.repeat(Math.max(1, end.col - indent));
      out.push(`${pad} | ${under} ...to ${end.line}:${end.col} (lines ${start.line}–${end.line})`);
    }
    out.push(`${pad} |`);
    for (const n of d.notes ?? []) out.push(`${pad} = note: ${noteText(n, d.span.file, lookup)}`);
    if (d.help) out.push(`${pad} = help: ${d.help}`);
    return out.join('\n');
  }
  for (const n of d.notes ?? []) out.push(`   = note: ${noteText(n, d.span.file, lookup)}`);
  if (d.help) out.push(`   = help: ${d.help}`);
  return out.join('\n');
}

/** Lines of a multi-line span shown after the first (the middle of longer spans is elided). */
const MAX_LINES = 4;

/** `{at}` becomes `line:col`, or `file:line:col` when the note points into another file. */
function noteText(n: Note, file: string, lookup: SourceLookup): string {
  if (!n.span) return n.message;
  const src = lookup(n.span.file);
  if (!src) return n.message.replace(' at {at}', '').replace('{at}', n.span.file);
  const lc = lineCol(src, n.span.start);
  return n.message.replace('{at}', `${n.span.file === file ? '' : n.span.file + ':'}${lc.line}:${lc.col}`);
}

export function renderDiagnostics(ds: readonly Diagnostic[], lookup: SourceLookup): string {
  const errors = ds.filter((d) => d.severity === 'error').length;
  const warnings = ds.length - errors;
  const body = ds.map((d) => renderDiagnostic(d, lookup)).join('\n\n');
  const tail: string[] = [];
  if (errors) tail.push(`${errors} error${errors === 1 ? '' : 's'}`);
  if (warnings) tail.push(`${warnings} warning${warnings === 1 ? '' : 's'}`);
  return tail.length ? `${body}\n\n${tail.join(', ')} reported` : body;
}

/** Levenshtein distance, for "did you mean" suggestions. */
export function editDistance(a: string, b: string): number {
  const prev = new Array<number>(b.length + 1);
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]!;
      prev[j] = Math.min(up + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length]!;
}

/** Up to `max` candidates within a distance proportional to the name's length, nearest first. */
export function suggest(name: string, candidates: Iterable<string>, max = 4): string[] {
  const limit = Math.max(1, Math.floor(name.length / 3) + 1);
  return [...new Set(candidates)]
    .map((c) => ({ c, d: editDistance(name.toLowerCase(), c.toLowerCase()) }))
    .filter((x) => x.d <= limit && x.c !== name)
    .sort((x, y) => x.d - y.d || x.c.localeCompare(y.c))
    .slice(0, max)
    .map((x) => x.c);
}

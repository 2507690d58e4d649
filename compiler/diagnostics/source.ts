// Source files and spans. A span is a half-open [start, end) range of UTF-16 offsets into one file;
// line and column (both 1-based) are computed on demand so every stage can carry cheap spans.

export interface Span {
  readonly file: string;
  readonly start: number;
  readonly end: number;
}

export interface SourceFile {
  readonly path: string;
  readonly text: string;
  readonly lineStarts: readonly number[];
}

export function sourceFile(path: string, text: string): SourceFile {
  const lineStarts = [0];
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) lineStarts.push(i + 1);
  return { path, text, lineStarts };
}

export interface LineCol {
  readonly line: number;
  readonly col: number;
}

export function lineCol(src: SourceFile, offset: number): LineCol {
  let lo = 0;
  let hi = src.lineStarts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (src.lineStarts[mid]! <= offset) lo = mid;
    else hi = mid - 1;
  }
  return { line: lo + 1, col: offset - src.lineStarts[lo]! + 1 };
}

export function lineText(src: SourceFile, line: number): string {
  const start = src.lineStarts[line - 1] ?? src.text.length;
  const next = src.lineStarts[line];
  const end = next === undefined ? src.text.length : next - 1;
  return src.text.slice(start, end).replace(/\r$/, '');
}

export function span(file: string, start: number, end: number): Span {
  return { file, start, end };
}

export function joinSpans(a: Span, b: Span): Span {
  return { file: a.file, start: Math.min(a.start, b.start), end: Math.max(a.end, b.end) };
}

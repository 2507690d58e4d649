// Tables of experiment results: summary statistics over folds or trials, CSV (RFC 4180 quoting) and a
// Markdown table for the terminal. Plain functions over rows of named cells.

/** A cell: a number (printed with `digits` significant places in Markdown, exactly in CSV) or text. */
export type Cell = number | string | null | undefined;
export type Row = Readonly<Record<string, Cell>>;

export interface Summary {
  readonly mean: number;
  /** population standard deviation (numpy.std's default, what Cornac's CVResult prints) */
  readonly std: number;
  readonly min: number;
  readonly max: number;
  readonly n: number;
}

/** mean, std, min, max of the finite values; NaNs everywhere when there are none. */
export function summarize(values: readonly number[]): Summary {
  const xs = values.filter(Number.isFinite);
  const n = xs.length;
  if (n === 0) return { mean: NaN, std: NaN, min: NaN, max: NaN, n };
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  const std = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / n);
  return { mean, std, min: Math.min(...xs), max: Math.max(...xs), n };
}

const csvCell = (c: Cell): string => {
  if (c === null || c === undefined) return '';
  const s = typeof c === 'number' ? (Number.isFinite(c) ? String(c) : '') : c;
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
};

/** CSV with a header line of `columns`. */
export function toCsv(columns: readonly string[], rows: readonly Row[]): string {
  return [columns.map(csvCell).join(','), ...rows.map((r) => columns.map((c) => csvCell(r[c])).join(','))].join('\n') + '\n';
}

const mdCell = (c: Cell, digits: number): string => {
  if (c === null || c === undefined) return '';
  if (typeof c === 'number') return Number.isFinite(c) ? (Number.isInteger(c) ? String(c) : c.toPrecision(digits)) : String(c);
  return c.replaceAll('|', '\\|');
};

/** A Markdown table (GitHub's), numbers right-aligned, columns padded so it also reads as text. */
export function toMarkdown(columns: readonly string[], rows: readonly Row[], digits = 5): string {
  const cells = rows.map((r) => columns.map((c) => mdCell(r[c], digits)));
  const numeric = columns.map((c) => rows.some((r) => typeof r[c] === 'number'));
  const widths = columns.map((c, j) => Math.max(3, c.length, ...cells.map((r) => r[j]!.length)));
  const line = (xs: readonly string[]): string => `| ${xs.map((x, j) => (numeric[j] ? x.padStart(widths[j]!) : x.padEnd(widths[j]!))).join(' | ')} |`;
  const rule = `|${widths.map((w, j) => (numeric[j] ? `${'-'.repeat(w + 1)}:` : ` ${'-'.repeat(w)} `)).join('|')}|`;
  return [line(columns), rule, ...cells.map(line)].join('\n') + '\n';
}

// item-file: item titles from any delimited item file — CSV (with "quoted, fields"), TSV, or
// pipe-separated like MovieLens's u.item — with the id and title columns named by header or given
// by 1-based position. The delimiter is the first of | \t , that the first line holds. Text is
// UTF-8, or Latin-1 when it is not valid UTF-8 (u.item is Latin-1).
import { existsSync, readFileSync } from 'node:fs';
import { RecommendError } from './serving-model.ts';

export interface ItemFileOptions {
  /** a header name, or a 1-based column number; default 1 */
  readonly idCol?: string;
  /** a header name, or a 1-based column number; default 2 */
  readonly titleCol?: string;
}

/** Fields of one line split at `sep`; a field may be "quoted" with "" for a quote. */
export function splitFields(line: string, sep: string): string[] {
  const out: string[] = [];
  let p = 0;
  for (;;) {
    if (line[p] === '"') {
      let s = '';
      p++;
      for (;;) {
        const q = line.indexOf('"', p);
        if (q < 0) {
          s += line.slice(p);
          p = line.length;
          break;
        }
        s += line.slice(p, q);
        if (line[q + 1] === '"') {
          s += '"';
          p = q + 2;
        } else {
          p = q + 1;
          break;
        }
      }
      out.push(s);
      const next = line.indexOf(sep, p);
      if (next < 0) return out;
      p = next + sep.length;
    } else {
      const next = line.indexOf(sep, p);
      if (next < 0) {
        out.push(line.slice(p));
        return out;
      }
      out.push(line.slice(p, next));
      p = next + sep.length;
    }
  }
}

function decode(bytes: Uint8Array): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return new TextDecoder('latin1').decode(bytes);
  }
}

/** id → title. Column names select a header row (the first line); numbers read every line. */
export function readItemTitles(path: string, opts: ItemFileOptions = {}): Map<string, string> {
  if (!existsSync(path)) throw new RecommendError(`no such item file: ${path}`);
  const lines = decode(readFileSync(path)).split(/\r?\n/);
  const first = lines.find((l) => l.trim() !== '') ?? '';
  const sep = ['|', '\t', ','].find((c) => first.includes(c));
  if (sep === undefined) throw new RecommendError(`${path}:1:1: expected fields separated by '|', a tab or ',' in the item file`);
  const header = splitFields(first, sep);
  const named = [opts.idCol, opts.titleCol].some((c) => c !== undefined && !/^\d+$/.test(c));
  const column = (c: string | undefined, fallback: number, flag: string): number => {
    if (c === undefined) return fallback;
    if (/^\d+$/.test(c)) {
      const n = Number(c);
      if (n < 1) throw new RecommendError(`${flag} ${c}: columns are numbered from 1`);
      return n - 1;
    }
    const j = header.indexOf(c);
    if (j < 0) throw new RecommendError(`${path}:1: ${flag} ${JSON.stringify(c)} is not a column of the header (${header.map((h) => JSON.stringify(h)).join(', ')})`);
    return j;
  };
  const idj = column(opts.idCol, 0, '--id-col');
  const tj = column(opts.titleCol, 1, '--title-col');
  const titles = new Map<string, string>();
  let started = false;
  lines.forEach((line, n) => {
    if (line.trim() === '') return;
    if (named && !started) {
      started = true;
      return; // the header row
    }
    started = true;
    const f = splitFields(line, sep);
    if (f.length <= Math.max(idj, tj)) throw new RecommendError(`${path}:${n + 1}:1: expected at least ${Math.max(idj, tj) + 1} fields separated by ${JSON.stringify(sep)}, found ${f.length}`);
    titles.set(f[idj]!.trim(), f[tj]!);
  });
  return titles;
}

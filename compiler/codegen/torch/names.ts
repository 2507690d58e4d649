// Python names for everything a generated torch module reads: params, data columns, hypers, id
// columns and sizes, each a fresh identifier built from recc's key (`ratings.rating`, `J~#logq_table`,
// `likes#batch`) with every character outside [A-Za-z0-9_] spelled out, behind a kind prefix (p_, d_,
// h_, i_, n_), so no Python keyword or builtin can be produced and nothing else of the model file
// reaches the code. `pyIdent` is the one gate: it throws on anything that is not such a name.
import { InternalError } from '../../diagnostics/diagnostics.ts';

export type PyKind = 'param' | 'data' | 'hyper' | 'ids' | 'size';

const PREFIX: Record<PyKind, string> = { param: 'p_', data: 'd_', hyper: 'h_', ids: 'i_', size: 'n_' };

/** A generated identifier: a kind prefix, then letters, digits and underscores only. */
const IDENT = /^[pdhin]_[A-Za-z0-9_]+$/;

export function pyIdent(s: string): string {
  if (!IDENT.test(s) || s.length > 200) throw new InternalError(`not a generated Python name: ${JSON.stringify(s)}`);
  return s;
}

/** `ratings.rating` → `ratings__rating`; `~` → `_t_`, `#` → `_h_`, other characters → `_xHH_`. */
function spell(key: string): string {
  let out = '';
  for (const ch of key) {
    if (/[A-Za-z0-9_]/.test(ch)) out += ch;
    else if (ch === '.') out += '__';
    else if (ch === '~') out += '_t_';
    else if (ch === '#') out += '_h_';
    else out += `_x${ch.codePointAt(0)!.toString(16)}_`;
  }
  return out;
}

/** The names of one generated module: recc key → Python name, per kind, unique across kinds. */
export class PyNames {
  private readonly byKey = new Map<string, string>();
  private readonly used = new Set<string>();
  /** every name made, with its kind and recc key (written to spec.json for the loader) */
  readonly entries: { name: string; kind: PyKind; key: string }[] = [];

  name(kind: PyKind, key: string): string {
    const k = `${kind}\u0000${key}`;
    const hit = this.byKey.get(k);
    if (hit) return hit;
    let n = PREFIX[kind] + spell(key);
    for (let j = 2; this.used.has(n); j++) n = `${PREFIX[kind]}${spell(key)}_${j}`;
    pyIdent(n);
    this.used.add(n);
    this.byKey.set(k, n);
    this.entries.push({ name: n, kind, key });
    return n;
  }
}

/** A finite number as a Python float literal. */
export function pyNumber(x: number): string {
  if (!Number.isFinite(x)) throw new InternalError(`non-finite constant ${x} in generated Python`);
  const s = String(x);
  return /^-?\d+$/.test(s) ? `${s}.0` : s;
}

/** Text for a `#` comment: one line, printable ASCII-or-math characters only. */
export function pyComment(s: string): string {
  return s.replace(/[\r\n\u2028\u2029]/g, ' ').replace(/[^\x20-\x7e\u00a0-\u2bff]/g, '?');
}

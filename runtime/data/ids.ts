// Per-domain id maps: external string ids ↔ dense indices 0..n-1, assigned in first-seen order.
// One IdMap per domain, shared by every relation and file over that domain (train and test files
// use the same map, so a user is the same row of U everywhere). Invariant: external(dense(x)) = x
// and dense indices are contiguous. Saved as `ids/<domain>.json`: a JSON array of external ids
// whose position is the dense index, so the saved file alone reconstructs the map.
import { mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';

export class IdMap {
  readonly domain: string;
  private readonly toDense = new Map<string, number>();
  private readonly toExternal: string[] = [];

  constructor(domain: string, externals: readonly string[] = []) {
    this.domain = domain;
    for (const x of externals) {
      if (this.toDense.has(x)) throw new Error(`id map '${domain}': duplicate external id ${JSON.stringify(x)}`);
      this.intern(x);
    }
  }

  /** Number of ids seen so far (= |domain| once all data is loaded). */
  get size(): number {
    return this.toExternal.length;
  }

  /** The dense index of `ext`, assigning the next free index on first sight. */
  intern(ext: string): number {
    const hit = this.toDense.get(ext);
    if (hit !== undefined) return hit;
    const d = this.toExternal.length;
    this.toDense.set(ext, d);
    this.toExternal.push(ext);
    return d;
  }

  /** The dense index of `ext`, or undefined if it has never been seen. */
  get(ext: string): number | undefined {
    return this.toDense.get(ext);
  }

  has(ext: string): boolean {
    return this.toDense.has(ext);
  }

  /** The external id of dense index `d` (throws on out-of-range: a caller bug). */
  external(d: number): string {
    const x = this.toExternal[d];
    if (x === undefined) throw new RangeError(`id map '${this.domain}': no dense index ${d} (size ${this.size})`);
    return x;
  }

  /** External ids by dense index (a copy). */
  externals(): string[] {
    return this.toExternal.slice();
  }

  toJSON(): string[] {
    return this.externals();
  }
}

/** All id maps of a run, keyed by domain name; maps are created on first use. */
export class IdMaps {
  private readonly maps = new Map<string, IdMap>();

  /** The map of `domain`, created empty if absent. */
  get(domain: string): IdMap {
    let m = this.maps.get(domain);
    if (m === undefined) {
      m = new IdMap(domain);
      this.maps.set(domain, m);
    }
    return m;
  }

  has(domain: string): boolean {
    return this.maps.has(domain);
  }

  /** Domain names in creation order. */
  domains(): string[] {
    return [...this.maps.keys()];
  }

  /** Sizes per domain, e.g. { user: 943, item: 1682 }. */
  sizes(): Record<string, number> {
    const out = Object.create(null) as Record<string, number>; // keyed by the model's domain names
    for (const [d, m] of this.maps) out[d] = m.size;
    return out;
  }

  /** Write `<dir>/<domain>.json` for every domain (atomically: temp file then rename). */
  save(dir: string): void {
    mkdirSync(dir, { recursive: true });
    for (const [d, m] of this.maps) {
      const file = join(dir, `${safeFileName(d)}.json`);
      const tmp = `${file}.tmp-${process.pid}`;
      try {
        writeFileSync(tmp, JSON.stringify(m.toJSON()) + '\n');
        renameSync(tmp, file);
      } catch (err) {
        // a full disk is the user's to fix: name the file (the CLI reports errors with a syscall as exit 1)
        const e = err as NodeJS.ErrnoException;
        throw typeof e.syscall === 'string' ? Object.assign(new Error(`cannot write ${file}: ${e.message}`), { code: e.code, syscall: e.syscall }) : err;
      }
    }
  }

  /** Load every `<dir>/<domain>.json` (or just `domains`, if given). */
  static load(dir: string, domains?: readonly string[]): IdMaps {
    const maps = new IdMaps();
    const names = domains ?? (existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.json')).sort().map((f) => f.slice(0, -5)) : []);
    for (const d of names) {
      const file = join(dir, `${safeFileName(d)}.json`);
      const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
      if (!Array.isArray(parsed) || !parsed.every((x): x is string => typeof x === 'string')) {
        throw new Error(`${file}: expected a JSON array of external id strings`);
      }
      maps.maps.set(d, new IdMap(d, parsed));
    }
    return maps;
  }
}

/** Domain names are identifiers (or `relation.column` for string columns); guard anyway. */
function safeFileName(domain: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(domain)) throw new Error(`id map domain ${JSON.stringify(domain)} is not a safe file name`);
  return domain;
}

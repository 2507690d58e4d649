// Spaces, size symbols and the internal names of tensors and relations: the one module that mints
// them. Every index variable ranges over a Space; what a space is (a domain, a dim, a relation's
// tuples, a sparse column's entries, a sample set, a step's touched rows) is its `kind`, never the
// shape of its name. Names such as `clicks~x`, `J~`, `U#rows`, `ratings#total` are made here and
// only here; they serve as map keys and for printing, and no module reads meaning back out of them.
// Internal names contain `~`, `#` or a leading `#`, which the lexer never lets a user identifier hold,
// so a user's relation or column (`pos`, `row`, `total`) can never collide with one.

/** An id column maps to its domain; a value column to 'float' (or 'int'). */
export type Columns = ReadonlyMap<string, string>;

export type Space =
  /** an index domain (`user`): its size comes from the data */
  | { readonly kind: 'domain'; readonly name: string }
  /** a dim (`d`): its size is known at compile time */
  | { readonly kind: 'dim'; readonly name: string; readonly size: number }
  /** the tuples of a relation the model declares; `columns` maps a column to its domain or type */
  | { readonly kind: 'relation'; readonly name: string; readonly columns: Columns }
  /** the non-zeros of sparse column `col` of relation `rel`: tuples (row: rel, feat: domain, val: float) */
  | { readonly kind: 'entries'; readonly name: string; readonly rel: string; readonly col: string; readonly domain: string; readonly columns: Columns }
  /** a sample set `J ~ s(domain) x K` (`variable` J): ids drawn per step, shared by the batch (columns id, logq) */
  | { readonly kind: 'samples'; readonly name: string; readonly variable: string; readonly domain: string; readonly columns: Columns }
  /** the rows of param `param` a step touches (column row: domain), sized per step */
  | { readonly kind: 'touched-rows'; readonly name: string; readonly param: string; readonly domain: string; readonly columns: Columns };

/** A space iterated tuple by tuple, whose tuples carry columns (id columns are gathered). */
export type TupleSpace = Extract<Space, { readonly columns: Columns }>;

export function isTupleSpace(s: Space | undefined): s is TupleSpace {
  return s !== undefined && s.kind !== 'domain' && s.kind !== 'dim';
}

// ---------------------------------------------------------------------------------------------
// Constructors

export const domainSpace = (name: string): Space => ({ kind: 'domain', name });
export const dimSpace = (name: string, size: number): Space => ({ kind: 'dim', name, size });
export const relationSpace = (name: string, columns: Columns): Space => ({ kind: 'relation', name, columns });

/** The columns of an entries relation. */
export const ENTRY_ROW = 'row';
export const ENTRY_FEAT = 'feat';
export const ENTRY_VAL = 'val';

/** The name of the entries relation of sparse column `col` of relation `rel`. */
export function entriesName(rel: string, col: string): string {
  return `${rel}~${col}`;
}

export function entriesSpace(rel: string, col: string, domain: string): Extract<Space, { kind: 'entries' }> {
  const columns = new Map([[ENTRY_ROW, rel], [ENTRY_FEAT, domain], [ENTRY_VAL, 'float']]);
  return { kind: 'entries', name: entriesName(rel, col), rel, col, domain, columns };
}

/** The base of a sample set's name for the variable `J` (lowering makes it unique: `J~`, `J~1`). */
export function sampleSetBase(variable: string): string {
  return `${variable}~`;
}

export const SAMPLE_ID = 'id';
export const SAMPLE_LOGQ = 'logq';

export function sampleSetSpace(name: string, variable: string, domain: string): Extract<Space, { kind: 'samples' }> {
  return { kind: 'samples', name, variable, domain, columns: new Map([[SAMPLE_ID, domain], [SAMPLE_LOGQ, 'float']]) };
}

/** The id column a per-tuple sampler `j ~ …` adds to its relation, for a unique variable name. */
export function sampledColumn(uniqueVariable: string): string {
  return `~${uniqueVariable}`;
}

/** The value column holding the log-probabilities of sampled id column `col` (same relation). */
export function sampledLogqColumn(col: string): string {
  return `${col}#logq`;
}

export const TOUCHED_ROW = 'row';

/** The relation space holding a param's touched rows for one step. */
export function touchedRowsSpace(param: string, domain: string): Extract<Space, { kind: 'touched-rows' }> {
  return { kind: 'touched-rows', name: `${param}#rows`, param, domain, columns: new Map([[TOUCHED_ROW, domain]]) };
}

/** The space of the boxes of a split-K reduction whose partial sums are temp `part` (plan only). */
export function chunkSpace(part: string): string {
  return `#${part}`;
}

// ---------------------------------------------------------------------------------------------
// Size symbols

/**
 * What a `size` node counts. `space`: the size of a space (for a relation, the tuples the current
 * step iterates). `total`: every tuple of a relation (|ratings| as written), or the full size of a
 * domain batched by `batch N users`. `batch`: the tuples of the current mini-batch, B(ratings).
 */
export type SizeSym =
  | { readonly kind: 'space'; readonly space: string }
  | { readonly kind: 'total'; readonly space: string }
  | { readonly kind: 'batch'; readonly space: string };

export const spaceSize = (space: string): SizeSym => ({ kind: 'space', space });
export const totalSize = (space: string): SizeSym => ({ kind: 'total', space });
export const batchSize = (space: string): SizeSym => ({ kind: 'batch', space });

/** The key of a size symbol in a Sizes map. */
export function sizeKey(s: SizeSym): string {
  switch (s.kind) {
    case 'space':
      return s.space;
    case 'total':
      return `${s.space}#total`;
    case 'batch':
      return `${s.space}#batch`;
  }
}

/** The Sizes key of `total`: a relation's tuple count or a batched domain's full size. */
export const totalKey = (space: string): string => sizeKey(totalSize(space));
/** The Sizes key of B(space): the current mini-batch's tuple count. */
export const batchKey = (space: string): string => sizeKey(batchSize(space));

/**
 * How a space reads to a modeller, in the model's own words: a domain, dim or relation by its name,
 * a sparse column's entries as `clicks.x` (its non-zeros), a sample set by its variable `J`, a
 * param's touched rows as `rows(U)`.
 */
export function displayName(s: Space): string {
  switch (s.kind) {
    case 'domain':
    case 'dim':
    case 'relation':
      return s.name;
    case 'entries':
      return columnKey(s.rel, s.col);
    case 'samples':
      return s.variable;
    case 'touched-rows':
      return `rows(${s.param})`;
  }
}

/** How a size symbol reads in the model's own notation: |ratings|, B(ratings), |user|. */
export function printSize(s: SizeSym): string {
  return s.kind === 'batch' ? `B(${s.space})` : `|${s.space}|`;
}

/**
 * The sizes a modeller recognises, in the order of `sizes`: those of spaces (not the total and
 * batch counts, not touched rows, which are internal bookkeeping). Keys no space names (given
 * hints) are kept.
 */
export function publicSizes(spaces: ReadonlyMap<string, Space>, sizes: ReadonlyMap<string, number>): [string, number][] {
  const internal = new Set<string>();
  for (const s of spaces.values()) {
    internal.add(totalKey(s.name));
    internal.add(batchKey(s.name));
    if (s.kind === 'touched-rows') internal.add(s.name);
  }
  return [...sizes].filter(([k]) => !internal.has(k));
}

// ---------------------------------------------------------------------------------------------
// Tensor names

/** The data tensor of value column `col` of tuple space `rel`, and the key of an id column's ids. */
export function columnKey(rel: string, col: string): string {
  return `${rel}.${col}`;
}

/** A sampler's log-probability table over its domain (for `logq(i)` of ids it did not draw). */
export function logqTableName(s: { readonly kind: 'per-tuple'; readonly rel: string; readonly col: string } | { readonly kind: 'set'; readonly space: string }): string {
  return `${s.kind === 'per-tuple' ? columnKey(s.rel, s.col) : s.space}#logq_table`;
}

// ---------------------------------------------------------------------------------------------
// Public names: how internal names read to a modeller (`recc explain`), built from kinds

/** A sampler as the public-name table needs it (ir/module.ts `Sampler`). */
type NamedSampler =
  | { readonly kind: 'per-tuple'; readonly rel: string; readonly col: string; readonly variable?: string }
  | { readonly kind: 'set'; readonly space: string };

/**
 * The public name of every space, column and sampler table of a module, built by walking the spaces
 * and samplers by kind (never by reading a name back): a domain, dim or relation by its name, a
 * relation's column `ratings.rating`, a sparse column's entries `clicks.x` with columns `x.feat`,
 * a sample set `J` with `J.id`, a per-tuple sample by its variable, log-probabilities as `logq(j)`
 * and `logq_table(j)`, touched rows `rows(U)`. Names not in the table (params, hypers, temps) are
 * the model's own and print as they are.
 */
export interface PublicNames {
  /** a space's public name */
  readonly space: (name: string) => string;
  /** a tensor's (param, hyper, data column, sampler table) public name */
  readonly tensor: (name: string) => string;
  /** the space's kind, undefined for a space the module does not declare (a planner's chunks) */
  readonly kind: (name: string) => Space['kind'] | undefined;
}

export function publicNames(spaces: ReadonlyMap<string, Space>, samplers: readonly NamedSampler[] = []): PublicNames {
  const spaceNames = new Map<string, string>();
  const tensorNames = new Map<string, string>();
  for (const s of spaces.values()) {
    const shown = displayName(s);
    spaceNames.set(s.name, shown);
    if (!isTupleSpace(s)) continue;
    // an entries relation's columns read x.row, x.feat, x.val: the sparse column's own name
    const prefix = s.kind === 'entries' ? s.col : shown;
    for (const col of s.columns.keys()) tensorNames.set(columnKey(s.name, col), `${prefix}.${col}`);
  }
  for (const smp of samplers) {
    if (smp.kind === 'per-tuple') {
      const shown = smp.variable ?? 'sample';
      tensorNames.set(columnKey(smp.rel, smp.col), shown);
      tensorNames.set(columnKey(smp.rel, sampledLogqColumn(smp.col)), `logq(${shown})`);
      tensorNames.set(logqTableName(smp), `logq_table(${shown})`);
    } else {
      tensorNames.set(logqTableName(smp), `logq_table(${spaceNames.get(smp.space) ?? smp.space})`);
    }
  }
  return {
    space: (name) => spaceNames.get(name) ?? name,
    tensor: (name) => tensorNames.get(name) ?? name,
    kind: (name) => spaces.get(name)?.kind,
  };
}

// Kernel bodies: the expression emitter shared by the gpu.js kernels (gpujs.ts) and recc's own
// JavaScript kernels (js.ts). `Gen` turns a planned step's IR into JavaScript statements (`const vN =
// …;` per subterm, loops for inner sums and max/min, CSR walks), memoized per scope, with loop-
// invariant subterms hoisted. The dialects differ only in how a CSR walk loops (a constant bound
// and a break for gpu.js; the segment's own bounds in plain JS) and in the index limit (float32 flat
// indices on gpu.js). Security invariant: the emitted code contains only identifiers generated here
// (`p0` args, `v3` values, `i2` indices, `j1` counters, `s4` sums, `w0` scratch), JS keywords,
// `Math.*` and finite numeric literals. User names reach the source only inside header comments,
// sanitized to a harmless character set.
import { InternalError } from '../diagnostics/diagnostics.ts';
import { LIMIT_TEXT, SizeLimitError } from '../ir/limits.ts';
import { assertNever, freeIdx, idxKey, ixKey, type Expr, type ExprOf, type Idx, type Ix } from '../ir/nodes.ts';
import { children, csrKey, csrOf, type Arg, type PlanIdx, type Step } from '../plan/plan.ts';

/** Data-dependent constants baked into a kernel. */
export interface EmitSpec {
  /** per csrKey(rel, col): the longest CSR segment (rounded up to a power of two when baked);
   * defaults to the relation's size */
  readonly maxSeg?: ReadonlyMap<string, number>;
}

/** How the emitted body loops and indexes. */
export interface Dialect {
  /** CSR walks: a constant bound with a break at the segment end (gpu.js), or the segment's bounds */
  readonly csrLoop: 'bounded' | 'native';
  /** flat tensor indices must stay below this (float32 indexing); absent: no limit */
  readonly maxIndex?: number;
  /** that limit in words (default: gpu.js's float32 limit) */
  readonly limitText?: string;
  /** inline sums over one dense index run as UNROLL interleaved partial sums (float64 only) */
  readonly unroll?: boolean;
}

/** Partial sums of an unrolled inline sum (the code below writes the final addition for four). */
const UNROLL = 4;

/** The smallest power of two ≥ n (≥ 1): CSR loop bounds, so mini-batches rarely recompile. */
export function loopBoundFor(n: number): number {
  let b = 1;
  while (b < n) b *= 2;
  return b;
}

/** A float literal: finite numbers only, always with a decimal point or exponent. */
export function flt(n: number): string {
  if (!Number.isFinite(n)) throw new InternalError(`codegen: non-finite literal ${n}`);
  const s = Object.is(n, -0) ? '0' : String(n);
  const f = /[.e]/.test(s) ? s : `${s}.0`;
  return n < 0 ? `(${f})` : f;
}

/** An integer literal (sizes, strides, loop bounds). */
export function int(n: number): string {
  if (!Number.isSafeInteger(n) || n < 0) throw new InternalError(`codegen: bad integer literal ${n}`);
  return String(n);
}

/** A comment line that cannot end early or smuggle code: a whitelist of characters, bounded. */
export function commentText(s: string): string {
  const clean = s.replace(/\u03b4/g, 'delta').replace(/[^A-Za-z0-9_ .,:;()[\]{}+\-*/^|<>=!?&%#@~']/g, '?');
  return clean.length > 300 ? `${clean.slice(0, 297)}...` : clean;
}

export interface Walk {
  readonly rel: string;
  readonly col: string;
  /** the variable holding the CSR position of the tuple */
  readonly pos: string;
  /** the id every tuple of a walk holds in `col` (absent for a CSR-ordered step's thread) */
  readonly key?: string;
}

interface Scope {
  /** index key → generated variable */
  readonly vars: Map<string, string>;
  /** tuple index key → the CSR position it is bound at */
  readonly walks: Map<string, Walk>;
  /** node id / ix key → generated variable or literal, valid while this scope is open */
  readonly memo: Map<string, string>;
}

export class Gen {
  private readonly lines: string[] = [];
  private readonly scopes: Scope[] = [{ vars: new Map(), walks: new Map(), memo: new Map() }];
  readonly orderOf = new Map<string, { rel: string; col: string }>();
  private counter = 0;
  private readonly argOf = new Map<string, string>();
  loopMax = 1;

  constructor(
    private readonly sizes: Readonly<Record<string, number>>,
    args: readonly Arg[],
    private readonly spec: EmitSpec,
    steps: readonly Step[],
    readonly dialect: Dialect,
  ) {
    for (const s of steps) if (s.order) this.orderOf.set(s.name, s.order);
    for (const a of args) {
      const key =
        a.kind === 'tensor'
          ? `tensor:${a.tensorKind}\u0000${a.tensor}`
          : a.kind === 'temp'
            ? `temp:${a.temp}`
            : a.kind === 'ids'
              ? `ids:${a.rel}\u0000${a.col}`
              : a.kind === 'csr-ids'
                ? `cids:${csrKey(a.rel, a.col)}\u0000${a.of}`
                : `${a.kind === 'csr-offsets' ? 'off' : 'perm'}:${csrKey(a.rel, a.col)}`;
      this.argOf.set(key, a.name);
    }
  }

  fresh(prefix: 'v' | 'i' | 'j' | 's' | 'w'): string {
    return `${prefix}${this.counter++}`;
  }

  line(s: string): void {
    this.lines.push(`${'  '.repeat(this.scopes.length)}${s}`);
  }

  body(): string {
    return this.lines.join('\n');
  }

  size(space: string): number {
    const n = Object.hasOwn(this.sizes, space) ? this.sizes[space] : undefined;
    if (n === undefined) throw new InternalError(`codegen: no size for space ${space}`);
    return n;
  }

  arg(key: string): string {
    const a = this.argOf.get(key);
    if (!a) throw new InternalError(`codegen: no kernel argument for ${key}`);
    return a;
  }

  open(header: string): void {
    this.line(`${header} {`);
    this.scopes.push({ vars: new Map(), walks: new Map(), memo: new Map() });
  }

  close(): void {
    this.scopes.pop();
    this.line('}');
  }

  bind(i: Idx, name: string): void {
    this.scopes[this.scopes.length - 1]!.vars.set(idxKey(i), name);
  }

  /** Marks tuple index `t` (bound in the current scope) as sitting at CSR position `w.pos`. */
  bindWalk(t: Idx, w: Walk): void {
    this.scopes[this.scopes.length - 1]!.walks.set(idxKey(t), w);
  }

  /** The walk binding tuple index key `k`, if the scope binding it is a walk. */
  walkOf(k: string): Walk | undefined {
    for (let d = this.scopes.length - 1; d >= 0; d--) {
      const s = this.scopes[d]!;
      if (s.vars.has(k)) return s.walks.get(k);
    }
    return undefined;
  }

  bound(): Set<string> {
    const out = new Set<string>();
    for (const s of this.scopes) for (const k of s.vars.keys()) out.add(k);
    return out;
  }

  varOf(i: Idx): string {
    for (let d = this.scopes.length - 1; d >= 0; d--) {
      const n = this.scopes[d]!.vars.get(idxKey(i));
      if (n) return n;
    }
    throw new InternalError(`codegen: unbound index ${i.name}`);
  }

  /** Memo lookup that stops at a scope rebinding one of the entry's free indices (shadowing). */
  lookup(key: string, free: ReadonlySet<string>): string | undefined {
    for (let d = this.scopes.length - 1; d >= 0; d--) {
      const s = this.scopes[d]!;
      const hit = s.memo.get(key);
      if (hit !== undefined) return hit;
      for (const k of free) if (s.vars.has(k)) return undefined;
    }
    return undefined;
  }

  remember(key: string, value: string): void {
    this.scopes[this.scopes.length - 1]!.memo.set(key, value);
  }

  /** `const vN = code;` */
  let(code: string, prefix: 'v' | 'w' = 'v'): string {
    const n = this.fresh(prefix);
    this.line(`const ${n} = ${code};`);
    return n;
  }

  ix(x: Ix): string {
    if (x.kind === 'var') return this.varOf(x.idx);
    const key = `ix:${ixKey(x)}`;
    const free = new Set([idxKey(x.t)]);
    const hit = this.lookup(key, free);
    if (hit) return hit;
    const w = this.walkOf(idxKey(x.t));
    let n: string;
    if (w && w.rel === x.rel && w.key !== undefined && w.col === x.col) n = w.key;
    else if (w && w.rel === x.rel) n = this.let(`${this.arg(`cids:${csrKey(w.rel, w.col)}\u0000${x.col}`)}[${w.pos}]`);
    else n = this.let(`${this.arg(`ids:${x.rel}\u0000${x.col}`)}[${this.varOf(x.t)}]`);
    this.remember(key, n);
    return n;
  }

  expr(e: Expr): string {
    if (e.op === 'const') return flt(e.value);
    if (e.op === 'size') return flt(this.size(e.space));
    const key = `e:${e.id}`;
    const free = new Set(freeIdx(e).keys());
    const hit = this.lookup(key, free);
    if (hit) return hit;
    const out = this.compute(e);
    this.remember(key, out);
    return out;
  }

  private compute(e: Expr): string {
    switch (e.op) {
      case 'const':
      case 'size':
        return this.expr(e);
      case 'tensor': {
        const a = this.arg(e.kind === 'temp' ? `temp:${e.name}` : `tensor:${e.kind}\u0000${e.name}`);
        const order = e.kind === 'temp' ? this.orderOf.get(e.name) : undefined;
        if (order) {
          // a CSR-ordered temp: read at the walk's position
          const i0 = e.ix[0];
          const w = e.ix.length === 1 && i0?.kind === 'var' ? this.walkOf(idxKey(i0.idx)) : undefined;
          if (!w || w.rel !== order.rel || w.col !== order.col) throw new InternalError(`codegen: CSR-ordered temp ${e.name} read outside its walk`);
          return this.let(`${a}[${w.pos}]`);
        }
        const dims = e.ix.map((x) => this.size(x.kind === 'var' ? x.idx.space : x.domain));
        const terms: string[] = [];
        let stride = 1;
        for (let j = e.ix.length - 1; j >= 0; j--) {
          const c = this.ix(e.ix[j]!);
          terms.unshift(stride === 1 ? c : `${c} * ${int(stride)}`);
          stride *= dims[j]!;
        }
        if (this.dialect.maxIndex !== undefined && stride > this.dialect.maxIndex) {
          throw new SizeLimitError(`tensor ${e.name} has ${stride.toLocaleString('en-US')} cells, beyond ${this.dialect.limitText ?? LIMIT_TEXT}; use --mode js (no such limit), smaller dims or less data`);
        }
        return this.let(`${a}[${terms.length ? terms.join(' + ') : '0'}]`);
      }
      case 'add':
        return this.let(e.args.map((a) => this.expr(a)).join(' + '));
      case 'mul': {
        // a δ that an enclosing CSR walk makes 1 is the literal 1.0: x · 1 = x exactly, so it is dropped
        const fs = e.args.map((a) => this.expr(a)).filter((f) => f !== '1.0');
        return fs.length ? this.let(fs.join(' * ')) : '1.0';
      }
      case 'pow':
        return this.let(powCode(this.expr(e.base), e.exp));
      case 'call':
        return this.call(e.fn, this.expr(e.arg));
      case 'call2':
        return this.let(`Math.${e.fn === 'max' ? 'max' : 'min'}(${this.expr(e.a)}, ${this.expr(e.b)})`);
      case 'cmp': {
        const op = { '<': '<', '<=': '<=', '>': '>', '>=': '>=', '==': '===', '!=': '!==' }[e.cmp];
        return this.let(`(${this.expr(e.a)} ${op} ${this.expr(e.b)} ? 1.0 : 0.0)`);
      }
      case 'select': {
        const c = this.expr(e.cond);
        return this.let(`(${c} !== 0.0 ? ${this.expr(e.a)} : ${this.expr(e.b)})`);
      }
      case 'eq':
        return this.let(`(${this.ix(e.a)} === ${this.ix(e.b)} ? 1.0 : 0.0)`);
      case 'ord':
        return this.ix(e.ix);
      case 'sum':
        return this.sum(e);
      case 'reduce':
        return this.reduce(e);
      default:
        return assertNever(e);
    }
  }

  private call(fn: ExprOf<'call'>['fn'], a: string): string {
    switch (fn) {
      case 'exp':
      case 'log':
      case 'sqrt':
      case 'abs':
      case 'tanh':
        return this.let(`Math.${fn}(${a})`);
      case 'sigmoid': {
        const z = this.let(`Math.exp(-Math.abs(${a}))`, 'w');
        return this.let(`(${a} >= 0.0 ? 1.0 / (1.0 + ${z}) : ${z} / (1.0 + ${z}))`);
      }
      case 'softplus':
        return this.let(`Math.max(${a}, 0.0) + Math.log1p(Math.exp(-Math.abs(${a})))`);
      case 'logsigmoid':
        return this.let(`Math.min(${a}, 0.0) - Math.log1p(Math.exp(-Math.abs(${a})))`);
      case 'relu':
        return this.let(`Math.max(${a}, 0.0)`);
      case 'step':
        return this.let(`(${a} > 0.0 ? 1.0 : 0.0)`);
      case 'sign':
        return this.let(`(${a} > 0.0 ? 1.0 : (${a} < 0.0 ? -1.0 : 0.0))`);
      default:
        return assertNever(fn);
    }
  }

  /**
   * Loop-invariant code motion inside a kernel: evaluates, in the current scope, the maximal
   * subterms of `body` that depend only on indices bound now and not rebound on the way (`avail`).
   */
  prehoist(body: Expr, avail: ReadonlySet<string>): void {
    const seen = new Set<string>();
    const walk = (x: Expr, av: ReadonlySet<string>): void => {
      const key = `${x.id}|${av.size}`;
      if (seen.has(key)) return;
      seen.add(key);
      if (x.op === 'const' || x.op === 'size') return;
      const free = freeIdx(x);
      if ([...free.keys()].every((k) => av.has(k))) {
        // a δ made 1 by an enclosing CSR walk is free: it is in the memo already
        this.expr(x);
        return;
      }
      if (x.op === 'tensor' || x.op === 'eq' || x.op === 'ord') {
        const ixs = x.op === 'tensor' ? x.ix : x.op === 'ord' ? [x.ix] : [x.a, x.b];
        for (const i of ixs) if (i.kind === 'gather' && av.has(idxKey(i.t))) this.ix(i);
        return;
      }
      if (x.op === 'sum' || x.op === 'reduce') {
        const inner = new Set(av);
        for (const i of x.over) inner.delete(idxKey(i));
        walk(x.body, inner);
        return;
      }
      for (const c of children(x)) walk(c, av);
    };
    walk(body, avail);
  }

  /** Bound indices minus `excluded` (indices a loop about to open rebinds). */
  availExcept(excluded: readonly Idx[]): Set<string> {
    const out = this.bound();
    for (const i of excluded) out.delete(idxKey(i));
    return out;
  }

  /** An inline reduction: nested constant-bound loops, the CSR walk first when there is one. */
  sum(e: ExprOf<'sum'>): string {
    const acc = this.fresh('s');
    this.line(`let ${acc} = 0.0;`);
    const c = csrOf(e, this.bound());
    let depth = 0;
    const pending = [...e.over];
    this.prehoist(e.body, this.availExcept(pending));
    if (c) {
      const key = this.ix(c.key);
      const off = this.arg(`off:${csrKey(c.rel, c.col)}`);
      const perm = this.arg(`perm:${csrKey(c.rel, c.col)}`);
      const lo = this.let(`${off}[${key}]`, 'w');
      const hi = this.let(`${off}[${key} + 1]`, 'w');
      let r: string;
      if (this.dialect.csrLoop === 'native') {
        r = this.fresh('j');
        this.open(`for (let ${r} = ${lo}; ${r} < ${hi}; ${r}++)`);
        depth++;
      } else {
        // the walk breaks at the segment end, so any bound ≥ the longest segment is correct; without
        // data (e.g. an artifact printed at compile time) the relation size is one
        const seg = this.spec.maxSeg?.get(csrKey(c.rel, c.col)) ?? this.size(c.rel);
        const bound = loopBoundFor(seg);
        this.loopMax = Math.max(this.loopMax, bound);
        const j = this.fresh('j');
        this.open(`for (let ${j} = 0; ${j} < ${int(bound)}; ${j}++)`);
        depth++;
        r = this.let(`${lo} + ${j}`, 'w');
        this.line(`if (${r} >= ${hi}) { break; }`);
      }
      // the tuple's own index is read only when something is not available in CSR order
      const t = needsTuple(e.body, c.t, c.rel, this.orderOf) ? this.let(`${perm}[${r}]`, 'w') : r;
      this.bind(c.t, t);
      this.bindWalk(c.t, { rel: c.rel, col: c.col, pos: r, key });
      // inside the walk every tuple satisfies the δ
      this.remember(`e:${c.delta.id}`, '1.0');
      pending.splice(pending.findIndex((i) => idxKey(i) === idxKey(c.t)), 1);
      this.prehoist(e.body, this.availExcept(pending));
    }
    if (!c && this.dialect.unroll && pending.length === 1 && this.size(pending[0]!.space) >= 2 * UNROLL) {
      this.unrolledSum(pending[0]!, e.body, acc);
      return acc;
    }
    depth += this.openLoops(pending, e.body);
    this.line(`${acc} += ${this.expr(e.body)};`);
    for (let d = 0; d < depth; d++) this.close();
    return acc;
  }

  /**
   * `acc` (declared, 0) += Σ_i body over one dense index, in UNROLL interleaved partial sums (a float
   * add's latency, not its throughput, bounds a single running sum), then a remainder loop; the
   * partial sums are added in a fixed order, so the result does not depend on anything but the data.
   */
  private unrolledSum(i: Idx, body: Expr, acc: string): void {
    const n = this.size(i.space);
    const main = n - (n % UNROLL);
    const parts = [acc];
    for (let u = 1; u < UNROLL; u++) {
      const p = this.fresh('s');
      this.line(`let ${p} = 0.0;`);
      parts.push(p);
    }
    const iv = this.fresh('i');
    this.open(`for (let ${iv} = 0; ${iv} < ${int(main)}; ${iv} += ${int(UNROLL)})`);
    for (let u = 0; u < UNROLL; u++) {
      this.open('');
      this.bind(i, u === 0 ? iv : this.let(`${iv} + ${int(u)}`, 'w'));
      this.line(`${parts[u]!} += ${this.expr(body)};`);
      this.close();
    }
    this.close();
    if (main < n) {
      const rv = this.fresh('i');
      this.open(`for (let ${rv} = ${int(main)}; ${rv} < ${int(n)}; ${rv}++)`);
      this.bind(i, rv);
      this.line(`${acc} += ${this.expr(body)};`);
      this.close();
    }
    this.line(`${acc} = ${acc} + ${parts[1]!} + (${parts[2]!} + ${parts[3]!});`);
  }

  /** Opens one constant-bound loop per index of `pending` (emptying it), hoisting what `body` needs
   * at each level; returns how many it opened (the caller closes them). */
  openLoops(pending: Idx[], body: Expr): number {
    let opened = 0;
    while (pending.length) {
      const i = pending.shift()!;
      const n = this.size(i.space);
      this.loopMax = Math.max(this.loopMax, n);
      const iv = this.fresh('i');
      this.open(`for (let ${iv} = 0; ${iv} < ${int(n)}; ${iv}++)`);
      opened++;
      this.bind(i, iv);
      if (pending.length) this.prehoist(body, this.availExcept(pending));
    }
    return opened;
  }

  /**
   * An inline max/min: nested constant-bound loops; the first element starts the running extremum
   * (flag `wN`), so an empty space gives 0 as in the interpreter, and no ±∞ literal is needed.
   * argmax/argmin keep the extremum in `wM` and the loop position of the first element beating it.
   */
  reduce(e: ExprOf<'reduce'>): string {
    const acc = this.fresh('s');
    const seen = this.fresh('w');
    const arg = e.fn === 'argmax' || e.fn === 'argmin';
    const best = arg ? this.fresh('w') : '';
    this.line(`let ${acc} = 0.0;`);
    this.line(`let ${seen} = 0.0;`);
    if (arg) this.line(`let ${best} = 0.0;`);
    const pending = [...e.over];
    this.prehoist(e.body, this.availExcept(pending));
    let depth = 0;
    depth += this.openLoops(pending, e.body);
    const x = this.expr(e.body);
    if (arg) {
      this.line(`if (${seen} === 0.0 || ${x} ${e.fn === 'argmax' ? '>' : '<'} ${best}) {`);
      this.line(`  ${best} = ${x};`);
      this.line(`  ${acc} = ${this.varOf(e.over[0]!)};`);
      this.line('}');
    } else this.line(`${acc} = (${seen} === 0.0 ? ${x} : Math.${e.fn === 'max' ? 'max' : 'min'}(${acc}, ${x}));`);
    this.line(`${seen} = 1.0;`);
    for (let d = 0; d < depth; d++) this.close();
    return acc;
  }
}

/**
 * Does `e` read tuple index `t` other than through gathers of `rel` and CSR-ordered temps (which a
 * walk reads at its position)? Then the walk must load the tuple's index from the permutation.
 */
export function needsTuple(e: Expr, t: Idx, rel: string, orderOf: ReadonlyMap<string, { rel: string; col: string }>): boolean {
  const tk = idxKey(t);
  const seen = new Set<number>();
  const go = (x: Expr): boolean => {
    if (seen.has(x.id)) return false;
    seen.add(x.id);
    if (!freeIdx(x).has(tk)) return false;
    if (x.op === 'tensor') {
      const ordered = x.kind === 'temp' && orderOf.has(x.name);
      return x.ix.some((i) => (i.kind === 'var' ? idxKey(i.idx) === tk && !ordered : idxKey(i.t) === tk && i.rel !== rel));
    }
    if (x.op === 'eq') return [x.a, x.b].some((i) => i.kind === 'var' && idxKey(i.idx) === tk);
    if (x.op === 'ord') return x.ix.kind === 'var' ? idxKey(x.ix.idx) === tk : x.ix.rel !== rel;
    return children(x).some(go);
  };
  return go(e);
}

function powCode(b: string, n: number): string {
  if (Number.isInteger(n) && n >= 2 && n <= 4) return new Array<string>(n).fill(b).join(' * ');
  if (Number.isInteger(n) && n <= -1 && n >= -4) return `1.0 / (${new Array<string>(-n).fill(b).join(' * ')})`;
  if (n === 0.5) return `Math.sqrt(${b})`;
  if (n === -0.5) return `1.0 / Math.sqrt(${b})`;
  return `Math.pow(${b}, ${flt(n)})`;
}

export function argLabel(a: Arg): string {
  switch (a.kind) {
    case 'tensor':
      return `${a.tensorKind} ${a.tensor}`;
    case 'temp':
      return `temp ${a.temp}`;
    case 'ids':
      return `ids ${a.rel}.${a.col}`;
    case 'csr-offsets':
      return `csr offsets of ${a.rel} by ${a.col}`;
    case 'csr-perm':
      return `csr permutation of ${a.rel} by ${a.col}`;
    case 'csr-ids':
      return `ids ${a.rel}.${a.of} in the csr order of ${a.rel} by ${a.col}`;
    default:
      return assertNever(a);
  }
}

/** Thread (o…, c) sums box c of the iteration space of `s` (see plan.ts `Split`). */
export function splitSum(g: Gen, s: ExprOf<'sum'>, step: Step, chunkVar: string, row?: SplitRow): string {
  const dims = step.split!.dims;
  // box coordinates of chunk c, row-major over the split dims
  const coords = new Map<number, string>();
  let rest = chunkVar;
  for (let j = dims.length - 1; j >= 0; j--) {
    const d = dims[j]!;
    if (d.chunks === 1) continue;
    const earlier = dims.slice(0, j).some((x) => x.chunks > 1);
    if (!earlier) {
      coords.set(j, rest);
      break;
    }
    const q = g.let(`Math.floor(${rest} / ${int(d.chunks)})`, 'w');
    coords.set(j, g.let(`${rest} - ${q} * ${int(d.chunks)}`, 'w'));
    rest = q;
  }
  const acc = row ? row.acc : g.fresh('s');
  g.line(row ? `${acc}.fill(0.0);` : `let ${acc} = 0.0;`);
  const inner = row?.inner ?? [];
  let depth = 0;
  g.prehoist(s.body, g.availExcept([...s.over, ...inner]));
  s.over.forEach((i, j) => {
    const d = dims[j]!;
    if (d.chunks === 1) {
      g.loopMax = Math.max(g.loopMax, d.idx.size);
      const iv = g.fresh('i');
      g.open(`for (let ${iv} = 0; ${iv} < ${int(d.idx.size)}; ${iv}++)`);
      g.bind(i, iv);
    } else {
      g.loopMax = Math.max(g.loopMax, d.chunk);
      const jv = g.fresh('j');
      g.open(`for (let ${jv} = 0; ${jv} < ${int(d.chunk)}; ${jv}++)`);
      const iv = g.fresh('i');
      g.line(`const ${iv} = ${coords.get(j)!} * ${int(d.chunk)} + ${jv};`);
      if (d.idx.size % d.chunk !== 0) g.line(`if (${iv} >= ${int(d.idx.size)}) { break; }`);
      g.bind(i, iv);
    }
    depth++;
    const later = [...s.over.slice(j + 1), ...inner];
    if (later.length) g.prehoist(s.body, g.availExcept(later));
  });
  // row mode: the free indices innermost, each cell's partial sum in its own float64 slot
  const at: string[] = [];
  inner.forEach((o, j) => {
    const v = g.fresh('i');
    // a symmetric pair (row.upper): the cells (a, b ≥ a) only; the caller mirrors the rest
    const from = row?.upper && j === 1 ? at[0]! : '0';
    g.open(`for (let ${v} = ${from}; ${v} < ${int(o.size)}; ${v}++)`);
    g.bind(o, v);
    at.push(v);
    depth++;
    if (j < inner.length - 1) g.prehoist(s.body, g.availExcept(inner.slice(j + 1)));
  });
  g.line(`${acc}${row ? `[${rowMajor(at, inner.map((o) => o.size))}]` : ''} += ${g.expr(s.body)};`);
  for (let d = 0; d < depth; d++) g.close();
  return acc;
}

/** Row mode of splitSum: the step's free indices loop inside the box, into the float64 array `acc`. */
export interface SplitRow {
  readonly inner: readonly PlanIdx[];
  readonly acc: string;
  /** two inner indices the sum is symmetric in (a Gramian UᵀU): sum the cells b ≥ a only */
  readonly upper?: boolean;
}

/** `v0 * 64 + v1`: the row-major flat position of `vars` in an array of extents `sizes`. */
export function rowMajor(vars: readonly string[], sizes: readonly number[]): string {
  if (vars.length === 0) return '0';
  const terms: string[] = [];
  let stride = 1;
  for (let j = vars.length - 1; j >= 0; j--) {
    terms.unshift(stride === 1 ? vars[j]! : `${vars[j]!} * ${int(stride)}`);
    stride *= sizes[j]!;
  }
  return terms.join(' + ');
}

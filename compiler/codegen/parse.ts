// The js kernel's statement language as data: codegen/js.ts emits a closed subset of JavaScript
// (generated names only: `out`, `p3`, `v7`, `i2`, `j1`, `s4`, `w0`; `const`/`let`, counted `for`
// loops, blocks, `if (…) { break; }`, `+= / =` on locals and array cells, `sN.fill(0.0)`,
// `new Float64Array(n)`, arithmetic, comparisons, `?:`, `Math.*`, finite literals). This parses that
// subset into a small AST for wasm/gen.ts; anything outside it is an Unsupported error, which makes the
// step fall back to its js kernel (counted), never a wrong kernel. wgsl.ts reads the gpu.js kernel
// bodies (gpujs.ts, the same subset) with it too.

export class Unsupported extends Error {}

export type Expr =
  | { readonly k: 'num'; readonly text: string; readonly value: number; readonly float: boolean }
  | { readonly k: 'name'; readonly name: string }
  | { readonly k: 'index'; readonly arr: string; readonly at: Expr }
  | { readonly k: 'bin'; readonly op: string; readonly a: Expr; readonly b: Expr }
  | { readonly k: 'neg'; readonly a: Expr }
  | { readonly k: 'not'; readonly a: Expr }
  | { readonly k: 'cond'; readonly c: Expr; readonly a: Expr; readonly b: Expr }
  | { readonly k: 'math'; readonly fn: string; readonly args: readonly Expr[] };

/**
 * What `a op b` computes in the statement language, for an emitter that keeps indices as integers:
 * a comparison or logic op a bool; integer operands an integer (an index), except a division, and a
 * product of two non-literals (only strides — a literal factor — stay exact as integers); else a float,
 * as in JavaScript. wasm/gen.ts (f64) and wgsl.ts (f32) type their operators by it.
 */
export function binaryKind(op: string, a: Expr, b: Expr, aInt: boolean, bInt: boolean): 'bool' | 'int' | 'float' {
  if (['===', '!==', '<', '<=', '>', '>=', '||', '&&'].includes(op)) return 'bool';
  if (!aInt || !bInt || op === '/') return 'float';
  if (op === '*' && a.k !== 'num' && b.k !== 'num') return 'float';
  return 'int';
}

export type Stmt =
  | { readonly k: 'decl'; readonly name: string; readonly mutable: boolean; readonly init: Expr }
  | { readonly k: 'f64array'; readonly name: string; readonly n: number }
  | { readonly k: 'assign'; readonly name: string; readonly add: boolean; readonly value: Expr }
  | { readonly k: 'store'; readonly arr: string; readonly at: Expr; readonly add: boolean; readonly value: Expr }
  | { readonly k: 'fill'; readonly arr: string }
  | { readonly k: 'for'; readonly v: string; readonly from: Expr; readonly to: Expr; readonly step: number; readonly body: readonly Stmt[] }
  | { readonly k: 'block'; readonly body: readonly Stmt[] }
  | { readonly k: 'if'; readonly c: Expr; readonly body: readonly Stmt[] }
  | { readonly k: 'break' };

const TOKEN = /\s*(?:(\/\/[^\n]*)|([A-Za-z_][A-Za-z0-9_]*)|(\d+(?:\.\d+)?(?:e[+-]?\d+)?)|(===|!==|<=|>=|\+\+|\+=|\|\||&&|[-+*/<>=?:;,.(){}[\]!]))/y;

function tokenize(src: string): string[] {
  const out: string[] = [];
  TOKEN.lastIndex = 0;
  let at = 0;
  while (at < src.length) {
    if (/^\s*$/.test(src.slice(at))) break;
    TOKEN.lastIndex = at;
    const m = TOKEN.exec(src);
    if (!m) throw new Unsupported(`unexpected text at ${at}: ${JSON.stringify(src.slice(at, at + 20))}`);
    at = TOKEN.lastIndex;
    if (m[1] !== undefined) continue;
    out.push(m[2] ?? m[3] ?? m[4]!);
  }
  return out;
}

const MATH = new Set(['exp', 'log', 'log1p', 'sqrt', 'abs', 'tanh', 'max', 'min', 'floor', 'pow']);
/** binary operators by precedence, loosest first */
const LEVELS: readonly (readonly string[])[] = [['||'], ['&&'], ['===', '!=='], ['<', '<=', '>', '>='], ['+', '-'], ['*', '/']];

class Parser {
  private p = 0;
  constructor(private readonly t: readonly string[]) {}

  private peek(o = 0): string | undefined {
    return this.t[this.p + o];
  }

  private next(): string {
    const x = this.t[this.p++];
    if (x === undefined) throw new Unsupported('unexpected end');
    return x;
  }

  private eat(s: string): void {
    const x = this.next();
    if (x !== s) throw new Unsupported(`expected ${s}, got ${x}`);
  }

  private name(): string {
    const x = this.next();
    if (!/^[A-Za-z_]/.test(x)) throw new Unsupported(`expected a name, got ${x}`);
    return x;
  }

  stmts(end: string | undefined): Stmt[] {
    const out: Stmt[] = [];
    while (this.peek() !== end) out.push(this.stmt());
    return out;
  }

  private block(): Stmt[] {
    this.eat('{');
    const b = this.stmts('}');
    this.eat('}');
    return b;
  }

  private stmt(): Stmt {
    const x = this.peek();
    if (x === 'const' || x === 'let') {
      this.next();
      const name = this.name();
      this.eat('=');
      if (this.peek() === 'new') {
        this.next();
        this.eat('Float64Array');
        this.eat('(');
        const n = this.next();
        if (!/^\d+$/.test(n)) throw new Unsupported('Float64Array size');
        this.eat(')');
        this.eat(';');
        return { k: 'f64array', name, n: Number(n) };
      }
      const init = this.expr();
      this.eat(';');
      return { k: 'decl', name, mutable: x === 'let', init };
    }
    if (x === 'for') {
      this.next();
      this.eat('(');
      this.eat('let');
      const v = this.name();
      this.eat('=');
      const from = this.expr();
      this.eat(';');
      if (this.name() !== v) throw new Unsupported('for condition');
      this.eat('<');
      const to = this.expr();
      this.eat(';');
      if (this.name() !== v) throw new Unsupported('for update');
      let step = 1;
      if (this.peek() === '++') this.next();
      else {
        this.eat('+=');
        const n = this.next();
        if (!/^\d+$/.test(n)) throw new Unsupported('for step');
        step = Number(n);
      }
      this.eat(')');
      return { k: 'for', v, from, to, step, body: this.block() };
    }
    if (x === '{') return { k: 'block', body: this.block() };
    if (x === 'if') {
      this.next();
      this.eat('(');
      const c = this.expr();
      this.eat(')');
      return { k: 'if', c, body: this.block() };
    }
    if (x === 'break') {
      this.next();
      this.eat(';');
      return { k: 'break' };
    }
    const name = this.name();
    if (this.peek() === '.') {
      this.next();
      this.eat('fill');
      this.eat('(');
      const z = this.next();
      if (z !== '0.0') throw new Unsupported('fill value');
      this.eat(')');
      this.eat(';');
      return { k: 'fill', arr: name };
    }
    if (this.peek() === '[') {
      this.next();
      const at = this.expr();
      this.eat(']');
      const op = this.next();
      if (op !== '=' && op !== '+=') throw new Unsupported(`store ${op}`);
      const value = this.expr();
      this.eat(';');
      return { k: 'store', arr: name, at, add: op === '+=', value };
    }
    const op = this.next();
    if (op !== '=' && op !== '+=') throw new Unsupported(`assign ${op}`);
    const value = this.expr();
    this.eat(';');
    return { k: 'assign', name, add: op === '+=', value };
  }

  expr(): Expr {
    const c = this.binary(0);
    if (this.peek() !== '?') return c;
    this.next();
    const a = this.expr();
    this.eat(':');
    const b = this.expr();
    return { k: 'cond', c, a, b };
  }

  private binary(level: number): Expr {
    if (level === LEVELS.length) return this.unary();
    let a = this.binary(level + 1);
    while (LEVELS[level]!.includes(this.peek() ?? '')) {
      const op = this.next();
      a = { k: 'bin', op, a, b: this.binary(level + 1) };
    }
    return a;
  }

  private unary(): Expr {
    if (this.peek() === '-') {
      this.next();
      return { k: 'neg', a: this.unary() };
    }
    if (this.peek() === '!') {
      this.next();
      return { k: 'not', a: this.unary() };
    }
    return this.primary();
  }

  private primary(): Expr {
    const x = this.next();
    if (x === '(') {
      const e = this.expr();
      this.eat(')');
      return e;
    }
    if (/^\d/.test(x)) {
      const value = Number(x);
      if (!Number.isFinite(value)) throw new Unsupported(`literal ${x}`);
      return { k: 'num', text: x, value, float: /[.e]/.test(x) };
    }
    if (x === 'Math') {
      this.eat('.');
      const fn = this.name();
      if (!MATH.has(fn)) throw new Unsupported(`Math.${fn}`);
      this.eat('(');
      const args: Expr[] = [this.expr()];
      while (this.peek() === ',') {
        this.next();
        args.push(this.expr());
      }
      this.eat(')');
      return { k: 'math', fn, args };
    }
    if (!/^[A-Za-z_]/.test(x) || x === 'new' || x === 'const' || x === 'let') throw new Unsupported(`unexpected ${x}`);
    if (this.peek() === '[') {
      this.next();
      const at = this.expr();
      this.eat(']');
      return { k: 'index', arr: x, at };
    }
    return { k: 'name', name: x };
  }
}

/** The statements of a js kernel body (codegen/js.ts's `source`). */
export function parseKernel(source: string): Stmt[] {
  const p = new Parser(tokenize(source));
  return p.stmts(undefined);
}

// The fast path of parse.ts: a hand-written lexer and recursive-descent parser for well-formed files.
// It accepts a subset of what grammar/parser.ts + cst-to-ast.ts accept and builds the very same AST
// (every node, span and key), without Chevrotain's token objects, CST and error recovery, which cost
// most of `recc check`'s time on a large file. Anything else — a character the lexer does not know,
// a syntax error, a construct cst-to-ast.ts reports (RC01xx), nesting deep enough to overflow the
// stack — gives undefined, and parse.ts runs the Chevrotain path, which owns every syntax diagnostic.
// Each rule below mirrors one of grammar/parser.ts and the cst-to-ast.ts method that converts it;
// test/fast-parse.test.ts checks both directions on examples, fixtures and thousands of mutants.
import type * as A from './ast.ts';
import { binaryOp, isAggregate, NOT_OPERAND, COMPARISON, PRECEDENCE, rangeBinding, unquote } from './cst-to-ast.ts';
import { joinSpans, span, type SourceFile, type Span } from '../diagnostics/source.ts';

// Token kinds. Hard keywords are reserved; soft keywords are also names (Chevrotain's Identifier
// category), like grammar/tokens.ts.
const EOF = 0;
const IDENT = 1;
const NUMBER = 2;
const STRING = 3;
// declaration keywords (each starts a declaration; parse.ts cuts the file at them)
const MODEL = 10, IMPORT = 11, INDEX = 12, DATA = 13, SPLIT = 14, DIM = 15, CONST = 16, PARAM = 17, DEF = 18, LOSS = 19, REG = 20, TRAIN = 21, EVALUATE = 22;
const AND = 23, OR = 24, NOT = 25, IN = 26;
// soft keywords: 30 … 47
const FROM = 30, FORMAT = 31, WHERE = 32, HOLDOUT = 33, LEAVE_ONE_OUT = 34, KFOLD = 35, FOLD = 36, FILES = 37, SEED = 38, BY = 39, PER = 40;
const OPTIMIZER = 41, SCHEDULE = 42, EPOCHS = 43, STEPS = 44, BATCH = 45, METRICS = 46, EVERY = 47;
const LESS_EQ = 50, GREATER_EQ = 51, EQ_EQ = 52, NOT_EQ = 53, LESS = 54, GREATER = 55, EQUALS = 56, PLUS = 57, MINUS = 58, STAR = 59, SLASH = 60;
const CARET = 61, DOT = 62, LPAREN = 63, RPAREN = 64, LBRACKET = 65, RBRACKET = 66, LBRACE = 67, RBRACE = 68, COMMA = 69, COLON = 70;
const TILDE = 71, QUESTION = 72, PIPE = 73, AT = 74;

const KEYWORDS: ReadonlyMap<string, number> = new Map([
  ['model', MODEL], ['import', IMPORT], ['index', INDEX], ['data', DATA], ['split', SPLIT], ['dim', DIM], ['const', CONST], ['param', PARAM],
  ['def', DEF], ['loss', LOSS], ['reg', REG], ['train', TRAIN], ['evaluate', EVALUATE], ['and', AND], ['or', OR], ['not', NOT], ['in', IN],
  ['from', FROM], ['format', FORMAT], ['where', WHERE], ['holdout', HOLDOUT], ['leave_one_out', LEAVE_ONE_OUT], ['kfold', KFOLD], ['fold', FOLD],
  ['files', FILES], ['seed', SEED], ['by', BY], ['per', PER], ['optimizer', OPTIMIZER], ['schedule', SCHEDULE], ['epochs', EPOCHS], ['steps', STEPS],
  ['batch', BATCH], ['metrics', METRICS], ['every', EVERY],
]);

/** The name of each kind's token type in grammar/tokens.ts (for the tests). */
export const TOKEN_NAMES: Readonly<Record<number, string>> = {
  [IDENT]: 'Identifier', [NUMBER]: 'NumberLit', [STRING]: 'StringLit',
  [MODEL]: 'Model', [IMPORT]: 'Import', [INDEX]: 'Index', [DATA]: 'Data', [SPLIT]: 'Split', [DIM]: 'Dim', [CONST]: 'Const', [PARAM]: 'Param',
  [DEF]: 'Def', [LOSS]: 'Loss', [REG]: 'Reg', [TRAIN]: 'Train', [EVALUATE]: 'Evaluate', [AND]: 'And', [OR]: 'Or', [NOT]: 'Not', [IN]: 'In',
  [FROM]: 'From', [FORMAT]: 'Format', [WHERE]: 'Where', [HOLDOUT]: 'Holdout', [LEAVE_ONE_OUT]: 'LeaveOneOut', [KFOLD]: 'KFold', [FOLD]: 'Fold',
  [FILES]: 'Files', [SEED]: 'Seed', [BY]: 'By', [PER]: 'Per', [OPTIMIZER]: 'Optimizer', [SCHEDULE]: 'Schedule', [EPOCHS]: 'Epochs', [STEPS]: 'Steps',
  [BATCH]: 'Batch', [METRICS]: 'Metrics', [EVERY]: 'Every',
  [LESS_EQ]: 'LessEq', [GREATER_EQ]: 'GreaterEq', [EQ_EQ]: 'EqEq', [NOT_EQ]: 'NotEq', [LESS]: 'Less', [GREATER]: 'Greater', [EQUALS]: 'Equals',
  [PLUS]: 'Plus', [MINUS]: 'Minus', [STAR]: 'Star', [SLASH]: 'Slash', [CARET]: 'Caret', [DOT]: 'Dot', [LPAREN]: 'LParen', [RPAREN]: 'RParen',
  [LBRACKET]: 'LBracket', [RBRACKET]: 'RBracket', [LBRACE]: 'LBrace', [RBRACE]: 'RBrace', [COMMA]: 'Comma', [COLON]: 'Colon', [TILDE]: 'Tilde',
  [QUESTION]: 'Question', [PIPE]: 'Pipe', [AT]: 'At',
};

const isDeclKeyword = (k: number): boolean => k >= MODEL && k <= EVALUATE;
/** CONSUME(T.Identifier) also takes soft keywords */
const isName = (k: number): boolean => k === IDENT || (k >= FROM && k <= EVERY);
const isComparison = (k: number): boolean => k >= LESS_EQ && k <= GREATER;
const isBinaryOp = (k: number): boolean => k === AND || k === OR || (k >= LESS_EQ && k <= DOT && k !== EQUALS && k !== CARET);

/** Why the fast path gave up; never escapes `fastParse`. */
const GIVE_UP = new Error('fast-parse: not a well-formed file');

/** The tokens of `text` (kind, start, end offsets), or undefined where grammar/tokens.ts's lexer would report an error. */
export function fastTokens(text: string): Tokens | undefined {
  const kind: number[] = [];
  const start: number[] = [];
  const end: number[] = [];
  /** a word's text ('' for other tokens), sliced once */
  const words: string[] = [];
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    // [ \t\r\n]+
    if (c === 32 || c === 9 || c === 13 || c === 10) {
      i++;
      continue;
    }
    // #[^\n]*
    if (c === 35) {
      while (i < n && text.charCodeAt(i) !== 10) i++;
      continue;
    }
    // [A-Za-z_][A-Za-z0-9_]*: a keyword when the whole word is one (keywords have Identifier as longer_alt)
    if ((c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95) {
      const s = i++;
      for (let d = text.charCodeAt(i); (d >= 97 && d <= 122) || (d >= 65 && d <= 90) || (d >= 48 && d <= 57) || d === 95; d = text.charCodeAt(++i));
      const word = text.slice(s, i);
      kind.push(KEYWORDS.get(word) ?? IDENT);
      start.push(s);
      end.push(i);
      words.push(word);
      continue;
    }
    // \d+(?:\.\d+)?(?:[eE][+-]?\d+)?
    if (c >= 48 && c <= 57) {
      const s = i;
      while (isDigit(text.charCodeAt(i))) i++;
      if (text.charCodeAt(i) === 46 && isDigit(text.charCodeAt(i + 1))) {
        i += 2;
        while (isDigit(text.charCodeAt(i))) i++;
      }
      const e = text.charCodeAt(i);
      if (e === 101 || e === 69) {
        const sign = text.charCodeAt(i + 1);
        const first = sign === 43 || sign === 45 ? i + 2 : i + 1;
        if (isDigit(text.charCodeAt(first))) {
          i = first + 1;
          while (isDigit(text.charCodeAt(i))) i++;
        }
      }
      kind.push(NUMBER);
      start.push(s);
      end.push(i);
      words.push('');
      continue;
    }
    // "(?:[^"\\\n]|\\.)*" — an unterminated string is an error (RC0102)
    if (c === 34) {
      const s = i++;
      for (;;) {
        if (i >= n) return undefined;
        const d = text.charCodeAt(i);
        if (d === 34) break;
        if (d === 10) return undefined;
        if (d === 92) {
          // `.` matches anything but a line terminator
          const x = text.charCodeAt(i + 1);
          if (i + 1 >= n || x === 10 || x === 13 || x === 0x2028 || x === 0x2029) return undefined;
          i += 2;
        } else i++;
      }
      kind.push(STRING);
      start.push(s);
      end.push(++i);
      words.push('');
      continue;
    }
    const next = text.charCodeAt(i + 1);
    let k: number;
    let len = 1;
    switch (c) {
      case 60: // <
        [k, len] = next === 61 ? [LESS_EQ, 2] : [LESS, 1];
        break;
      case 62: // >
        [k, len] = next === 61 ? [GREATER_EQ, 2] : [GREATER, 1];
        break;
      case 61: // =
        [k, len] = next === 61 ? [EQ_EQ, 2] : [EQUALS, 1];
        break;
      case 33: // !
        if (next !== 61) return undefined;
        [k, len] = [NOT_EQ, 2];
        break;
      case 43: k = PLUS; break;
      case 45: k = MINUS; break;
      case 42: k = STAR; break;
      case 47: k = SLASH; break;
      case 94: k = CARET; break;
      case 46: k = DOT; break;
      case 40: k = LPAREN; break;
      case 41: k = RPAREN; break;
      case 91: k = LBRACKET; break;
      case 93: k = RBRACKET; break;
      case 123: k = LBRACE; break;
      case 125: k = RBRACE; break;
      case 44: k = COMMA; break;
      case 58: k = COLON; break;
      case 126: k = TILDE; break;
      case 63: k = QUESTION; break;
      case 124: k = PIPE; break;
      case 64: k = AT; break;
      default:
        return undefined;
    }
    kind.push(k);
    start.push(i);
    end.push(i + len);
    words.push('');
    i += len;
  }
  return { kind, start, end, words };
}

interface Tokens {
  readonly kind: number[];
  readonly start: number[];
  readonly end: number[];
  readonly words: string[];
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/**
 * The program of a well-formed file, exactly as parse.ts's Chevrotain path builds it; undefined
 * whenever that path could report anything (then it must run).
 */
export function fastParse(src: SourceFile): A.Program | undefined {
  const toks = fastTokens(src.text);
  if (!toks) return undefined;
  try {
    return new Parser(src.path, src.text, toks).program();
  } catch (e) {
    if (e === GIVE_UP || e instanceof RangeError) return undefined;
    throw e;
  }
}

class Parser {
  private pos = 0;
  /** the index of the next declaration keyword: the current declaration's tokens end there */
  private limit = 0;

  private readonly kind: readonly number[];
  private readonly start: readonly number[];
  private readonly end: readonly number[];
  private readonly words: readonly string[];

  constructor(
    private readonly file: string,
    private readonly text: string,
    toks: Tokens,
  ) {
    this.kind = toks.kind;
    this.start = toks.start;
    this.end = toks.end;
    this.words = toks.words;
  }

  // --- tokens -------------------------------------------------------------------------------------

  private peek(ahead = 0): number {
    const p = this.pos + ahead;
    return p < this.limit ? this.kind[p]! : EOF;
  }
  private expect(k: number): number {
    if (this.peek() !== k) throw GIVE_UP;
    return this.pos++;
  }
  private name(): number {
    if (!isName(this.peek())) throw GIVE_UP;
    return this.pos++;
  }
  private image(t: number): string {
    return this.words[t] || this.text.slice(this.start[t]!, this.end[t]!);
  }
  private tspan(t: number): Span {
    return span(this.file, this.start[t]!, this.end[t]!);
  }
  /** the span of the tokens from `first` to the last one consumed (a CST node's location) */
  private nspan(first: number): Span {
    return span(this.file, this.start[first]!, this.end[this.pos - 1]!);
  }
  private ident(t: number): A.Ident {
    return { kind: 'Ident', name: this.image(t), span: this.tspan(t) };
  }
  private number(t: number): A.NumberLit {
    const image = this.image(t);
    return { kind: 'NumberLit', value: Number(image), text: image, span: this.tspan(t) };
  }

  // --- declarations -------------------------------------------------------------------------------

  program(): A.Program {
    const decls: A.Decl[] = [];
    const n = this.kind.length;
    // tokens before the first declaration keyword are an error (RC0105)
    if (n > 0 && !isDeclKeyword(this.kind[0]!)) throw GIVE_UP;
    while (this.pos < n) {
      let limit = this.pos + 1;
      while (limit < n && !isDeclKeyword(this.kind[limit]!)) limit++;
      this.limit = limit;
      decls.push(this.declaration());
      // the declaration rule must consume its whole chunk
      if (this.pos !== limit) throw GIVE_UP;
    }
    return { kind: 'Program', file: this.file, decls, span: span(this.file, 0, this.text.length) };
  }

  private declaration(): A.Decl {
    const first = this.pos;
    switch (this.peek()) {
      case MODEL: {
        this.pos++;
        const name = this.ident(this.name());
        return { kind: 'ModelDecl', name, span: this.nspan(first) };
      }
      case IMPORT: {
        this.pos++;
        const t = this.expect(STRING);
        return { kind: 'ImportDecl', path: unquote(this.image(t)), pathSpan: this.tspan(t), span: this.nspan(first) };
      }
      case INDEX: {
        this.pos++;
        const names = [this.ident(this.name())];
        while (this.peek() === COMMA) {
          this.pos++;
          names.push(this.ident(this.name()));
        }
        return { kind: 'IndexDecl', names, span: this.nspan(first) };
      }
      case DATA:
        return this.dataDecl();
      case SPLIT:
        return this.splitDecl();
      case DIM: {
        this.pos++;
        const items: { name: A.Ident; value: A.NumberLit; span: Span }[] = [];
        do {
          if (items.length) this.pos++;
          const at = this.pos;
          const name = this.ident(this.name());
          this.expect(EQUALS);
          const value = this.number(this.expect(NUMBER));
          items.push({ name, value, span: this.nspan(at) });
        } while (this.peek() === COMMA);
        return { kind: 'DimDecl', items, span: this.nspan(first) };
      }
      case CONST: {
        this.pos++;
        const items: { name: A.Ident; value: A.Expr; span: Span }[] = [];
        do {
          if (items.length) this.pos++;
          const at = this.pos;
          const name = this.ident(this.name());
          this.expect(EQUALS);
          const value = this.expression();
          items.push({ name, value, span: this.nspan(at) });
        } while (this.peek() === COMMA);
        return { kind: 'ConstDecl', items, span: this.nspan(first) };
      }
      case PARAM:
        return this.paramDecl();
      case DEF: {
        this.pos++;
        const name = this.ident(this.name());
        this.expect(LPAREN);
        const params: A.DefParam[] = [];
        if (isName(this.peek())) {
          do {
            if (params.length) this.pos++;
            const at = this.pos;
            const pname = this.ident(this.name());
            let type: A.Ident | undefined;
            if (this.peek() === COLON) {
              this.pos++;
              type = this.ident(this.name());
            }
            params.push(type ? { name: pname, type, span: this.nspan(at) } : { name: pname, span: this.nspan(at) });
          } while (this.peek() === COMMA);
        }
        this.expect(RPAREN);
        this.expect(EQUALS);
        const body = this.expression();
        return { kind: 'DefDecl', name, params, body, span: this.nspan(first) };
      }
      case LOSS:
      case REG: {
        const role = this.kind[this.pos++] === LOSS ? 'loss' : 'reg';
        const name = this.ident(this.name());
        this.expect(EQUALS);
        const body = this.expression();
        return { kind: 'TermDecl', role, name, body, span: this.nspan(first) };
      }
      case TRAIN:
        return this.trainBlock();
      case EVALUATE:
        return this.evaluateBlock();
      default:
        throw GIVE_UP;
    }
  }

  private dataDecl(): A.DataDecl | A.DerivedDataDecl {
    const first = this.pos++;
    const name = this.ident(this.name());
    if (this.peek() === EQUALS) {
      this.pos++;
      const base = this.ident(this.name());
      this.expect(WHERE);
      const where = this.expression();
      return { kind: 'DerivedDataDecl', name, base, where, span: this.nspan(first) };
    }
    this.expect(LPAREN);
    const columns: A.Column[] = [];
    if (isName(this.peek())) {
      do {
        if (columns.length) this.pos++;
        columns.push(this.column());
      } while (this.peek() === COMMA);
    }
    this.expect(RPAREN);
    this.expect(FROM);
    const path = this.expect(STRING);
    this.expect(FORMAT);
    const format = this.ident(this.name());
    return { kind: 'DataDecl', name, columns, path: unquote(this.image(path)), pathSpan: this.tspan(path), format, span: this.nspan(first) };
  }

  private column(): A.Column {
    const at = this.pos;
    const name = this.ident(this.name());
    this.expect(COLON);
    const t = this.name();
    const image = this.image(t);
    if (isName(this.peek())) {
      // `x: sparse feature`; any other word before the domain is RC0109
      const dom = this.pos++;
      if (image !== 'sparse') throw GIVE_UP;
      return { name, type: { kind: 'SparseType', domain: this.ident(dom), span: joinSpans(this.tspan(t), this.tspan(dom)) }, span: this.nspan(at) };
    }
    if (image === 'float' || image === 'int' || image === 'string') return { name, type: { kind: 'ScalarType', name: image, span: this.tspan(t) }, span: this.nspan(at) };
    return { name, type: { kind: 'DomainType', domain: this.ident(t), span: this.tspan(t) }, span: this.nspan(at) };
  }

  private splitDecl(): A.SplitDecl {
    const first = this.pos++;
    const relation = this.ident(this.name());
    this.expect(COLON);
    const method = this.splitMethod();
    return { kind: 'SplitDecl', relation, method, span: this.nspan(first) };
  }

  /** `seed N`, `by time`, `per user`, `fold N` options, each at most once (twice is RC0110). */
  private splitOptions(allowed: readonly number[]): Map<number, number> {
    const seen = new Map<number, number>();
    while (allowed.includes(this.peek())) {
      const k = this.kind[this.pos++]!;
      if (seen.has(k)) throw GIVE_UP;
      const value = k === SEED || k === FOLD ? this.expect(NUMBER) : this.name();
      seen.set(k, value);
    }
    const by = seen.get(BY);
    if (by !== undefined && this.image(by) !== 'time') throw GIVE_UP;
    const per = seen.get(PER);
    if (per !== undefined && this.image(per) !== 'user') throw GIVE_UP;
    return seen;
  }

  private splitMethod(): A.SplitMethod {
    const at = this.pos;
    switch (this.peek()) {
      case HOLDOUT: {
        this.pos++;
        const fraction = this.number(this.expect(NUMBER));
        const o = this.splitOptions([SEED, BY, PER]);
        const seed = o.get(SEED);
        return { kind: 'Holdout', fraction, ...(seed !== undefined ? { seed: this.number(seed) } : {}), byTime: o.has(BY), perUser: o.has(PER), span: this.nspan(at) };
      }
      case LEAVE_ONE_OUT: {
        this.pos++;
        const o = this.splitOptions([SEED, BY]);
        const seed = o.get(SEED);
        return { kind: 'LeaveOneOut', byTime: o.has(BY), ...(seed !== undefined ? { seed: this.number(seed) } : {}), span: this.nspan(at) };
      }
      case KFOLD: {
        this.pos++;
        const k = this.number(this.expect(NUMBER));
        const o = this.splitOptions([SEED, FOLD]);
        const fold = o.get(FOLD);
        const seed = o.get(SEED);
        return { kind: 'KFold', k, ...(fold !== undefined ? { fold: this.number(fold) } : {}), ...(seed !== undefined ? { seed: this.number(seed) } : {}), span: this.nspan(at) };
      }
      case FILES: {
        this.pos++;
        const tr = this.expect(STRING);
        this.expect(COMMA);
        const te = this.expect(STRING);
        return { kind: 'Files', train: unquote(this.image(tr)), test: unquote(this.image(te)), trainSpan: this.tspan(tr), testSpan: this.tspan(te), span: this.nspan(at) };
      }
      default:
        throw GIVE_UP;
    }
  }

  private paramDecl(): A.ParamDecl {
    const first = this.pos++;
    const name = this.ident(this.name());
    const shape: A.Ident[] = [];
    if (this.peek() === LBRACKET) {
      this.pos++;
      do {
        if (shape.length) this.pos++;
        shape.push(this.ident(this.name()));
      } while (this.peek() === COMMA);
      this.expect(RBRACKET);
    }
    if (this.peek() === EQUALS) {
      const at = this.pos++;
      const value = this.expression();
      return { kind: 'ParamDecl', name, shape, init: { kind: 'ValueInit', value, span: this.nspan(at) }, span: this.nspan(first) };
    }
    const at = this.expect(TILDE);
    const fn = this.image(this.name());
    this.expect(LPAREN);
    const args = this.callArgs(false).args;
    this.expect(RPAREN);
    const isp = this.nspan(at);
    // `normal(mean, std)` / `uniform(lo, hi)`, by position or by name; anything else is RC0111
    const names: readonly [string, string] | undefined = fn === 'normal' ? ['mean', 'std'] : fn === 'uniform' ? ['lo', 'hi'] : undefined;
    if (!names) throw GIVE_UP;
    const picked: (A.Expr | undefined)[] = [undefined, undefined];
    let positional = 0;
    for (const a of args) {
      const k = a.name ? names.indexOf(a.name.name) : positional++;
      if (k < 0 || k > 1 || picked[k]) throw GIVE_UP;
      picked[k] = a.value;
    }
    const [x, y] = picked;
    if (!x || !y) throw GIVE_UP;
    const init: A.ParamInit = fn === 'normal' ? { kind: 'NormalInit', mean: x, std: y, span: isp } : { kind: 'UniformInit', lo: x, hi: y, span: isp };
    return { kind: 'ParamDecl', name, shape, init, span: this.nspan(first) };
  }

  private trainBlock(): A.TrainBlock {
    const first = this.pos++;
    this.expect(LBRACE);
    const entries: A.TrainEntry[] = [];
    for (;;) {
      const at = this.pos;
      const k = this.peek();
      if (k === OPTIMIZER || k === SCHEDULE) {
        this.pos++;
        const name = this.ident(this.name());
        let args: A.NamedArg[] = [];
        if (this.peek() === LPAREN) {
          this.pos++;
          args = this.callArgs(false).args;
          this.expect(RPAREN);
        }
        entries.push({ kind: k === OPTIMIZER ? 'Optimizer' : 'Schedule', name, args, span: this.nspan(at) });
      } else if (k === EPOCHS || k === STEPS || k === SEED) {
        this.pos++;
        const value = this.number(this.expect(NUMBER));
        entries.push({ kind: k === EPOCHS ? 'Epochs' : k === STEPS ? 'Steps' : 'Seed', value, span: this.nspan(at) });
      } else if (k === BATCH) {
        this.pos++;
        if (this.peek() === NUMBER) {
          const size = this.number(this.pos++);
          // `batch 256 users`: a plain identifier (a soft keyword such as `seed` starts the next entry)
          const unit = this.peek() === IDENT ? this.ident(this.pos++) : undefined;
          entries.push({ kind: 'Batch', size, ...(unit ? { unit } : {}), full: false, span: this.nspan(at) });
        } else {
          const w = this.name();
          if (this.image(w) !== 'full') throw GIVE_UP;
          entries.push({ kind: 'Batch', full: true, span: this.nspan(at) });
        }
      } else break;
    }
    this.expect(RBRACE);
    return { kind: 'TrainBlock', entries, span: this.nspan(first) };
  }

  private evaluateBlock(): A.EvaluateBlock {
    const first = this.pos++;
    this.expect(LBRACE);
    const entries: A.EvaluateEntry[] = [];
    for (;;) {
      const at = this.pos;
      if (this.peek() === METRICS) {
        this.pos++;
        const metrics: A.MetricRef[] = [];
        do {
          if (metrics.length) this.pos++;
          const m = this.pos;
          const name = this.ident(this.name());
          let k: A.NumberLit | undefined;
          if (this.peek() === AT) {
            this.pos++;
            k = this.number(this.expect(NUMBER));
          }
          metrics.push({ name, ...(k ? { k } : {}), span: this.nspan(m) });
        } while (this.peek() === COMMA);
        entries.push({ kind: 'Metrics', metrics, span: this.nspan(at) });
      } else if (this.peek() === EVERY) {
        this.pos++;
        const value = this.number(this.expect(NUMBER));
        const u = this.peek();
        if (u !== EPOCHS && u !== STEPS) throw GIVE_UP;
        this.pos++;
        entries.push({ kind: 'Every', value, unit: u === EPOCHS ? 'epochs' : 'steps', span: this.nspan(at) });
      } else break;
    }
    this.expect(RBRACE);
    return { kind: 'EvaluateBlock', entries, span: this.nspan(first) };
  }

  // --- expressions --------------------------------------------------------------------------------

  /** `operand (op operand)* [? expression : expression]`, folded as cst-to-ast.ts's `expression` does. */
  private expression(): A.Expr {
    const operands: { nots: number; first: number; e: A.Expr }[] = [this.operand()];
    const ops: number[] = [];
    // comparisons do not chain: the loop stops before a second one between two `and`/`or`
    let compared = false;
    for (let k = this.peek(); isBinaryOp(k) && !(compared && isComparison(k)); k = this.peek()) {
      ops.push(this.pos++);
      compared = isComparison(k) || (compared && k !== AND && k !== OR);
      operands.push(this.operand());
    }
    const cond = operands.length === 1 && operands[0]!.nots === 0 ? operands[0]!.e : this.climb(operands, ops);
    if (this.peek() !== QUESTION) return cond;
    this.pos++;
    const then = this.expression();
    this.expect(COLON);
    const els = this.expression();
    return { kind: 'TernaryExpr', cond, then, else: els, span: joinSpans(cond.span, els.span) };
  }

  /** Precedence climbing over the operands and operators, with each operand's `not`s (cst-to-ast.ts `binaryExpr`). */
  private climb(operands: readonly { nots: number; first: number; e: A.Expr }[], ops: readonly number[]): A.Expr {
    let next = 0;
    let notsTaken = 0;
    const climb = (minPrec: number): A.Expr => {
      const o = operands[next]!;
      let left: A.Expr;
      if (notsTaken < o.nots) {
        const not = o.first + notsTaken++;
        const arg = climb(NOT_OPERAND);
        left = { kind: 'UnaryExpr', op: 'not', arg, span: joinSpans(this.tspan(not), arg.span) };
      } else {
        left = o.e;
        next++;
        notsTaken = 0;
      }
      let compared = false;
      for (let op = ops[next - 1]; op !== undefined; op = ops[next - 1]) {
        const image = this.image(op);
        const prec = PRECEDENCE[image]!;
        if (prec < minPrec) break;
        if (prec === COMPARISON && compared) throw GIVE_UP; // RC0104
        const right = climb(prec + 1);
        left = { kind: 'BinaryExpr', op: binaryOp(image), left, right, opSpan: this.tspan(op), span: joinSpans(left.span, right.span) };
        compared = prec === COMPARISON;
      }
      return left;
    };
    return climb(0);
  }

  /**
   * `not`s (only after `and`, `or` or a non-operator), `-`s, a primary and `^ operand`; `e` is the
   * operand without its `not`s, `first` the first `not`'s token.
   */
  private operand(): { nots: number; first: number; e: A.Expr } {
    const first = this.pos;
    let nots = 0;
    while (this.peek() === NOT && notMayStartAfter(this.kind[this.pos - 1]!)) {
      this.pos++;
      nots++;
    }
    const minus = this.pos;
    while (this.peek() === MINUS) this.pos++;
    const minusEnd = this.pos;
    let e = this.primary();
    if (this.peek() === CARET) {
      const caret = this.pos++;
      const exp = this.operand();
      if (exp.nots) throw GIVE_UP; // the gate never lets `not` follow `^`
      e = { kind: 'BinaryExpr', op: '^', left: e, right: exp.e, opSpan: this.tspan(caret), span: joinSpans(e.span, exp.e.span) };
    }
    for (let k = minusEnd - 1; k >= minus; k--) e = { kind: 'UnaryExpr', op: '-', arg: e, span: joinSpans(this.tspan(k), e.span) };
    return { nots, first, e };
  }

  private primary(): A.Expr {
    const k = this.peek();
    if (k === NUMBER) return this.number(this.pos++);
    if (k === STRING) {
      const t = this.pos++;
      return { kind: 'StringLit', value: unquote(this.image(t)), span: this.tspan(t) };
    }
    if (k === PIPE) {
      const at = this.pos++;
      const name = this.ident(this.name());
      this.expect(PIPE);
      return { kind: 'SizeExpr', name, span: this.nspan(at) };
    }
    if (k === LPAREN) return this.parenExpr();
    if (isName(k)) return this.nameExpr();
    throw GIVE_UP;
  }

  private parenExpr(): A.Expr {
    const at = this.pos++;
    const items = [this.expression()];
    while (this.peek() === COMMA) {
      this.pos++;
      items.push(this.expression());
    }
    this.expect(RPAREN);
    if (this.peek() === IN) {
      this.pos++;
      const relation = this.ident(this.name());
      return { kind: 'MemberExpr', tuple: items, relation, span: this.nspan(at) };
    }
    if (items.length > 1) throw GIVE_UP; // RC0106
    return { ...items[0]!, span: this.nspan(at) };
  }

  private nameExpr(): A.Expr {
    const at = this.pos;
    const id = this.ident(this.pos++);
    if (this.peek() === LBRACKET) {
      this.pos++;
      const indices = [this.expression()];
      while (this.peek() === COMMA) {
        this.pos++;
        indices.push(this.expression());
      }
      this.expect(RBRACKET);
      return { kind: 'IndexExpr', target: id, indices, span: this.nspan(at) };
    }
    if (this.peek() !== LPAREN) return { kind: 'IdentExpr', name: id.name, span: this.nspan(at) };
    this.pos++;
    const { args, bindings, body } = this.callArgs(true);
    this.expect(RPAREN);
    const sp = this.nspan(at);
    if (body === undefined) return { kind: 'CallExpr', callee: id, args, span: sp };
    const op = id.name;
    if (!isAggregate(op) || bindings.length === 0) throw GIVE_UP; // RC0108, RC0107
    return { kind: 'AggregateExpr', op, opSpan: id.span, bindings, body, span: sp };
  }

  /** Call items, then an optional `: body` (allowed only where `aggregate`; every item is then a binding). */
  private callArgs(aggregate: boolean): { args: A.NamedArg[]; bindings: A.Binding[]; body: A.Expr | undefined } {
    const items: Item[] = [];
    if (startsCallItem(this.peek(), this.kind[this.pos - 1]!)) {
      do {
        if (items.length) this.pos++;
        items.push(this.callItem());
      } while (this.peek() === COMMA);
    }
    if (this.peek() !== COLON) {
      const args: A.NamedArg[] = [];
      for (const it of items) {
        if (it.range >= 0 || it.sampler) throw GIVE_UP; // a binding needs an aggregation body
        args.push(it.argName >= 0 ? { name: this.ident(it.argName), value: it.value, span: it.span } : { value: it.value, span: it.span });
      }
      return { args, bindings: [], body: undefined };
    }
    if (!aggregate) throw GIVE_UP;
    this.pos++;
    const bindings = items.map((it) => {
      if (it.argName >= 0) throw GIVE_UP;
      return this.binding(it);
    });
    return { args: [], bindings, body: this.expression() };
  }

  /** `[name =] expression [in NAME | ~ sampler(args) [x N]]` */
  private callItem(): Item {
    const at = this.pos;
    let argName = -1;
    if (isName(this.peek()) && this.peek(1) === EQUALS) {
      argName = this.pos;
      this.pos += 2;
    }
    const value = this.expression();
    const k = this.peek();
    if (k === IN) {
      this.pos++;
      const range = this.name();
      return { argName, value, range, sampler: undefined, times: -1, count: -1, span: this.nspan(at) };
    }
    if (k === TILDE) {
      this.pos++;
      const fnTok = this.name();
      const fn = this.ident(fnTok);
      this.expect(LPAREN);
      const inner = this.callArgs(false);
      const close = this.expect(RPAREN);
      const sampler: A.CallExpr = { kind: 'CallExpr', callee: fn, args: inner.args, span: joinSpans(fn.span, this.tspan(close)) };
      let times = -1;
      let count = -1;
      if (isName(this.peek())) {
        times = this.pos++;
        count = this.expect(NUMBER);
      }
      return { argName, value, range: -1, sampler, times, count, span: this.nspan(at) };
    }
    return { argName, value, range: -1, sampler: undefined, times: -1, count: -1, span: this.nspan(at) };
  }

  /** cst-to-ast.ts `binding`: a call item before an aggregation's `:`. */
  private binding(it: Item): A.Binding {
    const value = it.value;
    if (it.range >= 0) {
      const range = this.ident(it.range);
      const b = rangeBinding(value, range, it.span);
      if (!b) throw GIVE_UP;
      return b;
    }
    if (it.sampler) {
      if (value.kind !== 'IdentExpr') throw GIVE_UP;
      const v: A.Ident = { kind: 'Ident', name: value.name, span: value.span };
      if (it.times < 0) return { kind: 'SampleBinding', var: v, sampler: it.sampler, span: it.span };
      if (this.image(it.times) !== 'x') throw GIVE_UP; // RC0109
      return { kind: 'SampleBinding', var: v, sampler: it.sampler, count: this.number(it.count), span: it.span };
    }
    if (value.kind === 'MemberExpr') {
      const vars: A.Ident[] = [];
      for (const v of value.tuple) {
        if (v.kind !== 'IdentExpr') throw GIVE_UP;
        vars.push({ kind: 'Ident', name: v.name, span: v.span });
      }
      return { kind: 'TupleBinding', vars, relation: value.relation, span: it.span };
    }
    throw GIVE_UP;
  }
}

/** A call item before cst-to-ast.ts sorts it into an argument or a binding; -1 for a missing token. */
interface Item {
  readonly argName: number;
  readonly value: A.Expr;
  /** `in NAME` */
  readonly range: number;
  /** `~ sampler(args)`, then `x N` */
  readonly sampler: A.CallExpr | undefined;
  readonly times: number;
  readonly count: number;
  readonly span: Span;
}

/** grammar/parser.ts's gate: `not` may follow `and`, `or` or anything that is not an operator (nor `^`). */
function notMayStartAfter(prev: number): boolean {
  return prev === AND || prev === OR || !(prev === CARET || isBinaryOp(prev));
}

/** Whether a call item (a possibly named expression) can start at a token of kind `k` after `prev`. */
function startsCallItem(k: number, prev: number): boolean {
  return isName(k) || k === NUMBER || k === STRING || k === PIPE || k === LPAREN || k === MINUS || (k === NOT && notMayStartAfter(prev));
}

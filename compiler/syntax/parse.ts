// Parsing entry point: text → AST (stages 0–2) plus RC01xx diagnostics. Never throws on any input.
// One Chevrotain lexer and parser (grammar/), each built once, on first use. The token stream is cut
// into declarations at each declaration keyword and every piece is parsed on its own, so one broken
// declaration yields exactly one error and the rest are still checked. Chevrotain's errors are decoded
// from the JSON payloads of grammar/parser.ts and rewritten in rustc style; a missing token is pointed
// at just after the token before it.
import { EOF, type ILexingError, type IRecognitionException, type IToken, type TokenType } from 'chevrotain';
import type { DeclarationCstNode } from '../../grammar/cst.d.ts';
import { recParser, type ErrorPayload } from '../../grammar/parser.ts';
import * as T from '../../grammar/tokens.ts';
import type { Program } from './ast.ts';
import { cstConverter } from './cst-to-ast.ts';
import type { Diagnostic, Note } from '../diagnostics/diagnostics.ts';
import { lineCol, span, type SourceFile, type Span } from '../diagnostics/source.ts';

export interface ParseResult {
  readonly program: Program | undefined;
  readonly diagnostics: Diagnostic[];
}

const DECL_KEYWORDS: ReadonlySet<TokenType> = new Set(T.declKeywords);
const HARD_KEYWORDS: ReadonlySet<TokenType> = new Set([...T.declKeywords, T.And, T.Or, T.Not, T.In]);
const EXPR_RULES: ReadonlySet<string> = new Set(['expression', 'operand', 'nameExpr', 'parenExpr', 'callItem']);

/** The declaration rule each declaration keyword starts. */
const RULE_OF_KEYWORD: Readonly<Record<string, string>> = {
  Model: 'modelDecl', Import: 'importDecl', Index: 'indexDecl', Data: 'dataDecl', Split: 'splitDecl', Dim: 'dimDecl',
  Const: 'constDecl', Param: 'paramDecl', Def: 'defDecl', Loss: 'termDecl', Reg: 'termDecl', Train: 'trainBlock', Evaluate: 'evaluateBlock', Neighbours: 'neighboursDecl',
};

/** how many characters are lexed at a time (more, up to the end of the line); tests vary it (`pieceChars`) */
const PIECE_CHARS = 16 * 1024;

const DECL_START = 'a declaration starts with `model`, `import`, `index`, `data`, `split`, `dim`, `const`, `param`, `def`, `loss`, `reg`, `train`, `evaluate`, `sweep` or `neighbours`';

/** The shape of each declaration, shown as help under its syntax errors. */
const DECL_HELP: Readonly<Record<string, string>> = {
  modelDecl: 'a model is named with `model NAME`',
  importDecl: 'an import is written `import "std/losses"`',
  indexDecl: 'domains are declared as `index user, item`',
  dataDecl: 'a relation is written `data ratings(user: user, item: item, rating: float) from "u.data" format tsv` or `data likes = ratings where rating >= 4`',
  splitDecl: 'a split is written `split ratings: holdout 0.2 seed 7`, `leave_one_out by time`, `kfold 5` or `files "u1.base", "u1.test"`, optionally followed by `, validate 0.1`',
  dimDecl: 'a dim is written `dim d = 32`; several share a line as `dim d = 32, k = 8`',
  constDecl: 'a const is written `const lambda = 0.1`; several share a line as `const a = 1, b = 2`',
  paramDecl: 'a param is written `param U[user, d] ~ normal(0, 0.1)`, `~ uniform(lo, hi)` or `param mu = 3.5`',
  defDecl: 'a def is written `def score(u: user, i: item) = U[u] . V[i]`',
  termDecl: 'a term is written `loss fit = mean((u, i, r) in ratings: (r - score(u, i))^2)` or `reg l2 = ...`',
  trainBlock: 'train entries are `optimizer adam(lr = 0.01)`, `schedule step(0.5, every = 100)`, `epochs 20`, `steps 2000`, `batch full`, `batch 4096`, `batch 256 users` and `seed 42`',
  neighboursDecl: 'a neighbour table is written `neighbours S[item, item] = cosine(likes, top = 50)`',
  evaluateBlock: 'evaluate entries are `metrics rmse, mae, recall@10`, `every 5 epochs` and `early_stop on ndcg@10 patience 3 min_delta 0.001`',
};

const CHAR_HELP: Readonly<Record<string, string>> = {
  "'": 'strings use double quotes: `"u.data"`',
  ';': 'declarations need no separator; start the next one on a new line',
  '!': 'negation is written `not`; inequality is `!=`',
  '&': 'conjunction is written `and`',
  '%': 'there is no remainder operator',
};

/** Text → AST, or every syntax diagnostic of the text (at most one per declaration). */
export function parse(src: SourceFile, opts: { readonly pieceChars?: number } = {}): ParseResult {
  const pieceChars = opts.pieceChars ?? PIECE_CHARS;
  const file = src.path;
  const text = src.text;
  const lex = T.lexer();
  const diagnostics: Diagnostic[] = [];
  /** at most one diagnostic per declaration: keyed by the declaration's index (-1: before the first) */
  const reported = new Set<number>();
  /**
   * declarations whose syntax error is not reported (the next one's after `param index = 3`); unlike
   * `reported` this never hides a lexing error, which the whole-file lexing of old found first
   */
  const silenced = new Set<number>();
  // Cut the stream into declarations at their keywords; tokens before the first keyword are an error of their own.
  // A parsed declaration's tokens are dropped (its slot emptied) so they die young.
  const chunks: (IToken[] | undefined)[] = [];
  const keywordOffsets: number[] = [];
  let lead: IToken | undefined;
  /** the declaration an offset falls in: the number of keywords at or before it, less one */
  const chunkOf = (offset: number): number => {
    let lo = 0;
    let hi = keywordOffsets.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (keywordOffsets[mid]! <= offset) lo = mid + 1;
      else hi = mid;
    }
    return lo - 1;
  };

  const converter = cstConverter(file, text);
  const parser = recParser();
  const parseChunk = (k: number): void => {
    const chunk = chunks[k]!;
    chunks[k] = undefined;
    const blocked = reported.has(k) || silenced.has(k);
    parser.input = chunk;
    let cst: DeclarationCstNode;
    try {
      // the rule's CST has the shape grammar/cst.d.ts describes (generated from this grammar)
      cst = parser.declaration() as DeclarationCstNode;
    } catch (e) {
      // only a stack overflow on absurdly deep nesting gets here; anything else is a bug
      if (!(e instanceof RangeError)) throw e;
      if (!blocked) diagnostics.push(tooDeep(chunk, file));
      reported.add(k);
      return;
    }
    const err = parser.errors[0];
    if (err) {
      if (!blocked) {
        const d = syntaxDiagnostic(err, chunk, chunks[k + 1]?.[0], src);
        diagnostics.push(d);
        // `param index = 3`: the keyword used as a name also starts a broken declaration; say it once
        if (d.label === 'expected a name' && d.span.start === chunks[k + 1]?.[0]?.startOffset) silenced.add(k + 1);
      }
      reported.add(k);
    } else if (!blocked) {
      try {
        converter.add(cst);
      } catch (e) {
        if (!(e instanceof RangeError)) throw e;
        diagnostics.push(tooDeep(chunk, file));
        reported.add(k);
      }
    }
  };

  // The text is lexed in pieces of whole lines (T.tokenizePiece); after each piece every declaration
  // but the last (which may go on in the next piece) is parsed.
  let parsed = 0;
  for (let start = 0; start < text.length || start === 0; ) {
    const cut = pieceChars >= text.length ? -1 : text.indexOf('\n', start + pieceChars);
    const end = cut < 0 ? text.length : cut + 1;
    const lexed = T.tokenizePiece(lex, text, start, end);
    start = end;
    for (const t of lexed.tokens) {
      if (t.tokenType === T.UnterminatedString) {
        diagnostics.push({
          code: 'RC0102',
          severity: 'error',
          message: 'unterminated string',
          span: span(file, t.startOffset, t.startOffset + t.image.length),
          label: 'this string has no closing `"`',
          help: 'strings end on the line they start; add a `"`',
        });
        reported.add(chunks.length - 1);
        continue;
      }
      if (DECL_KEYWORDS.has(t.tokenType)) {
        keywordOffsets.push(t.startOffset);
        chunks.push([t]);
      } else if (chunks.length) chunks[chunks.length - 1]!.push(t);
      else lead ??= t;
    }
    for (const e of lexed.errors) {
      const k = chunkOf(e.offset);
      if (reported.has(k)) continue;
      reported.add(k);
      diagnostics.push(lexDiagnostic(e, src));
    }
    const done = start >= text.length;
    // a declaration is parsed once the next one has started (its first token is the found token of an error at the end)
    while (parsed < chunks.length - (done ? 0 : 1)) parseChunk(parsed++);
    if (done) break;
  }
  if (lead && !reported.has(-1)) {
    diagnostics.push({
      code: 'RC0105',
      severity: 'error',
      message: `expected a declaration, found ${found(lead)}`,
      span: tokSpan(file, lead),
      label: 'expected a declaration',
      help: DECL_START,
    });
  }

  const ast = converter.finish();
  diagnostics.push(...ast.diagnostics);
  diagnostics.sort((a, b) => a.span.start - b.span.start);
  const failed = diagnostics.some((d) => d.severity === 'error');
  return { program: failed ? undefined : ast.program, diagnostics };
}

function tooDeep(tokens: readonly IToken[], file: string): Diagnostic {
  const t = tokens[0];
  return {
    code: 'RC0112',
    severity: 'error',
    message: 'this declaration is nested too deeply to parse',
    span: t ? tokSpan(file, t) : span(file, 0, 0),
    label: 'in this declaration',
    help: 'split the expression with defs',
  };
}

function tokSpan(file: string, t: IToken): Span {
  return span(file, t.startOffset, t.startOffset + t.image.length);
}

function found(t: IToken | undefined): string {
  if (!t || t.tokenType === EOF) return 'end of file';
  return '`' + t.image + '`';
}

function lexDiagnostic(e: ILexingError, src: SourceFile): Diagnostic {
  const text = src.text.slice(e.offset, e.offset + Math.max(1, e.length));
  const ch = text[0] ?? '';
  const help = CHAR_HELP[ch];
  return {
    code: 'RC0101',
    severity: 'error',
    message: `unexpected character${text.length > 1 ? 's' : ''} \`${text}\``,
    span: span(src.path, e.offset, e.offset + text.length),
    label: 'not part of the language',
    ...(help ? { help } : {}),
  };
}

function decodePayload(message: string): ErrorPayload | undefined {
  try {
    const v: unknown = JSON.parse(message);
    if (typeof v === 'object' && v !== null && 'kind' in v && 'rule' in v) return v as ErrorPayload;
  } catch {
    return undefined;
  }
  return undefined;
}

function listOr(xs: readonly string[]): string {
  if (xs.length <= 1) return xs[0] ?? 'something else';
  return `${xs.slice(0, -1).join(', ')} or ${xs[xs.length - 1]}`;
}

const CLOSERS: Readonly<Record<string, string>> = { '`)`': '(', '`]`': '[', '`}`': '{' };

function syntaxDiagnostic(e: IRecognitionException, chunk: readonly IToken[], next: IToken | undefined, src: SourceFile): Diagnostic {
  const file = src.path;
  const payload = decodePayload(e.message);
  const declRule = RULE_OF_KEYWORD[chunk[0]?.tokenType.name ?? ''];
  const inner = payload?.rule ?? '';
  const atEnd = e.token.tokenType === EOF || Number.isNaN(e.token.startOffset);
  const foundTok = atEnd ? next : e.token;
  const offset = foundTok ? foundTok.startOffset : src.text.length;
  const prev = [...chunk].reverse().find((t) => t.startOffset < offset);
  const expected = payload && payload.kind !== 'notAllInput' ? payload.expected : [];

  // A missing token is shown right after the token before it when the next token is far away.
  const lineOf = (o: number): number => lineCol(src, o).line;
  const afterPrev = prev !== undefined && (foundTok === undefined || lineOf(prev.startOffset) !== lineOf(offset));
  const at: Span = afterPrev
    ? span(file, prev.startOffset + prev.image.length, prev.startOffset + prev.image.length)
    : foundTok
      ? tokSpan(file, foundTok)
      : span(file, src.text.length, src.text.length);

  let code = 'RC0103';
  let what: string;
  if (!payload || payload.kind === 'notAllInput') {
    code = 'RC0105';
    const decl = chunk[0]?.image ?? 'previous';
    if (foundTok && ['Less', 'LessEq', 'Greater', 'GreaterEq', 'EqEq', 'NotEq'].includes(foundTok.tokenType.name))
      return {
        code: 'RC0104',
        severity: 'error',
        message: `comparisons do not chain, found a second \`${foundTok.image}\``,
        span: at,
        label: 'second comparison',
        help: 'write `a < b and b < c`',
      };
    return {
      code,
      severity: 'error',
      message: `unexpected ${found(foundTok)} after the end of the ${decl} declaration`,
      span: at,
      label: 'expected a new declaration',
      help:
        declRule === 'splitDecl' && foundTok?.image === 'validate'
          ? 'a validation part follows the split after a comma: `split ratings: holdout 0.2, validate 0.1`'
          : declRule === 'dimDecl' || declRule === 'constDecl' || declRule === 'indexDecl'
            ? (DECL_HELP[declRule] ?? DECL_START)
            : DECL_START,
    };
  } else if (payload.kind === 'mismatch') {
    what = listOr(expected);
  } else {
    code = 'RC0104';
    what = EXPR_RULES.has(inner) && (expected.length > 3 || inner === 'operand') ? 'an expression' : listOr(expected.length > 6 ? [...expected.slice(0, 6), 'others'] : expected);
  }
  const notes: Note[] = [];
  for (const closer of expected) {
    const opener = CLOSERS[closer];
    if (!opener) continue;
    let depth = 0;
    for (let j = chunk.length - 1; j >= 0; j--) {
      const t = chunk[j]!;
      if (t.startOffset >= offset) continue;
      if (t.image === closer[1]) depth++;
      else if (t.image === opener) {
        if (depth === 0) {
          notes.push({ message: `unclosed \`${opener}\` opened at {at}`, span: tokSpan(file, t) });
          break;
        }
        depth--;
      }
    }
  }
  let help = declRule ? DECL_HELP[declRule] : DECL_START;
  if (foundTok && HARD_KEYWORDS.has(foundTok.tokenType) && what === 'a name')
    help = `\`${foundTok.image}\` is a keyword and cannot be used as a name`;
  return {
    code,
    severity: 'error',
    message: `expected ${what}, found ${found(foundTok)}`,
    span: at,
    label: `expected ${what}`,
    ...(notes.length ? { notes } : {}),
    ...(help ? { help } : {}),
  };
}

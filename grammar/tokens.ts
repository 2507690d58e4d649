// Lexical grammar of .recmodel (stage 0: text → tokens).
// Hard keywords start declarations or are expression operators (`and or not in`); soft keywords
// (`seed`, `by`, `every`, ...) carry the Identifier category, so users may still name things `seed`
// or `time`: CONSUME(Identifier) accepts them, CONSUME(Seed) accepts only the keyword.
// `x` in `J ~ pop(item) x 100`, `full`, `users`, `time`, `user` are plain identifiers checked by image.
import { createToken, Lexer, type ILexingResult, type IToken, type TokenType } from 'chevrotain';

export const WhiteSpace = createToken({ name: 'WhiteSpace', pattern: /[ \t\r\n]+/, group: Lexer.SKIPPED });
export const Comment = createToken({ name: 'Comment', pattern: /#[^\n]*/, group: Lexer.SKIPPED });

export const StringLit = createToken({ name: 'StringLit', pattern: /"(?:[^"\\\n]|\\.)*"/ });
/** A string missing its closing quote; the parser never expects it, parse.ts reports it as RC0102. */
export const UnterminatedString = createToken({ name: 'UnterminatedString', pattern: /"(?:[^"\\\n]|\\.)*/ });
export const NumberLit = createToken({ name: 'NumberLit', pattern: /\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/ });
export const Identifier = createToken({ name: 'Identifier', pattern: /[A-Za-z_][A-Za-z0-9_]*/ });

function hard(name: string, word: string, categories: TokenType[] = []): TokenType {
  return createToken({ name, pattern: new RegExp(word), longer_alt: Identifier, categories });
}
function soft(name: string, word: string): TokenType {
  return createToken({ name, pattern: new RegExp(word), longer_alt: Identifier, categories: [Identifier] });
}

// Declaration keywords (reserved).
export const Model = hard('Model', 'model');
export const Import = hard('Import', 'import');
export const Index = hard('Index', 'index');
export const Data = hard('Data', 'data');
export const Split = hard('Split', 'split');
export const Dim = hard('Dim', 'dim');
export const Const = hard('Const', 'const');
export const Param = hard('Param', 'param');
export const Def = hard('Def', 'def');
export const Loss = hard('Loss', 'loss');
export const Reg = hard('Reg', 'reg');
export const Train = hard('Train', 'train');
export const Evaluate = hard('Evaluate', 'evaluate');
export const Sweep = hard('Sweep', 'sweep');
/** `neighbours S[item, item] = cosine(likes, top = 50)`: an item–item table computed from data (ItemCF) */
export const Neighbours = hard('Neighbours', 'neighbours');
/**
 * Every binary operator (`or and < <= > >= == != + - * / .`): the parser reads an expression as one
 * flat `operand (BinaryOp operand)*` chain and cst-to-ast.ts resolves precedence (a category token,
 * never produced by the lexer itself; `^` binds tighter than unary minus and has its own rule).
 */
export const BinaryOp = createToken({ name: 'BinaryOp', pattern: Lexer.NA });
// Expression keywords (reserved).
export const And = hard('And', 'and', [BinaryOp]);
export const Or = hard('Or', 'or', [BinaryOp]);
export const Not = hard('Not', 'not');
export const In = hard('In', 'in');
// Contextual keywords (still identifiers elsewhere).
export const From = soft('From', 'from');
export const Format = soft('Format', 'format');
export const Where = soft('Where', 'where');
export const Holdout = soft('Holdout', 'holdout');
export const LeaveOneOut = soft('LeaveOneOut', 'leave_one_out');
export const KFold = soft('KFold', 'kfold');
export const Fold = soft('Fold', 'fold');
export const Files = soft('Files', 'files');
export const Seed = soft('Seed', 'seed');
export const By = soft('By', 'by');
export const Per = soft('Per', 'per');
export const Optimizer = soft('Optimizer', 'optimizer');
export const Schedule = soft('Schedule', 'schedule');
export const Epochs = soft('Epochs', 'epochs');
export const Steps = soft('Steps', 'steps');
export const Batch = soft('Batch', 'batch');
export const Metrics = soft('Metrics', 'metrics');
export const Every = soft('Every', 'every');
export const Validate = soft('Validate', 'validate');
export const EarlyStop = soft('EarlyStop', 'early_stop');
export const Patience = soft('Patience', 'patience');
export const MinDelta = soft('MinDelta', 'min_delta');
export const Blocks = soft('Blocks', 'blocks');
export const Solver = soft('Solver', 'solver');
// `sweep { … }` entries (compiler/check/sweep.ts)
export const Search = soft('Search', 'search');
export const Trials = soft('Trials', 'trials');
export const Objective = soft('Objective', 'objective');
export const Folds = soft('Folds', 'folds');

export const LessEq = createToken({ name: 'LessEq', pattern: /<=/, categories: [BinaryOp] });
export const GreaterEq = createToken({ name: 'GreaterEq', pattern: />=/, categories: [BinaryOp] });
export const EqEq = createToken({ name: 'EqEq', pattern: /==/, categories: [BinaryOp] });
export const NotEq = createToken({ name: 'NotEq', pattern: /!=/, categories: [BinaryOp] });
export const Less = createToken({ name: 'Less', pattern: /</, categories: [BinaryOp] });
export const Greater = createToken({ name: 'Greater', pattern: />/, categories: [BinaryOp] });
export const Equals = createToken({ name: 'Equals', pattern: /=/ });
export const Plus = createToken({ name: 'Plus', pattern: /\+/, categories: [BinaryOp] });
export const Minus = createToken({ name: 'Minus', pattern: /-/, categories: [BinaryOp] });
export const Star = createToken({ name: 'Star', pattern: /\*/, categories: [BinaryOp] });
export const Slash = createToken({ name: 'Slash', pattern: /\//, categories: [BinaryOp] });
export const Caret = createToken({ name: 'Caret', pattern: /\^/ });
export const Dot = createToken({ name: 'Dot', pattern: /\./, categories: [BinaryOp] });
export const LParen = createToken({ name: 'LParen', pattern: /\(/ });
export const RParen = createToken({ name: 'RParen', pattern: /\)/ });
export const LBracket = createToken({ name: 'LBracket', pattern: /\[/ });
export const RBracket = createToken({ name: 'RBracket', pattern: /\]/ });
export const LBrace = createToken({ name: 'LBrace', pattern: /\{/ });
export const RBrace = createToken({ name: 'RBrace', pattern: /\}/ });
export const Comma = createToken({ name: 'Comma', pattern: /,/ });
export const Colon = createToken({ name: 'Colon', pattern: /:/ });
export const Tilde = createToken({ name: 'Tilde', pattern: /~/ });
export const Question = createToken({ name: 'Question', pattern: /\?/ });
export const Pipe = createToken({ name: 'Pipe', pattern: /\|/ });
export const At = createToken({ name: 'At', pattern: /@/ });

/** Tokens that begin a declaration: the parser's recovery and parse.ts's one-error-per-declaration rule. */
export const declKeywords: readonly TokenType[] = [Model, Import, Index, Data, Split, Dim, Const, Param, Def, Loss, Reg, Train, Evaluate, Sweep, Neighbours];

export const allTokens: readonly TokenType[] = [
  WhiteSpace,
  Comment,
  StringLit,
  UnterminatedString,
  NumberLit,
  ...declKeywords,
  And,
  Or,
  Not,
  In,
  From,
  Format,
  Where,
  Holdout,
  LeaveOneOut,
  KFold,
  Folds,
  Fold,
  Files,
  Seed,
  By,
  Per,
  Optimizer,
  Schedule,
  Epochs,
  Steps,
  Batch,
  Metrics,
  Every,
  Validate,
  EarlyStop,
  Patience,
  MinDelta,
  Blocks,
  Solver,
  Search,
  Trials,
  Objective,
  Identifier,
  LessEq,
  GreaterEq,
  EqEq,
  NotEq,
  Less,
  Greater,
  Equals,
  Plus,
  Minus,
  Star,
  Slash,
  Caret,
  Dot,
  LParen,
  RParen,
  LBracket,
  RBracket,
  LBrace,
  RBrace,
  Comma,
  Colon,
  Tilde,
  Question,
  Pipe,
  At,
  BinaryOp,
];

let lexerInstance: Lexer | undefined;
/**
 * The lexer, built on first use. Tokens carry start offsets only (`positionTracking: 'onlyOffset'`):
 * spans are offsets, each token is made with its end offset (below), and a
 * diagnostic turns an offset into line:col through its SourceFile's line-start table
 * (compiler/diagnostics/source.ts). On the generated 5,000-line model this lexes in about two thirds
 * of the time of `'full'` tracking (lines and columns per token, in larger token objects). The checks
 * of the token definitions, and that every token is found by its first character, run only with
 * `validate` (test/syntax.test.ts), like the parser's.
 */
export function lexer(options: { readonly validate?: boolean } = {}): Lexer {
  const make = (): Lexer => {
    const lex = new Lexer(allTokens as TokenType[], { positionTracking: 'onlyOffset', ensureOptimizations: options.validate === true, skipValidations: options.validate !== true });
    // Each token is made with its end offset among its first properties. Adding `endOffset` to
    // Chevrotain's four-property token afterwards gave every token a second allocation (an
    // out-of-object property store) and a shape change, a measurable part of the lexer's garbage.
    // `createTokenInstance` is the method the Lexer constructor picks for `'onlyOffset'` (chevrotain
    // 11.2.0, pinned); test/syntax.test.ts checks that tokens carry their end offsets.
    (lex as unknown as { createTokenInstance: (image: string, startOffset: number, tokenTypeIdx: number, tokenType: TokenType) => IToken }).createTokenInstance =
      (image, startOffset, tokenTypeIdx, tokenType): IToken => ({
        image,
        startOffset: pieceStart + startOffset,
        endOffset: pieceStart + startOffset + image.length - 1,
        tokenTypeIdx,
        tokenType,
      });
    return lex;
  };
  if (options.validate) return make();
  return (lexerInstance ??= make());
}

/** where the text being lexed by `tokenizePiece` starts in its file (0 otherwise) */
let pieceStart = 0;

/**
 * Lexes `text.slice(start, end)` with every token's and error's offset in `text`, as if the whole
 * text were lexed. `start` and `end` must be 0, the text's length, or just after a newline: no token
 * spans a newline (strings and comments end at one, and only skipped whitespace contains it), and a
 * run of unexpected characters (one lexing error) stops at one, so pieces cut at line starts lex
 * exactly as the whole does. parse.ts lexes a file piece by piece so that each piece's tokens are
 * parsed and dropped while they are young, instead of all of a large file's tokens living (and being
 * copied by the garbage collector) until the last declaration is parsed.
 */
export function tokenizePiece(lex: Lexer, text: string, start: number, end: number): ILexingResult {
  pieceStart = start;
  try {
    const r = lex.tokenize(start === 0 && end === text.length ? text : text.slice(start, end));
    if (start !== 0) for (const e of r.errors) e.offset += start;
    return r;
  } finally {
    pieceStart = 0;
  }
}

/** How a token type reads in a diagnostic: "`=`", "a name", "`param`". */
export function describeTokenType(t: TokenType): string {
  switch (t.name) {
    case 'Identifier':
      return 'a name';
    case 'NumberLit':
      return 'a number';
    case 'StringLit':
      return 'a string';
    case 'EOF':
      return 'end of file';
    default: {
      const p = t.PATTERN;
      if (p instanceof RegExp) return '`' + p.source.replace(/\\/g, '') + '`';
      return '`' + t.name + '`';
    }
  }
}

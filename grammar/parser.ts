// Concrete syntax of .recmodel (stage 1: tokens → CST). A pure Chevrotain grammar, no actions;
// cst-to-ast.ts turns the CST, typed by the generated grammar/cst.d.ts (`npm run gen:cst`), into the
// AST. Error recovery is off: parse.ts parses each declaration on its own and reports only its first
// error, which Chevrotain records the same way with or without recovery. Error messages are JSON
// payloads (see `ErrorPayload`) decoded by parse.ts, so no raw Chevrotain text reaches users.
// Binding forms inside `sum(...)` are parsed as call items (`expr [in NAME | ~ sampler [x N]]`) and
// sorted into bindings or arguments by cst-to-ast.ts.
import { CstParser, tokenMatcher, type IParserErrorMessageProvider, type IToken, type TokenType } from 'chevrotain';
import * as T from './tokens.ts';

/** What the error-message provider encodes into a Chevrotain error message. */
export type ErrorPayload =
  | { readonly kind: 'mismatch'; readonly expected: readonly string[]; readonly rule: string }
  | { readonly kind: 'noViableAlt'; readonly expected: readonly string[]; readonly rule: string }
  | { readonly kind: 'earlyExit'; readonly expected: readonly string[]; readonly rule: string }
  | { readonly kind: 'notAllInput'; readonly rule: string };

const firstTokens = (paths: readonly (readonly TokenType[])[]): string[] => [
  ...new Set(paths.filter((p) => p.length > 0).map((p) => T.describeTokenType(p[0]!))),
];

const messageProvider: IParserErrorMessageProvider = {
  buildMismatchTokenMessage: ({ expected, ruleName }) =>
    JSON.stringify({ kind: 'mismatch', expected: [T.describeTokenType(expected)], rule: ruleName }),
  buildNotAllInputParsedMessage: ({ ruleName }) => JSON.stringify({ kind: 'notAllInput', rule: ruleName }),
  buildNoViableAltMessage: ({ expectedPathsPerAlt, ruleName }) =>
    JSON.stringify({ kind: 'noViableAlt', expected: firstTokens(expectedPathsPerAlt.flat()), rule: ruleName }),
  buildEarlyExitMessage: ({ expectedIterationPaths, ruleName }) =>
    JSON.stringify({ kind: 'earlyExit', expected: firstTokens(expectedIterationPaths), rule: ruleName }),
};

const isPlainIdentifier = (t: IToken): boolean => t.tokenType === T.Identifier;

const COMPARISONS: ReadonlySet<TokenType> = new Set([T.Less, T.LessEq, T.Greater, T.GreaterEq, T.EqEq, T.NotEq]);

/** `not` cannot follow an operator that binds tighter than it (only `and`/`or` and non-operators). */
const notMayStartAfter = (t: IToken): boolean =>
  t.tokenType === T.And || t.tokenType === T.Or || !(t.tokenType === T.Caret || tokenMatcher(t, T.BinaryOp));

export class RecParser extends CstParser {
  /**
   * Alternatives and separator options built once per parser, not on every rule invocation. Besides
   * the allocation, it matters under tsx: esbuild's keepNames wraps every `{ ALT: () => … }` in a
   * `__name(…)` call (Object.defineProperty), which made parsing 3× slower. Keys are call-site numbers.
   */
  private readonly cached: unknown[] = [];
  private once<X>(site: number, make: () => X): X {
    return (this.cached[site] ??= make()) as X;
  }

  /**
   * `validate: true` runs Chevrotain's grammar checks (ambiguities, left recursion, …) while it
   * analyses the grammar; test/syntax.test.ts builds the parser that way. They find nothing in a
   * grammar that passed them once, so the parser the compiler uses skips them (a third of its build).
   */
  constructor(options: { readonly validate?: boolean } = {}) {
    super(T.allTokens as TokenType[], {
      recoveryEnabled: false,
      skipValidations: options.validate !== true,
      nodeLocationTracking: 'onlyOffset',
      maxLookahead: 3,
      errorMessageProvider: messageProvider,
    });
    this.performSelfAnalysis();
  }

  public program = this.RULE('program', () => {
    this.MANY(() => this.SUBRULE(this.declaration));
  });

  public declaration = this.RULE('declaration', () => {
    this.OR(this.once(0, () => [
      { ALT: () => this.SUBRULE(this.modelDecl) },
      { ALT: () => this.SUBRULE(this.importDecl) },
      { ALT: () => this.SUBRULE(this.indexDecl) },
      { ALT: () => this.SUBRULE(this.dataDecl) },
      { ALT: () => this.SUBRULE(this.splitDecl) },
      { ALT: () => this.SUBRULE(this.dimDecl) },
      { ALT: () => this.SUBRULE(this.constDecl) },
      { ALT: () => this.SUBRULE(this.paramDecl) },
      { ALT: () => this.SUBRULE(this.defDecl) },
      { ALT: () => this.SUBRULE(this.termDecl) },
      { ALT: () => this.SUBRULE(this.trainBlock) },
      { ALT: () => this.SUBRULE(this.evaluateBlock) },
      { ALT: () => this.SUBRULE(this.sweepBlock) },
      { ALT: () => this.SUBRULE(this.neighboursDecl) },
    ]));
  });

  /** `neighbours S[item, item] = cosine(likes, top = 50)` */
  private neighboursDecl = this.RULE('neighboursDecl', () => {
    this.CONSUME(T.Neighbours);
    this.CONSUME(T.Identifier, { LABEL: 'name' });
    this.CONSUME(T.LBracket);
    this.AT_LEAST_ONE_SEP(this.once(44, () => ({ SEP: T.Comma, DEF: () => this.CONSUME2(T.Identifier, { LABEL: 'axis' }) })));
    this.CONSUME(T.RBracket);
    this.CONSUME(T.Equals);
    this.CONSUME3(T.Identifier, { LABEL: 'measure' });
    this.CONSUME(T.LParen);
    this.SUBRULE(this.callArgs);
    this.CONSUME(T.RParen);
  });

  private modelDecl = this.RULE('modelDecl', () => {
    this.CONSUME(T.Model);
    this.CONSUME(T.Identifier);
  });

  private importDecl = this.RULE('importDecl', () => {
    this.CONSUME(T.Import);
    this.CONSUME(T.StringLit);
  });

  private indexDecl = this.RULE('indexDecl', () => {
    this.CONSUME(T.Index);
    this.AT_LEAST_ONE_SEP(this.once(1, () => ({ SEP: T.Comma, DEF: () => this.CONSUME(T.Identifier) })));
  });

  private dataDecl = this.RULE('dataDecl', () => {
    this.CONSUME(T.Data);
    this.CONSUME(T.Identifier);
    this.OR(this.once(2, () => [{ ALT: () => this.SUBRULE(this.dataFile) }, { ALT: () => this.SUBRULE(this.dataDerived) }]));
  });

  private dataFile = this.RULE('dataFile', () => {
    this.CONSUME(T.LParen);
    this.MANY_SEP(this.once(3, () => ({ SEP: T.Comma, DEF: () => this.SUBRULE(this.column) })));
    this.CONSUME(T.RParen);
    this.CONSUME(T.From);
    this.CONSUME(T.StringLit);
    this.CONSUME(T.Format);
    this.CONSUME2(T.Identifier, { LABEL: 'format' });
  });

  private column = this.RULE('column', () => {
    this.CONSUME(T.Identifier, { LABEL: 'name' });
    this.CONSUME(T.Colon);
    this.CONSUME2(T.Identifier, { LABEL: 'type' });
    this.OPTION(() => this.CONSUME3(T.Identifier, { LABEL: 'domain' }));
  });

  private dataDerived = this.RULE('dataDerived', () => {
    this.CONSUME(T.Equals);
    this.CONSUME(T.Identifier, { LABEL: 'base' });
    this.CONSUME(T.Where);
    this.SUBRULE(this.expression);
  });

  private splitDecl = this.RULE('splitDecl', () => {
    this.CONSUME(T.Split);
    this.CONSUME(T.Identifier);
    this.CONSUME(T.Colon);
    this.OR(this.once(4, () => [
      { ALT: () => this.SUBRULE(this.holdout) },
      { ALT: () => this.SUBRULE(this.leaveOneOut) },
      { ALT: () => this.SUBRULE(this.kfold) },
      { ALT: () => this.SUBRULE(this.files) },
    ]));
    // `, validate 0.1`: a validation part carved from the training side
    this.OPTION(() => {
      this.CONSUME(T.Comma);
      this.SUBRULE(this.validateOpt);
    });
  });

  private validateOpt = this.RULE('validateOpt', () => {
    this.CONSUME(T.Validate);
    this.OPTION(() => this.CONSUME(T.NumberLit, { LABEL: 'fraction' }));
    this.MANY(() => this.SUBRULE(this.seedOpt));
  });

  private holdout = this.RULE('holdout', () => {
    this.CONSUME(T.Holdout);
    this.CONSUME(T.NumberLit, { LABEL: 'fraction' });
    this.MANY(() =>
      this.OR(this.once(5, () => [
        { ALT: () => this.SUBRULE(this.seedOpt) },
        { ALT: () => this.SUBRULE(this.byOpt) },
        { ALT: () => this.SUBRULE(this.perOpt) },
      ])),
    );
  });

  private leaveOneOut = this.RULE('leaveOneOut', () => {
    this.CONSUME(T.LeaveOneOut);
    this.MANY(() => this.OR(this.once(6, () => [{ ALT: () => this.SUBRULE(this.seedOpt) }, { ALT: () => this.SUBRULE(this.byOpt) }])));
  });

  private kfold = this.RULE('kfold', () => {
    this.CONSUME(T.KFold);
    this.CONSUME(T.NumberLit, { LABEL: 'k' });
    this.MANY(() => this.OR(this.once(7, () => [{ ALT: () => this.SUBRULE(this.seedOpt) }, { ALT: () => this.SUBRULE(this.foldOpt) }])));
  });

  private files = this.RULE('files', () => {
    this.CONSUME(T.Files);
    this.CONSUME(T.StringLit, { LABEL: 'train' });
    this.CONSUME(T.Comma);
    this.CONSUME2(T.StringLit, { LABEL: 'test' });
  });

  private seedOpt = this.RULE('seedOpt', () => {
    this.CONSUME(T.Seed);
    this.CONSUME(T.NumberLit);
  });

  private foldOpt = this.RULE('foldOpt', () => {
    this.CONSUME(T.Fold);
    this.CONSUME(T.NumberLit);
  });

  private byOpt = this.RULE('byOpt', () => {
    this.CONSUME(T.By);
    this.CONSUME(T.Identifier);
  });

  private perOpt = this.RULE('perOpt', () => {
    this.CONSUME(T.Per);
    this.CONSUME(T.Identifier);
  });

  private dimDecl = this.RULE('dimDecl', () => {
    this.CONSUME(T.Dim);
    this.AT_LEAST_ONE_SEP(this.once(8, () => ({ SEP: T.Comma, DEF: () => this.SUBRULE(this.dimItem) })));
  });

  private dimItem = this.RULE('dimItem', () => {
    this.CONSUME(T.Identifier);
    this.CONSUME(T.Equals);
    this.CONSUME(T.NumberLit);
  });

  private constDecl = this.RULE('constDecl', () => {
    this.CONSUME(T.Const);
    this.AT_LEAST_ONE_SEP(this.once(9, () => ({ SEP: T.Comma, DEF: () => this.SUBRULE(this.constItem) })));
  });

  private constItem = this.RULE('constItem', () => {
    this.CONSUME(T.Identifier);
    this.CONSUME(T.Equals);
    this.SUBRULE(this.expression);
  });

  private paramDecl = this.RULE('paramDecl', () => {
    this.CONSUME(T.Param);
    this.CONSUME(T.Identifier, { LABEL: 'name' });
    this.OPTION(() => {
      this.CONSUME(T.LBracket);
      this.AT_LEAST_ONE_SEP(this.once(10, () => ({ SEP: T.Comma, DEF: () => this.CONSUME2(T.Identifier, { LABEL: 'axis' }) })));
      this.CONSUME(T.RBracket);
    });
    this.OR(this.once(11, () => [{ ALT: () => this.SUBRULE(this.sampledInit) }, { ALT: () => this.SUBRULE(this.valueInit) }]));
  });

  private sampledInit = this.RULE('sampledInit', () => {
    this.CONSUME(T.Tilde);
    this.CONSUME(T.Identifier);
    this.CONSUME(T.LParen);
    this.SUBRULE(this.callArgs);
    this.CONSUME(T.RParen);
  });

  private valueInit = this.RULE('valueInit', () => {
    this.CONSUME(T.Equals);
    this.SUBRULE(this.expression);
  });

  private defDecl = this.RULE('defDecl', () => {
    this.CONSUME(T.Def);
    this.CONSUME(T.Identifier);
    this.CONSUME(T.LParen);
    this.MANY_SEP(this.once(12, () => ({ SEP: T.Comma, DEF: () => this.SUBRULE(this.defParam) })));
    this.CONSUME(T.RParen);
    this.CONSUME(T.Equals);
    this.SUBRULE(this.expression);
  });

  private defParam = this.RULE('defParam', () => {
    this.CONSUME(T.Identifier, { LABEL: 'name' });
    this.OPTION(() => {
      this.CONSUME(T.Colon);
      this.CONSUME2(T.Identifier, { LABEL: 'type' });
    });
  });

  private termDecl = this.RULE('termDecl', () => {
    this.OR(this.once(13, () => [{ ALT: () => this.CONSUME(T.Loss, { LABEL: 'role' }) }, { ALT: () => this.CONSUME(T.Reg, { LABEL: 'role' }) }]));
    this.CONSUME(T.Identifier);
    this.CONSUME(T.Equals);
    this.SUBRULE(this.expression);
  });

  private trainBlock = this.RULE('trainBlock', () => {
    this.CONSUME(T.Train);
    this.CONSUME(T.LBrace);
    this.MANY(() => this.SUBRULE(this.trainEntry));
    this.CONSUME(T.RBrace);
  });

  private trainEntry = this.RULE('trainEntry', () => {
    this.OR(this.once(14, () => [
      { ALT: () => this.SUBRULE(this.optimizerEntry) },
      { ALT: () => this.SUBRULE(this.scheduleEntry) },
      { ALT: () => this.SUBRULE(this.epochsEntry) },
      { ALT: () => this.SUBRULE(this.stepsEntry) },
      { ALT: () => this.SUBRULE(this.batchEntry) },
      { ALT: () => this.SUBRULE(this.seedOpt) },
      { ALT: () => this.SUBRULE(this.blocksEntry) },
      { ALT: () => this.SUBRULE(this.solverEntry) },
    ]));
  });

  /** `blocks U, V`: the order of ALS's block updates */
  private blocksEntry = this.RULE('blocksEntry', () => {
    this.CONSUME(T.Blocks);
    this.AT_LEAST_ONE_SEP(this.once(40, () => ({ SEP: T.Comma, DEF: () => this.CONSUME(T.Identifier) })));
  });

  /** `solver cholesky` | `solver cg(steps = 3)`: how ALS solves each row's normal equations */
  private solverEntry = this.RULE('solverEntry', () => {
    this.CONSUME(T.Solver);
    this.CONSUME(T.Identifier);
    this.OPTION(() => {
      this.CONSUME(T.LParen);
      this.SUBRULE(this.callArgs);
      this.CONSUME(T.RParen);
    });
  });

  private optimizerEntry = this.RULE('optimizerEntry', () => {
    this.CONSUME(T.Optimizer);
    this.CONSUME(T.Identifier);
    this.OPTION(() => {
      this.CONSUME(T.LParen);
      this.SUBRULE(this.callArgs);
      this.CONSUME(T.RParen);
    });
  });

  private scheduleEntry = this.RULE('scheduleEntry', () => {
    this.CONSUME(T.Schedule);
    this.CONSUME(T.Identifier);
    this.OPTION(() => {
      this.CONSUME(T.LParen);
      this.SUBRULE(this.callArgs);
      this.CONSUME(T.RParen);
    });
  });

  private epochsEntry = this.RULE('epochsEntry', () => {
    this.CONSUME(T.Epochs);
    this.CONSUME(T.NumberLit);
  });

  private stepsEntry = this.RULE('stepsEntry', () => {
    this.CONSUME(T.Steps);
    this.CONSUME(T.NumberLit);
  });

  private batchEntry = this.RULE('batchEntry', () => {
    this.CONSUME(T.Batch);
    this.OR(this.once(15, () => [
      {
        ALT: () => {
          this.CONSUME(T.NumberLit);
          // `batch 256 users`; a following soft keyword (`seed 42`) is the next entry, not a unit
          this.OPTION(this.once(29, () => ({ GATE: () => isPlainIdentifier(this.LA(1)), DEF: () => this.CONSUME(T.Identifier, { LABEL: 'unit' }) })));
        },
      },
      { ALT: () => this.CONSUME2(T.Identifier, { LABEL: 'word' }) },
    ]));
  });

  private evaluateBlock = this.RULE('evaluateBlock', () => {
    this.CONSUME(T.Evaluate);
    this.CONSUME(T.LBrace);
    this.MANY(() =>
      this.OR(this.once(16, () => [
        { ALT: () => this.SUBRULE(this.metricsEntry) },
        { ALT: () => this.SUBRULE(this.everyEntry) },
        { ALT: () => this.SUBRULE(this.earlyStopEntry) },
      ])),
    );
    this.CONSUME(T.RBrace);
  });

  private metricsEntry = this.RULE('metricsEntry', () => {
    this.CONSUME(T.Metrics);
    this.AT_LEAST_ONE_SEP(this.once(17, () => ({ SEP: T.Comma, DEF: () => this.SUBRULE(this.metric) })));
  });

  private metric = this.RULE('metric', () => {
    this.CONSUME(T.Identifier);
    this.OPTION(() => {
      this.CONSUME(T.At);
      this.CONSUME(T.NumberLit);
    });
    // `ndcg@20 ips` | `recall@20 ips(gamma = 0.8)`: inverse-propensity-scored; `ips` is a plain word
    // read by spelling, so the next entry's `every`/`patience` (identifiers too) are never taken
    this.OPTION2(this.once(45, () => ({ GATE: () => this.LA(1).image === 'ips', DEF: () => this.SUBRULE(this.ipsOpt) })));
  });

  private ipsOpt = this.RULE('ipsOpt', () => {
    this.CONSUME(T.Identifier, { LABEL: 'ips' });
    this.OPTION(() => {
      this.CONSUME(T.LParen);
      this.SUBRULE(this.callArgs);
      this.CONSUME(T.RParen);
    });
  });

  private everyEntry = this.RULE('everyEntry', () => {
    this.CONSUME(T.Every);
    this.CONSUME(T.NumberLit);
    this.OR(this.once(18, () => [{ ALT: () => this.CONSUME(T.Epochs, { LABEL: 'unit' }) }, { ALT: () => this.CONSUME(T.Steps, { LABEL: 'unit' }) }]));
  });

  /** `early_stop on ndcg@20 patience 3 [min_delta 0.001]`; `on` is read by spelling (cst-to-ast.ts) */
  private earlyStopEntry = this.RULE('earlyStopEntry', () => {
    this.CONSUME(T.EarlyStop);
    // `on` is a plain word: taken when a metric follows it, so `early_stop ndcg@20` reaches cst-to-ast's RC0109
    this.OPTION(this.once(31, () => ({ GATE: () => this.LA(1).image === 'on' && tokenMatcher(this.LA(2), T.Identifier), DEF: () => this.CONSUME(T.Identifier, { LABEL: 'on' }) })));
    this.SUBRULE(this.metric);
    this.CONSUME(T.Patience);
    this.CONSUME(T.NumberLit, { LABEL: 'patience' });
    this.OPTION2(() => {
      this.CONSUME(T.MinDelta);
      this.CONSUME2(T.NumberLit, { LABEL: 'minDelta' });
    });
  });

  /** `sweep { search random trials 20 seed 1 objective rmse folds 5  lr ~ loguniform(1e-3, 1e-1)  d in [16, 32] }` */
  private sweepBlock = this.RULE('sweepBlock', () => {
    this.CONSUME(T.Sweep);
    this.CONSUME(T.LBrace);
    this.MANY(() =>
      this.OR(this.once(41, () => [
        {
          ALT: () => {
            this.CONSUME(T.Search);
            this.CONSUME(T.Identifier, { LABEL: 'search' });
          },
        },
        {
          ALT: () => {
            this.CONSUME(T.Trials);
            this.CONSUME(T.NumberLit, { LABEL: 'trials' });
          },
        },
        {
          ALT: () => {
            this.CONSUME(T.Folds);
            this.CONSUME2(T.NumberLit, { LABEL: 'folds' });
          },
        },
        {
          ALT: () => {
            this.CONSUME(T.Objective);
            this.SUBRULE(this.metric, { LABEL: 'objective' });
          },
        },
        { ALT: () => this.SUBRULE(this.seedOpt) },
        { ALT: () => this.SUBRULE(this.sweepAxis) },
      ])),
    );
    this.CONSUME(T.RBrace);
  });

  /** `NAME ~ loguniform(a, b)` | `uniform(a, b)` | `int(a, b)`, or `NAME in [a, b, c]` */
  private sweepAxis = this.RULE('sweepAxis', () => {
    this.CONSUME(T.Identifier, { LABEL: 'name' });
    this.OR(this.once(42, () => [
      {
        ALT: () => {
          this.CONSUME(T.Tilde);
          this.CONSUME2(T.Identifier, { LABEL: 'dist' });
          this.CONSUME(T.LParen);
          this.SUBRULE(this.sweepNumber, { LABEL: 'lo' });
          this.CONSUME(T.Comma);
          this.SUBRULE2(this.sweepNumber, { LABEL: 'hi' });
          this.CONSUME(T.RParen);
        },
      },
      {
        ALT: () => {
          this.CONSUME(T.In);
          this.CONSUME(T.LBracket);
          this.AT_LEAST_ONE_SEP(this.once(43, () => ({ SEP: T.Comma, DEF: () => this.SUBRULE3(this.sweepNumber, { LABEL: 'values' }) })));
          this.CONSUME(T.RBracket);
        },
      },
    ]));
  });

  /** a number with an optional `-` */
  private sweepNumber = this.RULE('sweepNumber', () => {
    this.OPTION(() => this.CONSUME(T.Minus));
    this.CONSUME(T.NumberLit);
  });

  // -------------------------------------------------------------------------------------------
  // Expressions, loosest first: ?: < or < and < not < comparison < + - < * / < . < unary - < ^ < postfix
  // The binary operators share one loop, `operand (BinaryOp operand)*`, and cst-to-ast.ts resolves
  // their precedence and associativity (precedence climbing). A name costs 2 rule invocations (and
  // CST nodes) instead of the 12 of a rule per precedence level: most of the parser's time.

  public expression = this.RULE('expression', () => {
    this.SUBRULE(this.operand);
    // comparisons do not chain: between two `and`/`or`, the loop stops before a second comparison
    // (parse.ts reports it, RC0104), as a grammar with a level per operator would
    let compared = false;
    this.MANY({
      GATE: () => !(compared && COMPARISONS.has(this.LA(1).tokenType)),
      DEF: () => {
        const op = this.CONSUME(T.BinaryOp, { LABEL: 'op' }).tokenType;
        compared = COMPARISONS.has(op) || (compared && op !== T.And && op !== T.Or);
        this.SUBRULE2(this.operand);
      },
    });
    this.OPTION(() => {
      this.CONSUME(T.Question);
      this.SUBRULE(this.expression, { LABEL: 'then' });
      this.CONSUME(T.Colon);
      this.SUBRULE2(this.expression, { LABEL: 'else' });
    });
  });

  /**
   * `not`s, `-`s, a primary and an optional `^ operand` (`a ^ b ^ c` is `a ^ (b ^ c)`; the exponent
   * may be negated, `x ^ -1`). The primary is a number, a string, a name with an optional call
   * `f(args)` or index `U[u, k]`, a size `|user|` or parentheses; names and sizes are parsed inline,
   * not as rules of their own, since every rule invocation costs a CST node (a name is 2, not 3).
   * `not` binds looser than comparisons, so it may only start an operand of `and`/`or` (or a whole
   * expression): after `+`, `<`, `-`, `^`, … the gate turns it away, as "expected an expression".
   */
  private operand = this.RULE('operand', () => {
    this.MANY(this.once(19, () => ({ GATE: () => notMayStartAfter(this.LA(0)), DEF: () => this.CONSUME(T.Not) })));
    this.MANY2(() => this.CONSUME(T.Minus));
    this.OR(this.once(24, () => [
      { ALT: () => this.CONSUME(T.NumberLit) },
      { ALT: () => this.CONSUME(T.StringLit) },
      {
        ALT: () => {
          this.CONSUME(T.Identifier);
          this.OPTION2(() =>
            this.OR2(this.once(25, () => [
              {
                ALT: () => {
                  this.CONSUME(T.LParen);
                  this.SUBRULE(this.callArgs);
                  this.CONSUME(T.RParen);
                },
              },
              {
                ALT: () => {
                  this.CONSUME(T.LBracket);
                  this.AT_LEAST_ONE_SEP(this.once(30, () => ({ SEP: T.Comma, DEF: () => this.SUBRULE(this.expression, { LABEL: 'index' }) })));
                  this.CONSUME(T.RBracket);
                },
              },
            ])),
          );
        },
      },
      {
        ALT: () => {
          this.CONSUME(T.Pipe);
          this.CONSUME2(T.Identifier, { LABEL: 'size' });
          this.CONSUME2(T.Pipe);
        },
      },
      { ALT: () => this.SUBRULE(this.parenExpr) },
    ]));
    this.OPTION(() => {
      this.CONSUME(T.Caret);
      this.SUBRULE2(this.operand, { LABEL: 'exponent' });
    });
  });

  /** `(e)`, or the membership test `(u, i) in likes` */
  private parenExpr = this.RULE('parenExpr', () => {
    this.CONSUME(T.LParen);
    this.AT_LEAST_ONE_SEP(this.once(26, () => ({ SEP: T.Comma, DEF: () => this.SUBRULE(this.expression) })));
    this.CONSUME(T.RParen);
    this.OPTION(() => {
      this.CONSUME(T.In);
      this.CONSUME(T.Identifier, { LABEL: 'relation' });
    });
  });

  /** Arguments or bindings, then an optional `: body` (only aggregations have one). */
  private callArgs = this.RULE('callArgs', () => {
    this.MANY_SEP(this.once(27, () => ({ SEP: T.Comma, DEF: () => this.SUBRULE(this.callItem) })));
    this.OPTION(() => {
      this.CONSUME(T.Colon);
      this.SUBRULE(this.expression, { LABEL: 'body' });
    });
  });

  /** `lr = 0.01` | `e` | `e in R` | `j < l in x` | `j ~ uniform(item)` | `J ~ pop(item, 0.75) x 100` */
  private callItem = this.RULE('callItem', () => {
    this.OPTION(() => {
      this.CONSUME(T.Identifier, { LABEL: 'argName' });
      this.CONSUME(T.Equals);
    });
    this.SUBRULE(this.expression);
    this.OPTION2(() =>
      this.OR(this.once(28, () => [
        {
          ALT: () => {
            this.CONSUME(T.In);
            this.CONSUME2(T.Identifier, { LABEL: 'range' });
          },
        },
        {
          ALT: () => {
            this.CONSUME(T.Tilde);
            this.CONSUME3(T.Identifier, { LABEL: 'sampler' });
            this.CONSUME(T.LParen);
            this.SUBRULE(this.callArgs, { LABEL: 'samplerArgs' });
            this.CONSUME(T.RParen);
            this.OPTION3(() => {
              this.CONSUME4(T.Identifier, { LABEL: 'times' });
              this.CONSUME(T.NumberLit, { LABEL: 'count' });
            });
          },
        },
      ])),
    );
  });
}

let instance: RecParser | undefined;

/**
 * The one parser instance (Chevrotain parsers are reusable: set `input`, call a rule), built on first
 * use, so commands that read no model never pay for its grammar analysis.
 */
export function recParser(): RecParser {
  return (instance ??= new RecParser());
}

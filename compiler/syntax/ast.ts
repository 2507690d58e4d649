// The abstract syntax tree of a .recmodel file, produced by cst-to-ast.ts.
// Invariants: every node carries the span of the source text it came from; nodes are readonly,
// tagged by `kind`, and say only what the user wrote (no name resolution, no types — see check/).
import type { Span } from '../diagnostics/source.ts';

export interface Ident {
  readonly kind: 'Ident';
  readonly name: string;
  readonly span: Span;
}

export interface Program {
  readonly kind: 'Program';
  readonly file: string;
  readonly decls: readonly Decl[];
  readonly span: Span;
}

export type Decl =
  | ModelDecl
  | ImportDecl
  | IndexDecl
  | DataDecl
  | DerivedDataDecl
  | SplitDecl
  | DimDecl
  | ConstDecl
  | ParamDecl
  | DefDecl
  | TermDecl
  | TrainBlock
  | EvaluateBlock
  | SweepBlock;

export interface ModelDecl {
  readonly kind: 'ModelDecl';
  readonly name: Ident;
  readonly span: Span;
}

export interface ImportDecl {
  readonly kind: 'ImportDecl';
  readonly path: string;
  readonly pathSpan: Span;
  readonly span: Span;
}

/** `index user, item` */
export interface IndexDecl {
  readonly kind: 'IndexDecl';
  readonly names: readonly Ident[];
  readonly span: Span;
}

/** Column types: `float`, `int`, `string`, an index domain (`user`), or `sparse feature`. */
export type ColumnType =
  | { readonly kind: 'ScalarType'; readonly name: 'float' | 'int' | 'string'; readonly span: Span }
  | { readonly kind: 'DomainType'; readonly domain: Ident; readonly span: Span }
  | { readonly kind: 'SparseType'; readonly domain: Ident; readonly span: Span };

export interface Column {
  readonly name: Ident;
  readonly type: ColumnType;
  readonly span: Span;
}

/** `data ratings(user: user, ...) from "u.data" format tsv` */
export interface DataDecl {
  readonly kind: 'DataDecl';
  readonly name: Ident;
  readonly columns: readonly Column[];
  readonly path: string;
  readonly pathSpan: Span;
  readonly format: Ident;
  readonly span: Span;
}

/** `data likes = ratings where rating >= 4` — same columns as the base relation. */
export interface DerivedDataDecl {
  readonly kind: 'DerivedDataDecl';
  readonly name: Ident;
  readonly base: Ident;
  readonly where: Expr;
  readonly span: Span;
}

export type SplitMethod =
  /** `holdout 0.2 seed 7`, `holdout 0.1 by time per user` */
  | {
      readonly kind: 'Holdout';
      readonly fraction: NumberLit;
      readonly seed?: NumberLit;
      readonly byTime: boolean;
      /** the column `by COLUMN` orders by (set when byTime) */
      readonly timeColumn?: Ident;
      readonly perUser: boolean;
      readonly span: Span;
    }
  /** `leave_one_out by time` */
  | { readonly kind: 'LeaveOneOut'; readonly byTime: boolean; readonly timeColumn?: Ident; readonly seed?: NumberLit; readonly span: Span }
  /** `kfold 5` (optionally `fold 2 seed 3`) */
  | {
      readonly kind: 'KFold';
      readonly k: NumberLit;
      readonly fold?: NumberLit;
      readonly seed?: NumberLit;
      readonly span: Span;
    }
  /** `files "u1.base", "u1.test"` */
  | {
      readonly kind: 'Files';
      readonly train: string;
      readonly test: string;
      readonly trainSpan: Span;
      readonly testSpan: Span;
      readonly span: Span;
    };

/** `, validate 0.1` (a fraction of the split relation) or `, validate` (leave_one_out: one more per user) */
export interface ValidateClause {
  readonly fraction?: NumberLit;
  readonly seed?: NumberLit;
  readonly span: Span;
}

export interface SplitDecl {
  readonly kind: 'SplitDecl';
  readonly relation: Ident;
  readonly method: SplitMethod;
  readonly validate?: ValidateClause;
  readonly span: Span;
}

/** `dim d = 32` (several may share a line: `dim d = 32, k = 8`). */
export interface DimDecl {
  readonly kind: 'DimDecl';
  readonly items: readonly { readonly name: Ident; readonly value: NumberLit; readonly span: Span }[];
  readonly span: Span;
}

/** `const lambda = 0.1, margin = 1` — scalar hyperparameters, overridable with --set. */
export interface ConstDecl {
  readonly kind: 'ConstDecl';
  readonly items: readonly { readonly name: Ident; readonly value: Expr; readonly span: Span }[];
  readonly span: Span;
}

export type ParamInit =
  | { readonly kind: 'NormalInit'; readonly mean: Expr; readonly std: Expr; readonly span: Span }
  | { readonly kind: 'UniformInit'; readonly lo: Expr; readonly hi: Expr; readonly span: Span }
  | { readonly kind: 'ValueInit'; readonly value: Expr; readonly span: Span };

/** `param U[user, d] ~ normal(0, 0.1)`, `param mu = 3.5` (shape [] is a scalar). */
export interface ParamDecl {
  readonly kind: 'ParamDecl';
  readonly name: Ident;
  readonly shape: readonly Ident[];
  readonly init: ParamInit;
  /**
   * `neighbours S[item, item] = cosine(likes, top = 50)`: a table computed from the data when the run
   * starts (ItemCF's top-M item–item cosines), not trained; `init` is then a placeholder 0
   */
  readonly neighbours?: { readonly measure: Ident; readonly args: readonly NamedArg[]; readonly span: Span };
  readonly span: Span;
}

export interface DefParam {
  readonly name: Ident;
  readonly type?: Ident;
  readonly span: Span;
}

/** `def score(u: user, i: item) = U[u] . V[i]` */
export interface DefDecl {
  readonly kind: 'DefDecl';
  readonly name: Ident;
  readonly params: readonly DefParam[];
  readonly body: Expr;
  readonly span: Span;
}

/** `loss fit = ...` or `reg l2 = ...`; the objective is the sum of every term. */
export interface TermDecl {
  readonly kind: 'TermDecl';
  readonly role: 'loss' | 'reg';
  readonly name: Ident;
  readonly body: Expr;
  readonly span: Span;
}

export interface NamedArg {
  readonly name?: Ident;
  readonly value: Expr;
  readonly span: Span;
}

export type TrainEntry =
  | { readonly kind: 'Optimizer'; readonly name: Ident; readonly args: readonly NamedArg[]; readonly span: Span }
  | { readonly kind: 'Schedule'; readonly name: Ident; readonly args: readonly NamedArg[]; readonly span: Span }
  | { readonly kind: 'Epochs'; readonly value: NumberLit; readonly span: Span }
  | { readonly kind: 'Steps'; readonly value: NumberLit; readonly span: Span }
  /** `batch full` | `batch 4096` | `batch 256 users` */
  | {
      readonly kind: 'Batch';
      readonly size?: NumberLit;
      readonly unit?: Ident;
      readonly full: boolean;
      readonly span: Span;
    }
  | { readonly kind: 'Seed'; readonly value: NumberLit; readonly span: Span }
  /** `blocks U, V`: the params ALS updates, in this order */
  | { readonly kind: 'Blocks'; readonly names: readonly Ident[]; readonly span: Span }
  /** `solver cholesky` | `solver cg(steps = 3)` */
  | { readonly kind: 'Solver'; readonly name: Ident; readonly args: readonly NamedArg[]; readonly span: Span };

export interface TrainBlock {
  readonly kind: 'TrainBlock';
  readonly entries: readonly TrainEntry[];
  readonly span: Span;
}

/** `recall@10` has k = 10; `rmse` has none. */
export interface MetricRef {
  readonly name: Ident;
  readonly k?: NumberLit;
  /** `ips` or `ips(gamma = 0.8)`: inverse-propensity-scored (runtime/eval/ips.ts) */
  readonly ips?: { readonly args: readonly NamedArg[]; readonly span: Span };
  readonly span: Span;
}

export type EvaluateEntry =
  | { readonly kind: 'Metrics'; readonly metrics: readonly MetricRef[]; readonly span: Span }
  | {
      readonly kind: 'Every';
      readonly value: NumberLit;
      readonly unit: 'epochs' | 'steps';
      readonly span: Span;
    }
  /** `early_stop on ndcg@20 patience 3 min_delta 0.001` */
  | {
      readonly kind: 'EarlyStop';
      readonly metric: MetricRef;
      readonly patience: NumberLit;
      readonly minDelta?: NumberLit;
      readonly span: Span;
    };

export interface EvaluateBlock {
  readonly kind: 'EvaluateBlock';
  readonly entries: readonly EvaluateEntry[];
  readonly span: Span;
}

/** A number of a `sweep` block, with its sign: `-1`, `1e-3`. */
export interface SignedNumber {
  readonly value: number;
  /** as written, sign included */
  readonly text: string;
  readonly span: Span;
}

/** `lr ~ loguniform(1e-3, 1e-1)`, `l2w ~ uniform(0, 0.1)`, `d ~ int(8, 64)`; `d in [16, 32, 64]` */
export type SweepAxis =
  | { readonly kind: 'Range'; readonly name: Ident; readonly dist: Ident; readonly lo: SignedNumber; readonly hi: SignedNumber; readonly span: Span }
  | { readonly kind: 'List'; readonly name: Ident; readonly values: readonly SignedNumber[]; readonly span: Span };

export type SweepEntry =
  | { readonly kind: 'Search'; readonly value: Ident; readonly span: Span }
  | { readonly kind: 'Trials'; readonly value: NumberLit; readonly span: Span }
  | { readonly kind: 'Folds'; readonly value: NumberLit; readonly span: Span }
  | { readonly kind: 'Objective'; readonly metric: MetricRef; readonly span: Span }
  | { readonly kind: 'Seed'; readonly value: NumberLit; readonly span: Span }
  | { readonly kind: 'Axis'; readonly axis: SweepAxis; readonly span: Span };

/** `sweep { … }`: the hyperparameter search `recc sweep` runs (compiler/check/sweep.ts checks it). */
export interface SweepBlock {
  readonly kind: 'SweepBlock';
  /** in source order */
  readonly entries: readonly SweepEntry[];
  readonly span: Span;
}

// ---------------------------------------------------------------------------------------------
// Expressions

export type Expr =
  | NumberLit
  | StringLit
  | IdentExpr
  | UnaryExpr
  | BinaryExpr
  | TernaryExpr
  | CallExpr
  | IndexExpr
  | SizeExpr
  | MemberExpr
  | AggregateExpr;

export interface NumberLit {
  readonly kind: 'NumberLit';
  readonly value: number;
  readonly text: string;
  readonly span: Span;
}

export interface StringLit {
  readonly kind: 'StringLit';
  readonly value: string;
  readonly span: Span;
}

export interface IdentExpr {
  readonly kind: 'IdentExpr';
  readonly name: string;
  readonly span: Span;
}

export interface UnaryExpr {
  readonly kind: 'UnaryExpr';
  readonly op: '-' | 'not';
  readonly arg: Expr;
  readonly span: Span;
}

/** `.` is the dot product of two row vectors; `*` is elementwise. */
export type BinaryOp = '+' | '-' | '*' | '/' | '^' | '.' | '<' | '<=' | '>' | '>=' | '==' | '!=' | 'and' | 'or';

export interface BinaryExpr {
  readonly kind: 'BinaryExpr';
  readonly op: BinaryOp;
  readonly left: Expr;
  readonly right: Expr;
  readonly opSpan: Span;
  readonly span: Span;
}

export interface TernaryExpr {
  readonly kind: 'TernaryExpr';
  readonly cond: Expr;
  readonly then: Expr;
  readonly else: Expr;
  readonly span: Span;
}

/** A builtin (`exp(x)`, `sum(U^2)`), a def call (`score(u, i)`), or a sampler (`uniform(item)`). */
export interface CallExpr {
  readonly kind: 'CallExpr';
  readonly callee: Ident;
  readonly args: readonly NamedArg[];
  readonly span: Span;
}

/** `U[u]` (a row) or `U[u, k]` (a scalar), `x[j]` (a sparse row's value). */
export interface IndexExpr {
  readonly kind: 'IndexExpr';
  readonly target: Ident;
  readonly indices: readonly Expr[];
  readonly span: Span;
}

/** `|user|` (domain size) or `|ratings|` (tuple count). */
export interface SizeExpr {
  readonly kind: 'SizeExpr';
  readonly name: Ident;
  readonly span: Span;
}

/** `(u, i) in likes` — 1 on the relation's tuples, 0 elsewhere. */
export interface MemberExpr {
  readonly kind: 'MemberExpr';
  readonly tuple: readonly Expr[];
  readonly relation: Ident;
  readonly span: Span;
}

export type AggregateOp = 'sum' | 'mean' | 'logsumexp' | 'max' | 'min';

/** `AGG(BINDINGS: BODY)` */
export interface AggregateExpr {
  readonly kind: 'AggregateExpr';
  readonly op: AggregateOp;
  readonly opSpan: Span;
  readonly bindings: readonly Binding[];
  readonly body: Expr;
  readonly span: Span;
}

export type Binding =
  /** `(u, i, r) in ratings` — every tuple; vars bind the leading columns in order. */
  | { readonly kind: 'TupleBinding'; readonly vars: readonly Ident[]; readonly relation: Ident; readonly span: Span }
  /** `u in user` (domain) or `k in d` (dimension) or `j in J` (sample set) or `j in x` (sparse row). */
  | { readonly kind: 'RangeBinding'; readonly var: Ident; readonly range: Ident; readonly span: Span }
  /** `j ~ uniform(item)`, `J ~ pop(item, 0.75) x 100` */
  | {
      readonly kind: 'SampleBinding';
      readonly var: Ident;
      readonly sampler: CallExpr;
      readonly count?: NumberLit;
      readonly span: Span;
    }
  /** `j < l in x` — every distinct pair of non-zero features of sparse row x. */
  | { readonly kind: 'PairBinding'; readonly first: Ident; readonly second: Ident; readonly row: Ident; readonly span: Span };

export function declName(d: Decl): Ident | undefined {
  switch (d.kind) {
    case 'ModelDecl':
    case 'DataDecl':
    case 'DerivedDataDecl':
    case 'ParamDecl':
    case 'DefDecl':
    case 'TermDecl':
      return d.name;
    default:
      return undefined;
  }
}

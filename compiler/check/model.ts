// The checked model: what check/ produces from an AST once names, domains and shapes are valid.
// Invariants: every name referenced by a def or term resolves; every param's shape names a domain
// or a dim; sizes of domains are symbolic here (they come from data at run time). lower.ts turns
// the `body` expressions into IR; runtime/ uses the rest (data sources, split, train, evaluate).
import type * as ast from '../syntax/ast.ts';

export type ColumnKind =
  | { readonly kind: 'domain'; readonly domain: string }
  | { readonly kind: 'float' }
  | { readonly kind: 'int' }
  | { readonly kind: 'string' }
  | { readonly kind: 'sparse'; readonly domain: string };

export interface ColumnInfo {
  readonly name: string;
  readonly type: ColumnKind;
}

/** The filter of a derived relation, as written: the runtime evaluates it on each loaded tuple. */
export type WhereExpr = ast.Expr;

export type RelationSource =
  | { readonly kind: 'file'; readonly path: string; readonly format: 'tsv' | 'csv' | 'libsvm' | 'movielens' }
  | { readonly kind: 'derived'; readonly base: string; readonly where: WhereExpr };

export interface RelationInfo {
  readonly name: string;
  readonly columns: readonly ColumnInfo[];
  readonly source: RelationSource;
  readonly decl: ast.DataDecl | ast.DerivedDataDecl;
}

/** An axis of a param: an index domain (size from data) or a dim (size known at compile time). */
export type Axis = { readonly kind: 'domain'; readonly name: string } | { readonly kind: 'dim'; readonly name: string; readonly size: number };

export type InitInfo =
  | { readonly kind: 'normal'; readonly mean: number; readonly std: number }
  | { readonly kind: 'uniform'; readonly lo: number; readonly hi: number }
  | { readonly kind: 'value'; readonly value: number };

export interface ParamInfo {
  readonly name: string;
  readonly shape: readonly Axis[];
  readonly init: InitInfo;
  readonly decl: ast.ParamDecl;
  /** a `neighbours` table (check/neighbours.ts): computed from the data, never trained */
  readonly neighbours?: NeighboursInfo;
}

/**
 * `neighbours S[item, item] = cosine(likes, top = M)`: for each item i of `domain`, its `top` items j
 * with the largest cosine |V_i ∩ V_j| / (√|V_i| √|V_j|), V_i = the `userColumn` ids of `relation`'s
 * training tuples with `itemColumn` = i; every other S[i, j] is 0 (runtime/train/neighbours.ts).
 */
export interface NeighboursInfo {
  readonly measure: 'cosine';
  readonly relation: string;
  readonly userColumn: string;
  readonly itemColumn: string;
  readonly domain: string;
  readonly top: number;
}

export interface DefInfo {
  readonly name: string;
  readonly params: readonly { readonly name: string; readonly type?: string }[];
  readonly body: ast.Expr;
  readonly decl: ast.DefDecl;
}

export interface TermInfo {
  readonly name: string;
  readonly role: 'loss' | 'reg';
  readonly body: ast.Expr;
  readonly decl: ast.TermDecl;
}

/**
 * `, validate F`: a validation part carved from the training side the way the split chose its test
 * part (by time: the latest tuples; per user: per user; else a seeded random subset). `fraction` is of
 * the split relation's tuples (per user: of each user's); undefined for leave_one_out, which moves one
 * more tuple per user. `seed` defaults to the split's.
 */
export interface ValidateInfo {
  readonly fraction: number | undefined;
  readonly seed: number;
}

export type SplitInfo = (
  | { readonly kind: 'holdout'; readonly relation: string; readonly fraction: number; readonly seed: number; readonly byTime: boolean; readonly perUser: boolean; readonly timeColumn?: string }
  | { readonly kind: 'leave_one_out'; readonly relation: string; readonly byTime: boolean; readonly seed: number; readonly timeColumn?: string }
  | { readonly kind: 'kfold'; readonly relation: string; readonly k: number; readonly fold: number; readonly seed: number }
  | { readonly kind: 'files'; readonly relation: string; readonly train: string; readonly test: string }
) & { readonly validate?: ValidateInfo };

export type OptimizerInfo =
  | { readonly kind: 'sgd'; readonly lr: number; readonly momentum: number }
  | { readonly kind: 'adagrad'; readonly lr: number; readonly eps: number }
  | { readonly kind: 'adam'; readonly lr: number; readonly beta1: number; readonly beta2: number; readonly eps: number }
  | AlsInfo;

/** The optimizers that step along a gradient (runtime/train/optimizer.ts). */
export type GradientOptimizerInfo = Exclude<OptimizerInfo, AlsInfo>;

/**
 * `optimizer als(sweeps = N)`: alternating exact block updates (runtime/train/als.ts). `blocks` is the
 * update order (`blocks U, V`; every param in declaration order when absent); `solver` how each row's
 * normal equations H_r p_r = −g_r(0) are solved.
 */
export interface AlsInfo {
  readonly kind: 'als';
  readonly sweeps: number;
  readonly blocks: readonly string[] | undefined;
  readonly solver: { readonly kind: 'cholesky' } | { readonly kind: 'cg'; readonly steps: number };
}

export type ScheduleInfo =
  | { readonly kind: 'constant' }
  | { readonly kind: 'step'; readonly factor: number; readonly every: number }
  | { readonly kind: 'exponential'; readonly factor: number };

export type BatchInfo =
  | { readonly kind: 'full' }
  | { readonly kind: 'tuples'; readonly size: number }
  | { readonly kind: 'users'; readonly size: number; readonly domain: string };

export interface TrainInfo {
  readonly optimizer: OptimizerInfo;
  readonly schedule: ScheduleInfo;
  /** exactly one of epochs/steps is the stopping rule; the other is derived at run time */
  readonly length: { readonly unit: 'epochs' | 'steps'; readonly count: number };
  readonly batch: BatchInfo;
  readonly seed: number;
}

export interface MetricInfo {
  /** rmse, mae, recall, precision, ndcg, hr, mrr, auc, logloss */
  readonly name: string;
  readonly k?: number;
  /** `ips`: inverse-propensity-scored (recall and ndcg only); gamma undefined = fitted on the training data */
  readonly ips?: { readonly gamma?: number };
}

/** `early_stop on METRIC patience N [min_delta X]`: the metric is one of `metrics`, measured on validation. */
export interface EarlyStopInfo {
  readonly metric: MetricInfo;
  /** stop after this many evaluations in a row without an improvement of more than minDelta */
  readonly patience: number;
  readonly minDelta: number;
  /** from the metric: errors (rmse, mae, logloss) are minimized, ranking metrics and auc maximized */
  readonly direction: 'min' | 'max';
}

export interface EvaluateInfo {
  readonly metrics: readonly MetricInfo[];
  readonly every: { readonly unit: 'epochs' | 'steps'; readonly count: number } | undefined;
  readonly earlyStop?: EarlyStopInfo;
}

/** An axis of a `sweep` block: a list of values, or a range (`whole`: drawn as whole numbers). */
export type SweepAxisInfo =
  | { readonly name: string; readonly kind: 'list'; readonly values: readonly number[] }
  | { readonly name: string; readonly kind: 'uniform' | 'loguniform'; readonly lo: number; readonly hi: number; readonly whole: boolean };

/** `sweep { … }` (check/sweep.ts): the search `recc sweep` runs; its command-line flags override these. */
export interface SweepInfo {
  readonly search: 'random' | 'grid';
  readonly trials?: number;
  readonly seed: number;
  /** a metric of `evaluate`, as written (`ndcg@10`) */
  readonly objective?: string;
  /** k-fold cross-validation as the objective; absent: the split's validation part */
  readonly folds?: number;
  readonly axes: readonly SweepAxisInfo[];
}

export interface Model {
  readonly name: string;
  readonly file: string;
  readonly domains: readonly string[];
  readonly dims: ReadonlyMap<string, number>;
  /** hyperparameters after --set overrides */
  readonly consts: ReadonlyMap<string, number>;
  readonly relations: readonly RelationInfo[];
  readonly split: SplitInfo | undefined;
  readonly params: readonly ParamInfo[];
  /** `neighbours` tables (ItemCF): read by `def score` like params, computed from data, never trained */
  readonly neighbours: readonly ParamInfo[];
  readonly defs: ReadonlyMap<string, DefInfo>;
  readonly terms: readonly TermInfo[];
  readonly train: TrainInfo;
  readonly evaluate: EvaluateInfo;
  /** the `sweep { … }` block, when the model has one */
  readonly sweep?: SweepInfo;
}

/** The relation training batches come from and metrics are computed on: the split's, else the first file's. */
export function primaryRelation(model: Model): RelationInfo | undefined {
  if (model.split) return model.relations.find((r) => r.name === model.split!.relation);
  return model.relations.find((r) => r.source.kind === 'file');
}

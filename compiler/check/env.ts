// The symbol table of a checked model: what each global name is (`Sym`), the `Env` the names pass
// builds for the later passes, and the builtin names every pass agrees on.
import type * as A from '../syntax/ast.ts';
import type { Span } from '../diagnostics/source.ts';
import type { ParamInfo, RelationInfo } from './model.ts';

export type Sym =
  | { readonly kind: 'domain'; readonly name: string; readonly span: Span }
  | { readonly kind: 'relation'; readonly name: string; readonly span: Span; readonly decl: A.DataDecl | A.DerivedDataDecl }
  | { readonly kind: 'dim'; readonly name: string; readonly span: Span }
  | { readonly kind: 'const'; readonly name: string; readonly span: Span; readonly value: A.Expr }
  | { readonly kind: 'param'; readonly name: string; readonly span: Span; readonly decl: A.ParamDecl }
  | { readonly kind: 'def'; readonly name: string; readonly span: Span; readonly decl: A.DefDecl };

export interface Env {
  readonly program: A.Program;
  readonly globals: ReadonlyMap<string, Sym>;
  readonly domains: readonly string[];
  readonly dims: ReadonlyMap<string, number>;
  readonly consts: ReadonlyMap<string, number>;
  readonly relations: ReadonlyMap<string, RelationInfo>;
  readonly params: ReadonlyMap<string, ParamInfo>;
  readonly defs: ReadonlyMap<string, A.DefDecl>;
  readonly terms: readonly A.TermDecl[];
  readonly model: A.ModelDecl | undefined;
  readonly split: A.SplitDecl | undefined;
  readonly train: A.TrainBlock | undefined;
  readonly evaluate: A.EvaluateBlock | undefined;
  readonly sweep: A.SweepBlock | undefined;
}

/** Elementwise builtins of one argument. */
export const UNARY_BUILTINS: ReadonlySet<string> = new Set(['exp', 'log', 'log1p', 'sqrt', 'abs', 'sigmoid', 'logsigmoid', 'softplus', 'relu', 'tanh']);
/** Every callable name that is not a def. */
export const BUILTINS: ReadonlySet<string> = new Set([
  ...UNARY_BUILTINS,
  'min', 'max', 'clip', 'norm', 'cosine', 'sum', 'mean', 'logsumexp', 'logq', 'uniform', 'pop', 'inbatch',
]);
export const SAMPLERS: readonly string[] = ['uniform', 'pop', 'inbatch'];
export const FORMATS: readonly string[] = ['tsv', 'csv', 'libsvm', 'movielens'];
/** Scalar types a def parameter may declare instead of a domain or a dim. */
export const VALUE_TYPES: ReadonlySet<string> = new Set(['float', 'int', 'scalar']);

export function kindName(s: Sym): string {
  switch (s.kind) {
    case 'domain':
      return 'an index domain';
    case 'relation':
      return 'a relation';
    case 'dim':
      return 'a dim';
    case 'const':
      return 'a const';
    case 'param':
      return 'a param';
    case 'def':
      return 'a def';
  }
}

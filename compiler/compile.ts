// compile: the compiler's one public entry. .recmodel text → parse → check → lower → for every term
// and every param's gradient of the whole objective: simplify → expand+contract by cost. The result
// keeps the written and rewritten forms with their costs (for `recc explain`) and is what codegen
// plans kernels from. Never throws on user input: problems come back as diagnostics.
import { readFileSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { grad } from './autodiff/grad.ts';
import { resolveImports } from './check/imports.ts';
import { check } from './check/index.ts';
import { hasErrors, type Diagnostic } from './diagnostics.ts';
import { add, idx, type Expr, type Idx } from './ir/nodes.ts';
import type { IRModule, Sizes } from './ir/module.ts';
import { batchSpace, lower, totalSpace } from './lower.ts';
import type { Model } from './model.ts';
import { parse } from './parse.ts';
import { cost, type Cost } from './passes/cost.ts';
import { optimize, type RewriteStep } from './passes/pipeline.ts';
import { simplify } from './passes/simplify.ts';
import { sourceFile, type SourceFile } from './source.ts';

export interface CompiledExpr {
  readonly written: Expr;
  readonly expr: Expr;
  readonly steps: readonly RewriteStep[];
  readonly costWritten: Cost;
  readonly cost: Cost;
}

export interface CompiledTerm extends CompiledExpr {
  readonly name: string;
  readonly role: 'loss' | 'reg';
}

export interface CompiledGrad extends CompiledExpr {
  readonly param: string;
  /** free indices of `expr`, one per axis of the param */
  readonly out: readonly Idx[];
}

export interface Compiled {
  readonly model: Model;
  readonly module: IRModule;
  readonly terms: readonly CompiledTerm[];
  readonly grads: readonly CompiledGrad[];
  /** the sizes the cost model used */
  readonly sizes: Sizes;
}

export interface CompileResult {
  readonly compiled: Compiled | undefined;
  readonly diagnostics: readonly Diagnostic[];
  readonly sources: ReadonlyMap<string, SourceFile>;
}

export interface CompileOptions {
  readonly sets?: ReadonlyMap<string, number>;
  /** actual sizes of domains and relations, when the data is known; hints otherwise */
  readonly sizes?: Sizes;
  /** keep terms as written (no expand+contract) — for comparisons */
  readonly rewrite?: boolean;
}

/** Size hints for the cost model when the data is not loaded: typical catalogue sizes. */
export const DEFAULT_DOMAIN_SIZE = 1000;
export const DEFAULT_RELATION_SIZE = 100_000;

export function completeSizes(module: IRModule, given: Sizes | undefined): Map<string, number> {
  const out = new Map<string, number>(given ?? []);
  for (const s of module.spaces.values()) {
    if (s.kind === 'dim') out.set(s.name, s.size);
    else if (!out.has(s.name)) out.set(s.name, s.kind === 'domain' ? DEFAULT_DOMAIN_SIZE : DEFAULT_RELATION_SIZE);
    if (s.kind === 'relation') {
      if (!out.has(totalSpace(s.name))) out.set(totalSpace(s.name), out.get(s.name)!);
      if (!out.has(batchSpace(s.name))) out.set(batchSpace(s.name), out.get(s.name)!);
    }
  }
  return out;
}

export function compileModel(model: Model, opts: CompileOptions = {}): { compiled: Compiled | undefined; diagnostics: readonly Diagnostic[] } {
  const lowered = lower(model);
  if (!lowered.module) return { compiled: undefined, diagnostics: lowered.diagnostics };
  const module = lowered.module;
  const sizes = completeSizes(module, opts.sizes);
  const sizeOf = (s: string): number => sizes.get(s) ?? DEFAULT_DOMAIN_SIZE;
  const run = (written: Expr): CompiledExpr => {
    const o = optimize(written, { sizeOf, rewrite: opts.rewrite, spaces: module.spaces });
    return { written, expr: o.expr, steps: o.steps, costWritten: cost(written, sizeOf), cost: cost(o.expr, sizeOf) };
  };
  const terms = module.terms.map((t) => ({ name: t.name, role: t.role, ...run(t.expr) }));
  const objective = add(...module.terms.map((t) => t.expr));
  const grads = module.params.map((p) => {
    // output indices a', b', …: a quote cannot appear in a user's identifier, so nothing captures them
    const out = p.shape.map((s, j) => idx(`${String.fromCharCode(97 + j)}'`, s));
    // the baseline "as written" is the derivative after δ-elimination: what one would write by hand
    return { param: p.name, out, ...run(simplify(grad(objective, p.name, out))) };
  });
  return { compiled: { model, module, terms, grads, sizes }, diagnostics: lowered.diagnostics };
}

/**
 * Parses, checks and compiles one model file's text. Its imports are read from disk, resolved
 * against `path` (and the package's std/); `sources` then holds every file read, so diagnostics in an
 * imported file render with that file's lines.
 */
export function compileSource(path: string, text: string, opts: CompileOptions = {}): CompileResult {
  const src = sourceFile(path, text);
  const sources = new Map([[path, src]]);
  const parsed = parse(src);
  if (!parsed.program || hasErrors(parsed.diagnostics)) return { compiled: undefined, diagnostics: parsed.diagnostics, sources };
  const imported = resolveImports(parsed.program, resolvePath(path));
  imported.sources.forEach((s, file) => sources.set(file, s));
  if (hasErrors(imported.diagnostics)) return { compiled: undefined, diagnostics: [...imported.diagnostics, ...parsed.diagnostics], sources };
  const checked = check(parsed.program, { sets: opts.sets, imports: imported.files });
  const diagnostics: Diagnostic[] = [...imported.diagnostics, ...parsed.diagnostics, ...checked.diagnostics];
  if (!checked.model || hasErrors(checked.diagnostics)) return { compiled: undefined, diagnostics, sources };
  const result = compileModel(checked.model, opts);
  return { compiled: result.compiled, diagnostics: [...diagnostics, ...result.diagnostics], sources };
}

export function compileFile(path: string, opts: CompileOptions = {}): CompileResult {
  return compileSource(path, readFileSync(path, 'utf8'), opts);
}

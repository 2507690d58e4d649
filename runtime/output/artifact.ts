// The compiled artifact `recc compile -o DIR` writes and `recc run DIR` reads:
//   DIR/model.recmodel   the source, byte for byte (its sha256 is in plan.json)
//   DIR/plan.json        terms, gradients and the score forms evaluation runs (score of test tuples,
//                        of sparse rows, of users × items), before/after rewriting with costs
//                        (schema: schemas/plan.schema.json)
//   DIR/kernels/*.js     the gpu.js kernel sources planned at the compile-time sizes, for reading
// Kernels bake loop bounds from data sizes, so `recc run` re-plans them for the data it loads; the
// artifact pins the model source, its --set values and where its relative data paths resolve.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { emitKernel } from '../../compiler/codegen/gpujs.ts';
import { planExpr } from '../../compiler/plan/plan.ts';
import type { Compiled, CompiledExpr, CompiledScore, Unavailable } from '../../compiler/compile.ts';
import { printIR } from '../../compiler/ir/print.ts';
import { SizeLimitError } from '../../compiler/ir/limits.ts';
import { writeAtomic } from './run-folder.ts';

export class ArtifactError extends Error {
  override readonly name = 'ArtifactError';
}

const schemaPath = join(dirname(fileURLToPath(import.meta.url)), 'schemas', 'plan.schema.json');

type AjvCtor = new (opts?: object) => { compile(schema: object): ((data: unknown) => boolean) & { errors?: { instancePath: string; message?: string }[] | null } };

let validator: ReturnType<InstanceType<AjvCtor>['compile']> | undefined;

/** Validates a parsed plan.json; returns error lines (empty when valid). */
export function validatePlan(plan: unknown): string[] {
  if (!validator) {
    // ajv loads here, on the first plan.json read (~8 MB of memory that `recc run FILE` never needs)
    const AjvModule = createRequire(import.meta.url)('ajv') as { default?: AjvCtor };
    const Ajv = (AjvModule.default ?? AjvModule) as unknown as AjvCtor;
    validator = new Ajv({ allErrors: true }).compile(JSON.parse(readFileSync(schemaPath, 'utf8')) as object);
  }
  if (validator(plan)) return [];
  return (validator.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}`);
}

function exprJson(name: string, role: string, c: CompiledExpr): object {
  return {
    name,
    role,
    written: printIR(c.written),
    rewritten: printIR(c.expr),
    rules: c.steps.map((s) => s.rule),
    costWritten: { flops: c.costWritten.flops, memory: c.costWritten.memory },
    cost: { flops: c.cost.flops, memory: c.cost.memory },
  };
}

type ScoreForm = Exclude<CompiledScore['tuples' | 'rows' | 'pairs'], Unavailable>;

/** The forms of `def score` that evaluation and `recc recommend` run (Compiled.score), and why the others are absent. */
function scoreForms(c: Compiled): { forms: ScoreForm[]; unavailable: Record<string, string> } {
  const forms: ScoreForm[] = [];
  const unavailable: Record<string, string> = {};
  for (const kind of ['tuples', 'rows', 'pairs'] as const) {
    const f = c.score?.[kind];
    if (f?.kind === 'unavailable') unavailable[kind] = f.reason;
    else if (f) forms.push(f);
  }
  return { forms, unavailable };
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** A kernel's source; a size too large for the backend names the term, gradient or score form it is for. */
function emitNamed(label: string, step: Parameters<typeof emitKernel>[0], plan: Parameters<typeof emitKernel>[1]): string {
  try {
    return emitKernel(step, plan).source;
  } catch (err) {
    throw err instanceof SizeLimitError ? new SizeLimitError(`${label} at the compile-time sizes: ${err.message}`) : err;
  }
}

export function writeArtifact(dir: string, modelPath: string, sets: ReadonlyMap<string, number>, c: Compiled): void {
  mkdirSync(join(dir, 'kernels'), { recursive: true });
  const source = readFileSync(modelPath, 'utf8');
  const kernels: object[] = [];
  const emit = (label: string, file: string, e: CompiledExpr, out: Parameters<typeof planExpr>[1]): void => {
    const plan = planExpr(e.expr, out, c.module.spaces, c.sizes);
    const bodies = plan.steps
      .filter((s) => s.kind === 'kernel')
      .map((s) => `// step ${s.name}: ${s.cells} threads\nexport const ${s.name} = ${emitNamed(label, s, plan)};\n`);
    writeAtomic(join(dir, 'kernels', file), `// ${label} — gpu.js kernels planned at the compile-time sizes\n${bodies.join('\n')}`);
    kernels.push({ of: label, file: `kernels/${file}`, steps: plan.steps.length, flops: plan.cost.flops });
  };
  c.terms.forEach((t, j) => emit(`${t.role} ${t.name}`, `term${j}-${t.name}.js`, t, []));
  c.grads.forEach((g) => emit(`gradient of ${g.param}`, `grad-${g.param}.js`, g, g.out));
  const { forms, unavailable } = scoreForms(c);
  forms.forEach((f) => emit(`score ${f.kind}`, `score-${f.kind}.js`, f, f.out));
  const plan = {
    version: 2,
    recc: '0.1.0',
    model: c.model.name,
    source: 'model.recmodel',
    sourceSha256: sha256(source),
    baseDir: dirname(resolve(modelPath)),
    sets: Object.fromEntries(sets),
    sizes: Object.fromEntries(c.sizes),
    params: c.module.params.map((p) => ({ name: p.name, axes: p.shape })),
    terms: c.terms.map((t) => exprJson(t.name, t.role, t)),
    grads: c.grads.map((g) => exprJson(g.param, 'gradient', g)),
    score: c.score ? { relation: c.score.relation, forms: forms.map((f) => ({ ...exprJson(f.kind, 'score', f), axes: f.out.map((i) => i.space) })), unavailable } : null,
    kernels,
  };
  const errors = validatePlan(plan);
  if (errors.length) throw new Error(`internal: the plan does not match its schema: ${errors.join('; ')}`);
  writeAtomic(join(dir, 'model.recmodel'), source);
  writeAtomic(join(dir, 'plan.json'), JSON.stringify(plan, null, 2) + '\n');
}

export interface Artifact {
  readonly modelPath: string;
  readonly sets: ReadonlyMap<string, number>;
  readonly baseDir: string;
}

export function readArtifact(dir: string): Artifact {
  const planPath = join(dir, 'plan.json');
  if (!existsSync(planPath)) throw new ArtifactError(`${dir} is not a compiled artifact (no plan.json); compile one with \`recc compile MODEL -o ${dir}\``);
  let plan: unknown;
  try {
    plan = JSON.parse(readFileSync(planPath, 'utf8'));
  } catch (err) {
    throw new ArtifactError(`${planPath}: not valid JSON (${(err as Error).message})`);
  }
  const errors = validatePlan(plan);
  if (errors.length) throw new ArtifactError(`${planPath} does not match the plan schema:\n  ${errors.join('\n  ')}\n  = help: recompile it with \`recc compile\``);
  const p = plan as { sourceSha256: string; sets: Record<string, number>; baseDir: string };
  const modelPath = join(dir, 'model.recmodel');
  if (!existsSync(modelPath)) throw new ArtifactError(`${dir} has no model.recmodel`);
  if (sha256(readFileSync(modelPath, 'utf8')) !== p.sourceSha256) {
    throw new ArtifactError(`${modelPath} was edited after compiling (its sha256 no longer matches plan.json); recompile with \`recc compile\``);
  }
  return { modelPath, sets: new Map(Object.entries(p.sets)), baseDir: p.baseDir };
}

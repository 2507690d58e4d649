// The `recc` command line: check | explain | compile | run | recommend. It only wires stages together
// (compiler/compile.ts, runtime/*) and turns every failure into a message: diagnostics with carets,
// data errors with file:line:col, and — for a bug in recc itself — one line asking for a report.
// Exit codes: 0 success, 1 the input has errors (or training diverged), 2 the command line is wrong.
// Start-up matters (`recc check` in an editor): only the compiler is imported statically; the runtime
// (gpu.js, data loading, training, artifacts) is imported by `main` for the commands that need it.
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { checkAndLower, compileFile, type CompileResult } from '../compiler/compile.ts';
import { hasErrors, renderDiagnostics, type Diagnostic } from '../compiler/diagnostics/diagnostics.ts';
import { explainCompiled, publicSizes, stepSizesOf } from '../compiler/explain.ts';
import { lineCol, type SourceFile } from '../compiler/diagnostics/source.ts';
import type { BackendMode } from '../runtime/exec/backends.ts';

/** The runtime modules, imported on demand (`loadRuntime`): gpu.js alone takes longer to load than `recc check` runs. */
export interface Runtime {
  readonly artifact: typeof import('../runtime/output/artifact.ts');
  readonly backends: typeof import('../runtime/exec/backends.ts');
  readonly data: typeof import('../runtime/data/load.ts');
  readonly dataset: typeof import('../runtime/data/dataset.ts');
  readonly evaluate: typeof import('../runtime/eval/evaluate.ts');
  readonly runFolder: typeof import('../runtime/output/run-folder.ts');
  readonly serve: typeof import('../runtime/serve/serve.ts');
  readonly train: typeof import('../runtime/train/train.ts');
  readonly stepSizes: typeof import('../runtime/train/step-sizes.ts');
}

export async function loadRuntime(): Promise<Runtime> {
  const [artifact, backends, data, dataset, evaluate, runFolder, serve, train, stepSizes] = await Promise.all([
    import('../runtime/output/artifact.ts'),
    import('../runtime/exec/backends.ts'),
    import('../runtime/data/load.ts'),
    import('../runtime/data/dataset.ts'),
    import('../runtime/eval/evaluate.ts'),
    import('../runtime/output/run-folder.ts'),
    import('../runtime/serve/serve.ts'),
    import('../runtime/train/train.ts'),
    import('../runtime/train/step-sizes.ts'),
  ]);
  return { artifact, backends, data, dataset, evaluate, runFolder, serve, train, stepSizes };
}

/** The commands that need the runtime (`explain` reads the model's data for its sizes); `check` runs on the compiler alone. */
const RUNTIME_COMMANDS: ReadonlySet<string> = new Set(['explain', 'compile', 'run', 'recommend']);

class UsageError extends Error {}

interface Args {
  readonly positional: string[];
  readonly flags: Map<string, string[]>;
}

const BOOLEAN_FLAGS = new Set(['quiet', 'help', 'no-rewrite', 'json', 'allow-dense', 'no-data']);

function parseArgs(argv: readonly string[]): Args {
  const positional: string[] = [];
  const flags = new Map<string, string[]>();
  for (let j = 0; j < argv.length; j++) {
    const a = argv[j]!;
    if (a.startsWith('--') || (a.startsWith('-') && a.length === 2)) {
      let name = a.replace(/^--?/, '');
      let value: string | undefined;
      const eq = name.indexOf('=');
      if (eq >= 0 && !name.startsWith('set')) {
        value = name.slice(eq + 1);
        name = name.slice(0, eq);
      } else if (name.startsWith('set=')) {
        value = name.slice(4);
        name = 'set';
      }
      if (name === 'o') name = 'out';
      if (name === 'h') name = 'help';
      if (BOOLEAN_FLAGS.has(name)) value = 'true';
      else if (value === undefined) {
        value = argv[++j];
        if (value === undefined) throw new UsageError(`--${name} needs a value`);
      }
      flags.set(name, [...(flags.get(name) ?? []), value]);
    } else positional.push(a);
  }
  return { positional, flags };
}

const flag = (args: Args, name: string): string | undefined => args.flags.get(name)?.at(-1);

function parseSets(args: Args): Map<string, number> {
  const sets = new Map<string, number>();
  for (const s of args.flags.get('set') ?? []) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.+)$/.exec(s);
    const value = m ? Number(m[2]) : NaN;
    if (!m || !Number.isFinite(value)) throw new UsageError(`--set expects NAME=NUMBER, got \`${s}\``);
    sets.set(m[1]!, value);
  }
  return sets;
}

function parseMode(args: Args, rt: Runtime): BackendMode {
  const modes = rt.backends.BACKEND_MODES;
  const mode = (flag(args, 'mode') ?? 'webasm') as BackendMode;
  if (!modes.includes(mode)) throw new UsageError(`--mode must be one of ${modes.join(', ')}; got \`${mode}\``);
  return mode;
}

const HELP = `recc — a compiler for recommendation models

usage:
  recc check FILE...            [--format json]           report diagnostics (exit 1 on errors): syntax,
                                                          names, shapes, constructs not lowered yet;
                                                          costs (RC0530, RC0531) are judged by explain,
                                                          compile and run, which rewrite every term
  recc explain FILE             [--set N=V] [--data F] [--no-data] [--sizes user=6040,ratings=1000209,clicks.x=2500000]
                                                          each term before/after rewriting, with FLOPs per
                                                          training step at the model's data sizes (or --data F);
                                                          --sizes overrides by public name: a domain (user), a
                                                          relation's tuples (ratings), a sparse column's
                                                          non-zeros (clicks.x); the batch is the model's
  recc compile FILE -o DIR      [--set N=V]               write the compiled artifact (plan.json, kernels)
  recc run FILE|DIR             [--data F] [--test F] [--out DIR] [--init RUN_DIR] [--set N=V]
                                [--mode webasm|cpu|reference] [--steps N] [--quiet] [--allow-dense]
                                                          train, evaluate, write the run folder
  recc recommend RUN_DIR --user ID [--top K] [--items u.item]
                                                          top-K unseen items for a user
`;

interface Reported {
  readonly diagnostics: readonly Diagnostic[];
  readonly sources: ReadonlyMap<string, SourceFile>;
}

function printDiagnostics(r: Reported, stream: NodeJS.WriteStream = process.stderr): void {
  if (r.diagnostics.length) stream.write(renderDiagnostics(r.diagnostics, (f) => r.sources.get(f)) + '\n');
}

function compileOrExit(path: string, args: Args, sizes?: ReadonlyMap<string, number>): NonNullable<CompileResult['compiled']> | undefined {
  if (!existsSync(path)) throw new UsageError(`no such model file: ${path}`);
  const r = compileFile(path, { sets: parseSets(args), sizes, rewrite: flag(args, 'no-rewrite') ? false : undefined, allowDense: flag(args, 'allow-dense') !== undefined });
  printDiagnostics(r);
  return hasErrors(r.diagnostics) ? undefined : r.compiled;
}

function cmdCheck(args: Args): number {
  if (args.positional.length === 0) throw new UsageError('recc check needs at least one model file');
  const json = flag(args, 'format') === 'json';
  let failed = false;
  const all: object[] = [];
  for (const path of args.positional) {
    if (!existsSync(path)) throw new UsageError(`no such model file: ${path}`);
    const r = checkAndLower(path, readFileSync(path, 'utf8'), { sets: parseSets(args) });
    failed ||= hasErrors(r.diagnostics);
    if (json) all.push(...r.diagnostics.map((d) => diagnosticJson(d, r)));
    else if (r.diagnostics.length) printDiagnostics(r, process.stdout);
    else process.stdout.write(`${path}: ok\n`);
  }
  if (json) process.stdout.write(JSON.stringify(all, null, 2) + '\n');
  return failed ? 1 : 0;
}

function diagnosticJson(d: Diagnostic, r: Reported): object {
  const src = r.sources.get(d.span.file);
  const pos = (o: number) => (src ? lineCol(src, o) : undefined);
  return { ...d, start: pos(d.span.start), end: pos(d.span.end) };
}

function parseSizes(s: string | undefined): Map<string, number> | undefined {
  if (!s) return undefined;
  const out = new Map<string, number>();
  for (const part of s.split(',')) {
    const m = /^([^=]+)=(\d+)$/.exec(part.trim());
    if (!m) throw new UsageError(`--sizes expects NAME=N,NAME=N; got \`${part}\``);
    out.set(m[1]!, Number(m[2]));
  }
  return out;
}

/**
 * `recc explain`: costs per training step at the sizes of the model's own data (its data files, or
 * `--data FILE` for the primary relation), as a run would see them; `--sizes` then overrides sizes
 * by public name. Without the runtime (an in-process caller that did not load it) or with
 * `--no-data`, the compiler's default sizes.
 */
function cmdExplain(args: Args, rt: Runtime | undefined): number {
  const path = args.positional[0];
  if (!path) throw new UsageError('recc explain needs a model file');
  const first = compileOrExit(path, args);
  if (!first) return 1;
  let full: Map<string, number> = new Map(first.sizes);
  let step: Map<string, number> | undefined;
  let atRows: ReadonlySet<string> | undefined;
  let from: string | undefined;
  if (rt && !flag(args, 'no-data')) {
    const data = flag(args, 'data');
    const ds = rt.dataset.loadDataset(first.model, { data: data && resolve(data) });
    const s = rt.stepSizes.stepSizes(first, ds);
    full = s.full;
    step = s.step;
    atRows = s.atRows;
    from = data ?? `the model's data (${first.model.relations.flatMap((r) => (r.source.kind === 'file' ? [r.source.path] : [])).join(', ')})`;
  }
  const given = parseSizes(flag(args, 'sizes'));
  if (given) {
    const r = publicSizes(first, full, given);
    if (r.unknown.length) throw new UsageError(`--sizes: unknown name${r.unknown.length > 1 ? 's' : ''} ${r.unknown.map((n) => `\`${n}\``).join(', ')} (sizes of this model: ${r.known.join(', ')})`);
    full = r.sizes;
    step = undefined; // re-derived from the given sizes below
    atRows = undefined;
    from = from ? `${from}, with --sizes` : '--sizes';
  }
  const compiled = compileOrExit(path, args, full);
  if (!compiled) return 1;
  process.stdout.write(explainCompiled(compiled, { step: step ?? stepSizesOf(compiled, full), atRows, sizesFrom: from }) + '\n');
  return 0;
}

function cmdCompile(args: Args, rt: Runtime): number {
  const path = args.positional[0];
  const out = flag(args, 'out');
  if (!path || !out) throw new UsageError('usage: recc compile FILE -o DIR');
  const compiled = compileOrExit(path, args);
  if (!compiled) return 1;
  rt.artifact.writeArtifact(out, path, parseSets(args), compiled);
  process.stdout.write(`compiled ${path} → ${out}/ (plan.json, model.recmodel, kernels/)\n`);
  return 0;
}

function cmdRun(args: Args, rt: Runtime): number {
  const { createBackend, GpuBackend } = rt.backends;
  const { readParams, saveParams, writeLossLog, writeMetrics, writeReport, writeAtomic } = rt.runFolder;
  const { train, sizesFor } = rt.train;
  const target = args.positional[0];
  if (!target) throw new UsageError('recc run needs a model file or a compiled artifact folder');
  if (!existsSync(target)) throw new UsageError(`no such file or folder: ${target}`);
  const quiet = flag(args, 'quiet') !== undefined;
  let modelPath = target;
  let sets = parseSets(args);
  let baseDir: string | undefined;
  if (statSync(target).isDirectory()) {
    const art = rt.artifact.readArtifact(target);
    modelPath = art.modelPath;
    sets = new Map([...art.sets, ...sets]);
    baseDir = art.baseDir;
  }
  const allowDense = flag(args, 'allow-dense') !== undefined;
  const first = compileFile(modelPath, { sets, allowDense });
  printDiagnostics(first);
  if (hasErrors(first.diagnostics) || !first.compiled) return 1;
  const model = first.compiled.model;
  const data = flag(args, 'data');
  const test = flag(args, 'test');
  const ds = rt.dataset.loadDataset(model, { data: data && resolve(data), test: test && resolve(test), baseDir });
  // recompile with the real sizes, so the cost model plans for this data
  const sizes = sizesFor(first.compiled, ds, ds.train, ds.train);
  const sized = compileFile(modelPath, { sets, sizes, allowDense });
  // the real sizes can change what the cost model chooses and reports: show only what is new
  const shown = new Set(first.diagnostics.map((d) => `${d.code}@${d.span.file}:${d.span.start}`));
  printDiagnostics({ diagnostics: sized.diagnostics.filter((d) => !shown.has(`${d.code}@${d.span.file}:${d.span.start}`)), sources: sized.sources });
  if (hasErrors(sized.diagnostics) || !sized.compiled) return 1;
  const compiled = sized.compiled;
  const mode = parseMode(args, rt);
  const backend = createBackend(mode, compiled.module.spaces);
  const out = flag(args, 'out') ?? join('runs', `${model.name}-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  mkdirSync(out, { recursive: true });
  const log = (s: string): void => {
    if (!quiet) process.stderr.write(s + '\n');
  };
  log(`recc run ${model.name}: ${ds.protocol}`);
  log(`  sizes ${[...sizes].filter(([k]) => !k.includes('#')).map(([k, v]) => `|${k}|=${v}`).join(' ')} · backend ${backend.name} · seed ${model.train.seed}`);
  let init: Map<string, Float32Array> | undefined;
  const initDir = flag(args, 'init');
  if (initDir) {
    const r = readParams(initDir, compiled, ds);
    init = r.params;
    log(`  warm start from ${initDir}`);
    r.notes.forEach((n) => log(`  note: ${n}`));
  }
  const stepsFlag = flag(args, 'steps');
  const steps = stepsFlag === undefined ? undefined : Number(stepsFlag);
  if (steps !== undefined && !(Number.isInteger(steps) && steps >= 0)) throw new UsageError('--steps expects a whole number');
  let lastPrint = 0;
  const result = train(compiled, ds, {
    backend,
    init,
    steps,
    onStep: (s) => {
      const now = performance.now();
      if (quiet || (now - lastPrint < 1000 && s.step !== 1)) return;
      lastPrint = now;
      const terms = Object.entries(s.terms).map(([k, v]) => `${k} ${v.toPrecision(5)}`).join('  ');
      log(`  step ${String(s.step).padStart(6)}  epoch ${s.epoch.toFixed(2).padStart(7)}  lr ${s.lr.toPrecision(3)}  ${terms}  total ${s.total.toPrecision(5)}  (${s.ms.toFixed(1)} ms/step)`);
    },
    onEval: (r) => log(`  eval  step ${r.step}: ${Object.entries(r.metrics).map(([k, v]) => `${k} ${v.toFixed(4)}`).join('  ')}`),
  });
  if (backend instanceof GpuBackend) {
    for (const f of backend.fallbacks()) log(`  warning: kernel ${f.step} ran on ${f.backend} instead of ${mode}: ${f.fallbackReason ?? 'unknown reason'}`);
  }
  backend.dispose();
  const summary = { model: model.name, backend: backend.name, protocol: ds.protocol, seed: model.train.seed, sizes: Object.fromEntries([...sizes].filter(([k]) => !k.includes('#'))), result };
  saveParams(out, compiled, ds, result.params);
  writeLossLog(out, compiled, result.log);
  writeMetrics(out, summary);
  writeReport(out, compiled, summary);
  writeAtomic(join(out, 'model.recmodel'), readFileSync(modelPath, 'utf8'));
  writeAtomic(join(out, 'run.json'), JSON.stringify({ model: resolve(modelPath), sets: Object.fromEntries(sets), data: data ? resolve(data) : null, test: test ? resolve(test) : null, baseDir: baseDir ?? dirname(resolve(modelPath)), mode }, null, 2) + '\n');
  if (result.diverged) {
    const d = result.diverged;
    process.stderr.write(
      `error: training diverged: term \`${d.term}\` became ${d.value} at step ${d.step}\n` +
        `  = note: the params that step ${d.step} evaluated (after ${d.step - 1} updates) are saved in ${out}/params\n` +
        `  = help: lower the learning rate (now ${model.train.optimizer.lr}) or strengthen the regularizers\n`,
    );
    return 1;
  }
  const final = result.evals.at(-1);
  const wanted = model.evaluate.metrics.map(rt.evaluate.metricName);
  process.stdout.write(
    `${model.name}: ${result.stepsRun} steps in ${result.seconds.toFixed(1)} s` +
      (final ? ` · ${wanted.map((m) => `${m} ${final.metrics[m]?.toFixed(4)}`).join(' · ')}` : '') +
      `\nrun folder: ${out}/ (metrics.json, loss.csv, params/*.npy, ids/, report.md)\n`,
  );
  return 0;
}

function cmdRecommend(args: Args, rt: Runtime): number {
  const dir = args.positional[0];
  const user = flag(args, 'user');
  if (!dir || user === undefined) throw new UsageError('usage: recc recommend RUN_DIR --user ID [--top K] [--items FILE]');
  const top = Number(flag(args, 'top') ?? 10);
  if (!(Number.isInteger(top) && top > 0)) throw new UsageError('--top expects a positive whole number');
  const lines = rt.serve.recommend(dir, user, top, flag(args, 'items'));
  process.stdout.write(lines.join('\n') + '\n');
  return 0;
}

/**
 * `recc ...argv`: imports the runtime if the command needs it, then runs it (`runCommand`).
 * Resolves to the exit code; never rejects.
 */
export async function main(argv: readonly string[]): Promise<number> {
  let runtime: Runtime | undefined;
  if (needsRuntime(argv)) {
    try {
      runtime = await loadRuntime();
    } catch (err) {
      return internalError(err);
    }
  }
  return runCommand(argv, runtime);
}

function needsRuntime(argv: readonly string[]): boolean {
  try {
    const args = parseArgs(argv);
    const cmd = args.positional[0];
    return cmd !== undefined && RUNTIME_COMMANDS.has(cmd) && !flag(args, 'help');
  } catch {
    return false; // a usage error: runCommand reports it
  }
}

/**
 * Runs one command synchronously. `runtime` must be given for compile, run and recommend (`main`
 * loads it; an in-process caller such as the tests may load it once with `loadRuntime`).
 */
export function runCommand(argv: readonly string[], runtime?: Runtime): number {
  const rt = (): Runtime => {
    if (!runtime) throw new Error('the runtime modules are not loaded (call main, or pass loadRuntime() to runCommand)');
    return runtime;
  };
  try {
    const args = parseArgs(argv);
    const [cmd, ...rest] = args.positional;
    const sub: Args = { positional: rest, flags: args.flags };
    if (!cmd || flag(args, 'help')) {
      process.stdout.write(HELP);
      return cmd || flag(args, 'help') ? 0 : 2;
    }
    switch (cmd) {
      case 'check':
        return cmdCheck(sub);
      case 'explain':
        return cmdExplain(sub, runtime);
      case 'compile':
        return cmdCompile(sub, rt());
      case 'run':
        return cmdRun(sub, rt());
      case 'recommend':
        return cmdRecommend(sub, rt());
      default:
        throw new UsageError(`unknown command \`${cmd}\` (commands: check, explain, compile, run, recommend)`);
    }
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`error: ${err.message}\n\n${HELP}`);
      return 2;
    }
    if (runtime && isUserError(runtime, err)) {
      process.stderr.write(`error: ${err.message}\n`);
      return 1;
    }
    return internalError(err);
  }
}

/** A data, evaluation, artifact or recommendation problem: the user's to fix, shown without a stack. */
function isUserError(rt: Runtime, err: unknown): err is Error {
  return err instanceof rt.data.DataError || err instanceof rt.evaluate.EvalError || err instanceof rt.artifact.ArtifactError || err instanceof rt.serve.RecommendError;
}

function internalError(err: unknown): number {
  const e = err instanceof Error ? err : new Error(String(err));
  process.stderr.write(`internal error: ${e.message}\n  = note: this is a bug in recc; please report it with the model file (RECC_DEBUG=1 shows the stack)\n`);
  if (process.env.RECC_DEBUG) process.stderr.write(`${e.stack}\n`);
  return 70;
}


// `recc run FILE|DIR`: compile (or read a compiled artifact), load the data, train, evaluate, and write
// the run folder (runtime/output/run-folder.ts). Progress goes to stderr, the summary to stdout.
// The run works in OUT.partial/ under the lock OUT.lock, writes a checkpoint there every so often
// (and on Ctrl-C/SIGTERM, then stops), and renames the folder onto OUT once it is complete;
// `--resume OUT` (or the same command line again) continues an interrupted run from its checkpoint
// with the same numbers as a run never stopped.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { command, UsageError, UserError, type CommandContext } from '../lib/args.ts';
import type { Runtime } from '../lib/runtime.ts';
import { reccVersion } from '../lib/version.ts';
import type { BackendMode } from '../../runtime/backends/backends.ts';
import type { CheckpointIdentity } from '../../runtime/train/checkpoint.ts';
import type { TrainResult, TrainState } from '../../runtime/train/train.ts';
import { ALLOW_DENSE_FLAG, compileForData, makeFolder, SET_FLAG, THREADS_FLAG } from './common.ts';
import { publicSizes } from '../../compiler/ir/spaces.ts';
import type { SourceFile } from '../../compiler/diagnostics/source.ts';
import { explainSummary } from '../lib/explain-summary.ts';
import { Progress } from '../lib/progress.ts';

/** runtime/backends/backends.ts's BACKEND_MODES, named here so that `recc run --help` needs no runtime (a test compares them) */
export const MODES = ['js', 'webasm', 'cpu', 'reference', 'wasm', 'webgpu', 'auto'] as const satisfies readonly BackendMode[];

/** The --mode a run gets when none is given. */
export const DEFAULT_MODE: (typeof MODES)[number] = 'wasm';

/** A checkpoint after each this many seconds of training, unless --checkpoint-secs says otherwise. */
export const DEFAULT_CHECKPOINT_SECONDS = 60;

export const run = command({
  name: 'run',
  summary: 'train, evaluate, and write the run folder (metrics, loss log, params, report)',
  description:
    'Trains on the data the model names (its split gives the test rows); --data and --test replace it.\n' +
    'Writes metrics.json, loss.csv, params/*.npy (with manifest.json), ids/, serving/ (what recommend and serve read), explain.json, report.md and report.html.\n' +
    'The run works in OUT.partial/ and renames it onto OUT when done, so OUT is always one whole run; ' +
    'an --out folder that is not empty is refused unless --force. It writes a checkpoint every ' +
    `${DEFAULT_CHECKPOINT_SECONDS} s (and on Ctrl-C, then stops; Ctrl-C twice stops at once); ` +
    '`recc run --resume OUT` continues from it with the numbers an uninterrupted run gives.',
  operands: [{ name: 'FILE|DIR', meaning: 'a .recmodel file, or an artifact folder written by `recc compile` (optional with --resume)', optional: true }],
  flags: [
    { kind: 'string', name: 'data', arg: 'FILE', meaning: "training data, replacing the model's primary relation's file", default: "the file the model names" },
    { kind: 'string', name: 'test', arg: 'FILE', meaning: "test rows for that relation, instead of the model's split", default: "the model's split" },
    { kind: 'string', name: 'out', short: 'o', arg: 'DIR', meaning: 'the run folder to write (refused if it is not empty, unless --force)', default: 'runs/YYYYMMDD-HHMMSS-MODEL, a new folder' },
    { kind: 'boolean', name: 'force', meaning: 'clear --out first (a finished run, other files, or an interrupted run) instead of refusing it' },
    { kind: 'string', name: 'resume', arg: 'RUN', meaning: 'continue the interrupted run RUN (its --out) from its last checkpoint, with its own model, data and settings', default: 'a new run' },
    { kind: 'string', name: 'init', arg: 'RUN_DIR', meaning: "warm start from a previous run's params, rows matched by external id", default: "the model's initializers" },
    SET_FLAG,
    { kind: 'choice', name: 'mode', choices: MODES, value: DEFAULT_MODE, meaning: "where the kernels run: js (recc's own JavaScript kernels, integer indexing, any size), gpu.js webasm or cpu (tensors below 2^24 cells), reference (the float64 interpreter), wasm (recc's own WebAssembly SIMD kernels, --threads), webgpu (gpu.js WebGPU kernels, recc's own WGSL past 2^24 cells or one storage binding, params resident on the device; needs the optional webgpu package and a Vulkan driver, never falls back), auto (webgpu on a hardware adapter, else js)" },
    THREADS_FLAG,
    { kind: 'count', name: 'steps', arg: 'N', min: 0, meaning: 'stop after N updates, overriding the model\'s `train { … }`', default: "the model's steps or epochs" },
    { kind: 'count', name: 'epochs', arg: 'N', min: 1, meaning: 'stop after N passes over the training data, overriding the model\'s `train { … }`', default: "the model's steps or epochs" },
    { kind: 'count', name: 'checkpoint-every', arg: 'N', min: 0, value: 0, meaning: 'also write a checkpoint every N steps (0: by time only)' },
    { kind: 'count', name: 'checkpoint-secs', arg: 'S', min: 0, value: DEFAULT_CHECKPOINT_SECONDS, meaning: 'write a checkpoint after each S seconds of training (0: never by time)' },
    { kind: 'boolean', name: 'quiet', short: 'q', meaning: 'no progress lines on stderr (the summary still goes to stdout)' },
    ALLOW_DENSE_FLAG,
  ],
  needsRuntime: () => true,
  run: ({ operands, flags }, runtime: () => Runtime, context?: CommandContext) => {
    const rt = runtime();
    if (flags.steps !== undefined && flags.epochs !== undefined) throw new UsageError('give either --steps or --epochs, not both');
    const quiet = flags.quiet;
    const log = (s: string): void => {
      if (!quiet) process.stderr.write(s + '\n');
    };
    const { partialFolder, CHECKPOINT_FILE } = rt.runFolder;

    // what to run: the command line, or (--resume) the interrupted run's own settings
    let settings: RunSettings;
    let resumeOut: string | undefined;
    if (flags.resume !== undefined) {
      const given = (['data', 'test', 'out', 'init', 'force', 'allow-dense'] as const).filter((f) => flags[f] !== undefined && flags[f] !== false);
      if (flags.set.size) given.push('set' as never);
      if (flags.mode !== DEFAULT_MODE) given.push('mode' as never);
      if (given.length) throw new UsageError(`--${given[0]} cannot be given with --resume: the run continues with its own settings (its run.json)`);
      resumeOut = runFolderOf(flags.resume);
      settings = savedSettings(rt, resumeOut, flags.resume);
      if (operands[0] !== undefined && resolve(operands[0]) !== settings.target)
        throw new UserError(`--resume ${flags.resume}: that run trains ${settings.target}, not ${operands[0]}; leave out the model file to continue it`);
      settings = { ...settings, steps: flags.steps ?? (flags.epochs === undefined ? settings.steps : undefined), epochs: flags.epochs ?? (flags.steps === undefined ? settings.epochs : undefined) };
    } else {
      const target = operands[0];
      if (target === undefined) throw new UsageError('recc run needs FILE|DIR (a .recmodel file, or an artifact folder written by `recc compile`), or --resume RUN');
      if (!existsSync(target)) throw new UsageError(`no such file or folder: ${target}`);
      if (flags.init !== undefined && !existsSync(join(flags.init, 'params', 'manifest.json')))
        throw new UserError(`${flags.init} is not a run folder (no params/manifest.json); --init takes a folder written by \`recc run --out\``);
      settings = {
        target: resolve(target),
        sets: flags.set,
        data: flags.data === undefined ? null : resolve(flags.data),
        test: flags.test === undefined ? null : resolve(flags.test),
        mode: flags.mode,
        allowDense: flags['allow-dense'],
        steps: flags.steps,
        epochs: flags.epochs,
        init: flags.init === undefined ? null : resolve(flags.init),
      };
    }

    const { createBackend, GpuBackend } = rt.backends;
    const { readParams, saveParams, writeLossLog, writeMetrics, writeReport, writeAtomic } = rt.runFolder;
    let modelPath = settings.target;
    let sets = settings.sets;
    let baseDir: string | undefined;
    if (statSync(settings.target).isDirectory()) {
      const art = rt.artifact.readArtifact(settings.target);
      modelPath = art.modelPath;
      sets = new Map([...art.sets, ...sets]);
      baseDir = art.baseDir;
    }
    const r = compileForData(rt, modelPath, { sets, allowDense: settings.allowDense }, { data: settings.data ?? undefined, test: settings.test ?? undefined, baseDir });
    if (!r) return 1;
    const { compiled, ds, sizes } = r;
    const model = compiled.model;
    rt.dataset.checkTrainable(model, ds);
    // a bad --init folder is reported before the run folder is made
    const warm = settings.init === null ? undefined : readParams(settings.init, compiled, ds);
    const identity: CheckpointIdentity = {
      recc: reccVersion(),
      model: model.name,
      modelHash: modelHash(r.sources, sets, settings.allowDense),
      dataHash: rt.checkpoint.dataFingerprint(ds),
      seed: model.train.seed,
      mode: settings.mode,
    };

    // the folder: lock it, then settle what is there (an interrupted run to continue, a folder to refuse or clear)
    const out = resumeOut ?? flags.out ?? rt.runFolder.defaultRunFolder(model.name);
    makeFolder(dirname(resolve(out)), '--out', out);
    const lock = rt.runFolder.lockRunFolder(out);
    // the progress bar's redraw timer must end with the run, however it ends
    let progress: Progress | undefined;
    const release = (): void => {
      progress?.stop();
      lock.release();
    };
    const finish = (code: number | Promise<number>): number | Promise<number> => {
      if (typeof code === 'number') release();
      else void code.then(release, release);
      return code;
    };
    let code: number | Promise<number>;
    try {
      if (lock.tookOver) log(`note: ${out} was locked by a run that is gone (pid ${lock.tookOver.pid}, started ${lock.tookOver.started}); its lock is taken over`);
      const partial = partialFolder(out);
      const resumeState = settleFolder(rt, out, partial, identity, resumeOut !== undefined, flags.force, log);
      const runJson = {
        model: modelPath,
        target: settings.target,
        sets: Object.fromEntries(sets),
        data: settings.data,
        test: settings.test,
        baseDir: baseDir ?? dirname(resolve(modelPath)),
        mode: settings.mode,
        allowDense: settings.allowDense,
        steps: settings.steps ?? null,
        epochs: settings.epochs ?? null,
        init: settings.init,
        identity,
      };
      writeAtomic(join(partial, 'run.json'), JSON.stringify(runJson, null, 2) + '\n');

      const backend = webgpuBackend(() => createBackend(settings.mode, compiled.module.spaces, { threads: flags.threads ?? availableParallelism() }));
      log(`recc run ${model.name}: ${ds.protocol}`);
      log(`  sizes ${publicSizes(compiled.module.spaces, sizes).map(([k, v]) => `|${k}|=${v}`).join(' ')} · backend ${backend.name} · seed ${model.train.seed}`);
      log(`  run folder ${out} (working in ${partial})`);
      let init: Map<string, Float32Array> | undefined;
      if (resumeState) log(`  resuming at step ${resumeState.step} from ${join(partial, CHECKPOINT_FILE)}`);
      else if (warm) {
        const p = warm;
        init = p.params;
        log(`  warm start from ${settings.init}`);
        p.notes.forEach((n) => log(`  note: ${n}`));
      }
      const checkpointPath = join(partial, CHECKPOINT_FILE);
      let savedStep: number | undefined = resumeState?.step;
      const stop: { signal?: NodeJS.Signals } = {};
      progress = quiet ? undefined : new Progress({ stream: process.stderr });
      const run = rt.train.training(compiled, ds, {
        backend,
        init,
        steps: settings.steps,
        epochs: settings.epochs,
        resume: resumeState,
        checkpoint: {
          everySteps: flags['checkpoint-every'],
          everySeconds: flags['checkpoint-secs'],
          atEnd: true,
          save: (state) => {
            try {
              rt.checkpoint.writeCheckpoint(checkpointPath, identity, state);
            } catch (err) {
              throw writeFailure(rt, err, checkpointPath, out, partial, savedStep);
            }
            savedStep = state.step;
          },
        },
        stop: () => stop.signal !== undefined,
        // progress (cli/lib/progress.ts): a redrawing bar on a terminal, periodic lines elsewhere
        onStart: (plan) => progress?.start(plan),
        onStep: (s) => progress?.step(s),
        onEval: (e) => progress?.line(`  eval  step ${e.step} on ${e.on}: ${Object.entries(e.metrics).map(([k, v]) => `${k} ${v.toFixed(4)}`).join('  ')}`),
      });

      const done = (result: TrainResult): number => {
        progress?.stop();
        if (backend instanceof GpuBackend) {
          for (const f of backend.fallbacks()) log(`  warning: kernel ${f.step} ran on ${f.backend} instead of ${settings.mode}: ${f.fallbackReason ?? 'unknown reason'}`);
        }
        backend.dispose();
        if (result.stopped) {
          const how = `recc run --resume ${out}`;
          process.stderr.write(
            `stopped by ${stop.signal} after step ${result.stopped.step}: the run so far is saved in ${checkpointPath}\n` +
              `  = help: continue it with \`${how}\` (or run the same command again); ${out} itself was not written\n`,
          );
          return stop.signal === 'SIGTERM' ? 143 : 130;
        }
        const summary = { model: model.name, backend: backend.name, protocol: ds.protocol, seed: model.train.seed, sizes: Object.fromEntries(publicSizes(compiled.module.spaces, sizes)), result, earlyStop: model.evaluate.earlyStop };
        try {
          saveParams(partial, compiled, ds, result.params);
          // what serving reads instead of the training data (runtime/output/serving-files.ts); not for diverged params
          if (!result.diverged) rt.servingFiles.writeServingFiles(partial, compiled, ds, result.params);
          writeLossLog(partial, compiled, result.log);
          writeMetrics(partial, summary);
          writeReport(partial, compiled, summary);
          // the compiler's account of a step (explain.json) and the HTML report, which reads the folder's files
          const sized = rt.stepSizes.stepSizes(compiled, ds);
          writeAtomic(join(partial, 'explain.json'), JSON.stringify(explainSummary(compiled, sized.step, sized.atRows), null, 2) + '\n');
          writeAtomic(join(partial, 'model.recmodel'), readFileSync(modelPath, 'utf8'));
          writeAtomic(join(partial, 'run.json'), JSON.stringify(runJson, null, 2) + '\n');
          rt.runReport.writeRunReport(partial);
          rt.runFolder.finishRunFolder(partial, out);
        } catch (err) {
          throw writeFailure(rt, err, partial, out, partial, result.diverged ? savedStep : result.stepsRun);
        }
        if (result.diverged) {
          const d = result.diverged;
          process.stderr.write(
            `error: training diverged: term \`${d.term}\` became ${d.value} at step ${d.step}\n` +
              `  = note: the params that step ${d.step} evaluated (after ${d.step - 1} updates) are saved in ${out}/params\n` +
              (model.train.optimizer.kind === 'als'
                ? '  = help: strengthen the regularizers (each row\'s normal equations need a positive definite matrix)\n'
                : `  = help: lower the learning rate (now ${model.train.optimizer.lr}) or strengthen the regularizers\n`),
          );
          return 1;
        }
        const final = rt.runFolder.finalTest(result);
        const wanted = model.evaluate.metrics.map(rt.evaluate.metricName);
        const onTest = result.heldOut.evaluatedOn === 'test' && result.evals.length > 0;
        if (onTest) log(`  note: ${rt.runFolder.ON_TEST_NOTE}`);
        process.stdout.write(
          `${model.name}: ${result.stepsRun} steps in ${result.seconds.toFixed(1)} s` +
            (final ? ` · test ${wanted.map((m) => `${m} ${final.metrics[m]?.toFixed(4)}`).join(' · ')}` : '') +
            (result.heldOut.best ? `\nparams from ${rt.runFolder.paramsOrigin(result)}${result.heldOut.stoppedAt !== undefined ? `; stopped early after step ${result.heldOut.stoppedAt}` : ''}` : '') +
            `\nrun folder: ${out}/ (metrics.json, loss.csv, params/*.npy, ids/, report.md, report.html)\n`,
        );
        return 0;
      };

      if (!context?.signals) {
        let it = run.next();
        while (!it.done) it = run.next();
        code = done(it.value);
      } else code = trainWithSignals(run, stop, () => lock.release(), checkpointPath).then(done);
    } catch (err) {
      release();
      throw err;
    }
    return finish(code);
  },
});

/** How a run was asked for: what run.json keeps, so `--resume` runs it the same way. */
interface RunSettings {
  /** the model file or artifact folder, absolute */
  readonly target: string;
  readonly sets: ReadonlyMap<string, number>;
  readonly data: string | null;
  readonly test: string | null;
  readonly mode: (typeof MODES)[number];
  readonly allowDense: boolean;
  readonly steps: number | undefined;
  readonly epochs: number | undefined;
  readonly init: string | null;
}

/** `RUN` or `RUN.partial` (either may be given to --resume) → RUN. */
function runFolderOf(path: string): string {
  const p = path.replace(/\/+$/, '');
  return p.endsWith('.partial') ? p.slice(0, -'.partial'.length) : p;
}

/** The settings an interrupted run recorded in OUT.partial/run.json. */
function savedSettings(rt: Runtime, out: string, given: string): RunSettings {
  const partial = rt.runFolder.partialFolder(out);
  if (!existsSync(partial)) {
    const there = rt.runFolder.folderContents(out);
    if (there.kind === 'run')
      throw new UserError(`--resume ${given}: ${out} is a finished run, there is nothing to resume; \`--init ${out}\` warm-starts a new run from its params`);
    throw new UserError(`--resume ${given}: there is no interrupted run at ${out} (no ${partial}/ folder)`);
  }
  const j = rt.runFolder.readRunJson(partial);
  const str = (v: unknown): v is string => typeof v === 'string';
  const optCount = (v: unknown): v is number | null => v === null || v === undefined || (Number.isSafeInteger(v) && (v as number) >= 0);
  const sets = j?.sets;
  const okSets = sets !== null && typeof sets === 'object' && Object.values(sets as object).every((v) => typeof v === 'number');
  if (!j || !str(j.target) || !okSets || !(j.data === null || str(j.data)) || !(j.test === null || str(j.test)) || !MODES.includes(j.mode as never) || !optCount(j.steps) || !optCount(j.epochs))
    throw new UserError(`--resume ${given}: ${join(partial, 'run.json')} is missing or damaged, so the run cannot be continued; start it over with \`recc run MODEL --out ${out} --force\``);
  if (!existsSync(j.target)) throw new UserError(`--resume ${given}: the run's model ${j.target} no longer exists`);
  return {
    target: j.target,
    sets: new Map(Object.entries(sets as Record<string, number>)),
    data: j.data as string | null,
    test: j.test as string | null,
    mode: j.mode as RunSettings['mode'],
    allowDense: j.allowDense === true,
    steps: (j.steps as number | null) ?? undefined,
    epochs: (j.epochs as number | null) ?? undefined,
    init: str(j.init) ? j.init : null,
  };
}

/** SHA-256 of the model's sources (in a fixed order) and of what changes its meaning besides them. */
function modelHash(sources: ReadonlyMap<string, SourceFile>, sets: ReadonlyMap<string, number>, allowDense: boolean): string {
  const h = createHash('sha256');
  const texts = [...sources.values()].map((s) => s.text).sort();
  for (const t of texts) h.update(`${t.length}\n`).update(t);
  h.update(JSON.stringify([...sets].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))));
  h.update(allowDense ? 'allow-dense' : '');
  return h.digest('hex');
}

/**
 * Settles the run folder before training (under its lock) and makes OUT.partial/: an interrupted run of
 * this model is continued (its checkpoint's state is returned); anything else in OUT or OUT.partial is
 * refused unless `force`, which clears it.
 */
function settleFolder(rt: Runtime, out: string, partial: string, identity: CheckpointIdentity, resuming: boolean, force: boolean, log: (s: string) => void): TrainState | undefined {
  const { folderContents, readRunJson, CHECKPOINT_FILE } = rt.runFolder;
  const { identityDifferences, readCheckpoint } = rt.checkpoint;
  let continuing = resuming;
  if (!resuming && existsSync(partial)) {
    const saved = readRunJson(partial)?.identity as CheckpointIdentity | undefined;
    const same = saved !== undefined && identityDifferences(saved, identity).length === 0;
    if (force) rmSync(partial, { recursive: true, force: true });
    else if (same) {
      continuing = true;
      log(`note: ${partial} holds an interrupted run of this model; continuing it (--force starts over)`);
    } else
      throw new UserError(
        `--out ${out}: ${partial} holds an interrupted run${saved ? ` of model \`${saved.model}\`` : ''} that is not this one` +
          `${saved ? ` (${identityDifferences(saved, identity).join('; ')})` : ''}; continue it with \`recc run --resume ${out}\`, or start over with --force`,
      );
  }
  if (!continuing) {
    const there = folderContents(out);
    if (there.kind === 'file') throw new UserError(`--out ${out} is a file, not a folder`);
    if (there.kind === 'run' || there.kind === 'other') {
      if (!force)
        throw new UserError(
          `--out ${out}: the folder is not empty (${there.kind === 'run' ? `it holds a finished run of model \`${there.model}\`` : `${there.entries} entries`}); ` +
            `choose another --out, or give --force to clear it first${there.kind === 'run' ? ` (\`--init ${out}\` warm-starts from its params)` : ''}`,
        );
      rmSync(out, { recursive: true, force: true });
    }
    try {
      mkdirSync(partial);
    } catch (err) {
      throw new UserError(`--out ${out}: cannot create the folder ${partial} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
    return undefined;
  }
  // continuing: the run's recorded identity and its checkpoint must both be this model's, data's and seed's
  for (const f of readdirSync(partial)) if (/^\..*\.tmp-\d+$/.test(f) || /\.tmp-\d+$/.test(f)) rmSync(join(partial, f), { force: true }); // a write the kill interrupted
  const recorded = readRunJson(partial)?.identity as CheckpointIdentity | undefined;
  const refuse = (what: string, diffs: string[]): never => {
    throw new UserError(`cannot resume ${out}: ${what} does not match this run: ${diffs.join('; ')}; restore them, or start over with \`recc run MODEL --out ${out} --force\``);
  };
  if (recorded) {
    const diffs = identityDifferences(recorded, identity);
    if (diffs.length) refuse(`the interrupted run (${join(partial, 'run.json')})`, diffs);
  }
  const path = join(partial, CHECKPOINT_FILE);
  if (!existsSync(path)) {
    log(`note: ${partial} has no checkpoint yet; the run starts from step 0`);
    return undefined;
  }
  const ckpt = readCheckpoint(path);
  const diffs = identityDifferences(ckpt.identity, identity);
  if (diffs.length) refuse(`its checkpoint ${path}`, diffs);
  return ckpt.state;
}

/** A failed write (a full disk, say) as the user's error: which file, why, and that the run so far is kept. */
function writeFailure(rt: Runtime, err: unknown, path: string, out: string, partial: string, savedStep: number | undefined): Error {
  const e = err as NodeJS.ErrnoException;
  if (typeof e?.code !== 'string' || !/^E[A-Z]+$/.test(e.code)) return err as Error;
  // the file being written, named as it will be (not its temp name); else the one the caller knows
  if (typeof e.path === 'string') path = e.path.replace(/\.tmp-\d+$/, '').replace(/\/\.([^/]+)$/, '/$1');
  const why = e.code === 'ENOSPC' ? 'no space left on the device' : e.code === 'EDQUOT' ? 'disk quota exceeded' : e.code === 'EROFS' ? 'read-only file system' : e.message;
  const kept =
    savedStep === undefined
      ? `no checkpoint was written yet (${out} is unchanged)`
      : `the run so far is kept in ${join(partial, rt.runFolder.CHECKPOINT_FILE)} (step ${savedStep}) and ${out} is unchanged`;
  return new rt.runFolder.RunFolderError(`cannot write ${path}: ${why} (${e.code}); ${kept}; free some space and continue with \`recc run --resume ${out}\``);
}

/**
 * Drives the training generator, yielding to the event loop after each step so that SIGINT/SIGTERM
 * are seen: the first stops the run after its current step (with a checkpoint); a second exits at once.
 */
async function trainWithSignals(run: Generator<number, TrainResult, void>, stop: { signal?: NodeJS.Signals }, release: () => void, checkpoint: string): Promise<TrainResult> {
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stop.signal) {
      process.stderr.write(`\n${signal} again: exiting at once; the last checkpoint written (if any) is ${checkpoint}\n`);
      release();
      process.exit(signal === 'SIGTERM' ? 143 : 130);
    }
    stop.signal = signal;
    process.stderr.write(`\n${signal}: finishing this step and saving a checkpoint (${signal === 'SIGINT' ? 'Ctrl-C' : signal} again exits at once)\n`);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    for (;;) {
      const it = run.next();
      if (it.done) return it.value;
      await new Promise<void>((res) => setImmediate(res));
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** `--mode webgpu` without a device is the user's setup to fix (exit 1, the reason and how), not a bug. */
function webgpuBackend<B>(make: () => B): B {
  try {
    return make();
  } catch (err) {
    if (err instanceof Error && err.name === 'NoWebGpuError') {
      throw new UserError(`--mode webgpu: ${err.message}\n  = help: run with --mode js (or --mode auto, which picks the CPU when no GPU answers); the README's GPU section lists what to install`);
    }
    throw err;
  }
}

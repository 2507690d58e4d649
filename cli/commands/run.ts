// `recc run FILE|DIR`: compile (or read a compiled artifact), load the data, train, evaluate, and write
// the run folder (runtime/output/run-folder.ts). Progress goes to stderr, the summary to stdout.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { command, UsageError, UserError } from '../lib/args.ts';
import type { Runtime } from '../lib/runtime.ts';
import type { BackendMode } from '../../runtime/exec/backends.ts';
import { ALLOW_DENSE_FLAG, compileForData, makeFolder, SET_FLAG } from './common.ts';
import { publicSizes } from '../../compiler/ir/spaces.ts';

/** runtime/exec/backends.ts's BACKEND_MODES, named here so that `recc run --help` needs no runtime (a test compares them) */
export const MODES = ['js', 'webasm', 'cpu', 'reference'] as const satisfies readonly BackendMode[];

export const run = command({
  name: 'run',
  summary: 'train, evaluate, and write the run folder (metrics, loss log, params, report)',
  description:
    'Trains on the data the model names (its split gives the test rows); --data and --test replace it.\n' +
    'Writes metrics.json, loss.csv, params/*.npy (with manifest.json), ids/, serving/ (what recommend and serve read) and report.md.',
  operands: [{ name: 'FILE|DIR', meaning: 'a .recmodel file, or an artifact folder written by `recc compile`' }],
  flags: [
    { kind: 'string', name: 'data', arg: 'FILE', meaning: "training data, replacing the model's primary relation's file", default: "the file the model names" },
    { kind: 'string', name: 'test', arg: 'FILE', meaning: "test rows for that relation, instead of the model's split", default: "the model's split" },
    { kind: 'string', name: 'out', short: 'o', arg: 'DIR', meaning: 'the run folder to write', default: 'runs/MODEL-TIME' },
    { kind: 'string', name: 'init', arg: 'RUN_DIR', meaning: "warm start from a previous run's params, rows matched by external id", default: "the model's initializers" },
    SET_FLAG,
    { kind: 'choice', name: 'mode', choices: MODES, value: 'js', meaning: "where the kernels run: js (recc's own JavaScript kernels, integer indexing, any size), gpu.js webasm or cpu (tensors below 2^24 cells), reference (the float64 interpreter)" },
    { kind: 'count', name: 'steps', arg: 'N', min: 0, meaning: 'stop after N updates, overriding the model\'s `train { … }`', default: "the model's steps or epochs" },
    { kind: 'count', name: 'epochs', arg: 'N', min: 1, meaning: 'stop after N passes over the training data, overriding the model\'s `train { … }`', default: "the model's steps or epochs" },
    { kind: 'boolean', name: 'quiet', short: 'q', meaning: 'no progress lines on stderr (the summary still goes to stdout)' },
    ALLOW_DENSE_FLAG,
  ],
  needsRuntime: () => true,
  run: ({ operands, flags }, runtime: () => Runtime) => {
    const rt = runtime();
    if (flags.steps !== undefined && flags.epochs !== undefined) throw new UsageError('give either --steps or --epochs, not both');
    const target = operands[0]!;
    if (!existsSync(target)) throw new UsageError(`no such file or folder: ${target}`);
    if (flags.init !== undefined && !existsSync(join(flags.init, 'params', 'manifest.json')))
      throw new UserError(`${flags.init} is not a run folder (no params/manifest.json); --init takes a folder written by \`recc run --out\``);
    const { createBackend, GpuBackend } = rt.backends;
    const { readParams, saveParams, writeLossLog, writeMetrics, writeReport, writeAtomic } = rt.runFolder;
    const quiet = flags.quiet;
    let modelPath = target;
    let sets = flags.set;
    let baseDir: string | undefined;
    if (statSync(target).isDirectory()) {
      const art = rt.artifact.readArtifact(target);
      modelPath = art.modelPath;
      sets = new Map([...art.sets, ...sets]);
      baseDir = art.baseDir;
    }
    const data = flags.data && resolve(flags.data);
    const test = flags.test && resolve(flags.test);
    const r = compileForData(rt, modelPath, { sets, allowDense: flags['allow-dense'] }, { data, test, baseDir });
    if (!r) return 1;
    const { compiled, ds, sizes } = r;
    const model = compiled.model;
    rt.dataset.checkTrainable(model, ds);
    // a bad --init folder is reported before the run folder is made
    const warm = flags.init === undefined ? undefined : readParams(flags.init, compiled, ds);
    const mode = flags.mode;
    const backend = createBackend(mode, compiled.module.spaces);
    const out = flags.out ?? join('runs', `${model.name}-${new Date().toISOString().replace(/[:.]/g, '-')}`);
    makeFolder(out, '--out');
    const log = (s: string): void => {
      if (!quiet) process.stderr.write(s + '\n');
    };
    log(`recc run ${model.name}: ${ds.protocol}`);
    log(`  sizes ${publicSizes(compiled.module.spaces, sizes).map(([k, v]) => `|${k}|=${v}`).join(' ')} · backend ${backend.name} · seed ${model.train.seed}`);
    const init = warm?.params;
    if (warm) {
      log(`  warm start from ${flags.init}`);
      warm.notes.forEach((n) => log(`  note: ${n}`));
    }
    let lastPrint = 0;
    const result = rt.train.train(compiled, ds, {
      backend,
      init,
      steps: flags.steps,
      epochs: flags.epochs,
      onStep: (s) => {
        const now = performance.now();
        if (quiet || (now - lastPrint < 1000 && s.step !== 1)) return;
        lastPrint = now;
        const terms = Object.entries(s.terms).map(([k, v]) => `${k} ${v.toPrecision(5)}`).join('  ');
        log(`  step ${String(s.step).padStart(6)}  epoch ${s.epoch.toFixed(2).padStart(7)}  lr ${s.lr.toPrecision(3)}  ${terms}  total ${s.total.toPrecision(5)}  (${s.ms.toFixed(1)} ms/step)`);
      },
      onEval: (e) => log(`  eval  step ${e.step} on ${e.on}: ${Object.entries(e.metrics).map(([k, v]) => `${k} ${v.toFixed(4)}`).join('  ')}`),
    });
    if (backend instanceof GpuBackend) {
      for (const f of backend.fallbacks()) log(`  warning: kernel ${f.step} ran on ${f.backend} instead of ${mode}: ${f.fallbackReason ?? 'unknown reason'}`);
    }
    backend.dispose();
    const summary = { model: model.name, backend: backend.name, protocol: ds.protocol, seed: model.train.seed, sizes: Object.fromEntries(publicSizes(compiled.module.spaces, sizes)), result, earlyStop: model.evaluate.earlyStop };
    saveParams(out, compiled, ds, result.params);
    // what serving reads instead of the training data (runtime/output/serving-files.ts); not for diverged params
    if (!result.diverged) rt.servingFiles.writeServingFiles(out, compiled, ds, result.params);
    writeLossLog(out, compiled, result.log);
    writeMetrics(out, summary);
    writeReport(out, compiled, summary);
    writeAtomic(join(out, 'model.recmodel'), readFileSync(modelPath, 'utf8'));
    writeAtomic(join(out, 'run.json'), JSON.stringify({ model: resolve(modelPath), sets: Object.fromEntries(sets), data: data ?? null, test: test ?? null, baseDir: baseDir ?? dirname(resolve(modelPath)), mode }, null, 2) + '\n');
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
        `\nrun folder: ${out}/ (metrics.json, loss.csv, params/*.npy, ids/, report.md)\n`,
    );
    return 0;
  },
});

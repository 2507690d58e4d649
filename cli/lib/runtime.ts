// The runtime modules the CLI imports on demand: gpu.js alone takes longer to load than `recc check`
// runs, so `main` loads them only for a command line that needs them (`Command.needsRuntime`), and
// the tests load them once for every in-process call. Also: which runtime errors are the user's.
export interface Runtime {
  readonly artifact: typeof import('../../runtime/output/artifact.ts');
  readonly backends: typeof import('../../runtime/backends/backends.ts');
  readonly env: typeof import('../../runtime/exec/env.ts');
  readonly data: typeof import('../../runtime/data/load.ts');
  readonly dataset: typeof import('../../runtime/data/dataset.ts');
  readonly evaluate: typeof import('../../runtime/eval/evaluate.ts');
  readonly runFolder: typeof import('../../runtime/output/run-folder.ts');
  readonly serve: typeof import('../../runtime/serve/serving-model.ts');
  readonly servingFiles: typeof import('../../runtime/output/serving-files.ts');
  readonly train: typeof import('../../runtime/train/train.ts');
  readonly stepSizes: typeof import('../../runtime/train/step-sizes.ts');
  readonly torchExport: typeof import('../../runtime/export/torch.ts');
  readonly checkpoint: typeof import('../../runtime/train/checkpoint.ts');
  readonly runReport: typeof import('../../runtime/output/run-report.ts');
}

export async function loadRuntime(): Promise<Runtime> {
  const [artifact, backends, env, data, dataset, evaluate, runFolder, serve, servingFiles, train, stepSizes, torchExport, checkpoint, runReport] = await Promise.all([
    import('../../runtime/output/artifact.ts'),
    import('../../runtime/backends/backends.ts'),
    import('../../runtime/exec/env.ts'),
    import('../../runtime/data/load.ts'),
    import('../../runtime/data/dataset.ts'),
    import('../../runtime/eval/evaluate.ts'),
    import('../../runtime/output/run-folder.ts'),
    import('../../runtime/serve/serving-model.ts'),
    import('../../runtime/output/serving-files.ts'),
    import('../../runtime/train/train.ts'),
    import('../../runtime/train/step-sizes.ts'),
    import('../../runtime/export/torch.ts'),
    import('../../runtime/train/checkpoint.ts'),
    import('../../runtime/output/run-report.ts'),
  ]);
  return { artifact, backends, env, data, dataset, evaluate, runFolder, serve, servingFiles, train, stepSizes, torchExport, checkpoint, runReport };
}

/** A data, evaluation, artifact, run folder (.npy), recommendation, export or checkpoint problem: the user's to fix, shown without a stack. */
export function isRuntimeUserError(rt: Runtime, err: unknown): err is Error {
  return (
    err instanceof rt.data.DataError ||
    err instanceof rt.evaluate.EvalError ||
    err instanceof rt.artifact.ArtifactError ||
    err instanceof rt.serve.RecommendError ||
    err instanceof rt.runFolder.RunFolderError ||
    err instanceof rt.runFolder.NpyError ||
    err instanceof rt.torchExport.ExportError ||
    err instanceof rt.checkpoint.CheckpointError
  );
}

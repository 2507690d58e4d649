// Where shared data sets live. Takes the environment and this file's location; gives the data folder
// that holds `ml-100k/` (so `.recmodel` paths like "ml-100k/u.data" resolve against it), or undefined
// when no such folder exists. Order: $RECC_DATA_DIR, then `../shared/data` beside the repository root.
// Tests that need real data skip, with a visible reason, when this returns undefined.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root: the folder above runtime/. */
export function repoRoot(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
}

/** The folder containing `ml-100k/`, or undefined if neither candidate has it. */
export function sharedDataDir(): string | undefined {
  const env = process.env.RECC_DATA_DIR;
  const candidates = env !== undefined && env !== '' ? [resolve(env)] : [];
  candidates.push(resolve(repoRoot(), '..', 'shared', 'data'));
  return candidates.find((d) => existsSync(join(d, 'ml-100k')));
}

/** The ML-100K folder itself (`<data>/ml-100k`), or undefined. */
export function ml100kDir(): string | undefined {
  const d = sharedDataDir();
  return d === undefined ? undefined : join(d, 'ml-100k');
}

/** Why data-dependent tests are skipped, for a console note. */
export function missingDataReason(): string {
  return `ML-100K not found: set RECC_DATA_DIR to a folder containing ml-100k/, or place it at ${resolve(repoRoot(), '..', 'shared', 'data', 'ml-100k')}`;
}

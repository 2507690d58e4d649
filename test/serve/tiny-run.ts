// A small trained run folder for the serving tests: 12 users × 15 items ("u3", "m07"), each user
// rating 5 items, a biased MF score U[u] . V[i] + bi[i] + mu, trained 20 full-batch steps.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { recc } from '../helpers/cli.ts';

export const TINY_MODEL = `model biased
index user, item
data ratings(user: user, item: item, rating: float) from "data/ratings.tsv" format tsv
dim d = 4
param U[user, d] ~ normal(0, 0.3)
param V[item, d] ~ normal(0, 0.3)
param bi[item] = 0
param mu = 3
def score(u, i) = U[u] . V[i] + bi[i] + mu
loss mse = mean((u, i, r) in ratings: (r - score(u, i))^2)
train { optimizer adam(lr = 0.05) steps 20 batch full seed 5 }
`;

export const TINY_ROWS: readonly string[] = Array.from({ length: 60 }, (_, t) => {
  const u = Math.floor(t / 5), j = t % 5;
  return `u${u}\tm${String((u * 7 + j * 3) % 15).padStart(2, '0')}\t${1 + ((u + j) % 5)}`;
});

/** user → the items it rated */
export function tinySeen(): Map<string, Set<string>> {
  const seen = new Map<string, Set<string>>();
  for (const r of TINY_ROWS) {
    const [u, i] = r.split('\t');
    seen.set(u!, (seen.get(u!) ?? new Set()).add(i!));
  }
  return seen;
}

/** Writes the data and model under `root` and trains into `root/run`; returns the run folder. */
export function trainTinyRun(root: string): string {
  mkdirSync(join(root, 'data'), { recursive: true });
  writeFileSync(join(root, 'data', 'ratings.tsv'), TINY_ROWS.join('\n') + '\n');
  writeFileSync(join(root, 'biased.recmodel'), TINY_MODEL);
  const run = join(root, 'run');
  const r = recc('run', join(root, 'biased.recmodel'), '--out', run, '--quiet', '--mode', 'reference');
  if (r.code !== 0) throw new Error(`recc run failed: ${r.stderr}`);
  return run;
}

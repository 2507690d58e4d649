// `npm run readme:table`: the README's ranking table, generated. Trains each ranking example on
// ML-100K with `recc run` (its own hyperparameters and protocol: ratings ≥ 4 are positives, the last
// 20% of each user's positives held out, every unseen item ranked) into runs/readme/NAME, then writes
// `recc compare runs/readme/* --sort ndcg@20 --readme README.md`: the table between the README's
// `recc compare` markers is exactly what compare prints. Without ML-100K it says why and exits 0.
//   npx tsx scripts/readme-table.ts [--models bpr,hinge,...] [--jobs N]
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { missingDataReason, ml100kDir, repoRoot } from '../runtime/data/data-paths.ts';

const arg = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
};
/** the ranking examples of the README's table (bench/ranking.ts trains the same ones) */
const MODELS = ['bpr', 'hinge', 'nce', 'sampled-softmax', 'logistic-mf', 'mostpop', 'enmf', 'itemcf'];
const models = arg('models', MODELS.join(',')).split(',');
const jobs = Math.max(1, Number(arg('jobs', '1')));

const dir = ml100kDir();
if (!dir) {
  console.log(`readme:table: skipped — ${missingDataReason()}`);
  process.exit(0);
}
const root = repoRoot();
const bin = join(root, 'bin', 'recc.js');
const out = (m: string): string => join(root, 'runs', 'readme', m);

function recc(args: readonly string[], inherit: boolean): Promise<number> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd: root, stdio: inherit ? 'inherit' : ['ignore', 'ignore', 'inherit'] });
    child.on('close', (code) => done(code ?? 1));
  });
}

const queue = [...models];
const failed: string[] = [];
await Promise.all(
  Array.from({ length: Math.min(jobs, queue.length) }, async () => {
    for (let m = queue.shift(); m !== undefined; m = queue.shift()) {
      const started = Date.now();
      const code = await recc(['run', join(root, 'examples', `${m}.recmodel`), '--data', join(dir, 'u.data'), '--out', out(m), '--force', '--quiet'], false);
      console.error(`readme:table: ${m} ${code === 0 ? 'trained' : `failed (exit ${code})`} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
      if (code !== 0) failed.push(m);
    }
  }),
);
if (failed.length) {
  console.error(`readme:table: ${failed.join(', ')} failed; README.md left as it was`);
  process.exit(1);
}
process.exit(await recc(['compare', ...models.map(out), '--sort', 'ndcg@20', '--readme', join(root, 'README.md')], true));

// Everything a user can get wrong is a user error (issue 11): a table of malformed inputs — models,
// data files, flags and folders — each run through the CLI in-process (test/helpers/cli.ts), asserting
// its exit code (2 for the command line, 1 for the input; never 70, "a bug in recc") and that the
// message names the right place: a model's file:line:col, a data file's file:line:col, the flag, or
// the file or folder. Each case builds its own files in a fresh folder.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { recc } from '../helpers/cli.ts';

// A full disk, stubbed: every write under a folder named FULL fails with ENOSPC, as write(2) does.
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  const full = (p: unknown): boolean => String(p).includes('/FULL');
  const enospc = (): never => {
    throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' });
  };
  const writeFileSync: typeof fs.writeFileSync = (p, ...rest) => (full(p) ? enospc() : fs.writeFileSync(p, ...rest));
  return { ...fs, default: { ...fs, writeFileSync }, writeFileSync };
});

const root = mkdtempSync(join(tmpdir(), 'recc-malformed-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const RATINGS = Array.from({ length: 120 }, (_, t) => `${1 + (t % 12)}\t${1 + ((t * 7) % 15)}\t${1 + (t % 5)}\t${1000 + t}`).join('\n') + '\n';

/** A small model over ratings.tsv (user, item, rating, time), trained for one step. */
const MODEL = `model m
index user, item
data ratings(user: user, item: item, rating: float, time: int) from "ratings.tsv" format tsv
split ratings: holdout 0.2 seed 7
dim d = 4
param U[user, d] ~ normal(0, 0.1)
param V[item, d] ~ normal(0, 0.1)
def score(u, i) = U[u] . V[i]
loss mse = mean((u, i, r) in ratings: (r - score(u, i))^2)
train { optimizer adam(lr = 0.01) steps 1 seed 1 }
evaluate { metrics rmse }
`;

const FM = `model fm
import "std/losses"
index feature
data clicks(label: float, x: sparse feature) from "ctr.libsvm" format libsvm
split clicks: holdout 0.5 seed 7
dim k = 2
param w0 = 0
param V[feature, k] ~ normal(0, 0.05)
def score(x) = w0 + sum(j < l in x: (V[j] . V[l]) * x[j] * x[l])
loss fit = mean((y, x) in clicks: logistic(y, score(x)))
train { optimizer adam(lr = 0.02) steps 1 seed 1 }
evaluate { metrics logloss }
`;
const CTR = '1 1:1 2:1 3:0.5\n0 2:1 4:1\n1 1:1 5:1\n0 3:1 4:1\n';

interface Case {
  readonly name: string;
  /** files to create in the case's folder (string or bytes); `model.recmodel` and `ratings.tsv` default to MODEL and RATINGS */
  readonly files?: Readonly<Record<string, string | Uint8Array>>;
  /** the command line, with `@` standing for the case's folder */
  readonly argv: readonly string[];
  readonly code: 1 | 2;
  /** what the message must contain to name the place (a RegExp over stderr+stdout, `@` → the folder) */
  readonly where: RegExp | string;
  /** runs before the command, in the case's folder (e.g. a previous run to damage) */
  readonly setup?: (dir: string) => void;
}

const model = (edit: (m: string) => string): Record<string, string> => ({ 'model.recmodel': edit(MODEL) });
const run = (...more: string[]): string[] => ['run', '@/model.recmodel', '-q', '--out', '@/out', ...more];
const check = ['check', '@/model.recmodel'];
/** the caret line of a model diagnostic: `--> DIR/model.recmodel:L:C` */
const at = (line: number, col: number): string => `@/model.recmodel:${line}:${col}`;
const data = (line: number, col: number, file = 'ratings.tsv'): string => `@/${file}:${line}:${col}:`;

/** a run folder made by a real run of MODEL, then damaged by `damage` */
const initFrom = (damage: (run: string) => void) => (dir: string): void => {
  const r = recc('run', join(dir, 'model.recmodel'), '-q', '--out', join(dir, 'prev'));
  expect(r.code, r.stderr).toBe(0);
  damage(join(dir, 'prev'));
};

const CASES: readonly Case[] = [
  // ---- models: `check` reports them with file:line:col ------------------------------------------
  { name: 'syntax: a missing closing parenthesis', files: model((m) => m.replace('(r - score(u, i))^2)', '(r - score(u, i)^2)')), argv: check, code: 1, where: /error\[RC01\d\d\]/ },
  { name: 'syntax: a number literal beyond float64', files: model((m) => m.replace('normal(0, 0.1)', 'normal(0, 1e400)')), argv: check, code: 1, where: /RC0113[\s\S]*model\.recmodel:6:\d+/ },
  { name: 'an unknown name in a term', files: model((m) => m.replace('score(u, i))^2', 'scor(u, i))^2')), argv: check, code: 1, where: /RC02\d\d[\s\S]*model\.recmodel:9:/ },
  { name: 'a param indexed by the wrong domain', files: model((m) => m.replace('U[u] . V[i]', 'U[i] . V[i]')), argv: check, code: 1, where: at(8, 21) },
  { name: 'an unknown metric', files: model((m) => m.replace('metrics rmse', 'metrics rsme')), argv: check, code: 1, where: at(11, 20) },
  { name: 'a ranking metric without its cutoff', files: model((m) => m.replace('metrics rmse', 'metrics ndcg')), argv: check, code: 1, where: at(11, 20) },
  { name: 'metrics with no def score (RC0554)', files: model((m) => m.replace('def score(u, i) = U[u] . V[i]', 'def s(u, i) = U[u] . V[i]').replace('score(u, i))^2', 's(u, i))^2')), argv: check, code: 1, where: /RC0554[\s\S]*model\.recmodel:11:12/ },
  { name: 'a const that is NaN: sqrt(-1) (RC0555)', files: model((m) => m.replace('dim d = 4', 'dim d = 4\nconst c = sqrt(-1)')), argv: check, code: 1, where: /RC0555[\s\S]*model\.recmodel:6:11/ },
  { name: 'a const that overflows: 10^400 (RC0555)', files: model((m) => m.replace('dim d = 4', 'dim d = 4\nconst c = 10^400')), argv: check, code: 1, where: /RC0555[\s\S]*model\.recmodel:6:11/ },
  { name: 'a constant division by zero inside a term (RC0555)', files: model((m) => m.replace('(r - score(u, i))^2', '(r - score(u, i))^2 * (1 / (d - 4))')), argv: check, code: 1, where: /RC0555[\s\S]*model\.recmodel:9:\d+/ },
  { name: 'log(0) inside a term, seen by explain too (RC0555)', files: model((m) => m.replace('(r - score(u, i))^2', 'log(0) * (r - score(u, i))^2')), argv: ['explain', '@/model.recmodel'], code: 1, where: /RC0555[\s\S]*model\.recmodel:9:\d+/ },
  { name: 'a param over 2^32 cells at its dims alone (RC0553)', files: model((m) => m.replace('param V[item, d]', 'param W[d, d] = 0\nparam V[item, d]').replace('dim d = 4', 'dim d = 70000').replace('^2)\n', '^2) + sum(W^2)\n')), argv: check, code: 1, where: /RC0553[\s\S]*model\.recmodel:7:7/ },
  { name: 'a param over 2^32 cells at the data\'s sizes, refused before training (RC0553)', files: model((m) => m.replace('dim d = 4', 'dim d = 1000000000')), argv: run(), code: 1, where: /RC0553: |RC0553\][\s\S]*model\.recmodel:6:7/ },
  { name: 'compile of a model whose kernels exceed 2^24 cells at the compile-time sizes', files: model((m) => m.replace('dim d = 4', 'dim d = 1000000')), argv: ['compile', '@/model.recmodel', '-o', '@/art'], code: 1, where: /(loss mse|gradient of [UV]|score \w+) at the compile-time sizes: .* beyond 2\^24/ },
  { name: 'a split by a column the relation lacks', files: model((m) => m.replace('holdout 0.2 seed 7', 'holdout 0.2 by timestamp')), argv: check, code: 1, where: /RC0516[\s\S]*model\.recmodel:4:31/ },
  { name: 'a split by an id column', files: model((m) => m.replace('holdout 0.2 seed 7', 'leave_one_out by item')), argv: check, code: 1, where: /RC0516[\s\S]*model\.recmodel:4:33/ },
  { name: 'a holdout fraction of 1', files: model((m) => m.replace('holdout 0.2', 'holdout 1')), argv: check, code: 1, where: at(4, 24) },
  { name: 'a where that uses a size (RC0517)', files: model((m) => m.replace('split ratings', 'data liked = ratings where rating > |item|\nsplit ratings')), argv: check, code: 1, where: /RC0517[\s\S]*model\.recmodel:4:37/ },
  { name: 'a where that uses a param (RC0517)', files: model((m) => m.replace('def score', 'data liked = ratings where rating > U\ndef score')), argv: check, code: 1, where: /RC0517[\s\S]*model\.recmodel:8:/ },
  { name: 'a dim of 0', files: model((m) => m.replace('dim d = 4', 'dim d = 0')), argv: check, code: 1, where: at(5, 9) },
  { name: 'a negative learning rate', files: model((m) => m.replace('lr = 0.01', 'lr = -0.01')), argv: check, code: 1, where: /RC0513[\s\S]*model\.recmodel:10:\d+/ },
  { name: 'an unknown optimizer', files: model((m) => m.replace('adam(', 'adamw(')), argv: check, code: 1, where: at(10, 19) },
  { name: 'an unknown data format', files: model((m) => m.replace('format tsv', 'format parquet')), argv: check, code: 1, where: /model\.recmodel:3:\d+/ },
  { name: 'no loss term', files: model((m) => m.replace(/loss mse.*\n/, '')), argv: check, code: 1, where: /RC0501/ },
  { name: 'a model file that is not UTF-8 text', files: { 'model.recmodel': Buffer.from([0x6d, 0x6f, 0x64, 0x65, 0x6c, 0x20, 0xff, 0x0a]) }, argv: check, code: 1, where: /model\.recmodel:1:7/ },
  { name: '--set of a name that is no const or dim (RC0509)', argv: [...check, '--set', 'lambda=2'], code: 1, where: /RC0509[\s\S]*--set lambda=2/ },
  { name: '--set of a dim to a fraction', argv: [...check, '--set', 'd=2.5'], code: 1, where: /--set/ },

  // ---- data files: `run` reports them with file:line:col ------------------------------------------
  { name: 'a rating that is not a number', files: { 'ratings.tsv': '1\t1\t4\t10\n1\t2\tfour\t11\n' }, argv: run(), code: 1, where: data(2, 5) },
  { name: 'a rating beyond float64 (1e400)', files: { 'ratings.tsv': RATINGS + '1\t2\t1e400\t11\n' }, argv: run(), code: 1, where: data(121, 5) },
  { name: 'a time that is not an integer', files: { 'ratings.tsv': RATINGS + '1\t2\t3\t11.5\n' }, argv: run(), code: 1, where: data(121, 7) },
  { name: 'an id that is not UTF-8 (latin-1 é)', files: { 'ratings.tsv': Buffer.concat([Buffer.from(RATINGS + 'Jos'), Buffer.from([0xe9]), Buffer.from('\t2\t3\t11\n')]) }, argv: run(), code: 1, where: data(121, 4) },
  { name: 'a bad number in a CR-only file (line counted right)', files: { 'ratings.tsv': RATINGS.replace(/\n/g, '\r') + '1\t2\tx\t11\r' }, argv: run(), code: 1, where: data(121, 5) },
  { name: 'a bad number after a BOM in a CRLF file', files: { 'ratings.tsv': '\ufeff' + RATINGS.replace(/\n/g, '\r\n') + '1\t2\tx\t11\r\n' }, argv: run(), code: 1, where: data(121, 5) },
  { name: 'too few columns', files: { 'ratings.tsv': RATINGS + '1\t2\t3\n' }, argv: run(), code: 1, where: data(121, 6) },
  { name: 'too many columns', files: { 'ratings.tsv': RATINGS + '1\t2\t3\t4\t5\n' }, argv: run(), code: 1, where: data(121, 9) },
  { name: 'an empty id', files: { 'ratings.tsv': RATINGS + '\t2\t3\t4\n' }, argv: run(), code: 1, where: data(121, 1) },
  { name: 'an empty file', files: { 'ratings.tsv': '' }, argv: run(), code: 1, where: '@/ratings.tsv: empty file' },
  { name: 'a header and no rows', files: { 'ratings.tsv': 'user\titem\trating\ttime\n' }, argv: run(), code: 1, where: '@/ratings.tsv: no data rows' },
  { name: 'a header that names some declared columns but not all', files: { 'ratings.tsv': 'userId\tmovieId\trating\ttimestamp\n' + RATINGS }, argv: run(), code: 1, where: data(1, 1) },
  { name: 'a csv with an unterminated quote', files: { ...model((m) => m.replace('"ratings.tsv" format tsv', '"ratings.csv" format csv')), 'ratings.csv': '1,2,3,4\n1,"2,3,4\n' }, argv: run(), code: 1, where: data(2, 3, 'ratings.csv') },
  { name: 'a csv with text after a quoted field', files: { ...model((m) => m.replace('"ratings.tsv" format tsv', '"ratings.csv" format csv')), 'ratings.csv': '1,2,3,4\n1,"2"x,3,4\n' }, argv: run(), code: 1, where: data(2, 6, 'ratings.csv') },
  { name: 'a data file that does not exist', files: model((m) => m.replace('"ratings.tsv"', '"missing.tsv"')), argv: run(), code: 1, where: /missing\.tsv: file not found/ },
  { name: 'a data path that is a folder', files: { ...model((m) => m.replace('"ratings.tsv"', '"folder"')), 'folder/x': '' }, argv: run(), code: 1, where: /folder: expected a data file, found a folder/ },
  { name: 'a test split with no tuples', files: { 'ratings.tsv': '1\t1\t4\t10\n' }, argv: run(), code: 1, where: /the metrics need test tuples: the split of `ratings`/ },
  { name: 'metrics with no split and no --test', files: model((m) => m.replace(/split .*\n/, '')), argv: run(), code: 1, where: /model\.recmodel: the metrics need a test set/ },
  { name: 'a derived relation that keeps no tuple', files: model((m) => m.replace('split ratings', 'data liked = ratings where rating > 100\nsplit ratings').replace('in ratings: (r', 'in liked: (r')), argv: run(), code: 1, where: /relation `liked` has no training tuples \(its `where` keeps none/ },
  { name: 'libsvm: a label that is not a number', files: { 'model.recmodel': FM, 'ctr.libsvm': CTR + 'yes 1:1\n' }, argv: run(), code: 1, where: data(5, 1, 'ctr.libsvm') },
  { name: 'libsvm: a feature value beyond float64', files: { 'model.recmodel': FM, 'ctr.libsvm': CTR + '1 1:1e999\n' }, argv: run(), code: 1, where: data(5, 5, 'ctr.libsvm') },
  { name: 'libsvm: a feature given twice in a row', files: { 'model.recmodel': FM, 'ctr.libsvm': CTR + '1 1:1 1:2\n' }, argv: run(), code: 1, where: data(5, 7, 'ctr.libsvm') },
  { name: 'libsvm: a qid field', files: { 'model.recmodel': FM, 'ctr.libsvm': CTR + '1 qid:3 1:1\n' }, argv: run(), code: 1, where: data(5, 3, 'ctr.libsvm') },
  { name: 'libsvm: a feature with no value after the colon', files: { 'model.recmodel': FM, 'ctr.libsvm': CTR + '1 2:\n' }, argv: run(), code: 1, where: data(5, 5, 'ctr.libsvm') },

  // ---- flags: usage errors (exit 2) name the flag --------------------------------------------------
  { name: 'an unknown flag, with a suggestion', argv: [...run(), '--step', '3'], code: 2, where: /--step[\s\S]*did you mean --steps/ },
  { name: '--steps that is not a count', argv: [...run(), '--steps', 'many'], code: 2, where: /--steps expects/ },
  { name: '--steps and --epochs together', argv: [...run(), '--steps', '1', '--epochs', '1'], code: 2, where: /--steps or --epochs/ },
  { name: '--mode that is not a backend', argv: [...run(), '--mode', 'gpu'], code: 2, where: /--mode must be one of/ },
  { name: '--set without a value', argv: [...run(), '--set', 'd'], code: 2, where: /--set expects NAME=NUMBER/ },
  { name: '--out without its folder', argv: ['run', '@/model.recmodel', '--out'], code: 2, where: /--out needs a value/ },
  { name: 'run of a file that does not exist', argv: ['run', '@/nope.recmodel'], code: 2, where: /no such file or folder: @\/nope\.recmodel/ },
  { name: 'check of a folder', argv: ['check', '@'], code: 2, where: /@ is a folder, not a model file/ },
  { name: 'check --format that is not a format', argv: [...check, '--format', 'yaml'], code: 2, where: /--format must be one of/ },
  { name: 'explain --data with --no-data', argv: ['explain', '@/model.recmodel', '--no-data', '--data', '@/ratings.tsv'], code: 2, where: /--data and --no-data/ },
  { name: 'explain --sizes naming no size of the model', argv: ['explain', '@/model.recmodel', '--sizes', 'users=10'], code: 2, where: /--sizes: unknown name `users`/ },
  { name: 'recommend without --user', argv: ['recommend', '@'], code: 2, where: /give exactly one of --user ID, --users ID,ID,… or --all-users/ },
  { name: 'an unknown command, with a suggestion', argv: ['rn', '@/model.recmodel'], code: 2, where: /unknown command `rn` \(did you mean `run`\?\)/ },
  { name: '--data naming a missing file', argv: [...run(), '--data', '@/none.tsv'], code: 1, where: /none\.tsv: file not found/ },
  { name: '--test naming a file with a bad row', files: { 'test.tsv': '1\t1\t4\t10\n1\t1\t4\n' }, argv: [...run(), '--test', '@/test.tsv'], code: 1, where: data(2, 6, 'test.tsv') },

  // ---- folders: --out, --init, artifacts, run folders, a full disk ----------------------------------
  { name: '--out that is a file', files: { out: 'x' }, argv: run(), code: 1, where: /--out @\/out is a file, not a folder/ },
  { name: '--out under a file', files: { blocker: 'x' }, argv: ['run', '@/model.recmodel', '-q', '--out', '@/blocker/run'], code: 1, where: /--out @\/blocker\/run: @\/blocker is a file/ },
  { name: '--init of a folder that is no run', argv: [...run(), '--init', '@'], code: 1, where: /@ is not a run folder \(no params\/manifest\.json\)/ },
  { name: '--init with an empty manifest', setup: initFrom((p) => writeFileSync(join(p, 'params', 'manifest.json'), '')), argv: [...run(), '--init', '@/prev'], code: 1, where: /@\/prev\/params\/manifest\.json: not valid JSON/ },
  { name: '--init with a manifest entry missing its fields', setup: initFrom((p) => writeFileSync(join(p, 'params', 'manifest.json'), '[{"name":"U"}]')), argv: [...run(), '--init', '@/prev'], code: 1, where: /@\/prev\/params\/manifest\.json: entry 0 is not/ },
  { name: '--init with a manifest that escapes its folder', setup: initFrom((p) => writeFileSync(join(p, 'params', 'manifest.json'), '[{"name":"U","axes":["user","d"],"shape":[12,4],"file":"../../ratings.tsv"}]')), argv: [...run(), '--init', '@/prev'], code: 1, where: /manifest\.json: entry 0 is not/ },
  { name: '--init with a truncated .npy', setup: initFrom((p) => writeFileSync(join(p, 'params', 'U.npy'), readFileSync(join(p, 'params', 'U.npy')).subarray(0, 100))), argv: [...run(), '--init', '@/prev'], code: 1, where: /@\/prev\/params\/U\.npy: truncated \.npy file/ },
  { name: '--init with a .npy cut short of its data', setup: initFrom((p) => writeFileSync(join(p, 'params', 'V.npy'), readFileSync(join(p, 'params', 'V.npy')).subarray(0, 140))), argv: [...run(), '--init', '@/prev'], code: 1, where: /@\/prev\/params\/V\.npy: expected \d+ data bytes/ },
  { name: '--init with a file that is no .npy', setup: initFrom((p) => writeFileSync(join(p, 'params', 'U.npy'), 'hello')), argv: [...run(), '--init', '@/prev'], code: 1, where: /@\/prev\/params\/U\.npy: not a \.npy file/ },
  { name: '--init with its id file missing', setup: initFrom((p) => rmSync(join(p, 'ids', 'user.json'))), argv: [...run(), '--init', '@/prev'], code: 1, where: /@\/prev\/ids\/user\.json: missing/ },
  { name: '--init with an id file that is not a list of ids', setup: initFrom((p) => writeFileSync(join(p, 'ids', 'item.json'), '{"a": 1}')), argv: [...run(), '--init', '@/prev'], code: 1, where: /@\/prev\/ids\/item\.json: expected a JSON array/ },
  { name: '--init from a run with another dim', setup: initFrom(() => {}), argv: [...run(), '--init', '@/prev', '--set', 'd=8'], code: 1, where: /param U has shape \[user=12, d=4\] in @\/prev but \[user=12, d=8\]/ },
  { name: '--init from a run of another model', setup: initFrom((p) => writeFileSync(join(p, 'params', 'manifest.json'), readFileSync(join(p, 'params', 'manifest.json'), 'utf8').replace('"name": "U"', '"name": "P"').replace('"name": "V"', '"name": "Q"'))), argv: [...run(), '--init', '@/prev'], code: 1, where: /@\/prev holds none of this model's params \(U, V; it has P, Q\)/ },
  { name: 'run of a folder that is no compiled artifact', files: { 'art/x': '' }, argv: ['run', '@/art'], code: 1, where: /@\/art is not a compiled artifact \(no plan\.json\)/ },
  { name: 'run of an artifact whose plan.json is damaged', files: { 'art/plan.json': '{' }, argv: ['run', '@/art'], code: 1, where: /@\/art\/plan\.json: not valid JSON/ },
  { name: 'recommend from a folder that is no run', argv: ['recommend', '@', '--user', '1'], code: 1, where: /@ is not a run folder \(no run\.json\)/ },
  { name: 'recommend for a user not in the data', setup: initFrom(() => {}), argv: ['recommend', '@/prev', '--user', 'nobody'], code: 1, where: /user "nobody" is not in the run's training data/ },
  { name: 'a full disk while writing the run folder', argv: ['run', '@/model.recmodel', '-q', '--out', '@/FULL'], code: 1, where: /cannot write @\/FULL(\.partial)?\/[^:]+: ENOSPC: no space left on device, write \(the disk is full/ },
];

describe('malformed inputs: a user error naming the place, never an internal error', () => {
  it(`has at least 60 cases (${CASES.length})`, () => {
    expect(CASES.length).toBeGreaterThanOrEqual(60);
    expect(new Set(CASES.map((c) => c.name)).size).toBe(CASES.length);
  });

  CASES.forEach((c, k) => {
    it(c.name, () => {
      const dir = join(root, `case-${k}`);
      mkdirSync(dir, { recursive: true });
      const files: Record<string, string | Uint8Array> = { 'model.recmodel': MODEL, 'ratings.tsv': RATINGS, ...c.files };
      for (const [name, body] of Object.entries(files)) {
        mkdirSync(join(dir, name, '..'), { recursive: true });
        writeFileSync(join(dir, name), body);
      }
      c.setup?.(dir);
      const r = recc(...c.argv.map((a) => a.replace(/^@/, dir)));
      const text = r.stderr + r.stdout;
      expect(text, 'never reported as a bug').not.toMatch(/internal error|this is a bug in recc/);
      expect(r.code, text).toBe(c.code);
      const where = typeof c.where === 'string' ? c.where.replace('@', dir) : new RegExp(c.where.source.replace(/@/g, escape(dir)));
      if (typeof where === 'string') expect(text).toContain(where);
      else expect(text).toMatch(where);
    });
  });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

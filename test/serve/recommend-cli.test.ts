// `recc recommend` and `recc similar` from a run folder alone: the training file is moved away after
// `recc run`, and recommending gives the same lists (issue 14: the folder is self-contained). The
// lists are checked against the scores recomputed here from params/*.npy (no serving code), seen
// items are never recommended, --all-users writes CSV and JSON Lines, titles come from CSV/TSV/pipe
// item files by column name or number, and bad input exits 1 or 2 with a message.
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readNpy } from '../../runtime/output/npy.ts';
import { readItemTitles } from '../../runtime/serve/item-file.ts';
import { recc } from '../helpers/cli.ts';
import { tinySeen, trainTinyRun } from './tiny-run.ts';

const root = mkdtempSync(join(tmpdir(), 'recc-recommend-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const DATA = join(root, 'data');
let RUN = '';
const seen = tinySeen();

let before = '';
beforeAll(() => {
  RUN = trainTinyRun(root);
  before = recc('recommend', RUN, '--user', 'u3', '--top', '4').stdout;
  renameSync(DATA, join(root, 'moved-away'));
});

/** score(u, ·) recomputed from params/*.npy and ids/*.json, without runtime/serve */
function scoresFromParams(user: string): Map<string, number> {
  const users = JSON.parse(readFileSync(join(RUN, 'ids', 'user.json'), 'utf8')) as string[];
  const items = JSON.parse(readFileSync(join(RUN, 'ids', 'item.json'), 'utf8')) as string[];
  const p = (n: string): Float32Array => readNpy(join(RUN, 'params', `${n}.npy`)).data as Float32Array;
  const [U, V, bi, mu] = [p('U'), p('V'), p('bi'), p('mu')];
  const u = users.indexOf(user);
  return new Map(items.map((id, i) => [id, Array.from({ length: 4 }, (_, k) => U[u * 4 + k]! * V[i * 4 + k]!).reduce((a, b) => a + b, 0) + bi[i]! + mu[0]!]));
}

const parse = (out: string): { item: string; score: number; title?: string }[] =>
  out.trim().split('\n').slice(1).map((l) => {
    const m = /^\s*\d+\.\s+(\S+)\s+(-?\d+\.\d+)(?:  (.*))?$/.exec(l)!;
    return { item: m[1]!, score: Number(m[2]), title: m[3] };
  });

describe('recc recommend from the run folder alone', () => {
  it('gives the same list after the training file has moved away', () => {
    const after = recc('recommend', RUN, '--user', 'u3', '--top', '4');
    expect(after.code, after.stderr).toBe(0);
    expect(after.stdout).toBe(before);
    expect(after.stdout.split('\n')[0]).toBe('top 4 for user u3 (excluding 5 seen items):');
  });

  it('ranks the unseen items by the score recomputed from the params', () => {
    for (const user of ['u0', 'u7', 'u11']) {
      const got = parse(recc('recommend', RUN, '--user', user, '--top', '10').stdout);
      const s = scoresFromParams(user);
      const want = [...s.entries()].filter(([i]) => !seen.get(user)!.has(i)).sort((a, b) => b[1] - a[1]).slice(0, 10);
      expect(got.map((g) => g.item)).toEqual(want.map(([i]) => i));
      got.forEach((g, j) => expect(g.score).toBeCloseTo(want[j]![1], 3));
    }
  });

  it('--users lists several users; --include-seen keeps their training items', () => {
    const r = recc('recommend', RUN, '--users', 'u1,u2', '--top', '3');
    expect(r.stdout.match(/^top 3 for user (u\d+)/gm)).toEqual(['top 3 for user u1', 'top 3 for user u2']);
    const all = parse(recc('recommend', RUN, '--user', 'u1', '--top', '15', '--include-seen').stdout);
    expect(all.length).toBe(15);
  });

  it('--all-users --out writes CSV and JSON Lines with every user', () => {
    const csv = join(root, 'all.csv');
    const jsonl = join(root, 'all.jsonl');
    expect(recc('recommend', RUN, '--all-users', '--top', '2', '--out', csv).code).toBe(0);
    expect(recc('recommend', RUN, '--all-users', '--top', '2', '--out', jsonl).code).toBe(0);
    const lines = readFileSync(csv, 'utf8').trim().split('\n');
    expect(lines[0]).toBe('user,rank,item,score');
    expect(lines.length).toBe(1 + 12 * 2);
    const objs = readFileSync(jsonl, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { user: string; items: { item: string; score: number }[] });
    expect(objs.length).toBe(12);
    const u5 = objs.find((o) => o.user === 'u5')!;
    const fromCsv = lines.filter((l) => l.startsWith('u5,')).map((l) => l.split(',')[2]);
    expect(u5.items.map((x) => x.item)).toEqual(fromCsv);
    for (const o of objs) for (const x of o.items) expect(seen.get(o.user)!.has(x.item)).toBe(false);
  });

  it('titles come from a CSV with a header, by column name, with quoted fields', () => {
    const f = join(root, 'movies.csv');
    writeFileSync(f, 'genre,movieId,title\n' + Array.from({ length: 15 }, (_, i) => `x,m${String(i).padStart(2, '0')},"Film ${i}, ""the"" cut"`).join('\n') + '\n');
    const got = parse(recc('recommend', RUN, '--user', 'u3', '--top', '3', '--items', f, '--id-col', 'movieId', '--title-col', 'title').stdout);
    for (const g of got) expect(g.title).toBe(`Film ${Number(g.item.slice(1))}, "the" cut`);
  });

  it('reads pipe (u.item-style, Latin-1) and TSV item files by position', () => {
    const pipe = join(root, 'u.item');
    writeFileSync(pipe, Buffer.from('1|Caf\xe9 (1995)|x\n2|B|y\n', 'latin1'));
    expect(readItemTitles(pipe)).toEqual(new Map([['1', 'Café (1995)'], ['2', 'B']]));
    const tsv = join(root, 'items.tsv');
    writeFileSync(tsv, 'a\t1\tOne\nb\t2\tTwo\n');
    expect(readItemTitles(tsv, { idCol: '2', titleCol: '3' })).toEqual(new Map([['1', 'One'], ['2', 'Two']]));
  });

  it('bad input: unknown user or item exits 1, a wrong command line 2, an unknown column names the header', () => {
    const r = recc('recommend', RUN, '--user', 'nobody');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/user "nobody" is not in the run's training data/);
    expect(recc('recommend', RUN).code).toBe(2);
    expect(recc('recommend', RUN, '--all-users').stderr).toMatch(/--out FILE/);
    expect(recc('recommend', RUN, '--user', 'u1', '--user-s', 'x').stderr).toMatch(/did you mean --users/);
    expect(recc('similar', RUN, '--item', 'nope').code).toBe(1);
    const f = join(root, 'h.csv');
    writeFileSync(f, 'id,name\nm01,A\n');
    const c = recc('recommend', RUN, '--user', 'u1', '--items', f, '--title-col', 'title');
    expect(c.code).toBe(1);
    expect(c.stderr).toMatch(/--title-col "title" is not a column of the header \("id", "name"\)/);
    expect(recc('recommend', root, '--user', 'u1').stderr).toMatch(/not a run folder/);
  });
});

describe('recc similar', () => {
  it('lists the items nearest an item by cosine of V (biases excluded), itself left out', () => {
    const r = recc('similar', RUN, '--item', 'm03', '--top', '14');
    expect(r.code, r.stderr).toBe(0);
    const got = parse(r.stdout);
    expect(got.length).toBe(14);
    expect(got.some((g) => g.item === 'm03')).toBe(false);
    const items = JSON.parse(readFileSync(join(RUN, 'ids', 'item.json'), 'utf8')) as string[];
    const V = readNpy(join(RUN, 'params', 'V.npy')).data as Float32Array;
    const vec = (id: string): number[] => Array.from(V.subarray(items.indexOf(id) * 4, items.indexOf(id) * 4 + 4));
    const cos = (a: number[], b: number[]): number => a.reduce((s, x, k) => s + x * b[k]!, 0) / Math.hypot(...a) / Math.hypot(...b);
    for (const g of got) expect(g.score).toBeCloseTo(cos(vec('m03'), vec(g.item)), 3);
    for (let j = 1; j < got.length; j++) expect(got[j]!.score).toBeLessThanOrEqual(got[j - 1]!.score);
  });

  it('--user lists the nearest users by dot product', () => {
    const r = recc('similar', RUN, '--user', 'u0', '--metric', 'dot', '--top', '3');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe('3 users nearest user u0 by dot:');
  });
});

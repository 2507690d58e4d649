// `recc compare`: one row per folder with its --set values and the metrics its files hold (the
// numbers are metrics.json's and cv.json's own, not recomputed), sortable, as Markdown or CSV.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { recc } from '../helpers/cli.ts';
import { repoRoot } from '../../runtime/data/data-paths.ts';

const example = join(repoRoot(), 'examples', 'mf-gramian.recmodel');

describe('recc compare', () => {
  it('puts runs and a cv folder side by side, sorted by a metric, as Markdown and CSV', () => {
    const dir = mkdtempSync(join(tmpdir(), 'recc-compare-'));
    const small = ['--steps', '3', '--mode', 'cpu', '--quiet'];
    expect(recc('run', example, ...small, '--set', 'd=4', '-o', join(dir, 'a')).code).toBe(0);
    expect(recc('run', example, ...small, '--set', 'd=8,gramw=0.5', '-o', join(dir, 'b')).code).toBe(0);
    expect(recc('cv', example, ...small, '--folds', '2', '--set', 'd=4', '-o', join(dir, 'c')).code).toBe(0);
    const rmse = (d: string): number => JSON.parse(readFileSync(join(dir, d, 'metrics.json'), 'utf8')).final.rmse;
    const cv = JSON.parse(readFileSync(join(dir, 'c', 'cv.json'), 'utf8'));

    const csv = recc('compare', join(dir, 'a'), join(dir, 'b'), join(dir, 'c'), '--csv', '--sort', 'rmse');
    expect(csv.code, csv.stderr).toBe(0);
    const [head, ...lines] = csv.stdout.trim().split('\n');
    expect(head).toBe('run,model,d,gramw,protocol,steps,seconds,rmse,mae');
    const rows = lines.map((l) => l.split(','));
    const byRun = new Map(rows.map((r) => [r[0], r]));
    expect(Number(byRun.get('a')![7])).toBe(rmse('a'));
    expect(Number(byRun.get('b')![7])).toBe(rmse('b'));
    expect(byRun.get('b')!.slice(2, 4)).toEqual(['8', '0.5']);
    expect(Number(byRun.get('c')![7])).toBeCloseTo(cv.summary.rmse.mean, 12);
    const sorted = rows.map((r) => Number(r[7]));
    expect(sorted).toEqual([...sorted].sort((x, y) => x - y));

    const md = recc('compare', join(dir, 'a'), join(dir, 'b'));
    expect(md.stdout.split('\n')[0]).toMatch(/^\| run +\| model +\| +d \| +gramw \|/);
    expect(md.stdout.trim().split('\n')).toHaveLength(4);

    const bad = recc('compare', dir);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('is not a run folder');
    expect(recc('compare', join(dir, 'a'), '--sort', 'ndcg').stderr).toContain('--sort ndcg: no folder has that metric');
  });
});

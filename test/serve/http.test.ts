// `recc serve`: every endpoint and every error case over real HTTP on 127.0.0.1 (an ephemeral port):
// /recommend agrees with `recc recommend`, /similar with `recc similar`; bad parameters are 400,
// unknown ids and routes 404, an over-long URL 414, all JSON, never 500. Then the real executable:
// it prints its address, answers, and on SIGTERM closes and exits 0.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildServer } from '../../runtime/serve/http.ts';
import { loadServingModel } from '../../runtime/serve/serving-model.ts';
import { repoRoot } from '../../runtime/data/data-paths.ts';
import { recc } from '../helpers/cli.ts';
import { tinySeen, trainTinyRun } from './tiny-run.ts';

const root = mkdtempSync(join(tmpdir(), 'recc-http-'));
let RUN = '';
let app: FastifyInstance;
let base = '';

beforeAll(async () => {
  RUN = trainTinyRun(root);
  app = buildServer(loadServingModel(RUN), { maxK: 50, titles: new Map([['m01', 'One']]) });
  base = await app.listen({ host: '127.0.0.1', port: 0 });
});
afterAll(async () => {
  await app?.close();
  rmSync(root, { recursive: true, force: true });
});

async function get(path: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const r = await fetch(base + path);
  expect(r.headers.get('content-type')).toMatch(/^application\/json/);
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}

describe('recc serve endpoints', () => {
  it('/health and /metadata', async () => {
    expect(await get('/health')).toEqual({ status: 200, body: { status: 'ok' } });
    const meta = await get('/metadata');
    expect(meta.status).toBe(200);
    expect(meta.body).toMatchObject({ model: 'biased', users: 12, items: 15, width: 6, interactionWidth: 4, limits: { maxK: 50 } });
  });

  it('/recommend answers what `recc recommend` prints, unseen items only', async () => {
    const r = await get('/recommend?user=u3&k=5');
    expect(r.status).toBe(200);
    const items = r.body.items as { item: string; score: number; title?: string }[];
    const cli = recc('recommend', RUN, '--user', 'u3', '--top', '5').stdout.trim().split('\n').slice(1).map((l) => l.trim().split(/\s+/));
    expect(items.map((x) => x.item)).toEqual(cli.map((f) => f[1]));
    items.forEach((x, j) => expect(x.score).toBeCloseTo(Number(cli[j]![2]), 4));
    for (const x of items) expect(tinySeen().get('u3')!.has(x.item)).toBe(false);
    for (const x of items) expect(x.title).toBe(x.item === 'm01' ? 'One' : undefined);
    expect(((await get('/recommend?user=u3')).body.items as unknown[]).length).toBe(10);
  });

  it('/similar by item and by user', async () => {
    const r = await get('/similar?item=m03&k=3&metric=dot');
    expect(r.status).toBe(200);
    const cli = recc('similar', RUN, '--item', 'm03', '--top', '3', '--metric', 'dot').stdout.trim().split('\n').slice(1).map((l) => l.trim().split(/\s+/)[1]);
    expect((r.body.items as { item: string }[]).map((x) => x.item)).toEqual(cli);
    const u = await get('/similar?user=u0&k=2');
    expect(u.status).toBe(200);
    expect((u.body.users as unknown[]).length).toBe(2);
  });

  it.each([
    ['/recommend', 400, /missing query parameter user/],
    ['/recommend?user=u1&k=0', 400, /k must be a whole number from 1 to 50/],
    ['/recommend?user=u1&k=abc', 400, /k must be a whole number/],
    ['/recommend?user=u1&k=2.5', 400, /k must be a whole number/],
    ['/recommend?user=u1&k=51', 400, /k must be at most 50/],
    ['/recommend?user=u1&k=99999999999999999999999', 400, /k must be at most 50/],
    ['/recommend?user=u1&user=u2', 400, /give user once/],
    ['/recommend?user=nobody', 404, /user "nobody" is not in the run's training data/],
    ['/similar', 400, /give exactly one of item=ID or user=ID/],
    ['/similar?item=m01&user=u1', 400, /give exactly one/],
    ['/similar?item=zzz', 404, /item "zzz" is not in/],
    ['/similar?user=zzz', 404, /user "zzz" is not in/],
    ['/similar?item=m01&metric=l3', 400, /metric must be one of dot, cosine/],
    ['/nothing-here', 404, /no route GET \/nothing-here/],
    [`/recommend?user=${'x'.repeat(3000)}`, 414, /the limit is 2048/],
  ])('%s → %i', async (path, status, message) => {
    const r = await get(path);
    expect(r.status).toBe(status);
    expect(r.body.message).toMatch(message);
    expect(typeof r.body.error).toBe('string');
  });

  it('a body over the limit is 413, in JSON', async () => {
    const big = await fetch(`${base}/recommend?user=u1`, { method: 'POST', body: 'x'.repeat(5000), headers: { 'content-type': 'application/json' } });
    expect(big.status).toBe(413);
    expect(((await big.json()) as { error: string }).error).toBeTypeOf('string');
  });
});

describe('the recc serve executable', () => {
  it('listens, answers, and on SIGTERM closes and exits 0', async () => {
    const child = spawn(process.execPath, [join(repoRoot(), 'bin', 'recc.js'), 'serve', RUN, '--port', '0'], { cwd: repoRoot(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const address = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        stdout += d.toString();
        const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout);
        if (m) resolve(m[1]!);
      });
      child.on('exit', (code) => reject(new Error(`exited ${code} before listening: ${stderr}`)));
    });
    expect(await (await fetch(`${address}/health`)).json()).toEqual({ status: 'ok' });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stderr).toMatch(/SIGTERM, closing\n.*closed/s);
  });
});

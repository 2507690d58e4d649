// The HTML reports in a real browser: short real runs of a bundled example (a run with a validation
// part, a 2-fold random sweep with 2 jobs, a 3-fold cross-validation) write their report.html, and
// headless Chromium (Debian's /usr/bin/chromium driven by playwright-core; no browser is downloaded)
// opens each one from the file system, offline: every chart must render as a non-empty SVG, with no
// console error, no uncaught exception, no Content-Security-Policy violation and no network request.
// Screenshots go to test-output/browser/*.png. Without Chromium the tests skip and say why.
// `npm run test:browser` (its own vitest project: starting a browser is slow for the fast suite).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { repoRoot } from '../../runtime/data/data-paths.ts';
import { recc } from '../helpers/cli.ts';

/** RECC_CHROMIUM, else the first Chromium or Chrome installed where Debian and others put it. */
function findChromium(): string | undefined {
  const candidates = [process.env.RECC_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];
  return candidates.find((p): p is string => p !== undefined && p !== '' && existsSync(p));
}

const chromium = findChromium();
const why = chromium ? '' : ' (skipped: no Chromium; apt-get install chromium, or set RECC_CHROMIUM to its binary)';
const SHOTS = join(repoRoot(), 'test-output', 'browser');
const example = join(repoRoot(), 'examples', 'mf-gramian.recmodel');
const work = mkdtempSync(join(tmpdir(), 'recc-browser-'));

interface Rendered {
  readonly charts: number;
  /** per chart: the marks (paths, symbols, lines, rects) its SVG holds */
  readonly marks: number[];
  readonly problems: string[];
  readonly requests: string[];
}

let browser: Browser | undefined;

/** Opens `html` in a fresh page, waits for every chart, screenshots it to `shot`, and reports what it saw. */
async function open(html: string, shot: string): Promise<Rendered> {
  const page = await browser!.newPage({ viewport: { width: 1200, height: 900 } });
  const problems: string[] = [];
  const requests: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`uncaught: ${e.message}`));
  page.on('request', (r) => {
    if (!r.url().startsWith('file:') && !r.url().startsWith('data:')) requests.push(r.url());
  });
  // a CSP violation is reported to the page as an event (and also logged): record it either way
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`));
  });
  await page.goto(pathToFileURL(html).href);
  await page.waitForSelector('body[data-rendered]', { timeout: 60_000 });
  const rendered = await page.getAttribute('body', 'data-rendered');
  const marks = await page.$$eval('figure.chart', (figs) => figs.map((f) => f.querySelectorAll('svg path, svg line, svg rect, svg circle').length));
  const charts = Number(rendered);
  if (rendered === 'error' || !Number.isFinite(charts)) problems.push(`the charts failed to render (${rendered})`);
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, shot), fullPage: true });
  await page.close();
  return { charts, marks, problems, requests };
}

/** What every report must show: all its charts drawn, none empty, nothing complained, nothing fetched. */
function expectRendered(r: Rendered, atLeast: number, shot: string): void {
  expect(r.problems).toEqual([]);
  expect(r.requests).toEqual([]);
  expect(r.charts).toBeGreaterThanOrEqual(atLeast);
  expect(r.marks.length).toBe(r.charts);
  for (const m of r.marks) expect(m).toBeGreaterThan(5);
  expect(statSync(join(SHOTS, shot)).size).toBeGreaterThan(10_000);
}

describe.skipIf(!chromium)(`HTML reports in headless Chromium${why}`, () => {
  beforeAll(async () => {
    const { chromium: driver } = await import('playwright-core');
    // --no-sandbox: CI runs as root in a container, where Chromium's sandbox cannot start
    browser = await driver.launch({ executablePath: chromium!, headless: true, args: ['--no-sandbox'] });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
  });

  it('a run report: the loss per term and each metric on validation and test', async () => {
    // the example with a validation part, so the metric charts have both lines
    const model = join(work, 'mf-gramian-val.recmodel');
    const text = readFileSync(example, 'utf8').replace(/^split ratings: holdout 0\.2 seed 7$/m, 'split ratings: holdout 0.2, validate 0.1 seed 7');
    expect(text).toContain('validate 0.1');
    writeFileSync(model, text.replace('"data/', `"${join(repoRoot(), 'examples', 'data')}/`));
    const out = join(work, 'run');
    const r = recc('run', model, '--steps', '100', '-q', '--out', out);
    expect(r.code, r.stderr).toBe(0);
    const metrics = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'));
    expect(metrics.evaluatedOn).toBe('validation');
    const seen = await open(join(out, 'report.html'), 'run-report.png');
    expectRendered(seen, 3, 'run-report.png'); // loss, rmse, mae
  });

  it('a sweep report: best so far, hyperparameters against the objective, parallel coordinates', async () => {
    const out = join(work, 'sweep');
    const argv = [join(repoRoot(), 'bin', 'recc.js'), 'sweep', example, '--param', 'lr=loguniform(1e-3,1e-1)', '--param', 'gramw=0.01,0.1',
      '--folds', '2', '--trials', '3', '--jobs', '2', '--steps', '6', '--set', 'd=8', '-q', '--out', out];
    const r = spawnSync(process.execPath, argv, { cwd: repoRoot(), encoding: 'utf8', timeout: 400_000 });
    expect(r.status, r.stderr).toBe(0);
    const seen = await open(join(out, 'report.html'), 'sweep-report.png');
    expectRendered(seen, 3, 'sweep-report.png');
  }, 600_000);

  it('a cross-validation report: each metric per fold with the mean', async () => {
    const out = join(work, 'cv');
    const r = recc('cv', example, '--folds', '3', '--steps', '10', '--set', 'd=8', '-q', '-o', out);
    expect(r.code, r.stderr).toBe(0);
    const seen = await open(join(out, 'report.html'), 'cv-report.png');
    expectRendered(seen, 2, 'cv-report.png'); // rmse, mae
  });
});

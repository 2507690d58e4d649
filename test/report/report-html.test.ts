// The HTML reports without a browser (test/browser/ opens them in Chromium): the page inlines every
// script with its SHA-256 in the Content-Security-Policy and nothing else, embeds data that cannot end
// its <script> element, stays under 1 MB; the charts pick log scales where the data spans decades and
// bucket long runs; the best-so-far curve is the running best; `recc report DIR` rewrites a run's
// report.html byte for byte, and refuses a folder that is no run, sweep or cv.
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { htmlPage, interpreterScript, scriptJson } from '../../runtime/output/html-page.ts';
import { bestSoFar, bucketed, lossChart, MAX_POINTS, metricCharts, parallelCoordinates, spansDecades, sweepScatter } from '../../runtime/output/report-charts.ts';
import { readLossCsv } from '../../runtime/output/run-report.ts';
import { recc } from '../helpers/cli.ts';
import { repoRoot } from '../../runtime/data/data-paths.ts';

const example = join(repoRoot(), 'examples', 'mf-gramian.recmodel');

/** The inline scripts of a page, and the CSP's script hashes. */
function scriptsAndPolicy(html: string): { scripts: string[]; hashes: string[]; csp: string } {
  const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html)![1]!.replace(/&#39;|&apos;/g, "'");
  const scripts = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1]!);
  const hashes = [...csp.matchAll(/'sha256-([^']+)'/g)].map((m) => m[1]!);
  return { scripts, hashes, csp };
}

describe('html-page', () => {
  const title = 'a </script><img src=x onerror=alert(1)> title';
  const html = htmlPage({ title, sections: [{ kind: 'text', text: '</script><script>alert(1)</script>' }, { kind: 'table', columns: ['a'], rows: [['<b>']] }] });

  it('allows exactly its inline scripts (by hash), no network and no eval', () => {
    const { scripts, hashes, csp } = scriptsAndPolicy(html);
    expect(scripts.length).toBe(5); // vega, vega-lite, vega-embed, vega-interpreter, the page's own
    expect(hashes).toEqual(scripts.map((s) => createHash('sha256').update(s, 'utf8').digest('base64')));
    expect(csp).toMatch(/^default-src 'none'; script-src /);
    expect(csp).not.toMatch(/unsafe-eval|https?:|\*/);
    const scriptSrc = /script-src ([^;]*)/.exec(csp)![1]!.trim().split(/\s+/);
    expect(scriptSrc.every((s) => /^'sha256-[A-Za-z0-9+/=]+'$/.test(s))).toBe(true);
  });

  it('embeds the data as JSON that no string can break out of', () => {
    const data = /<script type="application\/json" id="report-data">([\s\S]*?)<\/script>/.exec(html)![1]!;
    expect(data).not.toContain('<');
    expect(JSON.parse(data).sections[0].text).toBe('</script><script>alert(1)</script>');
    expect(html).not.toContain('<img src=x');
    expect(html).toContain('a &lt;/script&gt;&lt;img src=x onerror=alert(1)&gt; title');
    expect(scriptJson('\u2028<')).toBe('"\\u2028\\u003c"');
  });

  it('is one file under 1 MB', () => {
    expect(Buffer.byteLength(html)).toBeLessThan(1_000_000);
    expect(html).not.toMatch(/<(script|link)[^>]+(src|href)=/);
  });

  it('turns vega-interpreter\'s ES module into a classic script, and refuses a build of another shape', () => {
    const ok = "import { a, b } from 'vega-util';\nfunction f() {}\nexport { f as expressionInterpreter };\n";
    const s = interpreterScript(ok);
    expect(s).toContain('const { a, b } = vega;');
    expect(s).toContain('globalThis.vegaExpressionInterpreter = f;');
    expect(s).not.toMatch(/^(import|export)\b/m);
    expect(() => interpreterScript("import { a } from 'vega-util';\nimport x from 'y';\nexport { f as expressionInterpreter };\n")).toThrow(/not the ES module/);
    expect(() => interpreterScript('export default 1;\n')).toThrow(/not the ES module/);
  });
});

describe('report-charts', () => {
  it('uses a log scale only for positive values spanning two decades', () => {
    expect(spansDecades([1, 50])).toBe(false);
    expect(spansDecades([0.01, 1])).toBe(true);
    expect(spansDecades([-1, 0.01, 1])).toBe(false);
    const rows = (f: (s: number) => number) => Array.from({ length: 50 }, (_, j) => ({ step: j + 1, terms: { mse: f(j) }, total: f(j) }));
    const y = (spec: Record<string, unknown>) => (spec.encoding as { y: { scale: Record<string, unknown> } }).y.scale;
    expect(y(lossChart(rows((j) => 10 * 0.8 ** j))!)).toEqual({ type: 'log' });
    expect(y(lossChart(rows((j) => 2 - j / 100))!)).toEqual({ zero: false });
    expect(lossChart([{ step: 1, terms: { mse: NaN }, total: NaN }])).toBeUndefined();
  });

  it('averages long runs into at most MAX_POINTS buckets, each at its last step', () => {
    const rows = Array.from({ length: 1000 }, (_, j) => ({ step: j + 1, terms: { a: j, b: 1 }, total: j + 1 }));
    const b = bucketed(rows);
    expect(b.length).toBeLessThanOrEqual(MAX_POINTS);
    expect(b[0]).toEqual({ step: 3, terms: { a: 1, b: 1 }, total: 2 });
    expect(b.at(-1)!.step).toBe(1000);
    const spec = lossChart(rows)!;
    const values = (spec.data as { values: { term: string }[] }).values;
    expect(new Set(values.map((v) => v.term))).toEqual(new Set(['a', 'b', 'total']));
  });

  it('draws each metric per part measured, at most MAX_POINTS evaluations a line, the last kept', () => {
    const evals = [
      ...Array.from({ length: 1001 }, (_, j) => ({ step: j + 1, epoch: j + 1, on: 'validation', metrics: { rmse: 1 / (j + 1), mae: 1 } })),
      { step: 1001, epoch: 1001, on: 'test', metrics: { rmse: 0.5, mae: 0.4 } },
    ];
    const charts = metricCharts(evals);
    expect(charts.map((c) => c.metric)).toEqual(['rmse', 'mae']);
    const values = (charts[0]!.spec.data as { values: { step: number; on: string }[] }).values;
    const validation = values.filter((v) => v.on === 'validation');
    expect(validation.length).toBeLessThanOrEqual(MAX_POINTS);
    expect(validation.at(-1)!.step).toBe(1001);
    expect(values.filter((v) => v.on === 'test')).toHaveLength(1);
  });

  it('draws the best so far as the running minimum (or maximum), failed trials left out', () => {
    const trials = [{ trial: 0, config: { lr: 0.1 }, objective: 3 }, { trial: 1, config: { lr: 0.01 }, objective: 1 }, { trial: 2, config: { lr: 0.001 }, objective: null }, { trial: 3, config: { lr: 0.05 }, objective: 2 }];
    const best = (d: 'min' | 'max') => ((bestSoFar(trials, d, 'rmse')!.data as { values: { best: number }[] }).values).map((v) => v.best);
    expect(best('min')).toEqual([3, 1, 1]);
    expect(best('max')).toEqual([3, 3, 3]);
    const scatter = sweepScatter(trials, ['lr'], 'rmse', new Set(['lr']))!;
    expect(((scatter.hconcat as { encoding: { x: { scale: unknown } } }[])[0]!).encoding.x.scale).toEqual({ type: 'log' });
    expect(parallelCoordinates(trials, ['lr'], 'rmse')).toBeUndefined(); // one axis: the scatter says it all
    const two = trials.map((t) => ({ ...t, config: { ...t.config, d: 8 * (t.trial + 1) } }));
    const pc = (parallelCoordinates(two, ['lr', 'd'], 'rmse')!.data as { values: { axis: string; position: number }[] }).values;
    expect(pc.filter((v) => v.axis === 'd').map((v) => v.position)).toEqual([0, 1 / 3, 1]); // d = 8, 16, 32 (trial 2 failed)
  });
});

describe('recc run writes report.html, and recc report DIR rewrites it', () => {
  it('the same bytes from the folder\'s files; explain.json holds the rewrites and costs', () => {
    const dir = mkdtempSync(join(tmpdir(), 'recc-report-'));
    const out = join(dir, 'run');
    const r = recc('run', example, '--steps', '12', '--set', 'd=4', '-q', '--out', out);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('report.html');
    const first = readFileSync(join(out, 'report.html'), 'utf8');
    const explain = JSON.parse(readFileSync(join(out, 'explain.json'), 'utf8'));
    expect(explain.items.map((x: { kind: string; name: string }) => `${x.kind} ${x.name}`)).toEqual(['loss omse', 'reg l2', 'reg gram', 'gradient ∂/∂U[u, d]', 'gradient ∂/∂V[i, d]']);
    const gram = explain.items.find((x: { name: string }) => x.name === 'gram');
    expect(gram.rules).toContain('expand+contract');
    expect(gram.after.flops).toBeLessThan(gram.before.flops);
    expect(first).toContain(JSON.stringify(gram.rules).slice(1, -1));
    expect(readLossCsv(readFileSync(join(out, 'loss.csv'), 'utf8')).rows.length).toBe(12);
    rmSync(join(out, 'report.html'));
    const again = recc('report', out);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout.trim()).toBe(join(out, 'report.html'));
    expect(readFileSync(join(out, 'report.html'), 'utf8')).toBe(first);
  });

  it('refuses a folder that no run, sweep or cv wrote, and a damaged metrics.json', () => {
    const dir = mkdtempSync(join(tmpdir(), 'recc-report-'));
    const bad = recc('report', dir);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('is not a run, sweep or cv folder');
    expect(recc('report', join(dir, 'nope')).code).toBe(2);
    writeFileSync(join(dir, 'metrics.json'), '{ not json');
    const damaged = recc('report', dir);
    expect(damaged.code).toBe(1);
    expect(damaged.stderr).toMatch(/metrics\.json is not valid JSON/);
  });
});

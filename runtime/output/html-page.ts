// One self-contained HTML page (a run's, sweep's or cross-validation's report.html): it opens offline
// from a file and fetches nothing. The page is a list of sections (headings, key/value lists, tables,
// preformatted text, charts as Vega-Lite specs) embedded as JSON; one fixed script below draws them
// with Vega-Lite through vega-embed, whose builds are read from node_modules when the page is written
// (no CDN) and inlined. The Content-Security-Policy allows nothing but those inline scripts (by their
// SHA-256) and inline styles: no network, no eval — Vega's expressions run through vega-interpreter
// (`ast: true`), whose ES module is inlined as a classic script reading vega-util from `vega`.
// Data is JSON inside <script type="application/json"> with every `<` escaped, and the script writes
// it with textContent only, so no string from a run (a model name, a path) is ever parsed as HTML.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** A part of a report page, drawn in order. Charts are Vega-Lite specs (report-charts.ts). */
export type Section =
  | { readonly kind: 'heading'; readonly text: string }
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'keyvalue'; readonly entries: readonly (readonly [string, string])[] }
  | { readonly kind: 'table'; readonly columns: readonly string[]; readonly rows: readonly (readonly (string | number | null)[])[] }
  | { readonly kind: 'pre'; readonly text: string }
  | { readonly kind: 'chart'; readonly title: string; readonly spec: Readonly<Record<string, unknown>> };

export interface Page {
  readonly title: string;
  /** one line under the title */
  readonly subtitle?: string;
  readonly sections: readonly Section[];
}

/** The libraries the page inlines: package → its browser build, beside the file the package resolves to. */
const VENDOR = [
  { pkg: 'vega', file: 'vega.min.js' },
  { pkg: 'vega-lite', file: 'vega-lite.min.js' },
  { pkg: 'vega-embed', file: 'vega-embed.min.js' },
] as const;

let vendorCache: { readonly bytes: Buffer[]; readonly hashes: string[] } | undefined;

/**
 * The browser builds' bytes and their CSP hashes, read once per process. They stay bytes (hashed and
 * written as they are): as JS strings, joined into the page, their 830 KB cost a run ~4 MB of peak RSS
 * at its very end (bench/e2e).
 */
function vendorScripts(): { readonly bytes: Buffer[]; readonly hashes: string[] } {
  if (vendorCache) return vendorCache;
  const require = createRequire(import.meta.url);
  const path = (pkg: string, file: string): string => join(dirname(require.resolve(pkg)), file);
  const bytes = [...VENDOR.map((v) => readFileSync(path(v.pkg, v.file))), Buffer.from(interpreterScript(readFileSync(path('vega-interpreter', 'vega-interpreter.js'), 'utf8')), 'utf8')];
  vendorCache = { bytes, hashes: bytes.map(sha256) };
  return vendorCache;
}

/**
 * vega-interpreter ships only as an ES module importing vega-util; vega's browser build exports all of
 * vega-util, so the module becomes a classic script that takes those names from the global `vega` and
 * sets `vegaExpressionInterpreter`. A build of another shape is refused, not silently mangled.
 */
export function interpreterScript(module: string): string {
  const imports = /^import \{([\w\s,$]+)\} from 'vega-util';$/m;
  const exported = /^export \{ (\w+) as expressionInterpreter \};$/m;
  const name = exported.exec(module)?.[1];
  if (!imports.test(module) || name === undefined || /^(import|export)\b/m.test(module.replace(imports, '').replace(exported, '')))
    throw new Error('vega-interpreter\'s build is not the ES module html-page.ts expects (one `import {…} from \'vega-util\'`, one `export { … as expressionInterpreter }`)');
  const body = module.replace(imports, (_, names: string) => `const {${names}} = vega;`).replace(exported, `globalThis.vegaExpressionInterpreter = ${name};`);
  return `(function () {\n${body}\n})();`;
}

/** JSON that is safe inside a <script> element: no `<` (so no `</script>`), no U+2028/2029. */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

const escapeHtml = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

const sha256 = (data: string | Uint8Array): string => `'sha256-${createHash('sha256').update(data).digest('base64')}'`;

/** The page's own script: reads the JSON, builds the sections with textContent, embeds the charts. */
const RENDER = `(function () {
  'use strict';
  var page = JSON.parse(document.getElementById('report-data').textContent);
  var root = document.getElementById('report');
  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }
  function cell(v) {
    if (v === null || v === undefined) return '';
    if (typeof v === 'number') return Number.isInteger(v) ? String(v) : (Math.abs(v) >= 1e-3 && Math.abs(v) < 1e6 ? String(Number(v.toPrecision(5))) : v.toExponential(3));
    return String(v);
  }
  var pending = [];
  page.sections.forEach(function (s) {
    if (s.kind === 'heading') root.appendChild(el('h2', s.text));
    else if (s.kind === 'text') root.appendChild(el('p', s.text));
    else if (s.kind === 'pre') root.appendChild(el('pre', s.text));
    else if (s.kind === 'keyvalue') {
      var dl = el('dl');
      s.entries.forEach(function (kv) { dl.appendChild(el('dt', kv[0])); dl.appendChild(el('dd', kv[1])); });
      root.appendChild(dl);
    } else if (s.kind === 'table') {
      var wrap = el('div', null, 'table'), t = el('table'), head = el('tr');
      s.columns.forEach(function (c) { head.appendChild(el('th', c)); });
      t.appendChild(head);
      s.rows.forEach(function (r) {
        var tr = el('tr');
        r.forEach(function (v) { tr.appendChild(el('td', cell(v), typeof v === 'number' ? 'num' : null)); });
        t.appendChild(tr);
      });
      wrap.appendChild(t);
      root.appendChild(wrap);
    } else if (s.kind === 'chart') {
      var fig = el('figure', null, 'chart'), target = el('div');
      fig.appendChild(el('figcaption', s.title));
      fig.appendChild(target);
      root.appendChild(fig);
      pending.push(vegaEmbed(target, s.spec, { renderer: 'svg', actions: false, ast: true, expr: vegaExpressionInterpreter })
        .catch(function (e) { target.appendChild(el('p', 'chart failed: ' + e.message, 'error')); throw e; }));
    }
  });
  Promise.all(pending).then(function () { document.body.setAttribute('data-rendered', String(pending.length)); },
    function (e) { document.body.setAttribute('data-rendered', 'error'); console.error(e); });
})();`;

const STYLE = `body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1100px;padding:0 1em;color:#222}
h1{font-size:1.6em;margin-bottom:0}.subtitle{color:#666;margin-top:.2em}h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.6em}
dl{display:grid;grid-template-columns:max-content auto;gap:.2em 1.2em}dt{font-weight:600}dd{margin:0;word-break:break-word}
.table{overflow-x:auto}table{border-collapse:collapse;font-variant-numeric:tabular-nums}th,td{border:1px solid #ddd;padding:.2em .5em;text-align:left}
td.num{text-align:right}th{background:#f5f5f5}pre{background:#f7f7f7;padding:.8em;overflow-x:auto;white-space:pre-wrap}
figure.chart{margin:1em 0}figcaption{font-weight:600;margin-bottom:.3em}.error{color:#b00}`;

/** The page as one HTML document. */
export function htmlPage(page: Page): string {
  return htmlPageParts(page).map((p) => (typeof p === 'string' ? p : Buffer.from(p.buffer, p.byteOffset, p.byteLength).toString('utf8'))).join('');
}

/** The page's text in order, the inlined libraries as their bytes: what writeFileAtomic writes without joining. */
export function htmlPageParts(page: Page): (string | Uint8Array)[] {
  const vendor = vendorScripts();
  const csp = [`default-src 'none'`, `script-src ${[...vendor.hashes, sha256(RENDER)].join(' ')}`, `style-src 'unsafe-inline'`, `img-src data:`].join('; ');
  const head = [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${escapeHtml(csp)}">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(page.title)}</title>`,
    `<style>${STYLE}</style>`,
    '</head>',
    '<body>',
    `<h1>${escapeHtml(page.title)}</h1>`,
    page.subtitle ? `<p class="subtitle">${escapeHtml(page.subtitle)}</p>` : '',
    '<main id="report"></main>',
    `<script type="application/json" id="report-data">${scriptJson({ sections: page.sections })}</script>`,
  ].join('\n');
  return [head, ...[...vendor.bytes, RENDER].flatMap((s) => ['\n<script>', s, '</script>']), '\n</body>\n</html>\n'];
}

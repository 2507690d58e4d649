#!/usr/bin/env node
// Precompiles the CLI (cli/start.ts, the executable's entry; cli/main.ts and everything it imports; api.ts, the library API, as dist/api.js; the lazily imported runtime as separate
// chunks) to plain JavaScript in dist/, so bin/recc.js starts without tsx's loader. `npm install` and
// `npm ci` run it as `prepare`; `npm run build` runs it by hand. dist/ is only a cache: bin/recc.js
// uses it while dist/manifest.json matches every source it was built from, and runs the TypeScript
// through tsx otherwise, so an edited checkout never runs stale code. Never fails an install: without
// esbuild (installed with tsx) it says so and exits 0.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = join(root, 'dist');
const tmp = join(root, `dist.tmp-${process.pid}`);
const posix = (p) => p.split(sep).join('/');

let esbuild;
try {
  esbuild = await import('esbuild');
} catch (e) {
  console.warn(`recc: dist/ not built (esbuild is not available: ${e.message}); bin/recc.js runs the sources with tsx`);
  process.exit(0);
}

/**
 * In a bundle `import.meta.url` is the chunk's URL. Each source's own use of it (std/, schemas/, the
 * repository root) is rewritten to that source file's URL, relative to dist/ so the checkout may move.
 */
const sourceUrls = {
  name: 'source-urls',
  setup(build) {
    build.onLoad({ filter: /\.ts$/ }, async (args) => {
      let contents = await readFile(args.path, 'utf8');
      const rel = posix(relative(dist, args.path));
      contents = contents.replaceAll('import.meta.url', `new URL(${JSON.stringify(rel)}, import.meta.url).href`);
      return { contents, loader: 'ts' };
    });
  },
};

try {
  const started = Date.now();
  const result = await esbuild.build({
    absWorkingDir: root,
    entryPoints: { start: 'cli/start.ts', main: 'cli/main.ts', api: 'api.ts' },
    outdir: tmp,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    // every string, template, regex and identifier with \u escapes, so that a chunk is pure ASCII once
    // its comments are (below): V8 keeps a module's source for lazy compilation, and one `≥` in a
    // comment made the 600 KB chevrotain chunk a two-byte string (1.2 MB, and its decoding twice that)
    charset: 'ascii',
    // chevrotain is bundled (tree-shaken): as a package it is ~700 ES modules with lodash-es, which
    // take longer to load than recc check runs; the runtime's packages load lazily and stay external
    // yauzl (CommonJS, requires node's fs at run time) cannot be bundled into ESM chunks: it stays external too
    external: ['gpu.js', 'ajv', 'yauzl'],
    // keep node_modules/… paths even where node_modules is a link (a worktree's): the manifest names
    // the bundled packages' package.json as an installed copy of recc will have them
    preserveSymlinks: true,
    metafile: true,
    logLevel: 'warning',
    plugins: [sourceUrls],
  });
  // what is still not ASCII is in comments (esbuild leaves a regex literal's characters as written, so
  // only whole comment lines are touched): `?` there keeps a chunk one-byte
  const commentLine = /^\s*(\/\/|\/\*|\*)/;
  for (const file of readdirSync(tmp)) {
    if (!file.endsWith('.js')) continue;
    const text = readFileSync(join(tmp, file), 'utf8');
    if (!/[^\x00-\x7f]/.test(text)) continue;
    const lines = text.split('\n').map((l) => (commentLine.test(l) ? l.replace(/[^\x00-\x7f]/gu, '?') : l));
    writeFileSync(join(tmp, file), lines.join('\n'));
  }
  // every bundled source, this script, and the package.json of every bundled package (its version)
  const files = new Set([posix(relative(root, fileURLToPath(import.meta.url)))]);
  for (const file of Object.keys(result.metafile.inputs)) {
    const pkg = /^(.*?node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(file);
    files.add(pkg ? `${pkg[1]}/package.json` : file);
  }
  const inputs = {};
  for (const file of [...files].sort()) {
    const path = join(root, file);
    const st = statSync(path);
    inputs[file] = { size: st.size, mtimeMs: st.mtimeMs, sha256: createHash('sha256').update(readFileSync(path)).digest('hex') };
  }
  // the commands' names and summaries, for `recc --help` without loading them (cli/start.ts)
  const { COMMANDS } = await import(pathToFileURL(join(tmp, 'main.js')).href);
  const { summariesOf } = await import(pathToFileURL(join(tmp, 'start.js')).href);
  const commands = summariesOf(COMMANDS);
  writeFileSync(join(tmp, 'manifest.json'), JSON.stringify({ version: 2, entry: 'start.js', esbuild: esbuild.version, commands, inputs }, null, 1) + '\n');
  rmSync(dist, { recursive: true, force: true });
  renameSync(tmp, dist);
  console.log(`recc: built dist/ from ${Object.keys(inputs).length} sources in ${Date.now() - started} ms`);
} catch (e) {
  rmSync(tmp, { recursive: true, force: true });
  console.warn(`recc: dist/ not built (${e instanceof Error ? e.message : e}); bin/recc.js runs the sources with tsx`);
  rmSync(dist, { recursive: true, force: true });
}

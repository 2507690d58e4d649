#!/bin/sh
":" //; case " $NODE_OPTIONS " in *--v8-pool-size*) exec node "$0" "$@" ;; *) exec node --v8-pool-size=1 "$0" "$@" ;; esac
// Run as a program (npm's bin link, ./bin/recc.js), the line above is a shell script that starts node
// on this same file with V8's worker pool at one thread, unless NODE_OPTIONS sets it; node itself
// reads that line as a string and a comment. V8's pool (4 threads on any machine) compiles optimized
// JavaScript and helps the garbage collector; each of its threads keeps its own glibc malloc arena of
// compiler memory, ~2 MB apiece after a run. `recc run examples/mf-biased.recmodel` on ML-100K peaked
// at 92 MB with four threads and 82 MB with one, and was no slower (bench/e2e). recc's own parallel
// work (--threads) runs on its worker_threads, which this does not touch. The pool's size can only be
// set when node starts, hence the shell line; `node bin/recc.js` runs without it.
// The `recc` executable. It runs the precompiled JavaScript in dist/ (scripts/build-dist.mjs, run by
// `npm install`/`npm ci` as `prepare`, or `npm run build`) when dist/manifest.json matches every
// source it was built from; otherwise it registers tsx's loader and runs the TypeScript sources as
// they are, so an edited checkout never runs stale code and no build step is required.
// RECC_NO_DIST=1 forces the sources.
import { readFileSync, statSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));

// An installed copy (…/node_modules/recc) has every file's mtime set by the install, so there a source
// of the recorded size is trusted without hashing it (hashing all of them cost ~100 ms per start); a
// checkout (or an `npm link` of one, which runs from its real path) still hashes a changed file.
// Paths are plain strings and node:crypto is loaded only to hash: both showed in a start's profile.
const installed = /\/node_modules\/[^/]+\/$/.test(root);

/** dist/'s manifest, if dist/ was built from the sources as they are now. */
async function freshDist() {
  if (process.env.RECC_NO_DIST) return undefined;
  let manifest;
  try {
    manifest = JSON.parse(readFileSync(`${root}dist/manifest.json`, 'utf8'));
  } catch {
    return undefined;
  }
  if (manifest?.version !== 2 || typeof manifest.entry !== 'string' || typeof manifest.inputs !== 'object' || !Array.isArray(manifest.commands)) return undefined;
  let createHash;
  for (const [file, want] of Object.entries(manifest.inputs)) {
    const path = root + file;
    const st = statSync(path, { throwIfNoEntry: false });
    if (!st || st.size !== want.size) return undefined;
    // an unchanged mtime is trusted; a changed one (a checkout, a touch) is settled by the content
    if (st.mtimeMs !== want.mtimeMs && !installed) {
      createHash ??= (await import('node:crypto')).createHash;
      if (createHash('sha256').update(readFileSync(path)).digest('hex') !== want.sha256) return undefined;
    }
  }
  return manifest;
}

// A training run's garbage is short-lived (a step's batch columns and sums), but V8 grows the young
// generation by 2× whenever enough of it survives, up to 2 × 16 MB: `recc run` on ML-100K peaked at
// 124 MB RSS, 17 MB of it a young generation that a 1 MB one served as fast (bench/e2e, same wall
// time). The growth factor is read each time the young generation would grow, so it can be set here;
// the size limits themselves are fixed when the process starts (NODE_OPTIONS='--max-semi-space-size=N'
// still applies, and a semi-space flag given to node is left alone).
const nodeFlags = [...process.execArgv, process.env.NODE_OPTIONS ?? ''].join(' ');
if (!/semi-space/.test(nodeFlags) && Number(process.versions.node.split('.')[0]) <= 24) setFlagsFromString('--semi-space-growth-factor=1');

const dist = await freshDist();
const argv = process.argv.slice(2);
if (dist) {
  // cli/start.ts: help and --version from the manifest's command list, anything else through main
  const { start } = await import(new URL(`../dist/${dist.entry}`, import.meta.url).href);
  process.exitCode = await start(argv, dist.commands);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  const { main } = await import('../cli/main.ts');
  process.exitCode = await main(argv);
}

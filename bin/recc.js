#!/usr/bin/env node
// The `recc` executable. It runs the precompiled JavaScript in dist/ (scripts/build-dist.mjs, run by
// `npm install`/`npm ci` as `prepare`, or `npm run build`) when dist/manifest.json matches every
// source it was built from; otherwise it registers tsx's loader and runs the TypeScript sources as
// they are, so an edited checkout never runs stale code and no build step is required.
// RECC_NO_DIST=1 forces the sources.
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';

const root = new URL('../', import.meta.url);

/** dist/'s entry, if dist/ was built from the sources as they are now. */
function freshDist() {
  if (process.env.RECC_NO_DIST) return undefined;
  let manifest;
  try {
    manifest = JSON.parse(readFileSync(new URL('dist/manifest.json', root), 'utf8'));
  } catch {
    return undefined;
  }
  if (manifest?.version !== 1 || typeof manifest.entry !== 'string' || typeof manifest.inputs !== 'object') return undefined;
  for (const [file, want] of Object.entries(manifest.inputs)) {
    const url = new URL(file, root);
    try {
      const st = statSync(url);
      if (st.size !== want.size) return undefined;
      // an unchanged mtime is trusted; a changed one (a checkout, a touch) is settled by the content
      if (st.mtimeMs !== want.mtimeMs && createHash('sha256').update(readFileSync(url)).digest('hex') !== want.sha256) return undefined;
    } catch {
      return undefined;
    }
  }
  return new URL(`dist/${manifest.entry}`, root);
}

const entry = freshDist();
let main;
if (entry) ({ main } = await import(entry.href));
else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../cli/main.ts'));
}
process.exitCode = await main(process.argv.slice(2));

#!/usr/bin/env node
// `npm pack` (prepack) writes npm-shrinkwrap.json from package-lock.json, so an installed tarball
// (`npm i -g recc-*.tgz`) gets the versions this checkout was tested with. It matters for one
// package above all: package.json's `overrides` (gpu.js's pinned webgpu@0.2.9, 85 MB and unloadable
// on Debian bookworm, replaced by an empty package) apply only to the project that declares them,
// never to an installed package; a bundled shrinkwrap is followed by the install. Entries only the
// development tools need (dev: true) are left out: an installed package never gets them.
// postpack runs it with --remove: the shrinkwrap lives only inside the tarball.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const lockPath = fileURLToPath(new URL('../package-lock.json', import.meta.url));
const wrapPath = fileURLToPath(new URL('../npm-shrinkwrap.json', import.meta.url));

if (process.argv.includes('--remove')) {
  rmSync(wrapPath, { force: true });
  process.exit(0);
}

const lock = JSON.parse(readFileSync(lockPath, 'utf8'));
if (lock.lockfileVersion < 2 || typeof lock.packages !== 'object') {
  console.error(`recc: package-lock.json has lockfileVersion ${lock.lockfileVersion}; the shrinkwrap needs 2 or 3 (npm ≥ 7)`);
  process.exit(1);
}
const packages = {};
let dropped = 0;
for (const [path, entry] of Object.entries(lock.packages)) {
  if (entry.dev) dropped++;
  else packages[path] = entry;
}
writeFileSync(wrapPath, JSON.stringify({ ...lock, packages }, null, 2) + '\n');
console.error(`recc: npm-shrinkwrap.json from package-lock.json: ${Object.keys(packages).length - 1} packages (${dropped} development-only left out)`);

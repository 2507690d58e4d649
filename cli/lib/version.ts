// recc's version, from package.json, read when asked (not at start-up): `recc --version`, and the
// identity a checkpoint records.
import { readFileSync } from 'node:fs';

export function reccVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
  if (typeof pkg.version !== 'string') throw new Error('package.json has no version');
  return pkg.version;
}

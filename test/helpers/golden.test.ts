// The golden helper itself: a fixture without an expectation is written (and passes) on a developer's
// machine, fails in CI with a message saying how to create it, and UPDATE_GOLDEN=1 rewrites in both.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { golden, inCi, loadFixtures, MARKER } from './golden.ts';

const SOURCE = 'model m\nindex user\n';

/** A directory holding one fixture, `new.recmodel`, with the given text. */
function fixtureDir(text: string): { dir: string; path: string } {
  const dir = mkdtempSync(join(tmpdir(), 'recc-golden-'));
  const path = join(dir, 'new.recmodel');
  writeFileSync(path, text);
  return { dir, path };
}

describe('golden: a missing expectation', () => {
  it('fails in CI, names the fixture, says to use UPDATE_GOLDEN=1, and writes nothing', () => {
    const { dir, path } = fixtureDir(SOURCE);
    const [fx] = loadFixtures(dir);
    expect(fx!.expected).toBeUndefined();
    expect(() => golden(fx!, 'ok', { CI: 'true' })).toThrow(/new\.recmodel has no expectation[\s\S]*UPDATE_GOLDEN=1/);
    expect(readFileSync(path, 'utf8')).toBe(SOURCE);
  });

  it('is written outside CI, and read back as the expectation', () => {
    const { dir, path } = fixtureDir(SOURCE);
    expect(golden(loadFixtures(dir)[0]!, 'error[RC0201]: x\n\n  --> y', {})).toBe('error[RC0201]: x\n\n  --> y');
    expect(readFileSync(path, 'utf8')).toBe(`${SOURCE}${MARKER}\n# error[RC0201]: x\n#\n#   --> y\n`);
    expect(loadFixtures(dir)[0]!.expected).toBe('error[RC0201]: x\n\n  --> y');
  });

  it('is written in CI too when UPDATE_GOLDEN=1 asks for it', () => {
    const { dir, path } = fixtureDir(SOURCE);
    expect(golden(loadFixtures(dir)[0]!, 'ok', { CI: 'true', UPDATE_GOLDEN: '1' })).toBe('ok');
    expect(readFileSync(path, 'utf8')).toBe(`${SOURCE}${MARKER}\n# ok\n`);
  });
});

describe('golden: a present expectation', () => {
  it('is returned unchanged, in CI or not, so the caller compares against it', () => {
    const { dir, path } = fixtureDir(`${SOURCE}${MARKER}\n# ok\n`);
    const fx = loadFixtures(dir)[0]!;
    for (const env of [{}, { CI: 'true' }]) expect(golden(fx, 'something else', env)).toBe('ok');
    expect(readFileSync(path, 'utf8')).toBe(`${SOURCE}${MARKER}\n# ok\n`);
  });
});

describe('inCi', () => {
  it('reads CI as CI services set it', () => {
    for (const ci of ['true', '1', 'TRUE', 'yes']) expect(inCi({ CI: ci }), ci).toBe(true);
    for (const ci of [undefined, '', 'false', '0']) expect(inCi({ CI: ci }), String(ci)).toBe(false);
  });
});

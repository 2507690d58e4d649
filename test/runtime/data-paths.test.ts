import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ml100kDir, repoRoot, sharedDataDir } from '../../runtime/data/data-paths.ts';

describe('sharedDataDir', () => {
  const saved = process.env.RECC_DATA_DIR;
  afterEach(() => {
    if (saved === undefined) delete process.env.RECC_DATA_DIR;
    else process.env.RECC_DATA_DIR = saved;
  });

  it('prefers $RECC_DATA_DIR when it holds ml-100k/', () => {
    const d = mkdtempSync(join(tmpdir(), 'recc-data-'));
    mkdirSync(join(d, 'ml-100k'));
    process.env.RECC_DATA_DIR = d;
    expect(sharedDataDir()).toBe(d);
    expect(ml100kDir()).toBe(join(d, 'ml-100k'));
  });

  it('otherwise looks beside the repository root, or gives undefined', () => {
    process.env.RECC_DATA_DIR = join(tmpdir(), 'no-such-recc-data');
    const d = sharedDataDir();
    expect(d === undefined || d === join(repoRoot(), '..', 'shared', 'data')).toBe(true);
  });
});

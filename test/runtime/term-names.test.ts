// Names a model chooses reach plain-object keys in the run's logs: a term (or domain) named like an
// Object.prototype member (`__proto__`, `constructor`) must be an ordinary key in loss.csv, the report
// and metrics.json, not the object's prototype.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../runtime/data/data-paths.ts';
import { recc } from '../helpers/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'recc-term-names-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('term names that are Object.prototype members', () => {
  it.each(['__proto__', 'constructor'])('a reg named %s is logged, reported and saved like any other', (name) => {
    const examples = join(repoRoot(), 'examples');
    const text = readFileSync(join(examples, 'mf-gramian.recmodel'), 'utf8').replace(/^reg\s+gram\s*=/m, `reg ${name} =`);
    expect(text).toContain(`reg ${name} =`);
    const model = join(dir, `${name === '__proto__' ? 'proto' : name}.recmodel`);
    writeFileSync(model, text);
    const out = join(dir, name);
    const r = recc('run', model, '--data', join(examples, 'data', 'synthetic-ratings.tsv'), '--steps', '2', '-q', '--out', out);
    expect(r.code, r.stderr).toBe(0);
    const [header, first] = readFileSync(join(out, 'loss.csv'), 'utf8').split('\n');
    const col = header!.split(',').indexOf(name);
    expect(col).toBeGreaterThan(0);
    expect(Number(first!.split(',')[col])).toBeGreaterThan(0);
    expect(readFileSync(join(out, 'report.md'), 'utf8')).toMatch(new RegExp(`reg \`${name}\`: \\d`));
  });
});

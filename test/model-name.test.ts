// A model without a `model` line is named after its file, made an identifier: the name reaches run
// folders, plan.json (whose schema takes identifiers) and generated code.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkSource } from '../compiler/compile.ts';
import { fileBase } from '../compiler/check/index.ts';
import { repoRoot } from '../runtime/data/data-paths.ts';

describe('the default model name', () => {
  it.each([
    ['examples/mf.recmodel', 'mf'],
    ['/tmp/my-model.recmodel', 'my_model'],
    ['3way.recmodel', '_3way'],
    ["a'b;rm -rf.recmodel", 'a_b_rm__rf'],
    ['.recmodel', 'model'],
  ])('%s → %s', (path, name) => expect(fileBase(path)).toBe(name));

  it('is used when the file has no model line, and is an identifier', () => {
    const text = readFileSync(join(repoRoot(), 'examples', 'mf-gramian.recmodel'), 'utf8').replace(/^model \w+$/m, '');
    const r = checkSource(join(repoRoot(), 'examples', 'my-gramian.recmodel'), text);
    expect(r.model?.name).toBe('my_gramian');
  });
});

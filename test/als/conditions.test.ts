// ALS's block conditions as `recc check` reports them (checkAndLower: the front end, then the IR's
// block-quadratic proof for a model trained by `optimizer als`): goldens in test/golden/als — a term
// that is not a polynomial (named, with its subterm), one of degree 4, one that couples rows, a block
// the objective is only linear in, an objective that draws samples, and a model that passes.
import { describe, expect, it } from 'vitest';
import { checkAndLower } from '../../compiler/compile.ts';
import { isCode } from '../../compiler/diagnostics/messages.ts';
import { golden, loadFixtures, render } from '../helpers/golden.ts';

const dir = new URL('../golden/als/', import.meta.url).pathname;

describe('ALS block conditions (recc check)', () => {
  for (const fx of loadFixtures(dir)) {
    it(fx.name, () => {
      const r = checkAndLower(fx.src.path, fx.src.text);
      const actual = render(r.diagnostics, fx.src, r.sources);
      expect(actual).toBe(golden(fx, actual));
      for (const d of r.diagnostics) expect(isCode(d.code), d.code).toBe(true);
    });
  }
});

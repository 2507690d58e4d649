// Golden fixtures for diagnostics that only the compiler proper can give (after check): terms that
// stay all-pairs after rewriting (RC0530) and constructs it cannot lower yet (RC0590). Each fixture
// carries its expected output (test/helpers/golden.ts; UPDATE_GOLDEN=1 rewrites).
import { describe, expect, it } from 'vitest';
import { compileSource } from '../compiler/compile.ts';
import { golden, loadFixtures, render } from './helpers/golden.ts';

const dir = new URL('./golden/compile/', import.meta.url).pathname;

describe('compile diagnostics', () => {
  for (const fx of loadFixtures(dir)) {
    it(fx.name, () => {
      const r = compileSource(fx.src.path, fx.src.text, { sets: fx.sets });
      const out = render(r.diagnostics, fx.src, r.sources);
      expect(out).toBe(golden(fx, out));
      if (fx.name.startsWith('valid-')) expect(r.compiled).toBeDefined();
    });
  }
});

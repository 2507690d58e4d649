// Two suites. `fast` is `npm test`: every oracle (interpreter equivalence, gradients, kernels against
// the float64 reference, goldens, fuzzing, examples training on their bundled data) at small sizes,
// a few minutes on a 2-core machine. `ml100k` is `npm run test:ml100k`: end-to-end training on the
// real MovieLens-100K data (../shared/data), which takes minutes of its own; .ci/run runs both.
// Timeouts are limits against hangs, not performance assertions (timings live in bench/).
import { defineConfig } from 'vitest/config';

/** training on ML-100K (skipped, with the reason printed, where the data is absent) */
const ML100K = ['test/**/*ml100k*.test.ts'];

/** the HTML reports in headless Chromium (skipped, with the reason printed, where none is installed) */
const BROWSER = ['test/browser/**/*.test.ts'];

export default defineConfig({
  // `import … from 'recc'` in a test is the library API's source (package.json's exports name dist/api.js, built by npm)
  resolve: { alias: { recc: new URL('./api.ts', import.meta.url).pathname } },
  test: {
    reporters: ['default', './test/summary-reporter.ts'],
    pool: 'forks',
    projects: [
      {
        extends: true,
        test: { name: 'fast', include: ['test/**/*.test.ts'], exclude: [...ML100K, ...BROWSER], testTimeout: 120_000, hookTimeout: 120_000 },
      },
      {
        extends: true,
        // a loaded machine may take several times an idle one's minute; a hang still ends
        test: { name: 'ml100k', include: ML100K, testTimeout: 900_000, hookTimeout: 900_000 },
      },
      {
        extends: true,
        test: { name: 'browser', include: BROWSER, testTimeout: 300_000, hookTimeout: 120_000 },
      },
    ],
  },
});

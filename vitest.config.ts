import { defineConfig } from 'vitest/config';

// Two projects: `unit` is pure logic and runs anywhere in seconds; `e2e`
// drives a real Docker engine and real clusters, one file at a time because
// every cluster needs most of this machine.
export default defineConfig({
  test: {
    reporters: ['default', './test/summary-reporter.ts'],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          globalSetup: ['test/e2e/global-setup.ts'],
          fileParallelism: false,
          testTimeout: 30 * 60_000,
          hookTimeout: 60 * 60_000,
        },
      },
    ],
  },
});

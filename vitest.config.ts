import { defineConfig } from 'vitest/config';

/** One Temporal dev server and one local D1 service per test run (test/global-setup.ts). */
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    setupFiles: ['test/support/quiet-runtime.ts'],
    pool: 'forks',
    // Workflow tests mostly wait on Temporal and D1: three files at a time use two cores well.
    maxWorkers: 3,
    testTimeout: 60_000,
    hookTimeout: 180_000,
    reporters: ['default'],
  },
});

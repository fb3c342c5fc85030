import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    // forks, not threads: Temporal's native worker does not belong in worker_threads.
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // The dev server and the test database are shared; each file uses its own task queue and data.
    sequence: { concurrent: false },
  },
});

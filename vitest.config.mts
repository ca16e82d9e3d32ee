import { defineConfig } from 'vitest/config';

// Three projects: `unit` (pure functions, no servers), `integration` (real Temporal dev server, PostgreSQL,
// MariaDB, Redis, MinIO) and `browser` (the Web UI in Chromium, against the local stack). The integration global setup checks every server first and says which is missing.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts', 'test/replay/**/*.test.ts'],
          testTimeout: 30_000,
          sequence: { groupOrder: 0 },
          environment: 'node',
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/support/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          // Files share one Temporal dev server; two cores do not gain from more parallel files.
          maxWorkers: 2,
          // Unit tests (group 0) run first: a broken pure function fails fast, before any server starts.
          sequence: { groupOrder: 1 },
        },
      },
      {
        test: {
          name: 'browser',
          // The operator's journeys in Chromium against the local stack's Web UI and worker (not the
          // integration tests' private Temporal server): one browser at a time, after everything else.
          include: ['test/browser/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/browser/global-setup.ts'],
          testTimeout: 180_000,
          hookTimeout: 120_000,
          maxWorkers: 1,
          fileParallelism: false,
          sequence: { groupOrder: 2 },
        },
      },
    ],
  },
});

import { defineConfig } from 'vitest/config';

// Tests run against the TypeScript sources: the "source" export condition points
// workspace packages at src/ instead of their built dist/.
const source = { ssr: { resolve: { conditions: ['source'] } } };
// Property tests are CPU-bound and share two cores with the end-to-end suites'
// processes in CI: the timeout is there to catch a hang, not to time them.
const unit = { testTimeout: 30_000 };

export default defineConfig({
  test: {
    reporters: ['default', 'json'],
    outputFile: { json: 'reports/vitest.json' },
    projects: [
      {
        ...source,
        test: { ...unit, name: 'ledger', root: 'packages/ledger', include: ['test/**/*.test.ts'] },
      },
      { ...source, test: { ...unit, name: 'node', root: 'packages/node', include: ['test/**/*.test.ts'] } },
      { ...source, test: { ...unit, name: 'cli', root: 'packages/cli', include: ['test/**/*.test.ts'] } },
      // End-to-end: the built binary (tsc -b runs first in pnpm test), real nodes, real disks.
      {
        ...source,
        test: {
          name: 'e2e',
          root: 'test',
          include: ['**/*.test.ts'],
          exclude: ['load/**', '**/node_modules/**'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      // The load test measures the machine's maximum, so it runs alone, after all the others.
      {
        ...source,
        test: {
          name: 'load',
          root: 'test',
          include: ['load/**/*.test.ts'],
          testTimeout: 300_000,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});

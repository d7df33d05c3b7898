import { defineConfig } from 'vitest/config';

// Tests run against the TypeScript sources: the "source" export condition points
// workspace packages at src/ instead of their built dist/.
const source = { ssr: { resolve: { conditions: ['source'] } } };

export default defineConfig({
  test: {
    reporters: ['default', 'json'],
    outputFile: { json: 'reports/vitest.json' },
    projects: [
      { ...source, test: { name: 'ledger', root: 'packages/ledger', include: ['test/**/*.test.ts'] } },
      { ...source, test: { name: 'node', root: 'packages/node', include: ['test/**/*.test.ts'] } },
    ],
  },
});

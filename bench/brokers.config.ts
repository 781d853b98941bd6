// Vitest config for bench/brokers.run.ts only (npm run bench:brokers): a benchmark, not a test.
// Vitest is just the TypeScript runner that lets it reuse the interop peers harness.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['bench/brokers.run.ts'],
    testTimeout: 3 * 60 * 60_000,
    hookTimeout: 10 * 60_000,
    fileParallelism: false,
    // Lines go straight to stdout, not through vitest's per-test log blocks.
    disableConsoleIntercept: true,
    coverage: { enabled: false },
  },
});

import { defineConfig } from 'vitest/config';

export default defineConfig({
  // Examples import `larder` by name; the tsconfig paths point that at src/.
  resolve: { tsconfigPaths: true },
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
  },
});

import { configDefaults, defineConfig } from 'vitest/config';

/**
 * Two projects, one per eviction policy (issue 7: "run the whole test suite under both policies"):
 *
 * - `tinylfu`: every suite, under the library default. test/core and test/policy already run each test
 *   under both policies explicitly (test/core/policies.ts); test/bench is policy-independent.
 * - `lru`: the suites that build caches with the default policy (Redis, Express, Next.js, examples) once
 *   more, with `LARDER_TEST_POLICY=lru`: in-process code through a mock of src/policy/default-policy.ts
 *   (test/helpers/lru-default.ts), child processes through the fixtures that read the variable
 *   (test/helpers/test-policy.ts). test/policy-switch.test.ts fails when the switch does not take effect.
 */
const lruSuites = [
  'test/policy-switch.test.ts',
  'test/redis/**/*.test.ts',
  'test/express/**/*.test.ts',
  'test/next/**/*.test.ts',
  'test/examples/**/*.test.ts',
];

export default defineConfig({
  // Examples import `larder` by name; the tsconfig paths point that at src/.
  resolve: { tsconfigPaths: true },
  test: {
    testTimeout: 20_000,
    hookTimeout: 30_000,
    // Kills any redis-server a test started and did not stop (test/helpers/redis-server-registry.ts).
    globalSetup: ['test/helpers/redis-server-registry.ts'],
    projects: [
      {
        extends: true,
        // The library default; an empty LARDER_TEST_POLICY keeps a stray one in the shell out of the fixtures.
        test: { name: 'tinylfu', include: ['test/**/*.test.ts'], env: { LARDER_TEST_POLICY: '' } },
      },
      {
        extends: true,
        test: {
          name: 'lru',
          include: lruSuites,
          // test/examples/nextjs.test.ts runs its example under both policies itself (one `next build`,
          // `next start` once per POLICY); two projects building examples/nextjs at once would share its .next.
          // test/next/e2e-next15.test.ts checks Next.js 15 compatibility, which does not depend on the policy: once.
          exclude: [
            ...configDefaults.exclude,
            'test/examples/nextjs.test.ts',
            'test/next/e2e-next15.test.ts',
          ],
          env: { LARDER_TEST_POLICY: 'lru' },
          setupFiles: ['test/helpers/lru-default.ts'],
        },
      },
    ],
  },
});

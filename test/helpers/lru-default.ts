/**
 * Setup file of the `lru` vitest project (vitest.config.ts): every cache built in the test process without
 * `policy` uses `LARDER_TEST_POLICY` (set by that project) instead of the library default. Child processes
 * do not see this; see test/helpers/test-policy.ts.
 */
import { vi } from 'vitest';

vi.mock('../../src/policy/default-policy.js', async () => {
  const { testPolicy } = await import('./test-policy.js');
  const policy = testPolicy();
  if (policy === undefined)
    throw new Error('lru-default.ts is the setup of a project that sets LARDER_TEST_POLICY');
  return { DEFAULT_POLICY: policy };
});

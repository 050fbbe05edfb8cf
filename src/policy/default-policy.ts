import type { StorePolicy } from './create-store.js';

/**
 * The policy of a cache created without `policy` (see docs/policy.md for the data behind the choice).
 *
 * Kept in a module of its own so that the test suite can run everything under `'lru'` as well, by
 * replacing this module in its `lru` project (vitest.config.ts, test/helpers/lru-default.ts). Not exported
 * from the package.
 *
 * @internal
 */
export const DEFAULT_POLICY: StorePolicy = 'tinylfu';

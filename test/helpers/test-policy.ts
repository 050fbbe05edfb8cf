/**
 * The eviction policy of this test run. `npm test` runs two vitest projects (vitest.config.ts): `tinylfu`
 * (every suite, under the library's default) and `lru` (the suites above the store once more, with
 * `LARDER_TEST_POLICY=lru`). In the `lru` project:
 *
 * - in-process code gets `'lru'` as the default policy: test/helpers/lru-default.ts replaces the module that
 *   holds it (src/policy/default-policy.ts) with `vi.mock`;
 * - child processes do not see `vi.mock`, so the fixtures and harnesses that build caches in them pass
 *   {@link testPolicy} explicitly (the library itself never reads the environment).
 *
 * {@link observedPolicy} tells the two policies apart by behaviour, for the guards that check the switch
 * took effect (test/policy-switch.test.ts and the worker's `policy` request in test/redis/fixtures).
 */
import type { Policy } from '../../src/index.js';

const POLICIES: readonly Policy[] = ['lru', 'tinylfu'];

/** `LARDER_TEST_POLICY` (`'lru'` or `'tinylfu'`), or `undefined` when unset (the library default applies). */
export function testPolicy(): Policy | undefined {
  const value = process.env.LARDER_TEST_POLICY;
  if (value === undefined || value === '') return undefined;
  if (!(POLICIES as readonly string[]).includes(value)) {
    throw new Error(`LARDER_TEST_POLICY must be 'lru' or 'tinylfu'; got ${JSON.stringify(value)}`);
  }
  return value as Policy;
}

/** The policy a cache built without `policy` should use in this run. */
export function expectedPolicy(): Policy {
  return testPolicy() ?? 'tinylfu';
}

/** What {@link observedPolicy} uses of a cache (a `Cache<string, number>` or `Cache<string, unknown>`). */
export interface Probed {
  set(key: string, value: number): unknown;
  get(key: string): unknown;
  has(key: string): boolean;
}

/** The entry bound of the caches {@link observedPolicy} probes. */
export const PROBE_MAX = 10;

/**
 * Which policy `cache` (empty, bounded by `max` entries, default {@link PROBE_MAX}) evicts by. Fills it with
 * `max` keys read a few times each, then writes 4 × `max` new keys once each (a scan). LRU evicts every hot
 * key; W-TinyLFU refuses the scan admission and keeps most of them (all but the few in its window). Leaves the
 * cache dirty; throws when the outcome is neither.
 */
export function observedPolicy(cache: Probed, max = PROBE_MAX): Policy {
  for (let i = 0; i < max; i++) cache.set(`hot:${i}`, i);
  for (let round = 0; round < 4; round++) {
    for (let i = 0; i < max; i++) cache.get(`hot:${i}`);
  }
  for (let i = 0; i < 4 * max; i++) cache.set(`scan:${i}`, i);
  let kept = 0;
  for (let i = 0; i < max; i++) if (cache.has(`hot:${i}`)) kept++;
  if (kept === 0) return 'lru';
  if (kept >= max / 2) return 'tinylfu';
  throw new Error(`neither policy: ${kept} of ${max} hot keys survived a scan`);
}

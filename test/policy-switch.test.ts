/**
 * Guards the policy switch of the test run (vitest.config.ts): runs in both projects and fails when the caches
 * the suites build without `policy` do not use this run's policy.
 */
import { Cache as ByName } from 'larder';
import { describe, expect, it } from 'vitest';
import { Cache } from '../src/index.js';
import { createCache } from '../src/redis/index.js';
import { expectedPolicy, observedPolicy, PROBE_MAX, testPolicy } from './helpers/test-policy.js';

describe('the policy of this test run', () => {
  it('the probe tells the two policies apart', () => {
    expect(observedPolicy(new Cache<string, number>({ max: PROBE_MAX, policy: 'lru' }))).toBe('lru');
    expect(observedPolicy(new Cache<string, number>({ max: PROBE_MAX, policy: 'tinylfu' }))).toBe('tinylfu');
  });

  it(`new Cache() without policy uses ${expectedPolicy()}`, () => {
    expect(new Cache<string, number>({ max: PROBE_MAX }).policy).toBe(expectedPolicy());
    expect(observedPolicy(new Cache<string, number>({ max: PROBE_MAX }))).toBe(expectedPolicy());
  });

  it('so does createCache() from larder/redis', () => {
    expect(observedPolicy(createCache<string, number>({ max: PROBE_MAX }))).toBe(expectedPolicy());
  });

  it('so does the Cache the examples import by package name', () => {
    expect(ByName).toBe(Cache);
    expect(observedPolicy(new ByName<string, number>({ max: PROBE_MAX }))).toBe(expectedPolicy());
  });

  it('is the policy the vitest project is named after', ({ task }) => {
    expect(task.file.projectName).toBe(expectedPolicy());
    expect(testPolicy()).toBe(task.file.projectName === 'lru' ? 'lru' : undefined);
  });
});

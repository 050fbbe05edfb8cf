import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Cache, type LoaderContext } from '../../src/index.js';
import { advance, type Deferred, deferred } from './helpers.js';
import { policies } from './policies.js';

// Issue 15, item 13: loads that ignore their abort signal after a soft timeout must not pile up without bound.
describe.each(policies)('lingering loads after soft timeouts (%s)', (policy) => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  /** `n` keys, each with a stale value and a hung loader that times out softly. */
  async function pileUp(n: number, max: number) {
    const cache = new Cache<string, string>({ max, ttl: 10, staleIfError: '1h', timeout: 5, policy });
    for (let i = 0; i < n; i++) cache.set(`k${i}`, 'old');
    await advance(20);
    const loads: Deferred<string>[] = [];
    const contexts: LoaderContext<string, string>[] = [];
    for (let i = 0; i < n; i++) {
      const d = deferred<string>();
      loads.push(d);
      const value = cache.getOrSet(`k${i}`, (ctx) => {
        contexts.push(ctx);
        return d.promise; // ignores ctx.signal
      });
      await advance(6);
      expect(await value).toBe('old');
    }
    return { cache, loads, contexts };
  }

  it('keeps at most 1,000 lingering loads: the oldest beyond that can no longer store', async () => {
    const n = 1050;
    const { cache, loads } = await pileUp(n, 2000);
    expect(cache.stats().timeouts).toBe(n);
    for (const [i, d] of loads.entries()) d.resolve(`new${i}`);
    await advance(0);
    let stored = 0;
    for (let i = 0; i < n; i++) if (cache.get(`k${i}`) === `new${i}`) stored++;
    // The 50 oldest were dropped from the lingering table; the 1,000 newest still stored their results.
    expect(stored).toBe(1000);
    expect(cache.get('k0')).toBeUndefined();
    expect(cache.get(`k${n - 1}`)).toBe(`new${n - 1}`);
  });

  it('a lingering load no longer holds its stale value', async () => {
    const { contexts } = await pileUp(3, 100);
    for (const ctx of contexts) expect(ctx.stale).toBeUndefined();
  });

  it('a loader reads its stale value before the timeout', async () => {
    const cache = new Cache<string, string>({ max: 10, ttl: 10, staleIfError: '1h', timeout: 5, policy });
    cache.set('k', 'old');
    await advance(20);
    let seen: string | undefined;
    await cache.getOrSet('k', (ctx) => {
      seen = ctx.stale;
      return 'new';
    });
    expect(seen).toBe('old');
  });
});

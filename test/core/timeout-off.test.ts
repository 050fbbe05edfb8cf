import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Cache, TimeoutError } from '../../src/index.js';
import { advance, deferred, track } from './helpers.js';
import { policies } from './policies.js';

// Issue 15, item 16: a per-call `timeout: Infinity` (or 0) switches off a cache-wide `timeout`.
describe.each(policies)('switching a timeout off (%s)', (policy) => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it.each([Number.POSITIVE_INFINITY, 0])('per-call timeout %s: no timeout for that call', async (timeout) => {
    const cache = new Cache<string, string>({ max: 100, timeout: 100, policy });
    const d = deferred<string>();
    let signal: AbortSignal | undefined;
    const call = track(
      cache.getOrSet(
        'k',
        (ctx) => {
          signal = ctx.signal;
          return d.promise;
        },
        { timeout },
      ),
    );
    await advance(10_000);
    expect(call.settled).toBe(false);
    expect(signal?.aborted).toBe(false);
    expect(cache.stats().timeouts).toBe(0);
    d.resolve('v');
    await advance(0);
    expect(call.value).toBe('v');
    expect(cache.get('k')).toBe('v');
  });

  it('the cache-wide timeout still applies to calls that do not switch it off', async () => {
    const cache = new Cache<string, string>({ max: 100, timeout: 100, policy });
    const call = track(cache.getOrSet('k', () => new Promise<string>(() => {})));
    await advance(101);
    expect(call.error).toBeInstanceOf(TimeoutError);
  });

  it.each([Number.POSITIVE_INFINITY, 0])('cache-wide timeout %s means none', async (timeout) => {
    const cache = new Cache<string, string>({ max: 100, timeout, policy });
    const d = deferred<string>();
    const call = track(cache.getOrSet('k', () => d.promise));
    await advance(100_000);
    expect(call.settled).toBe(false);
    d.resolve('v');
    await advance(0);
    expect(call.value).toBe('v');
  });

  it('wrap with timeout: Infinity overrides the cache-wide timeout', async () => {
    const cache = new Cache<string, string>({ max: 100, timeout: 100, policy });
    const d = deferred<string>();
    const fn = cache.wrap('slow', (_id: number) => d.promise, { timeout: Number.POSITIVE_INFINITY });
    const call = track(fn(1));
    await advance(1000);
    expect(call.settled).toBe(false);
    d.resolve('v');
    await advance(0);
    expect(call.value).toBe('v');
  });
});

import { describe, expect, it, vi } from 'vitest';
import { Cache } from '../../src/index.js';
import { advance, deferred, fakeTimersCollectingUnhandled, flush, track } from './helpers.js';
import { policies } from './policies.js';

describe.each(policies)('staleWhileRevalidate (%s)', (policy) => {
  const unhandled = fakeTimersCollectingUnhandled();

  const make = () => new Cache<string, string>({ max: 1000, ttl: 1000, staleWhileRevalidate: 5000, policy });

  it('after ttl, getOrSet returns the stale value at once and starts one background reload', async () => {
    const cache = make();
    await cache.getOrSet('k', () => 'v1');
    vi.advanceTimersByTime(1500);
    const d = deferred<string>();
    const loader = vi.fn(() => d.promise);
    const first = track(cache.getOrSet('k', loader));
    await flush();
    // Served at once, although the reload has not finished.
    expect(first.settled).toBe(true);
    expect(first.value).toBe('v1');
    expect(loader).toHaveBeenCalledTimes(1);
    // More callers while the reload runs: still the stale value, no second reload.
    expect(await cache.getOrSet('k', loader)).toBe('v1');
    expect(await cache.getOrSet('k', () => 'other')).toBe('v1');
    expect(loader).toHaveBeenCalledTimes(1);
    d.resolve('v2');
    await flush();
    expect(cache.get('k')).toBe('v2');
    expect(await cache.getOrSet('k', loader)).toBe('v2');
    expect(loader).toHaveBeenCalledTimes(1);
  });

  it('the refreshed value gets a full ttl from when it was stored', async () => {
    const cache = make();
    await cache.getOrSet('k', () => 'v1');
    vi.advanceTimersByTime(1500);
    await cache.getOrSet('k', () => 'v2');
    await flush();
    vi.advanceTimersByTime(999);
    expect(cache.get('k')).toBe('v2');
    vi.advanceTimersByTime(2);
    expect(cache.get('k')).toBeUndefined();
  });

  it('the reload sees the stale value in its context', async () => {
    const cache = make();
    await cache.getOrSet('k', () => 'v1');
    vi.advanceTimersByTime(1500);
    const seen: unknown[] = [];
    await cache.getOrSet('k', ({ stale }) => {
      seen.push(stale);
      return 'v2';
    });
    await flush();
    expect(seen).toEqual(['v1']);
  });

  it('get, peek and has see only fresh values during the stale window', async () => {
    const cache = make();
    await cache.getOrSet('k', () => 'v1');
    vi.advanceTimersByTime(1500);
    expect(cache.get('k')).toBeUndefined();
    expect(cache.peek('k')).toBeUndefined();
    expect(cache.has('k')).toBe(false);
  });

  // Spec: get returns only fresh values. A demanding user expects the stale entry to survive a get in
  // the window, so that a later getOrSet can still serve it.
  it('a get in the stale window does not destroy the stale value', async () => {
    const cache = make();
    await cache.getOrSet('k', () => 'v1');
    vi.advanceTimersByTime(1500);
    expect(cache.get('k')).toBeUndefined();
    const d = deferred<string>();
    expect(await cache.getOrSet('k', () => d.promise)).toBe('v1');
    d.resolve('v2');
    await flush();
  });

  it('past ttl + staleWhileRevalidate, callers wait for a fresh load', async () => {
    const cache = make();
    await cache.getOrSet('k', () => 'v1');
    vi.advanceTimersByTime(6001);
    const d = deferred<string>();
    const p = track(cache.getOrSet('k', () => d.promise));
    await flush();
    expect(p.settled).toBe(false);
    d.resolve('v2');
    await flush();
    expect(p.value).toBe('v2');
  });

  it('a failed background reload keeps the stale value, counts an error, emits error, no unhandled rejection', async () => {
    const cache = make();
    const errors: unknown[] = [];
    cache.on('error', (e) => errors.push(e));
    await cache.getOrSet('k', () => 'v1');
    vi.advanceTimersByTime(1500);
    const boom = new Error('refresh failed');
    expect(
      await cache.getOrSet('k', async () => {
        throw boom;
      }),
    ).toBe('v1');
    await advance(10);
    expect(cache.stats().loadErrors).toBe(1);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ key: 'k', error: boom });
    // Still served stale, and a later call tries again.
    const loader = vi.fn(() => 'v2');
    expect(await cache.getOrSet('k', loader)).toBe('v1');
    await flush();
    expect(loader).toHaveBeenCalledTimes(1);
    expect(cache.get('k')).toBe('v2');
    expect(unhandled).toEqual([]);
  });

  it('a failed background reload with no error listener does not crash or leak a rejection', async () => {
    const cache = make();
    await cache.getOrSet('k', () => 'v1');
    vi.advanceTimersByTime(1500);
    expect(
      await cache.getOrSet('k', () => {
        throw new Error('sync refresh failure');
      }),
    ).toBe('v1');
    await advance(10);
    expect(await cache.getOrSet('k', () => Promise.reject(new Error('async refresh failure')))).toBe('v1');
    await advance(10);
    expect(unhandled).toEqual([]);
    expect(cache.stats().loadErrors).toBe(2);
  });

  it('a background reload returning undefined keeps nothing new (spec: undefined is not stored)', async () => {
    const cache = make();
    await cache.getOrSet('k', () => 'v1');
    vi.advanceTimersByTime(1500);
    expect(await cache.getOrSet('k', () => undefined as unknown as string)).toBe('v1');
    await flush();
    expect(cache.get('k')).toBeUndefined();
    expect(unhandled).toEqual([]);
  });

  it('the background reload is single-flight with a concurrent foreground load of the same key', async () => {
    const cache = make();
    cache.set('k', 'v1');
    vi.advanceTimersByTime(1500);
    const d = deferred<string>();
    const loader = vi.fn(() => d.promise);
    const calls = Array.from({ length: 20 }, () => cache.getOrSet('k', loader));
    await flush();
    expect(loader).toHaveBeenCalledTimes(1);
    expect(await Promise.all(calls)).toEqual(Array(20).fill('v1'));
    d.resolve('v2');
    await flush();
    expect(cache.get('k')).toBe('v2');
  });

  it('wrap serves stale and refreshes in the background', async () => {
    const cache = make();
    let n = 0;
    const fn = vi.fn(async (_id: number) => `v${++n}`);
    const w = cache.wrap('w', fn);
    expect(await w(1)).toBe('v1');
    vi.advanceTimersByTime(1500);
    expect(await w(1)).toBe('v1');
    await flush();
    expect(fn).toHaveBeenCalledTimes(2);
    expect(await w(1)).toBe('v2');
  });

  it('works as a per-call option of getOrSet on a cache without it', async () => {
    const cache = new Cache<string, string>({ max: 1000, ttl: 1000, policy });
    const opts = { staleWhileRevalidate: '5s' } as const;
    await cache.getOrSet('k', () => 'v1', opts);
    vi.advanceTimersByTime(1500);
    const d = deferred<string>();
    const p = track(cache.getOrSet('k', () => d.promise, opts));
    await flush();
    expect(p.value).toBe('v1');
    d.resolve('v2');
    await flush();
    expect(cache.get('k')).toBe('v2');
  });

  it('works as a per-call option of wrap', async () => {
    const cache = new Cache<string, string>({ max: 1000, ttl: 1000, policy });
    let n = 0;
    const w = cache.wrap('w', async () => `v${++n}`, { staleWhileRevalidate: 5000 });
    await w();
    vi.advanceTimersByTime(1500);
    expect(await w()).toBe('v1');
    await flush();
    expect(await w()).toBe('v2');
  });

  it('works as a per-call option of set', async () => {
    const cache = new Cache<string, string>({ max: 1000, ttl: 1000, policy });
    cache.set('k', 'v1', { staleWhileRevalidate: 5000 });
    vi.advanceTimersByTime(1500);
    expect(await cache.getOrSet('k', () => 'v2', { staleWhileRevalidate: 5000 })).toBe('v1');
    await flush();
    expect(cache.get('k')).toBe('v2');
  });

  it('a per-call staleWhileRevalidate of 0 turns it off for that entry', async () => {
    const cache = make();
    await cache.getOrSet('k', () => 'v1', { staleWhileRevalidate: 0 });
    vi.advanceTimersByTime(1500);
    const d = deferred<string>();
    const p = track(cache.getOrSet('k', () => d.promise, { staleWhileRevalidate: 0 }));
    await flush();
    expect(p.settled).toBe(false);
    d.resolve('v2');
    await flush();
    expect(p.value).toBe('v2');
  });

  it('stats count staleHits and refreshes', async () => {
    const cache = make();
    await cache.getOrSet('k', () => 'v1');
    vi.advanceTimersByTime(1500);
    const d = deferred<string>();
    await cache.getOrSet('k', () => d.promise);
    await cache.getOrSet('k', () => d.promise);
    d.resolve('v2');
    await flush();
    const s = cache.stats();
    expect(s.staleHits).toBe(2);
    expect(s.refreshes).toBe(1);
  });

  it('stale entries do not break size bounds', async () => {
    const cache = new Cache<number, number>({ max: 10, ttl: 100, staleWhileRevalidate: 10_000, policy });
    for (let i = 0; i < 100; i++) {
      await cache.getOrSet(i % 30, () => i);
      vi.advanceTimersByTime(37);
      expect(cache.size).toBeLessThanOrEqual(10);
    }
    await flush();
    expect(cache.size).toBeLessThanOrEqual(10);
  });
});

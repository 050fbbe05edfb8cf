import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Cache } from '../../src/index.js';
import { advance, deferred, flush } from './helpers.js';
import { policies } from './policies.js';

describe.each(policies)('stats (%s)', (policy) => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('starts at zero with hitRate 0', () => {
    const cache = new Cache<string, number>({ max: 100, policy });
    expect(cache.stats()).toMatchObject({
      hits: 0,
      misses: 0,
      loads: 0,
      loadErrors: 0,
      evictions: 0,
      expirations: 0,
      size: 0,
      hitRate: 0,
      staleHits: 0,
      refreshes: 0,
      timeouts: 0,
    });
  });

  it('get counts hits and misses; hitRate = hits / (hits + misses)', () => {
    const cache = new Cache<string, number>({ max: 100, policy });
    cache.set('a', 1);
    cache.get('a');
    cache.get('a');
    cache.get('a');
    cache.get('b');
    const s = cache.stats();
    expect(s.hits).toBe(3);
    expect(s.misses).toBe(1);
    expect(s.hitRate).toBeCloseTo(0.75, 10);
    expect(s.size).toBe(1);
  });

  it('peek, has, set and delete do not count hits or misses', () => {
    const cache = new Cache<string, number>({ max: 100, policy });
    cache.set('a', 1);
    cache.peek('a');
    cache.peek('b');
    cache.has('a');
    cache.has('b');
    cache.delete('a');
    expect(cache.stats()).toMatchObject({ hits: 0, misses: 0, hitRate: 0 });
  });

  it('getOrSet counts a hit or a miss per call, and one load per loader call', async () => {
    const cache = new Cache<string, number>({ max: 100, policy });
    await cache.getOrSet('a', () => 1);
    await cache.getOrSet('a', () => 1);
    await cache.getOrSet('a', () => 1);
    const s = cache.stats();
    expect(s.misses).toBe(1);
    expect(s.hits).toBe(2);
    expect(s.loads).toBe(1);
    expect(s.loadErrors).toBe(0);
  });

  it('getOrSet does not count a miss twice (no double counting via an internal get)', async () => {
    const cache = new Cache<string, number>({ max: 100, policy });
    await cache.getOrSet('a', () => 1);
    expect(cache.stats().hits + cache.stats().misses).toBe(1);
  });

  it('coalesced callers: every call counts as a hit or a miss, one load', async () => {
    const cache = new Cache<string, number>({ max: 100, policy });
    const d = deferred<number>();
    const calls = Array.from({ length: 10 }, () => cache.getOrSet('a', () => d.promise));
    await flush();
    d.resolve(1);
    await Promise.all(calls);
    const s = cache.stats();
    expect(s.hits + s.misses).toBe(10);
    expect(s.misses).toBeGreaterThanOrEqual(1);
    expect(s.loads).toBe(1);
  });

  it('wrap calls count as hits or misses', async () => {
    const cache = new Cache<string, number>({ max: 100, policy });
    const w = cache.wrap('w', async (x: number) => x);
    await w(1);
    await w(1);
    await w(2);
    const s = cache.stats();
    expect(s.misses).toBe(2);
    expect(s.hits).toBe(1);
    expect(s.loads).toBe(2);
  });

  it('a failed load counts one loadError (not one per waiter)', async () => {
    const cache = new Cache<string, number>({ max: 100, policy });
    const d = deferred<number>();
    const calls = Array.from({ length: 5 }, () => cache.getOrSet('a', () => d.promise).catch(() => 0));
    await flush();
    d.reject(new Error('x'));
    await Promise.all(calls);
    const s = cache.stats();
    expect(s.loads).toBe(1);
    expect(s.loadErrors).toBe(1);
    await cache
      .getOrSet('a', () => {
        throw new Error('sync');
      })
      .catch(() => 0);
    expect(cache.stats().loadErrors).toBe(2);
    expect(cache.stats().loads).toBe(2);
  });

  it('a loader returning undefined is a load, not an error', async () => {
    const cache = new Cache<string, number | undefined>({ max: 100, policy });
    await cache.getOrSet('a', () => undefined);
    expect(cache.stats()).toMatchObject({ loads: 1, loadErrors: 0, size: 0 });
  });

  it('expirations count each expired entry once', () => {
    const cache = new Cache<string, number>({ max: 100, ttl: 1000, policy });
    cache.set('a', 1).set('b', 2);
    vi.advanceTimersByTime(1001);
    cache.get('a');
    cache.get('a');
    cache.get('b');
    cache.has('b');
    expect(cache.stats().expirations).toBe(2);
    expect(cache.stats().misses).toBe(3);
  });

  it('size in stats is the live entry count', () => {
    const cache = new Cache<string, number>({ max: 100, ttl: 1000, policy });
    cache.set('a', 1).set('b', 2, { ttl: 5000 });
    expect(cache.stats().size).toBe(2);
    vi.advanceTimersByTime(1001);
    expect(cache.stats().size).toBe(1);
    expect(cache.stats().size).toBe(cache.size);
  });

  it('counts are cumulative since creation: clear does not reset them', () => {
    const cache = new Cache<string, number>({ max: 100, policy });
    cache.set('a', 1);
    cache.get('a');
    cache.get('x');
    cache.clear();
    expect(cache.stats()).toMatchObject({ hits: 1, misses: 1, size: 0 });
  });

  it('stats() returns a snapshot: mutating it does not affect the cache', () => {
    const cache = new Cache<string, number>({ max: 100, policy });
    cache.set('a', 1);
    cache.get('a');
    const s = cache.stats() as { hits: number };
    s.hits = 1000;
    expect(cache.stats().hits).toBe(1);
  });

  it('staleHits and refreshes count stale-while-revalidate serving', async () => {
    const cache = new Cache<string, number>({ max: 100, ttl: 1000, staleWhileRevalidate: 5000, policy });
    await cache.getOrSet('a', () => 1);
    vi.advanceTimersByTime(1500);
    expect(await cache.getOrSet('a', () => 2)).toBe(1);
    await flush();
    const s = cache.stats();
    expect(s.staleHits).toBe(1);
    expect(s.refreshes).toBe(1);
  });

  // CacheStats.staleHits: "Calls answered with a stale value" -- once per call, not once per load.
  it('staleHits: a failed stale-while-revalidate refresh does not count the served call again', async () => {
    const cache = new Cache<string, number>({
      max: 100,
      ttl: 100,
      staleWhileRevalidate: 1000,
      staleIfError: 5000,
      policy,
    });
    await cache.getOrSet('a', () => 1);
    await advance(150);
    expect(await cache.getOrSet('a', () => Promise.reject(new Error('down')))).toBe(1);
    await flush();
    expect(cache.stats()).toMatchObject({ staleHits: 1, loadErrors: 1 });
  });

  it('staleHits: a failed refresh-ahead answers nobody with a stale value', async () => {
    const cache = new Cache<string, number>({
      max: 100,
      ttl: 1000,
      refreshAhead: 0.5,
      staleIfError: 5000,
      policy,
    });
    await cache.getOrSet('a', () => 1);
    await advance(600);
    expect(await cache.getOrSet('a', () => Promise.reject(new Error('down')))).toBe(1); // a fresh hit
    await flush();
    expect(cache.stats()).toMatchObject({ staleHits: 0, loadErrors: 1 });
  });

  it('staleHits: N callers answered with the stale-if-error value count N', async () => {
    const cache = new Cache<string, number>({ max: 100, ttl: 100, staleIfError: 5000, policy });
    await cache.getOrSet('a', () => 1);
    await advance(150);
    const d = deferred<number>();
    const calls = [1, 2, 3].map(() => cache.getOrSet('a', () => d.promise));
    d.reject(new Error('down'));
    expect(await Promise.all(calls)).toEqual([1, 1, 1]);
    expect(cache.stats().staleHits).toBe(3);
  });

  it('staleHits: N callers answered by a soft timeout count N; a refresh timing out counts none', async () => {
    const cache = new Cache<string, number>({
      max: 100,
      ttl: 100,
      staleWhileRevalidate: 200,
      staleIfError: 5000,
      timeout: 50,
      policy,
    });
    await cache.getOrSet('a', () => 1);
    await advance(150);
    expect(await cache.getOrSet('a', () => new Promise<number>(() => {}))).toBe(1); // SWR: 1 stale hit
    await advance(60); // the refresh times out softly: nobody was waiting for it
    expect(cache.stats().staleHits).toBe(1);
    await advance(200); // past the stale-while-revalidate window, within stale-if-error
    const calls = [1, 2].map(() => cache.getOrSet('a', () => new Promise<number>(() => {})));
    await advance(60);
    expect(await Promise.all(calls)).toEqual([1, 1]);
    expect(cache.stats()).toMatchObject({ staleHits: 3, timeouts: 2 });
  });

  it('staleHits: each caller that joined a background refresh and got the stale value counts', async () => {
    const cache = new Cache<string, number>({
      max: 100,
      ttl: 100,
      staleWhileRevalidate: 100,
      staleIfError: 5000,
      policy,
    });
    await cache.getOrSet('a', () => 1);
    await advance(150);
    const d = deferred<number>();
    expect(await cache.getOrSet('a', () => d.promise)).toBe(1); // SWR hit; the refresh runs
    await advance(100); // past the stale-while-revalidate window: misses, which join the refresh
    const joined = [1, 2].map(() => cache.getOrSet('a', () => 2));
    d.reject(new Error('down'));
    expect(await Promise.all(joined)).toEqual([1, 1]);
    expect(cache.stats()).toMatchObject({ staleHits: 3, loads: 2 });
  });

  it('timeouts count loads that hit the timeout', async () => {
    const cache = new Cache<string, number>({ max: 100, timeout: 100, policy });
    const p = cache.getOrSet('a', () => new Promise<number>(() => {})).catch((e: unknown) => e);
    await advance(150);
    await p;
    expect(cache.stats().timeouts).toBe(1);
  });
});

// A hit on the root cache with bare values and no `hit` listener is counted on the cache object itself (the
// fast path); every other read goes through the shared counters. stats() must add both, from any view.
describe.each(policies)('stats across the fast and general read paths (%s)', (policy) => {
  it('counts root fast-path hits in the root and in every namespace', () => {
    const cache = new Cache<string, number>({ max: 100, policy });
    const ns = cache.namespace('ns');
    cache.set('a', 1);
    ns.set('b', 2);
    cache.get('a');
    cache.get('a');
    ns.get('b');
    ns.get('missing');
    for (const view of [cache, ns]) {
      expect(view.stats()).toMatchObject({ hits: 3, misses: 1, hitRate: 0.75 });
    }
  });

  it('counts getOrSet hits on the fast path and with entries that carry a TTL', async () => {
    const cache = new Cache<string, number>({ max: 100, policy });
    cache.set('bare', 1);
    await cache.getOrSet('bare', () => 9);
    cache.set('timed', 2, { ttl: '1m' });
    await cache.getOrSet('bare', () => 9);
    await cache.getOrSet('timed', () => 9);
    expect(cache.get('bare')).toBe(1);
    expect(cache.stats()).toMatchObject({ hits: 4, misses: 0, loads: 0 });
  });

  it('reports hits to a listener added after fast-path hits, and counts all of them', () => {
    const cache = new Cache<string, number>({ max: 100, policy });
    cache.set('a', 1);
    cache.get('a');
    const seen: unknown[] = [];
    const listener = (e: { key: unknown }) => seen.push(e.key);
    cache.on('hit', listener);
    cache.get('a');
    cache.off('hit', listener);
    cache.get('a');
    expect(seen).toEqual(['a']);
    expect(cache.stats().hits).toBe(3);
  });

  it('serves an expired entry as a miss after bare values only, and again after clear()', () => {
    vi.useFakeTimers();
    try {
      const cache = new Cache<string, number>({ max: 100, policy });
      cache.set('a', 1);
      expect(cache.get('a')).toBe(1);
      cache.set('t', 2, { ttl: 1000 });
      vi.advanceTimersByTime(1000);
      expect(cache.get('t')).toBeUndefined();
      cache.clear();
      cache.set('t', 3, { ttl: 1000 });
      vi.advanceTimersByTime(1000);
      expect(cache.get('t')).toBeUndefined();
      cache.set('b', 4);
      expect(cache.get('b')).toBe(4);
      expect(cache.stats()).toMatchObject({ hits: 2, misses: 2 });
    } finally {
      vi.useRealTimers();
    }
  });
});

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Cache } from '../../src/index.js';
import { deferred, flush, track } from './helpers.js';
import { policies } from './policies.js';

describe.each(policies)('getOrSet (%s)', (policy) => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  const make = <V = string>() => new Cache<string, V>({ max: 1000, policy });

  it('a fresh hit returns the cached value without calling the loader', async () => {
    const cache = make();
    cache.set('k', 'cached');
    const loader = vi.fn(() => 'loaded');
    expect(await cache.getOrSet('k', loader)).toBe('cached');
    expect(loader).not.toHaveBeenCalled();
  });

  it('a miss calls the loader with { key, signal } and stores the result', async () => {
    const cache = make();
    const contexts: Array<{ key: unknown; signal: unknown; setTtl: unknown; stale: unknown }> = [];
    const value = await cache.getOrSet('k', (ctx) => {
      contexts.push({ key: ctx.key, signal: ctx.signal, setTtl: ctx.setTtl, stale: ctx.stale });
      return 'loaded';
    });
    expect(value).toBe('loaded');
    expect(contexts).toHaveLength(1);
    const ctx = contexts[0]!;
    expect(ctx.key).toBe('k');
    expect(ctx.signal).toBeInstanceOf(AbortSignal);
    expect((ctx.signal as AbortSignal).aborted).toBe(false);
    expect(typeof ctx.setTtl).toBe('function');
    expect(ctx.stale).toBeUndefined();
    expect(cache.get('k')).toBe('loaded');
    expect(cache.has('k')).toBe(true);
  });

  it('the next call after a completed load is a hit', async () => {
    const cache = make();
    const loader = vi.fn(async () => 'v');
    await cache.getOrSet('k', loader);
    await cache.getOrSet('k', loader);
    await cache.getOrSet('k', loader);
    expect(loader).toHaveBeenCalledTimes(1);
  });

  it('1,000 concurrent getOrSet of one cold key give exactly one loader call, all get its result', async () => {
    const cache = make<{ id: number }>();
    const d = deferred<{ id: number }>();
    const loader = vi.fn(() => d.promise);
    const calls = Array.from({ length: 1000 }, () => cache.getOrSet('cold', loader));
    await flush();
    expect(loader).toHaveBeenCalledTimes(1);
    const result = { id: 1 };
    d.resolve(result);
    const results = await Promise.all(calls);
    expect(loader).toHaveBeenCalledTimes(1);
    for (const r of results) expect(r).toBe(result);
    expect(cache.get('cold')).toBe(result);
    expect(cache.stats().loads).toBe(1);
  });

  it('single-flight also holds for a synchronous loader called concurrently', async () => {
    const cache = make();
    const loader = vi.fn(() => 'sync');
    const results = await Promise.all(Array.from({ length: 50 }, () => cache.getOrSet('k', loader)));
    expect(loader).toHaveBeenCalledTimes(1);
    expect(new Set(results)).toEqual(new Set(['sync']));
  });

  it('different keys load independently and concurrently', async () => {
    const cache = make();
    const da = deferred<string>();
    const db = deferred<string>();
    const pa = cache.getOrSet('a', () => da.promise);
    const pb = cache.getOrSet('b', () => db.promise);
    db.resolve('B');
    expect(await pb).toBe('B');
    da.resolve('A');
    expect(await pa).toBe('A');
  });

  it('a rejecting loader: every waiting caller gets that same error, nothing is stored', async () => {
    const cache = make();
    const d = deferred<string>();
    const loader = vi.fn(() => d.promise);
    const calls = Array.from({ length: 10 }, () => track(cache.getOrSet('k', loader)));
    await flush();
    const error = new Error('db down');
    d.reject(error);
    await flush();
    for (const c of calls) {
      expect(c.settled).toBe(true);
      expect(c.error).toBe(error);
    }
    expect(loader).toHaveBeenCalledTimes(1);
    expect(cache.has('k')).toBe(false);
    expect(cache.size).toBe(0);
  });

  it('a synchronously throwing loader rejects (does not throw) and stores nothing', async () => {
    const cache = make();
    const error = new Error('sync boom');
    let promise: Promise<string> | undefined;
    expect(() => {
      promise = cache.getOrSet('k', () => {
        throw error;
      });
    }).not.toThrow();
    await expect(promise).rejects.toBe(error);
    expect(cache.has('k')).toBe(false);
  });

  it('after a failed load the next call tries again and can succeed', async () => {
    const cache = make();
    let n = 0;
    const loader = vi.fn(async () => {
      n++;
      if (n === 1) throw new Error('first fails');
      return 'second';
    });
    await expect(cache.getOrSet('k', loader)).rejects.toThrow('first fails');
    expect(await cache.getOrSet('k', loader)).toBe('second');
    expect(loader).toHaveBeenCalledTimes(2);
    expect(cache.get('k')).toBe('second');
  });

  it('a loader returning undefined: callers get undefined, nothing stored, next call loads again', async () => {
    const cache = make<string | undefined>();
    const loader = vi.fn(async () => undefined);
    const [a, b] = await Promise.all([cache.getOrSet('k', loader), cache.getOrSet('k', loader)]);
    expect(a).toBeUndefined();
    expect(b).toBeUndefined();
    expect(loader).toHaveBeenCalledTimes(1);
    expect(cache.has('k')).toBe(false);
    expect(cache.size).toBe(0);
    await cache.getOrSet('k', loader);
    expect(loader).toHaveBeenCalledTimes(2);
  });

  it('a loader returning null: null is stored and served', async () => {
    const cache = make<string | null>();
    const loader = vi.fn(async () => null);
    expect(await cache.getOrSet('k', loader)).toBeNull();
    expect(cache.has('k')).toBe(true);
    expect(cache.get('k')).toBeNull();
    expect(await cache.getOrSet('k', loader)).toBeNull();
    expect(loader).toHaveBeenCalledTimes(1);
  });

  it.each([
    ['0', 0],
    ['empty string', ''],
    ['false', false],
  ])('a loader returning %s: stored and served without reloading', async (_name, value) => {
    const cache = make<unknown>();
    const loader = vi.fn(() => value);
    expect(await cache.getOrSet('k', loader)).toBe(value);
    expect(await cache.getOrSet('k', loader)).toBe(value);
    expect(loader).toHaveBeenCalledTimes(1);
    expect(cache.get('k')).toBe(value);
  });

  it('a loader returning NaN: stored and served', async () => {
    const cache = make<number>();
    const loader = vi.fn(() => Number.NaN);
    expect(Number.isNaN(await cache.getOrSet('k', loader))).toBe(true);
    expect(Number.isNaN(await cache.getOrSet('k', loader))).toBe(true);
    expect(loader).toHaveBeenCalledTimes(1);
  });

  it('uses the cache ttl for loaded values', async () => {
    const cache = new Cache<string, string>({ max: 100, ttl: 1000, policy });
    const loader = vi.fn(() => 'v');
    await cache.getOrSet('k', loader);
    vi.advanceTimersByTime(999);
    await cache.getOrSet('k', loader);
    expect(loader).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(2);
    await cache.getOrSet('k', loader);
    expect(loader).toHaveBeenCalledTimes(2);
  });

  it('a per-call ttl applies to the stored value', async () => {
    const cache = new Cache<string, string>({ max: 100, ttl: 1000, policy });
    await cache.getOrSet('short', () => 's', { ttl: 100 });
    await cache.getOrSet('long', () => 'l', { ttl: '10s' });
    vi.advanceTimersByTime(101);
    expect(cache.get('short')).toBeUndefined();
    vi.advanceTimersByTime(5000);
    expect(cache.get('long')).toBe('l');
  });

  it('the TTL of a loaded value counts from when it was stored, not when the load started', async () => {
    const cache = new Cache<string, string>({ max: 100, ttl: 1000, policy });
    const d = deferred<string>();
    const p = cache.getOrSet('k', () => d.promise);
    vi.advanceTimersByTime(500);
    d.resolve('v');
    await p;
    vi.advanceTimersByTime(900);
    expect(cache.get('k')).toBe('v');
  });

  it('coalesced callers share the first caller’s load and its options (ttl)', async () => {
    const cache = new Cache<string, string>({ max: 100, policy });
    const d = deferred<string>();
    const first = cache.getOrSet('k', () => d.promise, { ttl: 1000 });
    const second = cache.getOrSet('k', () => 'other loader', { ttl: 100_000 });
    d.resolve('first');
    expect(await first).toBe('first');
    expect(await second).toBe('first');
    vi.advanceTimersByTime(1001);
    expect(cache.get('k')).toBeUndefined();
  });

  it('a value put with set is a hit for getOrSet', async () => {
    const cache = make();
    cache.set('k', 'set');
    expect(await cache.getOrSet('k', () => 'loaded')).toBe('set');
  });

  it('getOrSet on an expired entry calls the loader again', async () => {
    const cache = new Cache<string, string>({ max: 100, ttl: 1000, policy });
    cache.set('k', 'old');
    vi.advanceTimersByTime(1001);
    expect(await cache.getOrSet('k', () => 'new')).toBe('new');
    expect(cache.get('k')).toBe('new');
  });

  it('always returns a promise, even on a hit', () => {
    const cache = make();
    cache.set('k', 'v');
    const p = cache.getOrSet('k', () => 'x');
    expect(p).toBeInstanceOf(Promise);
    return p;
  });

  it('a loader returning a non-native thenable works', async () => {
    const cache = make();
    const thenable = {
      // biome-ignore lint/suspicious/noThenProperty: deliberately a thenable
      then(resolve: (v: string) => void) {
        resolve('from thenable');
      },
    };
    expect(await cache.getOrSet('k', () => thenable as unknown as Promise<string>)).toBe('from thenable');
    expect(cache.get('k')).toBe('from thenable');
  });

  it('a loader rejecting with a non-Error value: callers get that value, nothing stored', async () => {
    const cache = make();
    await expect(cache.getOrSet('k', () => Promise.reject('plain string'))).rejects.toBe('plain string');
    await expect(
      cache.getOrSet('k', () => {
        throw 42;
      }),
    ).rejects.toBe(42);
    expect(cache.has('k')).toBe(false);
  });
});

describe('getOrSet miss on a cache of bare values', () => {
  it('reads the store once (a second read would count the miss twice)', async () => {
    const { LRUCache } = await import('lru-cache');
    const cache = new Cache<string, number>({ max: 10, policy: 'lru' });
    const read = vi.spyOn(LRUCache.prototype, 'get');
    try {
      expect(await cache.getOrSet('x', () => 1)).toBe(1);
      expect(read).toHaveBeenCalledTimes(1);
      expect(cache.stats()).toMatchObject({ hits: 0, misses: 1, loads: 1 });
    } finally {
      read.mockRestore();
    }
  });

  it('get: a hit or a miss on the fast path reads the store once', async () => {
    const { LRUCache } = await import('lru-cache');
    const cache = new Cache<string, number>({ max: 10, policy: 'lru' });
    cache.set('x', 1);
    const read = vi.spyOn(LRUCache.prototype, 'get');
    try {
      expect(cache.get('x')).toBe(1);
      expect(cache.get('y')).toBeUndefined();
      expect(read).toHaveBeenCalledTimes(2);
      expect(cache.stats()).toMatchObject({ hits: 1, misses: 1 });
    } finally {
      read.mockRestore();
    }
  });
});

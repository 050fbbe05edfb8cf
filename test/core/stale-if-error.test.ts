import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Cache } from '../../src/index.js';
import { advance, deferred, flush, track } from './helpers.js';
import { policies } from './policies.js';

describe.each(policies)('staleIfError (%s)', (policy) => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  const make = () => new Cache<string, string>({ max: 1000, ttl: 1000, staleIfError: 5000, policy });
  const fail = (message = 'db down') => {
    throw new Error(message);
  };

  it('a throwing loader within the window: callers get the expired value instead of the error', async () => {
    const cache = make();
    await cache.getOrSet('k', () => 'v1');
    vi.advanceTimersByTime(2000);
    expect(await cache.getOrSet('k', () => fail())).toBe('v1');
    expect(cache.stats().loadErrors).toBe(1);
  });

  it('a rejecting loader within the window: every coalesced caller gets the expired value', async () => {
    const cache = make();
    await cache.getOrSet('k', () => 'v1');
    vi.advanceTimersByTime(2000);
    const d = deferred<string>();
    const calls = Array.from({ length: 5 }, () => cache.getOrSet('k', () => d.promise));
    await flush();
    d.reject(new Error('db down'));
    expect(await Promise.all(calls)).toEqual(Array(5).fill('v1'));
  });

  it('the load is tried first: a successful load wins over the stale value', async () => {
    const cache = make();
    await cache.getOrSet('k', () => 'v1');
    vi.advanceTimersByTime(2000);
    const d = deferred<string>();
    const p = track(cache.getOrSet('k', () => d.promise));
    await flush();
    // Unlike stale-while-revalidate, the caller waits for the load.
    expect(p.settled).toBe(false);
    d.resolve('v2');
    await flush();
    expect(p.value).toBe('v2');
    expect(cache.get('k')).toBe('v2');
  });

  it('near the end of the window it still serves; past it the error comes through', async () => {
    const cache = make();
    await cache.getOrSet('k', () => 'v1');
    // Expired at 1000; window ends at 6000.
    vi.advanceTimersByTime(5900);
    expect(await cache.getOrSet('k', () => fail())).toBe('v1');
    vi.advanceTimersByTime(200);
    await expect(cache.getOrSet('k', () => fail('too late'))).rejects.toThrow('too late');
  });

  it('serving the stale value does not make it fresh', async () => {
    const cache = make();
    await cache.getOrSet('k', () => 'v1');
    vi.advanceTimersByTime(2000);
    await cache.getOrSet('k', () => fail());
    expect(cache.get('k')).toBeUndefined();
    expect(cache.has('k')).toBe(false);
    // The next call loads again.
    const loader = vi.fn(() => 'v2');
    expect(await cache.getOrSet('k', loader)).toBe('v2');
    expect(loader).toHaveBeenCalledTimes(1);
  });

  it('without a value there is nothing to fall back on: the error comes through', async () => {
    const cache = make();
    await expect(cache.getOrSet('k', () => fail('cold'))).rejects.toThrow('cold');
  });

  // Spec: "a value exists". A demanding user expects a deleted or cleared value not to come back.
  it('a deleted value is not served on error', async () => {
    const cache = make();
    await cache.getOrSet('k', () => 'v1');
    vi.advanceTimersByTime(2000);
    cache.delete('k');
    await expect(cache.getOrSet('k', () => fail('after delete'))).rejects.toThrow('after delete');
  });

  it('a cleared value is not served on error', async () => {
    const cache = make();
    await cache.getOrSet('k', () => 'v1');
    vi.advanceTimersByTime(2000);
    cache.clear();
    await expect(cache.getOrSet('k', () => fail('after clear'))).rejects.toThrow('after clear');
  });

  it('a tag-invalidated value is not served on error', async () => {
    const cache = make();
    await cache.getOrSet('k', () => 'v1', { tags: ['t'] });
    vi.advanceTimersByTime(2000);
    cache.invalidateTag('t');
    await expect(cache.getOrSet('k', () => fail('after tag'))).rejects.toThrow('after tag');
  });

  it('also covers a value put with set', async () => {
    const cache = make();
    cache.set('k', 'v1');
    vi.advanceTimersByTime(2000);
    expect(await cache.getOrSet('k', () => fail())).toBe('v1');
  });

  it('works as a per-call option of getOrSet on a cache without it', async () => {
    const cache = new Cache<string, string>({ max: 1000, ttl: 1000, policy });
    const opts = { staleIfError: '5s' } as const;
    await cache.getOrSet('k', () => 'v1', opts);
    vi.advanceTimersByTime(2000);
    expect(await cache.getOrSet('k', () => fail(), opts)).toBe('v1');
  });

  it('works as a per-call option of set', async () => {
    const cache = new Cache<string, string>({ max: 1000, ttl: 1000, policy });
    cache.set('k', 'v1', { staleIfError: 5000 });
    vi.advanceTimersByTime(2000);
    expect(await cache.getOrSet('k', () => fail(), { staleIfError: 5000 })).toBe('v1');
  });

  it('works as a per-call option of wrap', async () => {
    const cache = new Cache<string, string>({ max: 1000, ttl: 1000, policy });
    let n = 0;
    const w = cache.wrap(
      'w',
      async () => {
        n++;
        if (n > 1) throw new Error('down');
        return 'v1';
      },
      { staleIfError: 5000 },
    );
    expect(await w()).toBe('v1');
    vi.advanceTimersByTime(2000);
    expect(await w()).toBe('v1');
    vi.advanceTimersByTime(5000);
    await expect(w()).rejects.toThrow('down');
  });

  it('a timed-out load within the window serves the expired value', async () => {
    const cache = new Cache<string, string>({
      max: 1000,
      ttl: 1000,
      staleIfError: 5000,
      timeout: 50,
      policy,
    });
    await cache.getOrSet('k', () => 'v1');
    vi.advanceTimersByTime(2000);
    const p = track(cache.getOrSet('k', () => new Promise<string>(() => {})));
    await advance(60);
    expect(p.value).toBe('v1');
  });

  it('without staleIfError an error after expiry comes through', async () => {
    const cache = new Cache<string, string>({ max: 1000, ttl: 1000, policy });
    await cache.getOrSet('k', () => 'v1');
    vi.advanceTimersByTime(1001);
    await expect(cache.getOrSet('k', () => fail('plain'))).rejects.toThrow('plain');
  });

  it('combined with staleWhileRevalidate: past the swr window but within staleIfError, errors fall back', async () => {
    const cache = new Cache<string, string>({
      max: 1000,
      ttl: 1000,
      staleWhileRevalidate: 1000,
      staleIfError: 10_000,
      policy,
    });
    await cache.getOrSet('k', () => 'v1');
    vi.advanceTimersByTime(5000);
    expect(await cache.getOrSet('k', () => fail())).toBe('v1');
  });
});

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Cache, TimeoutError } from '../../src/index.js';
import { advance, deferred, flush, track } from './helpers.js';
import { policies } from './policies.js';

describe.each(policies)('timeout (%s)', (policy) => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('with no stale value: callers get a TimeoutError when the loader takes too long', async () => {
    const cache = new Cache<string, string>({ max: 100, timeout: 100, policy });
    let signal: AbortSignal | undefined;
    const calls = [0, 1, 2].map(() =>
      track(
        cache.getOrSet('k', (ctx) => {
          signal = ctx.signal;
          return new Promise<string>(() => {});
        }),
      ),
    );
    await advance(99);
    expect(calls[0]!.settled).toBe(false);
    expect(signal!.aborted).toBe(false);
    await advance(2);
    for (const c of calls) {
      expect(c.settled).toBe(true);
      expect(c.error).toBeInstanceOf(TimeoutError);
      expect((c.error as Error).name).toBe('TimeoutError');
      expect(c.error).toBeInstanceOf(Error);
    }
    expect(signal!.aborted).toBe(true);
    expect(cache.stats().timeouts).toBe(1);
    expect(cache.has('k')).toBe(false);
  });

  it('a loader that finishes in time is unaffected', async () => {
    const cache = new Cache<string, string>({ max: 100, timeout: 100, policy });
    const d = deferred<string>();
    let signal: AbortSignal | undefined;
    const p = cache.getOrSet('k', (ctx) => {
      signal = ctx.signal;
      return d.promise;
    });
    await advance(50);
    d.resolve('v');
    expect(await p).toBe('v');
    await advance(100);
    expect(signal!.aborted).toBe(false);
    expect(cache.get('k')).toBe('v');
    expect(cache.stats().timeouts).toBe(0);
  });

  // Spec silent on what follows a hard timeout: a demanding user expects the next call to try again
  // rather than join the load that already timed out.
  it('after a hard timeout the next call starts a new load', async () => {
    const cache = new Cache<string, string>({ max: 100, timeout: 100, policy });
    const first = track(cache.getOrSet('k', () => new Promise<string>(() => {})));
    await advance(101);
    expect(first.error).toBeInstanceOf(TimeoutError);
    const loader = vi.fn(() => 'fresh');
    expect(await cache.getOrSet('k', loader)).toBe('fresh');
    expect(loader).toHaveBeenCalledTimes(1);
  });

  it('the TimeoutError message says what timed out', async () => {
    const cache = new Cache<string, string>({ max: 100, timeout: '250ms', policy });
    const p = track(cache.getOrSet('k', () => new Promise<string>(() => {})));
    await advance(251);
    expect((p.error as Error).message).toMatch(/time|250/i);
  });

  it('soft timeout: with a stale value at hand, callers get it; the late result is still stored', async () => {
    const cache = new Cache<string, string>({
      max: 100,
      ttl: 1000,
      staleIfError: 60_000,
      timeout: 100,
      policy,
    });
    await cache.getOrSet('k', () => 'v1');
    vi.advanceTimersByTime(2000);
    const d = deferred<string>();
    let signal: AbortSignal | undefined;
    const p = track(
      cache.getOrSet('k', (ctx) => {
        signal = ctx.signal;
        return d.promise;
      }),
    );
    await advance(101);
    expect(p.value).toBe('v1');
    expect(signal!.aborted).toBe(true);
    expect(cache.stats().timeouts).toBe(1);
    // The loader ignored the signal and finished: its result may be (and, for a demanding user, is) stored.
    d.resolve('v2');
    await flush();
    expect(cache.get('k')).toBe('v2');
  });

  it('the timeout is a per-call option of getOrSet', async () => {
    const cache = new Cache<string, string>({ max: 100, policy });
    const p = track(cache.getOrSet('k', () => new Promise<string>(() => {}), { timeout: '1s' }));
    await advance(999);
    expect(p.settled).toBe(false);
    await advance(2);
    expect(p.error).toBeInstanceOf(TimeoutError);
  });

  it('a per-call timeout overrides the cache timeout', async () => {
    const cache = new Cache<string, string>({ max: 100, timeout: 100, policy });
    const d = deferred<string>();
    const p = track(cache.getOrSet('k', () => d.promise, { timeout: 1000 }));
    await advance(500);
    expect(p.settled).toBe(false);
    d.resolve('v');
    await flush();
    expect(p.value).toBe('v');
  });

  it('coalesced callers share the first caller’s timeout', async () => {
    const cache = new Cache<string, string>({ max: 100, policy });
    const first = track(cache.getOrSet('k', () => new Promise<string>(() => {}), { timeout: 100 }));
    const second = track(cache.getOrSet('k', () => 'other', { timeout: 10_000 }));
    await advance(101);
    expect(first.error).toBeInstanceOf(TimeoutError);
    expect(second.error).toBeInstanceOf(TimeoutError);
  });

  it('the timeout is a per-call option of wrap', async () => {
    const cache = new Cache<string, string>({ max: 100, policy });
    const w = cache.wrap('w', () => new Promise<string>(() => {}), { timeout: 100 });
    const p = track(w());
    await advance(101);
    expect(p.error).toBeInstanceOf(TimeoutError);
  });

  it('a background refresh that times out keeps the stale value and emits error', async () => {
    const cache = new Cache<string, string>({
      max: 100,
      ttl: 1000,
      staleWhileRevalidate: 10_000,
      timeout: 100,
      policy,
    });
    const errors: unknown[] = [];
    cache.on('error', (e) => errors.push(e));
    await cache.getOrSet('k', () => 'v1');
    vi.advanceTimersByTime(1500);
    expect(await cache.getOrSet('k', () => new Promise<string>(() => {}))).toBe('v1');
    await advance(101);
    expect(cache.stats().timeouts).toBe(1);
    expect(errors).toHaveLength(1);
    expect((errors[0] as { error: unknown }).error).toBeInstanceOf(TimeoutError);
    expect(await cache.getOrSet('k', () => 'v2')).toBe('v1');
  });

  it('timeout with no value but a loader ignoring the abort: nothing is left in flight forever', async () => {
    const cache = new Cache<string, string>({ max: 100, timeout: 100, policy });
    const d = deferred<string>();
    const p = track(cache.getOrSet('k', () => d.promise));
    await advance(101);
    expect(p.error).toBeInstanceOf(TimeoutError);
    d.resolve('late');
    await flush();
    // Whether the late value is kept is not specified for a hard timeout; a later call is served either way.
    const value = await cache.getOrSet('k', () => 'fresh');
    expect(['late', 'fresh']).toContain(value);
  });

  // Spec: "the load may still finish and store its result" — but it must not keep the key to itself.
  // Found by the soak test: a hung load after a soft timeout wedged the key and served an ever older value.
  it('after a soft timeout whose loader hangs, a later call starts a new load', async () => {
    const cache = new Cache<string, string>({
      max: 100,
      ttl: 1000,
      staleIfError: 2000,
      timeout: 300,
      policy,
    });
    cache.set('k', 'v0');
    await advance(2000);
    const first = track(cache.getOrSet('k', () => new Promise<string>(() => {})));
    await advance(301);
    expect(first.value).toBe('v0');
    await advance(8000);
    const loader = vi.fn(() => 'v1');
    const later = track(cache.getOrSet('k', loader));
    await advance(1);
    expect(loader).toHaveBeenCalledTimes(1);
    expect(later.value).toBe('v1');
  });

  it('after a background refresh times out with a hung loader, a later call past the windows loads again', async () => {
    const cache = new Cache<string, string>({
      max: 100,
      ttl: 1000,
      staleWhileRevalidate: 500,
      staleIfError: 2000,
      timeout: 300,
      policy,
    });
    cache.set('k', 'v0');
    await advance(1200);
    expect(await cache.getOrSet('k', () => new Promise<string>(() => {}))).toBe('v0');
    await advance(8800);
    const loader = vi.fn(() => 'v1');
    const later = track(cache.getOrSet('k', loader));
    await advance(1);
    expect(loader).toHaveBeenCalledTimes(1);
    expect(later.value).toBe('v1');
  });

  it('a caller joining a load never gets a stale value past its staleIfError window', async () => {
    const cache = new Cache<string, string>({
      max: 100,
      ttl: 1000,
      staleIfError: 2000,
      timeout: 5000,
      policy,
    });
    cache.set('k', 'v0');
    await advance(2500);
    // A slow load starts while v0 is within its window (expired at 1000, window ends at 3000)...
    const d = deferred<string>();
    const first = track(cache.getOrSet('k', () => d.promise));
    await advance(1000);
    // ...and fails after the window has closed: nobody may get v0 (now 2.5 s past expiry + window).
    d.reject(new Error('late failure'));
    await flush();
    expect(first.settled).toBe(true);
    expect(first.value).not.toBe('v0');
  });

  it('a timeout that fires after the staleIfError window has closed gives TimeoutError, not the stale value', async () => {
    const cache = new Cache<string, string>({
      max: 100,
      ttl: 1000,
      staleIfError: 2000,
      timeout: 300,
      policy,
    });
    cache.set('k', 'v0');
    // Expired at 1000, window ends at 3000; the load starts at 2900 and times out at 3200.
    await advance(2900);
    const p = track(cache.getOrSet('k', () => new Promise<string>(() => {})));
    await advance(301);
    expect(p.settled).toBe(true);
    expect(p.error).toBeInstanceOf(TimeoutError);
  });

  it('a caller joining a load that already soft-timed-out does not get a stale value past its window', async () => {
    const cache = new Cache<string, string>({
      max: 100,
      ttl: 1000,
      staleIfError: 2000,
      timeout: 300,
      policy,
    });
    cache.set('k', 'v0');
    await advance(2600);
    const d = deferred<string>();
    const first = track(cache.getOrSet('k', () => d.promise));
    await advance(301); // soft timeout at 2901: v0 is still within its window
    expect(first.value).toBe('v0');
    await advance(200); // 3101: the window has closed; the first load is still running
    const late = track(cache.getOrSet('k', () => 'v1'));
    await advance(1);
    expect(late.settled).toBe(true);
    expect(late.value).not.toBe('v0');
    d.resolve('v-late');
    await flush();
  });

  // JavaScript timers fire at once for delays above 2^31 - 1 ms (about 24.8 days), so such a timeout would
  // abort every load immediately: it is refused, as a cache option and per call, and the cache is unchanged.
  it('a timeout longer than the 32-bit timer limit (30 days) is refused with a RangeError naming timeout', async () => {
    expect(() => new Cache<string, string>({ max: 100, timeout: '30d', policy })).toThrow(RangeError);
    expect(() => new Cache<string, string>({ max: 100, timeout: '30d', policy })).toThrow(/timeout/);
    const cache = new Cache<string, string>({ max: 100, policy });
    cache.set('a', 'x');
    const loader = vi.fn(() => 'v');
    expect(() => cache.getOrSet('k', loader, { timeout: 2_147_483_648 })).toThrow(/timeout/);
    expect(loader).not.toHaveBeenCalled();
    expect(cache.get('a')).toBe('x');
    expect(cache.size).toBe(1);
    // The limit itself is accepted.
    const d = deferred<string>();
    const p = track(cache.getOrSet('k', () => d.promise, { timeout: 2_147_483_647 }));
    await advance(1000);
    expect(p.settled).toBe(false);
    d.resolve('v');
    await flush();
    expect(p.value).toBe('v');
  });
});

import { describe, expect, it, vi } from 'vitest';
import { Cache } from '../../src/index.js';
import { advance, deferred, fakeTimersCollectingUnhandled, flush } from './helpers.js';
import { policies } from './policies.js';

type Payload = Record<string, unknown>;

describe.each(policies)('events (%s)', (policy) => {
  const unhandled = fakeTimersCollectingUnhandled();

  function record(cache: Cache<string, string>) {
    const events: Array<[string, Payload]> = [];
    for (const name of ['hit', 'miss', 'set', 'delete', 'evict', 'expire', 'load', 'error'] as const) {
      cache.on(name, (payload: unknown) => {
        events.push([name, payload as Payload]);
      });
    }
    return events;
  }

  it('hit and miss on get, with the key', () => {
    const cache = new Cache<string, string>({ max: 100, policy });
    const events = record(cache);
    cache.set('a', 'A');
    events.length = 0;
    cache.get('a');
    cache.get('b');
    expect(events.map(([n]) => n)).toEqual(['hit', 'miss']);
    expect(events[0]![1]).toMatchObject({ key: 'a' });
    expect(events[1]![1]).toMatchObject({ key: 'b' });
  });

  it('peek and has emit nothing', () => {
    const cache = new Cache<string, string>({ max: 100, policy });
    cache.set('a', 'A');
    const events = record(cache);
    cache.peek('a');
    cache.peek('b');
    cache.has('a');
    cache.has('b');
    expect(events).toEqual([]);
  });

  it('set with the key (and the value)', () => {
    const cache = new Cache<string, string>({ max: 100, policy });
    const events = record(cache);
    cache.set('a', 'A');
    expect(events).toHaveLength(1);
    expect(events[0]![0]).toBe('set');
    expect(events[0]![1]).toMatchObject({ key: 'a' });
  });

  it('delete with the key, only when something was deleted', () => {
    const cache = new Cache<string, string>({ max: 100, policy });
    cache.set('a', 'A');
    const events = record(cache);
    cache.delete('a');
    cache.delete('never');
    expect(events.map(([n]) => n)).toEqual(['delete']);
    expect(events[0]![1]).toMatchObject({ key: 'a' });
  });

  it('clear is not reported as evictions', () => {
    const cache = new Cache<string, string>({ max: 100, policy });
    cache.set('a', 'A').set('b', 'B');
    const events = record(cache);
    cache.clear();
    expect(events.filter(([n]) => n === 'evict')).toEqual([]);
    expect(cache.stats().evictions).toBe(0);
  });

  it('expire when an expired entry is noticed, once, with the key', () => {
    const cache = new Cache<string, string>({ max: 100, ttl: 1000, policy });
    const events = record(cache);
    cache.set('a', 'A');
    vi.advanceTimersByTime(1001);
    cache.get('a');
    cache.get('a');
    const expires = events.filter(([n]) => n === 'expire');
    expect(expires).toHaveLength(1);
    expect(expires[0]![1]).toMatchObject({ key: 'a' });
  });

  it('load after a successful load, with the key and its duration in ms', async () => {
    const cache = new Cache<string, string>({ max: 100, policy });
    const events = record(cache);
    const d = deferred<string>();
    const p = cache.getOrSet('k', () => d.promise);
    await advance(50);
    d.resolve('v');
    await p;
    const loads = events.filter(([n]) => n === 'load');
    expect(loads).toHaveLength(1);
    expect(loads[0]![1]).toMatchObject({ key: 'k' });
    expect(loads[0]![1].duration).toBe(50);
    // A getOrSet miss is a miss and a store is a set.
    expect(events.filter(([n]) => n === 'miss')).toHaveLength(1);
  });

  it('load says whether the load exceeded its timeout (timedOut), when it settles', async () => {
    const cache = new Cache<string, string>({ max: 100, policy });
    const events = record(cache);
    const slow = deferred<string>();
    const p = cache.getOrSet('slow', () => slow.promise, { timeout: 100 });
    const rejected = expect(p).rejects.toThrow();
    await advance(150);
    await rejected;
    expect(events.filter(([n]) => n === 'load')).toHaveLength(0);
    slow.resolve('late');
    await advance(0);
    await cache.getOrSet('quick', () => 'q', { timeout: 100 });
    const loads = events.filter(([n]) => n === 'load').map(([, e]) => [e.key, e.ok, e.timedOut]);
    expect(loads).toEqual([
      ['slow', true, true],
      ['quick', true, false],
    ]);
  });

  it('load says whether the loader gave up because an invalidation aborted it (aborted), as stats do', async () => {
    const cache = new Cache<string, string>({ max: 100, policy });
    const events = record(cache);
    // A loader that honours its signal: `delete` during the load aborts it, and its caller is answered afresh.
    let calls = 0;
    const p = cache.getOrSet('k', ({ signal }) => {
      calls++;
      if (calls > 1) return 'fresh';
      return new Promise<string>((_resolve, reject) => {
        signal.addEventListener('abort', () => reject(signal.reason));
      });
    });
    await advance(10);
    cache.delete('k');
    expect(await p).toBe('fresh');
    // A failure that is not about the abort is an error.
    await expect(cache.getOrSet('bad', () => Promise.reject(new Error('db down')))).rejects.toThrow(
      'db down',
    );
    const loads = events.filter(([n]) => n === 'load').map(([, e]) => [e.key, e.ok, e.timedOut, e.aborted]);
    expect(loads).toEqual([
      ['k', false, false, true],
      ['k', true, false, false],
      ['bad', false, false, false],
    ]);
    expect(cache.stats().loadErrors).toBe(1);
  });

  it('getOrSet hits emit hit', async () => {
    const cache = new Cache<string, string>({ max: 100, policy });
    cache.set('k', 'v');
    const events = record(cache);
    await cache.getOrSet('k', () => 'x');
    expect(events.map(([n]) => n)).toEqual(['hit']);
  });

  it('error with the key and the error when a background refresh fails', async () => {
    const cache = new Cache<string, string>({ max: 100, ttl: 1000, staleWhileRevalidate: 5000, policy });
    await cache.getOrSet('k', () => 'v1');
    vi.advanceTimersByTime(1500);
    const events = record(cache);
    const boom = new Error('boom');
    expect(await cache.getOrSet('k', () => Promise.reject(boom))).toBe('v1');
    await flush();
    const errors = events.filter(([n]) => n === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0]![1]).toMatchObject({ key: 'k', error: boom });
  });

  it('a background refresh that times out is reported with operation "refresh", a foreground load with "load"', async () => {
    const cache = new Cache<string, string>({
      max: 100,
      ttl: 100,
      staleWhileRevalidate: 1000,
      staleIfError: 60_000,
      timeout: 50,
      policy,
    });
    await cache.getOrSet('k', () => 'v1');
    await advance(150);
    const events = record(cache);
    expect(await cache.getOrSet('k', () => new Promise<string>(() => {}))).toBe('v1');
    await advance(60);
    await advance(1000); // past the stale-while-revalidate window: a foreground load, timing out softly
    const p = cache.getOrSet('k', () => new Promise<string>(() => {}));
    await advance(60);
    expect(await p).toBe('v1');
    const errors = events.filter(([n]) => n === 'error').map(([, e]) => e.operation);
    expect(errors).toEqual(['refresh', 'load']);
  });

  it('off removes a listener; other listeners keep working', () => {
    const cache = new Cache<string, string>({ max: 100, policy });
    const a = vi.fn();
    const b = vi.fn();
    cache.on('set', a);
    cache.on('set', b);
    cache.set('x', '1');
    cache.off('set', a);
    cache.set('y', '2');
    expect(a).toHaveBeenCalledTimes(1);
    expect(b).toHaveBeenCalledTimes(2);
  });

  it('off of a listener that was never added is harmless', () => {
    const cache = new Cache<string, string>({ max: 100, policy });
    expect(() => cache.off('set', () => {})).not.toThrow();
  });

  it('a listener that throws does not break the cache or other listeners', async () => {
    const cache = new Cache<string, string>({ max: 100, ttl: 1000, staleWhileRevalidate: 5000, policy });
    const other = vi.fn();
    for (const name of ['hit', 'miss', 'set', 'delete', 'evict', 'expire', 'load', 'error'] as const) {
      cache.on(name, () => {
        throw new Error(`listener for ${name} throws`);
      });
    }
    cache.on('set', other);
    expect(() => cache.set('a', 'A')).not.toThrow();
    expect(other).toHaveBeenCalledTimes(1);
    expect(cache.get('a')).toBe('A');
    expect(cache.get('zz')).toBeUndefined();
    expect(await cache.getOrSet('b', () => 'B')).toBe('B');
    expect(cache.get('b')).toBe('B');
    vi.advanceTimersByTime(1500);
    expect(await cache.getOrSet('b', () => Promise.reject(new Error('refresh')))).toBe('B');
    await flush();
    expect(cache.delete('a')).toBe(true);
    cache.clear();
    expect(cache.size).toBe(0);
    await flush();
    expect(unhandled).toEqual([]);
  });

  it('a listener added twice is gone after as many off calls', () => {
    const cache = new Cache<string, string>({ max: 100, policy });
    const l = vi.fn();
    cache.on('set', l);
    cache.on('set', l);
    cache.off('set', l);
    cache.off('set', l);
    cache.set('a', 'A');
    expect(l).not.toHaveBeenCalled();
  });
});

describe('evict events (lru)', () => {
  it('evict with the key of the entry pushed out', () => {
    const cache = new Cache<string, string>({ max: 2, policy: 'lru' });
    const evicted: Payload[] = [];
    cache.on('evict', (e: unknown) => evicted.push(e as Payload));
    cache.set('a', 'A').set('b', 'B').set('c', 'C');
    expect(evicted).toHaveLength(1);
    expect(evicted[0]).toMatchObject({ key: 'a' });
    expect(cache.stats().evictions).toBe(1);
  });

  it('an evict listener may touch the cache without corrupting it', () => {
    const cache = new Cache<string, string>({ max: 2, policy: 'lru' });
    cache.on('evict', (e: unknown) => {
      cache.get((e as { key: string }).key);
      cache.set('side', 'S');
    });
    cache.set('a', 'A').set('b', 'B').set('c', 'C');
    expect(cache.size).toBeLessThanOrEqual(2);
  });
});

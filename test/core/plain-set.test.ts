import { describe, expect, it } from 'vitest';
import type { BusMessage, CacheBus, CacheTier, TierRecord } from '../../src/index.js';
import { Cache } from '../../src/index.js';
import { advance, deferred, fakeTimersCollectingUnhandled, flush } from './helpers.js';
import { policies } from './policies.js';

/**
 * `set` without options on a plain cache stores the bare value straight into the store (`Cache.#plainSet`).
 * Each test here starts from such a cache and adds one thing that makes a write more than that, then checks
 * that a `set` without options still does it: were the fast path taken, the test would fail.
 */
describe.each(policies)('set without options, fast path and its exits (%s)', (policy) => {
  fakeTimersCollectingUnhandled();

  it('stores, replaces and evicts bare values on a plain cache', () => {
    const evicted: Array<[string, unknown]> = [];
    const cache = new Cache<string, { n: number }>({ max: 2, policy });
    cache.set('a', { n: 1 });
    cache.set('a', { n: 2 });
    expect(cache.get('a')).toEqual({ n: 2 });
    cache.on('evict', ({ key, value }) => evicted.push([key, value]));
    for (let i = 0; i < 10; i++) cache.set(`k${i}`, { n: i });
    expect(cache.stats().evictions).toBeGreaterThanOrEqual(9);
    // The evict listener gets the value as it was set, never the cache's internal entry.
    for (const [, value] of evicted) expect(value).toMatchObject({ n: expect.any(Number) });
    expect(cache.size).toBeLessThanOrEqual(2);
  });

  it('refuses a null or undefined key and an undefined value, storing nothing', () => {
    const cache = new Cache<string, string>({ max: 10, policy });
    expect(() => cache.set(undefined as unknown as string, 'v')).toThrow(TypeError);
    expect(() => cache.set(null as unknown as string, 'v')).toThrow(TypeError);
    expect(() => cache.set('a', undefined as unknown as string)).toThrow(/value must not be undefined/);
    expect(cache.size).toBe(0);
  });

  it('applies a default ttl', async () => {
    const cache = new Cache<string, string>({ max: 10, policy, ttl: '1s' });
    cache.set('a', 'A');
    expect(cache.get('a')).toBe('A');
    await advance(1001);
    expect(cache.get('a')).toBeUndefined();
  });

  it('applies a default nullTtl to a null value', async () => {
    const cache = new Cache<string, string | null>({ max: 10, policy, nullTtl: '1s' });
    cache.set('a', null);
    expect(cache.peek('a')).toBeNull();
    await advance(1001);
    expect(cache.peek('a')).toBeUndefined();
  });

  it('applies default tags', () => {
    const cache = new Cache<string, string>({ max: 10, policy, tags: ['t'] });
    cache.set('a', 'A');
    expect(cache.invalidateTags(['t'])).toBe(1);
    expect(cache.get('a')).toBeUndefined();
  });

  it('weighs the value with sizeOf', () => {
    const cache = new Cache<string, string>({ max: 10, policy, maxSize: 10, sizeOf: (v) => v.length });
    expect(() => cache.set('a', 'x'.repeat(11))).toThrow(RangeError);
    cache.set('b', 'x'.repeat(6));
    cache.set('c', 'x'.repeat(6));
    expect(cache.size).toBe(1);
  });

  it('emits set to a listener only while one is attached', () => {
    const cache = new Cache<string, string>({ max: 10, policy });
    const sets: string[] = [];
    const listener = ({ key }: { key: string }) => sets.push(key);
    cache.set('before', '1');
    cache.on('set', listener);
    cache.set('during', '2');
    cache.off('set', listener);
    cache.set('after', '3');
    expect(sets).toEqual(['during']);
    expect(cache.get('after')).toBe('3');
  });

  it('aborts an in-flight load of the key, whose result is then not stored', async () => {
    const cache = new Cache<string, string>({ max: 10, policy });
    const load = deferred<string>();
    const pending = cache.getOrSet('a', () => load.promise);
    await flush();
    cache.set('a', 'set');
    load.resolve('loaded');
    await pending;
    expect(cache.get('a')).toBe('set');
  });

  it('after an entry with a ttl was stored: an eviction reports the bare value and drops the tag', async () => {
    const cache = new Cache<string, string>({ max: 1, policy });
    const evicted: Array<[string, unknown]> = [];
    cache.on('evict', ({ key, value }) => evicted.push([key, value]));
    cache.set('tagged', 'T', { ttl: '1s', tags: ['t'] });
    // Under 'tinylfu' the newcomer may be the one refused: insert until the tagged entry is gone.
    for (let i = 0; i < 50 && cache.peek('tagged') !== undefined; i++) {
      for (let j = 0; j < 5; j++) cache.get(`k${i}`);
      cache.set(`k${i}`, `v${i}`);
    }
    expect(cache.peek('tagged')).toBeUndefined();
    expect(evicted).toContainEqual(['tagged', 'T']);
    // Its tag link went with it: the same key, stored again without tags, is not invalidated by that tag.
    for (let j = 0; j < 20; j++) cache.get('tagged');
    cache.set('tagged', 'NEW');
    expect(cache.peek('tagged')).toBe('NEW');
    expect(cache.invalidateTags(['t'])).toBe(0);
    expect(cache.peek('tagged')).toBe('NEW');
  });

  it('an evict listener that stores an entry and clears the cache: later reports still carry the bare value', () => {
    // `clear` makes the cache plain again while the store may still hold evictions to report (tinylfu reports
    // them after the write): those must still be recognised as entries.
    const cache = new Cache<string, string>({ max: 20, policy });
    const seen: unknown[] = [];
    cache.on('evict', ({ value }) => {
      seen.push(value);
      if (seen.length === 1) {
        cache.set('re', 'R', { ttl: 60_000 });
        cache.clear();
      }
    });
    for (let i = 0; i < 200 && seen.length === 0; i++) cache.set(`k${i}`, `v${i}`, { ttl: 60_000 });
    expect(seen.length).toBeGreaterThan(0);
    for (const value of seen) expect(value).toMatch(/^v\d+$/);
  });

  it('a set without options over an entry with a ttl replaces the entry and its expiry', async () => {
    const cache = new Cache<string, string>({ max: 10, policy });
    cache.set('x', 'X', { ttl: '1s' });
    cache.set('x', 'Y');
    await advance(2000);
    expect(cache.get('x')).toBe('Y');
  });

  it('with a tier and no ttl: writes through to the tier', async () => {
    const written: Array<[string, unknown]> = [];
    const tier: CacheTier = {
      async get() {
        return undefined;
      },
      async set(key: string, record: TierRecord) {
        written.push([key, record.value]);
      },
      async delete() {},
      async invalidateTags() {},
      async clear() {},
      async close() {},
    };
    const cache = new Cache<string, string>({ max: 10, policy, tier });
    cache.set('a', 'A');
    await flush();
    expect(written).toEqual([['a', 'A']]);
    await cache.close();
  });

  it('with a bus and no ttl: tells the other instances to drop the key', async () => {
    const sent: BusMessage[] = [];
    const bus: CacheBus = {
      start() {},
      publish(message: BusMessage) {
        sent.push(message);
      },
      async close() {},
    };
    const cache = new Cache<string, string>({ max: 10, policy, bus });
    cache.set('a', 'A');
    expect(sent).toEqual([{ type: 'delete', keys: ['a'] }]);
    await cache.close();
  });

  it('a set without options over a tagged entry unlinks its tags', () => {
    const cache = new Cache<string, string>({ max: 10, policy });
    cache.set('x', 'X', { tags: ['t'] });
    cache.set('x', 'Y');
    expect(cache.invalidateTags(['t'])).toBe(0);
    expect(cache.get('x')).toBe('Y');
  });

  it('in a namespace of a plain cache, writes under the prefix', () => {
    const cache = new Cache<string, string>({ max: 10, policy });
    const users = cache.namespace('users');
    users.set('1', 'U');
    expect(users.get('1')).toBe('U');
    expect(cache.get('users:1')).toBe('U');
    expect(cache.get('1')).toBeUndefined();
  });
});

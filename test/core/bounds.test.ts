import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Cache } from '../../src/index.js';
import { policies } from './policies.js';

describe.each(policies)('bounds hold under both policies (%s)', (policy) => {
  it('size never exceeds max, and every entry that left was counted as an eviction', () => {
    const cache = new Cache<number, number>({ max: 50, policy });
    for (let i = 0; i < 1000; i++) {
      cache.set(i % 300, i);
      cache.get((i * 7) % 300);
      expect(cache.size).toBeLessThanOrEqual(50);
    }
    let present = 0;
    for (let k = 0; k < 300; k++) if (cache.has(k)) present++;
    expect(present).toBe(cache.size);
    expect(cache.size).toBeGreaterThan(0);
    expect(cache.stats().size).toBe(cache.size);
    // Each distinct key inserted either is present or was evicted (refused admission counts too:
    // the store contract reports it to onEvict). Keys were re-set, so count insertions of absent keys.
    expect(cache.stats().evictions).toBeGreaterThan(0);
  });

  it('counts one eviction per entry pushed out (distinct keys, no re-sets)', () => {
    const cache = new Cache<number, number>({ max: 10, policy });
    for (let i = 0; i < 100; i++) cache.set(i, i);
    expect(cache.size).toBeLessThanOrEqual(10);
    expect(cache.stats().evictions).toBe(100 - cache.size);
  });

  it('total weight never exceeds maxSize (sizes from sizeOf)', () => {
    const sizeOf = (value: string) => value.length;
    const cache = new Cache<number, string>({ maxSize: 100, sizeOf, policy });
    const values = new Map<number, string>();
    for (let i = 0; i < 500; i++) {
      const key = (i * 13) % 120;
      const value = 'x'.repeat(1 + ((i * 31) % 40));
      cache.set(key, value);
      values.set(key, value);
      let weight = 0;
      for (const [k, v] of values) if (cache.has(k)) weight += sizeOf(v);
      expect(weight).toBeLessThanOrEqual(100);
    }
  });

  it('max and maxSize together: both bounds hold', () => {
    const cache = new Cache<number, number>({ max: 5, maxSize: 20, sizeOf: (v) => v, policy });
    for (let i = 0; i < 200; i++) {
      cache.set(i, 1 + (i % 7));
      expect(cache.size).toBeLessThanOrEqual(5);
      let weight = 0;
      for (let k = 0; k <= i; k++) if (cache.has(k)) weight += 1 + (k % 7);
      expect(weight).toBeLessThanOrEqual(20);
    }
  });

  it('sizeOf receives (value, key)', () => {
    const calls: Array<[unknown, unknown]> = [];
    const cache = new Cache<string, string>({
      maxSize: 100,
      sizeOf: (value, key) => {
        calls.push([value, key]);
        return 1;
      },
      policy,
    });
    cache.set('k', 'v');
    expect(calls).toContainEqual(['v', 'k']);
  });

  it('expireTag keeps the entries’ weights: sizeOf is not called again (nor with a prefixed key)', async () => {
    const keys: string[] = [];
    const cache = new Cache<string, string>({
      maxSize: 1000,
      sizeOf: (value, key) => {
        keys.push(key);
        return value.length + key.length;
      },
      ttl: 1000,
      staleWhileRevalidate: 1000,
      policy,
    });
    const ns = cache.namespace('users');
    ns.set('a', 'v', { tags: ['t'] });
    await ns.getOrSet('b', () => 'vv', { tags: ['t'] });
    expect(cache.expireTag('t')).toBe(2);
    expect(keys).toEqual(['a', 'b']);
    // The stale entries still weigh 2 + 3 (not re-weighed under their full keys): 995 more fit beside them.
    cache.set('big', 'x'.repeat(992));
    expect([...cache.keys()].sort()).toEqual(['big', 'users:a', 'users:b']);
  });

  it('replacing an entry replaces its weight (no leak in size accounting)', () => {
    const cache = new Cache<string, number>({ maxSize: 10, sizeOf: (v) => v, policy });
    cache.set('a', 6);
    cache.set('a', 2);
    cache.set('b', 8);
    // 2 + 8 = 10 fits: nothing needs evicting.
    expect(cache.get('a')).toBe(2);
    expect(cache.get('b')).toBe(8);
    expect(cache.stats().evictions).toBe(0);
  });

  it('a background refresh replaces the entry’s weight', async () => {
    vi.useFakeTimers();
    try {
      const cache = new Cache<string, string>({
        maxSize: 10,
        sizeOf: (v) => v.length,
        ttl: 1000,
        staleWhileRevalidate: 5000,
        policy,
      });
      await cache.getOrSet('a', () => 'aaaaaa');
      vi.advanceTimersByTime(1500);
      expect(await cache.getOrSet('a', () => 'bb')).toBe('aaaaaa');
      await vi.advanceTimersByTimeAsync(0);
      expect(cache.get('a')).toBe('bb');
      cache.set('c', 'cccccccc');
      // 2 + 8 = 10 fits: nothing needs evicting.
      expect(cache.get('a')).toBe('bb');
      expect(cache.get('c')).toBe('cccccccc');
      expect(cache.stats().evictions).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });

  it('delete frees its weight', () => {
    const cache = new Cache<string, number>({ maxSize: 10, sizeOf: (v) => v, policy });
    cache.set('a', 6);
    expect(cache.delete('a')).toBe(true);
    cache.set('b', 8);
    cache.set('c', 2);
    expect(cache.get('b')).toBe(8);
    expect(cache.get('c')).toBe(2);
    expect(cache.stats().evictions).toBe(0);
  });

  it('clear frees all weight', () => {
    const cache = new Cache<string, number>({ maxSize: 10, sizeOf: (v) => v, policy });
    cache.set('a', 5).set('b', 5);
    cache.clear();
    cache.set('c', 5).set('d', 5);
    expect(cache.get('c')).toBe(5);
    expect(cache.get('d')).toBe(5);
    expect(cache.stats().evictions).toBe(0);
  });

  it('many entries with a large max: nothing is evicted below the bound', () => {
    const cache = new Cache<number, number>({ max: 1000, policy });
    for (let i = 0; i < 1000; i++) cache.set(i, i);
    expect(cache.size).toBe(1000);
    for (let i = 0; i < 1000; i++) expect(cache.peek(i)).toBe(i);
    expect(cache.stats().evictions).toBe(0);
  });
});

describe('LRU eviction order (policy lru only: tinylfu may refuse admission)', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  const lru = (max: number) => new Cache<string, number>({ max, policy: 'lru' });

  it("policy 'lru' evicts the least recently set", () => {
    const cache = lru(2);
    cache.set('a', 1).set('b', 2).set('c', 3);
    expect(cache.has('a')).toBe(false);
    expect(cache.has('b')).toBe(true);
    expect(cache.has('c')).toBe(true);
  });

  // The default policy is W-TinyLFU (docs/policy.md): a scan of one-time keys does not flush a hot key,
  // which is exactly what LRU does.
  it('expireTag does not mark an entry used', () => {
    const cache = new Cache<string, number>({ max: 2, ttl: 1000, staleWhileRevalidate: 1000, policy: 'lru' });
    cache.set('a', 1, { tags: ['t'] });
    cache.set('b', 2);
    expect(cache.expireTag('t')).toBe(1);
    cache.set('c', 3);
    expect([...cache.keys()].sort()).toEqual(['b', 'c']);
  });

  it('the default policy keeps a hot key through a scan that flushes it under lru', () => {
    const run = (cache: Cache<string, number>): boolean => {
      for (let round = 0; round < 50; round++) {
        cache.set('hot', 1);
        for (let i = 0; i < 20; i++) cache.get('hot');
      }
      for (let i = 0; i < 1000; i++) cache.set(`scan:${i}`, i);
      return cache.has('hot');
    };
    expect(run(new Cache<string, number>({ max: 100 }))).toBe(true);
    expect(run(lru(100))).toBe(false);
  });

  it('get marks an entry used', () => {
    const cache = lru(3);
    cache.set('a', 1).set('b', 2).set('c', 3);
    cache.get('a');
    cache.set('d', 4);
    expect(cache.has('b')).toBe(false);
    expect([cache.has('a'), cache.has('c'), cache.has('d')]).toEqual([true, true, true]);
  });

  it('peek does not change recency', () => {
    const cache = lru(3);
    cache.set('a', 1).set('b', 2).set('c', 3);
    expect(cache.peek('a')).toBe(1);
    cache.set('d', 4);
    expect(cache.has('a')).toBe(false);
    expect(cache.has('b')).toBe(true);
  });

  // Spec silent: has() is a presence check; like Map#has and lru-cache's has it should not count as a use.
  it('has does not change recency', () => {
    const cache = lru(3);
    cache.set('a', 1).set('b', 2).set('c', 3);
    expect(cache.has('a')).toBe(true);
    cache.set('d', 4);
    expect(cache.has('a')).toBe(false);
  });

  it('set of an existing key marks it used and evicts nothing', () => {
    const cache = lru(3);
    cache.set('a', 1).set('b', 2).set('c', 3);
    cache.set('a', 10);
    expect(cache.stats().evictions).toBe(0);
    cache.set('d', 4);
    expect(cache.has('b')).toBe(false);
    expect(cache.get('a')).toBe(10);
  });

  it('a getOrSet hit marks the entry used', async () => {
    const cache = lru(3);
    cache.set('a', 1).set('b', 2).set('c', 3);
    expect(await cache.getOrSet('a', () => 99)).toBe(1);
    cache.set('d', 4);
    expect(cache.has('a')).toBe(true);
    expect(cache.has('b')).toBe(false);
  });

  it('a getOrSet miss stores as most recently used', async () => {
    const cache = lru(2);
    cache.set('a', 1);
    await cache.getOrSet('b', () => 2);
    cache.set('c', 3);
    expect(cache.has('a')).toBe(false);
    expect(cache.get('b')).toBe(2);
  });

  it('weighted: evicts least recently used entries until the new one fits', () => {
    const cache = new Cache<string, number>({ maxSize: 10, sizeOf: (v) => v, policy: 'lru' });
    cache.set('a', 4).set('b', 4);
    cache.get('a');
    cache.set('c', 4);
    expect(cache.has('b')).toBe(false);
    expect(cache.has('a')).toBe(true);
    expect(cache.has('c')).toBe(true);
    cache.set('d', 9);
    expect([cache.has('a'), cache.has('c'), cache.has('d')]).toEqual([false, false, true]);
    expect(cache.stats().evictions).toBe(3);
  });

  it('an entry exactly maxSize fits', () => {
    const cache = new Cache<string, number>({ maxSize: 10, sizeOf: (v) => v, policy: 'lru' });
    cache.set('a', 3);
    cache.set('b', 10);
    expect(cache.get('b')).toBe(10);
    expect(cache.has('a')).toBe(false);
  });

  it('delete, clear and replacing a value are not evictions', () => {
    const cache = lru(3);
    cache.set('a', 1).set('b', 2).set('c', 3);
    cache.set('a', 2);
    cache.delete('b');
    cache.clear();
    expect(cache.stats().evictions).toBe(0);
  });

  // Spec: size counts live entries and never exceeds max. A demanding user expects an expired entry to
  // be dropped before a live one is evicted to make room.
  it('an expired entry is dropped before a live entry is evicted', () => {
    const cache = new Cache<string, number>({ max: 2, policy: 'lru' });
    cache.set('live', 1);
    cache.set('short', 2, { ttl: 100 });
    vi.advanceTimersByTime(200);
    cache.set('new', 3);
    expect(cache.get('live')).toBe(1);
    expect(cache.get('new')).toBe(3);
    expect(cache.size).toBe(2);
  });
});

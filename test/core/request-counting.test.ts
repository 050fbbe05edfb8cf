import { afterEach, describe, expect, it, vi } from 'vitest';
import { Cache } from '../../src/index.js';
import { TinyLfuStore } from '../../src/policy/tinylfu-store.js';

/** The store among those `set` was called on that holds `key` (the cache's own). */
function storeHolding(contexts: readonly unknown[], key: string): TinyLfuStore<string, unknown> {
  const store = contexts.find((s) => (s as TinyLfuStore<string, unknown>).has(key));
  if (store === undefined) throw new Error(`no store holds ${key}`);
  return store as TinyLfuStore<string, unknown>;
}

/**
 * The default policy counts each request once in its frequency sketch: a loader's value answers a miss the store
 * already counted, even when other misses came in between (overlapping loads), and marking an entry stale is no
 * request at all.
 */
describe('request counting in the W-TinyLFU sketch', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('counts each getOrSet miss once when the loads overlap, and a plain set once', async () => {
    const set = vi.spyOn(TinyLfuStore.prototype, 'set');
    const cache = new Cache<string, number>({ max: 1000, policy: 'tinylfu' });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const a = cache.getOrSet('a', async () => {
      await gate;
      return 1;
    });
    const b = cache.getOrSet('b', async () => {
      await gate;
      return 2;
    });
    release();
    expect(await Promise.all([a, b])).toEqual([1, 2]);
    cache.set('c', 3);
    // The cache's store (the guards' miniature stores are TinyLfuStores too).
    const store = storeHolding(set.mock.contexts, 'c');
    expect(['a', 'b', 'c'].map((k) => store.frequencyOf(k))).toEqual([1, 1, 1]);
    // A hit counts once more.
    expect(cache.get('a')).toBe(1);
    expect(store.frequencyOf('a')).toBe(2);
    await cache.close();
  });

  it('counts each miss once when a hand-written get, then set, overlaps another', async () => {
    const set = vi.spyOn(TinyLfuStore.prototype, 'set');
    const cache = new Cache<string, number>({ max: 1000, policy: 'tinylfu' });
    expect(cache.get('a')).toBeUndefined();
    expect(cache.get('b')).toBeUndefined();
    await Promise.resolve();
    cache.set('a', 1);
    cache.set('b', 2);
    const store = storeHolding(set.mock.contexts, 'a');
    expect([store.frequencyOf('a'), store.frequencyOf('b')]).toEqual([1, 1]);
    await cache.close();
  });

  it('counts nothing when expireTag marks an entry stale', async () => {
    const set = vi.spyOn(TinyLfuStore.prototype, 'set');
    const cache = new Cache<string, number>({
      max: 1000,
      policy: 'tinylfu',
      ttl: '1m',
      staleWhileRevalidate: '1m',
    });
    cache.set('a', 1, { tags: ['t'] });
    const store = storeHolding(set.mock.contexts, 'a');
    expect(store.frequencyOf('a')).toBe(1);
    expect(cache.expireTag('t')).toBe(1);
    expect(store.frequencyOf('a')).toBe(1);
    await cache.close();
  });
});

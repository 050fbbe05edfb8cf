/**
 * Write-through to the Redis tier: a value is serialized once per set, and writes issued while a new
 * createCache is still connecting reach Redis (real Redis).
 */
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Cache } from '../../src/index.js';
import { createCache, defaultSerializer, redisTier, type Serializer } from '../../src/redis/index.js';
import { deleteKeys, redisForTests, uniquePrefix, waitFor } from '../helpers/redis-server.js';
import { connected as bothConnected } from '../helpers/two-instances.js';

const url = await redisForTests('larder/redis write-through tests');

describe.runIf(url)('write-through to a real Redis', () => {
  let admin: Redis;
  let prefix: string;
  const closers: (() => Promise<unknown>)[] = [];

  beforeAll(() => {
    admin = new Redis(url as string);
  });
  afterAll(async () => {
    await admin.quit();
  });
  beforeEach(() => {
    prefix = uniquePrefix('write-through');
  });
  afterEach(async () => {
    for (const close of closers.splice(0)) await close();
    await deleteKeys(admin, prefix);
  });

  function instance(): Cache<string, unknown> {
    const cache = createCache<string, unknown>({ redisUrl: url, max: 100, ttl: 60_000, redis: { prefix } });
    closers.push(() => cache.close());
    return cache;
  }

  async function connected(cache: Cache<string, unknown>): Promise<Cache<string, unknown>> {
    await waitFor(() => cache.stats().busMessages >= 1);
    return cache;
  }

  describe('serializing once', () => {
    let client: Redis;
    let calls: unknown[];
    const counting: Serializer = {
      serialize(value) {
        calls.push(value);
        return defaultSerializer.serialize(value);
      },
      deserialize: defaultSerializer.deserialize,
    };

    beforeEach(async () => {
      calls = [];
      client = new Redis(url as string, { lazyConnect: true, enableOfflineQueue: false });
      await client.connect();
      closers.push(() => client.quit());
    });

    it('set() with a tier serializes each value once, and Redis gets that text', async () => {
      const tier = redisTier(client, { prefix, serializer: counting });
      const cache = new Cache<string, unknown>({ max: 100, tier });
      closers.push(() => cache.close());
      const rows = Array.from({ length: 50 }, (_, i) => ({ id: i, at: new Date(i) }));
      cache.set('rows', rows);
      cache.set('n', 5);
      cache.set('rows2', rows, { tags: ['t'] });
      expect(calls).toEqual([rows, 5, rows]);
      await waitFor(() => tier.stats().writes === 3);
      expect(calls).toHaveLength(3);
      const reader = new Cache<string, unknown>({ max: 100, tier: redisTier(client, { prefix }) });
      closers.push(() => reader.close());
      let loads = 0;
      expect(await reader.getOrSet('rows', () => ++loads)).toEqual(rows);
      expect(await reader.getOrSet('rows2', () => ++loads)).toEqual(rows);
      expect(await reader.getOrSet('n', () => ++loads)).toBe(5);
      expect(loads).toBe(0);
    });

    it('a value checked earlier and changed since is serialized again, never stored as it was', async () => {
      const tier = redisTier(client, { prefix, serializer: counting });
      closers.push(() => tier.close());
      const value = { v: 1 };
      tier.check(value);
      await Promise.resolve();
      await Promise.resolve();
      value.v = 2;
      const now = Date.now();
      const record = (v: unknown) => ({
        value: v,
        createdAt: now,
        expires: now + 60_000,
        staleUntil: now + 60_000,
        errorUntil: now + 60_000,
        tags: [],
      });
      await tier.set('a', record(value));
      expect((await tier.get('a'))?.value).toEqual({ v: 2 });
      // A check of one value, then a set of another: the other is serialized.
      tier.check({ other: true });
      await tier.set('b', record({ b: 1 }));
      expect((await tier.get('b'))?.value).toEqual({ b: 1 });
      expect(calls).toHaveLength(4);
    });
  });

  describe('a new instance that is still connecting', () => {
    it('keeps a set made right after createCache: the next instance reads it without loading', async () => {
      const first = instance();
      first.set('config', { flags: ['a'], at: new Date(7) });
      first.invalidateTag('never-used');
      // Until first's messages (sent once its writes land) have reached second, a read there can meet one.
      const second = instance();
      await bothConnected(first, second);
      let loads = 0;
      expect(await second.getOrSet('config', () => ++loads)).toEqual({ flags: ['a'], at: new Date(7) });
      expect(loads).toBe(0);
    });

    it('keeps a value loaded in its first moments: the next instance does not load it again', async () => {
      const first = instance();
      let loads = 0;
      expect(await first.getOrSet('page', () => `v${++loads}`)).toBe('v1');
      const second = await connected(instance());
      expect(await second.getOrSet('page', () => `v${++loads}`)).toBe('v1');
      expect(loads).toBe(1);
    });

    it('keeps the order of writes made while connecting (a delete after a set wins)', async () => {
      const first = instance();
      first.set('k', 1);
      first.delete('k');
      first.set('j', 1);
      first.set('j', 2);
      const second = instance();
      await bothConnected(first, second);
      expect(await second.getOrSet('k', () => 'loaded')).toBe('loaded');
      expect(await second.getOrSet('j', () => 'loaded')).toBe(2);
    });

    it('gives up after timeout when Redis does not come: the write fails as unavailable, the cache carries on', async () => {
      const cache = createCache<string, unknown>({
        // Nothing listens on port 1.
        redisUrl: 'redis://127.0.0.1:1',
        max: 10,
        redis: { prefix, timeout: 100 },
      });
      closers.push(() => cache.close());
      const errors: unknown[] = [];
      cache.on('error', (e) => errors.push(e.error));
      cache.set('k', 1);
      expect(cache.get('k')).toBe(1);
      await waitFor(() => errors.some((e) => /did not connect within 100 ms/.test(String(e))));
    });
  });
});

import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Cache } from '../../src/index.js';
import { createCache, redisBus, redisTier } from '../../src/redis/index.js';
import { deleteKeys, redisForTests, uniquePrefix, waitFor } from '../helpers/redis-server.js';

const url = await redisForTests('larder/redis cache integration tests');

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.runIf(url)('Cache with the Redis tier and bus (one process, real Redis)', () => {
  let admin: Redis;
  let prefix: string;
  const caches: Cache<string, unknown>[] = [];

  /** A cache like createCache makes, on the test's prefix. */
  function instance(options: { ttl?: number; name?: string } = {}): Cache<string, unknown> {
    const cache = createCache<string, unknown>({
      redisUrl: url,
      max: 1000,
      ttl: options.ttl ?? 60_000,
      redis: { prefix, client: { connectionName: options.name ?? `${prefix.replace(/[^\w-]/g, '_')}` } },
    });
    caches.push(cache);
    return cache;
  }

  async function connected(...list: Cache<string, unknown>[]): Promise<void> {
    // Subscribed and connected: the first resync has happened.
    await waitFor(() => list.every((c) => c.stats().busMessages >= 1));
  }

  beforeAll(async () => {
    admin = new Redis(url as string);
  });
  afterAll(async () => {
    await admin.quit();
  });
  beforeEach(() => {
    prefix = uniquePrefix('cache');
  });
  afterEach(async () => {
    for (const cache of caches.splice(0)) await cache.close();
    await deleteKeys(admin, prefix);
  });

  it('createCache without redisUrl (or with an empty one) is memory-only', async () => {
    for (const redisUrl of [undefined, '', '  ']) {
      const cache = createCache<string, number>({ redisUrl, max: 10, redis: { prefix } });
      cache.set('k', 1);
      expect(cache.get('k')).toBe(1);
      await cache.close();
    }
    expect(await admin.keys(`${prefix}*`)).toEqual([]);
  });

  it('createCache refuses bad options, naming them', () => {
    expect(() => createCache({ redisUrl: 5 as unknown as string, max: 1 })).toThrow(/createCache: redisUrl/);
    expect(() => createCache({ redisUrl: url, max: 1, redis: { nope: 1 } as never })).toThrow(/redis\.nope/);
    expect(() => createCache({ redisUrl: url, max: 1, redis: { timeout: -5 } })).toThrow(
      /createCache: redis\.timeout/,
    );
    expect(() => createCache({ redisUrl: url } as never)).toThrow(/max/);
    expect(() => createCache(null as never)).toThrow(/createCache: options/);
  });

  it('createCache with the longest timeout and tombstoneTtl: no timer overflows, and deletes and tags work', async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      // The connection's connectTimeout is 4 x timeout, capped at the longest timer delay.
      const cache = createCache<string, unknown>({
        redisUrl: url,
        max: 10,
        ttl: 60_000,
        redis: { prefix, timeout: 2 ** 31 - 1, tombstoneTtl: Number.MAX_SAFE_INTEGER },
      });
      caches.push(cache);
      await connected(cache);
      const errors: unknown[] = [];
      cache.on('error', (e) => errors.push(e.error));
      await cache.getOrSet('k', () => 'v', { tags: ['t'] });
      await waitFor(async () => (await admin.exists(`${prefix}v:k`)) === 1);
      cache.delete('k');
      cache.invalidateTag('t');
      await waitFor(async () => (await admin.pttl(`${prefix}t:t`)) > 2 ** 40);
      expect(await admin.pttl(`${prefix}v:k`)).toBeGreaterThan(2 ** 40);
      expect(errors).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings.filter((w) => w.name === 'TimeoutOverflowWarning')).toEqual([]);
  });

  it('a value loaded on one instance fills the other from Redis, with its remaining TTL, without a second load', async () => {
    const a = instance({ ttl: 2000 });
    const b = instance({ ttl: 2000 });
    await connected(a, b);
    let loads = 0;
    const loader = async () => {
      loads++;
      return { id: 7, at: new Date(1) };
    };
    expect(await a.getOrSet('user:7', loader)).toEqual({ id: 7, at: new Date(1) });
    await sleep(300);
    const ttls: number[] = [];
    b.on('set', (e) => ttls.push(e.ttl));
    expect(await b.getOrSet('user:7', loader)).toEqual({ id: 7, at: new Date(1) });
    expect(loads).toBe(1);
    expect(b.stats().tierHits).toBe(1);
    expect(ttls).toHaveLength(1);
    expect(ttls[0]).toBeLessThanOrEqual(1700 + 20);
    expect(ttls[0]).toBeGreaterThan(1000);
  });

  it('a set on one instance is seen by the others (bus drop + tier read)', async () => {
    const a = instance();
    const b = instance();
    const c = instance();
    await connected(a, b, c);
    a.set('k', 'v1');
    await waitFor(async () => (await b.getOrSet('k', () => 'loader')) === 'v1');
    expect(await c.getOrSet('k', () => 'loader')).toBe('v1');
    a.set('k', 'v2');
    await waitFor(() => b.peek('k') === undefined && c.peek('k') === undefined);
    expect(await b.getOrSet('k', () => 'loader')).toBe('v2');
    expect(await c.getOrSet('k', () => 'loader')).toBe('v2');
  });

  it('delete, tag invalidation and namespace clear reach every instance and Redis', async () => {
    const a = instance();
    const b = instance();
    await connected(a, b);
    b.set('d', 1);
    b.set('t1', 1, { tags: ['group'] });
    b.set('t2', 2, { tags: ['group', 'other'] });
    b.namespace('ns').set('x', 1);
    b.set('keep', 1);
    for (const k of ['d', 't1', 't2', 'ns:x', 'keep'])
      expect(await a.getOrSet(k, () => 'loaded')).not.toBe('loaded');
    a.delete('d');
    a.invalidateTag('group');
    a.namespace('ns').clear();
    await waitFor(() => ['d', 't1', 't2', 'ns:x'].every((k) => b.peek(k) === undefined));
    expect(b.peek('keep')).toBe(1);
    for (const k of ['d', 't1', 't2', 'ns:x']) expect(await b.getOrSet(k, () => 'reloaded')).toBe('reloaded');
    expect(await b.getOrSet('keep', () => 'reloaded')).toBe(1);
  });

  it('a whole-cache clear on one instance empties the others and Redis', async () => {
    const a = instance();
    const b = instance();
    await connected(a, b);
    b.set('x', 1);
    b.set('y', 2);
    await waitFor(async () => (await a.getOrSet('x', () => 0)) === 1);
    a.clear();
    await waitFor(() => b.size === 0);
    await waitFor(
      async () =>
        (await admin.keys(`${prefix}v:*`)).length === 0 || (await b.getOrSet('y', () => 'gone')) === 'gone',
    );
    expect(await b.getOrSet('y', () => 'gone')).toBe('gone');
  });

  it('an instance ignores its own messages (its memory keeps what it just wrote)', async () => {
    const a = instance();
    const b = instance();
    await connected(a, b);
    const before = a.stats().busMessages;
    a.set('k', 1);
    b.set('other', 1);
    await waitFor(() => a.stats().busMessages === before + 1);
    await sleep(20);
    expect(a.stats().busMessages).toBe(before + 1);
    expect(a.peek('k')).toBe(1);
  });

  describe('races between a write and a load on two instances (tier only, so no bus message cancels the load)', () => {
    async function tierOnly(): Promise<{ cache: Cache<string, unknown> }> {
      const client = new Redis(url as string, { enableOfflineQueue: false });
      const cache = new Cache<string, unknown>({
        max: 100,
        ttl: 60_000,
        tier: redisTier(client, { prefix }),
      });
      caches.push(cache);
      clients.push(client);
      await waitFor(() => client.status === 'ready');
      return { cache };
    }
    const clients: Redis[] = [];
    afterEach(() => {
      for (const c of clients.splice(0)) c.disconnect();
    });

    it('a load that read the old value before a set cannot overwrite the newer value in Redis', async () => {
      const { cache: a } = await tierOnly();
      const { cache: b } = await tierOnly();
      let release!: () => void;
      const gate = new Promise<void>((resolve) => {
        release = resolve;
      });
      // A starts a load and reads the database (the old row)...
      const loading = a.getOrSet('row', async () => {
        await gate;
        return 'old row';
      });
      await sleep(20);
      // ...then B updates the row and sets the cache...
      b.set('row', 'new row');
      await waitFor(async () => (await admin.exists(`${prefix}v:row`)) === 1);
      // ...then A's load finishes and writes back what it read.
      release();
      expect(await loading).toBe('old row');
      await sleep(50);
      const { cache: c } = await tierOnly();
      expect(await c.getOrSet('row', () => 'loader')).toBe('new row');
    });

    it('a load that read the old value before a delete cannot write it back to Redis', async () => {
      const { cache: a } = await tierOnly();
      const { cache: b } = await tierOnly();
      b.set('row', 'old row');
      let release!: () => void;
      const gate = new Promise<void>((resolve) => {
        release = resolve;
      });
      a.delete('row');
      await sleep(20);
      const loading = a.getOrSet('row', async () => {
        await gate;
        return 'old row (read before the delete)';
      });
      // The load above started after A's delete but B deletes again after the row changes:
      await sleep(20);
      b.delete('row');
      await sleep(20);
      release();
      await loading;
      await sleep(50);
      const { cache: c } = await tierOnly();
      expect(await c.getOrSet('row', () => 'fresh from the database')).toBe('fresh from the database');
    });
  });

  it('close() releases the connections createCache opened (client and subscriber)', async () => {
    const name = `${prefix.replace(/[^\w-]/g, '_')}close`;
    const a = instance({ name });
    await connected(a);
    const named = async () =>
      String(await admin.client('LIST'))
        .split('\n')
        .filter((line) => line.includes(`name=${name}`)).length;
    expect(await named()).toBe(2);
    await a.close();
    await waitFor(async () => (await named()) === 0);
  });

  it('with nothing listening at redisUrl: memory serves, loaders run, failures are counted and emitted', async () => {
    const cache = createCache<string, number>({
      redisUrl: 'redis://127.0.0.1:1',
      max: 10,
      ttl: 60_000,
      redis: { prefix, timeout: 100 },
    });
    const errors: unknown[] = [];
    cache.on('error', (e) => errors.push(e.error));
    let loads = 0;
    const started = Date.now();
    expect(await cache.getOrSet('k', () => ++loads)).toBe(1);
    expect(await cache.getOrSet('k', () => ++loads)).toBe(1);
    cache.set('s', 2);
    cache.delete('s');
    cache.invalidateTag('t');
    cache.clear();
    expect(Date.now() - started).toBeLessThan(1000);
    await sleep(50);
    const stats = cache.stats();
    expect(stats.tierErrors).toBeGreaterThan(0);
    expect(stats.busErrors).toBeGreaterThan(0);
    expect(errors.length).toBeGreaterThan(0);
    await cache.close();
  });

  it('close() of a cache that never reached Redis does not wait out its timeout', async () => {
    const cache = createCache<string, number>({
      redisUrl: 'redis://127.0.0.1:1',
      max: 10,
      redis: { prefix, timeout: '8s' },
    });
    cache.on('error', () => {});
    // Let the clients fail a connection or two: they are now between attempts (ioredis's 'reconnecting').
    await sleep(300);
    const started = Date.now();
    await cache.close();
    // Each client used to wait its full 8 s for an 'end' that ioredis never emits there.
    expect(Date.now() - started).toBeLessThan(4000);
  }, 30_000);

  it('keeps working when given clients: new Cache({ tier: redisTier(client), bus: redisBus(client) })', async () => {
    const client = new Redis(url as string, { enableOfflineQueue: false });
    const a = new Cache<string, number>({
      max: 10,
      tier: redisTier(client, { prefix }),
      bus: redisBus(client, { prefix }),
    });
    const b = instance();
    await waitFor(() => a.stats().busMessages >= 1);
    await connected(b);
    a.set('k', 42);
    await waitFor(async () => (await b.getOrSet('k', () => 0)) === 42);
    await a.close();
    expect(client.status).toBe('ready');
    client.disconnect();
  });
});

/** larder/otel on a cache with the real Redis tier and bus (larder/redis createCache): tier and bus instruments. */
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { instrument } from '../../src/otel/index.js';
import { createCache } from '../../src/redis/index.js';
import { deleteKeys, redisForTests, uniquePrefix, waitFor } from '../helpers/redis-server.js';
import { metricsHarness } from './harness.js';

const url = await redisForTests('larder/otel with Redis');

describe.runIf(url !== undefined)('larder/otel with a Redis tier and bus', () => {
  const prefix = uniquePrefix('otel');
  afterAll(async () => {
    const admin = new Redis(url as string);
    await deleteKeys(admin, prefix);
    admin.disconnect();
  });

  it('reports tier hits and misses, bus messages both ways, and the bus connection', async () => {
    const options = { redisUrl: url, max: 100, ttl: '1m' as const, redis: { prefix } };
    const a = createCache<string, number>(options);
    const b = createCache<string, number>(options);
    const h = metricsHarness();
    const stop = instrument(b, { name: 'b', meter: h.meter });
    await waitFor(async () => (await h.value('larder.cache.bus.connected')) === 1, 5000);
    await a.getOrSet('k', () => 1); // a: tier miss, load, write to Redis
    // The tier write is not awaited by getOrSet: wait until Redis holds it, or b's read may race it.
    const admin = new Redis(url as string);
    await waitFor(async () => (await admin.keys(`${prefix}*k`)).length === 1, 5000);
    admin.disconnect();
    expect(await b.getOrSet('k', () => 2)).toBe(1); // b: tier hit
    expect(await b.getOrSet('other', () => 3)).toBe(3); // b: tier miss
    const received = async () => (await h.value('larder.cache.bus.messages', { direction: 'received' })) ?? 0;
    const before = await received();
    a.set('k', 10); // a publishes: b receives
    b.set('mine', 1); // b publishes
    await waitFor(async () => (await received()) === before + 1, 5000);
    expect(await h.value('larder.cache.tier.requests', { result: 'hit' })).toBe(1);
    expect(await h.value('larder.cache.tier.requests', { result: 'miss' })).toBe(1);
    await waitFor(
      async () => (await h.value('larder.cache.bus.messages', { direction: 'sent' })) === 1,
      5000,
    );
    expect(await h.value('larder.cache.loads', { outcome: 'success' })).toBe(2); // one from the tier, one loader
    stop();
    await Promise.all([a.close(), b.close()]);
  });

  it('stops reporting a closed cache: no larder_cache_bus_connected 0 left behind to page on', async () => {
    const h = metricsHarness();
    const tenant = createCache<string, number>({ redisUrl: url, max: 100, ttl: '1m', redis: { prefix } });
    instrument(tenant, { name: 'tenant-a', meter: h.meter }); // the application closes the cache, never stops this
    await waitFor(async () => (await h.value('larder.cache.bus.connected')) === 1, 5000);
    await tenant.getOrSet('k', () => 1);
    await tenant.close();
    for (let i = 0; i < 3; i++) {
      const connected = (await h.collect()).filter(
        (p) => p.name === 'larder.cache.bus.connected' && p.attributes['cache.name'] === 'tenant-a',
      );
      // The SDK may go on exporting the point observed before close; never a 0 (LarderBusDisconnected).
      expect(connected.map((p) => p.value)).not.toContain(0);
    }
  });
});

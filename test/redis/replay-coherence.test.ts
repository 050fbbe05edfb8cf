/**
 * A write the tier applies late must reach every instance's memory again. The scene of a cluster failover, on
 * one Redis: instance A's tier connection is cut (a TCP proxy turns it into a black hole) while its bus
 * connection works, as when the bus publishes on a healthy master and the write waits for its slot's new one.
 * A's write fails and is remembered; its bus message reaches B, and B reads the older value back from the
 * tier, which still holds it. Once A's connection is replaced, A replays the write: B must then drop the
 * older value it read meanwhile. (The cache's side of `onReplay`, A's own memory included, is pinned down with
 * in-memory doubles in test/core/tier-bus-contract.test.ts.)
 */
import { Redis } from 'ioredis';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Cache } from '../../src/index.js';
import { type RedisTier, redisBus, redisTier } from '../../src/redis/index.js';
import { BlackHoleProxy } from '../helpers/black-hole-proxy.js';
import { redisForTests, uniquePrefix, waitFor } from '../helpers/redis-server.js';
import { read } from '../helpers/two-instances.js';

const url = await redisForTests('larder/redis replay coherence');
const TIMEOUT = 200;

describe.runIf(url !== undefined)('a replayed write reaches the memory of every instance', () => {
  const cleanup: (() => Promise<unknown> | undefined)[] = [];
  let port = 6379;
  beforeAll(() => {
    port = Number(new URL(url as string).port || 6379);
  });
  afterEach(async () => {
    for (const f of cleanup.splice(0).reverse()) await f();
  });

  function client(p: number): Redis {
    const c = new Redis(p, '127.0.0.1', { enableOfflineQueue: false, maxRetriesPerRequest: 0 });
    c.on('error', () => {});
    cleanup.push(() => Promise.resolve(c.disconnect()));
    return c;
  }

  /** A cache whose tier runs on `tierClient` and whose bus runs on its own direct connection. */
  function instance(prefix: string, tierClient: Redis): { cache: Cache<string, unknown>; tier: RedisTier } {
    const tier = redisTier(tierClient, { prefix, timeout: TIMEOUT });
    const cache = new Cache<string, unknown>({
      max: 1000,
      ttl: 60_000,
      tier,
      bus: redisBus(client(port), { prefix, timeout: TIMEOUT }),
    });
    cache.on('error', () => {});
    cleanup.push(() => cache.close());
    return { cache, tier };
  }

  async function scene(): Promise<{
    a: { cache: Cache<string, unknown>; tier: RedisTier };
    b: { cache: Cache<string, unknown>; tier: RedisTier };
    proxy: BlackHoleProxy;
    tierA: Redis;
  }> {
    const prefix = uniquePrefix('replay-coherence');
    const proxy = new BlackHoleProxy();
    await proxy.start(port);
    cleanup.push(() => proxy.stop());
    const tierA = client(proxy.port);
    const a = instance(prefix, tierA);
    const b = instance(prefix, client(port));
    // Both buses subscribed and both tiers connected: a set on one reaches the other.
    await waitFor(async () => {
      const probe = `probe:${Math.random()}`;
      b.cache.set(probe, 'old');
      a.cache.set(probe, 'new');
      await new Promise((resolve) => setTimeout(resolve, 20));
      return b.cache.peek(probe) === undefined && (await read(b.cache, probe)) === 'new';
    }, 10_000);
    return { a, b, proxy, tierA };
  }

  it('B drops the older values it read back from the tier before the replay (a set, a tag)', async () => {
    const { a, b, proxy, tierA } = await scene();
    a.cache.set('k', 'v1');
    a.cache.set('t', 'tagged v1', { tags: ['T'] });
    await waitFor(async () => (await read(b.cache, 'k')) === 'v1', 5000);
    await waitFor(async () => (await read(b.cache, 't')) === 'tagged v1', 5000);

    proxy.blackHole();
    // The tier writes time out and are remembered; the bus messages go out and B drops its copies.
    a.cache.set('k', 'v2');
    a.cache.invalidateTag('T');
    await waitFor(() => b.cache.peek('k') === undefined && b.cache.peek('t') === undefined, 5000);
    await waitFor(() => a.tier.stats().pending === 2, 5000);
    // The tier still holds the older values: B reads them back into memory (the window this test is about).
    expect(await read(b.cache, 'k')).toBe('v1');
    expect(await read(b.cache, 't')).toBe('tagged v1');

    // The partition heals: A's tier gets a new connection and replays the set (as a deletion) and the tag.
    const replays = a.tier.stats().replays;
    tierA.disconnect(true);
    await waitFor(() => a.tier.stats().pending === 0 && a.tier.stats().replays > replays, 10_000);
    await waitFor(() => b.cache.peek('k') === undefined && b.cache.peek('t') === undefined, 5000);
    expect(await read(b.cache, 'k')).toBe('miss');
    expect(await read(b.cache, 't')).toBe('miss');
    // A's own copy of its newer value went too (it cannot tell it from one read back); the tier has none.
    expect(await read(a.cache, 'k')).toBe('miss');
  });
});

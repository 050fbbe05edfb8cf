import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Cache } from '../../src/index.js';
import { decodeMessage, encodeMessage } from '../../src/redis/bus.js';
import { createCache, redisBus, redisTier } from '../../src/redis/index.js';
import { deleteKeys, redisForTests, uniquePrefix, waitFor } from '../helpers/redis-server.js';

const url = await redisForTests('larder/redis batch tests');

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Counts every command a client sends (ioredis sends each one through `sendCommand`). */
function countCommands(client: Redis): { names: string[] } {
  const seen = { names: [] as string[] };
  const send = client.sendCommand.bind(client);
  client.sendCommand = ((command: { name: string }, ...rest: unknown[]) => {
    seen.names.push(command.name);
    return (send as (...args: unknown[]) => unknown)(command, ...rest);
  }) as typeof client.sendCommand;
  return seen;
}

describe.runIf(url)('batches with the Redis tier (real Redis)', () => {
  let prefix: string;
  const clients: Redis[] = [];
  const caches: Cache<string, unknown>[] = [];

  async function client(): Promise<Redis> {
    const c = new Redis(url as string, { enableOfflineQueue: false, lazyConnect: true });
    await c.connect();
    clients.push(c);
    return c;
  }

  beforeEach(() => {
    prefix = uniquePrefix('batch');
  });
  afterEach(async () => {
    for (const cache of caches.splice(0)) await cache.close();
    const admin = clients[0];
    if (admin !== undefined) await deleteKeys(admin, prefix);
    for (const c of clients.splice(0)) await c.quit();
  });

  it('a fresh instance reads a 100-key batch another stored in at most 5 Redis commands, calling no loader', async () => {
    const ca = await client();
    const a = new Cache<string, unknown>({ max: 1000, ttl: 60_000, tier: redisTier(ca, { prefix }) });
    caches.push(a);
    const keys = Array.from({ length: 100 }, (_, i) => `course:${i}`);
    let loaderCalls = 0;
    const loadMany = async (missing: string[]) => {
      loaderCalls++;
      return missing.map((k) => [k, { key: k, at: new Date(5) }] as const);
    };
    const stored = await a.getOrSetMany(keys, loadMany);
    expect(loaderCalls).toBe(1);
    await waitFor(async () => (await ca.keys(`${prefix}*`)).length >= 100);

    const cb = await client();
    const b = new Cache<string, unknown>({ max: 1000, ttl: 60_000, tier: redisTier(cb, { prefix }) });
    caches.push(b);
    await sleep(100); // let the tier's start-up work (clock measurement) finish before counting
    const sent = countCommands(cb);
    const values = await b.getOrSetMany(keys, loadMany);
    expect(values).toEqual(stored);
    expect(loaderCalls).toBe(1);
    expect(sent.names.length).toBeGreaterThanOrEqual(1);
    expect(sent.names.length).toBeLessThanOrEqual(5);
    expect(sent.names).toEqual(['mget']);
    expect(b.stats().tierHits).toBe(100);
  });

  it('the keys Redis does not have go to one loadMany; an entry invalidated by tag is not read back', async () => {
    const ca = await client();
    const a = new Cache<string, unknown>({ max: 1000, ttl: 60_000, tier: redisTier(ca, { prefix }) });
    caches.push(a);
    await a.getOrSetMany(['a', 'b', 'c'], async (ks) => ks.map((k) => [k, `v:${k}`] as const), {
      tags: (key) => [`t:${key}`],
    });
    await waitFor(async () => (await ca.keys(`${prefix}v*`)).length >= 3);
    a.invalidateTag('t:b');
    await sleep(50);
    const cb = await client();
    const b = new Cache<string, unknown>({ max: 1000, ttl: 60_000, tier: redisTier(cb, { prefix }) });
    caches.push(b);
    const calls: string[][] = [];
    const values = await b.getOrSetMany(['a', 'b', 'c', 'd'], async (ks) => {
      calls.push(ks);
      return ks.map((k) => [k, `new:${k}`] as const);
    });
    expect(values).toEqual(['v:a', 'new:b', 'v:c', 'new:d']);
    expect(calls).toEqual([['b', 'd']]);
  });

  it('expireTag over the bus: the other instance serves its copy stale once while one refresh runs', async () => {
    const make = () => {
      const cache = createCache<string, unknown>({
        redisUrl: url,
        max: 100,
        ttl: 60_000,
        staleWhileRevalidate: 60_000,
        redis: { prefix },
      });
      caches.push(cache);
      return cache;
    };
    const a = make();
    const b = make();
    await waitFor(() => a.stats().busMessages >= 1 && b.stats().busMessages >= 1);
    let loads = 0;
    let release: (value: string) => void = () => {};
    const loader = () => {
      loads++;
      if (loads === 1) return 'v1';
      return new Promise<string>((resolve) => {
        release = resolve;
      });
    };
    expect(await b.getOrSet('k', loader, { tags: ['course'] })).toBe('v1');
    const before = b.stats().busMessages;
    expect(a.expireTag('course')).toBe(0); // a holds no copy
    await waitFor(() => b.stats().busMessages > before);
    expect(b.get('k')).toBeUndefined(); // no longer fresh on b
    expect(await b.getOrSet('k', loader)).toBe('v1'); // stale, at once
    expect(await b.getOrSet('k', loader)).toBe('v1');
    await waitFor(() => loads === 2);
    release('v2');
    await waitFor(() => b.get('k') === 'v2');
    expect(loads).toBe(2);
  });

  it('redisTier.getMany answers in order, undefined where absent; an undecodable entry rejects the read', async () => {
    const c = await client();
    const tier = redisTier(c, { prefix });
    const now = Date.now();
    const record = {
      value: { n: 1 },
      expires: now + 60_000,
      staleUntil: now + 60_000,
      errorUntil: now + 60_000,
      tags: [],
      createdAt: now,
    };
    await tier.set('x', record);
    await tier.set('z', { ...record, value: 'zed' });
    expect(await tier.getMany([])).toEqual([]);
    const got = await tier.getMany(['x', 'y', 'z']);
    expect(got.map((r) => r?.value)).toEqual([{ n: 1 }, undefined, 'zed']);
    await c.set(`${prefix}v:y`, 'not an envelope');
    await expect(tier.getMany(['x', 'y'])).rejects.toThrow();
    // Through a cache: the failed read is reported, and the loader answers every key.
    const cache = new Cache<string, unknown>({ max: 10, tier });
    caches.push(cache);
    const errors: string[] = [];
    cache.on('error', (e) => errors.push(e.operation));
    expect(
      await cache.getOrSetMany(['x', 'y'], async (ks) => ks.map((k) => [k, `loaded ${k}`] as const)),
    ).toEqual(['loaded x', 'loaded y']);
    expect(errors).toContain('tier');
  });

  it('the bus carries expire on tags messages, and nothing else turns a message into an expiry', () => {
    const id = 'x'.repeat(36);
    const encoded = encodeMessage(id, { type: 'tags', tags: ['a'], expire: true });
    expect(decodeMessage(encoded)?.message).toEqual({ type: 'tags', tags: ['a'], expire: true });
    const plain = encodeMessage(id, { type: 'tags', tags: ['a'] });
    expect(decodeMessage(plain)?.message).toEqual({ type: 'tags', tags: ['a'] });
    const forged = plain.replace('"tags":["a"]', '"tags":["a"],"expire":"yes"');
    expect(decodeMessage(forged)?.message).toEqual({ type: 'tags', tags: ['a'] });
  });

  it('redisBus alone passes expireTag to other instances', async () => {
    const [c1, c2] = [await client(), await client()];
    const a = new Cache<string, unknown>({ max: 10, bus: redisBus(c1, { prefix }) });
    const b = new Cache<string, unknown>({ max: 10, bus: redisBus(c2, { prefix }) });
    caches.push(a, b);
    await waitFor(() => a.stats().busMessages >= 1 && b.stats().busMessages >= 1);
    b.set('k', 'v', { tags: ['t'], ttl: 60_000, staleWhileRevalidate: 60_000 });
    a.expireTags(['t']);
    await waitFor(() => b.get('k') === undefined);
    expect(await b.getOrSet('k', () => 'fresh')).toBe('v');
  });
});

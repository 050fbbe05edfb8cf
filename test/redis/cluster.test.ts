/**
 * larder/redis on a real Redis Cluster (scripts/redis-cluster.sh: 3 masters + 3 replicas): two instances share
 * entries, entries spread over every master, tags, deletes and clears hold on every master, the bus reaches
 * instances subscribed to different nodes. Issue 16.
 */
import { Cluster } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Cache } from '../../src/index.js';
import { createCache, redisBus, redisTier } from '../../src/redis/index.js';
import { clusterForTests } from '../helpers/redis-cluster.js';
import { uniquePrefix, waitFor } from '../helpers/redis-server.js';
import { connected as bothConnected, read } from '../helpers/two-instances.js';

const urls = await clusterForTests('larder/redis on Redis Cluster');

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Every key under `prefix`, per master (SCAN on each master). */
async function keysPerMaster(admin: Cluster, prefix: string): Promise<string[][]> {
  const match = `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`;
  return Promise.all(
    admin.nodes('master').map(async (node) => {
      const out: string[] = [];
      let cursor = '0';
      do {
        const [next, keys] = await node.scan(cursor, 'MATCH', match, 'COUNT', 1000);
        cursor = next;
        out.push(...keys);
      } while (cursor !== '0');
      return out;
    }),
  );
}

/** Entries (not tombstones) under `prefix`, per master. */
async function entriesPerMaster(admin: Cluster, prefix: string): Promise<number[]> {
  const perMaster = await keysPerMaster(admin, prefix);
  return Promise.all(
    perMaster.map(async (keys) => {
      let n = 0;
      for (const k of keys) {
        if (!k.includes('}v:')) continue;
        const raw = await admin.get(k);
        if (raw !== null && !/^L1\[\d+\]\n/.test(raw)) n++;
      }
      return n;
    }),
  );
}

describe.runIf(urls !== undefined)('larder/redis on a Redis Cluster', () => {
  const nodes = urls as string[];
  let admin: Cluster;
  const open: Cache<string, unknown>[] = [];
  const prefixes: string[] = [];
  let prefix = '';

  function instance(): Cache<string, unknown> {
    const cache = createCache<string, unknown>({
      redisUrl: nodes.join(','),
      max: 10_000,
      ttl: 60_000,
      redis: { cluster: true, prefix, timeout: 500 },
    });
    open.push(cache);
    return cache;
  }

  const connected = (a: Cache<string, unknown>, b: Cache<string, unknown>): Promise<void> =>
    bothConnected(a, b, 10_000);

  beforeAll(() => {
    admin = new Cluster([nodes[0] as string]);
  });
  afterEach(async () => {
    for (const c of open.splice(0)) await c.close();
  });
  afterAll(async () => {
    for (const p of prefixes) {
      for (const keys of await keysPerMaster(admin, p)) for (const k of keys) await admin.unlink(k);
    }
    admin.disconnect();
  });
  const fresh = (name: string): void => {
    prefix = uniquePrefix(name);
    prefixes.push(prefix);
  };

  it('createCache({ redis: { cluster: true } }) shares entries between two instances, spread over every master', async () => {
    fresh('cluster-share');
    const a = instance();
    const b = instance();
    await connected(a, b);
    for (let i = 0; i < 300; i++) await a.getOrSet(`k${i}`, () => `v${i}`);
    for (let i = 0; i < 300; i++) expect(await read(b, `k${i}`)).toBe(`v${i}`);
    const perMaster = await entriesPerMaster(admin, prefix);
    expect(perMaster).toHaveLength(3);
    const total = perMaster.reduce((x, y) => x + y, 0);
    expect(total).toBeGreaterThanOrEqual(300);
    for (const n of perMaster) expect(n / total).toBeGreaterThanOrEqual(0.2);
  });

  it('getOrSetMany on a fresh instance reads a 100-key batch another stored from every master, one MGET per slot group, no loader', async () => {
    fresh('cluster-batch');
    const a = instance();
    const keys = Array.from({ length: 100 }, (_, i) => `b${i}`);
    await a.getOrSetMany(keys, async (missing) => missing.map((k) => [k, `v:${k}`] as [string, string]));
    await sleep(100);
    const b = instance();
    await connected(a, b);
    let loaderCalls = 0;
    const values = await b.getOrSetMany(keys, async (missing) => {
      loaderCalls++;
      return missing.map((k) => [k, 'loaded'] as [string, string]);
    });
    expect(values).toEqual(keys.map((k) => `v:${k}`));
    expect(loaderCalls).toBe(0);
    expect(b.stats().tierHits).toBeGreaterThanOrEqual(100);
  });

  it('tags, deletes and conditional writes hold on every master, for warm and fresh instances', async () => {
    fresh('cluster-tags');
    const a = instance();
    const b = instance();
    await connected(a, b);
    for (let i = 0; i < 60; i++) a.set(`t${i}`, `v${i}`, { tags: ['group', `own${i}`] });
    for (let i = 0; i < 60; i++) a.set(`d${i}`, `v${i}`);
    await sleep(100);
    for (let i = 0; i < 60; i++) expect(await read(b, `t${i}`)).toBe(`v${i}`);
    a.invalidateTag('group');
    for (let i = 0; i < 60; i++) a.delete(`d${i}`);
    await sleep(200);
    const c = instance();
    await connected(a, c);
    for (let i = 0; i < 60; i++) {
      expect(await read(b, `t${i}`)).toBe('miss');
      expect(await read(c, `t${i}`)).toBe('miss');
      expect(await read(c, `d${i}`)).toBe('miss');
    }
    // A load that started before the deletion cannot write its older value back (tombstone per key).
    const tier = redisTier(new Cluster([nodes[0] as string]), { prefix, closeClient: true });
    await waitFor(() => tier.stats().connected);
    const old = Date.now() - 10_000;
    await tier.set('d0', {
      value: 'old',
      expires: Date.now() + 60_000,
      staleUntil: 0,
      errorUntil: 0,
      tags: [],
      createdAt: old,
    });
    expect(await tier.get('d0')).toBeUndefined();
    expect(tier.stats().refused).toBe(1);
    // Newer value wins: an older write after a newer one is refused.
    const now = Date.now();
    const rec = (value: string, createdAt: number) => ({
      value,
      expires: now + 60_000,
      staleUntil: 0,
      errorUntil: 0,
      tags: ['x'],
      createdAt,
    });
    await tier.set('nv', rec('new', now + 10));
    await tier.set('nv', rec('older', now));
    expect((await tier.get('nv'))?.value).toBe('new');
    await tier.close();
  });

  it('clear() and namespace clear remove entries on every master, and reads honour them at once', async () => {
    fresh('cluster-clear');
    const a = instance();
    const b = instance();
    await connected(a, b);
    for (let i = 0; i < 150; i++) a.set(`x${i}`, i);
    for (let i = 0; i < 150; i++) a.set(`ns:y${i}`, i);
    await sleep(200);
    const before = await entriesPerMaster(admin, prefix);
    expect(before.every((n) => n > 20)).toBe(true);
    await a.namespace('ns').clear();
    for (let i = 0; i < 150; i += 10) {
      expect(await read(b, `ns:y${i}`)).toBe('miss');
      expect(await read(b, `x${i}`)).toBe(i);
    }
    const c = instance();
    await connected(a, c);
    await a.clear();
    // The tier honours the clear at once (C has no memory copies); B's memory copies go with the bus message.
    for (let i = 0; i < 150; i += 10) expect(await read(c, `x${i}`)).toBe('miss');
    await waitFor(async () => (await read(b, 'x0')) === 'miss');
    for (let i = 0; i < 150; i += 10) expect(await read(b, `x${i}`)).toBe('miss');
    await sleep(2000);
    const after = await entriesPerMaster(admin, prefix);
    const total = after.reduce((x, y) => x + y, 0);
    expect(total).toBeLessThanOrEqual(30); // at most 10% of 300
  });

  it('redisBus on a Cluster reaches instances subscribed to other nodes', async () => {
    fresh('cluster-bus');
    const clients = [0, 1, 2].map(() => new Cluster([nodes[0] as string], { enableOfflineQueue: false }));
    const received: string[][] = [[], [], []];
    const buses = clients.map((c, i) => {
      const bus = redisBus(c, { prefix });
      bus.start({
        message: (m) => {
          if (m.type === 'delete') received[i]?.push(...m.keys);
        },
        resync: () => {},
        error: () => {},
      });
      return bus;
    });
    await waitFor(() => buses.every((bus) => bus.stats().subscribed), 10_000);
    // Each subscriber is a plain connection to one master (round robin from a random start); classic pub/sub
    // delivers every PUBLISH on any node to subscribers on every node.
    for (let i = 0; i < 3; i++) buses[i]?.publish({ type: 'delete', keys: [`from${i}`] });
    await waitFor(() => received.every((r, i) => r.length === 2 && !r.includes(`from${i}`)), 5000);
    for (const bus of buses) await bus.close();
    for (const c of clients) c.disconnect();
  });

  it('refuses a hash tag in the prefix on a cluster (it would put every entry on one master)', () => {
    const client = new Cluster([nodes[0] as string], { lazyConnect: true });
    expect(() => redisTier(client, { prefix: '{larder}:' })).toThrow(/prefix must not contain a hash tag/);
    client.disconnect();
  });

  it('createCache validates redis.cluster and the URLs', () => {
    expect(() =>
      createCache({ redisUrl: nodes[0], max: 10, redis: { cluster: 'yes' as unknown as boolean } }),
    ).toThrow(/redis\.cluster must be a boolean/);
    expect(() => createCache({ redisUrl: 'http://x', max: 10, redis: { cluster: true } })).toThrow(
      /createCache: redisUrl must be redis/,
    );
  });
});

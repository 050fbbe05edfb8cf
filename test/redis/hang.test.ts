/**
 * A Redis that hangs instead of dying (SIGSTOP: connections stay open, nothing answers), against a private
 * redis-server. Two instances (createCache, as an app would) share it. Issue 15, item 8.
 */

import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Cache } from '../../src/index.js';
import { createCache, LarderRedisError, redisBus } from '../../src/redis/index.js';
import { BlackHoleProxy } from '../helpers/black-hole-proxy.js';
import { hasRedisServerBinary, RedisServer, uniquePrefix, waitFor } from '../helpers/redis-server.js';
import { connected as bothConnected, read } from '../helpers/two-instances.js';

const canRun = hasRedisServerBinary('larder/redis hang tests');

/** The command timeout under test. */
const TIMEOUT = 200;
/** Slack on top of TIMEOUT for a loaded machine (event-loop lag, the loader itself). */
const SLACK = 250;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Instance {
  cache: Cache<string, unknown>;
  errors: { error: unknown; at: number }[];
}

describe.runIf(canRun)('a hung Redis (SIGSTOP) is an outage', () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => {
    unhandled.push(reason);
  };
  const open: Instance[] = [];
  const servers: RedisServer[] = [];
  let prefix = '';

  function instance(server: RedisServer): Instance {
    const cache = createCache<string, unknown>({
      redisUrl: server.url,
      max: 1000,
      ttl: 60_000,
      redis: { prefix, timeout: TIMEOUT, reconnectDelay: 100 },
    });
    const errors: Instance['errors'] = [];
    cache.on('error', (e) => errors.push({ error: e.error, at: performance.now() }));
    const i = { cache, errors };
    open.push(i);
    return i;
  }

  const connected = (a: Instance, b: Instance): Promise<void> => bothConnected(a.cache, b.cache, 10_000);

  beforeAll(() => {
    process.on('unhandledRejection', onUnhandled);
  });
  afterAll(() => {
    process.off('unhandledRejection', onUnhandled);
  });
  afterEach(async () => {
    for (const s of servers) s.resume();
    for (const i of open.splice(0)) await i.cache.close();
    for (const s of servers.splice(0)) await s.stop();
    expect(unhandled).toEqual([]);
  });

  it('is detected within 2 s, costs one timeout, and nothing invalidated during the freeze survives SIGCONT', async () => {
    prefix = uniquePrefix('hang');
    const server = await RedisServer.start();
    servers.push(server);
    const a = instance(server);
    const b = instance(server);
    await connected(a, b);
    a.cache.set('k', 'v1');
    a.cache.set('tagged', 'v1', { tags: ['g'] });
    await sleep(50);
    expect(await read(b.cache, 'k')).toBe('v1');
    expect(await read(b.cache, 'tagged')).toBe('v1');
    expect(b.cache.peek('k')).toBe('v1');

    server.pause();
    const frozenAt = performance.now();

    // Sequential cold reads on A during the freeze: the first waits for the timeout, the rest fail fast.
    const durations: number[] = [];
    for (let i = 0; i < 20; i++) {
      const t0 = performance.now();
      expect(await a.cache.getOrSet(`cold:${i}`, () => `loaded ${i}`)).toBe(`loaded ${i}`);
      durations.push(performance.now() - t0);
    }
    expect(Math.max(...durations)).toBeLessThan(TIMEOUT + SLACK);
    expect(durations.filter((ms) => ms >= TIMEOUT - 20).length).toBeLessThanOrEqual(1);
    const refused = a.errors.filter(
      ({ error }) => error instanceof LarderRedisError && /stopped answering/.test(error.message),
    );
    expect(refused.length).toBeGreaterThan(0);

    // Invalidations made during the freeze (B cannot hear them now).
    a.cache.delete('k');
    a.cache.invalidateTag('g');

    // Both instances notice the hang on their bus connection (heartbeat), without any call of theirs.
    await waitFor(() =>
      [a, b].every((i) =>
        i.errors.some(
          ({ error }) => error instanceof LarderRedisError && /did not answer a PING/.test(error.message),
        ),
      ),
    );
    for (const i of [a, b]) {
      const hung = i.errors.find(
        ({ error }) => error instanceof LarderRedisError && /did not answer a PING/.test(error.message),
      );
      expect((hung?.at ?? Number.POSITIVE_INFINITY) - frozenAt).toBeLessThan(2000);
      expect((hung?.error as LarderRedisError | undefined)?.code).toBe('timeout');
    }
    // B's reads that reach Redis fail fast too after its first timeout.
    const t0 = performance.now();
    for (let i = 0; i < 5; i++) await read(b.cache, `cold-b:${i}`);
    expect(performance.now() - t0).toBeLessThan(TIMEOUT + SLACK);

    server.resume();
    await connected(a, b);
    // B dropped its pre-outage memory (resync) and the tier writes made during the freeze were replayed.
    await waitFor(
      async () => (await read(b.cache, 'k')) === 'miss' && (await read(b.cache, 'tagged')) === 'miss',
    );
    expect(b.cache.stats().busMessages).toBeGreaterThan(0);
    const c = instance(server);
    await connected(a, c);
    expect(await read(c.cache, 'k')).toBe('miss');
    expect(await read(c.cache, 'tagged')).toBe('miss');
    // Fast again and shared again.
    b.cache.set('after', 'thaw');
    await waitFor(async () => (await read(a.cache, 'after')) === 'thaw');
  });

  it('without any traffic, a freeze is reported and the memory is dropped once Redis answers again', async () => {
    prefix = uniquePrefix('hang-idle');
    const server = await RedisServer.start();
    servers.push(server);
    const a = instance(server);
    const b = instance(server);
    await connected(a, b);
    b.cache.set('mem', 'pre-outage');
    const resyncsBefore = b.cache.stats().busMessages;
    server.pause();
    await sleep(2000);
    expect(b.errors.some(({ error }) => /did not answer a PING/.test(String(error)))).toBe(true);
    server.resume();
    await waitFor(() => b.cache.peek('mem') === undefined, 5000);
    expect(b.cache.stats().busMessages).toBeGreaterThan(resyncsBefore);
  });
});

describe.runIf(canRun)('a half-open connection to Redis is an outage', () => {
  it('is detected, replaced by a new connection, and nothing invalidated meanwhile survives', async () => {
    const server = await RedisServer.start();
    const proxy = new BlackHoleProxy();
    await proxy.start(server.port);
    const prefix = uniquePrefix('half-open');
    const url = `redis://127.0.0.1:${proxy.port}`;
    const make = (redisUrl: string) => {
      const cache = createCache<string, unknown>({
        redisUrl,
        max: 1000,
        ttl: 60_000,
        redis: { prefix, timeout: TIMEOUT, reconnectDelay: 100 },
      });
      const errors: string[] = [];
      cache.on('error', (e) => errors.push(String(e.error)));
      return { cache, errors };
    };
    // A behind the proxy; B straight on Redis.
    const a = make(url);
    const b = make(server.url);
    try {
      await waitFor(async () => {
        b.cache.set('probe', Math.random());
        await sleep(20);
        return a.cache.peek('probe') === undefined && typeof (await read(a.cache, 'probe')) === 'number';
      }, 10_000);
      b.cache.set('k', 'v1');
      await sleep(20);
      expect(await read(a.cache, 'k')).toBe('v1');
      expect(a.cache.peek('k')).toBe('v1');
      proxy.blackHole();
      const cutAt = performance.now();
      b.cache.set('k', 'v2'); // A cannot hear this over its dead connection
      // A's first tier call waits one timeout; then its calls fail fast until the connection is replaced.
      const t0 = performance.now();
      for (let i = 0; i < 10; i++) await read(a.cache, `cold:${i}`);
      expect(performance.now() - t0).toBeLessThan(TIMEOUT + SLACK);
      // The heartbeat notices the bus connection is dead; both connections are replaced; A resyncs. await waitFor(() => a.errors.some((e) => /did not answer a PING/.test(e)), 5000);
      expect(performance.now() - cutAt).toBeLessThan(2000);
      await waitFor(async () => (await read(a.cache, 'k')) === 'v2', 10_000);
      b.cache.set('after', 'yes');
      await waitFor(async () => (await read(a.cache, 'after')) === 'yes', 5000);
    } finally {
      await a.cache.close();
      await b.cache.close();
      await proxy.stop();
      await server.stop();
    }
  });
});

describe('redisBus heartbeat option', () => {
  it('is refused when it is not a positive, finite duration, naming the option', () => {
    const client = new Redis({ lazyConnect: true });
    for (const heartbeat of [0, -1, Number.POSITIVE_INFINITY, 'soon']) {
      expect(() => redisBus(client, { heartbeat: heartbeat as number })).toThrow(/heartbeat must/);
    }
    client.disconnect();
  });

  it('is accepted as a duration (a number of ms or a string)', async () => {
    for (const heartbeat of [500, '2s'] as const) {
      const client = new Redis({ lazyConnect: true });
      const bus = redisBus(client, { heartbeat });
      await bus.close();
      client.disconnect();
    }
  });
});

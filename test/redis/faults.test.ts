/**
 * Faults, against a private redis-server on a spare port that the tests start late, SIGKILL during traffic,
 * freeze (SIGSTOP) and restart. Two cache instances (createCache, as an app would) share it.
 */
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Cache } from '../../src/index.js';
import { createCache, type LarderRedisError, redisTier } from '../../src/redis/index.js';
import { hasRedisServerBinary, RedisServer, uniquePrefix, waitFor } from '../helpers/redis-server.js';
import { connected as bothConnected, read } from '../helpers/two-instances.js';

const canRun = hasRedisServerBinary('larder/redis fault tests');

/** The command timeout under test. */
const TIMEOUT = 200;
/** Slack on top of TIMEOUT for a loaded machine (event-loop lag, the loader itself). */
const SLACK = 250;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Instance {
  cache: Cache<string, unknown>;
  errors: unknown[];
}

/** Keeps caches busy with reads, loads, writes and deletes until stopped, timing every call. */
function traffic(caches: Cache<string, unknown>[]) {
  let running = true;
  const durations: number[] = [];
  const failures: unknown[] = [];
  let calls = 0;
  const loop = async (cache: Cache<string, unknown>): Promise<void> => {
    let i = 0;
    while (running) {
      const key = `traffic:${i++ % 40}`;
      const started = performance.now();
      try {
        const value = await cache.getOrSet(key, async () => `loaded ${key}`);
        if (typeof value !== 'string') throw new Error(`bad value ${String(value)}`);
        if (i % 7 === 0) cache.set(key, `set ${key}`, { tags: ['traffic'] });
        if (i % 11 === 0) cache.delete(key);
        if (i % 29 === 0) cache.invalidateTag('traffic');
      } catch (error) {
        failures.push(error);
      }
      durations.push(performance.now() - started);
      calls++;
      await sleep(2);
    }
  };
  const done = Promise.all(caches.map(loop));
  return {
    durations,
    failures,
    get calls() {
      return calls;
    },
    async stop() {
      running = false;
      await done;
    },
  };
}

describe.runIf(canRun)('faults (private redis-server: down at start, SIGKILL, SIGSTOP, restart)', () => {
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
    const errors: unknown[] = [];
    cache.on('error', (e) => errors.push(e.error));
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
    for (const i of open.splice(0)) await i.cache.close();
    for (const s of servers.splice(0)) await s.stop();
    expect(unhandled).toEqual([]);
  });

  it('Redis down at start: memory serves, loaders run, calls stay fast, failures show; tier and bus resume by themselves', async () => {
    prefix = uniquePrefix('fault-start');
    const server = await RedisServer.reserve();
    servers.push(server);
    const a = instance(server);
    const b = instance(server);
    const t = traffic([a.cache, b.cache]);
    await sleep(400);
    expect(t.calls).toBeGreaterThan(20);
    // Memory serves: a value loaded during the outage is a memory hit afterwards.
    expect(await a.cache.getOrSet('mem', () => 'loaded while down')).toBe('loaded while down');
    expect(a.cache.get('mem')).toBe('loaded while down');
    const down = a.cache.stats();
    expect(down.tierErrors).toBeGreaterThan(0);
    expect(down.busErrors).toBeGreaterThan(0);
    expect(a.errors.some((e) => (e as LarderRedisError).code === 'unavailable')).toBe(true);

    await server.restart();
    await connected(a, b);
    // Both directions, tier and bus.
    a.cache.set('hello', 'from a');
    await waitFor(async () => (await read(b.cache, 'hello')) === 'from a');
    b.cache.set('hello', 'from b');
    await waitFor(() => a.cache.peek('hello') === undefined);
    expect(await read(a.cache, 'hello')).toBe('from b');

    await t.stop();
    expect(t.failures).toEqual([]);
    expect(Math.max(...t.durations)).toBeLessThan(TIMEOUT + SLACK);
  });

  it('Redis SIGKILLed mid-traffic and restarted with its old data: nothing stale outlives the outage', async () => {
    prefix = uniquePrefix('fault-kill');
    const server = await RedisServer.start({ persistent: true });
    servers.push(server);
    const a = instance(server);
    const b = instance(server);
    await connected(a, b);
    a.cache.set('k', 'v1');
    a.cache.set('tagged', 'v1', { tags: ['g'] });
    a.cache.set('gone', 'v1');
    a.cache.set('ns:x', 'v1');
    await sleep(50);
    for (const key of ['k', 'tagged', 'gone', 'ns:x']) expect(await read(b.cache, key)).toBe('v1');
    expect(b.cache.peek('k')).toBe('v1');

    const t = traffic([a.cache, b.cache]);
    await sleep(100);
    await server.kill();
    // During the outage A changes things; neither Redis nor B can hear about it now.
    await sleep(50);
    a.cache.set('k', 'v2');
    a.cache.invalidateTag('g');
    a.cache.delete('gone');
    a.cache.namespace('ns').clear();
    await sleep(300);
    expect(b.cache.peek('k')).toBe('v1'); // B cannot know yet (no connection): stale only during the outage
    const during = a.cache.stats();
    expect(during.tierErrors).toBeGreaterThan(0);

    // Redis comes back with the data it had (append-only file): the old v1 entries are in it again.
    await server.restart();
    const admin = new Redis(server.url);
    await connected(a, b);
    // Replays (the tier retries failed writes on reconnect) and queued bus messages settle.
    await sleep(1500);
    const c = instance(server);
    await connected(a, c);
    for (const key of ['k', 'tagged', 'gone', 'ns:x']) {
      expect(await read(b.cache, key)).not.toBe('v1');
      expect(await read(a.cache, key)).not.toBe('v1');
      expect(await read(c.cache, key)).not.toBe('v1');
    }
    // In Redis: absent or a tombstone (the tagged entry is left in place, invalidated by its tag's time).
    for (const key of ['k', 'gone', 'ns:x']) {
      const raw = await admin.get(`${prefix}v:${key}`);
      expect(raw === null || !raw.includes('v1')).toBe(true);
    }
    await admin.quit();

    await t.stop();
    expect(t.failures).toEqual([]);
    expect(Math.max(...t.durations)).toBeLessThan(TIMEOUT + SLACK);
    expect(a.errors.length).toBeGreaterThan(0);
    // Still shared afterwards.
    b.cache.set('after', 'yes');
    await waitFor(async () => (await read(a.cache, 'after')) === 'yes');
  });

  it('the tier reloads its read script when Redis lost it (restart, SCRIPT FLUSH)', async () => {
    prefix = uniquePrefix('fault-script');
    const server = await RedisServer.start({ persistent: true });
    servers.push(server);
    const client = new Redis(server.url, { enableOfflineQueue: false, retryStrategy: () => 50 });
    client.on('error', () => {});
    const tier = redisTier(client, { prefix });
    await waitFor(() => client.status === 'ready');
    const now = Date.now();
    const record = {
      value: 'v',
      expires: now + 60_000,
      staleUntil: now + 60_000,
      errorUntil: now + 60_000,
      tags: [],
      createdAt: now,
    };
    await tier.set('k', record);
    expect((await tier.get('k'))?.value).toBe('v');
    await server.kill();
    await server.restart();
    await waitFor(() => client.status === 'ready');
    expect((await tier.get('k'))?.value).toBe('v');
    await client.script('FLUSH');
    expect((await tier.get('k'))?.value).toBe('v');
    await tier.close();
    client.disconnect();
  });

  it('Redis frozen (SIGSTOP): no call waits longer than the command timeout; all resumes after SIGCONT', async () => {
    prefix = uniquePrefix('fault-stop');
    const server = await RedisServer.start();
    servers.push(server);
    const a = instance(server);
    const b = instance(server);
    await connected(a, b);
    server.pause();
    const started = performance.now();
    const results = await Promise.all(
      Array.from({ length: 5 }, async (_, i) => {
        const t0 = performance.now();
        const value = await a.cache.getOrSet(`cold:${i}`, () => `loaded ${i}`);
        return { value, ms: performance.now() - t0 };
      }),
    );
    for (const [i, r] of results.entries()) {
      expect(r.value).toBe(`loaded ${i}`);
      expect(r.ms).toBeLessThan(TIMEOUT + SLACK);
    }
    // The tier was asked and timed out (it did not fail at once: the connection looked alive).
    expect(performance.now() - started).toBeGreaterThanOrEqual(TIMEOUT - 5);
    a.cache.set('w', 1);
    a.cache.delete('w2');
    await sleep(TIMEOUT + 100);
    expect(a.errors.some((e) => (e as LarderRedisError).code === 'timeout')).toBe(true);
    server.resume();
    await connected(a, b);
    b.cache.set('after', 'thaw');
    await waitFor(async () => (await read(a.cache, 'after')) === 'thaw');
  });
});

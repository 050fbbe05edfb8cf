import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { CompatCache } from '../../src/compat/index.js';
import { createCache } from '../../src/redis/index.js';
import { deleteKeys, RedisServer, redisForTests, uniquePrefix, waitFor } from '../helpers/redis-server.js';
import { thrown } from '../helpers/thrown.js';

const url = await redisForTests('larder/compat with REDIS_URL');
const root = fileURLToPath(new URL('../..', import.meta.url));
const run = promisify(execFile);

describe.runIf(url)('CompatCache with REDIS_URL: the Redis tier and bus of createCache', () => {
  let admin: Redis;
  let prefix: string;
  const open: CompatCache[] = [];

  function instance(options: ConstructorParameters<typeof CompatCache>[0] = {}): CompatCache {
    const compat = new CompatCache({ redis: { prefix }, ...options });
    open.push(compat);
    return compat;
  }

  /** Redis's CLIENT LIST: one line per connection, with its name. */
  async function clientList(): Promise<string> {
    return String(await admin.call('CLIENT', 'LIST'));
  }

  /** Both connected and subscribed (the bus's first resync has happened). */
  async function connected(...list: CompatCache[]): Promise<void> {
    await Promise.all(list.map((c) => c.ready));
    await waitFor(() => list.every((c) => c.stats().busMessages >= 1));
  }

  beforeAll(() => {
    admin = new Redis(url as string);
  });
  afterAll(async () => {
    await admin.quit();
  });
  beforeEach(() => {
    prefix = uniquePrefix('compat');
    vi.stubEnv('REDIS_URL', url as string);
  });
  afterEach(async () => {
    vi.unstubAllEnvs();
    for (const compat of open.splice(0)) await compat.close();
    await deleteKeys(admin, prefix);
  });

  it('two instances share values, falsy ones included, and evictions', async () => {
    const a = instance();
    const b = instance();
    expect(a.usesRedis).toBe(true);
    await connected(a, b);
    await a.set('course', { id: 42 }, { title: 'Caching' }, 60);
    await a.set('count', 'zero', 0);
    await a.set('flag', 'off', false);
    await a.set('nothing', 'here', null);
    // set resolves once a's memory holds the value; the four Redis writes land just after.
    await waitFor(async () => (await admin.keys(`${prefix}v:*`)).length >= 4);
    expect(await b.get('course', { id: 42 })).toEqual({ title: 'Caching' });
    expect(await b.get('count', 'zero')).toBe(0);
    expect(await b.get('flag', 'off')).toBe(false);
    expect(await b.get('nothing', 'here')).toBeNull();
    expect(b.stats().tierHits).toBe(4);
    // In Redis, under the prefix.
    expect((await admin.keys(`${prefix}*`)).length).toBeGreaterThanOrEqual(4);

    // b now holds the values in memory too: an evict on a reaches it through the bus and Redis.
    await a.evict('count', 'zero');
    await waitFor(async () => (await b.get('count', 'zero')) === null);
    expect(await a.get('count', 'zero')).toBeNull();
    const fresh = instance();
    await connected(fresh);
    expect(await fresh.get('count', 'zero')).toBeNull();
    expect(await fresh.get('flag', 'off')).toBe(false);
  });

  it('an expirySeconds meant as "forever" (1e300, Number.MAX_VALUE) reaches the other instances', async () => {
    const a = instance();
    const b = instance();
    await connected(a, b);
    await a.set('course', { id: 1 }, 'old', 60);
    await waitFor(async () => (await b.get('course', { id: 1 })) === 'old');
    await a.set('course', { id: 1 }, 'new', 1e300);
    await a.set('course', { id: 2 }, 'max', Number.MAX_VALUE);
    // The bus removed b's copy; Redis has the new value (without expiry), not the old one.
    await waitFor(async () => (await b.get('course', { id: 1 })) === 'new');
    expect(await b.get('course', { id: 2 })).toBe('max');
    expect(await admin.pttl(`${prefix}v:course:{"id":1}`)).toBe(-1);
    expect(a.stats().tierErrors).toBe(0);
  });

  it('options.redisUrl works without the environment variable, and an empty one forces memory only', async () => {
    vi.stubEnv('REDIS_URL', '');
    const a = instance({ redisUrl: url });
    const b = instance({ redisUrl: url });
    const memory = instance({ redisUrl: '' });
    vi.stubEnv('REDIS_URL', url as string);
    const forced = instance({ redisUrl: '' });
    expect([a.usesRedis, b.usesRedis, memory.usesRedis, forced.usesRedis]).toEqual([
      true,
      true,
      false,
      false,
    ]);
    await connected(a, b);
    await a.set('t', 1, 'shared');
    // set resolves once a's memory holds the value; its Redis write lands just after.
    await waitFor(async () => (await b.get('t', 1)) === 'shared');
    expect(await memory.get('t', 1)).toBeNull();
    expect(await forced.get('t', 1)).toBeNull();
    await forced.set('t', 2, 'local');
    expect(await b.get('t', 2)).toBeNull();
  });

  it('the cache is the one createCache makes; ready settles, and methods called before it wait for it', async () => {
    const a = instance();
    // Called at once after the constructor, before larder/redis is even loaded.
    const pending = a.set('early', 1, 'v');
    expect(() => a.cache).toThrow(/await compat\.ready/);
    await pending;
    await a.ready;
    expect(await a.get('early', 1)).toBe('v');
    expect(a.cache.get('early:1')).toBe('v');
    // The source's createCache (vitest resolves larder/redis through the tsconfig paths), not a dist copy.
    const { Cache } = await import('../../src/index.js');
    expect(a.cache).toBeInstanceOf(Cache);
  });

  it('close() releases the connections', async () => {
    const name = `compat-close-${process.pid}-${Date.now()}`;
    const a = instance({ redis: { prefix, client: { connectionName: name } } });
    await connected(a);
    const mine = async () =>
      clientList()
        .then((list) => list.split('\n'))
        .then((lines) => lines.filter((l) => l.includes(name)));
    expect((await mine()).length).toBe(2); // the client and the bus's subscriber
    await a.close();
    await waitFor(async () => (await mine()).length === 0);
  });

  it('close() right after the constructor closes the cache made afterwards', async () => {
    const name = `compat-early-close-${process.pid}-${Date.now()}`;
    const a = new CompatCache({ redis: { prefix, client: { connectionName: name } } });
    await a.close();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await clientList()).includes(name)).toBe(false);
  });

  it('get never returns a value past its expirySeconds, whatever the stale windows', async () => {
    const a = instance({ staleWhileRevalidate: '1m', staleIfError: '1m' });
    const b = instance({ staleWhileRevalidate: '1m' });
    await connected(a, b);
    await a.set('course', { id: 7 }, 'old', 1);
    const setAt = Date.now();
    // b reads it from Redis (once the write has landed) and holds it in memory too, with its stale windows.
    await waitFor(async () => (await b.get('course', { id: 7 })) === 'old');
    expect(Date.now() - setAt).toBeLessThan(900);
    await new Promise((resolve) => setTimeout(resolve, setAt + 1150 - Date.now()));
    const fresh = instance({ staleWhileRevalidate: '1m' });
    await connected(fresh);
    for (const compat of [a, b, fresh]) {
      expect(await compat.get('course', { id: 7 })).toBeNull();
      // Once more: the background refresh getOrSet started from Redis (which has nothing fresher) changes nothing.
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(await compat.get('course', { id: 7 })).toBeNull();
    }
    // A new value is served as ever, by the writer and (from Redis) by the others.
    await a.set('course', { id: 7 }, 'new', 60);
    expect(await a.get('course', { id: 7 })).toBe('new');
    await waitFor(async () => (await b.get('course', { id: 7 })) === 'new');
    await waitFor(async () => (await fresh.get('course', { id: 7 })) === 'new');
  });

  it('a slow Redis makes get resolve null (a miss), never reject, whatever the cache timeout', async () => {
    const server = await RedisServer.start();
    try {
      // The cache-wide timeout (for loaders) is shorter than redis.timeout (250 ms by default).
      const a = instance({ redisUrl: server.url, timeout: '50ms' });
      await connected(a);
      await a.set('t', 1, 'in memory', 60);
      server.pause();
      const started = Date.now();
      await expect(a.get('t', 2)).resolves.toBeNull();
      expect(Date.now() - started).toBeLessThan(2000);
      expect(await a.get('t', 1)).toBe('in memory');
    } finally {
      await server.stop();
    }
  });

  it('the constructor refuses a redis block or a URL exactly when createCache does, with its message', () => {
    const redisBlocks: unknown[] = [
      { timeout: '30d' },
      { timeout: 2_147_483_647 },
      { reconnectDelay: '30d' },
      { reconnectDelay: '1s' },
      { tombstoneTtl: 1e300 },
      { tombstoneTtl: Number.MAX_SAFE_INTEGER },
      { tombstoneTtl: 0 },
      { client: { keyPrefix: 'app:' } },
      { client: { keyPrefix: '' } },
      { client: [] },
      { client: null },
      { client: { username: 'u' } },
      { prefix: 'app\uD800:' },
      { prefix: '' },
      { prefix: 'app:' },
      { serializer: { serialize: String } },
      { cluster: 1 },
      { prefx: 'app:' },
    ];
    /** The error's class and message without the caller's name, or 'ok'. */
    const outcome = (fn: () => unknown): string => {
      try {
        const made = fn() as { close?: () => unknown } | CompatCache;
        if (made instanceof CompatCache) void made.close();
        else void made.close?.();
        return 'ok';
      } catch (error) {
        const message = (error as Error).message.replace(
          /^(createCache: |new CompatCache\(options\): (redis: )?)/,
          '',
        );
        return `${(error as Error).name}: ${message}`;
      }
    };
    for (const redis of redisBlocks) {
      const expected = outcome(() => createCache({ max: 10, redis: redis as never }));
      expect(
        outcome(() => new CompatCache({ redisUrl: '', redis: redis as never })),
        JSON.stringify(redis),
      ).toBe(expected);
    }
    // URLs it cannot open: createCache throws before opening anything, and so does the constructor (a TypeError).
    for (const redisUrl of [
      'localhost:6379',
      'http://127.0.0.1:6379',
      'redis://127.0.0.1:abc',
      'redis://:p%zz@h:1',
    ]) {
      expect(() => createCache({ redisUrl }), redisUrl).toThrow();
      expect(
        thrown(() => new CompatCache({ redisUrl })),
        redisUrl,
      ).toBeInstanceOf(TypeError);
    }
  });

  it('a typo in the redis block throws at once, before anything is loaded or opened', () => {
    expect(() => instance({ redis: { prefx: 'x' } as never })).toThrow(/unknown option redis\.prefx/);
  });

  it('a bring-your-own tier or bus is not combined with redisUrl', () => {
    const tier = {
      get: async () => undefined,
      set: async () => {},
      delete: async () => {},
      invalidateTags: async () => {},
      clear: async () => {},
      close: async () => {},
    };
    expect(() => new CompatCache({ redisUrl: url, tier })).toThrow(/redisUrl cannot be combined with tier/);
    // From the environment, an explicit tier wins: REDIS_URL is not read.
    expect(new CompatCache({ tier }).usesRedis).toBe(false);
  });
});

describe.runIf(url)('larder/compat from dist: ioredis is loaded only with a Redis URL', () => {
  const script = `
    import { createRequire } from 'node:module';
    const { CompatCache } = await import(process.argv[1]);
    const loaded = () => Object.keys(createRequire(import.meta.url).cache).some((p) => /[\\\\/]node_modules[\\\\/]ioredis[\\\\/]/.test(p));
    const compat = new CompatCache({ redis: { prefix: process.argv[2] } });
    await compat.ready;
    await compat.set('t', 1, 0);
    const value = await compat.get('t', 1);
    await compat.close();
    console.log(JSON.stringify({ usesRedis: compat.usesRedis, value, ioredis: loaded() }));
  `;
  const cjsScript = `
    const { CompatCache } = require(process.argv[1]);
    const loaded = () => Object.keys(require.cache).some((p) => /[\\\\/]node_modules[\\\\/]ioredis[\\\\/]/.test(p));
    (async () => {
      const compat = new CompatCache({ redis: { prefix: process.argv[2] } });
      await compat.ready;
      await compat.set('t', 1, 0);
      const value = await compat.get('t', 1);
      await compat.close();
      console.log(JSON.stringify({ usesRedis: compat.usesRedis, value, ioredis: loaded() }));
    })();
  `;

  async function child(format: 'esm' | 'cjs', redisUrl: string) {
    const entry = `${root}dist/compat/index.${format === 'esm' ? 'js' : 'cjs'}`;
    if (!existsSync(entry))
      throw new Error('this test imports larder/compat from dist/: run `npm run build` first');
    const args =
      format === 'esm'
        ? ['--input-type=module', '-e', script, entry, uniquePrefix('compat-child')]
        : ['-e', cjsScript, entry, uniquePrefix('compat-child')];
    const { stdout } = await run(process.execPath, args, {
      cwd: root,
      env: { ...process.env, REDIS_URL: redisUrl },
      timeout: 15_000,
    });
    return JSON.parse(stdout.trim().split('\n').pop() as string);
  }

  for (const format of ['esm', 'cjs'] as const) {
    it(`${format}: without REDIS_URL nothing loads ioredis; with it, ioredis is loaded`, async () => {
      expect(await child(format, '')).toEqual({ usesRedis: false, value: 0, ioredis: false });
      expect(await child(format, url as string)).toEqual({ usesRedis: true, value: 0, ioredis: true });
    });
  }
});

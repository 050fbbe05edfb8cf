import { afterEach, describe, expect, it, vi } from 'vitest';
import { CompatCache } from '../../src/compat/index.js';

// What an app without the optional peer gets when REDIS_URL is set: larder/redis cannot load ioredis.
vi.mock('larder/redis', () => {
  throw new Error("Cannot find package 'ioredis' imported from larder/dist/redis/index.js");
});

describe('CompatCache with a Redis URL but without ioredis', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('ready and every call reject with an error that says what to install, or how to stay in memory', async () => {
    vi.stubEnv('REDIS_URL', 'redis://127.0.0.1:6379');
    const compat = new CompatCache();
    expect(compat.usesRedis).toBe(true);
    const message =
      /^CompatCache: a Redis URL is set .*npm install ioredis.*loading them failed: .+REDIS_URL=''/;
    const error = await compat.ready.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((error as Error).cause).toBeInstanceOf(Error); // the loader's own error
    await expect(compat.ready).rejects.toThrow(message);
    await expect(compat.get('t', 1)).rejects.toThrow(message);
    await expect(compat.set('t', 1, 'v')).rejects.toThrow(message);
    await expect(compat.evict('t', 1)).rejects.toThrow(message);
    expect(() => compat.cache).toThrow(/not ready/);
    expect(compat.stats()).toMatchObject({ hits: 0, misses: 0, size: 0 });
    await expect(compat.close()).resolves.toBeUndefined();
  });

  it('an empty REDIS_URL (or redisUrl) never tries to load it', async () => {
    vi.stubEnv('REDIS_URL', 'redis://127.0.0.1:6379');
    const compat = new CompatCache({ redisUrl: '' });
    await compat.set('t', 1, 0);
    expect(await compat.get('t', 1)).toBe(0);
    vi.stubEnv('REDIS_URL', '');
    const fromEnv = new CompatCache();
    await fromEnv.set('t', 1, false);
    expect(await fromEnv.get('t', 1)).toBe(false);
  });
});

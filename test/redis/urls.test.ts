/**
 * The URLs createCache opens connections from: `redis://` / `rediss://` only, in any case (RFC 3986 schemes are
 * case-insensitive), `rediss://` always with TLS, IPv6 hosts without their brackets.
 */
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { parseClusterUrls } from '../../src/redis/cluster.js';
import { createCache } from '../../src/redis/index.js';
import { parseRedisUrl } from '../../src/redis/url.js';
import { deleteKeys, redisForTests, uniquePrefix, waitFor } from '../helpers/redis-server.js';
import { thrown } from '../helpers/thrown.js';

describe('redis URL checks (no Redis needed)', () => {
  it('reads the scheme in any case; rediss:// in any case means TLS, and is handed to ioredis in lower case', () => {
    for (const [text, tls, out] of [
      ['redis://h:1', false, 'redis://h:1'],
      ['REDIS://h:1/2', false, 'redis://h:1/2'],
      ['rediss://h:1', true, 'rediss://h:1'],
      ['REDISS://u:p@h:1', true, 'rediss://u:p@h:1'],
      [' ReDiSs://h ', true, 'rediss://h'],
    ] as const) {
      const parsed = parseRedisUrl(text, 'x');
      expect({ tls: parsed.tls, text: parsed.text }).toEqual({ tls, text: out });
    }
  });

  it('strips the brackets of an IPv6 host (standalone and cluster URLs)', () => {
    expect(parseRedisUrl('redis://[::1]:6379', 'x').host).toBe('::1');
    const { nodes } = parseClusterUrls('redis://[::1]:6379, rediss://[fe80::2]', 'x');
    expect(nodes).toEqual([
      { host: '::1', port: 6379 },
      { host: 'fe80::2', port: 6379 },
    ]);
    expect(parseClusterUrls('redis://10.0.0.1:7000', 'x').nodes).toEqual([{ host: '10.0.0.1', port: 7000 }]);
  });

  it('createCache refuses a URL that is not redis:// or rediss://, naming redisUrl and masking credentials', () => {
    for (const redisUrl of [
      'http://127.0.0.1:6379',
      'https://u:secret@127.0.0.1:6379',
      '127.0.0.1:6379',
      'localhost:6379',
      '/tmp/redis.sock',
      'redis:127.0.0.1',
      'not a url',
    ]) {
      const error = thrown(() => createCache({ redisUrl, max: 10 }));
      expect(error, redisUrl).toBeInstanceOf(TypeError);
      expect(error.message).toMatch(/^createCache: redisUrl must be a redis:\/\/ or rediss:\/\/ URL/);
      expect(error.message).not.toMatch(/secret/);
    }
    const error = thrown(() =>
      createCache({ redisUrl: 'http://u:secret@x', max: 10, redis: { cluster: true } }),
    );
    expect(error.message).toMatch(/createCache: redisUrl must be redis/);
    expect(error.message).not.toMatch(/secret/);
  });
});

const url = await redisForTests('larder/redis URL tests');

// A plain-TCP Redis (the CI's): a TLS client cannot talk to it.
describe.runIf(url?.startsWith('redis://') === true)(
  'createCache URL schemes against the shared (plain TCP) Redis',
  () => {
    const admin = new Redis(url as string);
    const prefix = uniquePrefix('urls');
    afterEach(async () => {
      await deleteKeys(admin, prefix);
    });
    afterAll(() => admin.disconnect());

    /** Whether a set through a cache made from `redisUrl` reaches Redis within `within` ms. */
    async function writes(redisUrl: string, name: string, within: number): Promise<boolean> {
      const cache = createCache<string, number>({
        redisUrl,
        max: 10,
        redis: { prefix: `${prefix}${name}:` },
      });
      cache.on('error', () => {});
      const stored = waitFor(
        async () => {
          cache.set('k', 1);
          return (await admin.keys(`${prefix}${name}:*`)).length > 0;
        },
        within,
        50,
      ).then(
        () => true,
        () => false,
      );
      const result = await stored;
      await cache.close();
      return result;
    }

    it('REDIS:// (upper case) connects as redis:// does', async () => {
      expect(await writes((url as string).replace(/^redis:/, 'REDIS:'), 'upper', 5000)).toBe(true);
    });

    it('REDISS:// (upper case) uses TLS: the plain-TCP Redis never gets a write (nor any password in clear)', async () => {
      expect(await writes((url as string).replace(/^redis:/, 'REDISS:'), 'tls', 1500)).toBe(false);
    });
  },
);

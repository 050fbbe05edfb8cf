/**
 * The URLs createCache opens connections from: `redis://` / `rediss://` only, in any case (RFC 3986 schemes are
 * case-insensitive), `rediss://` always with TLS, IPv6 hosts without their brackets.
 */
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { parseClusterUrls } from '../../src/redis/cluster.js';
import { createCache } from '../../src/redis/index.js';
import { parseRedisUrl, redactUrl } from '../../src/redis/url.js';
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

describe('credentials never reach an error message', () => {
  /**
   * Passwords as they come: base64 (with `/` and `+`), any unicode, and the characters that end a URL's parts
   * (`/ ? # @ %`...). Each is framed by `§` and `¶`, which no message holds otherwise: any piece of a password that
   * reaches a message brings one of them along, however JSON escapes the rest.
   */
  const password = fc
    .oneof(
      fc.base64String({ minLength: 4, maxLength: 40 }),
      fc.string({ maxLength: 20, unit: 'grapheme' }),
      fc.string({ maxLength: 20, unit: 'binary' }),
      fc.string({
        maxLength: 20,
        unit: fc.constantFrom(
          '/',
          '?',
          '#',
          '@',
          '%',
          ':',
          ',',
          ' ',
          '\\',
          '"',
          '[',
          ']',
          'a',
          'Z',
          '9',
          '+',
          '=',
          'é',
          '🔑',
        ),
      }),
    )
    .map((p) => `§${p}¶`);
  const scheme = fc.constantFrom('redis', 'REDIS', 'rediss', 'ReDiSs', 'http', 'https', 'unix');
  const user = fc.constantFrom('', 'default', 'app', 'u%40x');
  /** Good and bad authorities: a URL with a password in it is refused for its password, or for something else. */
  const host = fc.constantFrom('127.0.0.1:1', '127.0.0.1:6379x', 'cache:99999', '[::1', 'cache');
  const path = fc.constantFrom('', '/0', '/2?x=1', '#frag');
  /** A URL holding the password: in its credentials, or in the query (ioredis reads `?password=`). */
  const urlWith = fc.oneof(
    fc
      .tuple(scheme, user, password, host, path)
      .map(([s, u, pw, h, p]) => ({ text: `${s}://${u}:${pw}@${h}${p}`, pw })),
    fc.tuple(scheme, password, host).map(([s, pw, h]) => ({ text: `${s}://${h}/?password=${pw}&db=1`, pw })),
  );
  /** The message of what `run` throws, or undefined when it does not throw. */
  function messageOf(run: () => unknown): string | undefined {
    try {
      run();
    } catch (error) {
      return (error as Error).message;
    }
    return undefined;
  }
  function expectNoPassword(message: string | undefined, pw: string): void {
    if (message === undefined) return;
    expect(message).not.toContain(pw);
    expect(message).not.toContain(JSON.stringify(pw).slice(1, -1));
    expect(message).not.toMatch(/[§¶]/);
  }

  it('redactUrl masks everything from the scheme to the last "@", and the query (examples)', () => {
    for (const [text, shown] of [
      ['redis://:Zm9v/YmFyc2VjcmV0@127.0.0.1:6379', 'redis://***@127.0.0.1:6379'],
      ['redis://default:hunter#2@127.0.0.1:6379', 'redis://***@127.0.0.1:6379'],
      ['redis://user:pa/ss@host', 'redis://***@host'],
      ['redis://:p#w@host', 'redis://***@host'],
      ['REDIS://u:p@ss@h/0', 'REDIS://***@h/0'],
      ['redis://:a,b@h1,redis://:c@h2', 'redis://***@h2'],
      ['redis://u:p@h:1/0?password=s3cret#x', 'redis://***@h:1/0?***'],
      ['redis://h:99999/?password=s3cret', 'redis://h:99999/?***'],
      // A "?" before the last "@" (in the password, or an "@" in the query): only the scheme is left.
      ['redis://:p?w@h', 'redis://***'],
      ['redis://h:1/?password=a@b', 'redis://***'],
      // No scheme: nothing before the "@" is shown (`u:` is not a scheme followed by `//`).
      ['u:ab//cd@host', '***@host'],
      ['user:pw@host:6379', '***@host:6379'],
      ['redis:/:pw@host', '***@host'],
      // Nothing to mask.
      ['redis://127.0.0.1:6379/2', 'redis://127.0.0.1:6379/2'],
      ['not a url', 'not a url'],
    ] as const) {
      expect(redactUrl(text), text).toBe(JSON.stringify(shown));
    }
  });

  it("parseRedisUrl and parseClusterUrls: whatever the password, a refused URL's message holds none of it (property)", () => {
    fc.assert(
      fc.property(urlWith, ({ text, pw }) => {
        expectNoPassword(
          messageOf(() => parseRedisUrl(text, 'createCache: redisUrl')),
          pw,
        );
        expectNoPassword(
          messageOf(() => parseClusterUrls(text, 'createCache: redisUrl')),
          pw,
        );
        // Several URLs, the password in the first one.
        expectNoPassword(
          messageOf(() => parseClusterUrls(`${text},redis://b:6379`, 'createCache: redisUrl')),
          pw,
        );
      }),
      { numRuns: 3000 },
    );
  });

  it('createCache (standalone and cluster): whatever the password, its error holds none of it (property)', () => {
    let refused = 0;
    fc.assert(
      fc.property(urlWith, fc.boolean(), ({ text, pw }, cluster) => {
        let cache: ReturnType<typeof createCache> | undefined;
        // A URL that is accepted only ever fails to connect (port 1, or a host that does not resolve).
        const message = messageOf(() => {
          cache = createCache({ redisUrl: text, max: 10, redis: { cluster } });
        });
        if (cache !== undefined) {
          cache.on('error', () => {});
          void cache.close();
        } else {
          refused++;
        }
        expectNoPassword(message, pw);
      }),
      { numRuns: 300 },
    );
    expect(refused).toBeGreaterThan(100);
  });

  it('the scratch cases: "/" and "#" in a password, refused by createCache without showing it', () => {
    for (const [redisUrl, pw] of [
      ['redis://:Zm9v/YmFyc2VjcmV0@127.0.0.1:6379', 'Zm9v/YmFyc2VjcmV0'],
      ['redis://default:hunter#2@127.0.0.1:6379', 'hunter#2'],
      ['redis://:p%zz@127.0.0.1:6379', 'p%zz'],
    ]) {
      const error = thrown(() => createCache({ redisUrl, max: 10 }));
      expect(error, redisUrl).toBeInstanceOf(TypeError);
      expect(error.message).toMatch(/^createCache: redisUrl must be a redis:\/\/ or rediss:\/\/ URL/);
      expect(error.message).toContain('"redis://***@127.0.0.1:6379"');
      expect(error.message).not.toContain(pw);
    }
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

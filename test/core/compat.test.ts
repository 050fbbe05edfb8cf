import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CompatCache, DEFAULT_COMPAT_MAX } from '../../src/compat/index.js';
import { Cache } from '../../src/index.js';
import { thrown } from '../helpers/thrown.js';
import { bad, expectBadCall, expectBadInput } from './helpers.js';

describe('larder/compat CompatCache', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    // Memory-only here whatever the shell says (test/redis/compat.test.ts covers REDIS_URL).
    vi.stubEnv('REDIS_URL', '');
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.unstubAllEnvs();
  });

  it('get resolves to the stored value, or null on a miss', async () => {
    const cache = new CompatCache();
    const course = { id: 42, title: 'Caching' };
    await cache.set('course', { id: 42 }, course, 60);
    expect(await cache.get('course', { id: 42 })).toBe(course);
    expect(await cache.get('course', { id: 43 })).toBeNull();
    expect(await cache.get('other', { id: 42 })).toBeNull();
  });

  it('every method is async (returns a promise)', () => {
    const cache = new CompatCache();
    const s = cache.set('t', [1], 'v');
    const g = cache.get('t', [1]);
    const e = cache.evict('t', [1]);
    expect(s).toBeInstanceOf(Promise);
    expect(g).toBeInstanceOf(Promise);
    expect(e).toBeInstanceOf(Promise);
    return Promise.all([s, g, e]);
  });

  it('stores falsy values (0, empty string, false) and returns them as themselves', async () => {
    const cache = new CompatCache();
    await cache.set('n', 'zero', 0);
    await cache.set('n', 'empty', '');
    await cache.set('n', 'false', false);
    expect(await cache.get('n', 'zero')).toBe(0);
    expect(await cache.get('n', 'empty')).toBe('');
    expect(await cache.get('n', 'false')).toBe(false);
  });

  it('the argument object’s key order does not matter', async () => {
    const cache = new CompatCache();
    await cache.set('q', { a: 1, b: 2 }, 'v');
    expect(await cache.get('q', { b: 2, a: 1 })).toBe('v');
  });

  it('type and args never collide', async () => {
    const cache = new CompatCache();
    await cache.set('a', '1', 'string arg');
    await cache.set('a', 1, 'number arg');
    await cache.set('a1', undefined, 'no arg');
    expect(await cache.get('a', '1')).toBe('string arg');
    expect(await cache.get('a', 1)).toBe('number arg');
    expect(await cache.get('a1', undefined)).toBe('no arg');
    expect(await cache.get('a1')).toBe('no arg');
  });

  it('expirySeconds expires the value', async () => {
    const cache = new CompatCache();
    await cache.set('t', 1, 'v', 60);
    vi.advanceTimersByTime(59_999);
    expect(await cache.get('t', 1)).toBe('v');
    vi.advanceTimersByTime(2);
    expect(await cache.get('t', 1)).toBeNull();
  });

  it('without expirySeconds the value does not expire', async () => {
    const cache = new CompatCache();
    await cache.set('t', 1, 'v');
    vi.advanceTimersByTime(30 * 86_400_000);
    expect(await cache.get('t', 1)).toBe('v');
  });

  it('evict removes the value', async () => {
    const cache = new CompatCache();
    await cache.set('t', { id: 1 }, 'v');
    await cache.set('t', { id: 2 }, 'w');
    await cache.evict('t', { id: 1 });
    expect(await cache.get('t', { id: 1 })).toBeNull();
    expect(await cache.get('t', { id: 2 })).toBe('w');
    await expect(cache.evict('t', { id: 99 })).resolves.toBeUndefined();
  });

  it('set again replaces the value', async () => {
    const cache = new CompatCache();
    await cache.set('t', 1, 'a');
    await cache.set('t', 1, 'b');
    expect(await cache.get('t', 1)).toBe('b');
  });

  it('is bounded by a sensible default max', async () => {
    const cache = new CompatCache();
    expect(cache.cache).toBeInstanceOf(Cache);
    expect(DEFAULT_COMPAT_MAX).toBeGreaterThanOrEqual(100);
    expect(DEFAULT_COMPAT_MAX).toBeLessThanOrEqual(1_000_000);
    for (let i = 0; i < DEFAULT_COMPAT_MAX + 500; i++) await cache.set('t', i, i);
    expect(cache.cache.size).toBeLessThanOrEqual(DEFAULT_COMPAT_MAX);
    expect(cache.cache.size).toBeGreaterThan(0);
  });

  it('accepts cache options (a custom max)', async () => {
    const cache = new CompatCache({ max: 3 });
    for (let i = 0; i < 10; i++) await cache.set('t', i, i);
    expect(cache.cache.size).toBeLessThanOrEqual(3);
  });

  it('bad input rejects with a TypeError/RangeError naming it', async () => {
    const cache = new CompatCache();
    await expectBadCall(() => cache.set('t', 1, bad(undefined)), /value|undefined/);
    await expectBadCall(() => cache.set('t', 1, 'v', -1), /expirySeconds/);
    await expectBadCall(() => cache.set('t', 1, 'v', Number.NaN), /expirySeconds/);
    await expectBadCall(() => cache.set('t', 1, 'v', bad('60')), /expirySeconds/);
    await expectBadCall(() => cache.set('t', () => 1, 'v'), /.+/);
    expect(cache.cache.size).toBe(0);
  });

  it('exposes stats of the underlying cache', async () => {
    const cache = new CompatCache();
    await cache.set('t', 1, 'v');
    await cache.get('t', 1);
    await cache.get('t', 2);
    expect(cache.stats()).toMatchObject({ hits: 1, misses: 1, size: 1 });
  });

  it('refuses options that are not an object (null included) with a TypeError naming them', () => {
    for (const options of [null, 'max', 5, [], () => {}]) {
      expectBadInput(
        () => new CompatCache(bad(options)),
        /new CompatCache\(options\): options must be an object/,
      );
    }
    expectBadInput(() => new CompatCache({ redisUrl: bad(5) }), /redisUrl must be a string/);
    expectBadInput(() => new CompatCache({ redis: bad(null) }), /redis must be an object/);
  });

  it('checks the redis block without a Redis URL too, so a typo fails before production', () => {
    const cases: [unknown, RegExp][] = [
      [{ prefx: 'app:' }, /unknown option redis\.prefx/],
      [{ prefix: '' }, /redis\.prefix must be a non-empty, well-formed string/],
      [{ prefix: 5 }, /redis\.prefix/],
      [{ timeout: -1 }, /redis\.timeout/],
      [{ tombstoneTtl: 'soon' }, /redis\.tombstoneTtl/],
      [{ reconnectDelay: Number.NaN }, /redis\.reconnectDelay/],
      [{ serializer: {} }, /redis\.serializer/],
      [{ client: 'tls' }, /redis\.client/],
      [{ cluster: 'yes' }, /redis\.cluster must be a boolean/],
    ];
    for (const [redis, message] of cases) {
      expectBadInput(() => new CompatCache({ redis: bad(redis) }), message);
      expectBadInput(() => new CompatCache({ redisUrl: '', redis: bad(redis) }), message);
    }
    const ok = new CompatCache({
      redis: { prefix: 'app:', timeout: '100ms', client: { username: 'u' }, cluster: true },
    });
    expect(ok.usesRedis).toBe(false);
    expectBadInput(() => new CompatCache({ max: -1 }), /max/);
    expect(new CompatCache(undefined).usesRedis).toBe(false);
  });

  it('without REDIS_URL it is memory-only, usable at once', async () => {
    const cache = new CompatCache();
    expect(cache.usesRedis).toBe(false);
    expect(cache.cache).toBeInstanceOf(Cache);
    await expect(cache.ready).resolves.toBeUndefined();
    await cache.close();
  });

  it('an args value without a stable key names the compat call and args, not wrap', async () => {
    class ObjectId {
      constructor(readonly id: string) {}
    }
    const cache = new CompatCache();
    const oid = new ObjectId('64b7f0c2a1');
    const cases: [() => Promise<unknown>, RegExp][] = [
      [() => cache.get('course', oid), /^CompatCache\.get: args is an instance of ObjectId/],
      [() => cache.set('course', Buffer.from('ab'), 1), /^CompatCache\.set: args is an instance of Buffer/],
      [() => cache.evict('course', { id: oid }), /^CompatCache\.evict: args\.id is an instance of ObjectId/],
      [() => cache.get('course', [1, () => 2]), /^CompatCache\.get: args\[1\] is a function/],
    ];
    for (const [call, message] of cases) {
      await expectBadCall(call, message);
      await call().catch((error: Error) => expect(error.message).not.toMatch(/wrap|argument 0/));
    }
    await expectBadCall(() => cache.get(bad(''), 1), /^CompatCache\.get: type must be a non-empty string/);
  });
  it('refuses in the redis block what createCache refuses, with or without a Redis URL', () => {
    // Each of these made every call reject in production (createCache refused it once REDIS_URL was set) but
    // passed the constructor on a laptop. test/redis/compat.test.ts checks that createCache refuses the same.
    const cases: [unknown, RegExp][] = [
      [{ timeout: '30d' }, /^new CompatCache\(options\): redis\.timeout must be at most 2147483647 ms/],
      [{ reconnectDelay: '30d' }, /^new CompatCache\(options\): redis\.reconnectDelay must be at most/],
      [{ tombstoneTtl: 1e300 }, /^new CompatCache\(options\): redis\.tombstoneTtl must be at most/],
      [
        { client: { keyPrefix: 'app:' } },
        /^new CompatCache\(options\): redis\.client\.keyPrefix is not supported/,
      ],
      [
        { client: [] },
        /^new CompatCache\(options\): redis\.client must be an object of ioredis options; got an array/,
      ],
      [{ client: null }, /^new CompatCache\(options\): redis\.client must be an object/],
      [
        { prefix: 'app\uD800:' },
        /^new CompatCache\(options\): redis\.prefix must be a non-empty, well-formed string/,
      ],
    ];
    for (const [redis, message] of cases) {
      expectBadInput(() => new CompatCache({ redis: bad(redis) }), message);
      expectBadInput(() => new CompatCache({ redisUrl: '', redis: bad(redis) }), message);
    }
    // The longest values createCache accepts pass here too.
    const longest = new CompatCache({
      redis: { timeout: 2_147_483_647, reconnectDelay: 2_147_483_647, tombstoneTtl: Number.MAX_SAFE_INTEGER },
    });
    expect(longest.usesRedis).toBe(false);
  });

  it('a Redis URL createCache cannot open throws a TypeError in the constructor, naming it, credentials masked', () => {
    const option = /^new CompatCache\(options\): redisUrl must be a redis:\/\/ or rediss:\/\/ URL/;
    for (const redisUrl of [
      'localhost:6379',
      '127.0.0.1',
      'http://127.0.0.1:6379',
      'redis://127.0.0.1:abc',
      'redis ://x',
    ]) {
      expectBadInput(() => new CompatCache({ redisUrl }), option);
    }
    // REDIS_URL is named as such.
    vi.stubEnv('REDIS_URL', 'localhost:6379');
    expectBadInput(
      () => new CompatCache(),
      /^new CompatCache\(options\): process\.env\.REDIS_URL must be a redis:\/\/ or rediss:\/\/ URL; got "localhost:6379"/,
    );
    // A malformed percent-escape in the password: a TypeError here, not a bare URIError from ioredis in every call.
    vi.stubEnv('REDIS_URL', 'redis://:s3cr%zz@127.0.0.1:6379');
    const error = thrown(() => new CompatCache());
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toMatch(/^new CompatCache\(options\): process\.env\.REDIS_URL .*%25/);
    expect(error.message).not.toContain('s3cr');
    // With cluster: every URL of the list is checked.
    expectBadInput(
      () => new CompatCache({ redisUrl: 'redis://a:7000, b:7001', redis: { cluster: true } }),
      /^new CompatCache\(options\): redisUrl must be redis:\/\/ or rediss:\/\/ URLs separated by commas/,
    );
    expectBadInput(
      () => new CompatCache({ redisUrl: ' , ', redis: { cluster: true } }),
      /redisUrl must be redis:\/\/ or rediss:\/\/ URLs separated by commas/,
    );
    // A password holding a comma is split between two pieces of the list: the message masks the list as one.
    for (const redisUrl of ['redis://:se,cret@h1:7000,redis://h2:7001', 'redis://:s/e,c%zz@h1:7000']) {
      const refused = thrown(() => new CompatCache({ redisUrl, redis: { cluster: true } }));
      expect(refused).toBeInstanceOf(TypeError);
      expect(refused.message).toContain('redis://***@h1:7000');
      expect(refused.message).not.toMatch(/:se|:s\/e|cret|c%zz/);
    }
  });

  it('a type without a JSON form (a bigint, a cyclic object) is refused with a TypeError naming type', async () => {
    const cache = new CompatCache();
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    await expectBadCall(
      () => cache.get(bad(10n), 1),
      /^CompatCache\.get: type must be a non-empty string; got 10n$/,
    );
    await expectBadCall(
      () => cache.evict(bad(cyclic), 1),
      /^CompatCache\.evict: type must be a non-empty string; got an object$/,
    );
    await expectBadCall(
      () => cache.set(bad(Symbol('t')), 1, 'v'),
      /^CompatCache\.set: type must be a non-empty string; got Symbol\(t\)$/,
    );
  });

  it('expirySeconds applies to a null value too, whatever the cache’s nullTtl', async () => {
    const cache = new CompatCache({ nullTtl: '5s' });
    await cache.set('course', { id: 1 }, null, 3600);
    await cache.set('course', { id: 2 }, null);
    vi.advanceTimersByTime(10_000);
    // A stored null is a hit, for the hour asked for: a miss would send the caller to the database again.
    expect(cache.cache.has('course:{"id":1}')).toBe(true);
    expect(await cache.get('course', { id: 1 })).toBeNull();
    // Without expirySeconds, the cache's nullTtl applies.
    expect(cache.cache.has('course:{"id":2}')).toBe(false);
    vi.advanceTimersByTime(3_590_000);
    expect(cache.cache.has('course:{"id":1}')).toBe(false);
  });

  it('get never returns a value past its expirySeconds, whatever the stale windows', async () => {
    const cache = new CompatCache({ staleWhileRevalidate: '1m', staleIfError: '1h' });
    await cache.set('course', { id: 7 }, 'old', 1);
    vi.advanceTimersByTime(1001);
    expect(await cache.get('course', { id: 7 })).toBeNull();
  });
});

import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { LarderRedisError, type RedisTier, redisTier } from '../../src/redis/index.js';
import type { TierRecord } from '../../src/tier.js';
import { deleteKeys, redisForTests, uniquePrefix, waitFor } from '../helpers/redis-server.js';

const url = await redisForTests('larder/redis tier tests');

interface RecordOptions {
  ttl?: number;
  swr?: number;
  sie?: number;
  tags?: string[];
  createdAt?: number;
}

function rec<V>(value: V, o: RecordOptions = {}): TierRecord<V> {
  const now = Date.now();
  const expires = o.ttl === Number.POSITIVE_INFINITY ? Number.POSITIVE_INFINITY : now + (o.ttl ?? 10_000);
  return {
    value,
    expires,
    staleUntil: expires + (o.swr ?? 0),
    errorUntil: expires + (o.sie ?? 0),
    tags: o.tags ?? [],
    createdAt: o.createdAt ?? now,
  };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe.runIf(url)('redisTier against a real Redis', () => {
  let client: Redis;
  let prefix: string;
  let tier: RedisTier;

  beforeAll(async () => {
    client = new Redis(url as string, { enableOfflineQueue: false, lazyConnect: true });
    await client.connect();
  });
  afterAll(async () => {
    await client.quit();
  });
  beforeEach(() => {
    prefix = uniquePrefix('tier');
    tier = redisTier(client, { prefix });
  });
  afterEach(async () => {
    await tier.close();
    await deleteKeys(client, prefix);
  });

  describe('reads and writes', () => {
    it('round-trips a record: value, times and tags', async () => {
      const record = rec(
        { id: 1, at: new Date(3), ids: new Set([1n]) },
        { ttl: 5000, swr: 1000, sie: 2000, tags: ['a', 'b'] },
      );
      await tier.set('k', record);
      expect(await tier.get('k')).toStrictEqual(record);
      expect(tier.stats()).toMatchObject({ hits: 1, writes: 1, misses: 0, errors: 0 });
    });

    it('misses an absent key', async () => {
      expect(await tier.get('nothing')).toBeUndefined();
      expect(tier.stats().misses).toBe(1);
    });

    it('stores one Redis string per entry that Redis expires at the end of its last window', async () => {
      await tier.set('k', rec(1, { ttl: 2000, swr: 3000, sie: 1000 }));
      const pttl = await client.pttl(`${prefix}v:k`);
      expect(pttl).toBeGreaterThan(4000);
      expect(pttl).toBeLessThanOrEqual(5000);
      expect(await client.type(`${prefix}v:k`)).toBe('string');
      await tier.set('forever', rec(1, { ttl: Number.POSITIVE_INFINITY }));
      expect(await client.pttl(`${prefix}v:forever`)).toBe(-1);
      const back = await tier.get('forever');
      expect(back?.expires).toBe(Number.POSITIVE_INFINITY);
    });

    it('stores a record that lives longer than Redis can expire (a ttl of 1e300 ms) without expiry', async () => {
      // Redis's scripting would pass such a PX on as "1e+17", which SET refuses: the write failed and the value
      // never reached the other instances. Number.MAX_SAFE_INTEGER ms is the longest PX; beyond, no expiry.
      await tier.set('k', rec('old', { createdAt: Date.now() - 1000 }));
      for (const [key, ttl] of [
        ['k', 1e300],
        ['max', Number.MAX_VALUE],
        ['just-beyond', Number.MAX_SAFE_INTEGER + 10_000],
        ['tagged', 1e17],
      ] as const) {
        const record = rec('new', { ttl, tags: key === 'tagged' ? ['t'] : [] });
        await tier.set(key, record);
        expect(await client.pttl(`${prefix}v:${key}`), key).toBe(-1);
        expect(await tier.get(key), key).toStrictEqual(record);
      }
      expect(await client.pttl(`${prefix}t:t`)).toBe(-1);
      // The longest PX Redis takes is still an expiry.
      await tier.set('longest', rec('v', { ttl: Number.MAX_SAFE_INTEGER - 10_000 }));
      expect(await client.pttl(`${prefix}v:longest`)).toBeGreaterThan(Number.MAX_SAFE_INTEGER - 20_000);
      expect(tier.stats()).toMatchObject({ writes: 6, errors: 0 });
    });

    it('returns a record past its TTL while a stale window is open (the cache decides what to do with it)', async () => {
      const now = Date.now();
      const record: TierRecord = {
        value: 'old',
        expires: now - 10,
        staleUntil: now + 5000,
        errorUntil: now - 10,
        tags: [],
        createdAt: now - 100,
      };
      await tier.set('k', record);
      expect((await tier.get('k'))?.value).toBe('old');
    });

    it('does not store a record already past all its windows, and removes what Redis had', async () => {
      await tier.set('k', rec('v1', { createdAt: Date.now() - 1000 }));
      const now = Date.now();
      await tier.set('k', {
        value: 'v2',
        expires: now - 1,
        staleUntil: now - 1,
        errorUntil: now - 1,
        tags: [],
        createdAt: now,
      });
      expect(await tier.get('k')).toBeUndefined();
    });

    it('rejects a value the serializer refuses at set time, and Redis stops serving the previous value', async () => {
      await tier.set('k', rec('v1', { createdAt: Date.now() - 1000 }));
      const error = await rejection(tier.set('k', rec({ fn: () => 1 })));
      expect(error).toBeInstanceOf(TypeError);
      expect((error as Error).message).toMatch(/cannot store a function at \$\.fn/);
      await waitFor(async () => (await tier.get('k')) === undefined);
      expect(() => tier.check({ ok: [1, new Map()] })).not.toThrow();
      expect(() => tier.check({ bad: Symbol('x') })).toThrow(TypeError);
    });

    it('uses a custom serializer', async () => {
      const custom = redisTier(client, {
        prefix,
        serializer: {
          serialize: (v) => `<${JSON.stringify(v)}>`,
          deserialize: (t) => JSON.parse(t.slice(1, -1)),
        },
      });
      await custom.set('k', rec({ a: 1 }));
      expect((await client.get(`${prefix}v:k`))?.endsWith('\n<{"a":1}>')).toBe(true);
      expect((await custom.get('k'))?.value).toEqual({ a: 1 });
      await custom.close();
    });
  });

  describe('reads', () => {
    it('reads an entry written after the latest invalidation with one MGET, older ones through the script', async () => {
      await tier.set('old', rec('o', { tags: ['x'], createdAt: Date.now() - 50 }));
      expect((await tier.get('old'))?.value).toBe('o');
      expect(tier.stats()).toMatchObject({ fastReads: 1, scriptReads: 0 });
      await tier.invalidateTags(['unrelated'], Date.now() - 20);
      expect(await client.get(`${prefix}i`)).not.toBeNull();
      expect(await client.pttl(`${prefix}i`)).toBe(-1);
      expect((await tier.get('old'))?.value).toBe('o');
      expect(tier.stats()).toMatchObject({ fastReads: 1, scriptReads: 1 });
      await tier.set('new', rec('n', { createdAt: Date.now() }));
      expect((await tier.get('new'))?.value).toBe('n');
      expect(await tier.get('absent')).toBeUndefined();
      expect(tier.stats()).toMatchObject({ fastReads: 3, scriptReads: 1 });
      await tier.clear('zz:');
      expect((await tier.get('new'))?.value).toBe('n');
      expect(tier.stats()).toMatchObject({ fastReads: 3, scriptReads: 2 });
    });

    it('goes straight to the script for a while when most reads need it (frequent invalidations)', async () => {
      for (let i = 0; i < 10; i++) await tier.set(`e${i}`, rec(i, { createdAt: Date.now() - 50 }));
      await tier.invalidateTags(['frequent'], Date.now() - 10);
      for (let i = 0; i < 256; i++) expect((await tier.get(`e${i % 10}`))?.value).toBe(i % 10);
      expect(tier.stats()).toMatchObject({ fastReads: 0, scriptReads: 256 });
      await tier.set('fresh', rec('f', { createdAt: Date.now() }));
      expect((await tier.get('fresh'))?.value).toBe('f');
      expect(tier.stats()).toMatchObject({ fastReads: 0, scriptReads: 257 });
    });

    it('a cache that never invalidates still reads with one MGET: the first write creates <prefix>i', async () => {
      expect(await client.exists(`${prefix}i`, `${prefix}j`)).toBe(0);
      await tier.set('k', rec('v', { createdAt: Date.now() - 50 }));
      expect(await client.get(`${prefix}i`)).toBe('0');
      expect(await client.pttl(`${prefix}i`)).toBe(-1);
      expect((await tier.get('k'))?.value).toBe('v');
      expect(await tier.getMany(['k', 'absent'])).toMatchObject([{ value: 'v' }, undefined]);
      expect(tier.stats()).toMatchObject({ fastReads: 3, scriptReads: 0 });
      // Tag invalidations and clears raise <prefix>i and its copy <prefix>j together.
      const at = Date.now();
      await tier.invalidateTags(['x'], at);
      expect([await client.get(`${prefix}i`), await client.get(`${prefix}j`)]).toEqual([
        String(at),
        String(at),
      ]);
      await tier.clear('zz:');
      expect(Number(await client.get(`${prefix}j`))).toBeGreaterThanOrEqual(at);
      expect(await client.get(`${prefix}j`)).toBe(await client.get(`${prefix}i`));
    });
  });

  describe("an unreadable latest-invalidation key (another app's data at <prefix>i)", () => {
    async function tagged(): Promise<void> {
      await tier.set('k', rec('invalidated', { tags: ['T'], createdAt: Date.now() - 50 }));
      await tier.set('k2', rec('also invalidated', { tags: ['T'], createdAt: Date.now() - 50 }));
      await tier.set('plain', rec('valid', { createdAt: Date.now() - 50 }));
    }
    async function expectInvalidated(): Promise<void> {
      expect(await tier.get('k')).toBeUndefined();
      expect(await tier.getMany(['k', 'plain', 'k2'])).toMatchObject([
        undefined,
        { value: 'valid' },
        undefined,
      ]);
    }

    it('a key of another type there never makes a tag-invalidated entry readable (get and getMany)', async () => {
      // MGET answers nil for a key of another type, as for a missing one: that must not read as "never invalidated".
      await client.hset(`${prefix}i`, 'other', 'app');
      await tagged();
      const error = await rejection(tier.invalidateTags(['T'], Date.now()));
      expect((error as LarderRedisError).code).toBe('foreign');
      expect((error as Error).message).toContain(`${prefix}i`);
      expect(Number(await client.get(`${prefix}t:T`))).toBeGreaterThan(0);
      await expectInvalidated();
      // Left alone, as documented.
      expect(await client.hgetall(`${prefix}i`)).toEqual({ other: 'app' });
    });

    it('nor does that key going away again: the next write recreates <prefix>i from its copy', async () => {
      await client.rpush(`${prefix}i`, 'job');
      await tagged();
      await rejection(tier.invalidateTags(['T'], Date.now()));
      await client.del(`${prefix}i`);
      await expectInvalidated();
      await tier.set('unrelated', rec('u'));
      expect(await client.get(`${prefix}i`)).toBe(await client.get(`${prefix}t:T`));
      await expectInvalidated();
    });

    it('nor does <prefix>i deleted by hand (restored from the copy), or with an unreadable copy (set to the Redis time)', async () => {
      await tagged();
      await tier.invalidateTags(['T'], Date.now());
      await client.del(`${prefix}i`);
      await tier.set('unrelated', rec('u'));
      await expectInvalidated();
      // The copy taken by another app as well: <prefix>i comes back at the Redis time, later than T's time.
      await client.del(`${prefix}i`, `${prefix}j`);
      await client.hset(`${prefix}j`, 'other', 'app');
      await tier.set('unrelated2', rec('u'));
      expect(Number(await client.get(`${prefix}i`))).toBeGreaterThan(
        Number(await client.get(`${prefix}t:T`)),
      );
      await expectInvalidated();
      const error = await rejection(tier.invalidateTags(['U'], Date.now()));
      expect((error as Error).message).toContain(`${prefix}j`);
      for (const junk of ['x', '-5', 'nan', 'inf']) {
        await client.del(`${prefix}i`);
        await client.set(`${prefix}j`, junk);
        await tier.set(`unrelated:${junk}`, rec('u'));
        expect(await client.get(`${prefix}i`)).toMatch(/^[1-9]\d{12,14}$/);
        await expectInvalidated();
      }
    });

    it('nor does text that is not a time there (the client reads only a plain integer as one)', async () => {
      await tagged();
      await tier.invalidateTags(['T'], Date.now());
      for (const junk of ['', ' ', 'x', '0x10', '-1', ' 1', '1e3', '1.5', '9'.repeat(16)]) {
        await client.set(`${prefix}i`, junk);
        await expectInvalidated();
      }
    });

    it('the read script reads an entry as absent when the clears hash holds another type (never as valid)', async () => {
      await tier.set('k', rec('v', { createdAt: Date.now() - 50 }));
      await client.rpush(`${prefix}c`, 'job');
      // Older than the latest invalidation: the read goes through the script, which cannot read the clears.
      await tier.invalidateTags(['unrelated'], Date.now());
      expect(await tier.get('k')).toBeUndefined();
      expect(tier.stats().scriptReads).toBe(1);
    });
  });

  describe('scripts', () => {
    it('works with any prefix (quotes, backslashes, non-ASCII, glob characters)', async () => {
      const odd = `${prefix}"é\\'*[x]\n`;
      const t = redisTier(client, { prefix: odd });
      await t.set('k', rec('v', { tags: ['t'], createdAt: Date.now() - 10 }));
      await t.set('n:1', rec('n', { createdAt: Date.now() - 10 }));
      expect((await t.get('k'))?.value).toBe('v');
      await t.clear('n:');
      expect(await t.get('n:1')).toBeUndefined();
      await t.invalidateTags(['t'], Date.now());
      expect(await t.get('k')).toBeUndefined();
      await t.close();
      await deleteKeys(client, odd);
      expect(() => redisTier(client, { prefix: 'bad\uD800' })).toThrow(/well-formed/);
    });
  });

  describe('undecodable entries', () => {
    it.each([
      ['foreign text', 'hello'],
      ['a truncated header', 'L1[1,[],'],
      ['a bad header', 'L1{"a":1}\nJ1'],
      ['a corrupt payload', `L1[${Date.now()},[],null,null,null]\nJ{broken`],
      ['an unknown payload format', `L1[${Date.now()},[],null,null,null]\nZ??`],
      ['an older format', `L0[${Date.now()}]\nJ1`],
    ])('treats %s as a miss with a decode error, never a crash', async (_, raw) => {
      await client.set(`${prefix}v:k`, raw);
      const error = await rejection(tier.get('k'));
      expect(error).toBeInstanceOf(LarderRedisError);
      expect((error as LarderRedisError).code).toBe('decode');
      expect(tier.stats()).toMatchObject({ decodeErrors: 1, errors: 1, misses: 1 });
      // A write replaces it.
      await tier.set('k', rec('fresh'));
      expect((await tier.get('k'))?.value).toBe('fresh');
    });
  });

  describe('ordering: an older value never replaces a newer one', () => {
    it('refuses a write whose createdAt is older than the stored entry', async () => {
      const t = Date.now();
      await tier.set('k', rec('new', { createdAt: t }));
      await tier.set('k', rec('old', { createdAt: t - 50 }));
      expect((await tier.get('k'))?.value).toBe('new');
      expect(tier.stats().refused).toBe(1);
      await tier.set('k', rec('newer', { createdAt: t + 1 }));
      expect((await tier.get('k'))?.value).toBe('newer');
    });

    it('deletes with a tombstone: a load that started before the delete cannot write back, a later one can', async () => {
      const loadStarted = Date.now() - 20;
      await tier.set('k', rec('v1', { createdAt: loadStarted - 100 }));
      await tier.delete(['k']);
      expect(await tier.get('k')).toBeUndefined();
      await tier.set('k', rec('stale', { createdAt: loadStarted }));
      expect(await tier.get('k')).toBeUndefined();
      expect(tier.stats().refused).toBe(1);
      await new Promise((r) => setTimeout(r, 2));
      await tier.set('k', rec('v2', { createdAt: Date.now() }));
      expect((await tier.get('k'))?.value).toBe('v2');
    });

    it('keeps tombstones only for tombstoneTtl', async () => {
      const short = redisTier(client, { prefix, tombstoneTtl: 1000 });
      await short.delete(['a', 'b']);
      const pttl = await client.pttl(`${prefix}v:a`);
      expect(pttl).toBeGreaterThan(0);
      expect(pttl).toBeLessThanOrEqual(1000);
      await short.close();
    });

    it('a deletion never lowers a newer time already stored (clock skew between instances)', async () => {
      const future = Date.now() + 60_000;
      await tier.set('k', rec('from the future', { createdAt: future, ttl: 120_000 }));
      await tier.delete(['k']);
      expect(await tier.get('k')).toBeUndefined();
      await tier.set('k', rec('x', { createdAt: future - 1 }));
      expect(await tier.get('k')).toBeUndefined();
    });
  });

  describe('tags', () => {
    it('invalidates entries carrying a tag lazily (no index, no scan) and refuses older writes', async () => {
      await tier.set('a', rec(1, { tags: ['users'], createdAt: Date.now() - 10 }));
      await tier.set('b', rec(2, { tags: ['posts'], createdAt: Date.now() - 10 }));
      await tier.set('c', rec(3, { tags: ['posts', 'users'], createdAt: Date.now() - 10 }));
      const at = Date.now();
      await tier.invalidateTags(['users'], at);
      expect(await tier.get('a')).toBeUndefined();
      expect((await tier.get('b'))?.value).toBe(2);
      expect(await tier.get('c')).toBeUndefined();
      // A load that started before the invalidation cannot store its (old) result.
      await tier.set('a', rec('old', { tags: ['users'], createdAt: at - 5 }));
      expect(await tier.get('a')).toBeUndefined();
      await new Promise((r) => setTimeout(r, 2));
      await tier.set('a', rec('new', { tags: ['users'], createdAt: Date.now() }));
      expect((await tier.get('a'))?.value).toBe('new');
    });

    it('keeps each tag key at least as long as the longest entry carrying it', async () => {
      await tier.set('short', rec(1, { tags: ['t'], ttl: 1000 }));
      expect(await client.pttl(`${prefix}t:t`)).toBeLessThanOrEqual(1000);
      await tier.set('long', rec(1, { tags: ['t'], ttl: 50_000 }));
      expect(await client.pttl(`${prefix}t:t`)).toBeGreaterThan(40_000);
      await tier.set('short2', rec(1, { tags: ['t'], ttl: 1000 }));
      expect(await client.pttl(`${prefix}t:t`)).toBeGreaterThan(40_000);
      await tier.set('forever', rec(1, { tags: ['t'], ttl: Number.POSITIVE_INFINITY }));
      expect(await client.pttl(`${prefix}t:t`)).toBe(-1);
      await tier.invalidateTags(['t'], Date.now());
      expect(await client.pttl(`${prefix}t:t`)).toBe(-1);
      expect(await tier.get('forever')).toBeUndefined();
    });

    it('records an invalidation of a tag no entry carries, for tombstoneTtl, and never lowers a tag time', async () => {
      const at = Date.now();
      await tier.invalidateTags(['unknown'], at);
      expect(Number(await client.get(`${prefix}t:unknown`))).toBe(at);
      const pttl = await client.pttl(`${prefix}t:unknown`);
      expect(pttl).toBeGreaterThan(50_000);
      expect(pttl).toBeLessThanOrEqual(60_000);
      await tier.invalidateTags(['unknown'], at - 1000);
      expect(Number(await client.get(`${prefix}t:unknown`))).toBe(at);
    });
  });

  describe('clear', () => {
    it('removes the entries under a prefix with SCAN, and only those', async () => {
      await tier.set('ns:1', rec(1, { createdAt: Date.now() - 10 }));
      await tier.set('ns:2', rec(2, { createdAt: Date.now() - 10, ttl: Number.POSITIVE_INFINITY }));
      await tier.set('ns:\uD800', rec(3, { createdAt: Date.now() - 10 }));
      await tier.set('other:1', rec(4, { createdAt: Date.now() - 10 }));
      await tier.set('ns', rec(5, { createdAt: Date.now() - 10 }));
      await tier.clear('ns:');
      expect(await client.exists(`${prefix}v:ns:1`, `${prefix}v:ns:2`)).toBe(0);
      expect(await tier.get('ns:\uD800')).toBeUndefined();
      expect((await tier.get('other:1'))?.value).toBe(4);
      expect((await tier.get('ns'))?.value).toBe(5);
    });

    it('refuses writes of loads that started before the clear, accepts later ones', async () => {
      const before = Date.now() - 5;
      await tier.clear('ns:');
      await tier.set('ns:1', rec('old', { createdAt: before }));
      expect(await tier.get('ns:1')).toBeUndefined();
      await new Promise((r) => setTimeout(r, 2));
      await tier.set('ns:1', rec('new'));
      expect((await tier.get('ns:1'))?.value).toBe('new');
    });

    it("clear('') removes every entry of this prefix and nothing of another prefix", async () => {
      const otherPrefix = uniquePrefix('tier-other');
      const other = redisTier(client, { prefix: otherPrefix });
      await other.set('x', rec('kept'));
      for (let i = 0; i < 1200; i++) await tier.set(`k${i}`, rec(i, { createdAt: Date.now() - 10 }));
      await tier.clear('');
      expect(await tier.get('k5')).toBeUndefined();
      const [, left] = await client.scan('0', 'MATCH', `${prefix}v:*`, 'COUNT', 10_000);
      expect(left).toEqual([]);
      expect((await other.get('x'))?.value).toBe('kept');
      await other.close();
      await deleteKeys(client, otherPrefix);
    });

    it('treats glob characters in the prefix literally', async () => {
      await tier.set('a*:1', rec(1, { createdAt: Date.now() - 10 }));
      await tier.set('ab:1', rec(2, { createdAt: Date.now() - 10 }));
      await tier.set('a?[x]\\:1', rec(3, { createdAt: Date.now() - 10 }));
      await tier.clear('a*:');
      await tier.clear('a?[x]\\:');
      expect(await tier.get('a*:1')).toBeUndefined();
      expect(await tier.get('a?[x]\\:1')).toBeUndefined();
      expect((await tier.get('ab:1'))?.value).toBe(2);
    });
  });

  describe('keys and tags of any content', () => {
    const keys = [
      '',
      ' ',
      'a b',
      'line\nbreak',
      'tab\t',
      'c',
      't:x',
      'v:x',
      'ключ',
      '😀',
      'a\uD800',
      'a\uFFFD',
      '\uDC00b',
      '"quoted"',
      '*?[]\\',
      'x'.repeat(2000),
    ];

    it('stores each key under its own Redis key (no collisions, even for lone surrogates)', async () => {
      for (const [i, key] of keys.entries()) await tier.set(key, rec(i, { tags: [key] }));
      for (const [i, key] of keys.entries()) expect((await tier.get(key))?.value).toBe(i);
      await tier.delete(['a\uD800']);
      expect(await tier.get('a\uD800')).toBeUndefined();
      expect((await tier.get('a\uFFFD'))?.value).toBe(keys.indexOf('a\uFFFD'));
      await tier.invalidateTags(['\uDC00b'], Date.now());
      expect(await tier.get('\uDC00b')).toBeUndefined();
      expect((await tier.get('😀'))?.value).toBe(keys.indexOf('😀'));
      const back = await tier.get('a\uFFFD');
      expect(back?.tags).toEqual(['a\uFFFD']);
    });
  });

  describe('clock skew', () => {
    it('converts times to the Redis clock, so a skewed instance still loses to a later delete', async () => {
      // An instance whose clock runs 30 s ahead.
      const skew = 30_000;
      const realNow = Date.now.bind(Date);
      const spy = vi.spyOn(Date, 'now').mockImplementation(() => realNow() + skew);
      const skewed = redisTier(client, { prefix });
      await waitFor(() => skewed.stats().clockOffset !== 0);
      expect(Math.abs(skewed.stats().clockOffset + skew)).toBeLessThan(100);
      // Its load started (by its clock) "in 30 s", i.e. now.
      const record = rec('loaded before the delete', { ttl: 10_000 });
      spy.mockRestore();
      // Another instance, on a correct clock, deletes just after.
      await new Promise((r) => setTimeout(r, 5));
      await tier.delete(['k']);
      await skewed.set('k', record);
      expect(await tier.get('k')).toBeUndefined();
      // And a value it writes reads back with times on the reader's clock.
      const fresh = { ...record, createdAt: record.createdAt + 100, value: 'fresh' };
      await skewed.set('k2', fresh);
      const back = await tier.get('k2');
      expect(Math.abs((back?.expires ?? 0) - (record.expires - skew))).toBeLessThan(100);
      await skewed.close();
    });

    /** Makes this process's clock run `ms` ahead of (or behind) Redis's until restored. */
    function skewClock(ms: number) {
      const realNow = Date.now.bind(Date);
      return vi.spyOn(Date, 'now').mockImplementation(() => realNow() + ms);
    }
    async function redisNow(): Promise<number> {
      const [seconds, micros] = await client.time();
      return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
    }
    /** The time at the head of a stored entry or tombstone (`L1[<time>,...` / `L1[<time>]`). */
    async function storedTime(key: string): Promise<number> {
      const raw = (await client.get(`${prefix}v:${key}`)) ?? '';
      return Number(/^L1\[(\d+)[,\]]/.exec(raw)?.[1]);
    }
    function connecting(): Redis {
      const c = new Redis(url as string, { enableOfflineQueue: false, lazyConnect: true });
      c.on('error', () => {});
      return c;
    }

    it('a set made before the first clock measurement goes out on the Redis clock (a later tag invalidation wins)', async () => {
      // A new instance whose clock runs 10 s ahead writes through in its first moments (still connecting).
      const spy = skewClock(10_000);
      const own = connecting();
      const early = redisTier(own, { prefix });
      try {
        await early.set('k', rec('loaded early', { tags: ['T'] }));
        expect(early.stats().clockOffset).toBeLessThan(-9000);
      } finally {
        spy.mockRestore();
      }
      expect(Math.abs((await storedTime('k')) - (await redisNow()))).toBeLessThan(1000);
      // Another instance (a correct clock) invalidates the tag just after: the entry is gone.
      await new Promise((r) => setTimeout(r, 5));
      await tier.invalidateTags(['T'], Date.now());
      expect(await tier.get('k')).toBeUndefined();
      await early.close();
      own.disconnect();
    });

    it('so do deletes, tag invalidations and clears made before it (a clock behind Redis)', async () => {
      for (const key of ['d', 't', 'ns:1']) {
        await tier.set(key, rec(key, { tags: key === 't' ? ['T'] : [], createdAt: Date.now() - 50 }));
      }
      // A load that starts now, before the invalidations (read before the clock is skewed).
      const loadStart = Date.now();
      const spy = skewClock(-10_000);
      const own = connecting();
      const early = redisTier(own, { prefix });
      try {
        await Promise.all([early.delete(['d']), early.invalidateTags(['T'], Date.now()), early.clear('ns:')]);
      } finally {
        spy.mockRestore();
      }
      // Stamped 10 s early, each would have missed the entry written 50 ms before it.
      expect(await tier.get('t')).toBeUndefined();
      expect(await tier.get('ns:1')).toBeUndefined();
      expect(await tier.get('d')).toBeUndefined();
      // And loads that started before them cannot write their older values back.
      for (const key of ['d', 't', 'ns:1']) {
        await tier.set(key, rec('stale', { tags: key === 't' ? ['T'] : [], createdAt: loadStart - 1 }));
        expect(await tier.get(key)).toBeUndefined();
      }
      expect(tier.stats().refused).toBe(3);
      await early.close();
      own.disconnect();
    });

    it('a TIME that fails holds writes at most timeout; they are replayed on the Redis clock once it answers', async () => {
      const own = new Redis(url as string, { enableOfflineQueue: false, lazyConnect: true });
      own.on('error', () => {});
      await own.connect();
      const time = vi
        .spyOn(own, 'time')
        .mockRejectedValue(new Error("NOPERM this user has no permissions to run the 'time' command"));
      const spy = skewClock(10_000);
      const early = redisTier(own, { prefix, timeout: 100 });
      try {
        const t0 = performance.now();
        const failures = await Promise.all([
          rejection(early.set('k', rec('v', { createdAt: Date.now() - 10 }))),
          rejection(early.delete(['d'])),
        ]);
        expect(performance.now() - t0).toBeGreaterThanOrEqual(90);
        expect(performance.now() - t0).toBeLessThan(1000);
        for (const error of failures) {
          expect((error as LarderRedisError).code).toBe('unavailable');
          expect((error as Error).message).toMatch(/did not answer TIME within 100 ms/);
        }
        // Nothing went out with this instance's clock.
        expect(await client.exists(`${prefix}v:k`, `${prefix}v:d`)).toBe(0);
        expect(early.stats()).toMatchObject({ pending: 2, clockOffset: 0 });
        // TIME answers again: the replay (a deletion of each) goes out, its times put on the Redis clock.
        time.mockRestore();
        await waitFor(() => early.stats().pending === 0 && early.stats().replays >= 1, 5000);
        expect(early.stats().clockOffset).toBeLessThan(-9000);
      } finally {
        spy.mockRestore();
        time.mockRestore();
      }
      const now = await redisNow();
      for (const key of ['k', 'd']) {
        expect(await client.get(`${prefix}v:${key}`)).toMatch(/^L1\[\d+\]\n$/);
        expect(Math.abs((await storedTime(key)) - now)).toBeLessThan(3000);
      }
      await early.close();
      own.disconnect();
    });
  });

  describe('failures', () => {
    it('fails at once, without queueing, when the client is not connected', async () => {
      const offline = new Redis('redis://127.0.0.1:1', { lazyConnect: true, retryStrategy: () => null });
      offline.on('error', () => {});
      const t = redisTier(offline, { prefix });
      for (const call of [
        t.get('k'),
        t.set('k', rec(1)),
        t.delete(['k']),
        t.invalidateTags(['x'], Date.now()),
        t.clear(''),
      ]) {
        const error = await rejection(call);
        expect(error).toBeInstanceOf(LarderRedisError);
        expect((error as LarderRedisError).code).toBe('unavailable');
      }
      expect(t.stats()).toMatchObject({ errors: 5, connected: false });
      // The failed writes are remembered for replay (one "clear everything" covers them all).
      expect(t.stats().pending).toBe(1);
      await t.close();
      offline.disconnect();
    });

    it('replays failed writes when the client reconnects, so Redis keeps nothing stale', async () => {
      const own = new Redis(url as string, {
        enableOfflineQueue: false,
        retryStrategy: () => 300,
        lazyConnect: true,
      });
      own.on('error', () => {});
      await own.connect();
      const t = redisTier(own, { prefix });
      await t.set('k', rec('v1', { createdAt: Date.now() - 100, tags: ['g'] }));
      await t.set('g1', rec('in group', { createdAt: Date.now() - 100, tags: ['g'] }));
      await t.set('ns:1', rec('ns', { createdAt: Date.now() - 100 }));
      const id = await own.client('ID');
      await client.client('KILL', 'ID', String(id));
      await waitFor(() => own.status !== 'ready');
      await rejection(t.delete(['k']));
      await rejection(t.invalidateTags(['g'], Date.now()));
      await rejection(t.clear('ns:'));
      await rejection(t.set('s', rec('new value', { createdAt: Date.now() })));
      expect(t.stats().pending).toBe(4);
      // Still there until the client is back.
      expect(await client.exists(`${prefix}v:ns:1`)).toBe(1);
      await waitFor(() => t.stats().pending === 0 && t.stats().replays === 1, 5000);
      await waitFor(async () => (await client.exists(`${prefix}v:ns:1`)) === 0);
      expect(await t.get('k')).toBeUndefined();
      expect(await t.get('g1')).toBeUndefined();
      expect(await t.get('s')).toBeUndefined();
      await t.close();
      expect(own.status).toBe('ready');
      own.disconnect();
    });

    it('turns too many failed writes into one "clear everything" on replay', async () => {
      const own = new Redis(url as string, {
        enableOfflineQueue: false,
        retryStrategy: () => 300,
        lazyConnect: true,
      });
      own.on('error', () => {});
      await own.connect();
      const t = redisTier(own, { prefix, maxPending: 3 });
      await t.set('keep?', rec('old', { createdAt: Date.now() - 100 }));
      await client.client('KILL', 'ID', String(await own.client('ID')));
      await waitFor(() => own.status !== 'ready');
      for (let i = 0; i < 5; i++) await rejection(t.delete([`d${i}`]));
      expect(t.stats().pending).toBe(1);
      await waitFor(() => t.stats().replays === 1 && t.stats().pending === 0, 5000);
      await waitFor(async () => (await client.exists(`${prefix}v:keep?`)) === 0);
      await t.close();
      own.disconnect();
    });

    it('does not close a client it was given; closes one with closeClient', async () => {
      const own = new Redis(url as string, { lazyConnect: true });
      await own.connect();
      await redisTier(own, { prefix }).close();
      expect(own.status).toBe('ready');
      await redisTier(own, { prefix, closeClient: true }).close();
      expect(own.status).toBe('end');
      const closed = redisTier(client, { prefix });
      await closed.close();
      expect(((await rejection(closed.get('k'))) as LarderRedisError).code).toBe('closed');
    });
  });

  describe('options', () => {
    it('refuses bad options with errors naming them', () => {
      expect(() => redisTier({} as Redis)).toThrow(/redisTier: client must be an ioredis/);
      expect(() => redisTier(client, { prefix: '' })).toThrow(/redisTier: prefix/);
      expect(() => redisTier(client, { timeout: -1 })).toThrow(/redisTier: timeout/);
      expect(() => redisTier(client, { tombstoneTtl: 'soon' as '1s' })).toThrow(/redisTier: tombstoneTtl/);
      expect(() => redisTier(client, { maxPending: 0 })).toThrow(/redisTier: maxPending/);
      expect(() => redisTier(client, { serializer: {} as never })).toThrow(/redisTier: serializer/);
      const prefixed = new Redis(url as string, { lazyConnect: true, keyPrefix: 'app:' });
      expect(() => redisTier(prefixed)).toThrow(/keyPrefix/);
    });
  });
});

/**
 * Every byte read from Redis is untrusted: other apps sharing the Redis can write anything under larder's
 * prefix. Hostile payloads are a miss plus an error event (never prototype pollution), and the envelope
 * decoder refuses any bytes cleanly.
 */
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Cache } from '../../src/index.js';
import { decodeRecord, encodeRecord, serializeValue } from '../../src/redis/envelope.js';
import { createCache, LarderRedisError, redisTier } from '../../src/redis/index.js';
import { createdOf, latestOf } from '../../src/redis/tier-read.js';
import { defaultSerializer } from '../../src/serializer.js';
import { deleteKeys, redisForTests, uniquePrefix, waitFor } from '../helpers/redis-server.js';

const url = await redisForTests('larder/redis untrusted-input tests');

/** decodeRecord either returns a well-formed record or throws a LarderRedisError with code `decode`. */
function decodesOrRefuses(raw: string): void {
  let record: ReturnType<typeof decodeRecord>;
  try {
    record = decodeRecord(raw, defaultSerializer, 0);
  } catch (error) {
    expect(error).toBeInstanceOf(LarderRedisError);
    expect((error as LarderRedisError).code).toBe('decode');
    return;
  }
  expect(record.value).not.toBeUndefined();
  for (const t of [record.createdAt, record.expires, record.staleUntil, record.errorUntil]) {
    expect(typeof t).toBe('number');
    expect(Number.isNaN(t)).toBe(false);
  }
  expect(Array.isArray(record.tags)).toBe(true);
  for (const tag of record.tags) expect(typeof tag).toBe('string');
}

const headerNumber = fc.oneof(
  fc.integer().map(String),
  fc.constantFrom('null', '', '-', '1e400', 'NaN', '"1"', '[]', '1.5', '0x10', ' 1'),
);
const tagList = fc.oneof(
  fc.constantFrom('[]', '["t:a"]', '["t~:\\"\\\\ud800\\""]', '[1]', '["x"]', '[null]', '{}', '"t:a"'),
  fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 }).map((a) => JSON.stringify(a.map((s) => `t:${s}`))),
);
const payload = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.json().map((j) => `J${j}`),
  fc.json().map((j) => `M${j}`),
  fc.constantFrom(
    'M[[["u","__proto__","isAdmin"]],{}]',
    'M[[["u","constructor","prototype","x"]],{}]',
    'Jnull',
  ),
);

describe('decodeRecord on any bytes from Redis', () => {
  it('round-trips what encodeRecord wrote', () => {
    const record = {
      value: { a: new Date(1) },
      createdAt: 10,
      expires: 20,
      staleUntil: 30,
      errorUntil: Number.POSITIVE_INFINITY,
      tags: ['x'],
    };
    const raw = encodeRecord(record, 10, ['t:x'], serializeValue(record.value, defaultSerializer), 0);
    expect(decodeRecord(raw, defaultSerializer, 0)).toEqual(record);
  });

  it('arbitrary text and bytes: a record or a decode error, nothing else (property)', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.string({ unit: 'binary' }),
          fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from(bytes).toString('utf8')),
          fc.string().map((s) => `L1${s}`),
          fc.string().map((s) => `L1[${s}`),
        ),
        (raw) => decodesOrRefuses(raw),
      ),
      { numRuns: 1000 },
    );
  });

  it('well-formed envelopes with hostile headers and payloads: a record or a decode error (property)', () => {
    fc.assert(
      fc.property(
        fc.tuple(headerNumber, tagList, headerNumber, headerNumber, headerNumber),
        fc.boolean(),
        payload,
        ([created, tags, expires, stale, error], extra, body) => {
          const header = extra
            ? `[${created},${tags},${expires},${stale},${error},1]`
            : `[${created},${tags},${expires},${stale},${error}]`;
          decodesOrRefuses(`L1${header}\n${body}`);
          expect(Object.hasOwn(Object.prototype, 'isAdmin')).toBe(false);
          expect(Object.hasOwn(Object.prototype, 'x')).toBe(false);
        },
      ),
      { numRuns: 1000 },
    );
  });
});

/** The form the scripts write a time in: the only text the read's fast path takes for `<prefix>i`. */
const CANONICAL_TIME = /^[0-9]{1,15}$/;
/** Text another app could leave at `<prefix>i` (or that a corrupted write left there). */
const junkTime = fc
  .oneof(
    fc.string(),
    fc.string({ unit: 'binary' }),
    fc.stringMatching(/^[0-9]{0,20}$/),
    fc.integer().map((n) => ` ${n}`),
    fc.constantFrom(
      '',
      ' ',
      '0x10',
      '-1',
      '+1',
      ' 1',
      '1 ',
      '1e3',
      '1.5',
      '1_000',
      'Infinity',
      'NaN',
      '１２',
      '9'.repeat(16),
    ),
  )
  .filter((t) => !CANONICAL_TIME.test(t));

describe("the read's fast path on any <prefix>i from Redis", () => {
  it('takes a time only from a plain integer of at most 15 digits; anything else (or nil) sends the read to the script (property)', () => {
    fc.assert(
      fc.property(fc.oneof(junkTime, fc.stringMatching(CANONICAL_TIME)), (inv) => {
        const latest = latestOf(inv);
        if (CANONICAL_TIME.test(inv)) {
          expect(latest).toBe(Number.parseInt(inv, 10));
          expect(Number.isSafeInteger(latest)).toBe(true);
        } else {
          expect(latest).toBeNaN();
        }
      }),
      { numRuns: 2000 },
    );
    for (const nil of [null, undefined]) expect(latestOf(nil)).toBeNaN();
  });

  it('never counts an entry as newer than an unreadable <prefix>i, whatever its header (property)', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.integer({ min: 0 }).map((n) => `L1[${n},[],null,null,null]\nJ1`),
        ),
        fc.oneof(junkTime, fc.constant(null)),
        (raw, inv) => {
          expect(createdOf(raw) > latestOf(inv)).toBe(false);
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe.runIf(url)('hostile payloads written by another app into the real shared Redis', () => {
  let other: Redis;
  let prefix: string;
  const caches: Cache<string, unknown>[] = [];

  beforeAll(() => {
    other = new Redis(url as string);
  });
  afterAll(async () => {
    await other.quit();
  });
  beforeEach(() => {
    prefix = uniquePrefix('untrusted');
  });
  afterEach(async () => {
    for (const cache of caches.splice(0)) await cache.close();
    await deleteKeys(other, prefix);
  });

  async function connectedCache(): Promise<Cache<string, unknown>> {
    const cache = createCache<string, unknown>({ redisUrl: url, max: 100, ttl: 60_000, redis: { prefix } });
    caches.push(cache);
    // Connected and subscribed: the bus's first resync has happened, so tier reads reach Redis.
    await waitFor(() => cache.stats().busMessages >= 1);
    return cache;
  }

  it('a fix-up path through __proto__ is a miss plus a decode error event; Object.prototype is untouched', async () => {
    const cache = await connectedCache();
    const errors: unknown[] = [];
    cache.on('error', (e) => errors.push(e.error));
    const originalToString = Object.prototype.toString;
    const originalHasOwn = Object.prototype.hasOwnProperty;
    const payloads = {
      'user:1': 'M[[["u","__proto__","isAdmin"]],{}]',
      'user:2': 'M[[["u","__proto__","toString"]],{"a":1}]',
      'user:3': 'M[[["u","constructor","prototype","hasOwnProperty"]],{}]',
      'user:4': 'M[[["u",0,"__proto__","isAdmin"]],[{}]]',
    };
    const created = Date.now();
    for (const [key, body] of Object.entries(payloads)) {
      await other.set(`${prefix}v:${key}`, `L1[${created},[],null,null,null]\n${body}`);
    }
    try {
      let loads = 0;
      for (const key of Object.keys(payloads)) {
        expect(await cache.getOrSet(key, () => ({ id: key, n: ++loads }))).toEqual({ id: key, n: loads });
      }
      expect(loads).toBe(4);
      expect(Object.hasOwn(Object.prototype, 'isAdmin')).toBe(false);
      expect(Object.prototype.toString).toBe(originalToString);
      expect(Object.prototype.hasOwnProperty).toBe(originalHasOwn);
      expect(({} as { isAdmin?: unknown }).isAdmin).toBeUndefined();
      expect(errors).toHaveLength(4);
      for (const error of errors) {
        expect(error).toBeInstanceOf(LarderRedisError);
        expect((error as LarderRedisError).code).toBe('decode');
        expect((error as Error).message).toMatch(/fix-up path leads nowhere/);
      }
      // The loaded values replaced the hostile ones in Redis.
      const other2 = await connectedCache();
      let reloads = 0;
      expect(await other2.getOrSet('user:2', () => ++reloads)).toEqual({ id: 'user:2', n: 2 });
      expect(reloads).toBe(0);
    } finally {
      // If the fix regressed, do not leave the test process polluted.
      Object.prototype.toString = originalToString;
      Object.prototype.hasOwnProperty = originalHasOwn;
      delete (Object.prototype as { isAdmin?: unknown }).isAdmin;
    }
  });

  it('anything another app leaves at <prefix>i (text, a hash, a list...) never makes a tag-invalidated entry readable (property)', async () => {
    const client = new Redis(url as string, { enableOfflineQueue: false });
    const tier = redisTier(client, { prefix });
    const inv = `${prefix}i`;
    let run = 0;
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            junkTime.map((text) => ({ type: 'string' as const, text })),
            fc.constantFrom('hash', 'list', 'set', 'zset', 'stream').map((type) => ({ type, text: '' })),
          ),
          async ({ type, text }) => {
            const n = run++;
            await other.del(inv);
            await tier.set(`k${n}`, rec(`invalidated ${n}`, [`T${n}`]));
            await tier.set(`plain${n}`, rec(`valid ${n}`, []));
            await tier.invalidateTags([`T${n}`], Date.now());
            if (type === 'string') await other.set(inv, text);
            else await other.del(inv);
            if (type === 'hash') await other.hset(inv, 'f', '1');
            if (type === 'list') await other.rpush(inv, '1');
            if (type === 'set') await other.sadd(inv, '1');
            if (type === 'zset') await other.zadd(inv, 1, 'm');
            if (type === 'stream') await other.xadd(inv, '*', 'f', '1');
            expect(await tier.get(`k${n}`)).toBeUndefined();
            expect((await tier.get(`plain${n}`))?.value).toBe(`valid ${n}`);
            const many = await tier.getMany([`k${n}`, `plain${n}`]);
            expect(many[0]).toBeUndefined();
            expect(many[1]?.value).toBe(`valid ${n}`);
          },
        ),
        { numRuns: 40 },
      );
      expect(tier.stats().scriptReads).toBeGreaterThanOrEqual(4 * 40);
    } finally {
      await tier.close();
      client.disconnect();
    }

    function rec(value: string, tags: string[]) {
      const now = Date.now();
      return {
        value,
        tags,
        createdAt: now - 50,
        expires: now + 60_000,
        staleUntil: now + 60_000,
        errorUntil: now + 60_000,
      };
    }
  });

  it('foreign keys of another type (a hash, a list): clear, delete, set and tags skip them, report each once, never retry', async () => {
    const client = new Redis(url as string, { enableOfflineQueue: false });
    const tier = redisTier(client, { prefix });
    const cache = new Cache<string, unknown>({ max: 100, tier });
    caches.push(cache);
    await waitFor(() => tier.stats().connected);
    const errors: unknown[] = [];
    cache.on('error', (e) => errors.push(e.error));
    const foreignErrors = () =>
      errors.filter((e) => e instanceof LarderRedisError && e.code === 'foreign') as LarderRedisError[];
    try {
      // Another app's data under larder's prefix.
      await other.hset(`${prefix}v:profile`, 'name', 'ann');
      await other.rpush(`${prefix}v:queue`, 'job');
      await other.hset(`${prefix}t:shop`, 'open', '1');
      cache.set('real', 1);
      await waitFor(() => tier.stats().writes === 1);

      cache.clear();
      await waitFor(() => foreignErrors().length === 1);
      const [first] = foreignErrors();
      expect(first?.message).toContain(`${prefix}v:profile`);
      expect(first?.message).toContain(`${prefix}v:queue`);
      // The foreign data is left as it was; larder's own entry is gone.
      expect(await other.hgetall(`${prefix}v:profile`)).toEqual({ name: 'ann' });
      expect(await other.lrange(`${prefix}v:queue`, 0, -1)).toEqual(['job']);
      expect(await other.exists(`${prefix}v:real`)).toBe(0);

      // Again: nothing new to report. Deletes and sets of those keys, and a tag on a foreign tag key.
      cache.clear();
      cache.delete('profile');
      cache.set('queue', 2);
      cache.set('tagged', 3, { tags: ['shop'] });
      cache.invalidateTag('shop');
      await waitFor(() => foreignErrors().length === 2);
      expect(foreignErrors()[1]?.message).toContain(`${prefix}t:shop`);
      // A read of a foreign key is a plain miss.
      expect(await cache.getOrSet('profile', () => 'loaded')).toBe('loaded');

      // Nothing was remembered for replay, and nothing is retried (the replay timer would fire after 1 s).
      await new Promise((resolve) => setTimeout(resolve, 1500));
      const stats = tier.stats();
      expect(stats.pending).toBe(0);
      expect(stats.replays).toBe(0);
      expect(stats.foreignKeys).toBe(3);
      expect(foreignErrors()).toHaveLength(2);
      expect(errors.filter((e) => !(e instanceof LarderRedisError && e.code === 'foreign'))).toEqual([]);
      expect(await other.hgetall(`${prefix}t:shop`)).toEqual({ open: '1' });
      expect(await other.hgetall(`${prefix}v:profile`)).toEqual({ name: 'ann' });
    } finally {
      await cache.close();
      client.disconnect();
    }
  });
});

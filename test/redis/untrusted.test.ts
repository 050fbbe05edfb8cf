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
import { MAX_AHEAD_MS } from '../../src/redis/scripts.js';
import { createdOf, latestOf } from '../../src/redis/tier-read.js';
import { defaultSerializer } from '../../src/serializer.js';
import { deleteKeys, redisForTests, uniquePrefix, waitFor } from '../helpers/redis-server.js';
import { thrown } from '../helpers/thrown.js';

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

describe('decodeRecord and times far in the future', () => {
  it('refuses an entry dated after `latest` (or never, null) as foreign; takes one dated up to it', () => {
    const raw = (created: string) => `L1[${created},[],null,null,null]\nJ1`;
    const latest = 1_000_000;
    expect(decodeRecord(raw('1000000'), defaultSerializer, 0, latest).createdAt).toBe(latest);
    // The offset converts the Redis time to this instance's clock before the comparison.
    expect(decodeRecord(raw('1000500'), defaultSerializer, 500, latest).createdAt).toBe(latest);
    for (const [created, offset] of [
      ['1000001', 0],
      ['1000501', 500],
      ['9000000000000000', 0],
      ['null', 0],
    ] as const) {
      const error = thrown(() => decodeRecord(raw(created), defaultSerializer, offset, latest));
      expect(error, created).toBeInstanceOf(LarderRedisError);
      expect((error as LarderRedisError).code).toBe('decode');
      expect(error.message).toMatch(/createdAt too far in the future/);
    }
    // Without a bound (the Redis clock not measured yet), any finite time is taken.
    expect(decodeRecord(raw('9000000000000000'), defaultSerializer, 0).createdAt).toBe(9e15);
  });
});

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

  /** A record for tier.set, created `age` ms ago, living a minute. */
  function record(value: string, tags: string[] = [], age = 0) {
    const now = Date.now();
    return {
      value,
      tags,
      createdAt: now - age,
      expires: now + 60_000,
      staleUntil: now + 60_000,
      errorUntil: now + 60_000,
    };
  }

  /** A tier on its own connection, with the Redis clock measured (its first write went through). */
  async function measuredTier(): Promise<{ tier: ReturnType<typeof redisTier>; client: Redis }> {
    const client = new Redis(url as string, { enableOfflineQueue: false });
    const tier = redisTier(client, { prefix });
    await tier.set('warm-up', record('warm'));
    expect(tier.stats().writes).toBe(1);
    return { tier, client };
  }

  /** The Redis clock (ms). */
  async function redisNow(): Promise<number> {
    const [seconds, micros] = await other.time();
    return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
  }

  it("a foreign entry dated far in the future does not outlive the application's own set", async () => {
    const key = `${prefix}v:course:1`;
    // Another app (or an injected command) writes once, without expiry, a well-formed entry dated in year ~287,000.
    await other.set(key, 'L1[9000000000000000,[],null,null,null]\nJ"forged"');
    const a = await connectedCache();
    const errors: unknown[] = [];
    a.on('error', (e) => errors.push(e.error));
    // Read: foreign, so a miss plus a decode error (never served, never taken into memory with its date).
    expect(await a.getOrSet('course:1', () => 'loaded')).toBe('loaded');
    expect(errors).toHaveLength(1);
    expect((errors[0] as LarderRedisError).code).toBe('decode');
    // The load's write replaced it; so does a later set.
    await waitFor(async () => !String(await other.get(key)).includes('forged'));
    a.set('course:1', 'legit');
    await waitFor(async () => String(await other.get(key)).endsWith('"legit"'));
    const fresh = await connectedCache();
    expect(await fresh.getOrSet('course:1', () => 'reloaded')).toBe('legit');
  });

  it('any entry, tombstone, tag or clear time beyond the allowance is foreign: set replaces it and reads it back (property)', async () => {
    const { tier, client } = await measuredTier();
    let run = 0;
    try {
      await fc.assert(
        fc.asyncProperty(
          // How far ahead of the Redis clock: just beyond the allowance, up to far beyond it.
          fc.oneof(
            fc.integer({ min: MAX_AHEAD_MS + 5_000, max: MAX_AHEAD_MS + 3_600_000 }),
            fc.integer({ min: 3_600_000, max: 9_000_000_000_000_000 }),
          ),
          fc.constantFrom('entry', 'tagged entry', 'tombstone', 'tag time', 'clear time', 'deleted entry'),
          fc.boolean(),
          async (ahead, kind, expiring) => {
            const n = run++;
            const key = `k${n}`;
            const rkey = `${prefix}v:${key}`;
            const at = (await redisNow()) + ahead;
            const put = (k: string, v: string) =>
              expiring ? other.set(k, v, 'PX', 600_000) : other.set(k, v);
            const tags = kind === 'tag time' ? [`T${n}`] : [];
            if (kind === 'entry' || kind === 'deleted entry') {
              await put(rkey, `L1[${at},[],null,null,null]\nJ"forged"`);
            } else if (kind === 'tagged entry') {
              await put(rkey, `L1[${at},["t:x"],null,null,null]\nJ"forged"`);
            } else if (kind === 'tombstone') {
              await put(rkey, `L1[${at}]\n`);
            } else if (kind === 'tag time') {
              await put(`${prefix}t:T${n}`, String(at));
            } else {
              await other.hset(`${prefix}c`, `v:${key}`, String(at));
            }
            if (kind === 'deleted entry') {
              // A delete leaves a tombstone of its own time (not the foreign one), which a later write passes.
              await tier.delete([key]);
              const tombstone = String(await other.get(rkey));
              expect(createdOf(tombstone)).toBe(-1);
              expect(Number(tombstone.slice(3, -2))).toBeLessThan(at - MAX_AHEAD_MS);
            }
            const before = tier.stats();
            // Loaded just now (after the deletion, for a deleted entry: a write older than a deletion loses).
            await tier.set(key, record(`legit ${n}`, tags, kind === 'deleted entry' ? -50 : 10));
            const after = tier.stats();
            expect(after.writes - before.writes, kind).toBe(1);
            expect(after.refused - before.refused).toBe(0);
            expect((await tier.get(key))?.value).toBe(`legit ${n}`);
            expect((await tier.getMany([key]))[0]?.value).toBe(`legit ${n}`);
            await other.hdel(`${prefix}c`, `v:${key}`);
          },
        ),
        { numRuns: 60 },
      );
    } finally {
      await tier.close();
      client.disconnect();
    }
  });

  it('a foreign tag time is ignored by reads too, and the next invalidation of the tag replaces it', async () => {
    const { tier, client } = await measuredTier();
    try {
      const far = (await redisNow()) + 10 * MAX_AHEAD_MS;
      await other.set(`${prefix}t:shop`, String(far));
      await tier.set('item', record('v1', ['shop'], 10));
      // Another tag's invalidation raises <prefix>i: the read goes through the read script, which checks "shop".
      await tier.invalidateTags(['unrelated'], Date.now());
      const scriptReads = tier.stats().scriptReads;
      expect((await tier.get('item'))?.value).toBe('v1');
      expect(tier.stats().scriptReads).toBe(scriptReads + 1);
      // An invalidation of the tag replaces the foreign time (it is lower than it), and invalidates the entry.
      const now = Date.now();
      await tier.invalidateTags(['shop'], now);
      expect(Number(await other.get(`${prefix}t:shop`))).toBeLessThan(far);
      expect(await tier.get('item')).toBeUndefined();
    } finally {
      await tier.close();
      client.disconnect();
    }
  });

  it('clear() removes entries dated far in the future, and records its time over a foreign one', async () => {
    const { tier, client } = await measuredTier();
    try {
      const far = (await redisNow()) + 10 * MAX_AHEAD_MS;
      await other.set(`${prefix}v:ns:a`, `L1[${far},[],null,null,null]\nJ"forged"`);
      await other.hset(`${prefix}c`, 'v:ns:', String(far + 1));
      await tier.clear('ns:');
      expect(await other.exists(`${prefix}v:ns:a`)).toBe(0);
      expect(Number(await other.hget(`${prefix}c`, 'v:ns:'))).toBeLessThan(far);
    } finally {
      await tier.close();
      client.disconnect();
    }
  });

  it('within the allowance, times keep their meaning: a newer entry or tombstone still refuses an older write (property)', async () => {
    const { tier, client } = await measuredTier();
    let run = 0;
    try {
      await fc.assert(
        fc.asyncProperty(
          // The stored time relative to the write's createdAt: from 10 s before to just inside the allowance.
          fc.integer({ min: -10_000, max: MAX_AHEAD_MS - 30_000 }),
          fc.constantFrom('entry', 'tombstone', 'tag time', 'clear time'),
          async (delta, kind) => {
            const n = run++;
            const key = `w${n}`;
            const rkey = `${prefix}v:${key}`;
            const write = record(`mine ${n}`, kind === 'tag time' ? [`W${n}`] : [], 10);
            // The write's createdAt on the Redis clock (the tier adds its measured offset).
            const created = Math.round(write.createdAt + tier.stats().clockOffset);
            const at = created + delta;
            if (kind === 'entry') await other.set(rkey, `L1[${at},[],null,null,null]\nJ"theirs"`);
            if (kind === 'tombstone') await other.set(rkey, `L1[${at}]\n`);
            if (kind === 'tag time') await other.set(`${prefix}t:W${n}`, String(at));
            if (kind === 'clear time') await other.hset(`${prefix}c`, `v:${key}`, String(at));
            const before = tier.stats();
            await tier.set(key, write);
            const wrote = tier.stats().writes - before.writes === 1;
            // An entry wins only when strictly newer; a deletion, tag or clear at the same time already refuses.
            const refuses = kind === 'entry' ? at > created : at >= created;
            expect(wrote, `${kind} ${delta}`).toBe(!refuses);
            const stored = String(await other.get(rkey));
            if (refuses) expect(stored.includes(`mine ${n}`)).toBe(false);
            else expect(stored.endsWith(`"mine ${n}"`)).toBe(true);
            await other.hdel(`${prefix}c`, `v:${key}`);
          },
        ),
        { numRuns: 60 },
      );
    } finally {
      await tier.close();
      client.disconnect();
    }
  });

  it('a legitimately newer write still wins, and an older one still loses', async () => {
    const { tier, client } = await measuredTier();
    try {
      await tier.set('k', record('newer', [], 0));
      await tier.set('k', record('older', [], 5_000));
      expect((await tier.get('k'))?.value).toBe('newer');
      await tier.set('k', record('newest', [], -1_000));
      expect((await tier.get('k'))?.value).toBe('newest');
      expect(tier.stats()).toMatchObject({ writes: 3, refused: 1 });
    } finally {
      await tier.close();
      client.disconnect();
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

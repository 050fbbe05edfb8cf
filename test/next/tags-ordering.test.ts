/**
 * Tag records only move forward, whatever order invalidations reach Redis in: replayed after an outage, racing
 * between instances, or a second one sent while the first is in flight. The merge (mergeTag in JS, MERGE_SCRIPT
 * in Redis) is checked by properties, and the handlers end to end through a proxy that cuts or slows Redis.
 */
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { runCommand } from '../../src/next/connection.js';
import { createIncrementalCacheHandler, type IncrementalCacheHandler } from '../../src/next/index.js';
import { withScope } from '../../src/next/runtime.js';
import { MERGE_SCRIPT, mergeTag, type TagState, TagTable } from '../../src/next/tags.js';
import { nextRedisSuite } from '../helpers/next-redis-suite.js';
import { redisForTests, waitFor } from '../helpers/redis-server.js';
import { OutageProxy, runtimeOf } from './outage-proxy.js';

const url = await redisForTests('larder/next tag ordering');

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The merge time of the properties, and how long records concern entries (`maxTtl` plus the margin). */
const NOW = 1_800_000_000_000;
const TTL = 10_000;

/** What the handlers decide for an entry made at `t`, checked at `at` (as TagTable.check and Next.js do). */
function verdict(state: TagState | undefined, t: number, at: number): number {
  if (state === undefined) return 0;
  if (state.expired !== undefined && state.expired <= at && state.expired > t) return 2;
  if (state.stale !== undefined && state.stale > t) return 1;
  return 0;
}

const text = (state: TagState | undefined) => `${state?.stale ?? ''},${state?.expired ?? ''}`;

/** An invalidation made before NOW: immediate, stale only, or stale with an expiry (some beyond TTL). */
const change: fc.Arbitrary<TagState> = fc
  .tuple(fc.integer({ min: NOW - 2 * TTL, max: NOW }), fc.integer({ min: 0, max: 2 }), fc.nat(2 * TTL))
  .map(
    ([at, kind, expire]): TagState =>
      kind === 0 ? { expired: at } : kind === 1 ? { stale: at } : { stale: at, expired: at + expire },
  );

/** A record found in Redis, including ones older versions wrote (an expiry a year ahead). */
const record: fc.Arbitrary<TagState> = fc.record(
  {
    stale: fc.integer({ min: NOW - 3 * TTL, max: NOW }),
    expired: fc.oneof(
      fc.integer({ min: NOW - 3 * TTL, max: NOW + 3 * TTL }),
      fc.constant(NOW + 31_536_000_000),
    ),
  },
  { requiredKeys: [] },
);

const fold = (start: TagState | undefined, changes: readonly TagState[]): TagState | undefined =>
  changes.reduce<TagState | undefined>((state, c) => mergeTag(state, c, NOW, TTL), start);

describe('mergeTag: a record only moves forward', () => {
  it('keeps the later of two passed expiries, and brings an expiry to come forward', () => {
    // A replayed older invalidation does not undo a newer one.
    expect(mergeTag({ expired: NOW - 100 }, { expired: NOW - 200 }, NOW, TTL)).toEqual({
      expired: NOW - 100,
    });
    // An immediate invalidation brings a profile's expiry forward; a profile never pushes one back.
    expect(mergeTag({ stale: NOW - 50, expired: NOW + 5000 }, { expired: NOW - 10 }, NOW, TTL)).toEqual({
      stale: NOW - 50,
      expired: NOW - 10,
    });
    expect(
      mergeTag({ stale: NOW - 50, expired: NOW + 5000 }, { stale: NOW, expired: NOW + 8000 }, NOW, TTL),
    ).toEqual({ stale: NOW, expired: NOW + 5000 });
    // An entry already expired stays expired: a later profile does not turn it into a stale one.
    expect(mergeTag({ expired: NOW - 100 }, { stale: NOW, expired: NOW + 5000 }, NOW, TTL)).toEqual({
      stale: NOW,
      expired: NOW - 100,
    });
    // ... unless that expiry concerns no entry any more.
    expect(mergeTag({ expired: NOW - 2 * TTL }, { stale: NOW, expired: NOW + 5000 }, NOW, TTL)).toEqual({
      stale: NOW,
      expired: NOW + 5000,
    });
    // The stale time never moves back.
    expect(mergeTag({ stale: NOW }, { stale: NOW - 100 }, NOW, TTL)).toEqual({ stale: NOW });
  });

  it("drops an expiry TTL or more ahead (revalidateTag(tag, 'max')): the tag is stale only", () => {
    expect(mergeTag(undefined, { stale: NOW, expired: NOW + 31_536_000_000 }, NOW, TTL)).toEqual({
      stale: NOW,
    });
    expect(mergeTag(undefined, { stale: NOW, expired: NOW + TTL - 1 }, NOW, TTL)).toEqual({
      stale: NOW,
      expired: NOW + TTL - 1,
    });
    // A year-long expiry an older version wrote gives way too.
    expect(mergeTag({ stale: NOW - 5, expired: NOW + 31_536_000_000 }, { stale: NOW }, NOW, TTL)).toEqual({
      stale: NOW,
    });
  });

  it('gives the same record for any order, grouping or repetition of the same changes (property)', () => {
    fc.assert(
      fc.property(
        fc.option(record, { nil: undefined }),
        fc.array(change, { minLength: 1, maxLength: 12 }),
        fc.nat(),
        (start, changes, seed) => {
          const inTimeOrder = [...changes].sort(
            (a, b) => (a.stale ?? a.expired ?? 0) - (b.stale ?? b.expired ?? 0),
          );
          const shuffled = fc.sample(fc.shuffledSubarray(changes, { minLength: changes.length }), {
            seed,
            numRuns: 1,
          })[0] as TagState[];
          const expected = fold(start, inTimeOrder);
          expect(fold(start, shuffled)).toEqual(expected);
          expect(fold(start, [...shuffled, ...changes])).toEqual(expected);
          // Changes merged among themselves first (one tick's batch, the changes kept during an outage).
          const split = seed % (changes.length + 1);
          const kept = fold(undefined, changes.slice(split));
          const grouped = fold(start, changes.slice(0, split));
          expect(kept === undefined ? grouped : mergeTag(grouped, kept, NOW, TTL)).toEqual(expected);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('never makes an entry already stale or expired servable again, at any later time (property)', () => {
    fc.assert(
      fc.property(
        fc.option(record, { nil: undefined }),
        change,
        // Entries that can still exist (made less than TTL ago), checked now or later.
        fc.integer({ min: NOW - TTL + 1, max: NOW }),
        fc.nat(3 * TTL),
        (old, c, t, later) => {
          const merged = mergeTag(old, c, NOW, TTL);
          const after = verdict(merged, t, NOW + later);
          expect(after).toBeGreaterThanOrEqual(verdict(old, t, NOW));
          expect(after).toBeGreaterThanOrEqual(verdict(mergeTag(undefined, c, NOW, TTL), t, NOW));
        },
      ),
      { numRuns: 5000 },
    );
  });
});

describe.runIf(url !== undefined)('tag invalidations against Redis', () => {
  const redisUrl = url as string;
  const target = new URL(redisUrl);
  const suite = nextRedisSuite(redisUrl, 'next-tags');
  const prefix = suite.prefix;

  const proxy = async (): Promise<OutageProxy> => {
    const p = new OutageProxy(target.hostname, Number(target.port || 6379));
    await p.start();
    return p;
  };

  function handler(scope: string, redisUrl: string, p: string, timeout = 250): IncrementalCacheHandler {
    return withScope(scope, () => {
      const H = createIncrementalCacheHandler({
        redisUrl,
        prefix: p,
        buildId: 'b1',
        timeout,
        onError: () => {},
      });
      return new H({});
    });
  }

  const page = (tags: string) => ({
    kind: 'APP_PAGE',
    html: '<html>v</html>',
    rscData: Buffer.from([0, 1, 2]),
    headers: { 'x-next-cache-tags': tags },
    status: 200,
    segmentData: new Map([['/_tree', Buffer.from('tree')]]),
  });
  const forever = { cacheControl: { revalidate: false as const, expire: undefined } };
  const APP_PAGE = { kind: 'APP_PAGE', isFallback: false };

  it('the Lua merge gives the record mergeTag gives, for changes sent in any order and grouping (property)', async () => {
    const p = prefix();
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.option(record, { nil: undefined }),
        fc.array(fc.tuple(fc.constantFrom('a', 'b', 'c'), change), { minLength: 1, maxLength: 10 }),
        fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 10, maxLength: 10 }),
        async (start, changes, groups) => {
          const keys = [`${p}${++run}:tags`, `${p}${run}:tagtimes`] as const;
          if (start !== undefined) await suite.admin().hset(keys[0], 'a', text(start));
          // Send the changes in script calls of 1 to 4 tags each (a tag may appear twice in one call).
          for (let i = 0, g = 0; i < changes.length; g++) {
            const call = changes.slice(i, i + (groups[g % groups.length] as number));
            i += call.length;
            const args = call.flatMap(([tag, c]) => [tag, c.stale ?? '', c.expired ?? '']);
            await suite.admin().eval(MERGE_SCRIPT, 2, keys[0], keys[1], NOW, TTL, ...args);
          }
          for (const tag of ['a', 'b', 'c']) {
            const mine = changes.filter(([t]) => t === tag).map(([, c]) => c);
            if (mine.length === 0) continue;
            expect(await suite.admin().hget(keys[0], tag)).toBe(
              text(fold(tag === 'a' ? start : undefined, mine)),
            );
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it('a revalidateTag replayed after an outage does not roll back a newer one made elsewhere', async () => {
    const p = prefix();
    const cut = await proxy();
    const a = handler('replay-a', cut.url, p); // reaches Redis through the proxy
    const b = handler('replay-b', redisUrl, p);
    const c = handler('replay-c', redisUrl, p);
    await Promise.all([a, b, c].map((h) => h.get('warm', { kind: 'FETCH' })));

    // A loses Redis and invalidates 'posts' at T1 (applied locally, kept for the replay).
    await cut.cut();
    await waitFor(() => !runtimeOf('replay-a').synced);
    await a.revalidateTag('posts');
    expect(runtimeOf('replay-a').tags.unsent).toBe(1);
    await sleep(20);
    // C renders /blog at T2; then B invalidates 'posts' at T3: /blog is out of date.
    await c.set('/blog', page('_N_T_/blog,posts'), forever);
    await sleep(20);
    await b.revalidateTag('posts');
    await waitFor(async () => (await c.get('/blog', APP_PAGE)) === null, 3000);
    const newer = runtimeOf('replay-c').tags.get('posts');

    // A comes back and replays T1.
    await cut.restore();
    await waitFor(() => runtimeOf('replay-a').synced && runtimeOf('replay-a').tags.unsent === 0, 10_000);
    await sleep(300); // C and B receive A's message and re-read the record
    expect(runtimeOf('replay-c').tags.get('posts')).toEqual(newer);
    expect(await suite.admin().hget(`${p}tags`, 'posts')).toBe(text(newer));
    expect(await c.get('/blog', APP_PAGE)).toBeNull();
    expect(await b.get('/blog', APP_PAGE)).toBeNull();
    expect(await a.get('/blog', APP_PAGE)).toBeNull();
    await cut.cut();
  });

  it('every invalidation made during an outage reaches the other instances: 1001 of one tag, 1200 distinct tags', async () => {
    const p = prefix();
    const cut = await proxy();
    const a = handler('many-a', cut.url, p);
    const b = handler('many-b', redisUrl, p);
    await Promise.all([a.get('warm', { kind: 'FETCH' }), b.get('warm', { kind: 'FETCH' })]);
    await b.set('/blog', page('posts'), forever);
    await b.set('/item', page('item-1199'), forever);
    await sleep(5);

    await cut.cut();
    await waitFor(() => !runtimeOf('many-a').synced);
    // A CMS webhook firing once per edited item while Redis is unreachable.
    for (let i = 0; i < 1001; i++) await a.revalidateTag('posts');
    for (let i = 0; i < 1200; i++) await a.revalidateTag(`item-${i}`);

    await cut.restore();
    await waitFor(() => runtimeOf('many-a').synced && runtimeOf('many-a').tags.unsent === 0, 10_000);
    await waitFor(async () => (await b.get('/blog', APP_PAGE)) === null, 3000);
    await waitFor(async () => (await b.get('/item', APP_PAGE)) === null, 3000);
    expect(await suite.admin().hlen(`${p}tags`)).toBe(1201);
    await cut.cut();
  });

  it('more tags than it keeps during an outage: the table writes back every tag it invalidated, none lost', async () => {
    const p = prefix();
    const cut = await proxy();
    const client = new Redis(cut.url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => 50,
    });
    client.on('error', () => {});
    const published: string[] = [];
    const reports: unknown[] = [];
    const table = new TagTable(
      p,
      {
        run: (send) => runCommand(client, 1000, send),
        ready: () => client.status === 'ready',
        publish: async (tags) => {
          published.push(...tags);
        },
      },
      60_000,
      undefined,
      (error) => reports.push(error),
      3, // keeps the changes of 3 tags
    );
    try {
      await waitFor(() => client.status === 'ready');
      await table.sync(0, 0);
      await table.update(['before'], undefined);
      expect(await suite.admin().hexists(`${p}tags`, 'before')).toBe(1);

      await cut.cut();
      await waitFor(() => client.status !== 'ready');
      const tags = ['t1', 't2', 't3', 't4', 't5'];
      for (const tag of tags) await table.update([tag], undefined);
      await table.update(['t6'], { expire: 30 });
      expect(table.unsent).toBeGreaterThan(0);

      await cut.restore();
      await waitFor(() => client.status === 'ready', 5000);
      published.length = 0;
      await table.sync(Date.now(), 0);
      expect(table.unsent).toBe(0);
      for (const tag of [...tags, 't6']) {
        expect(await suite.admin().hget(`${p}tags`, tag)).toBe(text(table.get(tag)));
        expect(published).toContain(tag);
      }
      expect(table.get('t6')?.stale).toBeDefined();
      expect(table.get('t6')?.expired).toBeGreaterThan(Date.now());
      expect(reports).toHaveLength(1); // the overflow is told once, not per call
    } finally {
      client.disconnect();
      await cut.cut();
    }
  });

  it('a second revalidateTag made while the first is being sent is applied and sent', async () => {
    const p = prefix();
    const slow = await proxy();
    const a = handler('inflight-a', slow.url, p, 2000); // a slow or distant Redis
    const b = handler('inflight-b', redisUrl, p);
    await Promise.all([a.get('warm', { kind: 'FETCH' }), b.get('warm', { kind: 'FETCH' })]);
    slow.delayMs = 20;

    const first = a.revalidateTag('posts'); // data changed: invalidate (its write takes ~40 ms)
    await sleep(15);
    const stored = a.set('/blog', page('posts'), forever); // the page rendered with the new data
    await sleep(15);
    const second = a.revalidateTag('posts'); // data changed again, while the first write is in flight
    await Promise.all([first, second, stored]);

    expect(await a.get('/blog', APP_PAGE)).toBeNull();
    await waitFor(async () => (await b.get('/blog', APP_PAGE)) === null, 3000);
    await slow.cut();
  });
});

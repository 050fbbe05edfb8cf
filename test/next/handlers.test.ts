import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createIncrementalCacheHandler,
  createUseCacheHandler,
  type IncrementalCacheHandler,
  type UseCacheEntry,
  type UseCacheHandler,
} from '../../src/next/index.js';
import { closeRuntimes, withScope } from '../../src/next/runtime.js';
import { nextRedisSuite } from '../helpers/next-redis-suite.js';
import {
  deleteKeys,
  hasRedisServerBinary,
  RedisServer,
  redisForTests,
  waitFor,
} from '../helpers/redis-server.js';

const url = await redisForTests('larder/next handlers');

function streamOf(text: string): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(c) {
      c.enqueue(new TextEncoder().encode(text));
      c.close();
    },
  });
}

async function text(stream: ReadableStream<Uint8Array>): Promise<string> {
  return new Response(stream).text();
}

function entry(value: string, over: Partial<UseCacheEntry> = {}): UseCacheEntry {
  return {
    value: streamOf(value),
    tags: ['t1'],
    stale: 30,
    timestamp: Date.now(),
    expire: 3600,
    revalidate: 900,
    ...over,
  };
}

interface Instance {
  inc: IncrementalCacheHandler;
  uc: UseCacheHandler;
}

let counter = 0;
function instance(redisUrl: string, prefix: string, extra: Record<string, unknown> = {}): Instance {
  return withScope(`instance-${++counter}`, () => {
    const Inc = createIncrementalCacheHandler({ redisUrl, prefix, buildId: 'b1', ...extra });
    return { inc: new Inc({}), uc: createUseCacheHandler({ redisUrl, prefix, buildId: 'b1', ...extra }) };
  });
}

/** Waits until an instance's tag table is loaded (its first read answers from Redis). */
async function warm(i: Instance): Promise<void> {
  await i.inc.get('warm-up', { kind: 'FETCH' });
}

const page = () => ({
  kind: 'APP_PAGE',
  html: '<html>hello</html>',
  rscData: Buffer.from([0, 1, 2, 255, 254]),
  headers: { 'x-next-cache-tags': '_N_T_/layout,_N_T_/blog,posts', 'x-custom': 'y' },
  postponed: undefined,
  status: 200,
  segmentData: new Map([
    ['/_tree', Buffer.from('tree')],
    ['/_index', Buffer.from([9, 8, 7])],
  ]),
});

describe('larder/next in V8', () => {
  // ioredis (imported above, and by larder/next) runs `class VerbatimString extends String`, which turns
  // String.prototype into a dictionary; left so, every string method call in optimized code is a generic
  // lookup, and Next.js's ETag hash of each page ran 4-5 times slower in `next start` (issue 8's benchmark).
  it('leaves String.prototype with fast properties once ioredis is loaded', () => {
    setFlagsFromString('--allow-natives-syntax');
    const hasFastProperties = new Function('o', 'return %HasFastProperties(o)') as (o: object) => boolean;
    // The probe tells: a class extending String in a new realm leaves that realm's String.prototype slow.
    const other = runInNewContext('class V extends String {}; String.prototype') as object;
    expect(hasFastProperties(other)).toBe(false);
    expect(hasFastProperties(String.prototype)).toBe(true);
  });
});

describe.runIf(url !== undefined)('larder/next handlers against Redis', () => {
  const redisUrl = url as string;
  const suite = nextRedisSuite(redisUrl, 'next');
  const prefix = suite.prefix;

  it('shares a page entry between instances with Buffer, Map, lastModified and cacheControl intact', async () => {
    const p = prefix();
    const a = instance(redisUrl, p);
    const b = instance(redisUrl, p);
    await Promise.all([warm(a), warm(b)]);
    await a.inc.set('/page', page(), { cacheControl: { revalidate: 60, expire: 3600 } });
    const got = await b.inc.get('/page', { kind: 'APP_PAGE', isFallback: false });
    expect(got).not.toBeNull();
    const value = got?.value as ReturnType<typeof page>;
    expect(Buffer.isBuffer(value.rscData)).toBe(true);
    expect([...value.rscData]).toEqual([0, 1, 2, 255, 254]);
    expect(value.segmentData).toBeInstanceOf(Map);
    expect(value.segmentData.get('/_tree')?.toString()).toBe('tree');
    expect(Buffer.isBuffer(value.segmentData.get('/_index'))).toBe(true);
    expect(value.html).toBe('<html>hello</html>');
    expect(got?.cacheControl).toEqual({ revalidate: 60, expire: 3600 });
    const own = await a.inc.get('/page', { kind: 'APP_PAGE', isFallback: false });
    expect(got?.lastModified).toBe(own?.lastModified);
  });

  it('restores streams as a new stream on every read', async () => {
    const p = prefix();
    const a = instance(redisUrl, p);
    const b = instance(redisUrl, p);
    await Promise.all([warm(a), warm(b)]);
    await a.inc.set('/s', { kind: 'APP_ROUTE', body: streamOf('streamed'), status: 200, headers: {} }, {});
    for (const i of [a, a, b, b]) {
      const got = await i.inc.get('/s', { kind: 'APP_ROUTE', isFallback: false });
      expect(got).not.toBeNull();
      expect(await text((got as { value: { body: ReadableStream<Uint8Array> } }).value.body)).toBe(
        'streamed',
      );
    }
  });

  it('revalidateTag on one instance makes the entry a miss on every instance, without touching others', async () => {
    const p = prefix();
    const a = instance(redisUrl, p);
    const b = instance(redisUrl, p);
    await Promise.all([warm(a), warm(b)]);
    await a.inc.set('/tagged', page(), { cacheControl: { revalidate: false, expire: undefined } });
    await a.inc.set(
      'f1',
      { kind: 'FETCH', data: { headers: {}, body: 'x', url: 'u' }, revalidate: 60 },
      {
        fetchCache: true,
        tags: ['other'],
      },
    );
    expect(await b.inc.get('/tagged', { kind: 'APP_PAGE' })).not.toBeNull();
    await new Promise((r) => setTimeout(r, 2));
    await a.inc.revalidateTag('posts');
    expect(await a.inc.get('/tagged', { kind: 'APP_PAGE' })).toBeNull();
    await waitFor(async () => (await b.inc.get('/tagged', { kind: 'APP_PAGE' })) === null, 3000);
    expect(await b.inc.get('f1', { kind: 'FETCH', tags: ['other'] })).not.toBeNull();
    // A regenerated entry (created after the invalidation) is fresh again everywhere.
    await new Promise((r) => setTimeout(r, 2));
    await b.inc.set('/tagged', page(), { cacheControl: { revalidate: false, expire: undefined } });
    expect(await a.inc.get('/tagged', { kind: 'APP_PAGE' })).not.toBeNull();
  });

  it('revalidatePath arrives as a soft tag and invalidates fetch entries of that path', async () => {
    const p = prefix();
    const a = instance(redisUrl, p);
    const b = instance(redisUrl, p);
    await Promise.all([warm(a), warm(b)]);
    const data = { kind: 'FETCH', data: { headers: {}, body: 'x', url: 'u' }, revalidate: 60 };
    await a.inc.set('f', data, { fetchCache: true, tags: ['t'] });
    await new Promise((r) => setTimeout(r, 2));
    await b.inc.revalidateTag(['_N_T_/blog']);
    await waitFor(
      async () => (await a.inc.get('f', { kind: 'FETCH', tags: ['t'], softTags: ['_N_T_/blog'] })) === null,
      3000,
    );
    expect(await a.inc.get('f', { kind: 'FETCH', tags: ['t'], softTags: ['_N_T_/other'] })).not.toBeNull();
  });

  it("'use cache': new stream per get, pending set awaited, expire 0 not stored, tags and soft tags", async () => {
    const p = prefix();
    const a = instance(redisUrl, p);
    const b = instance(redisUrl, p);
    await Promise.all([warm(a), warm(b)]);
    let release!: (e: UseCacheEntry) => void;
    const pending = new Promise<UseCacheEntry>((r) => {
      release = r;
    });
    const setting = a.uc.set('k1', pending);
    const getting = a.uc.get('k1', []);
    release(entry('v1'));
    await setting;
    const first = await getting;
    expect(first).toBeDefined();
    expect(await text(first?.value as ReadableStream<Uint8Array>)).toBe('v1');
    const again = await a.uc.get('k1', []);
    expect(await text(again?.value as ReadableStream<Uint8Array>)).toBe('v1');
    const remote = await b.uc.get('k1', ['_N_T_/x']);
    expect(await text(remote?.value as ReadableStream<Uint8Array>)).toBe('v1');
    expect(remote?.revalidate).toBe(900);
    expect(remote?.tags).toEqual(['t1']);

    await a.uc.set('k0', Promise.resolve(entry('dyn', { expire: 0 })));
    expect(await a.uc.get('k0', [])).toBeUndefined();

    const broken = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new Uint8Array([1]));
        c.error(new Error('render failed'));
      },
    });
    await a.uc.set('kerr', Promise.resolve(entry('', { value: broken })));
    expect(await a.uc.get('kerr', [])).toBeUndefined();

    expect(await a.uc.getExpiration(['t1'])).toBe(Number.POSITIVE_INFINITY);
    await new Promise((r) => setTimeout(r, 2));
    await a.uc.updateTags(['_N_T_/x']);
    expect(await a.uc.get('k1', ['_N_T_/x'])).toBeUndefined();
    expect(await a.uc.get('k1', ['_N_T_/y'])).toBeDefined();
    await waitFor(async () => (await b.uc.get('k1', ['_N_T_/x'])) === undefined, 3000);
  });

  it('a stale tag (revalidateTag with a profile) gives revalidate -1, and an expired one a miss', async () => {
    const p = prefix();
    const a = instance(redisUrl, p);
    const b = instance(redisUrl, p);
    await Promise.all([warm(a), warm(b)]);
    await a.uc.set('k', Promise.resolve(entry('v', { tags: ['s'] })));
    await new Promise((r) => setTimeout(r, 2));
    await a.uc.updateTags(['s'], { expire: 3600 });
    expect((await a.uc.get('k', []))?.revalidate).toBe(-1);
    await waitFor(async () => (await b.uc.get('k', []))?.revalidate === -1, 3000);
    await a.uc.updateTags(['s']);
    expect(await a.uc.get('k', [])).toBeUndefined();
    // revalidateTag(tag, 'max') (a year): served stale on every instance while it regenerates, never a miss.
    await a.uc.set('m', Promise.resolve(entry('v', { tags: ['m'] })));
    await new Promise((r) => setTimeout(r, 2));
    await a.uc.updateTags(['m'], { expire: 60 * 60 * 24 * 365 });
    expect((await a.uc.get('m', []))?.revalidate).toBe(-1);
    await waitFor(async () => (await b.uc.get('m', []))?.revalidate === -1, 3000);
  });

  it('applies revalidateTag and updateTags of one invalidation once (one bus message)', async () => {
    const p = prefix();
    const a = instance(redisUrl, p);
    await warm(a);
    const sub = new Redis(redisUrl);
    const seen: string[] = [];
    await sub.subscribe(`${p}bus`);
    sub.on('message', (_c, m: string) => seen.push(m));
    await Promise.all([a.uc.updateTags(['once']), a.inc.revalidateTag(['once'])]);
    await new Promise((r) => setTimeout(r, 100));
    expect(seen.filter((m) => m.includes('"tags"'))).toHaveLength(1);
    // As revalidateTags() in Next.js 16: updateTags on each 'use cache' handler (default and remote), then the
    // incremental cache's revalidateTag, with the same tags and durations, in one synchronous loop.
    const remote = withScope(`instance-${counter}`, () =>
      createUseCacheHandler({ redisUrl, prefix: p, buildId: 'b1' }),
    );
    await Promise.all([
      a.uc.updateTags(['one', 'two'], { expire: 60 }),
      remote.updateTags(['one', 'two'], { expire: 60 }),
      a.inc.revalidateTag(['one', 'two'], { expire: 60 }),
    ]);
    await new Promise((r) => setTimeout(r, 100));
    expect(seen.filter((m) => m.includes('"tags"'))).toHaveLength(2);
    // The same call made later, while the first is still being written, is another invalidation: written too.
    const first = a.inc.revalidateTag(['one', 'two'], { expire: 60 });
    await new Promise((r) => setImmediate(r));
    const second = a.inc.revalidateTag(['one', 'two'], { expire: 60 });
    await Promise.all([first, second]);
    await new Promise((r) => setTimeout(r, 100));
    sub.disconnect();
    expect(seen.filter((m) => m.includes('"tags"'))).toHaveLength(4);
  });

  it('keeps handlers on different Redis databases (/1, /2) apart: each database has its own bus channel', async () => {
    const p = prefix();
    const a = instance(`${redisUrl}/1`, p);
    const b = instance(`${redisUrl}/2`, p);
    const dbs = [1, 2].map((db) => new Redis(redisUrl, { db }));
    const sub = new Redis(redisUrl);
    try {
      await Promise.all([warm(a), warm(b)]);
      const heard = new Map<string, string[]>([
        [`${p}bus`, []],
        [`${p}bus:db1`, []],
        [`${p}bus:db2`, []],
      ]);
      sub.on('message', (channel: string, m: string) => heard.get(channel)?.push(m));
      await sub.subscribe(...heard.keys());
      await a.inc.revalidateTag('only-db1');
      await b.uc.updateTags(['only-db2']);
      await new Promise((r) => setTimeout(r, 100));
      expect(heard.get(`${p}bus`)).toEqual([]);
      expect(heard.get(`${p}bus:db1`)?.filter((m) => m.includes('only-db1'))).toHaveLength(1);
      expect(heard.get(`${p}bus:db1`)?.some((m) => m.includes('only-db2'))).toBe(false);
      expect(heard.get(`${p}bus:db2`)?.filter((m) => m.includes('only-db2'))).toHaveLength(1);
      expect(heard.get(`${p}bus:db2`)?.some((m) => m.includes('only-db1'))).toBe(false);
    } finally {
      sub.disconnect();
      await closeRuntimes();
      for (const db of dbs) {
        await deleteKeys(db, p);
        db.disconnect();
      }
    }
  });

  it('keeps two deployments apart', async () => {
    const p = prefix();
    const a = instance(redisUrl, p, { buildId: 'deploy-1' });
    const b = instance(redisUrl, p, { buildId: 'deploy-2' });
    await Promise.all([warm(a), warm(b)]);
    await a.inc.set('/x', page(), {});
    expect(await a.inc.get('/x', { kind: 'APP_PAGE' })).not.toBeNull();
    expect(await b.inc.get('/x', { kind: 'APP_PAGE' })).toBeNull();
  });

  it('a restarted instance serves from Redis and honours revalidations made while it was down', async () => {
    const p = prefix();
    const a = instance(redisUrl, p);
    await warm(a);
    await a.inc.set('/kept', page(), {});
    await a.inc.set(
      'f',
      { kind: 'FETCH', data: { body: 'x' }, revalidate: 1 },
      { fetchCache: true, tags: ['gone'] },
    );
    await new Promise((r) => setTimeout(r, 2));
    await a.inc.revalidateTag('gone');
    const c = instance(redisUrl, p);
    expect(await c.inc.get('/kept', { kind: 'APP_PAGE' })).not.toBeNull();
    expect(await c.inc.get('f', { kind: 'FETCH', tags: ['gone'] })).toBeNull();
  });

  it('keeps the tag table bounded: records older than their lifetime are dropped by later writes', async () => {
    const p = prefix();
    const a = instance(redisUrl, p, { maxTtl: 50 });
    await warm(a);
    await a.inc.revalidateTag('old');
    // revalidateTag(tag, 'max'): a year-long expiry, far beyond every entry's life (maxTtl), so the tag is only
    // stale: entries made before are served stale once while they regenerate, and the record is not kept a year.
    await a.uc.updateTags(['posts'], { expire: 60 * 60 * 24 * 365 });
    expect(await suite.admin().hexists(`${p}tags`, 'old')).toBe(1);
    expect(await suite.admin().hget(`${p}tags`, 'posts')).toMatch(/^\d+,$/);
    await new Promise((r) => setTimeout(r, 150));
    await a.inc.revalidateTag('new');
    for (const tag of ['old', 'posts']) {
      expect(await suite.admin().hexists(`${p}tags`, tag)).toBe(0);
      expect(await suite.admin().zscore(`${p}tagtimes`, tag)).toBeNull();
    }
    expect(await suite.admin().hexists(`${p}tags`, 'new')).toBe(1);
  });

  it('opens two connections per process, however many handlers Next.js constructs', async () => {
    const p = prefix();
    // A name of this test's own: other processes (Next.js e2e servers, the other vitest project) open
    // `larder-next` connections of their own at the same time.
    const name = `larder-next-conn-${process.pid}-${Date.now()}`;
    const count = async () =>
      String(await suite.admin().client('LIST'))
        .split('\n')
        .filter((l: string) => l.includes(` name=${name} `)).length;
    const before = await count();
    const Inc = withScope('conn', () =>
      createIncrementalCacheHandler({ redisUrl, prefix: p, buildId: 'b', client: { connectionName: name } }),
    );
    await new Inc({}).get('x', { kind: 'FETCH' });
    const afterFirst = await count();
    for (let i = 0; i < 200; i++) {
      const h = new Inc({});
      await h.get(`k${i}`, { kind: 'FETCH' });
      await h.set(`k${i}`, { kind: 'FETCH', data: { body: 'x' }, revalidate: 60 }, { fetchCache: true });
    }
    expect(await count()).toBe(afterFirst);
    expect(before).toBe(0);
    expect(afterFirst).toBeGreaterThanOrEqual(1);
    expect(afterFirst).toBeLessThanOrEqual(2);
  });

  it('validates options with errors naming them', () => {
    expect(() => createIncrementalCacheHandler({ maxMemory: -1 })).toThrow(/maxMemory/);
    expect(() => createUseCacheHandler({ timeout: 'soon' as '1s' })).toThrow(/timeout/);
    expect(() => createUseCacheHandler({ prefix: '' })).toThrow(/prefix/);
    expect(() => createIncrementalCacheHandler({ nope: 1 } as never)).toThrow(/unknown option nope/);
  });

  it('works in memory only without a Redis URL, and during next build', async () => {
    const Inc = withScope('mem', () => createIncrementalCacheHandler({ redisUrl: '', buildId: 'b' }));
    const h = new Inc({});
    await h.set('/m', page(), {});
    expect(await h.get('/m', { kind: 'APP_PAGE' })).not.toBeNull();
    await new Promise((r) => setTimeout(r, 2));
    await h.revalidateTag('posts');
    expect(await h.get('/m', { kind: 'APP_PAGE' })).toBeNull();

    // A name of this test's own: other processes open `larder-next` connections at the same time.
    const name = `larder-next-build-${process.pid}-${Date.now()}`;
    const count = async () =>
      String(await suite.admin().client('LIST'))
        .split('\n')
        .filter((l: string) => l.includes(` name=${name} `)).length;
    process.env.NEXT_PHASE = 'phase-production-build';
    try {
      const uc = withScope('build', () =>
        createUseCacheHandler({ redisUrl, prefix: prefix(), buildId: 'b', client: { connectionName: name } }),
      );
      await uc.set('k', Promise.resolve(entry('v')));
      expect(await text((await uc.get('k', []))?.value as ReadableStream<Uint8Array>)).toBe('v');
    } finally {
      delete process.env.NEXT_PHASE;
    }
    expect(await count()).toBe(0);
  });

  describe.runIf(hasRedisServerBinary('larder/next outage'))('when Redis goes down', () => {
    let server: RedisServer;
    beforeAll(async () => {
      server = await RedisServer.start();
    });
    afterAll(async () => {
      await closeRuntimes();
      await server.stop();
    });

    it('answers every call, distrusts memory older than the outage, and resyncs when Redis returns', async () => {
      const p = prefix();
      const errors: string[] = [];
      const opts = { onError: (_e: unknown, op: string) => errors.push(op), timeout: 200 };
      const a = instance(server.url, p, opts);
      const b = instance(server.url, p, opts);
      await Promise.all([warm(a), warm(b)]);
      await a.inc.set('/before', page(), {});
      await a.uc.set('u', Promise.resolve(entry('v', { tags: ['x'] })));
      expect(await b.inc.get('/before', { kind: 'APP_PAGE' })).not.toBeNull();

      await server.kill();
      // Memory copies from before the outage may have missed invalidations: not served.
      await waitFor(async () => (await b.inc.get('/before', { kind: 'APP_PAGE' })) === null, 3000);
      expect(await b.uc.get('u', [])).toBeUndefined();
      // Writes and invalidations answer; this instance keeps caching in memory and honours its own tags.
      await b.inc.set('/during', page(), {});
      expect(await b.inc.get('/during', { kind: 'APP_PAGE' })).not.toBeNull();
      await a.inc.revalidateTag('x');
      await a.uc.updateTags(['x']);
      expect(await a.uc.get('u', [])).toBeUndefined();
      expect(errors.length).toBeGreaterThan(0);

      await server.restart();
      // Caching resumes by itself: a fresh write on A reaches B through Redis.
      await waitFor(
        async () => {
          await a.inc.set('/after', page(), {});
          return (await b.inc.get('/after', { kind: 'APP_PAGE' })) !== null;
        },
        10_000,
        200,
      );
      // The invalidation made during the outage was replayed: B knows tag x expired.
      await new Promise((r) => setTimeout(r, 5));
      await b.uc.set('u2', Promise.resolve(entry('v', { tags: ['x'], timestamp: Date.now() - 60_000 })));
      expect(await b.uc.get('u2', [])).toBeUndefined();
    }, 30_000);
  });
});

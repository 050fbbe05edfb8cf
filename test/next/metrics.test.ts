/**
 * larder/next reports through larder/otel's instruments (cache.name next-incremental / next-use-cache, memory
 * vs Redis hits), exposes stats(), and writes a debug line per revalidation under LARDER_DEBUG.
 */
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  createIncrementalCacheHandler,
  createUseCacheHandler,
  type UseCacheEntry,
} from '../../src/next/index.js';
import { closeRuntimes, withScope } from '../../src/next/runtime.js';
import { instrument } from '../../src/otel/index.js';
import { deleteKeys, redisForTests, uniquePrefix } from '../helpers/redis-server.js';
import { metricsHarness } from '../otel/harness.js';

const url = await redisForTests('larder/next metrics');

function entry(value: string, over: Partial<UseCacheEntry> = {}): UseCacheEntry {
  return {
    value: new Response(value).body as ReadableStream<Uint8Array>,
    tags: ['t1'],
    stale: 30,
    timestamp: Date.now(),
    expire: 3600,
    revalidate: 900,
    ...over,
  };
}

const page = (html: string) => ({ kind: 'APP_PAGE', html, headers: {}, status: 200 });
let scopes = 0;

afterEach(async () => {
  await closeRuntimes();
  vi.restoreAllMocks();
  delete process.env.LARDER_DEBUG;
});

describe('larder/next stats() and metrics, memory only', () => {
  it('counts memory hits, misses, sets, revalidations and entries per handler', async () => {
    const { Inc, uc } = withScope(`m${++scopes}`, () => ({
      Inc: createIncrementalCacheHandler({ redisUrl: '', buildId: 'b' }),
      uc: createUseCacheHandler({ redisUrl: '', buildId: 'b' }),
    }));
    const inc = new Inc({});
    await inc.set('/a', page('a'), {});
    await inc.set('/b', page('b'), {});
    expect(await inc.get('/a', { kind: 'APP_PAGE' })).not.toBeNull();
    expect(await inc.get('/nope', { kind: 'APP_PAGE' })).toBeNull();
    await uc.set('k', Promise.resolve(entry('v')));
    expect(await uc.get('k', [])).toBeDefined();
    expect(await uc.get('k', [])).toBeDefined();
    await uc.updateTags(['t9']);
    expect(Inc.stats()).toMatchObject({
      hits: 1,
      misses: 1,
      staleHits: 0,
      sets: 2,
      revalidations: 0,
      entries: 2,
      redisHits: 0,
    });
    expect(inc.stats()).toEqual(Inc.stats());
    expect(uc.stats()).toMatchObject({ hits: 2, misses: 0, sets: 1, revalidations: 1, entries: 1 });
  });

  it('counts a stale tag as a stale hit, and reports both handlers through instrument', async () => {
    const h = metricsHarness();
    const { Inc, uc } = withScope(`m${++scopes}`, () => ({
      Inc: createIncrementalCacheHandler({ redisUrl: '', buildId: 'b' }),
      uc: createUseCacheHandler({ redisUrl: '', buildId: 'b' }),
    }));
    const stops = [
      instrument(Inc, { name: 'next-incremental', meter: h.meter }),
      instrument(uc, { name: 'next-use-cache', meter: h.meter }),
    ];
    await uc.set('k', Promise.resolve(entry('v', { tags: ['s'] })));
    await new Promise((r) => setTimeout(r, 2));
    await uc.updateTags(['s'], { expire: 3600 });
    expect((await uc.get('k', []))?.revalidate).toBe(-1);
    const inc = new Inc({});
    await inc.get('/missing', { kind: 'APP_PAGE' });
    expect(uc.stats().staleHits).toBe(1);
    expect(await h.value('larder.cache.requests', { 'cache.name': 'next-use-cache', result: 'stale' })).toBe(
      1,
    );
    expect(await h.value('larder.cache.requests', { 'cache.name': 'next-incremental', result: 'miss' })).toBe(
      1,
    );
    expect(await h.value('larder.cache.entries', { 'cache.name': 'next-use-cache' })).toBe(1);
    expect(await h.value('larder.cache.tier.requests')).toBeUndefined(); // no Redis
    for (const stop of stops) stop();
  });

  it('counts evictions by maxMemory per handler', async () => {
    const { Inc } = withScope(`m${++scopes}`, () => ({
      Inc: createIncrementalCacheHandler({ redisUrl: '', buildId: 'b', maxMemory: 4000 }),
    }));
    const inc = new Inc({});
    for (let i = 0; i < 10; i++) await inc.set(`/p${i}`, page('x'.repeat(1000)), {});
    const stats = Inc.stats();
    expect(stats.evictions).toBeGreaterThan(0);
    expect(stats.entries + stats.evictions).toBe(10);
  });

  it('writes one debug line per revalidation when LARDER_DEBUG is set, none otherwise', async () => {
    const debug = vi.spyOn(console, 'debug').mockImplementation(() => {});
    const { Inc, uc } = withScope(`m${++scopes}`, () => ({
      Inc: createIncrementalCacheHandler({ redisUrl: '', buildId: 'b' }),
      uc: createUseCacheHandler({ redisUrl: '', buildId: 'b' }),
    }));
    const inc = new Inc({});
    await inc.revalidateTag(['posts']);
    expect(debug).not.toHaveBeenCalled();
    process.env.LARDER_DEBUG = '1';
    await inc.revalidateTag(['posts', 'users'], { expire: 60 });
    await uc.updateTags(['t']);
    expect(debug.mock.calls.map((c) => c[0])).toEqual([
      '[larder/next] next-incremental: revalidateTag posts, users (expire 60 s)',
      '[larder/next] next-use-cache: updateTags t',
    ]);
  });
});

describe.runIf(url !== undefined)('larder/next metrics against Redis', () => {
  const redisUrl = url as string;
  let admin: Redis;
  const prefixes: string[] = [];
  beforeAll(() => {
    admin = new Redis(redisUrl);
  });
  afterAll(async () => {
    for (const p of prefixes) await deleteKeys(admin, p);
    admin.disconnect();
  });

  it('tells memory hits from Redis hits, and reports the shared bus', async () => {
    const p = uniquePrefix('next-metrics');
    prefixes.push(p);
    const make = () =>
      withScope(`r${++scopes}`, () => createIncrementalCacheHandler({ redisUrl, prefix: p, buildId: 'b1' }));
    const A = make();
    const B = make();
    const a = new A({});
    const b = new B({});
    await Promise.all([a.get('warm-up', { kind: 'FETCH' }), b.get('warm-up', { kind: 'FETCH' })]);
    await a.set('/page', page('hello'), {});
    // Let a's bus message (drop your copy) reach b first, so that it cannot drop the copy b reads next.
    await new Promise((r) => setTimeout(r, 150));
    expect(await b.get('/page', { kind: 'APP_PAGE' })).not.toBeNull(); // from Redis
    expect(await b.get('/page', { kind: 'APP_PAGE' })).not.toBeNull(); // from b's memory
    expect(B.stats()).toMatchObject({ hits: 1, misses: 2, redisHits: 1, redisMisses: 1, redisErrors: 0 });
    const h = metricsHarness();
    const stop = instrument(B, { name: 'next-incremental', meter: h.meter });
    expect(await h.value('larder.cache.requests', { result: 'hit' })).toBe(1);
    expect(await h.value('larder.cache.tier.requests', { result: 'hit' })).toBe(1);
    expect(await h.value('larder.cache.tier.requests', { result: 'miss' })).toBe(1);
    expect(await h.value('larder.cache.bus.connected')).toBe(1);
    expect(await h.value('larder.cache.bus.messages', { direction: 'received' })).toBeGreaterThanOrEqual(0);
    stop();
  });
});

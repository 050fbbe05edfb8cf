import { metrics } from '@opentelemetry/api';
import { afterEach, describe, expect, it } from 'vitest';
import { Cache, type CacheBus, type CacheTier, type TierRecord } from '../../src/index.js';
import { instrument, METRICS_SOURCE, type MetricsSnapshot } from '../../src/otel/index.js';
import { bad, expectBadInput } from '../core/helpers.js';
import { metricsHarness } from './harness.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const stops: (() => void)[] = [];
afterEach(() => {
  for (const stop of stops.splice(0)) stop();
});

describe('instrument: the acceptance scenario of issue 19', () => {
  it('reports requests, loads, durations, evictions and entries, with cache.name, until stopped', async () => {
    const h = metricsHarness();
    const cache = new Cache<string, number>({ max: 3, policy: 'lru' });
    const stop = instrument(cache, { name: 'acceptance', meter: h.meter });
    await cache.getOrSet('a', () => 1); // miss + load
    await cache.getOrSet('a', () => 1); // hit
    await cache.getOrSet('b', () => 2); // miss + load
    await expect(
      cache.getOrSet('c', () => {
        throw new Error('boom'); // miss + failed load
      }),
    ).rejects.toThrow('boom');
    for (const k of ['d', 'e', 'f', 'g']) cache.set(k, 0); // four more sets

    const points = await h.collect();
    expect(points.length).toBeGreaterThan(0);
    for (const p of points) expect(p.attributes['cache.name']).toBe('acceptance');
    expect(await h.value('larder.cache.requests', { result: 'hit' })).toBe(1);
    expect(await h.value('larder.cache.requests', { result: 'miss' })).toBe(3);
    expect(await h.value('larder.cache.loads', { outcome: 'success' })).toBe(2);
    expect(await h.value('larder.cache.loads', { outcome: 'error' })).toBe(1);
    expect(await h.value('larder.cache.load.duration')).toBe(3);
    expect(await h.value('larder.cache.evictions')).toBeGreaterThanOrEqual(3);
    expect(await h.value('larder.cache.entries')).toBe(3);

    const before = await h.collect();
    stop();
    await cache.getOrSet('a', () => 1);
    await cache.getOrSet('x', () => 1);
    await expect(cache.getOrSet('y', () => Promise.reject(new Error('no')))).rejects.toThrow('no');
    cache.set('z', 1);
    const after = await h.collect();
    for (const p of after) {
      const same = before.find(
        (q) => q.name === p.name && JSON.stringify(q.attributes) === JSON.stringify(p.attributes),
      );
      expect(same, `${p.name} ${JSON.stringify(p.attributes)} appeared after stop`).toBeDefined();
      expect(p.value, `${p.name} ${JSON.stringify(p.attributes)} grew after stop`).toBe(same?.value);
    }
    stop(); // idempotent
  });
});

describe('instrument: what each instrument counts', () => {
  it('counts a stale-while-revalidate hit as stale, not as hit', async () => {
    const h = metricsHarness();
    const cache = new Cache<string, number>({ max: 10, ttl: 20, staleWhileRevalidate: '1m' });
    stops.push(instrument(cache, { name: 'swr', meter: h.meter }));
    await cache.getOrSet('k', () => 1);
    await sleep(40);
    expect(await cache.getOrSet('k', () => 2)).toBe(1);
    await sleep(5);
    expect(await h.value('larder.cache.requests', { result: 'stale' })).toBe(1);
    expect(await h.value('larder.cache.requests', { result: 'hit' })).toBe(0);
    expect(await h.value('larder.cache.requests', { result: 'miss' })).toBe(1);
    expect(await h.value('larder.cache.loads', { outcome: 'success' })).toBe(2);
  });

  it('reports a load that exceeded its timeout as timeout, with its duration in seconds', async () => {
    const h = metricsHarness();
    const cache = new Cache<string, number>({ max: 10 });
    stops.push(instrument(cache, { name: 'slow', meter: h.meter }));
    let finish!: () => void;
    const late = new Promise<number>((resolve) => {
      finish = () => resolve(1);
    });
    await expect(cache.getOrSet('k', () => late, { timeout: 20 })).rejects.toThrow(/timed out|timeout/i);
    await sleep(30);
    finish();
    await sleep(5);
    expect(await h.value('larder.cache.loads', { outcome: 'timeout' })).toBe(1);
    expect(await h.value('larder.cache.loads', { outcome: 'success' })).toBeUndefined();
    const [duration] = (await h.collect()).filter((p) => p.name === 'larder.cache.load.duration');
    expect(duration?.attributes).toEqual({ 'cache.name': 'slow', outcome: 'timeout' });
    expect(duration?.sum).toBeGreaterThanOrEqual(0.04);
    expect(duration?.sum).toBeLessThan(5);
  });

  it('reports a load given up because an invalidation aborted it as aborted, never as error (as stats)', async () => {
    const h = metricsHarness();
    const cache = new Cache<string, number>({ max: 10 });
    stops.push(instrument(cache, { name: 'writes', meter: h.meter }));
    // Loaders that honour their signal, invalidated by delete, set and a tag while they run.
    const honouring =
      (value: number) =>
      ({ signal }: { signal: AbortSignal }) =>
        new Promise<number>((resolve, reject) => {
          signal.addEventListener('abort', () => reject(signal.reason));
          setTimeout(() => resolve(value), 200);
        });
    const deleted = cache.getOrSet('a', honouring(1));
    const replaced = cache.getOrSet('b', honouring(2));
    const tagged = cache.getOrSet('c', honouring(3), { tags: ['t'] });
    await sleep(5);
    cache.delete('a');
    cache.set('b', 20);
    cache.invalidateTag('t');
    await Promise.allSettled([deleted, replaced, tagged]);
    expect(cache.stats().loadErrors).toBe(0);
    expect(await h.value('larder.cache.loads', { outcome: 'error' })).toBeUndefined();
    expect(await h.value('larder.cache.loads', { outcome: 'aborted' })).toBe(3);
    const durations = (await h.collect()).filter(
      (p) => p.name === 'larder.cache.load.duration' && p.attributes.outcome === 'aborted',
    );
    expect(durations.map((p) => p.count)).toEqual([3]);
  });

  it('reports tier reads (hit, miss, error) and bus messages and connection', async () => {
    const h = metricsHarness();
    const records = new Map<string, TierRecord>();
    let failNext = false;
    const tier: CacheTier = {
      async get(key) {
        if (failNext) {
          failNext = false;
          throw new Error('tier down');
        }
        return records.get(key);
      },
      async set(key, record) {
        records.set(key, record);
      },
      async delete() {},
      async invalidateTags() {},
      async clear() {},
      async close() {},
    };
    let subscribed = true;
    let deliver!: (keys: string[]) => void;
    const bus: CacheBus & { stats(): { sent: number; subscribed: boolean } } = {
      start(handlers) {
        deliver = (keys) => handlers.message({ type: 'delete', keys });
      },
      publish() {},
      async close() {},
      stats: () => ({ sent: 7, subscribed }),
    };
    const cache = new Cache<string, number>({ max: 10, tier, bus });
    stops.push(instrument(cache, { name: 'shared', meter: h.meter }));
    const now = Date.now();
    records.set('remote', {
      value: 5,
      expires: now + 60_000,
      staleUntil: now + 60_000,
      errorUntil: now + 60_000,
      tags: [],
      createdAt: now,
    });
    expect(await cache.getOrSet('remote', () => 0)).toBe(5); // tier hit
    expect(await cache.getOrSet('absent', () => 1)).toBe(1); // tier miss
    failNext = true;
    expect(await cache.getOrSet('failing', () => 2)).toBe(2); // tier error
    deliver(['remote']);
    deliver(['absent']);
    expect(await h.value('larder.cache.tier.requests', { result: 'hit' })).toBe(1);
    expect(await h.value('larder.cache.tier.requests', { result: 'miss' })).toBe(1);
    expect(await h.value('larder.cache.tier.requests', { result: 'error' })).toBe(1);
    expect(await h.value('larder.cache.bus.messages', { direction: 'received' })).toBe(2);
    expect(await h.value('larder.cache.bus.messages', { direction: 'sent' })).toBe(7);
    expect(await h.value('larder.cache.bus.connected')).toBe(1);
    subscribed = false;
    expect(await h.value('larder.cache.bus.connected')).toBe(0);
    await cache.close();
  });

  it('reports no tier or bus instruments for a cache without them', async () => {
    const h = metricsHarness();
    const cache = new Cache<string, number>({ max: 10 });
    stops.push(instrument(cache, { name: 'local', meter: h.meter }));
    await cache.getOrSet('a', () => 1);
    const names = new Set((await h.collect()).map((p) => p.name));
    expect(names.has('larder.cache.tier.requests')).toBe(false);
    expect(names.has('larder.cache.bus.messages')).toBe(false);
    expect(names.has('larder.cache.bus.connected')).toBe(false);
  });

  it('keeps two caches apart by cache.name on one meter', async () => {
    const h = metricsHarness();
    const a = new Cache<string, number>({ max: 10 });
    const b = new Cache<string, number>({ max: 10 });
    stops.push(instrument(a, { name: 'a', meter: h.meter }), instrument(b, { name: 'b', meter: h.meter }));
    a.set('k', 1);
    a.get('k');
    a.get('k');
    b.get('k');
    expect(await h.value('larder.cache.requests', { 'cache.name': 'a', result: 'hit' })).toBe(2);
    expect(await h.value('larder.cache.requests', { 'cache.name': 'b', result: 'hit' })).toBe(0);
    expect(await h.value('larder.cache.requests', { 'cache.name': 'b', result: 'miss' })).toBe(1);
  });

  it("uses metrics.getMeter('larder') of the global provider by default", async () => {
    const h = metricsHarness();
    metrics.setGlobalMeterProvider(h.provider);
    try {
      const cache = new Cache<string, number>({ max: 10 });
      stops.push(instrument(cache, { name: 'global' }));
      await cache.getOrSet('a', () => 1);
      expect(await h.value('larder.cache.loads', { 'cache.name': 'global', outcome: 'success' })).toBe(1);
    } finally {
      metrics.disable();
    }
  });

  it('reads any metrics source (the larder/next handlers)', async () => {
    const h = metricsHarness();
    const snapshot: MetricsSnapshot = {
      hits: 4,
      stale: 1,
      misses: 2,
      evictions: 0,
      entries: 3,
      tier: { hits: 1, misses: 1, errors: 0 },
    };
    const handler = { [METRICS_SOURCE]: () => snapshot };
    stops.push(instrument(handler, { name: 'next-incremental', meter: h.meter }));
    expect(await h.value('larder.cache.requests', { result: 'hit' })).toBe(4);
    expect(await h.value('larder.cache.requests', { result: 'stale' })).toBe(1);
    expect(await h.value('larder.cache.tier.requests', { result: 'hit' })).toBe(1);
    expect(await h.value('larder.cache.entries', { 'cache.name': 'next-incremental' })).toBe(3);
    expect(await h.value('larder.cache.loads')).toBeUndefined();
  });
});

describe('instrument: bad input', () => {
  const h = metricsHarness();
  const cache = new Cache<string, number>({ max: 10 });

  it('refuses what is not a larder cache', () => {
    for (const target of [undefined, null, 42, 'cache', {}, new Map(), { stats: () => ({}) }]) {
      expectBadInput(() => instrument(bad(target), { name: 'x', meter: h.meter }), /cache/);
    }
  });

  it('refuses a namespace view (it shares its root counters)', () => {
    expectBadInput(() => instrument(cache.namespace('users'), { name: 'x', meter: h.meter }), /namespace/);
  });

  it('refuses a missing or empty name', () => {
    expectBadInput(() => instrument(cache, bad(undefined)), /options/);
    expectBadInput(() => instrument(cache, bad({})), /name/);
    expectBadInput(() => instrument(cache, { name: '' }), /name/);
    expectBadInput(() => instrument(cache, { name: '   ' }), /name/);
    expectBadInput(() => instrument(cache, bad({ name: 42 })), /name/);
  });

  it('refuses bad options, naming them', () => {
    expectBadInput(() => instrument(cache, bad({ name: 'x', meter: {} })), /meter/);
    expectBadInput(() => instrument(cache, bad({ name: 'x', traceLoads: 'yes' })), /traceLoads/);
    expectBadInput(() => instrument(cache, bad({ name: 'x', tracer: {} })), /tracer/);
    expectBadInput(() => instrument(cache, bad({ name: 'x', keyName: 'k' })), /keyName/);
    expectBadInput(() => instrument(cache, bad({ name: 'x', meterr: h.meter })), /unknown option meterr/);
  });
});

import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { metrics } from '@opentelemetry/api';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Cache, type CacheBus, type CacheTier, singleton, type TierRecord } from '../../src/index.js';
import { instrument, METRICS_SOURCE, type MetricsSnapshot } from '../../src/otel/index.js';
import { bad, expectBadInput } from '../core/helpers.js';
import { metricsHarness } from './harness.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A full garbage collection (`gc` exposed at runtime, so the suite needs no `--expose-gc`). */
function gc(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

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
    const tier = mapTier(records, async (key) => {
      if (failNext) {
        failNext = false;
        throw new Error('tier down');
      }
      return records.get(key);
    });
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

  describe('counts every tier read once, as hit, miss or error (and agrees with stats())', () => {
    /** A tier over a Map that counts its reads; `hold` keeps the next read waiting until it is opened. */
    function countingTier() {
      const records = new Map<string, TierRecord>();
      const tiered = { reads: 0, records, hold: undefined as Promise<void> | undefined };
      const tier = mapTier(records, async (key) => {
        tiered.reads++;
        const hold = tiered.hold;
        tiered.hold = undefined;
        if (hold !== undefined) await hold;
        return records.get(key);
      });
      return { tier, tiered };
    }

    async function tierPoints(h: ReturnType<typeof metricsHarness>) {
      const value = async (result: string) => (await h.value('larder.cache.tier.requests', { result })) ?? 0;
      return { hit: await value('hit'), miss: await value('miss'), error: await value('error') };
    }

    it('a stale-while-revalidate refresh that finds the very entry it refreshes is a miss', async () => {
      const h = metricsHarness();
      const { tier, tiered } = countingTier();
      const cache = new Cache<string, number>({ max: 10, tier, ttl: 50, staleWhileRevalidate: 10_000 });
      stops.push(instrument(cache, { name: 'tiered', meter: h.meter }));
      let n = 0;
      expect(await cache.getOrSet('a', () => ++n)).toBe(1); // memory miss: tier read (nothing), loader
      await sleep(80);
      expect(await cache.getOrSet('a', () => ++n)).toBe(1); // stale: the refresh reads the tier (its own entry)
      await vi.waitFor(() => expect(n).toBe(2)); // so it asked the loader
      expect(tiered.reads).toBe(2);
      expect(await tierPoints(h)).toEqual({ hit: 0, miss: 2, error: 0 });
      const stats = cache.stats();
      expect([stats.tierHits, stats.tierErrors]).toEqual([0, 0]);
      await cache.close();
    });

    it('a record carrying a tag invalidated while it was read is a miss', async () => {
      const h = metricsHarness();
      const { tier, tiered } = countingTier();
      const cache = new Cache<string, number>({ max: 10, tier });
      stops.push(instrument(cache, { name: 'tiered', meter: h.meter }));
      const now = Date.now();
      tiered.records.set('a', {
        value: 1,
        expires: now + 60_000,
        staleUntil: now + 60_000,
        errorUntil: now + 60_000,
        tags: ['t'],
        createdAt: now,
      });
      let open!: () => void;
      tiered.hold = new Promise<void>((resolve) => {
        open = resolve;
      });
      const read = cache.getOrSet('a', () => 2);
      await sleep(5);
      cache.invalidateTag('t'); // while the tier read runs: the record it finds must not be used
      open();
      expect(await read).toBe(2);
      expect(tiered.reads).toBe(1);
      expect(await tierPoints(h)).toEqual({ hit: 0, miss: 1, error: 0 });
      expect(cache.stats().tierHits).toBe(0);
      await cache.close();
    });

    it('hits, misses and errors add up to the tier reads (hit, miss, error, refresh)', async () => {
      const h = metricsHarness();
      const { tier, tiered } = countingTier();
      const get = tier.get.bind(tier);
      let failNext = false;
      tier.get = async (key) => {
        if (!failNext) return get(key);
        failNext = false;
        tiered.reads++;
        throw new Error('tier down');
      };
      const cache = new Cache<string, number>({ max: 10, tier, ttl: 50, staleWhileRevalidate: 10_000 });
      stops.push(instrument(cache, { name: 'tiered', meter: h.meter }));
      await cache.getOrSet('a', () => 1); // miss
      await vi.waitFor(() => expect(tiered.records.has('a')).toBe(true));
      cache.delete('a'); // this tier's delete keeps the record
      expect(await cache.getOrSet('a', () => 0)).toBe(1); // hit
      failNext = true;
      await cache.getOrSet('b', () => 1); // error
      await sleep(80);
      let refreshed = false;
      await cache.getOrSet('b', () => {
        refreshed = true; // stale: the refresh finds its own entry (miss), then loads
        return 2;
      });
      await vi.waitFor(() => expect(refreshed).toBe(true));
      const points = await tierPoints(h);
      expect(points).toEqual({ hit: 1, miss: 2, error: 1 });
      expect(points.hit + points.miss + points.error).toBe(tiered.reads);
      const stats = cache.stats();
      expect([points.hit, points.error]).toEqual([stats.tierHits, stats.tierErrors]);
      await cache.close();
    });
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

describe('instrument: once per cache', () => {
  it('counts each load once (requests and loads stay consistent) when a cache is instrumented twice alike', async () => {
    const h = metricsHarness();
    const cache = new Cache<string, number>({ max: 10 });
    const first = instrument(cache, { name: 'users', meter: h.meter });
    const second = instrument(cache, { name: 'users', meter: h.meter });
    stops.push(first);
    expect(second).toBe(first);
    await cache.getOrSet('a', () => 1);
    expect(await h.value('larder.cache.requests', { result: 'miss' })).toBe(1);
    expect(await h.value('larder.cache.loads', { outcome: 'success' })).toBe(1);
    expect(await h.value('larder.cache.load.duration')).toBe(1);
  });

  it('a module that runs again (hot reload: singleton, then instrument) reports its cache once', async () => {
    const h = metricsHarness();
    metrics.setGlobalMeterProvider(h.provider);
    const name = `otel-reload-${Math.random()}`;
    // What the module does each time it is evaluated.
    const evaluate = () => {
      const cache = singleton(name, () => new Cache<string, number>({ max: 10 }));
      return { cache, stop: instrument(cache, { name: 'reloaded', traceLoads: true }) };
    };
    try {
      const before = evaluate();
      const after = evaluate();
      stops.push(after.stop);
      expect(after.cache).toBe(before.cache);
      await after.cache.getOrSet('a', () => 1);
      expect(await h.value('larder.cache.loads', { 'cache.name': 'reloaded' })).toBe(1);
    } finally {
      metrics.disable();
    }
  });

  it('refuses another name, meter or traceLoads while the first runs, naming the cache; after stop, allows it', async () => {
    const h = metricsHarness();
    const other = metricsHarness();
    const cache = new Cache<string, number>({ max: 10 });
    const stop = instrument(cache, { name: 'users', meter: h.meter });
    const refused = [
      () => instrument(cache, { name: 'accounts', meter: h.meter }),
      () => instrument(cache, { name: 'users', meter: other.meter }),
      () => instrument(cache, { name: 'users', meter: h.meter, traceLoads: true }),
    ];
    for (const again of refused) {
      expect(again).toThrow(TypeError);
      expect(again).toThrow(/cache 'users' is instrumented already.*stop it first/);
    }
    stop();
    stops.push(instrument(cache, { name: 'accounts', meter: other.meter }));
    await cache.getOrSet('a', () => 1);
    expect(await other.value('larder.cache.loads', { 'cache.name': 'accounts' })).toBe(1);
    expect(await h.value('larder.cache.loads')).toBeUndefined();
  });

  it('keeps two caches apart: one instrumented does not stop the other from being instrumented', () => {
    const h = metricsHarness();
    const a = new Cache<string, number>({ max: 10 });
    const b = new Cache<string, number>({ max: 10 });
    stops.push(
      instrument(a, { name: 'same', meter: h.meter }),
      instrument(b, { name: 'same', meter: h.meter }),
    );
  });
});

describe('instrument: the default meter', () => {
  it('is the global one when instrument() is called: before the SDK, nothing; instrumenting again then replaces it', async () => {
    const h = metricsHarness();
    const cache = new Cache<string, number>({ max: 10 });
    // No MeterProvider yet (a module imported before the SDK starts): OpenTelemetry's no-op meter.
    const early = instrument(cache, { name: 'early' });
    metrics.setGlobalMeterProvider(h.provider);
    try {
      await cache.getOrSet('a', () => 1);
      expect(await h.value('larder.cache.requests', { 'cache.name': 'early' })).toBeUndefined();
      // The documented remedy: instrument again once the SDK is set up (the no-op instrumentation is replaced).
      const late = instrument(cache, { name: 'early' });
      stops.push(late);
      expect(late).not.toBe(early);
      await cache.getOrSet('b', () => 2);
      expect(await h.value('larder.cache.requests', { 'cache.name': 'early', result: 'miss' })).toBe(2);
      expect(await h.value('larder.cache.loads', { 'cache.name': 'early' })).toBe(1);
    } finally {
      metrics.disable();
    }
  });
});

describe('instrument: a closed or dropped cache', () => {
  it('is no longer reported after close (its bus does not read as disconnected for ever)', async () => {
    const h = metricsHarness();
    let subscribed = true;
    const bus: CacheBus & { stats(): { sent: number; subscribed: boolean } } = {
      start() {},
      publish() {},
      async close() {
        subscribed = false; // as redisBus: closing unsubscribes
      },
      stats: () => ({ sent: 0, subscribed }),
    };
    const cache = new Cache<string, number>({ max: 10, bus });
    const stop = instrument(cache, { name: 'tenant-a', meter: h.meter }); // the application closes the cache only
    expect(await h.value('larder.cache.bus.connected')).toBe(1);
    await cache.getOrSet('a', () => 1);
    await cache.close();
    // LarderBusDisconnected pages on larder_cache_bus_connected == 0: a closed cache must never report one.
    for (let i = 0; i < 3; i++) {
      const connected = (await h.collect()).filter((p) => p.name === 'larder.cache.bus.connected');
      expect(connected.map((p) => p.value)).not.toContain(0);
    }
    // The instrumentation stopped itself: the cache may be instrumented afresh (and reports nothing while closed).
    const again = instrument(cache, { name: 'tenant-a', meter: h.meter });
    expect(again).not.toBe(stop);
    again();
    stop(); // still idempotent
  });

  it('lets a cache dropped without stop() be garbage-collected, and stops reporting it', async () => {
    const h = metricsHarness();
    const ref = ((): WeakRef<object> => {
      const cache = new Cache<string, number>({ max: 10 });
      instrument(cache, { name: 'dropped', meter: h.meter, traceLoads: true }); // never stopped
      cache.set('a', 1);
      return new WeakRef(cache);
    })();
    expect(await h.value('larder.cache.entries', { 'cache.name': 'dropped' })).toBe(1);
    for (let i = 0; i < 10 && ref.deref() !== undefined; i++) {
      await sleep(0);
      gc();
    }
    expect(ref.deref()).toBeUndefined();
    await h.collect(); // finds it gone: stops
    await sleep(0);
    await expect(h.collect()).resolves.toBeDefined();
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

/** A tier whose writes go to `records` and whose reads are `get`; deletes, tags and clears do nothing. */
function mapTier(records: Map<string, TierRecord>, get: CacheTier['get']): CacheTier {
  return {
    get,
    async set(key, record) {
      records.set(key, record);
    },
    async delete() {},
    async invalidateTags() {},
    async clear() {},
    async close() {},
  };
}

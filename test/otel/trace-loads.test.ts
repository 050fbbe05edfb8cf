import { trace } from '@opentelemetry/api';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { Cache } from '../../src/index.js';
import { instrument, keyNameOf } from '../../src/otel/index.js';
import { metricsHarness, tracingHarness } from './harness.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const t = tracingHarness();
const m = metricsHarness();

afterAll(() => t.close());
beforeEach(() => t.exporter.reset());

const spans = () => t.exporter.getFinishedSpans();
const loadSpans = () => spans().filter((s) => s.name === 'larder.cache.load');

describe('traceLoads', () => {
  it('is off by default: no span for loads or hits', async () => {
    const cache = new Cache<string, number>({ max: 10 });
    const stop = instrument(cache, { name: 'quiet', meter: m.meter, tracer: t.tracer });
    await cache.getOrSet('user:1', () => 1);
    await cache.getOrSet('user:1', () => 1);
    expect(spans()).toHaveLength(0);
    stop();
  });

  it('opens one span per loader run (none per hit), active while the loader runs', async () => {
    const cache = new Cache<string, number>({ max: 10 });
    const stop = instrument(cache, { name: 'users', meter: m.meter, traceLoads: true, tracer: t.tracer });
    const loader = async () => {
      // The loader's own work (a database query) nests under the load span.
      await t.tracer.startActiveSpan('db.query', async (span) => {
        await sleep(2);
        span.end();
      });
      return 1;
    };
    // Three concurrent callers, one loader run (single-flight), then two hits.
    await Promise.all([
      cache.getOrSet('user:42', loader),
      cache.getOrSet('user:42', loader),
      cache.getOrSet('user:42', loader),
    ]);
    await cache.getOrSet('user:42', loader);
    cache.get('user:42');
    const [load] = loadSpans();
    expect(loadSpans()).toHaveLength(1);
    expect(load?.attributes).toEqual({
      'cache.name': 'users',
      'larder.key.name': 'user',
      'larder.load.refresh': false,
      'larder.load.outcome': 'success',
    });
    const db = spans().find((s) => s.name === 'db.query');
    expect(db?.parentSpanContext?.spanId).toBe(load?.spanContext().spanId);
    stop();
  });

  it('opens one span per loadMany run of a batch (wrapMany, getOrSetMany)', async () => {
    const cache = new Cache<string, number>({ max: 100 });
    const stop = instrument(cache, { name: 'courses', meter: m.meter, traceLoads: true, tracer: t.tracer });
    const getCourses = cache.wrapMany('course', async (ids: number[]) =>
      ids.map((id) => [id, id * 10] as [number, number]),
    );
    expect(await getCourses([1, 2, 3])).toEqual([10, 20, 30]);
    expect(await getCourses([1, 2, 3])).toEqual([10, 20, 30]); // hits: no span
    const [load] = loadSpans();
    expect(loadSpans()).toHaveLength(1);
    expect(load?.attributes).toMatchObject({ 'cache.name': 'courses', 'larder.key.name': 'course' });
    stop();
  });

  it('records a failed load as error, with the exception, and passes the error through', async () => {
    const cache = new Cache<string, number>({ max: 10 });
    const stop = instrument(cache, { name: 'c', meter: m.meter, traceLoads: true, tracer: t.tracer });
    await expect(cache.getOrSet('course:7', () => Promise.reject(new Error('db down')))).rejects.toThrow(
      'db down',
    );
    const [span] = loadSpans();
    expect(span?.attributes['larder.load.outcome']).toBe('error');
    expect(span?.attributes['larder.key.name']).toBe('course');
    expect(span?.status.code).toBe(2); // SpanStatusCode.ERROR
    expect(span?.events.map((e) => e.name)).toEqual(['exception']);
    stop();
  });

  it('marks a refresh and a timeout', async () => {
    const cache = new Cache<string, number>({ max: 10, ttl: 20, staleWhileRevalidate: '1m' });
    const stop = instrument(cache, { name: 'c', meter: m.meter, traceLoads: true, tracer: t.tracer });
    await cache.getOrSet('page:1', () => 1);
    await sleep(40);
    expect(await cache.getOrSet('page:1', () => 2)).toBe(1); // stale: background refresh
    await sleep(5);
    expect(loadSpans().map((s) => s.attributes['larder.load.refresh'])).toEqual([false, true]);
    t.exporter.reset();
    await expect(cache.getOrSet('slow:1', () => sleep(60).then(() => 3), { timeout: 20 })).rejects.toThrow();
    await sleep(70);
    const [slow] = loadSpans();
    expect(slow?.attributes['larder.load.outcome']).toBe('timeout');
    stop();
  });

  it('stops tracing when stopped, and takes a custom keyName', async () => {
    const cache = new Cache<string, number>({ max: 10 });
    const stop = instrument(cache, {
      name: 'c',
      meter: m.meter,
      traceLoads: true,
      tracer: t.tracer,
      keyName: (key) => String(key).split('/')[0] as string,
    });
    await cache.getOrSet('orders/17', () => 1);
    expect(loadSpans()[0]?.attributes['larder.key.name']).toBe('orders');
    stop();
    await cache.getOrSet('orders/18', () => 1);
    expect(loadSpans()).toHaveLength(1);
  });

  it('uses the global tracer by default', async () => {
    trace.setGlobalTracerProvider({ getTracer: () => t.tracer });
    try {
      const cache = new Cache<string, number>({ max: 10 });
      const stop = instrument(cache, { name: 'g', meter: m.meter, traceLoads: true });
      await cache.getOrSet('x:1', () => 1);
      expect(loadSpans()).toHaveLength(1);
      stop();
    } finally {
      trace.disable();
    }
  });
});

describe('keyNameOf', () => {
  it('keeps the name part of a key, never its id', () => {
    expect(keyNameOf('user(42)')).toBe('user');
    expect(keyNameOf('reports:user({"id":1})')).toBe('reports:user');
    expect(keyNameOf('course:7')).toBe('course');
    expect(keyNameOf('tenant:user:9')).toBe('tenant:user');
    expect(keyNameOf('config')).toBe('config');
    expect(keyNameOf(42)).toBe('number');
  });
});

import { type Span, type Tracer, trace } from '@opentelemetry/api';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { compatKey } from '../../src/compat/compat-key.js';
import { defaultKey, requestKeys, variantKey } from '../../src/express/request-key.js';
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

/** Where a broken tracer throws (or misbehaves): tracing must not change a load's outcome. */
type Breakage =
  | 'startActiveSpan'
  | 'after callback'
  | 'no callback'
  | 'two callbacks'
  | 'setAttribute'
  | 'setStatus'
  | 'recordException'
  | 'end';

function brokenTracer(breakage: Breakage): Tracer {
  const fail = (where: Breakage) => {
    if (breakage === where) throw new Error(`tracer broken at ${where}`);
  };
  const span = {
    setAttribute: () => fail('setAttribute'),
    setStatus: () => fail('setStatus'),
    recordException: () => fail('recordException'),
    end: () => fail('end'),
  } as unknown as Span;
  const startActiveSpan = (_name: string, _options: unknown, fn: (span: Span) => unknown) => {
    fail('startActiveSpan');
    if (breakage === 'no callback') return undefined;
    const result = fn(span);
    if (breakage === 'two callbacks') fn(span);
    fail('after callback');
    return result;
  };
  return { startActiveSpan, startSpan: () => span } as unknown as Tracer;
}

describe('traceLoads with a broken tracer', () => {
  const breakages: Breakage[] = [
    'startActiveSpan',
    'after callback',
    'no callback',
    'two callbacks',
    'setAttribute',
    'setStatus',
    'recordException',
    'end',
  ];

  it.each(breakages)(
    'a tracer broken at %s changes no load: the loader runs once, its result stands',
    async (breakage) => {
      const cache = new Cache<string, number>({ max: 10 });
      const stop = instrument(cache, {
        name: 'b',
        meter: m.meter,
        traceLoads: true,
        tracer: brokenTracer(breakage),
      });
      let runs = 0;
      expect(
        await cache.getOrSet('user:1', async () => {
          runs++;
          return 42;
        }),
      ).toBe(42);
      expect(runs).toBe(1);
      expect(cache.get('user:1')).toBe(42);
      const failure = new Error('db down');
      await expect(
        cache.getOrSet('user:2', () => {
          runs++;
          return Promise.reject(failure);
        }),
      ).rejects.toBe(failure);
      expect(runs).toBe(2);
      // A loader that throws synchronously, and a batch loader.
      await expect(
        cache.getOrSet('user:3', () => {
          throw failure;
        }),
      ).rejects.toBe(failure);
      const many = cache.wrapMany('course', async (ids: number[]) => {
        runs++;
        return ids.map((id) => [id, id * 10] as [number, number]);
      });
      expect(await many([1, 2])).toEqual([10, 20]);
      expect(runs).toBe(3);
      stop();
    },
  );
});

describe('traceLoads and invalidations', () => {
  it('a load given up because an invalidation aborted it is outcome aborted, not an error', async () => {
    const cache = new Cache<string, number>({ max: 10 });
    const stop = instrument(cache, { name: 'c', meter: m.meter, traceLoads: true, tracer: t.tracer });
    let calls = 0;
    const p = cache.getOrSet('user:1', ({ signal }) => {
      calls++;
      if (calls > 1) return 2;
      return new Promise<number>((_resolve, reject) => {
        signal.addEventListener('abort', () => reject(signal.reason));
      });
    });
    await sleep(5);
    cache.delete('user:1'); // aborts the load; its caller is answered by a new one
    expect(await p).toBe(2);
    const [aborted, again] = loadSpans();
    expect(loadSpans()).toHaveLength(2);
    expect(aborted?.attributes['larder.load.outcome']).toBe('aborted');
    expect(aborted?.status.code).toBe(0); // SpanStatusCode.UNSET
    expect(aborted?.events).toEqual([]);
    expect(again?.attributes['larder.load.outcome']).toBe('success');
    expect(cache.stats().loadErrors).toBe(0);
    stop();
  });

  it('a loader that fails with another error while aborted is still an error', async () => {
    const cache = new Cache<string, number>({ max: 10 });
    const stop = instrument(cache, { name: 'c', meter: m.meter, traceLoads: true, tracer: t.tracer });
    const p = cache.getOrSet('user:1', ({ signal }) => {
      return new Promise<number>((_resolve, reject) => {
        signal.addEventListener('abort', () => reject(new Error('connection reset')));
      });
    });
    await sleep(5);
    cache.delete('user:1');
    await expect(p).rejects.toThrow('connection reset');
    const [span] = loadSpans();
    expect(span?.attributes['larder.load.outcome']).toBe('error');
    expect(span?.status.code).toBe(2);
    expect(cache.stats().loadErrors).toBe(1);
    stop();
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

  it('keeps only the type of a CompatCache key, whatever its arguments hold', () => {
    const compat = (type: string, args: unknown) => keyNameOf(compatKey('test', type, args));
    expect(compatKey('test', 'course', { id: 7, lang: 'en' })).toBe('course:{"id":7,"lang":"en"}');
    expect(compat('course', { id: 7, lang: 'en' })).toBe('course');
    expect(compat('course', { id: 7, tags: { a: 'b:c' }, at: new Date(0) })).toBe('course');
    expect(compat('user', 'u:42')).toBe('user');
    expect(compat('user', 'a(b):c')).toBe('user');
    expect(compat('user', [42, 'en'])).toBe('user');
    expect(compat('user', Object.assign(Object.create(null), { id: 1 }))).toBe('user');
    expect(compat('user', new Date(5))).toBe('user');
    expect(compat('user', 42)).toBe('user');
    expect(compat('user', null)).toBe('user');
    expect(compat('user', undefined)).toBe('user');
    expect(compat('tenant:user', { id: 9 })).toBe('tenant:user');
    const names = new Set<string>();
    for (let id = 0; id < 100; id++) {
      names.add(compat('course', { id, lang: 'en' }));
      names.add(compat('user', `u:${id}`));
      names.add(compat('list', [id, 'a:b']));
    }
    expect([...names].sort()).toEqual(['course', 'list', 'user']);
  });
});

describe('keyNameOf on larder/express response keys', () => {
  /** A request as the middleware sees it (enough for the key and Vary). */
  const req = (url: string, headers: Record<string, string> = {}, extra: object = {}) =>
    ({ method: 'GET', url, headers: { host: 'shop.example', ...headers }, socket: {}, ...extra }) as never;
  /** The keys `cacheResponses` reads for a request: its own, its user's, and its variant for `Vary`. */
  function responseKeys(method: string, url: string, user?: string, extra: object = {}): string[] {
    const request = req(url, { 'accept-language': 'en' }, extra);
    const resource = defaultKey(request) as string;
    const { key, getKey } = requestKeys(method, resource, user);
    const stored = { vary: { 'accept-language': 'de' } } as never;
    return [key, getKey, variantKey(key, stored, request)];
  }

  it('keeps the method (and namespace prefix), never the URL, the user or the Vary values', () => {
    expect(responseKeys('GET', '/users/1', 'alice')).toEqual([
      'GET http://shop.example/users/1 user:alice',
      'GET http://shop.example/users/1 user:alice',
      'GET http://shop.example/users/1 user:alice vary:["accept-language","en"]',
    ]);
    const names = new Set<string>();
    for (let id = 0; id < 50; id++) {
      for (const method of ['GET', 'HEAD']) {
        const keys = [
          ...responseKeys(method, `/users/${id}?q=a:b(c)`, `user:${id}`),
          ...responseKeys(method, `/users/${id}`),
          ...responseKeys(method, `/p/${id}`, undefined, { protocol: 'https', hostname: 'pub.example' }),
        ];
        for (const key of keys) {
          names.add(keyNameOf(key));
          names.add(keyNameOf(`http:${key}`)); // in a namespace of a shared cache
        }
        names.add(keyNameOf(`${method} /users/${id}`)); // a `key` option that returns the path
      }
    }
    expect([...names].sort()).toEqual(['GET', 'HEAD', 'http:GET', 'http:HEAD']);
  });

  it('leaves the documented shapes as they were', () => {
    expect(keyNameOf('course:7')).toBe('course');
    expect(keyNameOf('fetch("GET http://shop.example/a")')).toBe('fetch');
    expect(keyNameOf('page:"GET http://shop.example/a"')).toBe('page');
    expect(keyNameOf('reports:user({"url":"a:GET http://x"})')).toBe('reports:user');
  });

  it('names the span of a load under such a key by its method', async () => {
    const cache = new Cache<string, number>({ max: 10 });
    const stop = instrument(cache, { name: 'http', meter: m.meter, traceLoads: true, tracer: t.tracer });
    const [key] = responseKeys('GET', '/users/42', 'bob');
    await cache.getOrSet(key as string, () => 1);
    expect(loadSpans().map((s) => s.attributes['larder.key.name'])).toEqual(['GET']);
    stop();
  });
});

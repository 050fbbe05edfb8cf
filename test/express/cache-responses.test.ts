import express, { type Request, type Response } from 'express';
import request from 'supertest';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  type CachedResponse,
  type CacheResponsesOptions,
  cacheResponses,
  responseSerializer,
} from '../../src/express/index.js';
import { Cache } from '../../src/index.js';
import { closeServers, serve } from '../helpers/express-server.js';
import { heldTier } from '../helpers/held-tier.js';

type Handler = (req: Request, res: Response) => void | Promise<void>;

/** An app with one GET route behind the middleware; `calls` counts handler runs. */
function setup(handler: Handler, options?: CacheResponsesOptions, cacheOptions?: { ttl?: number }) {
  const cache = new Cache<string, CachedResponse>({ max: 100, ...cacheOptions });
  const app = express();
  const state = { calls: 0 };
  app.get('/r', cacheResponses(cache, options), async (req, res) => {
    state.calls++;
    await handler(req, res);
  });
  app.post('/r', cacheResponses(cache, options), (_req, res) => {
    state.calls++;
    res.json({ posted: true });
  });
  return { app, cache, state };
}

const json: Handler = (req, res) => {
  res.json({ hello: 'world', url: req.originalUrl });
};

afterEach(async () => {
  vi.useRealTimers();
  await closeServers();
});

describe('cacheResponses: hits and misses', () => {
  it('answers MISS first, then HIT with the same status, headers and body, without running the handler', async () => {
    const { app, state } = setup((_req, res) => {
      res.status(203).set('X-Custom', 'yes').json({ n: 1 });
    });
    const first = await request(serve(app)).get('/r');
    expect(first.status).toBe(203);
    expect(first.headers['x-cache']).toBe('MISS');
    const second = await request(serve(app)).get('/r');
    expect(second.status).toBe(203);
    expect(second.headers['x-cache']).toBe('HIT');
    expect(second.headers['x-custom']).toBe('yes');
    expect(second.headers['content-type']).toBe(first.headers['content-type']);
    expect(second.headers.etag).toBe(first.headers.etag);
    expect(second.headers.age).toBe('0');
    expect(second.body).toEqual({ n: 1 });
    expect(state.calls).toBe(1);
  });

  it('keys on the URL: another query string is another entry', async () => {
    const { app, state } = setup(json);
    await request(serve(app)).get('/r?a=1');
    await request(serve(app)).get('/r?a=2');
    const again = await request(serve(app)).get('/r?a=1');
    expect(again.headers['x-cache']).toBe('HIT');
    expect(again.body.url).toBe('/r?a=1');
    expect(state.calls).toBe(2);
  });

  it('leaves other methods alone', async () => {
    const { app, state } = setup(json);
    const a = await request(serve(app)).post('/r');
    const b = await request(serve(app)).post('/r');
    expect(a.headers['x-cache']).toBeUndefined();
    expect(b.body).toEqual({ posted: true });
    expect(state.calls).toBe(2);
  });

  it('stores a body written in several chunks and headers given to writeHead', async () => {
    const { app, state } = setup((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/plain', 'X-From-WriteHead': '1' });
      res.write('one,');
      res.write(Buffer.from('two,'));
      res.end('three');
    });
    await request(serve(app)).get('/r');
    const hit = await request(serve(app)).get('/r');
    expect(hit.headers['x-cache']).toBe('HIT');
    expect(hit.text).toBe('one,two,three');
    expect(hit.headers['x-from-writehead']).toBe('1');
    expect(hit.headers['content-type']).toBe('text/plain');
    expect(state.calls).toBe(1);
  });

  it('runs the handler once for concurrent requests of one key (single-flight)', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const { app, state } = setup(async (_req, res) => {
      await gate;
      res.json({ slow: true });
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      const pending = [request(server).get('/r'), request(server).get('/r'), request(server).get('/r')].map(
        (r) => r.then((x) => x),
      );
      await vi.waitFor(() => expect(state.calls).toBe(1));
      await new Promise((resolve) => setTimeout(resolve, 20));
      release();
      const answers = await Promise.all(pending);
      expect(answers.map((a) => a.body)).toEqual([{ slow: true }, { slow: true }, { slow: true }]);
      expect(answers.map((a) => a.headers['x-cache']).sort()).toEqual(['HIT', 'HIT', 'MISS']);
      expect(state.calls).toBe(1);
    } finally {
      server.close();
    }
  });

  it('expires entries with the ttl option', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const { app, state } = setup(json, { ttl: '10s' });
    await request(serve(app)).get('/r');
    vi.setSystemTime(Date.now() + 9_000);
    const hit = await request(serve(app)).get('/r');
    expect(hit.headers['x-cache']).toBe('HIT');
    expect(hit.headers.age).toBe('9');
    vi.setSystemTime(Date.now() + 2_000);
    expect((await request(serve(app)).get('/r')).headers['x-cache']).toBe('MISS');
    expect(state.calls).toBe(2);
  });

  it('tags entries so that cache.invalidateTag removes them', async () => {
    const { app, cache, state } = setup(json, { tags: (req) => ['all', `url:${req.originalUrl}`] });
    await request(serve(app)).get('/r?x=1');
    await request(serve(app)).get('/r?x=2');
    expect(cache.invalidateTag('url:/r?x=1')).toBe(1);
    expect((await request(serve(app)).get('/r?x=1')).headers['x-cache']).toBe('MISS');
    expect((await request(serve(app)).get('/r?x=2')).headers['x-cache']).toBe('HIT');
    expect(cache.invalidateTag('all')).toBe(2);
    expect((await request(serve(app)).get('/r?x=2')).headers['x-cache']).toBe('MISS');
    expect(state.calls).toBe(4);
  });

  it('works in a namespace of a shared cache', async () => {
    const shared = new Cache<string, CachedResponse>({ max: 10 });
    const app = express();
    app.get('/n', cacheResponses(shared.namespace('http')), (_req, res) => {
      res.send('ns');
    });
    await request(serve(app)).get('/n');
    expect((await request(serve(app)).get('/n')).headers['x-cache']).toBe('HIT');
    expect([...shared.keys()]).toEqual([expect.stringMatching(/^http:GET http:\/\/[^/]+\/n$/)]);
  });
});

describe("cacheResponses: lookups are no loads (the cache's loads count only answers read from its tier)", () => {
  it('a miss and a hit run no loader: stats().loads stays 0 and no load event is emitted', async () => {
    const { app, cache, state } = setup(json);
    const loads: unknown[] = [];
    cache.on('load', (event) => loads.push(event));
    expect((await request(serve(app)).get('/r')).headers['x-cache']).toBe('MISS');
    expect((await request(serve(app)).get('/r')).headers['x-cache']).toBe('HIT');
    expect(state.calls).toBe(1);
    expect(cache.stats()).toMatchObject({ misses: 1, hits: 1, loads: 0, loadErrors: 0 });
    expect(loads).toEqual([]);
  });

  it('concurrent requests still share one lookup (one tier read) and one handler run', async () => {
    const { tier, reads, state: held } = heldTier();
    const cache = new Cache<string, CachedResponse>({ max: 100, tier });
    const loads: { source: string }[] = [];
    cache.on('load', (event) => loads.push(event));
    const app = express();
    let calls = 0;
    app.get('/r', cacheResponses(cache), async (_req, res) => {
      calls++;
      await new Promise((resolve) => setTimeout(resolve, 5)); // as a database would
      res.json({ n: calls });
    });
    let open!: () => void;
    held.hold = new Promise<void>((resolve) => {
      open = resolve;
    });
    const server = serve(app);
    const pending = [1, 2, 3].map(() =>
      request(server)
        .get('/r')
        .then((answer) => answer),
    );
    // All three looked their key up (three misses) while the first read of the tier is held.
    await vi.waitFor(() => expect(cache.stats().misses).toBe(3));
    held.hold = undefined;
    open();
    const answers = await Promise.all(pending);
    expect(answers.map((a) => a.headers['x-cache']).sort()).toEqual(['HIT', 'HIT', 'MISS']);
    expect(calls).toBe(1);
    expect([...reads.values()]).toEqual([1]); // the three lookups joined one read of the tier
    expect(cache.stats()).toMatchObject({ misses: 3, loads: 0 });
    expect(loads).toEqual([]);
    await cache.close();
  });

  it('an answer read from the tier (stored by another instance) is a load from the tier', async () => {
    const { tier } = heldTier();
    const caches = [1, 2].map(() => new Cache<string, CachedResponse>({ max: 100, tier }));
    const loads: { source: string; ok: boolean }[] = [];
    caches[1]?.on('load', (event) => loads.push(event));
    const apps = caches.map((cache) => {
      const app = express();
      app.get('/r', cacheResponses(cache), json);
      return app;
    });
    const [a, b] = apps as [express.Express, express.Express];
    expect((await request(serve(a)).get('/r').set('Host', 'shop.example')).headers['x-cache']).toBe('MISS');
    const second = await request(serve(b)).get('/r').set('Host', 'shop.example');
    expect(second.headers['x-cache']).toBe('HIT'); // from the tier
    expect(caches[1]?.stats()).toMatchObject({ misses: 1, tierHits: 1, loads: 1 });
    expect(loads).toMatchObject([{ source: 'tier', ok: true }]);
    expect(caches[0]?.stats().loads).toBe(0); // its lookup found nothing in the tier: the handler answered
    for (const cache of caches) await cache.close();
  });

  it('a lookup whose tier read exceeds the cache timeout is a timed-out load (as stats().timeouts)', async () => {
    const { tier, state: held } = heldTier();
    const cache = new Cache<string, CachedResponse>({ max: 100, tier, timeout: 20 });
    const loads: { source: string; timedOut: boolean }[] = [];
    cache.on('load', (event) => loads.push(event));
    const app = express();
    app.get('/r', cacheResponses(cache), json);
    held.hold = new Promise<void>((resolve) => setTimeout(resolve, 60));
    expect((await request(serve(app)).get('/r')).headers['x-cache']).toBe('MISS'); // answered at the timeout
    await vi.waitFor(() => expect(loads).toHaveLength(1));
    expect(loads).toMatchObject([{ source: 'tier', timedOut: true }]);
    expect(cache.stats()).toMatchObject({ loads: 1, timeouts: 1 });
    await cache.close();
  });
});

describe('cacheResponses: a cache with get/set/delete only', () => {
  it('stores with set and serves with get', async () => {
    const map = new Map<string, CachedResponse>();
    const sets: unknown[] = [];
    const cache = {
      get: (key: string) => map.get(key),
      set: (key: string, value: CachedResponse, options?: unknown) => {
        sets.push(options);
        map.set(key, value);
      },
      delete: (key: string) => map.delete(key),
    };
    const app = express();
    let calls = 0;
    app.get('/m', cacheResponses(cache, { ttl: '1m', tags: ['m'] }), (_req, res) => {
      calls++;
      res.send('m');
    });
    expect((await request(serve(app)).get('/m')).headers['x-cache']).toBe('MISS');
    const hit = await request(serve(app)).get('/m');
    expect(hit.headers['x-cache']).toBe('HIT');
    expect(hit.text).toBe('m');
    expect(calls).toBe(1);
    expect(sets).toEqual([{ ttl: 60_000, tags: ['m'] }]);
  });
});

describe('cacheResponses: HEAD', () => {
  it('answers HEAD from the stored GET answer, headers only', async () => {
    const { app, state } = setup((_req, res) => {
      res.send('a body of some length');
    });
    await request(serve(app)).get('/r');
    const head = await request(serve(app)).head('/r');
    expect(head.status).toBe(200);
    expect(head.headers['x-cache']).toBe('HIT');
    expect(head.headers['content-length']).toBe('21');
    expect(head.text).toBeUndefined();
    expect(state.calls).toBe(1);
  });

  it('stores a HEAD answer under its own key, and never serves it to GET', async () => {
    const { app, state } = setup((_req, res) => {
      res.send('body');
    });
    expect((await request(serve(app)).head('/r')).headers['x-cache']).toBe('MISS');
    const head = await request(serve(app)).head('/r');
    expect(head.headers['x-cache']).toBe('HIT');
    expect(head.headers['content-length']).toBe('4');
    const get = await request(serve(app)).get('/r');
    expect(get.headers['x-cache']).toBe('MISS');
    expect(get.text).toBe('body');
    expect(state.calls).toBe(2);
  });
});

describe('cacheResponses: answers without a body', () => {
  it('stores no body for HEAD, whatever the route writes (Node sends none), and never counts it against maxBodySize', async () => {
    const cache = new Cache<string, CachedResponse>({
      maxSize: 1_000_000,
      sizeOf: (r) => r.body.byteLength + 1,
    });
    const app = express();
    let calls = 0;
    app.get('/report', cacheResponses(cache, { maxBodySize: 1000 }), (_req, res) => {
      calls++;
      res.type('text/csv');
      for (let i = 0; i < 100; i++) res.write(`row ${i},${'x'.repeat(50)}\n`);
      res.end('last row\n');
    });
    const server = serve(app);
    const first = await request(server).head('/report');
    expect(first.headers['x-cache']).toBe('MISS');
    const second = await request(server).head('/report');
    expect(second.status).toBe(200);
    expect(second.headers['x-cache']).toBe('HIT');
    expect(second.headers['content-type']).toMatch(/^text\/csv/);
    expect(calls).toBe(1);
    expect(cache.size).toBe(1);
    const [key] = [...cache.keys()];
    expect(key).toMatch(/^HEAD /);
    expect((cache.peek(key as string) as CachedResponse).body.byteLength).toBe(0);
  });

  it('stores no body for a 204 answer, whatever the route passes to end()', async () => {
    const { app, cache, state } = setup((_req, res) => {
      res.status(204);
      res.end('dropped by Node');
    });
    const server = serve(app);
    await request(server).get('/r');
    const hit = await request(server).get('/r');
    expect(hit.status).toBe(204);
    expect(hit.headers['x-cache']).toBe('HIT');
    expect(state.calls).toBe(1);
    expect((cache.peek([...cache.keys()][0] as string) as CachedResponse).body.byteLength).toBe(0);
  });
});

describe('cacheResponses: answers that vary on request headers, and cache.delete', () => {
  it('after cache.delete of the documented key, no variant of the old answer is served again', async () => {
    const cache = new Cache<string, CachedResponse>({ max: 100 });
    const app = express();
    let version = 1;
    app.get('/price', cacheResponses(cache), (req, res) => {
      res.vary('Accept-Language').send(`v${version} ${req.get('accept-language')}`);
    });
    const server = serve(app);
    const get = (language: string) =>
      request(server).get('/price').set('Host', 'shop.example').set('Accept-Language', language);
    for (const language of ['en', 'fr', 'de']) await get(language);
    expect((await get('fr')).headers['x-cache']).toBe('HIT');
    version = 2;
    expect(cache.delete('GET http://shop.example/price')).toBe(true);
    for (const language of ['fr', 'en', 'de']) {
      const answer = await get(language);
      expect(answer.headers['x-cache']).toBe('MISS');
      expect(answer.text).toBe(`v2 ${language}`);
    }
    // The new variants are served as usual.
    for (const language of ['fr', 'en', 'de']) {
      const answer = await get(language);
      expect(answer.headers['x-cache']).toBe('HIT');
      expect(answer.text).toBe(`v2 ${language}`);
    }
  });
});

describe('cacheResponses: conditional requests', () => {
  it('answers If-None-Match with 304 from the stored ETag', async () => {
    const { app, state } = setup(json);
    const first = await request(serve(app)).get('/r');
    const etag = first.headers.etag as string;
    expect(etag).toMatch(/^W\/"/);
    const notModified = await request(serve(app)).get('/r').set('If-None-Match', etag);
    expect(notModified.status).toBe(304);
    expect(notModified.headers['x-cache']).toBe('HIT');
    expect(notModified.headers.etag).toBe(etag);
    expect(notModified.headers['content-type']).toBeUndefined();
    expect(notModified.text).toBe('');
    expect(state.calls).toBe(1);
  });

  it('matches weakly, in lists, and *; a different tag gets the full answer', async () => {
    const { app } = setup(json);
    const etag = (await request(serve(app)).get('/r')).headers.etag as string;
    const strong = etag.slice(2);
    expect((await request(serve(app)).get('/r').set('If-None-Match', strong)).status).toBe(304);
    expect((await request(serve(app)).get('/r').set('If-None-Match', `"nope", ${etag}`)).status).toBe(304);
    expect((await request(serve(app)).get('/r').set('If-None-Match', '*')).status).toBe(304);
    const other = await request(serve(app)).get('/r').set('If-None-Match', '"other"');
    expect(other.status).toBe(200);
    expect(other.headers['x-cache']).toBe('HIT');
    expect(other.body.hello).toBe('world');
  });

  it('answers If-Modified-Since from a stored Last-Modified', async () => {
    const { app } = setup((_req, res) => {
      res.set('Last-Modified', 'Wed, 01 Jan 2025 00:00:00 GMT').type('text').send('x');
    });
    app.set('etag', false);
    await request(serve(app)).get('/r');
    const later = await request(serve(app))
      .get('/r')
      .set('If-Modified-Since', 'Thu, 02 Jan 2025 00:00:00 GMT');
    expect(later.status).toBe(304);
    const earlier = await request(serve(app))
      .get('/r')
      .set('If-Modified-Since', 'Tue, 31 Dec 2024 00:00:00 GMT');
    expect(earlier.status).toBe(200);
  });
});

describe('cacheResponses: safe by default', () => {
  const unsafe: [string, Handler][] = [
    ['Set-Cookie', (_q, r) => void r.cookie('session', 'abc').send('x')],
    ['Cache-Control: private', (_q, r) => void r.set('Cache-Control', 'private, max-age=60').send('x')],
    ['Cache-Control: no-store', (_q, r) => void r.set('Cache-Control', 'no-store').send('x')],
    ['Cache-Control: no-cache', (_q, r) => void r.set('Cache-Control', 'no-cache').send('x')],
    ['Vary: *', (_q, r) => void r.set('Vary', '*').send('x')],
    ['404', (_q, r) => void r.status(404).json({ error: 'not found' })],
    ['500', (_q, r) => void r.status(500).json({ error: 'boom' })],
    ['301', (_q, r) => void r.redirect(301, '/elsewhere')],
    ['206', (_q, r) => void r.status(206).send('part')],
  ];
  it.each(unsafe)('never stores a response with %s', async (_name, handler) => {
    const { app, cache, state } = setup(handler);
    await request(serve(app)).get('/r');
    const second = await request(serve(app)).get('/r');
    expect(second.headers['x-cache']).toBe('MISS');
    expect(state.calls).toBe(2);
    expect(cache.size).toBe(0);
  });

  it('never stores a response for a handler error (thrown)', async () => {
    const { app, cache, state } = setup(() => {
      throw new Error('boom');
    });
    expect((await request(serve(app)).get('/r')).status).toBe(500);
    expect((await request(serve(app)).get('/r')).status).toBe(500);
    expect(state.calls).toBe(2);
    expect(cache.size).toBe(0);
  });

  it.each([
    ['Authorization', 'Bearer token-a'],
    ['Cookie', 'session=abc'],
  ])(
    'bypasses a request carrying %s: neither served from nor stored into the cache',
    async (header, value) => {
      const { app, cache, state } = setup(json);
      await request(serve(app)).get('/r'); // an anonymous answer is stored
      const credentialed = await request(serve(app)).get('/r').set(header, value);
      expect(credentialed.headers['x-cache']).toBe('BYPASS');
      await request(serve(app)).get('/r').set(header, value);
      expect(state.calls).toBe(3);
      expect(cache.size).toBe(1);
    },
  );

  it('serves an answer that varies on a request header only to requests with the same value', async () => {
    const { app, state } = setup((req, res) => {
      res.vary('Accept-Language').send(req.get('accept-language') === 'fr' ? 'bonjour' : 'hello');
    });
    expect((await request(serve(app)).get('/r').set('Accept-Language', 'fr')).text).toBe('bonjour');
    const en = await request(serve(app)).get('/r').set('Accept-Language', 'en');
    expect(en.headers['x-cache']).toBe('MISS');
    expect(en.text).toBe('hello');
    const enAgain = await request(serve(app)).get('/r').set('Accept-Language', 'en');
    expect(enAgain.headers['x-cache']).toBe('HIT');
    expect(enAgain.text).toBe('hello');
    // Each combination of values is an entry of its own: the second language did not replace the first.
    const frAgain = await request(serve(app)).get('/r').set('Accept-Language', 'fr');
    expect(frAgain.headers['x-cache']).toBe('HIT');
    expect(frAgain.text).toBe('bonjour');
    expect(state.calls).toBe(2);
  });

  it('sends but does not store a body larger than maxBodySize', async () => {
    const { app, cache } = setup(
      (_req, res) => {
        res.send('x'.repeat(100));
      },
      { maxBodySize: 99 },
    );
    expect((await request(serve(app)).get('/r')).text).toHaveLength(100);
    expect((await request(serve(app)).get('/r')).headers['x-cache']).toBe('MISS');
    expect(cache.size).toBe(0);
  });
});

describe('cacheResponses: varyByUser', () => {
  const varyByUser = (req: Request) => req.get('authorization')?.replace(/^Bearer /, '');

  it('stores one answer per user for requests with Authorization', async () => {
    const { app, state } = setup(
      (req, res) => {
        res.set('Cache-Control', 'private').json({ user: req.get('authorization') });
      },
      { varyByUser },
    );
    const a1 = await request(serve(app)).get('/r').set('Authorization', 'Bearer alice');
    const b1 = await request(serve(app)).get('/r').set('Authorization', 'Bearer bob');
    const a2 = await request(serve(app)).get('/r').set('Authorization', 'Bearer alice');
    const b2 = await request(serve(app)).get('/r').set('Authorization', 'Bearer bob');
    expect([a1, b1, a2, b2].map((r) => r.headers['x-cache'])).toEqual(['MISS', 'MISS', 'HIT', 'HIT']);
    expect(a2.body).toEqual({ user: 'Bearer alice' });
    expect(b2.body).toEqual({ user: 'Bearer bob' });
    expect(state.calls).toBe(2);
  });

  it('bypasses a credentialed request for which varyByUser names no user', async () => {
    const { app, state } = setup(json, { varyByUser: () => undefined });
    await request(serve(app)).get('/r').set('Cookie', 'a=b');
    const again = await request(serve(app)).get('/r').set('Cookie', 'a=b');
    expect(again.headers['x-cache']).toBe('BYPASS');
    expect(state.calls).toBe(2);
  });

  it('still never stores Set-Cookie answers for a user', async () => {
    const { app, state } = setup((_req, res) => void res.cookie('s', '1').send('x'), { varyByUser });
    await request(serve(app)).get('/r').set('Authorization', 'Bearer alice');
    await request(serve(app)).get('/r').set('Authorization', 'Bearer alice');
    expect(state.calls).toBe(2);
  });

  it('keeps Cache-Control: private answers out of the shared (anonymous) entries', async () => {
    const { app, state } = setup((_req, res) => void res.set('Cache-Control', 'private').send('x'), {
      varyByUser,
    });
    await request(serve(app)).get('/r');
    expect((await request(serve(app)).get('/r')).headers['x-cache']).toBe('MISS');
    expect(state.calls).toBe(2);
  });
});

describe('cacheResponses: key override', () => {
  it('keys on what options.key returns, with the method prefixed', async () => {
    const { app, cache, state } = setup(json, { key: (req: Request) => req.path });
    await request(serve(app)).get('/r?utm=1');
    const other = await request(serve(app)).get('/r?utm=2');
    expect(other.headers['x-cache']).toBe('HIT');
    expect(cache.has('GET /r')).toBe(true);
    expect(state.calls).toBe(1);
  });

  it('leaves a request uncached when options.key returns undefined', async () => {
    const { app, state } = setup(json, { key: () => undefined });
    expect((await request(serve(app)).get('/r')).headers['x-cache']).toBe('BYPASS');
    await request(serve(app)).get('/r');
    expect(state.calls).toBe(2);
  });

  it('passes an error of options.key to the error handler', async () => {
    const { app } = setup(json, {
      key: () => {
        throw new Error('bad key');
      },
    });
    expect((await request(serve(app)).get('/r')).status).toBe(500);
  });
});

describe('cacheResponses: staleIfError', () => {
  it('serves the stored answer, marked STALE, when the handler fails after the ttl, within the window', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    let fail = false;
    const { app, state } = setup(
      (_req, res) => {
        if (fail) throw new Error('database down');
        res.json({ ok: true });
      },
      { ttl: '10s', staleIfError: '1m' },
    );
    await request(serve(app)).get('/r');
    fail = true;
    vi.setSystemTime(Date.now() + 11_000);
    const stale = await request(serve(app)).get('/r');
    expect(stale.status).toBe(200);
    expect(stale.headers['x-cache']).toBe('STALE');
    expect(stale.body).toEqual({ ok: true });
    const stale5xx = await request(serve(app)).get('/r');
    expect(stale5xx.headers['x-cache']).toBe('STALE');
    vi.setSystemTime(Date.now() + 60_000);
    expect((await request(serve(app)).get('/r')).status).toBe(500);
    expect(state.calls).toBe(4);
  });

  it('serves a variant while the entry under its base key is expired: fresh as HIT, stale as STALE', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    let fail = false;
    const { app, state } = setup(
      (req, res) => {
        if (fail) throw new Error('database down');
        res.set('Vary', 'Accept-Language').json({ lang: req.headers['accept-language'], n: state.calls });
      },
      { ttl: '10s', staleIfError: '1m' },
    );
    const t0 = Date.now();
    const get = (lang: string) => request(serve(app)).get('/r').set('Accept-Language', lang);
    await get('en'); // the base key
    vi.setSystemTime(t0 + 5_000);
    expect((await get('fr')).headers['x-cache']).toBe('MISS'); // its variant, fresh until t0 + 15 s
    // The base expired at t0 + 10 s; the variant is still fresh.
    vi.setSystemTime(t0 + 11_000);
    fail = true;
    const fresh = await get('fr');
    expect([fresh.status, fresh.headers['x-cache'], fresh.body]).toEqual([200, 'HIT', { lang: 'fr', n: 2 }]);
    // Both expired: each stands in for the failure for its own requests.
    vi.setSystemTime(t0 + 16_000);
    expect((await get('en')).headers['x-cache']).toBe('STALE');
    const stale = await get('fr');
    expect([stale.status, stale.headers['x-cache'], stale.body]).toEqual([
      200,
      'STALE',
      { lang: 'fr', n: 2 },
    ]);
  });

  it('stores a variant under its own key while the base entry is expired, keeping the base', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const { app, state } = setup(
      (req, res) => void res.set('Vary', 'Accept-Language').json({ lang: req.headers['accept-language'] }),
      { ttl: '10s', staleIfError: '1m' },
    );
    const t0 = Date.now();
    const get = (lang: string) => request(serve(app)).get('/r').set('Accept-Language', lang);
    await get('en'); // the base, fresh until t0 + 10 s
    vi.setSystemTime(t0 + 5_000);
    await get('fr'); // a variant, fresh until t0 + 15 s
    vi.setSystemTime(t0 + 11_000);
    expect((await get('de')).headers['x-cache']).toBe('MISS');
    expect((await get('de')).headers['x-cache']).toBe('HIT');
    // `de` went under its own variant key: the base is still the `en` answer, so `fr`, stored after it, stands.
    expect((await get('fr')).headers['x-cache']).toBe('HIT');
    expect(state.calls).toBe(3);
  });

  it('replaces the stored answer when the handler succeeds after the ttl', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    let n = 0;
    const { app } = setup((_req, res) => void res.json({ n: ++n }), { ttl: '10s', staleIfError: '1m' });
    await request(serve(app)).get('/r');
    vi.setSystemTime(Date.now() + 11_000);
    const fresh = await request(serve(app)).get('/r');
    expect(fresh.headers['x-cache']).toBe('MISS');
    expect(fresh.body).toEqual({ n: 2 });
    expect((await request(serve(app)).get('/r')).body).toEqual({ n: 2 });
  });
});

describe('cacheResponses: bad input', () => {
  const cache = new Cache<string, CachedResponse>({ max: 1 });
  it('refuses a missing or wrong cache', () => {
    expect(() => cacheResponses(undefined as never)).toThrow(/cache must be a larder Cache/);
    expect(() => cacheResponses({} as never)).toThrow(TypeError);
  });
  it('refuses bad options, naming them', () => {
    expect(() => cacheResponses(cache, { nope: 1 } as never)).toThrow(/unknown option "nope"/);
    expect(() => cacheResponses(cache, { key: 'x' } as never)).toThrow(/options.key must be a function/);
    expect(() => cacheResponses(cache, { varyByUser: 1 } as never)).toThrow(/options.varyByUser/);
    expect(() => cacheResponses(cache, { tags: [1] } as never)).toThrow(/options.tags/);
    expect(() => cacheResponses(cache, { ttl: 'soon' } as never)).toThrow(/options.ttl/);
    expect(() => cacheResponses(cache, { maxBodySize: -1 })).toThrow(RangeError);
    expect(() => cacheResponses(cache, { staleIfError: '1m' })).toThrow(
      /staleIfError needs a finite options.ttl/,
    );
    expect(() => cacheResponses(cache, { onError: 1 } as never)).toThrow(/options.onError/);
  });
  it('reports a failure to store through onError and still answers', async () => {
    const errors: unknown[] = [];
    const { app } = setup(json, {
      tags: () => {
        throw new Error('tags failed');
      },
      onError: (error) => errors.push(error),
    });
    const answer = await request(serve(app)).get('/r');
    expect(answer.status).toBe(200);
    expect(answer.body.hello).toBe('world');
    expect(errors).toHaveLength(1);
  });
});

describe('cacheResponses: headers of earlier middleware', () => {
  it('does not replay a header set before it (a request id), unless the handler changed it', async () => {
    const cache = new Cache<string, CachedResponse>({ max: 10 });
    const app = express();
    let n = 0;
    app.use((_req, res, next) => {
      res.set('X-Request-Id', String(++n)).set('Cache-Control', 'public, max-age=5');
      next();
    });
    app.get('/h', cacheResponses(cache), (_req, res) => {
      res.set('Cache-Control', 'public, max-age=60').send('x');
    });
    await request(serve(app)).get('/h');
    const hit = await request(serve(app)).get('/h');
    expect(hit.headers['x-cache']).toBe('HIT');
    expect(hit.headers['x-request-id']).toBe('2');
    expect(hit.headers['cache-control']).toBe('public, max-age=60');
  });

  it('keeps those headers on a STALE answer', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const cache = new Cache<string, CachedResponse>({ max: 10 });
    const app = express();
    let n = 0;
    let fail = false;
    app.use((_req, res, next) => {
      res.set('X-Request-Id', String(++n));
      next();
    });
    app.get('/h', cacheResponses(cache, { ttl: 1000, staleIfError: 60_000 }), (_req, res) => {
      if (fail) res.status(503).set('X-Broken', '1').send('down');
      else res.send('up');
    });
    await request(serve(app)).get('/h');
    fail = true;
    vi.setSystemTime(Date.now() + 2000);
    const stale = await request(serve(app)).get('/h');
    expect(stale.headers['x-cache']).toBe('STALE');
    expect(stale.status).toBe(200);
    expect(stale.text).toBe('up');
    expect(stale.headers['x-request-id']).toBe('2');
    expect(stale.headers['x-broken']).toBeUndefined();
  });
});

describe('responseSerializer', () => {
  it('round-trips a stored response, binary body and Infinity included', async () => {
    const cache = new Cache<string, CachedResponse>({ max: 10 });
    const app = express();
    app.get('/bin', cacheResponses(cache), (_req, res) => {
      res
        .vary('Accept')
        .type('application/octet-stream')
        .send(Buffer.from([0, 1, 2, 255]));
    });
    await request(serve(app)).get('/bin');
    const entry = cache.get([...cache.keys()][0] as string) as CachedResponse;
    const copy = responseSerializer.deserialize(responseSerializer.serialize(entry)) as CachedResponse;
    expect(copy).toEqual({ ...entry, body: Buffer.from(entry.body) });
    expect(copy.freshUntil).toBe(Number.POSITIVE_INFINITY);
    expect([...copy.body]).toEqual([0, 1, 2, 255]);
  });

  it('refuses what is not a stored response', () => {
    expect(() => responseSerializer.serialize({ a: 1 })).toThrow(/expected a CachedResponse/);
    expect(() => responseSerializer.deserialize('{"x":1}')).toThrow(/not a stored response/);
  });
});

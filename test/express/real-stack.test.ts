/**
 * cacheResponses inside the stacks people run: the real express-session and compression packages, hooks that
 * add headers when the head goes out (the on-headers pattern), several hosts, and proxies.
 */
import { get as httpGet, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import compression from 'compression';
import express, { type NextFunction, type Request, type Response } from 'express';
import session from 'express-session';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { type CachedResponse, type CacheResponsesOptions, cacheResponses } from '../../src/express/index.js';
import { Cache } from '../../src/index.js';
import { closeServers, serve } from '../helpers/express-server.js';

afterEach(async () => {
  await closeServers();
});

/** Adds `name: value` when the head goes out, as on-headers hooks (cookie-session, response-time) do. */
function onHeaders(name: string, value: string) {
  return (_req: Request, res: Response, next: NextFunction) => {
    const writeHead = res.writeHead;
    res.writeHead = function hooked(this: Response, ...args: unknown[]) {
      this.setHeader(name, value);
      return (writeHead as (...a: unknown[]) => Response).apply(this, args);
    } as Response['writeHead'];
    next();
  };
}

/** A GET with Node's own client (no decompression), the body as received. */
function rawGet(
  server: Server,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }> {
  const { port } = server.address() as AddressInfo;
  return new Promise((resolve, reject) => {
    httpGet({ host: '127.0.0.1', port, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
      );
      res.on('error', reject);
    }).on('error', reject);
  });
}

function decoded(answer: { headers: IncomingHttpHeaders; body: Buffer }): string {
  const encoding = answer.headers['content-encoding'];
  if (encoding === undefined) return answer.body.toString('utf8');
  expect(encoding).toBe('gzip');
  return gunzipSync(answer.body).toString('utf8');
}

describe('cacheResponses behind express-session (saveUninitialized: true)', () => {
  function build() {
    const cache = new Cache<string, CachedResponse>({ max: 100 });
    const state = { calls: 0 };
    const app = express();
    app.use(session({ secret: 'test secret', resave: false, saveUninitialized: true }));
    app.get('/form', cacheResponses(cache), (req, res) => {
      state.calls++;
      res.json({ session: req.sessionID, csrf: `token-for-${req.sessionID}` });
    });
    return { app, cache, state };
  }

  it("never serves one visitor's session to another", async () => {
    const { app, cache, state } = build();
    const first = await request(serve(app)).get('/form');
    expect(first.headers['set-cookie']).toBeDefined();
    const second = await request(serve(app)).get('/form');
    expect(second.headers['x-cache']).toBe('MISS');
    expect(second.body.session).not.toBe(first.body.session);
    expect(second.body.csrf).toBe(`token-for-${second.body.session}`);
    expect(state.calls).toBe(2);
    expect(cache.size).toBe(0);
  });

  it('hands nothing to requests that waited for the first one', async () => {
    const { app, state } = build();
    const server = serve(app);
    const answers = await Promise.all([1, 2, 3].map(() => request(server).get('/form')));
    const sessions = new Set(answers.map((answer) => answer.body.session));
    expect(sessions.size).toBe(3);
    for (const answer of answers) expect(answer.headers['x-cache']).toBe('MISS');
    expect(state.calls).toBe(3);
  });
});

describe('cacheResponses: headers added when the head goes out decide', () => {
  const cases: [string, string, string][] = [
    ['Cache-Control: private, no-store', 'Cache-Control', 'private, no-store'],
    ['Cache-Control: no-cache', 'Cache-Control', 'no-cache'],
    ['Set-Cookie (cookie-session style)', 'Set-Cookie', 'session=eyJ1c2VyIjo3fQ; path=/; httponly'],
    ['Vary: *', 'Vary', '*'],
    ['Vary: Cookie', 'Vary', 'Cookie'],
  ];
  it.each(cases)('never stores an answer a hook in front marks %s', async (_name, header, value) => {
    const cache = new Cache<string, CachedResponse>({ max: 100 });
    const app = express();
    let calls = 0;
    app.use(onHeaders(header, value));
    app.get('/p', cacheResponses(cache), (_req, res) => {
      calls++;
      res.send(`page ${calls}`);
    });
    await request(serve(app)).get('/p');
    const second = await request(serve(app)).get('/p');
    expect(second.headers['x-cache']).toBe('MISS');
    expect(second.text).toBe('page 2');
    expect(calls).toBe(2);
    expect(cache.size).toBe(0);
  });

  it('never stores Vary: Cookie set by the route without varyByUser', async () => {
    const cache = new Cache<string, CachedResponse>({ max: 100 });
    const app = express();
    app.get('/v', cacheResponses(cache), (_req, res) => {
      res.vary('Cookie').send('v');
    });
    await request(serve(app)).get('/v');
    expect((await request(serve(app)).get('/v')).headers['x-cache']).toBe('MISS');
    expect(cache.size).toBe(0);
  });

  it('still stores when a hook adds a harmless header, and replays through the hook', async () => {
    const cache = new Cache<string, CachedResponse>({ max: 100 });
    const app = express();
    let calls = 0;
    app.use(onHeaders('X-Response-Time', '1ms'));
    app.get('/p', cacheResponses(cache), (_req, res) => {
      calls++;
      res.send('ok');
    });
    await request(serve(app)).get('/p');
    const hit = await request(serve(app)).get('/p');
    expect(hit.headers['x-cache']).toBe('HIT');
    expect(hit.headers['x-response-time']).toBe('1ms');
    expect(calls).toBe(1);
  });
});

describe('cacheResponses behind compression()', () => {
  const text = `${'larder caches responses. '.repeat(200)}end`;
  function build() {
    const cache = new Cache<string, CachedResponse>({ max: 100 });
    const state = { calls: 0 };
    const app = express();
    app.use(compression({ threshold: 0 }));
    app.get('/big', cacheResponses(cache), (_req, res) => {
      state.calls++;
      res.type('text/plain').send(text);
    });
    return { app, cache, state };
  }
  const gzip = { 'Accept-Encoding': 'gzip' };
  const identity = { 'Accept-Encoding': 'identity' };
  const orders: [string, Record<string, string>[]][] = [
    ['gzip first', [gzip, identity, gzip, identity]],
    ['identity first', [identity, gzip, identity, gzip]],
  ];
  it.each(orders)('every client gets a body it can decode (%s)', async (_name, clients) => {
    const { app, cache, state } = build();
    const server = serve(app);
    const answers = [];
    for (const headers of clients) answers.push(await rawGet(server, '/big', headers));
    expect(answers.map((a) => a.headers['x-cache'])).toEqual(['MISS', 'HIT', 'HIT', 'HIT']);
    answers.forEach((answer, i) => {
      expect(answer.status).toBe(200);
      expect(answer.headers['content-encoding']).toBe(clients[i] === gzip ? 'gzip' : undefined);
      expect(decoded(answer)).toBe(text);
    });
    expect(state.calls).toBe(1);
    // What is stored is the identity representation, with identity headers.
    const entry = cache.get([...cache.keys()][0] as string) as CachedResponse;
    expect(entry.headers['content-encoding']).toBeUndefined();
    expect(Buffer.from(entry.body).toString('utf8')).toBe(text);
  });

  it('answers a client without Accept-Encoding (supertest) and a HEAD from the same entry', async () => {
    const { app, state } = build();
    const server = serve(app);
    await rawGet(server, '/big', gzip);
    const plain = await rawGet(server, '/big');
    expect(plain.headers['x-cache']).toBe('HIT');
    expect(decoded(plain)).toBe(text);
    const viaSupertest = await request(server).get('/big');
    expect(viaSupertest.text).toBe(text);
    expect((await request(server).head('/big')).headers['x-cache']).toBe('HIT');
    expect(state.calls).toBe(1);
  });
});

describe('cacheResponses in front of compression() (compression on the route)', () => {
  it('stores each encoding with Vary: Accept-Encoding honoured', async () => {
    const text = `${'an encoded page. '.repeat(300)}end`;
    const cache = new Cache<string, CachedResponse>({ max: 100 });
    const app = express();
    let calls = 0;
    app.get('/enc', cacheResponses(cache), compression({ threshold: 0 }), (_req, res) => {
      calls++;
      res.type('text/plain').send(text);
    });
    const server = serve(app);
    const clients = [{ 'Accept-Encoding': 'gzip' }, { 'Accept-Encoding': 'identity' }];
    const answers = [];
    for (const headers of [...clients, ...clients]) answers.push(await rawGet(server, '/enc', headers));
    expect(answers.map((a) => a.headers['x-cache'])).toEqual(['MISS', 'MISS', 'HIT', 'HIT']);
    expect(answers.map((a) => a.headers['content-encoding'])).toEqual(['gzip', undefined, 'gzip', undefined]);
    for (const answer of answers) expect(decoded(answer)).toBe(text);
    expect(calls).toBe(2);
  });
});

describe('cacheResponses: the default key holds the origin', () => {
  function build() {
    const cache = new Cache<string, CachedResponse>({ max: 100 });
    const state = { calls: 0 };
    const app = express();
    app.get('/links', cacheResponses(cache), (req, res) => {
      state.calls++;
      res.send(`<a href="${req.protocol}://${req.get('host')}/next">next</a>`);
    });
    return { app, cache, state };
  }

  it('a request with Host: evil.example does not poison the page for the real host', async () => {
    const { app, state } = build();
    const server = serve(app);
    const evil = await request(server).get('/links').set('Host', 'evil.example');
    expect(evil.text).toContain('http://evil.example/next');
    const real = await request(server).get('/links').set('Host', 'shop.example');
    expect(real.headers['x-cache']).toBe('MISS');
    expect(real.text).toContain('http://shop.example/next');
    const again = await request(server).get('/links').set('Host', 'shop.example');
    expect(again.headers['x-cache']).toBe('HIT');
    expect(again.text).toContain('http://shop.example/next');
    expect(state.calls).toBe(2);
  });

  it("with trust proxy, keys on the trusted proxy's X-Forwarded-Proto and X-Forwarded-Host", async () => {
    const { app, cache, state } = build();
    app.set('trust proxy', true);
    const server = serve(app);
    const a = await request(server)
      .get('/links')
      .set('Host', 'internal:3000')
      .set('X-Forwarded-Host', 'a.example')
      .set('X-Forwarded-Proto', 'https');
    const b = await request(server)
      .get('/links')
      .set('Host', 'internal:3000')
      .set('X-Forwarded-Host', 'b.example')
      .set('X-Forwarded-Proto', 'https');
    expect(a.text).toContain('https://internal:3000/next');
    expect(b.headers['x-cache']).toBe('MISS');
    expect(state.calls).toBe(2);
    expect([...cache.keys()].sort()).toEqual([
      'GET https://a.example (host: internal:3000)/links',
      'GET https://b.example (host: internal:3000)/links',
    ]);
  });

  it('without trust proxy, X-Forwarded-Host changes nothing (Express ignores it too)', async () => {
    const { app, cache } = build();
    const server = serve(app);
    await request(server).get('/links').set('Host', 'shop.example').set('X-Forwarded-Host', 'a.example');
    const b = await request(server)
      .get('/links')
      .set('Host', 'shop.example')
      .set('X-Forwarded-Host', 'b.example');
    expect(b.headers['x-cache']).toBe('HIT');
    expect([...cache.keys()]).toEqual(['GET http://shop.example/links']);
  });
});

describe('cacheResponses: a Host that is not host[:port] never makes a key (cache poisoning)', () => {
  /** Two pages of one host; /x reflects its query, as a search page would. */
  function build(options?: CacheResponsesOptions) {
    const cache = new Cache<string, CachedResponse>({ max: 100 });
    const state = { calls: 0 };
    const app = express();
    const cached = cacheResponses(cache, options);
    app.get('/x', cached, (req, res) => {
      state.calls++;
      res.send(`page /x, q=${String(req.query.q)}`);
    });
    app.get('/docs/x', cached, (_req, res) => {
      state.calls++;
      res.send('the real /docs/x');
    });
    return { app, cache, state };
  }

  it('Host: shop.example/docs on GET /x is not cached, and does not write the entry of /docs/x', async () => {
    const { app, cache, state } = build();
    const server = serve(app);
    const evil = await rawGet(server, '/x?q=evil', { Host: 'shop.example/docs' });
    expect(evil.status).toBe(200);
    expect(evil.headers['x-cache']).toBe('BYPASS');
    expect(cache.size).toBe(0);
    const victim = await rawGet(server, '/docs/x?q=evil', { Host: 'shop.example' });
    expect(victim.headers['x-cache']).toBe('MISS');
    expect(victim.body.toString()).toBe('the real /docs/x');
    expect(state.calls).toBe(2);
    // Valid hosts are cached as before: names, IPv4 and IPv6 addresses, with ports.
    const hosts = ['shop.example:8080', '127.0.0.1:3000', '[::1]:3000', 'xn--bcher-kva.example'];
    for (const host of hosts) {
      await rawGet(server, '/x', { Host: host });
      expect((await rawGet(server, '/x', { Host: host })).headers['x-cache']).toBe('HIT');
    }
    expect(cache.size).toBe(1 + hosts.length);
  });

  it.each([
    ['a space (forging a key suffix)', 'shop.example/x vary:["accept-language","en"]'],
    ['a query', 'shop.example?a'],
    ['a fragment', 'shop.example#a'],
    ['user info', 'user@shop.example'],
    ['a quote', 'shop.example"'],
    ['a port that is not a number', 'shop.example:80a'],
    ['an unclosed IPv6 literal', '[::1'],
  ])('Host with %s: BYPASS, the handler answers, nothing is stored', async (_name, host) => {
    const { app, cache, state } = build();
    const server = serve(app);
    const answer = await rawGet(server, '/x', { Host: host });
    expect(answer.status).toBe(200);
    expect(answer.headers['x-cache']).toBe('BYPASS');
    expect(answer.body.toString()).toBe('page /x, q=undefined');
    expect(state.calls).toBe(1);
    expect(cache.size).toBe(0);
  });

  it('with trust proxy, X-Forwarded-Host: a.example/docs is not cached and does not write the entry of /docs/x', async () => {
    const { app, cache, state } = build();
    app.set('trust proxy', true);
    const server = serve(app);
    const proxied = { Host: 'internal:3000', 'X-Forwarded-Proto': 'https' };
    const evil = await rawGet(server, '/x?q=evil', { ...proxied, 'X-Forwarded-Host': 'a.example/docs' });
    expect(evil.headers['x-cache']).toBe('BYPASS');
    const victim = await rawGet(server, '/docs/x?q=evil', { ...proxied, 'X-Forwarded-Host': 'a.example' });
    expect(victim.headers['x-cache']).toBe('MISS');
    expect(victim.body.toString()).toBe('the real /docs/x');
    expect([...cache.keys()]).toEqual(['GET https://a.example (host: internal:3000)/docs/x?q=evil']);
    // A forwarded protocol that is not a URI scheme makes no key either.
    const scheme = await rawGet(server, '/x', {
      ...proxied,
      'X-Forwarded-Host': 'a.example',
      'X-Forwarded-Proto': 'http://b.example/docs',
    });
    expect(scheme.headers['x-cache']).toBe('BYPASS');
    expect(state.calls).toBe(3);
  });

  it('the check belongs to the default key: a key option that ignores the host caches whatever the Host', async () => {
    const byDefault = build();
    expect((await rawGet(serve(byDefault.app), '/x', { Host: 'shop.example/docs' })).headers['x-cache']).toBe(
      'BYPASS',
    );
    const { app, cache, state } = build({ key: (req) => req.originalUrl });
    const server = serve(app);
    expect((await rawGet(server, '/x', { Host: 'shop.example/docs' })).headers['x-cache']).toBe('MISS');
    const again = await rawGet(server, '/x', { Host: 'shop.example' });
    expect(again.headers['x-cache']).toBe('HIT');
    expect([...cache.keys()]).toEqual(['GET /x']);
    expect(state.calls).toBe(1);
  });
});

describe('cacheResponses: stored bodies own their memory', () => {
  it('a small body is not a view into the shared buffer pool: its byteLength (what sizeOf counts) is what it holds', async () => {
    const cache = new Cache<string, CachedResponse>({
      maxSize: 10_000,
      sizeOf: (r) => r.body.byteLength + 100,
    });
    const app = express();
    app.get('/s/:n', cacheResponses(cache), (req, res) => {
      res.write('small ');
      res.end(`body ${req.params.n}`);
    });
    for (let n = 0; n < 5; n++) await request(serve(app)).get(`/s/${n}`);
    expect(cache.size).toBe(5);
    for (const key of cache.keys()) {
      const { body } = cache.peek(key) as CachedResponse;
      expect(body.byteLength).toBe(body.buffer.byteLength);
    }
  });
});

describe('cacheResponses: options', () => {
  it("refuses tags: [''] at setup, naming the option", () => {
    const cache = new Cache<string, CachedResponse>({ max: 1 });
    expect(() => cacheResponses(cache, { tags: [''] })).toThrow(TypeError);
    expect(() => cacheResponses(cache, { tags: ['ok', ''] })).toThrow(/options\.tags/);
  });
});

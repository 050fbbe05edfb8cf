/**
 * The parts of cacheResponses, each alone: the request key, the storability decision, the body capture, the
 * replay of a stored response, and the serializer.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import request from 'supertest';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { BodyCapture, ownedConcat } from '../../src/express/body-capture.js';
import type { CachedResponse } from '../../src/express/index.js';
import { responseSerializer } from '../../src/express/index.js';
import { checkOptions } from '../../src/express/options.js';
import { notModified, replay } from '../../src/express/replay.js';
import { defaultKey, requestKeys, variantKey, varyMatches, varyOf } from '../../src/express/request-key.js';
import { ResponseStore } from '../../src/express/response-store.js';
import { isStorable, sentHeaders } from '../../src/express/storability.js';
import type { CacheableRequest } from '../../src/express/types.js';
import { Cache } from '../../src/index.js';

/** A request as Node would give it (enough for the key and Vary). */
function req(headers: Record<string, string>, url = '/a?b=1', extra: object = {}): CacheableRequest {
  return { method: 'GET', url, headers, socket: {}, ...extra } as unknown as CacheableRequest;
}

function entry(overrides: Partial<CachedResponse> = {}): CachedResponse {
  return {
    status: 200,
    headers: { 'content-type': 'text/plain', etag: '"v1"' },
    body: Buffer.from('hello'),
    storedAt: Date.now(),
    freshUntil: Number.POSITIVE_INFINITY,
    vary: undefined,
    ...overrides,
  };
}

describe('request key', () => {
  it('is protocol, host and original URL', () => {
    expect(defaultKey(req({ host: 'Shop.Example:8080' }))).toBe('http://shop.example:8080/a?b=1');
    expect(defaultKey(req({ host: 'a.example' }, '/x', { originalUrl: '/mount/x' }))).toBe(
      'http://a.example/mount/x',
    );
    expect(defaultKey(req({ host: 'a.example' }, '/', { socket: { encrypted: true } }))).toBe(
      'https://a.example/',
    );
  });

  it("follows Express's protocol and hostname (trust proxy), keeping Host when it differs", () => {
    const proxied = req({ host: 'internal:3000', 'x-forwarded-host': 'pub.example:8443, other' }, '/p', {
      protocol: 'https',
      hostname: 'pub.example',
    });
    expect(defaultKey(proxied)).toBe('https://pub.example:8443 (host: internal:3000)/p');
    const direct = req({ host: 'pub.example:80' }, '/p', { protocol: 'http', hostname: 'pub.example' });
    expect(defaultKey(direct)).toBe('http://pub.example:80/p');
  });

  it('makes no key of a host that is not host[:port], nor of a URL that is not origin-form', () => {
    for (const host of [
      'shop.example/docs',
      'a b',
      'a"b',
      'a<b',
      'a@b',
      'a?b',
      'a#b',
      'a:8o',
      '[::1',
      '[fe80::1%eth0]',
      'a\\b',
    ]) {
      expect(defaultKey(req({ host }))).toBeUndefined();
    }
    for (const host of [
      '',
      'a.example',
      'a.example:',
      'a.example:8080',
      '10.0.0.1',
      '[::1]',
      '[::1]:443',
      'a%2eb',
      'a_b-c~d',
      "a'!$&()*+,;=b", // RFC 3986's sub-delims: allowed in a reg-name, and none of them ends the host
    ]) {
      expect(defaultKey(req({ host }))).toBe(`http://${host}/a?b=1`);
    }
    expect(defaultKey(req({ host: 'a.example' }, 'http://b.example/a'))).toBeUndefined();
    expect(defaultKey(req({ host: 'a.example' }, '/', { protocol: 'http://b.example/x' }))).toBeUndefined();
    // With trust proxy, the forwarded host is checked too.
    const forwarded = (value: string) =>
      req({ host: 'internal:3000', 'x-forwarded-host': value }, '/p', {
        protocol: 'https',
        hostname: 'pub.example',
      });
    expect(defaultKey(forwarded('pub.example/admin'))).toBeUndefined();
    expect(defaultKey(forwarded('pub.example:8443'))).toBe(
      'https://pub.example:8443 (host: internal:3000)/p',
    );
  });

  it('prefixes the method and suffixes the user', () => {
    expect(requestKeys('HEAD', 'r', undefined)).toEqual({ key: 'HEAD r', getKey: 'GET r' });
    expect(requestKeys('GET', 'r', 'a b')).toEqual({ key: 'GET r user:a%20b', getKey: 'GET r user:a%20b' });
  });

  it('records and matches the values of the headers Vary names; a variant key per combination', () => {
    const fr = req({ 'accept-language': 'fr' });
    const en = req({ 'accept-language': 'en' });
    const vary = varyOf(fr, 'Accept-Language, X-Other');
    expect(vary).toEqual({ 'accept-language': 'fr', 'x-other': '' });
    const stored = entry({ vary });
    expect(varyMatches(stored, fr)).toBe(true);
    expect(varyMatches(stored, en)).toBe(false);
    expect(variantKey('GET k', stored, en)).not.toBe(variantKey('GET k', stored, fr));
    expect(variantKey('GET k', stored, en)).toBe(
      variantKey('GET k', stored, req({ 'accept-language': 'en' })),
    );
    expect(varyOf(fr, undefined)).toBeUndefined();
  });
});

describe('storability', () => {
  const shared = { method: 'GET', requestHeaders: {}, perUser: false };
  const perUser = { ...shared, perUser: true };
  it('stores a plain 2xx answer', () => {
    expect(isStorable(200, { 'content-type': 'text/plain' }, shared)).toBe(true);
    expect(isStorable(204, {}, shared)).toBe(true);
  });
  it.each([
    ['a 206', 206, {}],
    ['a 404', 404, {}],
    ['a 500', 500, {}],
    ['a 201 (not a status RFC 9111 lets a cache store)', 201, {}],
    ['Set-Cookie', 200, { 'set-cookie': ['a=1'] }],
    ['Set-Cookie with public', 200, { 'set-cookie': 'a=1', 'cache-control': 'public' }],
    ['no-store', 200, { 'cache-control': 'max-age=60, no-store' }],
    ['no-cache', 200, { 'cache-control': 'no-cache' }],
    ['qualified no-cache', 200, { 'cache-control': 'no-cache="set-cookie"' }],
    ['private', 200, { 'cache-control': 'PRIVATE' }],
    ['Vary: *', 200, { vary: 'Accept, *' }],
    ['Vary: Cookie', 200, { vary: 'Accept-Encoding, Cookie' }],
    ['repeated Cache-Control fields', 200, { 'cache-control': ['public', 'no-store'] }],
  ])('refuses %s', (_name, status, headers) => {
    expect(isStorable(status, headers as Record<string, string>, shared)).toBe(false);
  });
  it('allows private and Vary: Cookie under a user key, never Set-Cookie', () => {
    expect(isStorable(200, { 'cache-control': 'private' }, perUser)).toBe(true);
    expect(isStorable(200, { vary: 'Cookie' }, perUser)).toBe(true);
    expect(isStorable(200, { 'set-cookie': 'a=1' }, perUser)).toBe(false);
  });
  it('honours a request Cache-Control: no-store (RFC 9111)', () => {
    expect(isStorable(200, {}, { ...shared, requestHeaders: { 'cache-control': 'no-store' } })).toBe(false);
  });

  it('reads the headers that were sent, those passed straight to writeHead included', async () => {
    let seen: Record<string, string | string[]> = {};
    const server = createServer((_req: IncomingMessage, res: ServerResponse) => {
      res.setHeader('X-Set', '1');
      res.writeHead(200, { 'Set-Cookie': ['a=1', 'b=2'], 'Cache-Control': 'public' });
      seen = sentHeaders(res);
      res.end('x');
    });
    await request(server).get('/');
    expect(seen['set-cookie']).toEqual(['a=1', 'b=2']);
    expect(seen['cache-control']).toBe('public');
    expect(seen['x-set']).toBe('1');
  });
});

describe('body capture', () => {
  it('joins strings and bytes into one buffer that owns its memory', () => {
    const capture = new BodyCapture(100);
    const reused = Buffer.from('bb');
    capture.add('aa');
    capture.add(reused);
    reused.write('XX'); // the route reuses its buffer: the capture kept a copy
    capture.add('6363', 'hex');
    capture.add(undefined);
    capture.add(() => {});
    const body = capture.body();
    expect(body.toString()).toBe('aabbcc');
    expect(body.byteLength).toBe(body.buffer.byteLength);
    expect(capture.size).toBe(6);
  });
  it('keeps nothing past the limit', () => {
    const capture = new BodyCapture(3);
    capture.add('ab');
    capture.add('cd');
    expect(capture.overflowed).toBe(true);
    capture.add('e');
    expect(capture.body().byteLength).toBe(0);
  });
  it('copies a pooled view out of the pool, and keeps a whole buffer as it is', () => {
    const pooled = Buffer.from('tiny');
    expect(pooled.byteLength).toBeLessThan(pooled.buffer.byteLength); // a view into the 8 KiB pool
    const owned = ownedConcat([pooled], pooled.byteLength);
    expect(owned.byteLength).toBe(owned.buffer.byteLength);
    const whole = new Uint8Array(16);
    expect(ownedConcat([whole], 16).buffer).toBe(whole.buffer);
  });
});

describe('replay', () => {
  let server: ReturnType<typeof createServer> | undefined;
  afterEach(() => server?.close());
  function serving(stored: CachedResponse) {
    server = createServer((req, res) =>
      replay(req as CacheableRequest, res, stored, 'HIT', stored.storedAt + 61_000),
    );
    return server;
  }
  it('sends status, headers and body, with Age and X-Cache', async () => {
    const answer = await request(serving(entry({ status: 203 }))).get('/');
    expect(answer.status).toBe(203);
    expect(answer.text).toBe('hello');
    expect(answer.headers.age).toBe('61');
    expect(answer.headers['x-cache']).toBe('HIT');
    expect(answer.headers['content-type']).toBe('text/plain');
  });
  it('answers a matching conditional request with 304 and the validators only', async () => {
    const answer = await request(serving(entry())).get('/').set('If-None-Match', 'W/"v1"');
    expect(answer.status).toBe(304);
    expect(answer.headers.etag).toBe('"v1"');
    expect(answer.headers['content-type']).toBeUndefined();
    expect(notModified(req({ 'if-none-match': '"v2"' }), entry())).toBe(false);
  });
});

describe('responseSerializer', () => {
  it('decodes bodies that own their memory', () => {
    const copy = responseSerializer.deserialize(responseSerializer.serialize(entry())) as CachedResponse;
    expect(Buffer.from(copy.body).toString()).toBe('hello');
    expect(copy.body.byteLength).toBe(copy.body.buffer.byteLength);
  });
  it.each([
    ['not JSON', 'nope'],
    ['null', 'null'],
    ['a status that is not an integer', '{"s":"200","h":{},"b":"","t":1,"f":null,"v":null}'],
    ['headers that are not strings', '{"s":200,"h":{"a":1},"b":"","t":1,"f":null,"v":null}'],
    ['vary that is not strings', '{"s":200,"h":{},"b":"","t":1,"f":null,"v":{"a":[1]}}'],
    ['a missing time', '{"s":200,"h":{},"b":"","f":null,"v":null}'],
    // Written by someone else under the prefix: what cacheResponses never stores is never replayed.
    ['a cookie', '{"s":200,"h":{"Set-Cookie":"sid=victim"},"b":"","t":1,"f":null,"v":null}'],
    ['an error status', '{"s":500,"h":{},"b":"","t":1,"f":null,"v":null}'],
    ['a partial response', '{"s":206,"h":{},"b":"","t":1,"f":null,"v":null}'],
  ])('refuses %s', (_name, text) => {
    expect(() => responseSerializer.deserialize(text)).toThrow();
  });
});

describe('response store', () => {
  const config = checkOptions(new Cache<string, CachedResponse>({ max: 1 }), { ttl: '1m' });
  const keys = requestKeys('GET', 'http://a.example/r', undefined);

  it('stores even when the store joins a lookup of the same key that is still running', async () => {
    const cache = new Cache<string, CachedResponse>({ max: 10 });
    const store = new ResponseStore(cache, config);
    const lookup = store.find(keys, req({}));
    const stored = entry();
    store.store(keys.key, stored, ['t'], req({}));
    expect((await lookup).entry).toBeUndefined();
    await vi.waitFor(() => expect(cache.get(keys.key)).toBe(stored));
    expect(cache.invalidateTag('t')).toBe(1);
  });

  it('finds the variant of a response for other values of the headers it varies on', async () => {
    const cache = new Cache<string, CachedResponse>({ max: 10 });
    const store = new ResponseStore(cache, config);
    const fr = req({ 'accept-language': 'fr' });
    const en = req({ 'accept-language': 'en' });
    const french = entry({ vary: { 'accept-language': 'fr' }, freshUntil: Date.now() + 60_000 });
    cache.set(keys.key, french);
    expect((await store.find(keys, fr)).entry).toBe(french);
    const miss = await store.find(keys, en);
    expect(miss.entry).toBeUndefined();
    expect(miss.slot).toBe(variantKey(keys.key, french, en));
    const english = entry({ vary: { 'accept-language': 'en' }, freshUntil: Date.now() + 60_000 });
    store.store(miss.slot, english, undefined, en);
    await vi.waitFor(async () => expect((await store.find(keys, en)).entry).toBe(english));
    expect((await store.find(keys, fr)).entry).toBe(french);
  });

  it('finds no variant older than the entry under the base key (a leftover of a deleted response)', async () => {
    const cache = new Cache<string, CachedResponse>({ max: 10 });
    const store = new ResponseStore(cache, config);
    const en = req({ 'accept-language': 'en' });
    const now = Date.now();
    const fresh = now + 60_000;
    const english = entry({ vary: { 'accept-language': 'en' }, storedAt: now - 10, freshUntil: fresh });
    cache.set(keys.key, entry({ vary: { 'accept-language': 'fr' }, storedAt: now - 5, freshUntil: fresh }));
    cache.set(variantKey(keys.key, english, en), english);
    const miss = await store.find(keys, en);
    expect(miss.entry).toBeUndefined();
    expect(miss.slot).toBe(variantKey(keys.key, english, en));
    const newer = entry({ vary: { 'accept-language': 'en' }, storedAt: now - 5, freshUntil: fresh });
    cache.set(miss.slot, newer);
    expect((await store.find(keys, en)).entry).toBe(newer);
  });
});

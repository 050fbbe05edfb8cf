import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { StreamBytes } from '../../src/next/codec.js';
import {
  decodeValue,
  type Encoding,
  encodeValue,
  type NextValueCodec,
  resolveEncoding,
} from '../../src/next/compression.js';
import {
  createIncrementalCacheHandler,
  createUseCacheHandler,
  type IncrementalCacheHandler,
} from '../../src/next/index.js';
import { closeRuntimes, withScope } from '../../src/next/runtime.js';
import { productPage } from '../helpers/html-page.js';
import { deleteKeys, redisForTests, uniquePrefix } from '../helpers/redis-server.js';

const url = await redisForTests('larder/next compression');

const gzip: Encoding = { compress: 'gzip', threshold: 1024, codec: undefined };
const brotli: Encoding = { compress: 'brotli', threshold: 1024, codec: undefined };
const none: Encoding = { compress: false, threshold: 1024, codec: undefined };

/** A codec that XORs every byte (stands for encryption). */
const xor = (name: string): NextValueCodec => ({
  name,
  encode: (bytes) => bytes.map((b) => b ^ 0x5a),
  decode: async (bytes) => bytes.map((b) => b ^ 0x5a),
});

function entry(html: string, rsc: Buffer) {
  return {
    k: 'i',
    t: 1_700_000_000_000,
    g: ['posts'],
    s: html.length,
    v: {
      kind: 'APP_PAGE',
      html,
      rscData: rsc,
      status: 200,
      headers: { 'x-next-cache-tags': 'posts' },
      segmentData: new Map([
        ['/_tree', Buffer.from('tree')],
        ['/_index', new Uint8Array([9, 8, 7])],
      ]),
      body: new StreamBytes(new Uint8Array([1, 2, 3])),
    },
  };
}

describe('larder/next value encoding', () => {
  const big = entry(productPage(64 * 1024, 3), Buffer.from(productPage(16 * 1024, 4)));

  for (const [name, encoding] of [
    ['gzip', gzip],
    ['brotli', brotli],
    ['none', none],
    ['gzip + codec', { ...gzip, codec: xor('x1') }],
    ['codec only', { ...none, codec: xor('x1') }],
  ] as const) {
    it(`round-trips Buffer, Uint8Array, Map and stored streams (${name})`, async () => {
      const text = await encodeValue(big, encoding);
      const back = (await decodeValue(text, encoding)) as typeof big;
      expect(back.v.html).toBe(big.v.html);
      expect(Buffer.isBuffer(back.v.rscData)).toBe(true);
      expect(back.v.rscData.equals(big.v.rscData)).toBe(true);
      expect(back.v.segmentData).toBeInstanceOf(Map);
      expect(Buffer.isBuffer(back.v.segmentData.get('/_tree'))).toBe(true);
      const index = back.v.segmentData.get('/_index');
      expect(index).toBeInstanceOf(Uint8Array);
      expect(Buffer.isBuffer(index)).toBe(false);
      expect([...(index as Uint8Array)]).toEqual([9, 8, 7]);
      expect(back.v.body).toBeInstanceOf(StreamBytes);
      expect([...back.v.body.bytes]).toEqual([1, 2, 3]);
      expect(back.g).toEqual(['posts']);
    });
  }

  it('writes a header saying how a value is encoded; small values stay plain JSON', async () => {
    expect((await encodeValue(big, gzip)).startsWith('~gz~')).toBe(true);
    expect((await encodeValue(big, brotli)).startsWith('~br~')).toBe(true);
    expect((await encodeValue(big, none)).startsWith('{')).toBe(true);
    expect((await encodeValue(big, { ...gzip, codec: xor('k2') })).startsWith('~gz+k2~')).toBe(true);
    const small = { k: 'i', t: 1, g: [], s: 1, v: { kind: 'FETCH', data: { body: 'x' } } };
    expect((await encodeValue(small, gzip)).startsWith('{')).toBe(true);
    expect((await encodeValue(small, { ...gzip, threshold: 5000 })).startsWith('{')).toBe(true);
    const medium = { ...small, v: { kind: 'FETCH', data: { body: 'abc'.repeat(400) } } };
    expect((await encodeValue(medium, gzip)).startsWith('~gz~')).toBe(true);
    expect((await encodeValue(medium, { ...gzip, threshold: 5000 })).startsWith('{')).toBe(true);
  });

  it('serializes a compressed value once', async () => {
    let reads = 0;
    const counted = { ...big, v: { ...big.v } };
    Object.defineProperty(counted.v, 'probe', {
      enumerable: true,
      get: () => {
        reads++;
        return 1;
      },
    });
    const text = await encodeValue(counted, gzip);
    expect(text.startsWith('~gz~')).toBe(true);
    expect(reads).toBe(1);
    expect(((await decodeValue(text, gzip)) as { v: { probe: number } }).v.probe).toBe(1);
  });

  it('compresses binary values that shrink less than base64 grows them; the threshold counts bytes raw', async () => {
    // 20 KB, 80% random: gzip saves only ~20% of the bytes, but the plain JSON would carry them as base64 (4/3).
    const body = Buffer.alloc(20_000);
    let x = 7;
    for (let i = 0; i < body.length; i++) {
      x = (x * 1103515245 + 12345) & 0x7fffffff;
      body[i] = i % 5 === 0 ? 32 : x >>> 16;
    }
    const route = { k: 'i', t: 1, g: [], s: body.length, v: { kind: 'APP_ROUTE', body, status: 200 } };
    const text = await encodeValue(route, gzip);
    expect(text.startsWith('~gz~')).toBe(true);
    expect(((await decodeValue(text, gzip)) as typeof route).v.body.equals(body)).toBe(true);
    // A 900-byte byte array is under the 1024-byte threshold (its base64 would be 1,200 characters).
    const small = { ...route, v: { ...route.v, body: Buffer.alloc(900, 97) } };
    expect((await encodeValue(small, gzip)).startsWith('{')).toBe(true);
  });

  it('reads values written with any compression setting (a rolling deploy)', async () => {
    for (const writer of [gzip, brotli, none]) {
      const text = await encodeValue(big, writer);
      for (const reader of [gzip, brotli, none]) {
        expect(((await decodeValue(text, reader)) as typeof big).v.html).toBe(big.v.html);
      }
    }
  });

  it('refuses unknown headers, other codecs and values not encoded by the configured codec', async () => {
    const text = await encodeValue(big, gzip);
    await expect(decodeValue(`~zs~${text.slice(4)}`, gzip)).rejects.toThrow(/unknown compression "zs"/);
    await expect(decodeValue(`!${text}`, gzip)).rejects.toThrow(TypeError);
    await expect(decodeValue(text, { ...gzip, codec: xor('k1') })).rejects.toThrow(
      /not encoded by the codec/,
    );
    const coded = await encodeValue(big, { ...gzip, codec: xor('k1') });
    await expect(decodeValue(coded, gzip)).rejects.toThrow(/unknown codec "k1"/);
    await expect(decodeValue(coded, { ...gzip, codec: xor('k2') })).rejects.toThrow(/unknown codec "k1"/);
    await expect(decodeValue('{"k":"i"', gzip)).rejects.toThrow(TypeError);
    await expect(decodeValue('~gz~AAAA', gzip)).rejects.toThrow(/cannot decompress/);
    await expect(decodeValue('~~e30=', gzip)).rejects.toThrow(/bad header/);
  });

  it('never crashes on arbitrary input: every result is an object or a TypeError (fuzzed)', async () => {
    const valid = await encodeValue(big, gzip);
    const validBr = await encodeValue(entry('<p>x</p>'.repeat(300), Buffer.from('rsc')), brotli);
    const framed = Buffer.from((await encodeValue(big, { ...none, codec: xor('x') })).slice(4), 'base64');
    const arbitraryText = fc.oneof(
      fc.string(),
      fc.string({ unit: 'binary' }),
      fc
        .constantFrom('~gz~', '~br~', '~+x~', '{', '~', '~gz+x~')
        .chain((head) => fc.base64String().map((b) => head + b)),
      // Flipped characters of valid encodings.
      fc
        .tuple(fc.constantFrom(valid, validBr), fc.nat(), fc.string({ minLength: 1, maxLength: 3 }))
        .map(([v, at, s]) => v.slice(0, at % v.length) + s + v.slice((at % v.length) + s.length)),
      // Truncated valid encodings.
      fc.tuple(fc.constantFrom(valid, validBr), fc.nat()).map(([v, at]) => v.slice(0, at % v.length)),
      // Corrupt frames behind a valid codec header (lengths and references are checked).
      fc.tuple(fc.nat(framed.length - 1), fc.integer({ min: 0, max: 255 })).map(([at, byte]) => {
        const copy = Buffer.from(framed);
        copy[at] = byte;
        return `~+x~${Buffer.from(copy.map((b) => b ^ 0x5a)).toString('base64')}`;
      }),
    );
    await fc.assert(
      fc.asyncProperty(arbitraryText, async (text) => {
        for (const encoding of [gzip, { ...none, codec: xor('x') }]) {
          try {
            const value = await decodeValue(text, encoding);
            expect(typeof value).toBe('object');
            expect(value).not.toBeNull();
          } catch (error) {
            expect(error).toBeInstanceOf(TypeError);
          }
        }
      }),
      { numRuns: 400 },
    );
  });

  it('validates the options, naming them', () => {
    expect(() => resolveEncoding('zstd', undefined, undefined, 'f')).toThrow(/f: compress must be/);
    expect(() => resolveEncoding(undefined, -1, undefined, 'f')).toThrow(RangeError);
    expect(() => resolveEncoding(undefined, 1.5, undefined, 'f')).toThrow(/compressThreshold/);
    expect(() => resolveEncoding(undefined, undefined, { encode: () => 1 }, 'f')).toThrow(/codec must/);
    expect(() =>
      resolveEncoding(
        undefined,
        undefined,
        { name: 'a b', encode: (b: Uint8Array) => b, decode: (b: Uint8Array) => b },
        'f',
      ),
    ).toThrow(/codec.name/);
    expect(resolveEncoding(undefined, undefined, undefined, 'f')).toEqual({
      compress: 'gzip',
      threshold: 1024,
      codec: undefined,
    });
    expect(() => createIncrementalCacheHandler({ compress: 'lz4' as never })).toThrow(
      /createIncrementalCacheHandler: compress/,
    );
  });
});

describe.runIf(url !== undefined)('larder/next compression against Redis', () => {
  const redisUrl = url as string;
  let admin: Redis;
  const prefixes: string[] = [];
  let n = 0;

  async function handler(
    prefix: string,
    extra: Record<string, unknown> = {},
  ): Promise<IncrementalCacheHandler> {
    const h = withScope(`compression-${++n}`, () => {
      const Inc = createIncrementalCacheHandler({ redisUrl, prefix, buildId: 'b1', ...extra });
      return new Inc({});
    });
    // Waits until its tag table is loaded (its first read answers from Redis).
    await h.get('warm-up', { kind: 'FETCH' });
    return h;
  }

  async function redisBytes(prefix: string): Promise<number> {
    let total = 0;
    for (const key of await admin.keys(`${prefix}*`)) {
      if ((await admin.type(key)) === 'string') total += await admin.strlen(key);
    }
    return total;
  }

  beforeAll(() => {
    admin = new Redis(redisUrl);
  });
  afterEach(async () => {
    await closeRuntimes();
  });
  afterAll(async () => {
    for (const p of prefixes) await deleteKeys(admin, p);
    admin.disconnect();
  });

  for (const compress of ['gzip', 'brotli'] as const) {
    it(`a 2 MB page takes at most 30% of its size in Redis, and B serves A's page byte-for-byte (${compress})`, async () => {
      const prefix = uniquePrefix(`next-${compress}`);
      prefixes.push(prefix);
      const a = await handler(prefix, { compress });
      const b = await handler(prefix);
      const html = productPage(2 * 1024 * 1024, 7);
      // The RSC payload of a server-rendered page carries the same text again.
      const rsc = Buffer.from(`0:["$","main",null,${JSON.stringify(html.replace(/<[^>]+>/g, ' '))}]`);
      const size = Buffer.byteLength(html) + rsc.byteLength;
      await a.set(
        '/catalogue',
        { kind: 'APP_PAGE', html, rscData: rsc, status: 200, headers: {} },
        {
          cacheControl: { revalidate: 60, expire: 3600 },
        },
      );
      const stored = await redisBytes(prefix);
      expect(stored).toBeGreaterThan(0);
      expect(stored / size).toBeLessThanOrEqual(0.3);
      const got = await b.get('/catalogue', { kind: 'APP_PAGE' });
      const value = got?.value as { html: string; rscData: Buffer };
      expect(value.html).toBe(html);
      expect(value.rscData.equals(rsc)).toBe(true);
    });
  }

  it('without compression the same page takes its full size (the baseline of the 30%)', async () => {
    const prefix = uniquePrefix('next-plain');
    prefixes.push(prefix);
    const a = await handler(prefix, { compress: false });
    const html = productPage(256 * 1024, 7);
    await a.set('/p', { kind: 'APP_PAGE', html, rscData: Buffer.from('x'), status: 200, headers: {} }, {});
    expect(await redisBytes(prefix)).toBeGreaterThan(html.length);
  });

  it('an entry with an unknown header is a miss, reported, never a crash', async () => {
    const prefix = uniquePrefix('next-foreign');
    prefixes.push(prefix);
    const errors: unknown[] = [];
    const a = await handler(prefix, { onError: (e: unknown) => errors.push(e) });
    const html = productPage(8 * 1024, 2);
    await a.set('/x', { kind: 'APP_PAGE', html, status: 200, headers: {} }, {});
    const keys = (await admin.keys(`${prefix}*`)).filter((k) => k.includes('/x'));
    expect(keys.length).toBe(1);
    const raw = (await admin.get(keys[0] as string)) as string;
    expect(raw).toContain('\n~gz~');
    await admin.set(keys[0] as string, raw.replace('\n~gz~', '\n~zz~'), 'KEEPTTL');
    const b = await handler(prefix, { onError: (e: unknown) => errors.push(e) });
    expect(await b.get('/x', { kind: 'APP_PAGE' })).toBeNull();
    expect(String(errors.at(-1))).toMatch(/unknown compression "zz"/);
    // Counted as a Redis error, not as a Redis hit.
    expect(b.stats()).toMatchObject({ redisHits: 0, redisErrors: 1 });
  });

  it('instances with a codec share entries; instances without it miss them', async () => {
    const prefix = uniquePrefix('next-codec');
    prefixes.push(prefix);
    const a = await handler(prefix, { codec: xor('k1'), onError: () => {} });
    const b = await handler(prefix, { codec: xor('k1'), onError: () => {} });
    const c = await handler(prefix, { onError: () => {} });
    const html = productPage(8 * 1024, 5);
    await a.set('/y', { kind: 'APP_PAGE', html, status: 200, headers: {} }, {});
    const got = await b.get('/y', { kind: 'APP_PAGE' });
    expect((got?.value as { html?: string } | undefined)?.html).toBe(html);
    expect(await c.get('/y', { kind: 'APP_PAGE' })).toBeNull();
    const raw = String(await admin.get((await admin.keys(`${prefix}*/y*`))[0] as string));
    expect(raw).not.toContain('product-card');
  });

  it("each handler writes with its own codec, whichever handler made the process's runtime first", async () => {
    const prefix = uniquePrefix('next-own-codec');
    prefixes.push(prefix);
    const html = productPage(8 * 1024, 6);
    const scope = `compression-${++n}`;
    // The 'use cache' handler, without a codec, makes the shared runtime first (on its first get).
    const uc = withScope(scope, () => createUseCacheHandler({ redisUrl, prefix, buildId: 'b1' }));
    await uc.get('warm-up', []);
    const inc = withScope(scope, () => {
      const Inc = createIncrementalCacheHandler({ redisUrl, prefix, buildId: 'b1', codec: xor('k9') });
      return new Inc({});
    });
    await inc.set('/z', { kind: 'APP_PAGE', html, status: 200, headers: {} }, {});
    const raw = String(await admin.get((await admin.keys(`${prefix}*/z*`))[0] as string));
    expect(raw).toContain('+k9~');
    expect(raw).not.toContain('product-card');
  });
});

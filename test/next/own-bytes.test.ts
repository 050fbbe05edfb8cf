import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { StreamBytes } from '../../src/next/codec.js';
import { createIncrementalCacheHandler } from '../../src/next/index.js';
import { ownBytes } from '../../src/next/own-bytes.js';
import { closeRuntimes, withScope } from '../../src/next/runtime.js';
import { deleteKeys, redisForTests, uniquePrefix } from '../helpers/redis-server.js';

const url = await redisForTests('larder/next own bytes');

/** Whether a byte array keeps more memory alive than its own bytes (a view into a pool or a larger buffer). */
const poolSize = Buffer.poolSize;

const page = () => ({
  kind: 'APP_PAGE',
  html: '<html>hello</html>',
  // Under 4 KiB: views into Node's shared 8 KiB pool, as Next.js's own small buffers are.
  rscData: Buffer.concat([Buffer.from('rsc-'), Buffer.from('payload')]),
  headers: { 'x-next-cache-tags': '_N_T_/layout' },
  status: 200,
  segmentData: new Map([
    ['/_tree', Buffer.from('tree')],
    ['/_index', Buffer.from([9, 8, 7])],
  ]),
});

type Page = ReturnType<typeof page>;

function expectOwned(value: Page): void {
  const views = [value.rscData, ...value.segmentData.values()];
  const bytes = views.reduce((n, v) => n + v.byteLength, 0);
  for (const view of views) {
    expect(Buffer.isBuffer(view)).toBe(true);
    // All the views share one buffer that holds exactly their bytes: nothing of Node's pool is kept.
    expect(view.buffer.byteLength).toBe(bytes);
  }
  expect(value.rscData.toString()).toBe('rsc-payload');
  expect(value.segmentData.get('/_tree')?.toString()).toBe('tree');
  expect([...(value.segmentData.get('/_index') ?? [])]).toEqual([9, 8, 7]);
}

describe('ownBytes', () => {
  it('copies pooled views into one buffer of their own, leaving the original value as it was', () => {
    const original = page();
    expect(original.rscData.buffer.byteLength).toBe(poolSize);
    const owned = ownBytes(original);
    expect(owned).not.toBe(original);
    expectOwned(owned);
    expect(owned.html).toBe(original.html);
    expect(owned.headers).toBe(original.headers);
    expect(original.rscData.buffer.byteLength).toBe(poolSize);
    expect(original.segmentData.get('/_tree')?.buffer.byteLength).toBe(poolSize);
  });

  it('keeps Uint8Array and stream bytes as they are typed, and returns a value that needs nothing as is', () => {
    const parent = new Uint8Array(1000);
    parent.set([1, 2, 3], 10);
    const value = { a: [parent.subarray(10, 13)], s: new StreamBytes(parent.subarray(10, 12)) };
    const owned = ownBytes(value);
    const a = owned.a[0] as Uint8Array;
    expect(Buffer.isBuffer(a)).toBe(false);
    expect(a).toBeInstanceOf(Uint8Array);
    expect([...a]).toEqual([1, 2, 3]);
    expect(owned.s).toBeInstanceOf(StreamBytes);
    expect([...owned.s.bytes]).toEqual([1, 2]);
    expect(a.buffer.byteLength).toBe(5);
    const whole = { b: Buffer.allocUnsafeSlow(10), n: 1 };
    expect(ownBytes(whole)).toBe(whole);
  });

  it('keeps an own __proto__ key a plain property', () => {
    const value = JSON.parse('{"__proto__": {"polluted": 1}, "b": null}') as Record<string, unknown>;
    value.b = Buffer.from('x');
    const owned = ownBytes(value);
    expect(Object.getPrototypeOf(owned)).toBe(Object.prototype);
    expect(Object.hasOwn(owned, '__proto__')).toBe(true);
  });
});

describe('larder/next memory tier (issue 15, item 14)', () => {
  afterEach(async () => {
    await closeRuntimes();
  });

  it('keeps page buffers that own their memory, not views into the shared pool', async () => {
    const Handler = withScope('own-bytes-memory', () =>
      createIncrementalCacheHandler({ redisUrl: '', buildId: 'b1' }),
    );
    const h = new Handler({});
    await h.set('/page', page(), { cacheControl: { revalidate: 60, expire: 3600 } });
    const got = await h.get('/page', { kind: 'APP_PAGE' });
    expectOwned(got?.value as Page);
  });

  describe.runIf(url !== undefined)('with Redis', () => {
    const prefixes: string[] = [];
    afterAll(async () => {
      const admin = new Redis(url as string);
      for (const p of prefixes) await deleteKeys(admin, p);
      admin.disconnect();
    });

    it('keeps buffers decoded from Redis that own their memory', async () => {
      const prefix = uniquePrefix('next-own');
      prefixes.push(prefix);
      const make = (scope: string) =>
        withScope(scope, () =>
          createIncrementalCacheHandler({ redisUrl: url as string, prefix, buildId: 'b1' }),
        );
      const a = new (make('own-bytes-a'))({});
      const b = new (make('own-bytes-b'))({});
      await a.get('warm', { kind: 'FETCH' });
      await b.get('warm', { kind: 'FETCH' });
      await a.set('/page', page(), { cacheControl: { revalidate: 60, expire: 3600 } });
      // b reads it from Redis (decoded: small buffers come from the pool) and keeps it in memory.
      expectOwned((await b.get('/page', { kind: 'APP_PAGE' }))?.value as Page);
      expectOwned((await b.get('/page', { kind: 'APP_PAGE' }))?.value as Page);
    });
  });
});

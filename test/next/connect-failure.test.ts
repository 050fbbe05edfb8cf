/**
 * The handlers never throw to Next.js, even when the Redis connection cannot be opened at all (resolveOptions
 * refuses the URLs known to fail; this is the backstop for anything else): they report it and serve from memory.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';

vi.mock('../../src/next/connection.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../../src/next/connection.js')>();
  return {
    ...actual,
    openClient: () => {
      throw new TypeError('Invalid URL');
    },
  };
});

const { createIncrementalCacheHandler, createUseCacheHandler } = await import('../../src/next/index.js');
const { closeRuntimes, withScope } = await import('../../src/next/runtime.js');

afterEach(async () => {
  await closeRuntimes();
});

describe('larder/next when the connection cannot be opened', () => {
  it('use-cache: get, set, updateTags, refreshTags and getExpiration report and serve from memory', async () => {
    const errors: string[] = [];
    const uc = withScope('cf-u', () =>
      createUseCacheHandler({ redisUrl: 'redis://127.0.0.1:1', onError: (_e, op) => errors.push(op) }),
    );
    await expect(uc.get('k', [])).resolves.toBeUndefined();
    const bytes = new TextEncoder().encode('v');
    const value = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(bytes);
        c.close();
      },
    });
    await uc.set(
      'k',
      Promise.resolve({ value, tags: ['t'], stale: 1, timestamp: Date.now(), expire: 60, revalidate: 60 }),
    );
    const got = await uc.get('k', []);
    expect(got === undefined ? undefined : await new Response(got.value).text()).toBe('v');
    await expect(uc.refreshTags()).resolves.toBeUndefined();
    await expect(uc.getExpiration(['t'])).resolves.toBe(Number.POSITIVE_INFINITY);
    await expect(uc.updateTags(['t'])).resolves.toBeUndefined();
    expect(await uc.get('k', [])).toBeUndefined();
    expect(errors).toEqual(['connect']);
  });

  it('incremental: constructing the class (per request) does not throw; it serves from memory', async () => {
    const errors: string[] = [];
    const Inc = withScope('cf-i', () =>
      createIncrementalCacheHandler({
        redisUrl: 'redis://127.0.0.1:1',
        onError: (_e, op) => errors.push(op),
      }),
    );
    let inc: InstanceType<typeof Inc> | undefined;
    expect(() => {
      inc = new Inc({});
    }).not.toThrow();
    if (inc === undefined) throw new Error('unreachable');
    await inc.set('/p', { kind: 'APP_ROUTE', body: Buffer.from('b'), status: 200, headers: {} });
    expect(await new Inc({}).get('/p', { kind: 'APP_ROUTE' })).not.toBeNull();
    await expect(inc.revalidateTag('t')).resolves.toBeUndefined();
    expect(errors).toEqual(['connect']);
  });
});

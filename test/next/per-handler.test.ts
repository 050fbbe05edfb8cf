/**
 * Options of the Next.js handlers: `redisUrl` checked at creation, and the options each handler keeps of its own
 * while the two share one runtime (memory tier, connection, tag table) in a process.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  createIncrementalCacheHandler,
  createUseCacheHandler,
  type UseCacheEntry,
} from '../../src/next/index.js';
import { closeRuntimes, withScope } from '../../src/next/runtime.js';
import { nextRedisSuite } from '../helpers/next-redis-suite.js';
import { redisForTests, waitFor } from '../helpers/redis-server.js';

const url = await redisForTests('larder/next redisUrl schemes');

function entry(text: string, over: Partial<UseCacheEntry> = {}): UseCacheEntry {
  const bytes = new TextEncoder().encode(text);
  return {
    value: new ReadableStream({
      start(c) {
        c.enqueue(bytes);
        c.close();
      },
    }),
    tags: [],
    stale: 30,
    timestamp: Date.now(),
    expire: 3600,
    revalidate: 900,
    ...over,
  };
}

afterEach(async () => {
  await closeRuntimes();
});

describe('larder/next redisUrl', () => {
  it('refuses at creation a redisUrl the connection cannot be opened with, naming redisUrl', () => {
    for (const redisUrl of [
      'redis://cache:63790x',
      'http://x',
      'cache:6379',
      'redis://a b',
      'redis://h:99999',
    ]) {
      expect(() => createUseCacheHandler({ redisUrl }), redisUrl).toThrow(TypeError);
      expect(() => createIncrementalCacheHandler({ redisUrl }), redisUrl).toThrow(/redisUrl/);
    }
    for (const redisUrl of ['http://x', 'redis://a:1,nope', 'redis://a:1x']) {
      expect(() => createUseCacheHandler({ redisUrl, cluster: true }), redisUrl).toThrow(/redisUrl.*cluster/);
    }
  });

  it('keeps the password out of the message', () => {
    expect(() => createUseCacheHandler({ redisUrl: 'redis://:s3cret@cache:6379x' })).toThrow(
      /redis:\/\/\*\*\*@cache:6379x/,
    );
    expect(() => createUseCacheHandler({ redisUrl: 'redis://:s3cret@cache:6379x' })).not.toThrow(/s3cret/);
    // Base64 passwords hold "/" and "+"; "#", "?" and "," end a URL's parts: none of it is shown, with or
    // without cluster (whose list is split at commas).
    for (const pw of ['Zm9v/YmFy+c2VjcmV0', 'hunter#2', 'p?w', 'a,b/@c', 'p%zz']) {
      for (const cluster of [false, true]) {
        const redisUrl = `redis://default:${pw}@127.0.0.1:6379`;
        let message = '';
        try {
          createUseCacheHandler({ redisUrl, cluster });
        } catch (error) {
          message = (error as Error).message;
        }
        expect(message, `${pw} ${cluster}`).toMatch(/redisUrl/);
        expect(message, `${pw} ${cluster}`).not.toContain(pw);
        expect(message, `${pw} ${cluster}`).toMatch(/"redis:\/\/\*\*\*/);
      }
    }
  });

  it('accepts the documented forms: redis://, rediss://, credentials, IPv6, a cluster node list, Sentinel', () => {
    withScope('url-ok', () => {
      for (const redisUrl of [
        'redis://127.0.0.1:6379',
        ' redis://cache ',
        'rediss://user:p%40ss@cache.example.com:6380/2',
        'redis://[::1]:6379',
        '',
      ]) {
        expect(() => createUseCacheHandler({ redisUrl }), redisUrl).not.toThrow();
      }
      expect(() =>
        createUseCacheHandler({ redisUrl: 'redis://a:7000, redis://b:7001', cluster: true }),
      ).not.toThrow();
      expect(() =>
        createIncrementalCacheHandler({
          redisUrl: 'redis://:pw@mymaster',
          client: { sentinels: [{ host: '127.0.0.1', port: 26379 }], name: 'mymaster' },
        }),
      ).not.toThrow();
    });
  });
});

describe.runIf(url !== undefined)('larder/next redisUrl schemes against Redis', () => {
  const suite = nextRedisSuite(url ?? '', 'next-scheme');

  /** Whether a 'use cache' entry set through a handler made from `redisUrl` reaches Redis within `within` ms. */
  async function writes(redisUrl: string, within: number): Promise<boolean> {
    const prefix = suite.prefix();
    const uc = withScope(`scheme-${prefix}`, () =>
      createUseCacheHandler({ redisUrl, prefix, timeout: 200, onError: () => {} }),
    );
    return waitFor(
      async () => {
        await uc.set('k', Promise.resolve(entry('v')));
        return (await suite.admin().keys(`${prefix}*`)).some((k) => k.includes(':v:'));
      },
      within,
      50,
    ).then(
      () => true,
      () => false,
    );
  }

  it('REDIS:// (upper case) connects as redis:// does', async () => {
    expect(await writes((url as string).replace(/^redis:/, 'REDIS:'), 5000)).toBe(true);
  });

  it('REDISS:// (upper case) uses TLS: the plain-TCP Redis never gets a write (nor a password in clear)', async () => {
    expect(await writes((url as string).replace(/^redis:/, 'REDISS:'), 1500)).toBe(false);
  });
});

describe('larder/next per-handler options in a shared runtime', () => {
  it('reports a handler failure to that handler onError only', async () => {
    const incErrors: string[] = [];
    const ucErrors: string[] = [];
    const { Inc, uc } = withScope('ph-onerror', () => ({
      Inc: createIncrementalCacheHandler({
        redisUrl: '',
        buildId: 'b',
        onError: (_e, op) => incErrors.push(op),
      }),
      uc: createUseCacheHandler({ redisUrl: '', buildId: 'b', onError: (_e, op) => ucErrors.push(op) }),
    }));
    new Inc({}); // Next.js constructs it first, on a request: the runtime is created with its options
    await uc.set('k', Promise.reject(new Error('render failed')));
    expect({ incErrors, ucErrors }).toEqual({ incErrors: [], ucErrors: ['set'] });
  });

  it("bounds each handler's entries by its own maxTtl", async () => {
    const { Inc, uc } = withScope('ph-maxttl', () => ({
      Inc: createIncrementalCacheHandler({ redisUrl: '', buildId: 'b', maxTtl: '7d' }),
      uc: createUseCacheHandler({ redisUrl: '', buildId: 'b', maxTtl: '100ms' }),
    }));
    const inc = new Inc({});
    await uc.set('k', Promise.resolve(entry('v', { expire: 0xfffffffe, revalidate: 0xfffffffe })));
    await inc.set('p', { kind: 'APP_ROUTE', body: Buffer.from('b'), status: 200, headers: {} });
    await new Promise((r) => setTimeout(r, 300));
    expect(await uc.get('k', [])).toBeUndefined();
    expect(await inc.get('p', { kind: 'APP_ROUTE' })).not.toBeNull();
  });

  it("scopes each handler's keys by its own buildId", async () => {
    const { Inc, ucA, ucB } = withScope('ph-build', () => ({
      Inc: createIncrementalCacheHandler({ redisUrl: '', buildId: 'A' }),
      ucA: createUseCacheHandler({ redisUrl: '', buildId: 'A' }),
      ucB: createUseCacheHandler({ redisUrl: '', buildId: 'B' }),
    }));
    new Inc({});
    await ucB.set('k', Promise.resolve(entry('from build B')));
    expect(await ucA.get('k', [])).toBeUndefined();
    const got = await ucB.get('k', []);
    expect(got === undefined ? undefined : await new Response(got.value).text()).toBe('from build B');
    expect(ucB.stats().entries).toBe(1);
    expect(ucA.stats().entries).toBe(0);
  });

  it('refuses a second handler whose shared settings (maxMemory, timeout, redisDuringBuild) differ', () => {
    withScope('ph-shared', () => {
      createIncrementalCacheHandler({ redisUrl: '', maxMemory: 1024 * 1024, timeout: '1s' });
      expect(() => createUseCacheHandler({ redisUrl: '', timeout: '1s' })).toThrow(/maxMemory/);
      expect(() => createUseCacheHandler({ redisUrl: '', maxMemory: 1024 * 1024 })).toThrow(/timeout/);
      expect(() =>
        createUseCacheHandler({
          redisUrl: '',
          maxMemory: 1024 * 1024,
          timeout: 1000,
          redisDuringBuild: true,
        }),
      ).toThrow(/redisDuringBuild/);
      // The same values (however written), another prefix, or the same file evaluated again: accepted.
      expect(() =>
        createUseCacheHandler({ redisUrl: '', maxMemory: 1024 * 1024, timeout: 1000 }),
      ).not.toThrow();
      expect(() => createUseCacheHandler({ redisUrl: '', prefix: 'other:' })).not.toThrow();
      expect(() =>
        createIncrementalCacheHandler({ redisUrl: '', maxMemory: 1024 * 1024, timeout: '1s', buildId: 'x' }),
      ).not.toThrow();
    });
  });
});

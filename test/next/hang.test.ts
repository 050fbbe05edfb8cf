/**
 * larder/next with a Redis that hangs instead of dying (SIGSTOP on a private redis-server): the handlers notice
 * it within about 1.5 s (the bus heartbeat), stop trusting memory from before, stop waiting for Redis on
 * misses, and resync when Redis answers again. Issue 15, item 8.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  createIncrementalCacheHandler,
  createUseCacheHandler,
  type IncrementalCacheHandler,
  type UseCacheHandler,
} from '../../src/next/index.js';
import { closeRuntimes, withScope } from '../../src/next/runtime.js';
import { BlackHoleProxy } from '../helpers/black-hole-proxy.js';
import { hasRedisServerBinary, RedisServer, uniquePrefix, waitFor } from '../helpers/redis-server.js';

const TIMEOUT = 200;

interface Instance {
  inc: IncrementalCacheHandler;
  uc: UseCacheHandler;
}

let counter = 0;
function instance(redisUrl: string, prefix: string, extra: Record<string, unknown> = {}): Instance {
  return withScope(`hang-instance-${++counter}`, () => {
    const Inc = createIncrementalCacheHandler({ redisUrl, prefix, buildId: 'b1', ...extra });
    return { inc: new Inc({}), uc: createUseCacheHandler({ redisUrl, prefix, buildId: 'b1', ...extra }) };
  });
}

const page = () => ({
  kind: 'APP_PAGE',
  html: '<html>hello</html>',
  rscData: Buffer.from([0, 1, 2]),
  headers: { 'x-next-cache-tags': 'posts' },
  postponed: undefined,
  status: 200,
  segmentData: new Map(),
});

describe.runIf(hasRedisServerBinary('larder/next hang'))('larder/next when Redis hangs (SIGSTOP)', () => {
  let server: RedisServer | undefined;
  afterEach(async () => {
    server?.resume();
    await closeRuntimes();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('distrusts pre-outage memory within 2 s, answers misses without waiting, resyncs after SIGCONT', async () => {
    server = await RedisServer.start();
    const p = uniquePrefix('next-hang');
    const errors: string[] = [];
    const opts = { onError: (_e: unknown, op: string) => errors.push(op), timeout: TIMEOUT };
    const a = instance(server.url, p, opts);
    const b = instance(server.url, p, opts);
    await Promise.all([a.inc.get('warm', { kind: 'FETCH' }), b.inc.get('warm', { kind: 'FETCH' })]);
    await a.inc.set('/before', page(), {});
    expect(await b.inc.get('/before', { kind: 'APP_PAGE' })).not.toBeNull();

    server.pause();
    const frozenAt = performance.now();
    // B's memory copy from before the freeze may miss invalidations: it stops being served.
    await waitFor(async () => (await b.inc.get('/before', { kind: 'APP_PAGE' })) === null, 5000);
    // The bus heartbeat reports the hang, without waiting for a call to time out.
    await waitFor(() => errors.includes('bus'), 5000);
    expect(performance.now() - frozenAt).toBeLessThan(2000);
    // Misses no longer wait for Redis.
    const t0 = performance.now();
    for (let i = 0; i < 10; i++) expect(await b.inc.get(`/cold-${i}`, { kind: 'APP_PAGE' })).toBeNull();
    expect(performance.now() - t0).toBeLessThan(TIMEOUT);
    // A page rewritten during the freeze (on A) is not served stale by B afterwards.
    await a.inc.set('/before', { ...page(), html: '<html>new</html>' }, {});

    server.resume();
    await waitFor(
      async () => {
        await a.inc.set('/after', page(), {});
        return (await b.inc.get('/after', { kind: 'APP_PAGE' })) !== null;
      },
      10_000,
      100,
    );
    const after = (await b.inc.get('/before', { kind: 'APP_PAGE' })) as { value: { html: string } } | null;
    expect(after === null || after.value.html === '<html>new</html>').toBe(true);
  }, 30_000);

  it('a half-open connection is replaced: the handler reads the shared cache again within seconds', async () => {
    server = await RedisServer.start();
    const proxy = new BlackHoleProxy();
    await proxy.start(server.port);
    try {
      const p = uniquePrefix('next-half-open');
      const opts = { onError: () => {}, timeout: TIMEOUT };
      // A behind the proxy, B straight on Redis.
      const a = instance(`redis://127.0.0.1:${proxy.port}`, p, opts);
      const b = instance(server.url, p, opts);
      await Promise.all([a.inc.get('warm', { kind: 'FETCH' }), b.inc.get('warm', { kind: 'FETCH' })]);
      await b.inc.set('/shared', page(), {});
      await waitFor(async () => (await a.inc.get('/shared', { kind: 'APP_PAGE' })) !== null, 5000);
      // Every connection of A now forwards nothing and never closes (a network partition).
      proxy.blackHole();
      const cutAt = performance.now();
      await b.inc.set('/written-after', page(), {});
      // A must get a working connection by itself and read B's page from Redis.
      await waitFor(
        async () => (await a.inc.get('/written-after', { kind: 'APP_PAGE' })) !== null,
        10_000,
        100,
      );
      expect(performance.now() - cutAt).toBeLessThan(10_000);
    } finally {
      await closeRuntimes();
      await proxy.stop();
    }
  }, 30_000);
});

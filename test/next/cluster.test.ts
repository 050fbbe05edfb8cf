/**
 * larder/next handlers with `cluster: true` on the local Redis Cluster (scripts/redis-cluster.sh): two instances
 * share pages and revalidate each other's tags. Issue 16.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  createIncrementalCacheHandler,
  createUseCacheHandler,
  type IncrementalCacheHandler,
  type UseCacheHandler,
} from '../../src/next/index.js';
import { closeRuntimes, withScope } from '../../src/next/runtime.js';
import { clusterForTests } from '../helpers/redis-cluster.js';
import { uniquePrefix, waitFor } from '../helpers/redis-server.js';

const urls = await clusterForTests('larder/next on Redis Cluster');

interface Instance {
  inc: IncrementalCacheHandler;
  uc: UseCacheHandler;
}

let counter = 0;
function instance(redisUrl: string, prefix: string): Instance {
  const opts = { redisUrl, prefix, buildId: 'b1', cluster: true, onError: () => {} };
  return withScope(`cluster-instance-${++counter}`, () => {
    const Inc = createIncrementalCacheHandler(opts);
    return { inc: new Inc({}), uc: createUseCacheHandler(opts) };
  });
}

const page = (html = '<html>hello</html>') => ({
  kind: 'APP_PAGE',
  html,
  rscData: Buffer.from([0, 1, 2]),
  headers: { 'x-next-cache-tags': '_N_T_/blog,posts' },
  postponed: undefined,
  status: 200,
  segmentData: new Map(),
});

describe.runIf(urls !== undefined)('larder/next handlers on a Redis Cluster (cluster: true)', () => {
  // The body runs even when skipped (vitest collects it): no cluster, no URL.
  const redisUrl = (urls ?? []).slice(0, 3).join(',');
  afterEach(async () => {
    await closeRuntimes();
  });

  it('shares pages between two instances and revalidates tags across them', async () => {
    const p = uniquePrefix('next-cluster');
    const a = instance(redisUrl, p);
    const b = instance(redisUrl, p);
    await waitFor(async () => {
      await Promise.all([a.inc.get('warm', { kind: 'FETCH' }), b.inc.get('warm', { kind: 'FETCH' })]);
      await a.inc.set('/probe', page(), {});
      return (await b.inc.get('/probe', { kind: 'APP_PAGE' })) !== null;
    }, 10_000);
    for (let i = 0; i < 30; i++) await a.inc.set(`/post/${i}`, page(`<p>${i}</p>`), {});
    for (let i = 0; i < 30; i++) {
      const hit = (await b.inc.get(`/post/${i}`, { kind: 'APP_PAGE' })) as { value: { html: string } } | null;
      expect(hit?.value.html).toBe(`<p>${i}</p>`);
    }
    await new Promise((r) => setTimeout(r, 2));
    await a.inc.revalidateTag('posts');
    for (let i = 0; i < 30; i++) expect(await a.inc.get(`/post/${i}`, { kind: 'APP_PAGE' })).toBeNull();
    await waitFor(async () => (await b.inc.get('/post/0', { kind: 'APP_PAGE' })) === null, 3000);
    for (let i = 0; i < 30; i++) expect(await b.inc.get(`/post/${i}`, { kind: 'APP_PAGE' })).toBeNull();
    // A fresh instance honours the revalidation too.
    const c = instance(redisUrl, p);
    await c.inc.get('warm', { kind: 'FETCH' });
    for (let i = 0; i < 30; i += 5) expect(await c.inc.get(`/post/${i}`, { kind: 'APP_PAGE' })).toBeNull();
    // Regenerated after the invalidation: fresh everywhere.
    await new Promise((r) => setTimeout(r, 2));
    await b.inc.set('/post/0', page('<p>new</p>'), {});
    await waitFor(async () => (await c.inc.get('/post/0', { kind: 'APP_PAGE' })) !== null, 3000);
  });

  it('refuses a cluster option that is not a boolean', () => {
    expect(() => createUseCacheHandler({ redisUrl, cluster: 'yes' as unknown as boolean })).toThrow(
      /cluster must be a boolean/,
    );
  });
});

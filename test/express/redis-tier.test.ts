/**
 * cacheResponses on caches that share a Redis tier and bus: two instances behind a round-robin balancer.
 */
import express from 'express';
import { Redis } from 'ioredis';
import request from 'supertest';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type CachedResponse, cacheResponses, responseSerializer } from '../../src/express/index.js';
import type { Cache } from '../../src/index.js';
import { createCache } from '../../src/redis/index.js';
import { closeServers, serve } from '../helpers/express-server.js';
import { deleteKeys, RedisServer, redisForTests, uniquePrefix, waitFor } from '../helpers/redis-server.js';

const url = await redisForTests('larder/express with the Redis tier');

describe.runIf(url)('cacheResponses with a Redis tier and bus (two instances, real Redis)', () => {
  let admin: Redis;
  let listener: Redis;
  let prefix: string;
  let published: string[];
  const caches: Cache<string, CachedResponse>[] = [];

  beforeAll(async () => {
    admin = new Redis(url as string);
    listener = new Redis(url as string);
    listener.on('message', (_channel: string, text: string) => published.push(text));
  });
  afterAll(async () => {
    await listener.quit();
    await admin.quit();
  });
  beforeEach(async () => {
    prefix = uniquePrefix('express');
    published = [];
    await listener.subscribe(`${prefix}bus`);
  });
  afterEach(async () => {
    await closeServers();
    for (const cache of caches.splice(0)) await cache.close();
    await listener.unsubscribe();
    await deleteKeys(admin, prefix);
  });

  /** One instance: a cache on the shared Redis and an app with one cached route; `calls` counts handler runs. */
  function instance(calls: { n: number }) {
    const cache = createCache<string, CachedResponse>({
      redisUrl: url,
      max: 100,
      ttl: 60_000,
      redis: { prefix, serializer: responseSerializer },
    });
    caches.push(cache);
    const app = express();
    app.get('/courses', cacheResponses(cache, { tags: ['courses'] }), (_req, res) => {
      calls.n++;
      res.json({ courses: ['a', 'b'], run: calls.n });
    });
    return { cache, app };
  }

  /** Whether Redis holds the stored response yet (the tier write is asynchronous). */
  async function stored(): Promise<boolean> {
    const keys = await admin.keys(`${prefix}*`);
    return keys.some((key) => key.includes('GET '));
  }

  it('instance B serves what A stored, and storing broadcasts no delete; invalidation does', async () => {
    const calls = { n: 0 };
    const a = instance(calls);
    const b = instance(calls);
    await waitFor(() => [a, b].every((i) => i.cache.stats().busMessages >= 1)); // subscribed
    const get = (app: express.Express) => request(serve(app)).get('/courses').set('Host', 'shop.example');

    const first = await get(a.app);
    expect(first.headers['x-cache']).toBe('MISS');
    await waitFor(stored);
    const answers = [];
    for (const app of [b.app, a.app, b.app, a.app, b.app]) answers.push(await get(app));
    expect(answers.map((r) => r.headers['x-cache'])).toEqual(['HIT', 'HIT', 'HIT', 'HIT', 'HIT']);
    for (const answer of answers) expect(answer.body).toEqual({ courses: ['a', 'b'], run: 1 });
    expect(calls.n).toBe(1);
    expect(published.filter((text) => text.includes('"delete"'))).toEqual([]);

    // An explicit invalidation does go over the bus: B drops its copy, and the next request runs the handler.
    a.cache.invalidateTag('courses');
    await waitFor(() => published.some((text) => text.includes('"tags"')));
    await waitFor(() => b.cache.stats().busMessages >= 2);
    const after = await get(b.app);
    expect(after.headers['x-cache']).toBe('MISS');
    expect(after.body.run).toBe(2);
    expect(calls.n).toBe(2);
  });
});

describe.runIf(url)(
  'cacheResponses on a real Redis tier: concurrent misses run a same-tick handler once',
  () => {
    it('eight concurrent requests whose lookups wait on one Redis read run the handler once', async () => {
      // A private server, paused below so that every request's lookup joins the first one's tier read.
      const server = await RedisServer.start();
      const admin = new Redis(server.url);
      const cache = createCache<string, CachedResponse>({
        redisUrl: server.url,
        max: 100,
        ttl: 60_000,
        redis: { prefix: uniquePrefix('express-sf'), serializer: responseSerializer, timeout: 2_000 },
      });
      try {
        let runs = 0;
        const app = express();
        app.get('/courses', cacheResponses(cache), (_req, res) => {
          runs++;
          res.json({ run: runs }); // answers in the same tick: no await before it
        });
        const server8 = serve(app);
        await waitFor(() => cache.stats().busMessages >= 1); // connected and subscribed
        await admin.call('CLIENT', 'PAUSE', '150', 'ALL');
        const answers = await Promise.all(
          Array.from({ length: 8 }, () => request(server8).get('/courses').set('Host', 'shop.example')),
        );
        expect(runs).toBe(1);
        expect(answers.map((r) => r.body)).toEqual(Array.from({ length: 8 }, () => ({ run: 1 })));
      } finally {
        await closeServers();
        await cache.close();
        admin.disconnect();
        await server.stop();
      }
    });
  },
);

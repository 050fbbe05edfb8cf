/**
 * Starts the example: `npx tsx examples/express-sqlite/server.ts` (from the repository root).
 *
 * Environment: PORT (default 3000; 0 picks a free one), HOST (default 127.0.0.1), DB_FILE (default
 * larder-example.db in the temporary folder, created and seeded when missing), CACHE=off (no cache, to compare), TTL (default 30s),
 * INSTANCE (a name for X-Instance), REDIS_URL (a Redis tier and invalidation bus, through larder/redis),
 * REDIS_PREFIX (default larder-example:), POLICY (the caches' eviction policy, tinylfu or lru; default
 * larder's).
 */
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CacheOptions, Policy } from 'larder';
import { responseSerializer } from 'larder/express';
import { type CacheFactory, createApp } from './app.js';
import { openDatabase } from './db.js';

/** Caches with a Redis second tier and invalidation bus (`larder/redis`) when REDIS_URL is set. */
async function redisFactory(url: string | undefined, prefix: string): Promise<CacheFactory | undefined> {
  if (url === undefined || url === '') return undefined;
  let createCache: typeof import('larder/redis').createCache;
  try {
    ({ createCache } = await import('larder/redis')); // loads ioredis only when Redis is asked for
  } catch (error) {
    console.warn(
      `REDIS_URL is set, but larder/redis could not be loaded (${String(error)}): running without Redis`,
    );
    return undefined;
  }
  return <V>(name: 'data' | 'responses', options: CacheOptions<string, V>) =>
    createCache<string, V>({
      redisUrl: url,
      ...options,
      // Whole responses hold binary bodies: they travel through Redis with their own serializer.
      redis: {
        prefix: `${prefix}${name}:`,
        ...(name === 'responses' ? { serializer: responseSerializer } : {}),
      },
    });
}

const env = process.env;
const ttl = env.TTL ?? '30s';
const db = openDatabase(env.DB_FILE ?? join(tmpdir(), 'larder-example.db'));
const factory = await redisFactory(env.REDIS_URL, env.REDIS_PREFIX ?? 'larder-example:');
const example = createApp({
  db,
  cache: env.CACHE !== 'off',
  ttl: /^\d+$/.test(ttl) ? Number(ttl) : (ttl as CacheOptions<string, unknown>['ttl']),
  instance: env.INSTANCE,
  createCache: factory,
  policy: (env.POLICY || undefined) as Policy | undefined, // new Cache() rejects an unknown name
});
const server = example.app.listen(Number(env.PORT ?? 3000), env.HOST ?? '127.0.0.1', () => {
  const { address, port } = server.address() as AddressInfo;
  const mode = env.CACHE === 'off' ? 'no cache' : factory === undefined ? 'larder, memory' : 'larder + Redis';
  const name = env.INSTANCE ? ` (${env.INSTANCE})` : '';
  console.log(`express-sqlite${name} [${mode}] listening on http://${address}:${port}`);
});
// Behind a load balancer, keep idle connections open longer than the balancer does, so that it never
// sends a request on a connection this server is closing (Node's default is 5 s).
server.keepAliveTimeout = 65_000;
server.headersTimeout = 66_000;

let closing = false;
async function shutdown(): Promise<void> {
  if (closing) return;
  closing = true;
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await example.close();
  db.close();
  process.exit(0);
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);

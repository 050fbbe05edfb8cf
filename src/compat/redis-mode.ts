import type { Cache } from '../cache.js';

/** The part of `larder/redis` that `CompatCache` uses. @internal */
export interface RedisModule {
  createCache(options: object): Cache<string, unknown>;
}

/**
 * The specifier of `larder/redis`, resolved at run time by the package's own `exports` (a self-reference), so that
 * the import stays dynamic in every build and `ioredis` is loaded only when a Redis URL is set. In a variable so
 * that neither the bundler (tsup, an application's webpack) nor the core's type-check follows it.
 */
const REDIS_MODULE = 'larder/redis';

/** Loads `larder/redis` (and with it `ioredis`). @internal */
export async function loadRedisModule(): Promise<RedisModule> {
  try {
    return (await import(/* webpackIgnore: true */ /* @vite-ignore */ REDIS_MODULE)) as RedisModule;
  } catch (error) {
    throw new Error(
      `CompatCache: a Redis URL is set (REDIS_URL or options.redisUrl), which needs larder/redis and the ioredis package (npm install ioredis), but loading them failed: ${error instanceof Error ? error.message : String(error)}. Set REDIS_URL='' for a memory-only cache.`,
      { cause: error },
    );
  }
}

/** `process.env.REDIS_URL` where the runtime has one (Node.js, Bun, Deno), else `undefined`. @internal */
export function envRedisUrl(): string | undefined {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  try {
    return env?.REDIS_URL;
  } catch {
    // Deno without --allow-env throws on reading the environment: no URL.
    return undefined;
  }
}

import type { RedisOptions } from 'ioredis';
import { type Duration, describe, toMs } from '../duration.js';
import { parseClusterUrls } from '../redis/cluster.js';
import { parseRedisUrl, redactUrl } from '../redis/url.js';
import { type Encoding, type NextCompression, type NextValueCodec, resolveEncoding } from './compression.js';

/** Options shared by {@link createIncrementalCacheHandler} and {@link createUseCacheHandler}. */
export interface NextCacheHandlerOptions {
  /**
   * `redis://` / `rediss://` URL of the Redis the instances share. Default: `process.env.REDIS_URL`. Empty or
   * absent: a memory-only handler (one instance, like Next.js's built-in one, but bounded and tag-aware).
   */
  redisUrl?: string | undefined;
  /** Prefix of every Redis key and of the bus channel (default `'larder:next:'`). */
  prefix?: string;
  /**
   * The build or deployment id that keys are scoped by, so two deployments sharing a Redis never serve each
   * other's entries. Default: `NEXT_DEPLOYMENT_ID`, else the `BUILD_ID` file of the build being served.
   */
  buildId?: string;
  /** Next.js's `distDir`, where `BUILD_ID` is read from when Next.js does not say (default `'.next'`). */
  distDir?: string;
  /** Bytes of entries kept in this process's memory, in front of Redis (default 64 MiB; 0: none). */
  maxMemory?: number;
  /** The longest any call waits for Redis (default `'250ms'`). When Redis is down, calls fail at once. */
  timeout?: Duration;
  /**
   * The longest an entry lives (default `'7d'`): entries without an `expire` (ISR pages with
   * `revalidate: false`, fetches) are dropped after this. Tag records live this long (plus a margin of at most
   * an hour) after their last write, or after their expiry when it comes later, which bounds the tag table.
   */
  maxTtl?: Duration;
  /** Whether `next build` connects to Redis (default `false`: builds use memory only and need no Redis). */
  redisDuringBuild?: boolean;
  /** Extra ioredis options (e.g. `tls`, `username`); the fail-fast settings win. */
  client?: RedisOptions;
  /**
   * Connect to a Redis Cluster (default `false`): `redisUrl` is then one node's URL or several separated by
   * commas, entries spread over the masters, and the tag table lives in one slot (`<prefix>{tags}:`).
   */
  cluster?: boolean;
  /**
   * Called with failures (Redis down, timeouts, values that cannot be stored). Default: a `console.warn`
   * at most every 30 seconds. The handlers never throw these to Next.js.
   */
  onError?: (error: unknown, operation: string) => void;
  /**
   * Compression of the values stored in Redis larger than `compressThreshold` (default `'gzip'`; `false`:
   * none). Memory keeps entries decoded (what is fastest to serve). Every instance reads entries written with
   * any setting, so a fleet can change it in a rolling deploy.
   */
  compress?: NextCompression;
  /**
   * Values smaller than this many bytes are stored uncompressed (default 1024). The size is the value's JSON
   * with its byte arrays (`Buffer`, `Uint8Array`) counted as raw bytes.
   */
  compressThreshold?: number;
  /**
   * Full control of the bytes stored in Redis (encryption, another compression): see {@link NextValueCodec}.
   * With a codec, values not encoded by it (another `name`, or none) are refused.
   */
  codec?: NextValueCodec;
}

/** The options once validated, with their defaults. @internal */
export interface ResolvedOptions {
  redisUrl: string;
  prefix: string;
  buildId: string | undefined;
  distDir: string;
  maxMemory: number;
  timeout: number;
  maxTtl: number;
  redisDuringBuild: boolean;
  client: RedisOptions | undefined;
  cluster: boolean;
  onError: ((error: unknown, operation: string) => void) | undefined;
  encoding: Encoding;
}

const KNOWN = [
  'redisUrl',
  'prefix',
  'buildId',
  'distDir',
  'maxMemory',
  'timeout',
  'maxTtl',
  'redisDuringBuild',
  'client',
  'cluster',
  'onError',
  'compress',
  'compressThreshold',
  'codec',
];

/** Validates the options. @internal */
export function resolveOptions(options: unknown, name: string): ResolvedOptions {
  if (options === undefined) options = {};
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`${name}: options must be an object; got ${describe(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!KNOWN.includes(key))
      throw new TypeError(`${name}: unknown option ${key} (known: ${KNOWN.join(', ')})`);
  }
  const o = options as NextCacheHandlerOptions;
  const str = (value: unknown, option: string, allowEmpty: boolean): string | undefined => {
    if (value === undefined) return undefined;
    if (typeof value !== 'string' || (!allowEmpty && value === '')) {
      throw new TypeError(
        `${name}: ${option} must be a${allowEmpty ? '' : ' non-empty'} string; got ${describe(value)}`,
      );
    }
    return value;
  };
  const redisUrl = str(o.redisUrl, 'redisUrl', true) ?? process.env.REDIS_URL ?? '';
  const maxMemory = o.maxMemory ?? 64 * 1024 * 1024;
  if (typeof maxMemory !== 'number' || !Number.isInteger(maxMemory) || maxMemory < 0) {
    throw new RangeError(
      `${name}: maxMemory must be an integer number of bytes >= 0; got ${describe(maxMemory)}`,
    );
  }
  if (o.redisDuringBuild !== undefined && typeof o.redisDuringBuild !== 'boolean') {
    throw new TypeError(`${name}: redisDuringBuild must be a boolean; got ${describe(o.redisDuringBuild)}`);
  }
  if (o.onError !== undefined && typeof o.onError !== 'function') {
    throw new TypeError(`${name}: onError must be a function; got ${describe(o.onError)}`);
  }
  if (o.client !== undefined && (typeof o.client !== 'object' || o.client === null)) {
    throw new TypeError(`${name}: client must be an object of ioredis options; got ${describe(o.client)}`);
  }
  if (o.cluster !== undefined && typeof o.cluster !== 'boolean') {
    throw new TypeError(`${name}: cluster must be a boolean; got ${describe(o.cluster)}`);
  }
  const url = redisUrl.trim();
  if (url !== '') checkRedisUrl(url, o.cluster ?? false, name);
  return {
    redisUrl: url,
    prefix: str(o.prefix, 'prefix', false) ?? 'larder:next:',
    buildId: str(o.buildId, 'buildId', false),
    distDir: str(o.distDir, 'distDir', false) ?? '.next',
    maxMemory,
    timeout: toMs(o.timeout ?? 250, `${name}: timeout`),
    maxTtl: toMs(o.maxTtl ?? '7d', `${name}: maxTtl`),
    redisDuringBuild: o.redisDuringBuild ?? false,
    client: o.client,
    cluster: o.cluster ?? false,
    onError: o.onError,
    encoding: resolveEncoding(o.compress, o.compressThreshold, o.codec, name),
  };
}

/**
 * Refuses a `redisUrl` the connection could not be opened with (it would fail on every request instead): one
 * `redis://` / `rediss://` URL, or with `cluster` one or more separated by commas. With Sentinel (`client.sentinels`)
 * the URL still carries the password, so the same form is required.
 */
function checkRedisUrl(url: string, cluster: boolean, name: string): void {
  if (cluster) {
    // Credentials stay out of the message (it may end up in logs), whatever characters the password holds.
    const shown = redactUrl(url);
    try {
      parseClusterUrls(url, 'redisUrl');
    } catch {
      throw new TypeError(
        `${name}: redisUrl must be redis:// or rediss:// URLs separated by commas (cluster: true); got ${shown}`,
      );
    }
    return;
  }
  // The same parse the connection opens it with (src/redis/url.ts), so a URL passes here only if it can be opened.
  parseRedisUrl(url, `${name}: redisUrl`);
}

/** Whether this process is `next build`. */
export function isBuildPhase(): boolean {
  return process.env.NEXT_PHASE === 'phase-production-build';
}

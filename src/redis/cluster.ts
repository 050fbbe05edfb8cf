import { Cluster, type ClusterOptions, type Redis, type RedisOptions } from 'ioredis';
import { MAX_TIMER_MS } from './checks.js';
import { backoff } from './link.js';
import { parseRedisUrl, type RedisUrl, redactUrl } from './url.js';

/** An ioredis client larder works with: a `Redis` (standalone or Sentinel) or a `Cluster`. */
export type RedisClient = Redis | Cluster;

/** Whether `client` is an ioredis `Cluster` (checked by shape, so another copy of ioredis works too). @internal */
export function isCluster(client: RedisClient): client is Cluster {
  return (
    (client as { isCluster?: unknown }).isCluster === true && typeof (client as Cluster).nodes === 'function'
  );
}

/** The connections to the masters (a standalone client: itself). @internal */
export function masters(client: RedisClient): Redis[] {
  return isCluster(client) ? client.nodes('master') : [client];
}

/** The ioredis options a client was made with (a cluster: the options of its node connections). @internal */
export function nodeOptions(client: RedisClient): RedisOptions {
  return isCluster(client) ? (client.options.redisOptions ?? {}) : client.options;
}

/** Options of {@link openCluster}. @internal */
export interface OpenClusterOptions {
  /** Per-command timeout of every node connection (ms). */
  timeout: number;
  /** The longest wait between reconnection attempts (ms). */
  reconnectDelay: number;
  /** Extra ioredis options of every node connection (e.g. `tls`, `username`); the fail-fast settings win. */
  client?: RedisOptions | undefined;
  /** Connection name (`CLIENT SETNAME`) of every node connection. */
  connectionName: string;
}

/**
 * Parses `redis://` / `rediss://` URLs (one, or several separated by commas) into cluster start nodes, plus the
 * credentials, database and TLS they carry.
 *
 * @throws TypeError naming `name` when a URL is not a redis URL.
 * @internal
 */
export function parseClusterUrls(
  urls: string,
  name: string,
): { nodes: { host: string; port: number }[]; options: RedisOptions } {
  const nodes: { host: string; port: number }[] = [];
  const options: RedisOptions = {};
  for (const raw of urls.split(',')) {
    const text = raw.trim();
    if (text === '') continue;
    let parsed: RedisUrl;
    try {
      parsed = parseRedisUrl(text, name);
    } catch {
      // The whole list, masked as one: a password may hold a comma, which splits it between two pieces.
      throw new TypeError(
        `${name} must be redis:// or rediss:// URLs separated by commas; got ${redactUrl(urls.trim())}`,
      );
    }
    const { url } = parsed;
    // Without the brackets of an IPv6 address (`[::1]`), which would be looked up as a host name.
    nodes.push({ host: parsed.host || '127.0.0.1', port: url.port === '' ? 6379 : Number(url.port) });
    if (url.username !== '') options.username = decodeURIComponent(url.username);
    if (url.password !== '') options.password = decodeURIComponent(url.password);
    if (parsed.tls) options.tls = {};
  }
  if (nodes.length === 0) throw new TypeError(`${name} holds no redis:// URL`);
  return { nodes, options };
}

/**
 * Opens an ioredis `Cluster` from `redis://` URLs with larder's fail-fast settings on every node connection
 * (no offline queue, a per-command timeout, no retries of a command) and on the cluster (no offline queue,
 * slot-refresh and failover retries kept short). @internal
 */
export function openCluster(urls: string, name: string, o: OpenClusterOptions): Cluster {
  const { nodes, options } = parseClusterUrls(urls, name);
  const { clusterOptions, ...rest } = (o.client ?? {}) as RedisOptions & { clusterOptions?: ClusterOptions };
  const redisOptions: ClusterOptions['redisOptions'] = {
    connectTimeout: Math.min(MAX_TIMER_MS, Math.max(1000, o.timeout * 4)),
    ...options,
    ...rest,
    lazyConnect: false,
    commandTimeout: o.timeout,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    connectionName: o.connectionName,
  };
  return new Cluster(nodes, {
    ...clusterOptions,
    redisOptions,
    lazyConnect: false,
    enableOfflineQueue: false,
    enableReadyCheck: true,
    scaleReads: 'master',
    // A command to a slot whose master just died is retried (after a slot refresh) only while the caller's
    // timeout lasts anyway; MOVED/ASK redirections never reach the caller.
    maxRedirections: 16,
    retryDelayOnFailover: Math.min(100, o.timeout),
    retryDelayOnClusterDown: Math.min(100, o.timeout),
    retryDelayOnTryAgain: Math.min(100, o.timeout),
    slotsRefreshTimeout: Math.min(MAX_TIMER_MS, Math.max(1000, o.timeout * 4)),
    clusterRetryStrategy: backoff(o.reconnectDelay),
  });
}

import { Redis } from 'ioredis';
import { openCluster } from '../redis/cluster.js';
import { restoreStringPrototype } from '../redis/fast-strings.js';
import { backoff, withTimeout } from '../redis/link.js';
import { parseRedisUrl } from '../redis/url.js';
import type { ResolvedOptions } from './options.js';

// As soon as ioredis is loaded (above), before Next.js optimizes its request path (redisTier and redisBus
// do it again for the client they are given).
restoreStringPrototype();

/**
 * Opens the handlers' Redis connection with the fail-fast settings: one client for a standalone Redis, or a
 * Cluster (`options.cluster`), which has the same command methods, so tier and bus take it as it is.
 *
 * @internal
 */
export function openClient(options: ResolvedOptions): Redis {
  const timeout = options.timeout;
  if (options.cluster) {
    return openCluster(options.redisUrl, 'larder/next: redisUrl', {
      timeout,
      reconnectDelay: 1000,
      client: options.client,
      connectionName: options.client?.connectionName ?? 'larder-next',
    }) as unknown as Redis;
  }
  // ioredis turns TLS on only for a lower-case `rediss://`: the scheme goes to it in lower case, and `tls` is set
  // for `rediss://` in any case (unless the application's client options say otherwise).
  const url = parseRedisUrl(options.redisUrl, 'larder/next: redisUrl');
  return new Redis(url.text, {
    connectTimeout: Math.max(1000, timeout * 4),
    retryStrategy: backoff(1000),
    ...(url.tls ? { tls: {} } : {}),
    ...options.client,
    lazyConnect: false,
    // No commandTimeout: the bus's subscriber inherits these options, and a SUBSCRIBE timed out under load
    // is not retried. Every command of the handlers is bounded by `run` (and the tier's own timer) instead.
    commandTimeout: undefined,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    connectionName: options.client?.connectionName ?? 'larder-next',
  });
}

/**
 * Sends a command on `client`: fails at once when not connected, and after `timeout` ms without an answer.
 *
 * @internal
 */
export function runCommand<T>(
  client: Redis | undefined,
  timeout: number,
  send: (client: Redis) => Promise<T>,
): Promise<T> {
  if (client === undefined || client.status !== 'ready') {
    return Promise.reject(new Error(`Redis is not connected (${client?.status ?? 'no client'})`));
  }
  let pending: Promise<T>;
  try {
    pending = send(client);
  } catch (error) {
    return Promise.reject(error);
  }
  return withTimeout(pending, timeout, () => new Error(`Redis did not answer within ${timeout} ms`));
}

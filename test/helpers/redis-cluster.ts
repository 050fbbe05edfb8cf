/**
 * The local Redis Cluster of `scripts/redis-cluster.sh` (3 masters + 3 replicas on 127.0.0.1:30001-30006, or
 * the comma-separated `redis://` URLs in `REDIS_CLUSTER_URLS`). Like `redisForTests`: when it is missing, tests
 * skip with a one-line reason on a laptop and fail in CI (`CI=true`).
 */
import { Redis } from 'ioredis';
import { inCI } from './ci.js';

/** The URLs of the test cluster's nodes. */
export const CLUSTER_URLS = (
  process.env.REDIS_CLUSTER_URLS ||
  [30001, 30002, 30003, 30004, 30005, 30006].map((p) => `redis://127.0.0.1:${p}`).join(',')
)
  .split(',')
  .map((u) => u.trim())
  .filter((u) => u !== '');

/** Whether the node at `url` says `cluster_state:ok`. */
async function clusterOk(url: string): Promise<boolean> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 1000,
    commandTimeout: 1000,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
  });
  client.on('error', () => {});
  try {
    await client.connect();
    const info = String(await client.call('CLUSTER', 'INFO'));
    return /cluster_state:ok/.test(info);
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

/**
 * The cluster's node URLs when its first node says `cluster_state:ok`. Otherwise: in CI, throws (the suite must
 * fail); elsewhere, prints one line saying why `suite` is skipped and returns `undefined` (for `describe.runIf`).
 */
export async function clusterForTests(suite: string): Promise<string[] | undefined> {
  const first = CLUSTER_URLS[0];
  if (first !== undefined && (await clusterOk(first))) return CLUSTER_URLS;
  if (inCI()) {
    throw new Error(
      `${suite}: no Redis Cluster answers at ${first}, and CI requires it (run scripts/redis-cluster.sh start)`,
    );
  }
  console.warn(
    `skipping ${suite}: no Redis Cluster at ${first} (run bash scripts/redis-cluster.sh start, or set REDIS_CLUSTER_URLS)`,
  );
  return undefined;
}

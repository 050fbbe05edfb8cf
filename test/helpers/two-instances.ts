/** Helpers for tests that run two caches on one Redis (standalone or Cluster). */
import type { Cache } from '../../src/index.js';
import { waitFor } from './redis-server.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Reads through the cache with a loader that fails (so nothing is stored); returns the value or 'miss'. */
export async function read(cache: Cache<string, unknown>, key: string): Promise<unknown> {
  return cache.getOrSet(key, () => Promise.reject(new Error('miss'))).catch((error: Error) => error.message);
}

/** Waits until both are connected: a set on one reaches the other's memory over the bus and its reads through the tier. */
export async function connected(
  a: Cache<string, unknown>,
  b: Cache<string, unknown>,
  timeout = 10_000,
): Promise<void> {
  for (const [from, to] of [
    [a, b],
    [b, a],
  ] as const) {
    const probe = `probe:${Math.random()}`;
    await waitFor(async () => {
      to.set(probe, 'old');
      from.set(probe, 'new');
      await sleep(20);
      return to.peek(probe) === undefined && (await read(to, probe)) === 'new';
    }, timeout);
  }
}

/** The lifecycle the larder/next suites against Redis share: an admin client, unique prefixes, closed runtimes. */
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { closeRuntimes } from '../../src/next/runtime.js';
import { deleteKeys, uniquePrefix } from './redis-server.js';

/** What {@link nextRedisSuite} gives a suite. */
export interface NextRedisSuite {
  /** A client of the suite's Redis for checks (connected before the first test). */
  admin(): Redis;
  /** A new key prefix, whose keys are deleted after the suite. */
  prefix(): string;
}

/**
 * Registers, in the calling `describe`: an admin client opened before the tests, `closeRuntimes()` after each test,
 * and, after the suite, the deletion of every prefix handed out (then `after`, if given) and the admin's disconnect.
 */
export function nextRedisSuite(redisUrl: string, name: string, after?: () => void): NextRedisSuite {
  let admin: Redis | undefined;
  const prefixes: string[] = [];
  beforeAll(() => {
    admin = new Redis(redisUrl);
  });
  afterEach(async () => {
    await closeRuntimes();
  });
  afterAll(async () => {
    const client = admin as Redis;
    for (const p of prefixes) await deleteKeys(client, p);
    after?.();
    client.disconnect();
  });
  return {
    admin: () => admin as Redis,
    prefix: () => {
      const p = uniquePrefix(name);
      prefixes.push(p);
      return p;
    },
  };
}

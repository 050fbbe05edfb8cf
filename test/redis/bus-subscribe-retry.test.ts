// A SUBSCRIBE that fails while the subscriber connection stays up (here: refused by an ACL, in production: a
// command timeout under load) must be retried; before the fix the bus stayed deaf until the connection dropped.
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { redisBus } from '../../src/redis/index.js';
import type { BusHandlers } from '../../src/tier.js';
import { redisForTests, uniquePrefix, waitFor } from '../helpers/redis-server.js';

const url = await redisForTests('larder/redis bus subscribe retry');

describe.runIf(url)('redisBus: a failed SUBSCRIBE is retried', () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step().catch(() => {});
  });

  it('subscribes (and resyncs) once the channel is allowed, without the connection dropping', async () => {
    const user = uniquePrefix('acl').replace(/[^\w]/g, '_');
    const admin = new Redis(url as string);
    cleanup.push(() => admin.quit());
    await admin.call('ACL', 'SETUSER', user, 'on', '>secret', '~*', '+@all', 'resetchannels');
    cleanup.push(() => admin.call('ACL', 'DELUSER', user));

    const client = new Redis(url as string, {
      username: user,
      password: 'secret',
      enableOfflineQueue: false,
    });
    client.on('error', () => {});
    cleanup.push(() => client.quit());
    const bus = redisBus(client, { prefix: `${user}:` });
    cleanup.push(() => bus.close());
    const resyncs: number[] = [];
    const errors: unknown[] = [];
    const handlers: BusHandlers = {
      message: () => {},
      resync: (since) => resyncs.push(since),
      error: (error) => errors.push(error),
    };
    bus.start(handlers);

    await waitFor(() => errors.some((e) => String(e).includes('NOPERM')), 5000);
    expect(bus.stats().subscribed).toBe(false);
    expect(resyncs).toEqual([]);

    await admin.call('ACL', 'SETUSER', user, 'allchannels');
    await waitFor(() => bus.stats().subscribed, 5000);
    expect(resyncs.length).toBe(1);
  });
});

/**
 * An invalidation must not reach another instance before the write it announces reaches Redis. On a Redis Cluster
 * a write goes to its slot's master and a bus message to any master, so nothing orders them (a redirect during a
 * resharding, a busy master). Here, on one Redis: instance A's tier connection goes through a TCP proxy that
 * delays every command by 200 ms while its bus connection does not. B re-reads the key the moment its copy is
 * dropped; it must read the new value, not the old one back (which it would then keep for its TTL).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Cache } from '../../src/index.js';
import { delayingProxy } from '../helpers/delaying-proxy.js';
import { redisForTests, uniquePrefix, waitFor } from '../helpers/redis-server.js';
import { tierBusInstances } from '../helpers/tier-bus-instances.js';
import { read } from '../helpers/two-instances.js';

const url = await redisForTests('larder/redis publish after write');
const DELAY = 200;

describe.runIf(url !== undefined)('an invalidation is published after its write reaches Redis', () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const f of cleanup.splice(0).reverse()) await f();
  });

  const { instance } = tierBusInstances(cleanup, 2000);

  /** A (tier commands delayed) and B (direct), once B holds A's `k` = `v1` in memory. */
  async function scene(): Promise<{ a: Cache<string, unknown>; b: Cache<string, unknown> }> {
    const port = Number(new URL(url as string).port || 6379);
    const proxy = await delayingProxy(port, DELAY);
    cleanup.push(() => proxy.close());
    const prefix = uniquePrefix('publish-after-write');
    const a = instance(prefix, proxy.port, port);
    const b = instance(prefix, port, port);
    await waitFor(async () => {
      a.set('k', 'v1');
      await new Promise((resolve) => setTimeout(resolve, DELAY + 50));
      return (await read(b, 'k')) === 'v1';
    }, 10_000);
    // Let the messages of those sets arrive (each follows its delayed write), then hold `v1` on B again.
    await new Promise((resolve) => setTimeout(resolve, 2 * DELAY));
    expect(await read(b, 'k')).toBe('v1');
    expect(b.peek('k')).toBe('v1');
    return { a, b };
  }

  it('B, re-reading the moment its copy is dropped, reads the new value (a set, a delete)', async () => {
    const { a, b } = await scene();

    // B reads the key again as soon as a message drops it, as a busy instance would.
    const reads: Promise<unknown>[] = [];
    b.on('delete', (e) => {
      if (e.key === 'k' && e.reason === 'remote') reads.push(read(b, 'k'));
    });
    a.set('k', 'v2');
    await waitFor(() => reads.length === 1, 5000);
    expect(await reads[0]).toBe('v2');
    expect(b.peek('k')).toBe('v2');

    a.delete('k');
    await waitFor(() => reads.length === 2, 5000);
    expect(await reads[1]).toBe('miss');
    await new Promise((resolve) => setTimeout(resolve, DELAY + 100));
    expect(await read(b, 'k')).toBe('miss');
  });

  it('after a clear, what B read back before the clear reached the tier is dropped again', async () => {
    const { a, b } = await scene();
    const reads: Promise<unknown>[] = [];
    b.on('delete', (e) => {
      if (e.key === 'k' && e.reason === 'remote') reads.push(read(b, 'k'));
    });
    // The clear's first message goes out at once: B drops `k` and reads it back from the tier, where the clear
    // has not landed yet (A's commands are delayed). The second, once the tier has the clear, drops it again.
    a.clear();
    await waitFor(() => reads.length === 2, 5000);
    expect(await reads[0]).toBe('v1');
    expect(await reads[1]).toBe('miss');
    expect(b.peek('k')).toBeUndefined();
  });
});

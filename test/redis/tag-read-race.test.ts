/**
 * A tag invalidation that reaches an instance while it reads a key from the tier, when nothing on that instance
 * knew the key's tags (the entry was tagged by another instance's `set`, and this read passes no `tags`). The record
 * the read brings back was read before the invalidation and carries the tag: it must be neither served nor kept in
 * memory, or the instance keeps the old value for its TTL although it heard the invalidation.
 *
 * Instance B's tier connection goes through a proxy that delays Redis's replies by 300 ms (its commands reach Redis at
 * once), while its bus connection is direct: A's invalidation reaches Redis after B's read was answered, and B hears
 * it over the bus before that answer arrives.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Cache } from '../../src/index.js';
import { delayingProxy } from '../helpers/delaying-proxy.js';
import { redisForTests, uniquePrefix, waitFor } from '../helpers/redis-server.js';
import { tierBusInstances } from '../helpers/tier-bus-instances.js';
import { read } from '../helpers/two-instances.js';

const url = await redisForTests('larder/redis tag invalidation during a tier read');
const DELAY = 300;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.runIf(url !== undefined)(
  'a tag invalidation during a tier read of a key whose tags nobody here knew',
  () => {
    const cleanup: (() => Promise<unknown>)[] = [];
    afterEach(async () => {
      for (const f of cleanup.splice(0).reverse()) await f();
    });

    const { instance } = tierBusInstances(cleanup, 5000);

    /** A (direct) and B (tier replies delayed), once B reads A's writes through the tier and hears A's messages. */
    async function scene(): Promise<{ a: Cache<string, unknown>; b: Cache<string, unknown> }> {
      const port = Number(new URL(url as string).port || 6379);
      const proxy = await delayingProxy(port, DELAY, 'replies');
      cleanup.push(() => proxy.close());
      const prefix = uniquePrefix('tag-read-race');
      const a = instance(prefix, port, port);
      const b = instance(prefix, proxy.port, port);
      await waitFor(async () => {
        b.set('probe', 'old');
        a.set('probe', 'new');
        await sleep(50);
        return b.peek('probe') === undefined && (await read(b, 'probe')) === 'new';
      }, 10_000);
      return { a, b };
    }

    /** A writes `k` tagged `T`; B starts a read of `k` that passes no tags, and A invalidates `T` during it. */
    async function race(
      a: Cache<string, unknown>,
      b: Cache<string, unknown>,
      invalidate: () => void,
      readK: () => Promise<unknown>,
    ): Promise<unknown> {
      a.set('k', 'old', { tags: ['T'] });
      await sleep(50);
      const heard = new Promise<void>((resolve) => {
        const listener = (e: { key: unknown; reason: string }) => {
          if (e.reason === 'remote' || e.reason === 'tag') {
            b.off('delete', listener);
            resolve();
          }
        };
        b.on('delete', listener);
      });
      expect(b.peek('k')).toBeUndefined();
      const first = readK();
      // B's read has reached Redis (its answer is on its way back, slowly) when A invalidates.
      await sleep(50);
      invalidate();
      return first.then(async (value) => {
        await Promise.race([heard, sleep(DELAY)]);
        return value;
      });
    }

    it('getOrSet: the record read before invalidateTag is neither served nor kept; the loader runs', async () => {
      const { a, b } = await scene();
      let loads = 0;
      const first = await race(
        a,
        b,
        () => void a.invalidateTag('T'),
        () => b.getOrSet('k', async () => `fresh ${++loads}`),
      );
      expect(first).toBe('fresh 1');
      expect(b.peek('k')).toBe('fresh 1');
      expect(await read(b, 'k')).toBe('fresh 1');
    });

    it('getOrSetMany: the same for a batch read through the tier', async () => {
      const { a, b } = await scene();
      const first = await race(
        a,
        b,
        () => void a.invalidateTag('T'),
        () => b.getOrSetMany(['k'], async (keys) => new Map(keys.map((k) => [k, `fresh ${k}`]))),
      );
      expect(first).toEqual(['fresh k']);
      expect(b.peek('k')).toBe('fresh k');
    });

    it('expireTag: the record read before the expiry is not kept as fresh either', async () => {
      const { a, b } = await scene();
      const first = await race(
        a,
        b,
        () => void a.expireTag('T'),
        () => b.getOrSet('k', async () => 'fresh'),
      );
      expect(first).toBe('fresh');
      expect(b.peek('k')).toBe('fresh');
    });

    it('an invalidation of another tag leaves the record alone (served and kept)', async () => {
      const { a, b } = await scene();
      let loads = 0;
      const first = await race(
        a,
        b,
        () => void a.invalidateTag('other'),
        () =>
          b.getOrSet('k', async () => {
            loads++;
            return 'fresh';
          }),
      );
      expect(first).toBe('old');
      expect(b.peek('k')).toBe('old');
      expect(loads).toBe(0);
    });
  },
);

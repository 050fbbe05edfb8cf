// close(): every in-flight load is aborted (its result not stored), and every caller already waiting still settles.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { CacheTier, TierRecord } from '../../src/index.js';
import { Cache, TimeoutError } from '../../src/index.js';
import { advance, deferred, flush, track } from './helpers.js';
import { policies } from './policies.js';

/** A tier whose reads wait until `open()` is called. */
class GatedTier implements CacheTier {
  readonly gates: (() => void)[] = [];
  #gate(): Promise<void> {
    return new Promise((resolve) => this.gates.push(resolve));
  }
  open(): void {
    for (const open of this.gates.splice(0)) open();
  }
  async get(): Promise<TierRecord | undefined> {
    await this.#gate();
    return undefined;
  }
  async getMany(keys: readonly string[]): Promise<(TierRecord | undefined)[]> {
    await this.#gate();
    return keys.map(() => undefined);
  }
  async set(): Promise<void> {}
  async delete(): Promise<void> {}
  async invalidateTags(): Promise<void> {}
  async clear(): Promise<void> {}
  async close(): Promise<void> {}
}

/** What a signal-honouring loader does: reject with the abort reason. */
function honouring<T>(signal: AbortSignal): Promise<T> {
  return new Promise<T>((_resolve, reject) => {
    signal.addEventListener('abort', () => reject(signal.reason));
  });
}

describe.each(policies)('close() and in-flight loads (%s)', (policy) => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('aborts the loader’s signal with an AbortError saying the cache closed; a value returned anyway still answers', async () => {
    const cache = new Cache<string, string>({ max: 10, policy });
    let signal: AbortSignal | undefined;
    const d = deferred<string>();
    const p = cache.getOrSet('k', (ctx) => {
      signal = ctx.signal;
      return d.promise;
    });
    await flush();
    await cache.close();
    expect(signal?.aborted).toBe(true);
    expect((signal as AbortSignal).reason.name).toBe('AbortError');
    expect((signal as AbortSignal).reason.message).toMatch(/Load of k aborted: the cache was closed/);
    d.resolve('v');
    expect(await p).toBe('v');
    expect(cache.peek('k')).toBeUndefined();
  });

  it('a loader that honours the signal: callers get the close error, once, and no load error is counted', async () => {
    const cache = new Cache<string, string>({ max: 10, policy });
    const errors: unknown[] = [];
    cache.on('error', (e) => errors.push(e));
    const loader = vi.fn(({ signal }: { signal: AbortSignal }) => honouring<string>(signal));
    const a = track(cache.getOrSet('k', loader));
    const b = track(cache.getOrSet('k', loader));
    await flush();
    await cache.close();
    await flush();
    expect((a.error as Error).message).toMatch(/the cache was closed/);
    expect(b.error).toBe(a.error);
    expect(loader).toHaveBeenCalledTimes(1); // not loaded again for the waiting callers
    expect(cache.stats().loadErrors).toBe(0);
    expect(errors).toEqual([]);
  });

  it('a hung load keeps its timeout: its callers get the TimeoutError after close', async () => {
    const cache = new Cache<string, string>({ max: 10, timeout: 100, policy });
    const p = track(cache.getOrSet('k', () => new Promise<string>(() => {})));
    await flush();
    await cache.close();
    await advance(50);
    expect(p.settled).toBe(false);
    await advance(60);
    expect(p.error).toBeInstanceOf(TimeoutError);
  });

  it('a background refresh is aborted and stores nothing', async () => {
    const cache = new Cache<string, string>({ max: 10, ttl: 100, staleWhileRevalidate: 10_000, policy });
    const errors: unknown[] = [];
    cache.on('error', (e) => errors.push(e));
    cache.set('k', 'v1');
    await advance(150);
    let signal: AbortSignal | undefined;
    const d = deferred<string>();
    expect(
      await cache.getOrSet('k', (ctx) => {
        signal = ctx.signal;
        return d.promise;
      }),
    ).toBe('v1');
    await cache.close();
    expect(signal?.aborted).toBe(true);
    d.resolve('v2');
    await flush();
    expect(cache.peek('k')).toBeUndefined(); // still the stale v1, not v2
    expect(errors).toEqual([]);
  });

  it('batch: loadMany’s signal is aborted, and a hung loadMany still answers at its timeout', async () => {
    const cache = new Cache<string, string>({ max: 10, timeout: 100, policy });
    let signal: AbortSignal | undefined;
    const p = track(
      cache.getOrSetMany(['a', 'b'], (_keys, ctx) => {
        signal = ctx.signal;
        return new Promise<Map<string, string>>(() => {});
      }),
    );
    await flush();
    await cache.close();
    expect(signal?.aborted).toBe(true);
    expect((signal as AbortSignal).reason.message).toMatch(
      /getOrSetMany loader aborted: the cache was closed/,
    );
    await advance(150);
    expect(p.error).toBeInstanceOf(TimeoutError);
  });

  it('batch: a loadMany that honours the signal rejects its callers with the close error', async () => {
    const cache = new Cache<string, string>({ max: 10, policy });
    const p = track(cache.getOrSetMany(['a'], (_keys, { signal }) => honouring<Map<string, string>>(signal)));
    await flush();
    await cache.close();
    await flush();
    expect((p.error as Error).name).toBe('AbortError');
    expect(cache.stats().loadErrors).toBe(0);
  });

  it('closed during the tier read: the loader is not called, callers get the close error', async () => {
    const tier = new GatedTier();
    const cache = new Cache<string, string>({ max: 10, policy, tier });
    const loader = vi.fn(() => 'v');
    const loadMany = vi.fn(() => new Map([['b', 'B']]));
    const one = track(cache.getOrSet('a', loader));
    const many = track(cache.getOrSetMany(['b'], loadMany));
    await flush();
    expect(tier.gates).toHaveLength(2);
    const closing = cache.close();
    tier.open();
    await closing;
    await flush();
    expect(loader).not.toHaveBeenCalled();
    expect(loadMany).not.toHaveBeenCalled();
    expect((one.error as Error).message).toMatch(/the cache was closed/);
    expect((many.error as Error).message).toMatch(/the cache was closed/);
  });
});

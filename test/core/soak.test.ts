import { describe, expect, it, vi } from 'vitest';
import { Cache } from '../../src/index.js';
import { fakeTimersCollectingUnhandled } from './helpers.js';
import { policies } from './policies.js';

/** Small seeded PRNG (mulberry32) so every run does the same operations. */
function prng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Value {
  key: string;
  at: number;
}

const OPS = 100_000;
const MAX = 200;
const TTL = 1000;
const SWR = 500;
const SIE = 2000;
const TIMEOUT = 300;
const KEYS = 600;
const TAGS = ['red', 'green', 'blue', 'cyan'];

describe.each(policies)('soak (%s)', (policy) => {
  const unhandled = fakeTimersCollectingUnhandled();

  it(`${OPS} random operations, loader failing 30%: no unhandled rejection, nothing older than ttl + staleIfError served, size within bounds`, async () => {
    const rand = prng(policy === 'lru' ? 1 : 2);
    const pick = <T>(list: readonly T[]) => list[Math.floor(rand() * list.length)]!;
    const cache = new Cache<string, Value>({
      max: MAX,
      ttl: TTL,
      staleWhileRevalidate: SWR,
      staleIfError: SIE,
      timeout: TIMEOUT,
      jitter: 0.2,
      policy,
    });
    const ns = cache.namespace('ns');
    let errorEvents = 0;
    cache.on('error', () => {
      errorEvents++;
    });

    const violations: string[] = [];
    let served = 0;
    const check = (key: string, value: Value | undefined, via: string, calledAt = Date.now()) => {
      if (value === undefined) return;
      served++;
      const age = Date.now() - value.at;
      if (value.key !== key) violations.push(`${via}: asked ${key}, got a value of ${value.key}`);
      // +1: the spec does not say whether the window's last millisecond is in or out.
      if (age > TTL + SIE + 1)
        violations.push(
          `${via}: ${key} served at age ${age} (called at ${calledAt - value.at} after the value was made)`,
        );
    };

    /** Loader: 30% failure (sync throw, rejection, or hang until the timeout); sometimes slow. */
    const loader = (key: string) => (): Value | Promise<Value> => {
      const r = rand();
      if (r < 0.1) throw new Error(`sync failure ${key}`);
      if (r < 0.2) return Promise.reject(new Error(`async failure ${key}`));
      if (r < 0.3) return new Promise<Value>(() => {}); // never settles: the timeout ends it
      if (r < 0.45) {
        const delay = Math.floor(rand() * 2 * TIMEOUT);
        return new Promise<Value>((resolve) => setTimeout(() => resolve({ key, at: Date.now() }), delay));
      }
      return { key, at: Date.now() };
    };

    const pending: Promise<unknown>[] = [];
    let wrappedKey: (id: number) => string = () => '';
    const wrapped = cache.wrap('w', async (id: number) => loader(wrappedKey(id))());
    wrappedKey = (id) => wrapped.key(id);

    for (let i = 0; i < OPS; i++) {
      const r = rand();
      const key = `k${Math.floor(rand() * KEYS)}`;
      if (r < 0.4) {
        const opts = rand() < 0.3 ? { tags: [pick(TAGS)] } : undefined;
        const calledAt = Date.now();
        pending.push(
          cache.getOrSet(key, loader(key), opts).then(
            (v) => check(key, v, 'getOrSet', calledAt),
            () => undefined,
          ),
        );
      } else if (r < 0.55) {
        check(key, cache.get(key), 'get');
      } else if (r < 0.6) {
        check(key, cache.peek(key), 'peek');
        cache.has(key);
      } else if (r < 0.7) {
        cache.set(
          key,
          { key, at: Date.now() },
          rand() < 0.5 ? { tags: [pick(TAGS), pick(TAGS)] } : undefined,
        );
      } else if (r < 0.75) {
        cache.delete(key);
      } else if (r < 0.77) {
        cache.invalidateTag(pick(TAGS));
      } else if (r < 0.82) {
        const id = Math.floor(rand() * 50);
        const wkey = wrapped.key(id);
        pending.push(
          wrapped(id).then(
            (v) => check(wkey, v, 'wrap'),
            () => undefined,
          ),
        );
      } else if (r < 0.86) {
        const nkey = `n${Math.floor(rand() * 100)}`;
        if (rand() < 0.5) {
          pending.push(
            ns
              .getOrSet(nkey, () => ({ key: `ns:${nkey}`, at: Date.now() }))
              .then(
                (v) => check(`ns:${nkey}`, v, 'ns.getOrSet'),
                () => undefined,
              ),
          );
        } else {
          check(`ns:${nkey}`, ns.get(nkey), 'ns.get');
        }
      } else if (r < 0.8602) {
        cache.clear();
      } else if (r < 0.8605) {
        ns.clear();
      } else if (r < 0.88) {
        await vi.advanceTimersByTimeAsync(1 + Math.floor(rand() * 400));
      } else {
        check(key, cache.get(key), 'get');
      }
      if (cache.size > MAX) violations.push(`size ${cache.size} > ${MAX} after op ${i}`);
      if (pending.length > 2000) {
        await vi.advanceTimersByTimeAsync(2 * TIMEOUT);
        await Promise.all(pending.splice(0));
      }
      if (violations.length > 10) break;
    }
    await vi.advanceTimersByTimeAsync(2 * TIMEOUT);
    await Promise.all(pending.splice(0));
    await vi.advanceTimersByTimeAsync(SIE + TTL);

    expect(violations).toEqual([]);
    expect(unhandled).toEqual([]);
    const stats = cache.stats();
    // The run really exercised the paths it claims to.
    expect(served).toBeGreaterThan(10_000);
    expect(stats.loadErrors).toBeGreaterThan(1000);
    expect(stats.timeouts).toBeGreaterThan(100);
    expect(stats.staleHits).toBeGreaterThan(100);
    expect(stats.evictions).toBeGreaterThan(100);
    expect(errorEvents).toBeGreaterThan(0);
    expect(cache.size).toBeLessThanOrEqual(MAX);
    // About 3 s of CPU per policy; the generous limit is for a shared, busy machine.
  }, 60_000);
});

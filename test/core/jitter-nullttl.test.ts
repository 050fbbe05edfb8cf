import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Cache } from '../../src/index.js';
import { deferred, flush } from './helpers.js';
import { policies } from './policies.js';

describe.each(policies)('jitter (%s)', (policy) => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.restoreAllMocks();
    vi.useRealTimers();
  });

  const alive = (cache: Cache<number, number>, n: number) => {
    let count = 0;
    for (let i = 0; i < n; i++) if (cache.has(i)) count++;
    return count;
  };

  it('each entry’s TTL is drawn from [ttl*(1-jitter), ttl]', () => {
    const cache = new Cache<number, number>({ max: 1000, ttl: 1000, jitter: 0.5, policy });
    for (let i = 0; i < 200; i++) cache.set(i, i);
    vi.advanceTimersByTime(499);
    expect(alive(cache, 200)).toBe(200);
    vi.advanceTimersByTime(251);
    // At 750 ms, some entries are gone and some are left (chance of all on one side: 2^-200).
    const mid = alive(cache, 200);
    expect(mid).toBeGreaterThan(0);
    expect(mid).toBeLessThan(200);
    vi.advanceTimersByTime(251);
    expect(alive(cache, 200)).toBe(0);
  });

  it('with jitter 0 every entry lives exactly ttl', () => {
    const cache = new Cache<number, number>({ max: 1000, ttl: 1000, jitter: 0, policy });
    for (let i = 0; i < 50; i++) cache.set(i, i);
    vi.advanceTimersByTime(999);
    expect(alive(cache, 50)).toBe(50);
    vi.advanceTimersByTime(2);
    expect(alive(cache, 50)).toBe(0);
  });

  it('applies to loaded values', async () => {
    const cache = new Cache<number, number>({ max: 1000, ttl: 1000, jitter: 0.5, policy });
    for (let i = 0; i < 100; i++) await cache.getOrSet(i, () => i);
    vi.advanceTimersByTime(499);
    expect(alive(cache, 100)).toBe(100);
    vi.advanceTimersByTime(251);
    const mid = alive(cache, 100);
    expect(mid).toBeGreaterThan(0);
    expect(mid).toBeLessThan(100);
    vi.advanceTimersByTime(251);
    expect(alive(cache, 100)).toBe(0);
  });

  it('applies to a per-call ttl', () => {
    const cache = new Cache<number, number>({ max: 1000, ttl: 1000, jitter: 0.5, policy });
    for (let i = 0; i < 100; i++) cache.set(i, i, { ttl: 10_000 });
    vi.advanceTimersByTime(4999);
    expect(alive(cache, 100)).toBe(100);
    vi.advanceTimersByTime(2500);
    const mid = alive(cache, 100);
    expect(mid).toBeGreaterThan(0);
    expect(mid).toBeLessThan(100);
    vi.advanceTimersByTime(2502);
    expect(alive(cache, 100)).toBe(0);
  });

  it('is a per-call option of set and getOrSet', async () => {
    const cache = new Cache<number, number>({ max: 1000, ttl: 1000, policy });
    for (let i = 0; i < 50; i++) cache.set(i, i, { jitter: 0.5 });
    for (let i = 50; i < 100; i++) await cache.getOrSet(i, () => i, { jitter: 0.5 });
    vi.advanceTimersByTime(499);
    expect(alive(cache, 100)).toBe(100);
    vi.advanceTimersByTime(251);
    const mid = alive(cache, 100);
    expect(mid).toBeGreaterThan(0);
    expect(mid).toBeLessThan(100);
  });

  it('a per-call jitter of 0 overrides the cache jitter', () => {
    const cache = new Cache<number, number>({ max: 1000, ttl: 1000, jitter: 0.9, policy });
    for (let i = 0; i < 50; i++) cache.set(i, i, { jitter: 0 });
    vi.advanceTimersByTime(999);
    expect(alive(cache, 50)).toBe(50);
  });

  it('stays within [ttl*(1-jitter), ttl] at the extremes of Math.random', () => {
    const cache = new Cache<number, number>({ max: 1000, ttl: 1000, jitter: 0.5, policy });
    const random = vi.spyOn(Math, 'random');
    random.mockReturnValue(0);
    cache.set(0, 0);
    random.mockReturnValue(0.999_999_999);
    cache.set(1, 1);
    random.mockRestore();
    vi.advanceTimersByTime(499);
    expect(cache.has(0)).toBe(true);
    expect(cache.has(1)).toBe(true);
    vi.advanceTimersByTime(502);
    expect(cache.has(0)).toBe(false);
    expect(cache.has(1)).toBe(false);
  });
});

describe.each(policies)('nullTtl (%s)', (policy) => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('null results live nullTtl, other results live ttl', async () => {
    const cache = new Cache<string, string | null>({ max: 100, ttl: 10_000, nullTtl: 1000, policy });
    await cache.getOrSet('missing', () => null);
    await cache.getOrSet('present', () => 'v');
    vi.advanceTimersByTime(999);
    expect(cache.has('missing')).toBe(true);
    vi.advanceTimersByTime(2);
    expect(cache.has('missing')).toBe(false);
    expect(cache.get('present')).toBe('v');
    vi.advanceTimersByTime(9000);
    expect(cache.has('present')).toBe(false);
  });

  it('nullTtl can be longer than ttl', async () => {
    const cache = new Cache<string, string | null>({ max: 100, ttl: 1000, nullTtl: '1m', policy });
    await cache.getOrSet('missing', () => null);
    vi.advanceTimersByTime(30_000);
    expect(cache.get('missing')).toBeNull();
  });

  it('without nullTtl, null results use ttl', async () => {
    const cache = new Cache<string, string | null>({ max: 100, ttl: 1000, policy });
    await cache.getOrSet('missing', () => null);
    vi.advanceTimersByTime(999);
    expect(cache.has('missing')).toBe(true);
    vi.advanceTimersByTime(2);
    expect(cache.has('missing')).toBe(false);
  });

  it('is a per-call option of getOrSet and wrap', async () => {
    const cache = new Cache<string, string | null>({ max: 100, ttl: 10_000, policy });
    await cache.getOrSet('a', () => null, { nullTtl: 500 });
    const w = cache.wrap('w', async (_x: number) => null, { nullTtl: 500 });
    await w(1);
    vi.advanceTimersByTime(501);
    expect(cache.has('a')).toBe(false);
    expect(cache.has(w.key(1))).toBe(false);
  });

  it('a ttl given to set applies to null too; a set of null without one, and loads, use nullTtl', async () => {
    const cache = new Cache<string, string | null>({ max: 100, ttl: 10_000, nullTtl: 100, policy });
    cache.set('given', null, { ttl: 5000 });
    cache.set('value', 'v', { ttl: 5000 });
    cache.set('bare', null);
    await cache.getOrSet('loaded', () => null, { ttl: 5000 });
    vi.advanceTimersByTime(101);
    expect(cache.has('bare')).toBe(false);
    expect(cache.has('loaded')).toBe(false);
    expect(cache.get('given')).toBeNull();
    vi.advanceTimersByTime(4898);
    expect(cache.get('given')).toBeNull();
    expect(cache.get('value')).toBe('v');
    vi.advanceTimersByTime(2);
    expect(cache.has('given')).toBe(false);
    expect(cache.has('value')).toBe(false);
  });

  it('a falsy non-null result (0, "", false) is not treated as null', async () => {
    const cache = new Cache<string, unknown>({ max: 100, ttl: 10_000, nullTtl: 100, policy });
    await cache.getOrSet('zero', () => 0);
    await cache.getOrSet('empty', () => '');
    await cache.getOrSet('false', () => false);
    vi.advanceTimersByTime(200);
    expect(cache.get('zero')).toBe(0);
    expect(cache.get('empty')).toBe('');
    expect(cache.get('false')).toBe(false);
  });
});

describe.each(policies)('loader context: setTtl and stale (%s)', (policy) => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('setTtl sets this entry’s TTL from what was loaded', async () => {
    const cache = new Cache<string, { expiresIn: number }>({ max: 100, ttl: 1000, policy });
    await cache.getOrSet('token', ({ setTtl }) => {
      const token = { expiresIn: 5000 };
      setTtl(token.expiresIn);
      return token;
    });
    vi.advanceTimersByTime(4999);
    expect(cache.has('token')).toBe(true);
    vi.advanceTimersByTime(2);
    expect(cache.has('token')).toBe(false);
  });

  it('setTtl accepts Duration strings and can shorten the TTL', async () => {
    const cache = new Cache<string, string>({ max: 100, ttl: 10_000, policy });
    await cache.getOrSet('k', ({ setTtl }) => {
      setTtl('1s');
      return 'v';
    });
    vi.advanceTimersByTime(1001);
    expect(cache.has('k')).toBe(false);
  });

  it('setTtl called before an await still applies', async () => {
    const cache = new Cache<string, string>({ max: 100, ttl: 10_000, policy });
    const d = deferred<string>();
    const p = cache.getOrSet('k', async ({ setTtl }) => {
      setTtl(500);
      return d.promise;
    });
    await flush();
    d.resolve('v');
    await p;
    vi.advanceTimersByTime(501);
    expect(cache.has('k')).toBe(false);
  });

  it('setTtl overrides nullTtl for a null result', async () => {
    const cache = new Cache<string, string | null>({ max: 100, ttl: 10_000, nullTtl: 100, policy });
    await cache.getOrSet('k', ({ setTtl }) => {
      setTtl(5000);
      return null;
    });
    vi.advanceTimersByTime(1000);
    expect(cache.has('k')).toBe(true);
  });

  it('setTtl with a bad duration fails the load with a RangeError/TypeError naming it', async () => {
    const cache = new Cache<string, string>({ max: 100, ttl: 10_000, policy });
    await expect(
      cache.getOrSet('k', ({ setTtl }) => {
        setTtl(-1);
        return 'v';
      }),
    ).rejects.toThrow(/ttl/i);
    expect(cache.has('k')).toBe(false);
  });

  it('stale is undefined on a cold load and the expired value on a reload', async () => {
    const cache = new Cache<string, string>({ max: 100, ttl: 1000, staleIfError: 10_000, policy });
    const seen: unknown[] = [];
    await cache.getOrSet('k', ({ stale }) => {
      seen.push(stale);
      return 'v1';
    });
    vi.advanceTimersByTime(2000);
    await cache.getOrSet('k', ({ stale }) => {
      seen.push(stale);
      return 'v2';
    });
    expect(seen).toEqual([undefined, 'v1']);
  });
});

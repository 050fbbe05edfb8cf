import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type BusHandlers, Cache, type CacheTier, type TierRecord, TimeoutError } from '../../src/index.js';
import {
  advance,
  bad,
  deferred,
  expectBadCall,
  expectBadInput,
  fakeTimersCollectingUnhandled,
  flush,
  track,
} from './helpers.js';
import { policies } from './policies.js';

/** `[<hole>, 5]`: an array with a hole at index 0 (a literal with a hole would be refused by the linter). */
function sparse<T>(last: T): T[] {
  const ids: T[] = [];
  ids[1] = last;
  return ids;
}

/** A loadMany that records its calls and answers `v:<key>` for every key except those in `skip`. */
function recorder(skip: readonly unknown[] = []) {
  const calls: unknown[][] = [];
  const loadMany = <K>(keys: K[]): Map<K, string> => {
    calls.push([...keys]);
    return new Map(keys.filter((k) => !skip.includes(k)).map((k) => [k, `v:${String(k)}`]));
  };
  return { calls, loadMany };
}

describe.each(policies)('getOrSetMany (%s)', (policy) => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('calls the loader once with exactly the missing keys, and answers in the order of keys', async () => {
    const cache = new Cache<string, string>({ max: 100, policy });
    cache.set('b', 'B');
    const { calls, loadMany } = recorder();
    const values = await cache.getOrSetMany(['a', 'b', 'c', 'a'], loadMany);
    expect(values).toEqual(['v:a', 'B', 'v:c', 'v:a']);
    expect(calls).toEqual([['a', 'c']]);
    expect(cache.get('a')).toBe('v:a');
    expect(cache.get('c')).toBe('v:c');
    // All hits now: no loader call.
    expect(await cache.getOrSetMany(['c', 'b', 'a'], loadMany)).toEqual(['v:c', 'B', 'v:a']);
    expect(calls).toHaveLength(1);
  });

  it('a key the loader leaves out resolves to undefined, is not stored, and is asked again', async () => {
    const cache = new Cache<string, string>({ max: 100, policy });
    const { calls, loadMany } = recorder(['x']);
    expect(await cache.getOrSetMany(['x', 'y'], loadMany)).toEqual([undefined, 'v:y']);
    expect(cache.has('x')).toBe(false);
    await cache.getOrSetMany(['x', 'y'], loadMany);
    expect(calls).toEqual([['x', 'y'], ['x']]);
  });

  it('accepts an iterable of [key, value] pairs', async () => {
    const cache = new Cache<number, string>({ max: 100, policy });
    const values = await cache.getOrSetMany([1, 2], async (ids) => ids.map((id) => [id, `#${id}`] as const));
    expect(values).toEqual(['#1', '#2']);
  });

  it('maxBatch splits a large batch into several loadMany calls', async () => {
    const cache = new Cache<number, string>({ max: 100, policy });
    const { calls, loadMany } = recorder();
    const keys = Array.from({ length: 25 }, (_, i) => i);
    await cache.getOrSetMany(keys, loadMany, { maxBatch: 10 });
    expect(calls.map((c) => c.length)).toEqual([10, 10, 5]);
  });

  it('single-flight: a batch joins a getOrSet already loading one of its keys', async () => {
    const cache = new Cache<string, string>({ max: 100, policy });
    const d = deferred<string>();
    const single = cache.getOrSet('a', () => d.promise);
    const { calls, loadMany } = recorder();
    const batch = cache.getOrSetMany(['a', 'b'], loadMany);
    await flush();
    expect(calls).toEqual([['b']]);
    d.resolve('from single');
    expect(await batch).toEqual(['from single', 'v:b']);
    expect(await single).toBe('from single');
  });

  it('single-flight: a getOrSet (and another batch) of a key a batch is loading joins the batch', async () => {
    const cache = new Cache<string, string>({ max: 100, policy });
    const d = deferred<Map<string, string>>();
    let batchCalls = 0;
    const batch = cache.getOrSetMany(['a', 'b'], () => {
      batchCalls++;
      return d.promise;
    });
    let singleCalls = 0;
    const single = cache.getOrSet('a', () => {
      singleCalls++;
      return 'single';
    });
    const other = recorder();
    const second = cache.getOrSetMany(['b', 'c'], other.loadMany);
    await flush();
    expect(other.calls).toEqual([['c']]);
    d.resolve(
      new Map([
        ['a', 'A'],
        ['b', 'B'],
      ]),
    );
    expect(await batch).toEqual(['A', 'B']);
    expect(await single).toBe('A');
    expect(await second).toEqual(['B', 'v:c']);
    expect(singleCalls).toBe(0);
    expect(batchCalls).toBe(1);
  });

  it('no stale write-back: a key deleted, set or cleared mid-batch keeps the batch result out', async () => {
    const cache = new Cache<string, string>({ max: 100, policy });
    const d = deferred<Map<string, string>>();
    const batch = cache.getOrSetMany(['a', 'b', 'c', 'd'], () => d.promise);
    await flush();
    cache.delete('a');
    cache.set('b', 'newer');
    d.resolve(
      new Map([
        ['a', 'old-a'],
        ['b', 'old-b'],
        ['c', 'old-c'],
        ['d', 'old-d'],
      ]),
    );
    expect(await batch).toEqual(['old-a', 'old-b', 'old-c', 'old-d']);
    expect(cache.has('a')).toBe(false);
    expect(cache.get('b')).toBe('newer');
    expect(cache.get('c')).toBe('old-c');

    const d2 = deferred<Map<string, string>>();
    const again = cache.getOrSetMany(['x', 'y'], () => d2.promise);
    await flush();
    cache.clear();
    d2.resolve(new Map([['x', 'X']]));
    await again;
    expect(cache.has('x')).toBe(false);
  });

  it('no stale write-back on a tag invalidation mid-batch, with tags as a list or a function', async () => {
    const cache = new Cache<string, string>({ max: 100, policy });
    const d = deferred<Map<string, string>>();
    const listed = cache.getOrSetMany(['a'], () => d.promise, { tags: ['t'] });
    const d2 = deferred<Map<string, string>>();
    const computed = cache.getOrSetMany(['b'], () => d2.promise, { tags: (key) => [`t:${key}`] });
    await flush();
    cache.invalidateTag('t');
    cache.invalidateTag('t:b');
    d.resolve(new Map([['a', 'A']]));
    d2.resolve(new Map([['b', 'B']]));
    expect(await listed).toEqual(['A']);
    expect(await computed).toEqual(['B']);
    expect(cache.has('a')).toBe(false);
    expect(cache.has('b')).toBe(false);
  });

  it('per-key rules: TTL, nullTtl, tags from key and value', async () => {
    const cache = new Cache<string, string | null>({ max: 100, ttl: 1000, policy });
    await cache.getOrSetMany(
      ['a', 'missing'],
      (keys) => new Map(keys.map((k) => [k, k === 'missing' ? null : `v:${k}`])),
      { nullTtl: 100, tags: (key, value) => (value === null ? ['none'] : [`k:${key}`]) },
    );
    expect(cache.get('missing')).toBeNull();
    await advance(150);
    expect(cache.has('missing')).toBe(false);
    expect(cache.get('a')).toBe('v:a');
    expect(cache.invalidateTag('k:a')).toBe(1);
    expect(cache.has('a')).toBe(false);
  });

  it('a tags function that throws or answers bad tags: the value is answered, not stored, and reported', async () => {
    const cache = new Cache<string, string>({ max: 100, policy });
    const errors: string[] = [];
    cache.on('error', (e) => errors.push(e.operation));
    const values = await cache.getOrSetMany(['a', 'b', 'c'], (keys) => keys.map((k) => [k, k] as const), {
      tags: (key) => {
        if (key === 'a') throw new Error('no tags for a');
        return key === 'b' ? [''] : ['ok'];
      },
    });
    expect(values).toEqual(['a', 'b', 'c']);
    expect(cache.has('a')).toBe(false);
    expect(cache.has('b')).toBe(false);
    expect(cache.get('c')).toBe('c');
    expect(errors).toEqual(['store', 'store']);
  });

  it('an empty batch answers [] without calling the loader', async () => {
    const cache = new Cache<string, string>({ max: 100, policy });
    const { calls, loadMany } = recorder();
    expect(await cache.getOrSetMany([], loadMany)).toEqual([]);
    expect(calls).toEqual([]);
  });

  it('jitter applies per key', async () => {
    const cache = new Cache<number, string>({ max: 100, policy });
    const ttls: number[] = [];
    cache.on('set', (e) => ttls.push(e.ttl));
    await cache.getOrSetMany([1, 2, 3, 4, 5, 6], (ids) => ids.map((id) => [id, 'v'] as const), {
      ttl: 1000,
      jitter: 0.5,
    });
    expect(ttls).toHaveLength(6);
    for (const ttl of ttls) expect(ttl).toBeGreaterThanOrEqual(500);
    expect(new Set(ttls).size).toBeGreaterThan(1);
  });

  it('stale-while-revalidate per key: stale keys answer at once, one background loadMany refreshes them', async () => {
    const cache = new Cache<string, string>({ max: 100, ttl: 100, staleWhileRevalidate: 1000, policy });
    cache.set('a', 'old-a');
    cache.set('b', 'old-b');
    await advance(150);
    cache.set('c', 'fresh-c');
    const { calls, loadMany } = recorder();
    expect(await cache.getOrSetMany(['a', 'b', 'c'], loadMany)).toEqual(['old-a', 'old-b', 'fresh-c']);
    await flush();
    expect(calls).toEqual([['a', 'b']]);
    expect(cache.get('a')).toBe('v:a');
    expect(cache.stats().refreshes).toBe(2);
  });

  it('a failed loadMany rejects its callers and stores nothing; stale-if-error keys get their stale value', async () => {
    const cache = new Cache<string, string>({ max: 100, ttl: 100, policy });
    const boom = new Error('db down');
    await expect(
      cache.getOrSetMany(['a', 'b'], () => {
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect(cache.size).toBe(0);

    cache.set('a', 'old-a', { staleIfError: 10_000 });
    cache.set('b', 'old-b', { staleIfError: 10_000 });
    await advance(150);
    const errors: unknown[] = [];
    cache.on('error', (e) => errors.push(e.error));
    expect(await cache.getOrSetMany(['a', 'b'], () => Promise.reject(boom))).toEqual(['old-a', 'old-b']);
    expect(errors).toEqual([boom, boom]);
    expect(cache.stats().staleHits).toBe(2);
  });

  it('timeout applies to the loadMany call: TimeoutError without a stale value, stale value with one', async () => {
    const cache = new Cache<string, string>({ max: 100, policy });
    let signal: AbortSignal | undefined;
    const hung = track(
      cache.getOrSetMany(
        ['a'],
        (_keys, ctx) => {
          signal = ctx.signal;
          return new Promise<Map<string, string>>(() => {});
        },
        { timeout: 100 },
      ),
    );
    await advance(99);
    expect(hung.settled).toBe(false);
    await advance(2);
    expect(hung.error).toBeInstanceOf(TimeoutError);
    expect(signal?.aborted).toBe(true);

    cache.set('s', 'old', { ttl: 10, staleIfError: 10_000 });
    await advance(20);
    const d = deferred<Map<string, string>>();
    const soft = track(cache.getOrSetMany(['s'], () => d.promise, { timeout: 50 }));
    await advance(51);
    expect(soft.value).toEqual(['old']);
    d.resolve(new Map([['s', 'late']]));
    await flush();
    expect(cache.get('s')).toBe('late');
  });

  it('works through a namespace (keys prefixed, loader sees the unprefixed keys)', async () => {
    const cache = new Cache<string, string>({ max: 100, policy });
    const ns = cache.namespace('users');
    const { calls, loadMany } = recorder();
    expect(await ns.getOrSetMany(['1', '2'], loadMany)).toEqual(['v:1', 'v:2']);
    expect(calls).toEqual([['1', '2']]);
    expect(cache.get('users:1')).toBe('v:1');
  });

  it('bad input: TypeError/RangeError naming it, synchronously, loader never called', async () => {
    const cache = new Cache<string, string>({ max: 100, policy });
    const { calls, loadMany } = recorder();
    expectBadInput(() => cache.getOrSetMany(bad('a'), loadMany), /keys/);
    expectBadInput(() => cache.getOrSetMany(['a', bad(undefined)], loadMany), /keys/);
    expectBadInput(() => cache.getOrSetMany(['a'], bad(42)), /loadMany/);
    expectBadInput(() => cache.getOrSetMany(['a'], loadMany, { maxBatch: 0 }), /maxBatch/);
    expectBadInput(() => cache.getOrSetMany(['a'], loadMany, { maxBatch: 1.5 }), /maxBatch/);
    expectBadInput(() => cache.getOrSetMany(['a'], loadMany, { maxBatch: bad('5') }), /maxBatch/);
    expectBadInput(() => cache.getOrSetMany(['a'], loadMany, { refreshAhead: 1 }), /refreshAhead/);
    expectBadInput(() => cache.getOrSetMany(['a'], loadMany, { refreshAhead: 0 }), /refreshAhead/);
    expectBadInput(() => cache.getOrSetMany(['a'], loadMany, { ttl: -1 }), /ttl/);
    expectBadInput(() => cache.getOrSetMany(['a'], loadMany, bad({ nope: 1 })), /nope/);
    expect(calls).toEqual([]);
  });

  it('refuses keys with a hole (TypeError naming keys and the index), at the root and in a namespace', async () => {
    const cache = new Cache<string, string>({ max: 100, policy });
    const { calls, loadMany } = recorder();
    expectBadInput(() => cache.getOrSetMany(sparse('b'), loadMany), /keys .*hole at index 0/);
    expectBadInput(() => cache.namespace('ns').getOrSetMany(sparse('b'), loadMany), /keys .*hole at index 0/);
    await flush();
    expect(calls).toEqual([]);
    expect(cache.size).toBe(0);
  });

  it('a loadMany answering neither a Map nor pairs rejects with a TypeError naming the loader', async () => {
    const cache = new Cache<string, string>({ max: 100, policy });
    for (const answer of [42, null, 'ab', { a: 1 }, [['a']], ['a', 'b']]) {
      const fetchUsers = () => answer as never;
      await expect(cache.getOrSetMany(['a', 'b'], fetchUsers)).rejects.toThrow(TypeError);
      await expect(cache.getOrSetMany(['a', 'b'], fetchUsers)).rejects.toThrow(
        /getOrSetMany loader fetchUsers/,
      );
    }
    expect(cache.size).toBe(0);
  });
});

describe.each(policies)('wrapMany (%s)', (policy) => {
  it('shares entries with wrap(name, fn) for one argument, both ways', async () => {
    const cache = new Cache<string, { id: number }>({ max: 100, policy });
    let single = 0;
    const getUser = cache.wrap('user', async (id: number) => {
      single++;
      return { id };
    });
    const calls: number[][] = [];
    const getUsers = cache.wrapMany('user', async (ids: number[]) => {
      calls.push(ids);
      return new Map(ids.map((id) => [id, { id }]));
    });
    expect(await getUser(1)).toEqual({ id: 1 });
    expect(await getUsers([1, 2, 3])).toEqual([{ id: 1 }, { id: 2 }, { id: 3 }]);
    expect(calls).toEqual([[2, 3]]);
    expect(await getUser(3)).toEqual({ id: 3 });
    expect(single).toBe(1);
    expect(getUsers.key(7)).toBe(getUser.key(7));
    expect(getUsers.invalidate(2)).toBe(true);
    await getUsers([2]);
    expect(calls).toEqual([[2, 3], [2]]);
  });

  it('refuses bad input at once, naming it', async () => {
    const cache = new Cache<string, string>({ max: 100, policy });
    expectBadInput(() => cache.wrapMany('', async () => new Map()), /name/);
    expectBadInput(() => cache.wrapMany('n', bad(null)), /loadMany/);
    expectBadInput(() => cache.wrapMany('n', async () => new Map(), { maxBatch: -1 }), /maxBatch/);
    const many = cache.wrapMany('n', async () => new Map());
    expectBadInput(() => many(bad('1,2')), /ids/);
    expectBadInput(() => many([() => 1]), /argument|function/);
    await expect(
      cache.wrapMany('n', function loadCourses() {
        return 5 as never;
      })([1]),
    ).rejects.toThrow(/wrapMany\('n'\) loader loadCourses/);
  });

  it('refuses ids with a hole, as wrap refuses arrays with holes: nothing read, loaded or stored, in no namespace', async () => {
    const cache = new Cache<string, string>({ max: 100, policy });
    const { calls, loadMany } = recorder();
    const users = cache.wrapMany('user', loadMany);
    const tenant = cache.namespace('tenant').wrapMany('user', loadMany);
    const gap: number[] = [];
    gap[0] = 1;
    gap[2] = 3;
    for (const ids of [sparse(5), new Array<number>(2), gap]) {
      expectBadInput(() => users(ids), /wrapMany\('user'\): ids .*hole at index \d/);
      expectBadInput(() => tenant(ids), /wrapMany\('user'\): ids .*hole at index \d/);
    }
    expectBadInput(() => users(gap), /hole at index 1/);
    await flush();
    expect(calls).toEqual([]);
    expect(cache.size).toBe(0);
    expect(cache.peek(bad(undefined))).toBeUndefined();
    expect(cache.stats().misses).toBe(0);
  });

  it('ids 0 and -0 have keys of their own and each gets its own answer (a Map cannot tell them apart: -0 gets a loadMany call of its own)', async () => {
    const sign = (id: number) => (Object.is(id, -0) ? 'minus zero' : `v${id}`);
    for (const answer of ['map', 'pairs'] as const) {
      const cache = new Cache<string, string>({ max: 100, policy });
      const calls: number[][] = [];
      const many = cache.wrapMany('sign', async (ids: number[]) => {
        calls.push(ids);
        const pairs = ids.map((id) => [id, sign(id)] as const);
        return answer === 'map' ? new Map(pairs) : pairs;
      });
      expect(await many([0, -0, 1])).toEqual(['v0', 'minus zero', 'v1']);
      expect(calls).toHaveLength(2);
      expect(calls[0]?.map((id) => Object.is(id, -0))).toEqual([false, false]);
      expect(calls[1]?.map((id) => Object.is(id, -0))).toEqual([true]);
      // Stored under their own keys: wrap of the same name hits both.
      let single = 0;
      const one = cache.wrap('sign', async (id: number) => {
        single++;
        return sign(id);
      });
      expect([await one(0), await one(-0)]).toEqual(['v0', 'minus zero']);
      expect(single).toBe(0);
      // -0 alone (or 0 alone) is one call as usual.
      cache.clear();
      calls.length = 0;
      expect(await many([-0, 2])).toEqual(['minus zero', 'v2']);
      expect(calls).toHaveLength(1);
      // Coalesced single loads of 0 and -0 too.
      cache.clear();
      const loader = cache.batchLoader('sign', async (ids: number[]) =>
        ids.map((id) => [id, sign(id)] as const),
      );
      expect(await Promise.all([loader.load(-0), loader.load(0)])).toEqual(['minus zero', 'v0']);
    }
  });
});

describe.each(policies)('batchLoader (%s)', (policy) => {
  it('50 load() calls with maxBatch 20 make 3 loadMany calls', async () => {
    const cache = new Cache<string, string>({ max: 1000, policy });
    const calls: number[][] = [];
    const loader = cache.batchLoader(
      'course',
      async (ids: number[]) => {
        calls.push(ids);
        return ids.map((id) => [id, `c${id}`] as const);
      },
      { maxBatch: 20 },
    );
    const values = await Promise.all(Array.from({ length: 50 }, (_, i) => loader.load(i)));
    expect(values).toEqual(Array.from({ length: 50 }, (_, i) => `c${i}`));
    expect(calls.map((c) => c.length)).toEqual([20, 20, 10]);
    // Same entries as wrap('course', fn).
    let single = 0;
    const one = cache.wrap('course', async (id: number) => {
      single++;
      return `x${id}`;
    });
    expect(await one(7)).toBe('c7');
    expect(single).toBe(0);
    expect(await loader.loadMany([1, 2, 60])).toEqual(['c1', 'c2', 'c60']);
    expect(calls.slice(3)).toEqual([[60]]);
  });

  it('coalesces load() calls across awaits within a tick, and within delay ms', async () => {
    const cache = new Cache<string, string>({ max: 1000, policy });
    const calls: number[][] = [];
    const loadMany = async (ids: number[]) => {
      calls.push(ids);
      return ids.map((id) => [id, `c${id}`] as const);
    };
    const tick = cache.batchLoader('a', loadMany);
    const resolver = async (id: number) => {
      await Promise.resolve();
      await Promise.resolve();
      return tick.load(id);
    };
    expect(await Promise.all([tick.load(1), resolver(2), resolver(3)])).toEqual(['c1', 'c2', 'c3']);
    expect(calls).toEqual([[1, 2, 3]]);

    vi.useFakeTimers();
    try {
      const delayed = cache.batchLoader('b', loadMany, { delay: 10 });
      const first = delayed.load(1);
      await advance(5);
      const second = delayed.load(2);
      await advance(6);
      expect(await Promise.all([first, second])).toEqual(['c1', 'c2']);
      expect(calls.slice(1)).toEqual([[1, 2]]);
    } finally {
      vi.useRealTimers();
    }
  });

  it('one failing batch rejects its own loads only', async () => {
    const cache = new Cache<string, string>({ max: 1000, policy });
    const loader = cache.batchLoader(
      'x',
      async (ids: number[]) => {
        if (ids.includes(0)) throw new Error('bad batch');
        return ids.map((id) => [id, `v${id}`] as const);
      },
      { maxBatch: 2 },
    );
    const results = await Promise.allSettled([
      loader.load(0),
      loader.load(1),
      loader.load(2),
      loader.load(3),
    ]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'fulfilled', 'fulfilled']);
  });

  it('refuses bad input at once, naming it', () => {
    const cache = new Cache<string, string>({ max: 100, policy });
    const ok = async () => new Map();
    expectBadInput(() => cache.batchLoader('n', ok, { delay: -1 }), /delay/);
    expectBadInput(() => cache.batchLoader('n', ok, { delay: bad('5ms') }), /delay/);
    expectBadInput(() => cache.batchLoader('n', ok, { maxBatch: 0 }), /maxBatch/);
    expectBadInput(() => cache.batchLoader('n', bad(undefined)), /loadMany/);
    expectBadInput(() => cache.batchLoader('n', ok).load(Symbol('x') as never), /argument|symbol/);
    expectBadInput(() => cache.batchLoader('n', ok).loadMany(bad(3)), /ids/);
  });

  it('loadMany refuses ids with a hole at once, naming ids, and loads nothing', async () => {
    const cache = new Cache<string, string>({ max: 100, policy });
    const { calls, loadMany } = recorder();
    const loader = cache.batchLoader('user', loadMany);
    expectBadInput(
      () => loader.loadMany(sparse(5)),
      /batchLoader\('user'\)\.loadMany: ids .*hole at index 0/,
    );
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(calls).toEqual([]);
    expect(cache.size).toBe(0);
  });

  it('an id object changed after load() took it loads under the key it was taken with; the batch’s other loads are answered', async () => {
    const cache = new Cache<string, string>({ max: 100, policy });
    const calls: unknown[][] = [];
    const loader = cache.batchLoader('x', async (ids: unknown[]) => {
      calls.push(ids);
      return ids.map((id) => [id, `v:${JSON.stringify(id)}`] as const);
    });
    const filter: Record<string, unknown> = { a: 1 };
    const other = loader.load(7); // another request's load, in the same batch
    const mine = loader.load(filter);
    filter.cb = () => 1; // now it has no key, but load() took it already
    expect(await Promise.allSettled([other, mine])).toEqual([
      { status: 'fulfilled', value: 'v:7' },
      { status: 'fulfilled', value: 'v:{"a":1}' },
    ]);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.[1]).toBe(filter); // the loader is given the id as given
    expect(cache.get('x({"a":1})')).toBe('v:{"a":1}');
  });
});

describe.each(policies)('batchLoader.loadMany with an id without a key (%s)', (policy) => {
  const unhandled = fakeTimersCollectingUnhandled();

  it('throws at once and queues none of its ids: nothing is loaded, no rejection goes unhandled', async () => {
    const cache = new Cache<string, string>({ max: 100, policy });
    const calls: unknown[][] = [];
    const loader = cache.batchLoader('x', async (ids: unknown[]) => {
      calls.push(ids);
      throw new Error('db down');
    });
    expectBadInput(() => loader.loadMany([1, 2, bad(Symbol('bad'))]), /argument 0 is Symbol\(bad\)/);
    expectBadInput(() => loader.loadMany([1, 2, bad(() => 3)]), /argument 0 is a function/);
    await advance(10);
    expect(calls).toEqual([]);
    expect(unhandled).toEqual([]);
    // The loader still serves good calls.
    const good = track(loader.loadMany([1, 2]));
    await advance(10);
    expect(good.error).toMatchObject({ message: 'db down' });
    expect(calls).toEqual([[1, 2]]);
  });
});

describe.each(policies)('refreshAhead (%s)', (policy) => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('0.5: no refresh in the first half of the TTL, one background refresh after it, caller answered at once', async () => {
    const cache = new Cache<string, string>({ max: 100, ttl: 1000, refreshAhead: 0.5, policy });
    let loads = 0;
    const d = deferred<string>();
    const loader = () => {
      loads++;
      return loads === 1 ? 'v1' : d.promise;
    };
    expect(await cache.getOrSet('k', loader)).toBe('v1');
    await advance(400);
    expect(await cache.getOrSet('k', loader)).toBe('v1');
    expect(loads).toBe(1);
    await advance(200); // 600 ms: past half the TTL
    const answer = track(cache.getOrSet('k', loader));
    await flush();
    expect(answer.value).toBe('v1'); // at once, while the refresh is pending
    expect(loads).toBe(2);
    expect(await cache.getOrSet('k', loader)).toBe('v1');
    expect(loads).toBe(2); // single-flight
    d.resolve('v2');
    await flush();
    expect(await cache.getOrSet('k', loader)).toBe('v2');
    expect(loads).toBe(2);
    expect(cache.stats().refreshes).toBe(1);
  });

  it('per call, for wrap and for batches; a failed refresh is counted and emitted, never thrown', async () => {
    const cache = new Cache<string, string>({ max: 100, ttl: 1000, policy });
    let loads = 0;
    const fn = cache.wrap(
      'w',
      async (id: number) => {
        loads++;
        if (loads > 1) throw new Error('refresh failed');
        return `w${id}`;
      },
      { refreshAhead: 0.8 },
    );
    const errors: string[] = [];
    cache.on('error', (e) => errors.push(e.operation));
    expect(await fn(1)).toBe('w1');
    await advance(700);
    expect(await fn(1)).toBe('w1');
    expect(loads).toBe(1);
    await advance(200);
    expect(await fn(1)).toBe('w1');
    await flush();
    expect(loads).toBe(2);
    expect(errors).toEqual(['refresh']);
    expect(cache.stats().loadErrors).toBe(1);
    expect(cache.get('w(1)')).toBe('w1');

    const { calls, loadMany } = recorder();
    await cache.getOrSetMany(['a', 'b'], loadMany, { refreshAhead: 0.5 });
    await advance(600);
    expect(await cache.getOrSetMany(['a', 'b'], loadMany, { refreshAhead: 0.5 })).toEqual(['v:a', 'v:b']);
    await flush();
    expect(calls).toEqual([
      ['a', 'b'],
      ['a', 'b'],
    ]);
  });

  it('refuses refreshAhead outside (0, 1), naming it', async () => {
    for (const value of [0, 1, -0.5, 1.5, Number.NaN]) {
      expectBadInput(() => new Cache({ max: 1, ttl: 100, refreshAhead: value }), /refreshAhead/);
    }
    expectBadInput(() => new Cache({ max: 1, refreshAhead: bad('0.5') }), /refreshAhead/);
    const cache = new Cache<string, string>({ max: 1, policy });
    await expectBadCall(() => cache.getOrSet('k', () => 'v', { refreshAhead: 2 }), /refreshAhead/);
  });
});

describe.each(policies)('expireTag (%s)', (policy) => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('the stale value is served once while one refresh runs', async () => {
    const cache = new Cache<string, string>({ max: 100, ttl: '1h', staleWhileRevalidate: '1m', policy });
    let loads = 0;
    const d = deferred<string>();
    const loader = () => {
      loads++;
      return loads === 1 ? 'v1' : d.promise;
    };
    await cache.getOrSet('k', loader, { tags: ['course'] });
    expect(cache.expireTag('course')).toBe(1);
    expect(cache.get('k')).toBeUndefined(); // no longer fresh
    expect(cache.has('k')).toBe(false);
    expect(await cache.getOrSet('k', loader)).toBe('v1'); // stale, served at once
    expect(loads).toBe(2);
    expect(await cache.getOrSet('k', loader)).toBe('v1');
    expect(loads).toBe(2); // one refresh
    d.resolve('v2');
    await flush();
    expect(cache.get('k')).toBe('v2');
    expect(cache.stats().refreshes).toBe(1);
  });

  it('the stale window runs from the expiry, not from the old TTL', async () => {
    const cache = new Cache<string, string>({ max: 100, ttl: '1h', staleWhileRevalidate: 1000, policy });
    cache.set('k', 'v', { tags: ['t'] });
    cache.expireTags(['t']);
    expect(cache.size).toBe(1);
    await advance(1001);
    expect(cache.size).toBe(0);
    let loads = 0;
    expect(
      await cache.getOrSet('k', () => {
        loads++;
        return 'new';
      }),
    ).toBe('new');
    expect(loads).toBe(1);
  });

  it('without a stale-while-revalidate window it behaves like invalidateTag', async () => {
    const cache = new Cache<string, string>({ max: 100, ttl: '1h', policy });
    cache.set('a', 'A', { tags: ['t'] });
    cache.set('b', 'B', { tags: ['other'] });
    expect(cache.expireTag('t')).toBe(1);
    expect(cache.has('a')).toBe(false);
    expect(cache.size).toBe(1);
  });

  it('an entry without a TTL is removed, and the expiry queue keeps expiring the others', async () => {
    const cache = new Cache<string, string>({ max: 100, policy });
    cache.set('a', 'A', { tags: ['t'] });
    cache.set('b', 'B', { ttl: 50, tags: ['u'] });
    expect(cache.expireTag('t')).toBe(1);
    expect(cache.has('a')).toBe(false);
    await advance(120);
    cache.set('c', 'C'); // a write purges what has expired
    expect([...cache.keys()]).toEqual(['c']);
    expect(cache.size).toBe(1);
  });

  it('a load of a tagged key running at the time does not write back', async () => {
    const cache = new Cache<string, string>({ max: 100, ttl: '1h', staleWhileRevalidate: '1m', policy });
    const d = deferred<string>();
    const p = cache.getOrSet('k', () => d.promise, { tags: ['t'] });
    cache.expireTag('t');
    d.resolve('old');
    expect(await p).toBe('old');
    expect(cache.has('k')).toBe(false);
  });

  it('refuses bad tags, naming them', () => {
    const cache = new Cache<string, string>({ max: 100, policy });
    expectBadInput(() => cache.expireTag(''), /tag/);
    expectBadInput(() => cache.expireTags(bad('t')), /tags/);
  });
});

/** A tier in memory, counting its calls. */
class CountingTier implements CacheTier {
  readonly records = new Map<string, TierRecord>();
  gets = 0;
  getManys = 0;
  constructor(withGetMany: boolean) {
    if (!withGetMany) (this as { getMany?: unknown }).getMany = undefined;
  }
  async get(key: string) {
    this.gets++;
    return this.records.get(key);
  }
  async getMany(keys: readonly string[]) {
    this.getManys++;
    return keys.map((k) => this.records.get(k));
  }
  async set(key: string, record: TierRecord) {
    this.records.set(key, record);
  }
  async delete(keys: readonly string[]) {
    for (const k of keys) this.records.delete(k);
  }
  async invalidateTags() {}
  async clear() {
    this.records.clear();
  }
  async close() {}
}

describe.each(policies)('batches with a tier (%s)', (policy) => {
  it.each([true, false])(
    'one tier read for the missing keys (getMany: %s), then the loader for the rest',
    async (withGetMany) => {
      const tier = new CountingTier(withGetMany);
      const a = new Cache<string, string>({ max: 100, ttl: 60_000, tier, policy });
      await a.getOrSetMany(['1', '2', '3'], (keys) => keys.map((k) => [k, `v${k}`] as const));
      await flush();
      expect(tier.records.size).toBe(3);
      const b = new Cache<string, string>({ max: 100, ttl: 60_000, tier, policy });
      const { calls, loadMany } = recorder();
      expect(await b.getOrSetMany(['1', '2', '3', '4'], loadMany)).toEqual(['v1', 'v2', 'v3', 'v:4']);
      expect(calls).toEqual([['4']]);
      if (withGetMany) {
        expect(tier.getManys).toBe(2);
        expect(tier.gets).toBe(0);
      } else {
        expect(tier.gets).toBe(7);
      }
      expect(b.stats().tierHits).toBe(3);
    },
  );

  it('refreshAhead with a tier: the refresh reaches the loader instead of reading back the same entry', async () => {
    vi.useFakeTimers();
    try {
      const tier = new CountingTier(true);
      const cache = new Cache<string, string>({ max: 100, ttl: 1000, refreshAhead: 0.5, tier, policy });
      let loads = 0;
      const loader = () => `v${++loads}`;
      expect(await cache.getOrSet('k', loader)).toBe('v1');
      await flush();
      expect(tier.records.has('k')).toBe(true);
      await advance(600);
      expect(await cache.getOrSet('k', loader)).toBe('v1');
      await flush();
      expect(loads).toBe(2);
      expect(await cache.getOrSet('k', loader)).toBe('v2');
    } finally {
      vi.useRealTimers();
    }
  });

  it('a bus delete racing a batch keeps that key out', async () => {
    let handlers: BusHandlers | undefined;
    const bus = {
      start: (h: BusHandlers) => {
        handlers = h;
      },
      publish: () => {},
      close: async () => {},
    };
    const cache = new Cache<string, string>({ max: 100, bus, policy });
    const d = deferred<Map<string, string>>();
    const batch = cache.getOrSetMany(['a', 'b'], () => d.promise);
    await flush();
    handlers?.message({ type: 'delete', keys: ['a'] });
    d.resolve(
      new Map([
        ['a', 'A'],
        ['b', 'B'],
      ]),
    );
    expect(await batch).toEqual(['A', 'B']);
    expect(cache.has('a')).toBe(false);
    expect(cache.get('b')).toBe('B');
  });

  it('a failing tier read counts, is reported, and falls through to the loader', async () => {
    const tier = new CountingTier(true);
    tier.getMany = async () => {
      throw new Error('tier down');
    };
    const cache = new Cache<string, string>({ max: 100, tier, policy });
    const errors: string[] = [];
    cache.on('error', (e) => errors.push(e.operation));
    const { loadMany } = recorder();
    expect(await cache.getOrSetMany(['a'], loadMany)).toEqual(['v:a']);
    expect(errors).toEqual(['tier']);
    expect(cache.stats().tierErrors).toBe(1);
  });
});

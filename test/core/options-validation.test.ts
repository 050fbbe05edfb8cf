import { describe, expect, it } from 'vitest';
import { Cache } from '../../src/index.js';
import { bad, expectBadCall, expectBadInput } from './helpers.js';
import { policies } from './policies.js';

const badDurations: unknown[] = [-5, Number.NaN, 'abc', '5 parsecs', '-5s', '', '5', 's', '1x', {}, true];

describe('constructor options', () => {
  it('refuses an unbounded cache (neither max nor maxSize)', () => {
    expectBadInput(() => new Cache({}), /max/);
    expectBadInput(() => new Cache({ ttl: 1000 }), /max/);
  });

  it('refuses a missing options object', () => {
    expectBadInput(() => new Cache(bad(undefined)), /max|options/);
  });

  it.each([0, -1, 1.5, Number.NaN, '10', Number.POSITIVE_INFINITY, null])('refuses max = %s', (max) => {
    expectBadInput(() => new Cache({ max: bad(max) }), /max/);
  });

  // Spec lists these for max; a demanding user expects the same checks on maxSize.
  it.each([0, -1, 1.5, Number.NaN, '10'])('refuses maxSize = %s', (maxSize) => {
    expectBadInput(() => new Cache({ maxSize: bad(maxSize), sizeOf: () => 1 }), /maxSize/);
  });

  it('refuses maxSize without sizeOf', () => {
    expectBadInput(() => new Cache({ maxSize: 100 }), /sizeOf/);
  });

  it('refuses a sizeOf that is not a function', () => {
    expectBadInput(() => new Cache({ maxSize: 100, sizeOf: bad(5) }), /sizeOf/);
  });

  it.each(badDurations)('refuses ttl = %s', (ttl) => {
    expectBadInput(() => new Cache({ max: 10, ttl: bad(ttl) }), /ttl/);
  });

  it.each(['staleWhileRevalidate', 'staleIfError', 'timeout', 'nullTtl'] as const)(
    'refuses negative or unparsable %s',
    (option) => {
      for (const value of [-5, Number.NaN, 'abc', '5 parsecs', '-1m']) {
        expectBadInput(() => new Cache({ max: 10, ttl: 1000, [option]: bad(value) }), new RegExp(option));
      }
    },
  );

  it.each([-0.1, 1.1, Number.NaN, '0.5', 2])('refuses jitter = %s', (jitter) => {
    expectBadInput(() => new Cache({ max: 10, ttl: 1000, jitter: bad(jitter) }), /jitter/);
  });

  it('refuses an unknown policy', () => {
    expectBadInput(() => new Cache({ max: 10, policy: bad('fifo') }), /policy/);
  });

  it('accepts every valid duration form and jitter bounds', () => {
    for (const ttl of [1, 250, '250ms', '30s', '5m', '2h', '1d', '1.5s'] as const) {
      expect(() => new Cache({ max: 10, ttl })).not.toThrow();
    }
    expect(() => new Cache({ max: 10, ttl: 1000, jitter: 0 })).not.toThrow();
    expect(() => new Cache({ max: 10, ttl: 1000, jitter: 1 })).not.toThrow();
    expect(() => new Cache({ maxSize: 10, sizeOf: () => 1 })).not.toThrow();
    expect(
      () =>
        new Cache({
          max: 10,
          ttl: '1s',
          staleWhileRevalidate: '1m',
          staleIfError: '1h',
          timeout: '250ms',
          nullTtl: '5s',
        }),
    ).not.toThrow();
  });
});

describe.each(policies)('bad arguments leave the cache as it was (%s)', (policy) => {
  function filled() {
    const cache = new Cache<string, string>({ max: 100, ttl: 10_000, policy });
    cache.set('a', 'A', { tags: ['t'] });
    cache.set('b', 'B');
    cache.get('a');
    cache.get('missing');
    return cache;
  }

  function expectUnchanged(cache: Cache<string, string>) {
    expect(cache.size).toBe(2);
    expect(cache.peek('a')).toBe('A');
    expect(cache.peek('b')).toBe('B');
    const stats = cache.stats();
    expect(stats.hits).toBe(1);
    expect(stats.misses).toBe(1);
    expect(stats.loads).toBe(0);
    expect(stats.size).toBe(2);
  }

  it('set with undefined value: TypeError naming the value', () => {
    const cache = filled();
    expectBadInput(() => cache.set('a', bad(undefined)), /value|undefined/);
    expectBadInput(() => cache.set('c', bad(undefined)), /value|undefined/);
    expectUnchanged(cache);
  });

  it.each(badDurations)('set with per-call ttl = %s', (ttl) => {
    const cache = filled();
    expectBadInput(() => cache.set('a', 'X', { ttl: bad(ttl) }), /ttl/);
    expectBadInput(() => cache.set('c', 'X', { ttl: bad(ttl) }), /ttl/);
    expectUnchanged(cache);
  });

  it.each([[''], [1], 'a', [null], ['ok', '']])('set with tags = %j', (tags) => {
    const cache = filled();
    expectBadInput(() => cache.set('a', 'X', { tags: bad(tags) }), /tags?/);
    expectBadInput(() => cache.set('c', 'X', { tags: bad(tags) }), /tags?/);
    expectUnchanged(cache);
    // The old tags of 'a' still work.
    expect(cache.invalidateTag('t')).toBe(1);
  });

  it('set with bad per-call staleWhileRevalidate / staleIfError / jitter', () => {
    const cache = filled();
    expectBadInput(() => cache.set('a', 'X', { staleWhileRevalidate: bad(-1) }), /staleWhileRevalidate/);
    expectBadInput(() => cache.set('a', 'X', { staleIfError: bad('soon') }), /staleIfError/);
    expectBadInput(() => cache.set('a', 'X', { jitter: bad(1.5) }), /jitter/);
    expectUnchanged(cache);
  });

  it('getOrSet with a loader that is not a function', async () => {
    const cache = filled();
    for (const loader of [undefined, null, 42, 'load', {}]) {
      await expectBadCall(() => cache.getOrSet('c', bad(loader)), /loader/);
    }
    expect(cache.has('c')).toBe(false);
    expect(cache.size).toBe(2);
    expect(cache.peek('a')).toBe('A');
  });

  it('getOrSet with bad per-call options: named, loader never called', async () => {
    const cache = filled();
    let calls = 0;
    const loader = () => {
      calls++;
      return 'X';
    };
    await expectBadCall(() => cache.getOrSet('c', loader, { ttl: bad(-5) }), /ttl/);
    await expectBadCall(() => cache.getOrSet('c', loader, { ttl: bad('5 parsecs') }), /ttl/);
    await expectBadCall(() => cache.getOrSet('c', loader, { timeout: bad(Number.NaN) }), /timeout/);
    await expectBadCall(() => cache.getOrSet('c', loader, { tags: bad(['']) }), /tags?/);
    await expectBadCall(() => cache.getOrSet('c', loader, { jitter: bad(-1) }), /jitter/);
    await expectBadCall(() => cache.getOrSet('c', loader, { nullTtl: bad('abc') }), /nullTtl/);
    await expectBadCall(
      () => cache.getOrSet('c', loader, { staleWhileRevalidate: bad(-1) }),
      /staleWhileRevalidate/,
    );
    await expectBadCall(() => cache.getOrSet('c', loader, { staleIfError: bad('x') }), /staleIfError/);
    expect(calls).toBe(0);
    expect(cache.has('c')).toBe(false);
    expect(cache.size).toBe(2);
  });

  it('getOrSet with bad arguments on a hit of a cache holding only bare values (its fast path)', async () => {
    const cache = new Cache<string, string>({ max: 100, policy });
    cache.set('a', 'A');
    let calls = 0;
    const loader = () => {
      calls++;
      return 'X';
    };
    await expectBadCall(() => cache.getOrSet('a', bad(42)), /loader/);
    await expectBadCall(() => cache.getOrSet('a', loader, { ttl: bad(-5) }), /ttl/);
    await expectBadCall(() => cache.getOrSet('a', loader, { tags: bad(['']) }), /tags?/);
    expect(calls).toBe(0);
    expect(cache.stats()).toMatchObject({ hits: 0, misses: 0, size: 1 });
    expect(await cache.getOrSet('a', loader)).toBe('A');
    expect(cache.stats()).toMatchObject({ hits: 1, misses: 0 });
  });

  // Spec silent on wrap's own arguments: a demanding user expects them checked when wrap is called,
  // not on the first call of the wrapped function.
  it('wrap with a fn that is not a function, a bad name or bad options throws at once', () => {
    const cache = filled();
    expectBadInput(() => cache.wrap('w', bad(42)), /fn|function/);
    expectBadInput(() => cache.wrap(bad(42), async () => 'x'), /name/);
    expectBadInput(() => cache.wrap('w', async () => 'x', { ttl: bad(-5) }), /ttl/);
    expectBadInput(() => cache.wrap('w', async () => 'x', { tags: bad([1]) }), /tags?/);
    expectUnchanged(cache);
  });

  it('invalidateTag / invalidateTags with tags that are not non-empty strings', () => {
    const cache = filled();
    expectBadInput(() => cache.invalidateTag(''), /tag/);
    expectBadInput(() => cache.invalidateTag(bad(5)), /tag/);
    expectBadInput(() => cache.invalidateTag(bad(undefined)), /tag/);
    expectBadInput(() => cache.invalidateTags(bad('t')), /tags/);
    expectBadInput(() => cache.invalidateTags(['t', '']), /tags?/);
    expectBadInput(() => cache.invalidateTags(bad([5])), /tags?/);
    // Nothing was removed: a bad list is refused as a whole, before 't' is invalidated.
    expectUnchanged(cache);
    expect(cache.invalidateTag('t')).toBe(1);
  });

  it('on / off with an unknown event name or a listener that is not a function', () => {
    const cache = filled();
    expectBadInput(() => cache.on(bad('bogus'), () => {}), /event|bogus/);
    expectBadInput(() => cache.off(bad('bogus'), () => {}), /event|bogus/);
    expectBadInput(() => cache.on('hit', bad('nope')), /listener/);
    expectUnchanged(cache);
  });

  it('namespace with a prefix that is not a string', () => {
    const cache = filled();
    expectBadInput(() => cache.namespace(bad(5)), /prefix|namespace/);
    expectUnchanged(cache);
  });
});

describe('sizeOf results and oversized entries (checked at set time)', () => {
  function weighted() {
    const sizes = new Map<string, number>();
    const cache = new Cache<string, string>({
      maxSize: 100,
      sizeOf: (value) => sizes.get(value) ?? 1,
    });
    cache.set('a', 'A');
    return { cache, sizes };
  }

  it.each([-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])('refuses a sizeOf result of %s', (size) => {
    const { cache, sizes } = weighted();
    sizes.set('X', size);
    expectBadInput(() => cache.set('a', 'X'), /sizeOf/);
    expectBadInput(() => cache.set('b', 'X'), /sizeOf/);
    expect(cache.get('a')).toBe('A');
    expect(cache.has('b')).toBe(false);
    expect(cache.size).toBe(1);
  });

  // Spec silent: a sizeOf that throws is the caller's error; the cache must stay as it was.
  it('a sizeOf that throws: set throws that error and the cache is unchanged', () => {
    const cache = new Cache<string, string>({
      maxSize: 100,
      sizeOf: (value) => {
        if (value === 'BAD') throw new Error('cannot size');
        return 1;
      },
    });
    cache.set('a', 'A');
    expect(() => cache.set('a', 'BAD')).toThrow('cannot size');
    expect(() => cache.set('b', 'BAD')).toThrow('cannot size');
    expect(cache.get('a')).toBe('A');
    expect(cache.has('b')).toBe(false);
    expect(cache.size).toBe(1);
  });

  it('refuses an entry larger than maxSize, naming maxSize; the old entry stays', () => {
    const { cache, sizes } = weighted();
    sizes.set('HUGE', 101);
    expectBadInput(() => cache.set('a', 'HUGE'), /maxSize|size/);
    expectBadInput(() => cache.set('b', 'HUGE'), /maxSize|size/);
    expect(cache.get('a')).toBe('A');
    expect(cache.has('b')).toBe(false);
    expect(cache.size).toBe(1);
    expect(cache.stats().evictions).toBe(0);
  });

  // Spec silent on how an oversized loaded value shows up through getOrSet: the callers may get the
  // value or a RangeError naming the size, but an entry larger than maxSize is never stored.
  it('getOrSet whose loaded value is larger than maxSize never stores it', async () => {
    const { cache, sizes } = weighted();
    sizes.set('HUGE', 1000);
    try {
      expect(await cache.getOrSet('b', () => 'HUGE')).toBe('HUGE');
    } catch (error) {
      expect(error).toBeInstanceOf(RangeError);
      expect((error as Error).message).toMatch(/maxSize|size/);
    }
    expect(cache.has('b')).toBe(false);
    expect(cache.get('a')).toBe('A');
  });
});

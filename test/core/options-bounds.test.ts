import { describe, expect, it } from 'vitest';
import { toMs } from '../../src/duration.js';
import { Cache } from '../../src/index.js';
import { MAX_ENTRIES } from '../../src/options.js';
import { bad, expectBadCall, expectBadInput } from './helpers.js';
import { policies } from './policies.js';

// Issue 15, item 15 (core part): options that crashed, overflowed or aborted the process.

describe('tier and bus: null is refused, naming the option', () => {
  it.each(['tier', 'bus'] as const)(
    '%s: null is a TypeError naming it (not "Cannot read properties of null")',
    (option) => {
      expectBadInput(() => new Cache({ max: 10, [option]: bad(null) }), new RegExp(`^${option} must be`));
    },
  );

  it.each(['tier', 'bus'] as const)('%s: other non-objects are refused too', (option) => {
    for (const value of [0, 'redis', true, {}, () => {}]) {
      expectBadInput(() => new Cache({ max: 10, [option]: bad(value) }), new RegExp(option));
    }
  });

  it('undefined still means none', () => {
    expect(() => new Cache({ max: 10, tier: undefined, bus: undefined })).not.toThrow();
  });
});

describe('durations that overflow to Infinity', () => {
  const huge = `1${'0'.repeat(400)}`;
  it.each([`${huge}d`, `${huge}ms`, `${'9'.repeat(320)}s`, `${'1'.repeat(306)}.5h`])(
    'ttl #%# (a string of hundreds of digits) is a RangeError naming ttl',
    (ttl) => {
      let thrown: unknown;
      try {
        new Cache({ max: 10, ttl: bad(ttl) });
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(RangeError);
      expect((thrown as Error).message).toMatch(/^ttl is too large: .* overflows to Infinity/);
    },
  );

  it('per call: set, getOrSet and their nullTtl and stale windows', async () => {
    const cache = new Cache<string, number | null>({ max: 10 });
    const ttl = `1${'0'.repeat(400)}d`;
    expectBadInput(() => cache.set('a', 1, { ttl: bad(ttl) }), /^ttl is too large/);
    expectBadInput(
      () => cache.set('a', 1, { staleWhileRevalidate: bad(ttl) }),
      /^staleWhileRevalidate is too large/,
    );
    await expectBadCall(
      () => cache.getOrSet('a', () => null, { nullTtl: bad(ttl) }),
      /^nullTtl is too large/,
    );
    expect(cache.size).toBe(0);
  });

  it('the number Infinity still means no expiry, and large finite strings are kept', () => {
    expect(toMs(Number.POSITIVE_INFINITY, 'ttl', false, true)).toBe(Number.POSITIVE_INFINITY);
    expect(toMs('1000000d', 'ttl', false, true)).toBe(86_400_000_000_000);
    expect(() => new Cache({ max: 10, ttl: Number.POSITIVE_INFINITY })).not.toThrow();
  });
});

describe.each(policies)('max has a ceiling of 2^24 (%s)', (policy) => {
  it('is 2^24 (V8 throws "Map maximum size exceeded" past it)', () => {
    expect(MAX_ENTRIES).toBe(2 ** 24);
  });

  it.each([MAX_ENTRIES + 1, 1e9, Number.MAX_SAFE_INTEGER])('max = %s is a RangeError naming max', (max) => {
    let thrown: unknown;
    try {
      new Cache({ max, policy });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(RangeError);
    expect((thrown as Error).message).toMatch(/^max must be at most 16777216/);
  });
});

describe('max at the ceiling', () => {
  // 'tinylfu' sizes its structures as entries arrive, so the ceiling itself is cheap to build ('lru' would
  // allocate about 470 MB up front).
  it('accepts max = 2^24 with tinylfu', () => {
    const cache = new Cache<string, number>({ max: MAX_ENTRIES, policy: 'tinylfu' });
    cache.set('a', 1);
    expect(cache.get('a')).toBe(1);
  });
});

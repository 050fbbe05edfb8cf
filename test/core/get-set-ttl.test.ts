import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Cache, type Duration } from '../../src/index.js';
import { bad } from './helpers.js';
import { policies } from './policies.js';

describe.each(policies)('get / set / peek / has / delete / clear / TTL (%s)', (policy) => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('get returns the stored value, undefined for a missing key', () => {
    const cache = new Cache<string, number>({ max: 100, policy });
    cache.set('a', 1);
    expect(cache.get('a')).toBe(1);
    expect(cache.get('b')).toBeUndefined();
  });

  it('set returns the cache itself (chainable)', () => {
    const cache = new Cache<string, number>({ max: 100, policy });
    expect(cache.set('a', 1)).toBe(cache);
    cache.set('b', 2).set('c', 3);
    expect(cache.get('b')).toBe(2);
    expect(cache.get('c')).toBe(3);
  });

  it.each([
    ['null', null],
    ['0', 0],
    ['empty string', ''],
    ['false', false],
  ])('stores %s as a value and returns it as such', (_name, value) => {
    const cache = new Cache<string, unknown>({ max: 100, policy });
    cache.set('k', value);
    expect(cache.has('k')).toBe(true);
    expect(cache.peek('k')).toBe(value);
    expect(cache.get('k')).toBe(value);
    expect(cache.size).toBe(1);
  });

  it('stores NaN as a value and returns it as such', () => {
    const cache = new Cache<string, number>({ max: 100, policy });
    cache.set('k', Number.NaN);
    expect(cache.has('k')).toBe(true);
    expect(Number.isNaN(cache.get('k'))).toBe(true);
  });

  it('set(key, undefined) throws a TypeError and leaves the existing value in place', () => {
    const cache = new Cache<string, number>({ max: 100, policy });
    cache.set('k', 1);
    expect(() => cache.set('k', bad(undefined))).toThrow(TypeError);
    expect(cache.get('k')).toBe(1);
    expect(() => cache.set('other', bad(undefined))).toThrow(TypeError);
    expect(cache.has('other')).toBe(false);
    expect(cache.size).toBe(1);
  });

  it('set replaces an existing value without growing size', () => {
    const cache = new Cache<string, number>({ max: 100, policy });
    cache.set('k', 1).set('k', 2);
    expect(cache.get('k')).toBe(2);
    expect(cache.size).toBe(1);
  });

  it('keys follow Map semantics: 1 and "1" are different keys', () => {
    const cache = new Cache<string | number, string>({ max: 100, policy });
    cache.set(1, 'number').set('1', 'string');
    expect(cache.get(1)).toBe('number');
    expect(cache.get('1')).toBe('string');
    expect(cache.size).toBe(2);
  });

  it('delete returns true when the key was present and false otherwise', () => {
    const cache = new Cache<string, number>({ max: 100, policy });
    cache.set('a', 1);
    expect(cache.delete('a')).toBe(true);
    expect(cache.get('a')).toBeUndefined();
    expect(cache.has('a')).toBe(false);
    expect(cache.delete('a')).toBe(false);
    expect(cache.delete('never')).toBe(false);
    expect(cache.size).toBe(0);
  });

  it('clear removes every entry', () => {
    const cache = new Cache<string, number>({ max: 100, policy });
    for (let i = 0; i < 10; i++) cache.set(`k${i}`, i);
    expect(cache.size).toBe(10);
    cache.clear();
    expect(cache.size).toBe(0);
    for (let i = 0; i < 10; i++) expect(cache.has(`k${i}`)).toBe(false);
    cache.set('again', 1);
    expect(cache.get('again')).toBe(1);
  });

  it('peek and has see fresh entries', () => {
    const cache = new Cache<string, number>({ max: 100, policy });
    cache.set('a', 1);
    expect(cache.peek('a')).toBe(1);
    expect(cache.has('a')).toBe(true);
    expect(cache.peek('b')).toBeUndefined();
    expect(cache.has('b')).toBe(false);
  });

  it('without ttl, entries live until deleted (a year of fake time later)', () => {
    const cache = new Cache<string, number>({ max: 100, policy });
    cache.set('a', 1);
    vi.advanceTimersByTime(365 * 24 * 3600 * 1000);
    expect(cache.get('a')).toBe(1);
    expect(cache.size).toBe(1);
  });

  it('the ttl option expires entries: fresh just before, gone just after', () => {
    const cache = new Cache<string, number>({ max: 100, ttl: 1000, policy });
    cache.set('a', 1);
    vi.advanceTimersByTime(999);
    expect(cache.get('a')).toBe(1);
    expect(cache.peek('a')).toBe(1);
    expect(cache.has('a')).toBe(true);
    vi.advanceTimersByTime(2);
    expect(cache.has('a')).toBe(false);
    expect(cache.peek('a')).toBeUndefined();
    expect(cache.get('a')).toBeUndefined();
  });

  it('size counts live entries only: expired entries are not counted (spec: "size (live entries)")', () => {
    const cache = new Cache<string, number>({ max: 100, ttl: 1000, policy });
    cache.set('a', 1).set('b', 2);
    cache.set('c', 3, { ttl: 5000 });
    expect(cache.size).toBe(3);
    vi.advanceTimersByTime(1001);
    // Nothing was read after expiry: size must still not count the expired entries.
    expect(cache.size).toBe(1);
    vi.advanceTimersByTime(5000);
    expect(cache.size).toBe(0);
  });

  it('a per-call ttl overrides the cache ttl, longer or shorter', () => {
    const cache = new Cache<string, number>({ max: 100, ttl: 1000, policy });
    cache.set('short', 1, { ttl: 100 });
    cache.set('long', 2, { ttl: 10_000 });
    cache.set('default', 3);
    vi.advanceTimersByTime(101);
    expect(cache.get('short')).toBeUndefined();
    expect(cache.get('default')).toBe(3);
    vi.advanceTimersByTime(1000);
    expect(cache.get('default')).toBeUndefined();
    expect(cache.get('long')).toBe(2);
    vi.advanceTimersByTime(9000);
    expect(cache.get('long')).toBeUndefined();
  });

  it('a per-call ttl works on a cache without ttl', () => {
    const cache = new Cache<string, number>({ max: 100, policy });
    cache.set('a', 1, { ttl: '1s' });
    cache.set('b', 2);
    vi.advanceTimersByTime(1001);
    expect(cache.get('a')).toBeUndefined();
    expect(cache.get('b')).toBe(2);
  });

  it('set again restarts the TTL', () => {
    const cache = new Cache<string, number>({ max: 100, ttl: 1000, policy });
    cache.set('a', 1);
    vi.advanceTimersByTime(800);
    cache.set('a', 2);
    vi.advanceTimersByTime(800);
    expect(cache.get('a')).toBe(2);
    vi.advanceTimersByTime(201);
    expect(cache.get('a')).toBeUndefined();
  });

  // Spec silent: a demanding user expects the TTL to count from set, not from the last read
  // (no sliding expiration), as in lru-cache's default.
  it('reading does not extend the TTL', () => {
    const cache = new Cache<string, number>({ max: 100, ttl: 1000, policy });
    cache.set('a', 1);
    for (let i = 0; i < 9; i++) {
      vi.advanceTimersByTime(100);
      expect(cache.get('a')).toBe(1);
    }
    vi.advanceTimersByTime(101);
    expect(cache.get('a')).toBeUndefined();
  });

  it.each([
    ['250ms', 250],
    ['30s', 30_000],
    ['5m', 5 * 60_000],
    ['2h', 2 * 3_600_000],
    ['1d', 86_400_000],
    ['1.5s', 1500],
    [250, 250],
  ] as Array<[Duration, number]>)('ttl %s means %i ms', (ttl, ms) => {
    const cache = new Cache<string, number>({ max: 100, ttl, policy });
    cache.set('a', 1);
    cache.set('b', 2, { ttl });
    vi.advanceTimersByTime(ms - 1);
    expect(cache.get('a')).toBe(1);
    expect(cache.get('b')).toBe(2);
    vi.advanceTimersByTime(2);
    expect(cache.get('a')).toBeUndefined();
    expect(cache.get('b')).toBeUndefined();
  });

  it('an expired key can be set again and is fresh', () => {
    const cache = new Cache<string, number>({ max: 100, ttl: 1000, policy });
    cache.set('a', 1);
    vi.advanceTimersByTime(1500);
    expect(cache.get('a')).toBeUndefined();
    cache.set('a', 2);
    expect(cache.get('a')).toBe(2);
    expect(cache.size).toBe(1);
  });

  it('a failed set with a bad per-call ttl leaves the old value', () => {
    const cache = new Cache<string, number>({ max: 100, ttl: 1000, policy });
    cache.set('a', 1);
    expect(() => cache.set('a', 2, { ttl: -5 })).toThrow(/ttl/);
    expect(cache.get('a')).toBe(1);
    vi.advanceTimersByTime(1001);
    expect(cache.get('a')).toBeUndefined();
  });

  it('non-string keys follow Map semantics under the policy (objects by identity, NaN, symbols, bigint)', () => {
    const cache = new Cache<object | number | symbol | bigint, string>({ max: 3, policy });
    const o1 = { id: 1 };
    const o2 = { id: 1 };
    const sym = Symbol('k');
    cache.set(o1, 'o1').set(o2, 'o2');
    expect(cache.get(o1)).toBe('o1');
    expect(cache.get(o2)).toBe('o2');
    expect(cache.get({ id: 1 })).toBeUndefined();
    cache.clear();
    cache.set(Number.NaN, 'nan').set(sym, 'sym').set(10n, 'big');
    expect(cache.get(Number.NaN)).toBe('nan');
    expect(cache.get(sym)).toBe('sym');
    expect(cache.get(10n)).toBe('big');
    expect(cache.get(Symbol('k'))).toBeUndefined();
    // Many object keys through a small cache: the policy must cope with keys it cannot hash by value.
    for (let i = 0; i < 200; i++) {
      const key = { i };
      cache.set(key, `v${i}`);
      expect(cache.size).toBeLessThanOrEqual(3);
    }
  });

  it('a ttl longer than the 32-bit timer limit (30 days) works', () => {
    const cache = new Cache<string, number>({ max: 100, ttl: '30d', policy });
    cache.set('a', 1);
    cache.set('b', 2, { ttl: '25d' });
    vi.advanceTimersByTime(86_400_000);
    expect(cache.get('a')).toBe(1);
    expect(cache.get('b')).toBe(2);
    vi.advanceTimersByTime(29 * 86_400_000 + 1);
    expect(cache.get('a')).toBeUndefined();
    expect(cache.get('b')).toBeUndefined();
  });
});

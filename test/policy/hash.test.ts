import { describe, expect, it } from 'vitest';
import { hashKey, hashNumber, hashString } from '../../src/policy/hash.js';

describe('hashString', () => {
  it('is deterministic and 32-bit', () => {
    expect(hashString('user:1')).toBe(hashString('user:1'));
    expect(Number.isInteger(hashString('x'))).toBe(true);
    expect(hashString('x') | 0).toBe(hashString('x'));
  });

  it('tells apart keys that differ anywhere, including the middle', () => {
    expect(hashString('user:1234:profile')).not.toBe(hashString('user:1235:profile'));
    expect(hashString('ab')).not.toBe(hashString('ba'));
    expect(hashString('')).not.toBe(hashString('\u0000'));
  });

  it('counts every code unit of odd and even lengths, a trailing NUL included', () => {
    expect(hashString('a')).not.toBe(hashString('a\u0000'));
    expect(hashString('ab')).not.toBe(hashString('ab\u0000'));
    expect(hashString('abc')).not.toBe(hashString('abd'));
    expect(hashString('abcd')).not.toBe(hashString('abce'));
    expect(hashString('\u{1F600}x')).not.toBe(hashString('\u{1F601}x'));
  });

  it('spreads typical cache keys with few collisions', () => {
    const seen = new Set<number>();
    for (let i = 0; i < 50_000; i++) seen.add(hashString(`tenant:${i % 7}:user:${i}`));
    expect(seen.size).toBeGreaterThan(49_990);
  });
});

describe('hashNumber', () => {
  it('agrees with Map key equality for 0, -0 and NaN', () => {
    expect(hashNumber(-0)).toBe(hashNumber(0));
    expect(hashNumber(Number.NaN)).toBe(hashNumber(0 / 0));
  });

  it('keeps 32-bit integers and hashes other numbers by their bits', () => {
    expect(hashNumber(12345)).toBe(12345);
    expect(hashNumber(-7)).toBe(-7);
    expect(hashNumber(0.5)).not.toBe(hashNumber(0.25));
    expect(hashNumber(2 ** 40)).not.toBe(hashNumber(2 ** 40 + 1));
    expect(hashNumber(Number.POSITIVE_INFINITY)).not.toBe(hashNumber(Number.NEGATIVE_INFINITY));
  });
});

describe('hashKey', () => {
  it('dispatches strings and numbers to their hashes', () => {
    expect(hashKey('abc')).toBe(hashString('abc'));
    expect(hashKey(3.5)).toBe(hashNumber(3.5));
  });

  it('gives each object a stable identity hash', () => {
    const a = { id: 1 };
    const b = { id: 1 };
    const f = () => 0;
    expect(hashKey(a)).toBe(hashKey(a));
    expect(hashKey(a)).not.toBe(hashKey(b));
    expect(hashKey(f)).toBe(hashKey(f));
    expect(hashKey([1])).not.toBe(hashKey([1]));
  });

  it('hashes bigints, symbols and booleans consistently', () => {
    expect(hashKey(10n)).toBe(hashKey(10n));
    expect(hashKey(10n)).not.toBe(hashKey(11n));
    const s = Symbol('k');
    expect(hashKey(s)).toBe(hashKey(s));
    expect(hashKey(true)).not.toBe(hashKey(false));
    expect(hashKey(null)).toBe(hashKey(null));
    expect(hashKey(undefined)).toBe(0);
  });
});

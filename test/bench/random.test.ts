import { describe, expect, it } from 'vitest';
import { keyOf, mulberry32, permutation, zipfSampler, zipfSequence } from '../../bench/lib/random.js';

describe('mulberry32', () => {
  it('is deterministic per seed and stays in [0, 1)', () => {
    const a = mulberry32(1);
    const b = mulberry32(1);
    const c = mulberry32(2);
    const xs = Array.from({ length: 1000 }, () => a());
    expect(Array.from({ length: 1000 }, () => b())).toEqual(xs);
    expect(c()).not.toBe(xs[0]);
    for (const x of xs) {
      expect(x).toBeGreaterThanOrEqual(0);
      expect(x).toBeLessThan(1);
    }
  });
});

describe('permutation', () => {
  it('holds every index once', () => {
    const p = permutation(1000, 3);
    expect([...p].sort((x, y) => x - y)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect([...p]).not.toEqual(Array.from({ length: 1000 }, (_, i) => i));
  });
  it('refuses a bad size', () => {
    expect(() => permutation(-1, 1)).toThrow(/n must be/);
  });
});

describe('zipfSampler', () => {
  it('draws rank r with probability proportional to 1 / (r + 1)^s', () => {
    const n = 100;
    const s = 0.99;
    const draw = zipfSampler(n, s, 11);
    const counts = new Array<number>(n).fill(0);
    const draws = 200_000;
    for (let i = 0; i < draws; i++) {
      const r = draw();
      counts[r] = (counts[r] ?? 0) + 1;
    }
    let h = 0;
    for (let r = 1; r <= n; r++) h += 1 / r ** s;
    for (const r of [0, 1, 9, 99]) {
      const expected = 1 / (r + 1) ** s / h;
      expect((counts[r] as number) / draws).toBeCloseTo(expected, 2);
    }
  });
  it('is uniform for s = 0 and stays in range', () => {
    const draw = zipfSampler(4, 0, 5);
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 40_000; i++) {
      const r = draw();
      counts[r] = (counts[r] ?? 0) + 1;
    }
    for (const c of counts) expect(c / 40_000).toBeCloseTo(0.25, 1);
  });
  it('refuses bad parameters', () => {
    expect(() => zipfSampler(0, 1, 1)).toThrow(/n must be/);
    expect(() => zipfSampler(10, -1, 1)).toThrow(/s must be/);
  });
});

describe('zipfSequence', () => {
  it('is deterministic, in range, and spreads the popular items over the key space', () => {
    const a = zipfSequence(1000, 0.99, 50_000, 7);
    expect(Buffer.from(zipfSequence(1000, 0.99, 50_000, 7).buffer).equals(Buffer.from(a.buffer))).toBe(true);
    const counts = new Map<number, number>();
    for (const x of a) {
      expect(x).toBeLessThan(1000);
      counts.set(x, (counts.get(x) ?? 0) + 1);
    }
    const top = [...counts.entries()].sort((x, y) => y[1] - x[1])[0] as [number, number];
    // the most popular item is not simply item 0, and it takes about 1/H(1000, 0.99) of the draws (~13%)
    expect(top[0]).not.toBe(0);
    expect(top[1] / a.length).toBeGreaterThan(0.1);
    expect(top[1] / a.length).toBeLessThan(0.16);
  });
});

describe('keyOf', () => {
  it('makes short string keys', () => {
    expect(keyOf(42)).toBe('item:42');
  });
});

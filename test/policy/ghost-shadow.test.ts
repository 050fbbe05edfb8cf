import { describe, expect, it } from 'vitest';
import { Ghost } from '../../src/policy/ghost.js';
import { ShadowLru } from '../../src/policy/shadow-lru.js';

describe('Ghost', () => {
  it('tells how many events ago a key left, within its capacity', () => {
    const ghost = new Ghost(3);
    ghost.record(10, 1);
    ghost.record(20, 2);
    expect(ghost.distance(10, 5)).toBe(4);
    expect(ghost.distance(30, 5)).toBe(Number.POSITIVE_INFINITY);
    ghost.record(30, 3);
    ghost.record(40, 4); // pushes out 10
    expect(ghost.distance(10, 5)).toBe(Number.POSITIVE_INFINITY);
    expect(ghost.distance(20, 5)).toBe(3);
  });

  it('keeps the latest stamp of a key recorded twice', () => {
    const ghost = new Ghost(2);
    ghost.record(1, 1);
    ghost.record(1, 2);
    ghost.record(2, 3); // overwrites the first record of 1, not the second
    expect(ghost.distance(1, 3)).toBe(1);
    ghost.forget(1);
    expect(ghost.distance(1, 3)).toBe(Number.POSITIVE_INFINITY);
    ghost.clear();
    expect(ghost.distance(2, 3)).toBe(Number.POSITIVE_INFINITY);
  });
});

describe('ShadowLru', () => {
  it('hits what plain LRU of its capacity would hold', () => {
    const lru = new ShadowLru(2);
    expect(lru.access(1)).toBe(false);
    expect(lru.access(2)).toBe(false);
    expect(lru.access(1)).toBe(true);
    expect(lru.access(3)).toBe(false); // evicts 2
    expect(lru.access(2)).toBe(false); // evicts 1
    expect(lru.access(3)).toBe(true);
    expect(lru.access(1)).toBe(false);
  });
});

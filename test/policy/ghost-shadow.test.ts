import fc from 'fast-check';
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

describe('Ghost against a Map model', () => {
  it('answers distance like a Map of each hash to its latest stamp, over the last `capacity` records', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.array(
          fc.record({
            op: fc.constantFrom('record', 'record', 'record', 'forget', 'clear'),
            // Repeated small hashes (repeats in the ring), any int32 (probe runs across the table's end).
            hash: fc.oneof(
              fc.integer({ min: -20, max: 20 }),
              fc.integer(),
              fc.constantFrom(-(2 ** 31), 2 ** 31 - 1),
            ),
          }),
          { maxLength: 400 },
        ),
        (capacity, ops) => {
          const ghost = new Ghost(capacity);
          const seen = new Map<number, number>();
          const ring: [number, number][] = [];
          const touched = new Set<number>();
          let now = 0;
          for (const { op, hash } of ops) {
            now++;
            touched.add(hash);
            if (op === 'record') {
              if (ring.length === capacity) {
                const [old, stamp] = ring.shift() as [number, number];
                if (seen.get(old) === stamp) seen.delete(old);
              }
              ring.push([hash, now]);
              seen.set(hash, now);
              ghost.record(hash, now);
            } else if (op === 'forget') {
              seen.delete(hash);
              ghost.forget(hash);
            } else {
              seen.clear();
              ring.length = 0;
              ghost.clear();
            }
            for (const h of touched) {
              const stamp = seen.get(h);
              const expected = stamp === undefined ? Number.POSITIVE_INFINITY : now + 1 - stamp;
              expect(ghost.distance(h, now + 1)).toBe(expected);
            }
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

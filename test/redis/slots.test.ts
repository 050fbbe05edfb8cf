/** The slot-group key layout of the tier on a Redis Cluster (src/redis/slots.ts), without Redis. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { valueSuffix } from '../../src/redis/keys.js';
import { asciiSlot, GROUPS, KeyLayout } from '../../src/redis/slots.js';

describe('KeyLayout', () => {
  it('computes Redis Cluster hash slots (CRC16/XMODEM mod 16384)', () => {
    // The check value of CRC16/XMODEM, as in the Redis Cluster specification.
    expect(asciiSlot('123456789')).toBe(0x31c3);
    expect(asciiSlot('')).toBe(0);
  });

  it('spreads the group tags evenly over the slots: 16 groups per third of the slots', () => {
    const layout = new KeyLayout('larder:', true);
    expect(layout.groups).toHaveLength(GROUPS);
    const thirds = [0, 0, 0];
    for (const group of layout.groups) {
      expect(group.startsWith('larder:{')).toBe(true);
      expect(group.endsWith('}')).toBe(true);
      const slot = asciiSlot(group.slice('larder:{'.length, -1));
      const third = Math.min(2, Math.floor(slot / (16384 / 3)));
      thirds[third] = (thirds[third] ?? 0) + 1;
    }
    expect(thirds).toEqual([16, 16, 16]);
  });

  it('puts keys in groups evenly and finds the group of a Redis key again', () => {
    const layout = new KeyLayout('p:', true);
    const counts = new Array<number>(GROUPS).fill(0);
    for (let i = 0; i < 48_000; i++) {
      const g = layout.groupOf(`user:${i}`);
      counts[g] = (counts[g] ?? 0) + 1;
      if (i % 1000 === 0) expect(layout.groupOfRedisKey(`${layout.groups[g]}v:user:${i}`)).toBe(g);
    }
    for (const n of counts) expect(n).toBeGreaterThan(800);
    const g0 = layout.groups[0] as string;
    const g5 = layout.groups[5] as string;
    const split = layout.split([`${g0}v:a`, `${g5}v:b`, `${g0}v:c`], [1, 2, 3]);
    expect(split).toEqual([
      [0, [`${g0}v:a`, `${g0}v:c`], [1, 3]],
      [5, [`${g5}v:b`], [2]],
    ]);
  });

  it('keeps the standalone layout: one group, the bare prefix', () => {
    const layout = new KeyLayout('larder:', false);
    expect(layout.groups).toEqual(['larder:']);
    expect(layout.groupOf('anything')).toBe(0);
    expect(layout.split(['a', 'b'], [1, 2])).toEqual([[0, ['a', 'b'], [1, 2]]]);
  });

  it('gives back the cache key of a Redis entry key, on a cluster and standalone, whatever the key', () => {
    // The replay announces the keys it deleted by their cache keys (src/redis/replay.ts).
    const layouts = [new KeyLayout('p:', true), new KeyLayout('larder:', false), new KeyLayout('', true)];
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.constantFrom(...layouts), (key, layout) => {
        const rkey = (layout.groups[layout.groupOf(key)] as string) + valueSuffix(key);
        expect(layout.cacheKeyOf(rkey)).toBe(key);
      }),
      { numRuns: 2000 },
    );
    const cluster = layouts[0] as KeyLayout;
    for (const key of ['{x}v:y', 'lone \uD800 surrogate', '']) {
      expect(cluster.cacheKeyOf((cluster.groups[cluster.groupOf(key)] as string) + valueSuffix(key))).toBe(
        key,
      );
    }
  });
});

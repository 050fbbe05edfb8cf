import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Ghost, GhostRegion } from '../../src/policy/ghost.js';
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

  it('near is distance within a horizon, else -1, on any history (also before the first record)', () => {
    expect(new Ghost(4).near(1, 0, 10)).toBe(-1);
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.array(fc.tuple(fc.integer({ min: -20, max: 20 }), fc.boolean()), { maxLength: 300 }),
        fc.integer({ min: 0, max: 50 }),
        (capacity, ops, horizon) => {
          const ghost = new Ghost(capacity);
          let now = 0;
          for (const [hash, record] of ops) {
            now += 1 + (hash & 3);
            if (record) ghost.record(hash, now);
            const d = ghost.distance(hash, now + 2);
            expect(ghost.near(hash, now + 2, horizon)).toBe(d <= horizon ? d : -1);
          }
        },
      ),
    );
  });
});

describe('Ghost regions', () => {
  it('the two regions remember as two separate memories would', () => {
    type Op =
      | { kind: 'record' | 'forget'; region: number; hash: number }
      | { kind: 'clear' | 'advance'; region: number };
    const region = fc.constantFrom(GhostRegion.WINDOW, GhostRegion.MAIN);
    const hash = fc.integer({ min: -30, max: 30 });
    const op: fc.Arbitrary<Op> = fc.oneof(
      {
        weight: 8,
        arbitrary: fc.tuple(region, hash).map(([r, h]) => ({ kind: 'record' as const, region: r, hash: h })),
      },
      {
        weight: 1,
        arbitrary: fc.tuple(region, hash).map(([r, h]) => ({ kind: 'forget' as const, region: r, hash: h })),
      },
      { weight: 1, arbitrary: region.map((r) => ({ kind: 'advance' as const, region: r })) },
      { weight: 1, arbitrary: fc.constant({ kind: 'clear' as const, region: GhostRegion.WINDOW }) },
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 30 }), fc.array(op, { maxLength: 300 }), (capacity, ops) => {
        const shared = new Ghost(capacity);
        const apart = [new Ghost(capacity), new Ghost(capacity)];
        const now = [0, 0];
        for (const o of ops) {
          const alone = apart[o.region] as Ghost;
          if (o.kind === 'record') {
            now[o.region]! += 1 + (o.hash & 1);
            shared.record(o.hash, now[o.region]!, o.region);
            alone.record(o.hash, now[o.region]!);
          } else if (o.kind === 'forget') {
            shared.forget(o.hash, o.region);
            alone.forget(o.hash);
          } else if (o.kind === 'advance') {
            shared.advance(capacity, o.region);
            alone.advance(capacity);
          } else {
            shared.clear();
            for (const g of apart) g.clear();
          }
          for (let h = -30; h <= 30; h++) {
            for (const r of [GhostRegion.WINDOW, GhostRegion.MAIN]) {
              expect(shared.distance(h, now[r]! + 1, r)).toBe((apart[r] as Ghost).distance(h, now[r]! + 1));
            }
          }
        }
      }),
      { numRuns: 150 },
    );
  });

  it('vote goes to the window when both regions remember the key at the same distance', () => {
    const ghost = new Ghost(8);
    ghost.record(5, 3, GhostRegion.WINDOW);
    ghost.record(5, 7, GhostRegion.MAIN);
    expect(ghost.vote(5, 5, 9, 10)).toBe(1); // 2 events ago in both
    expect(ghost.vote(5, 6, 9, 10)).toBe(-1); // main's is nearer
    expect(ghost.vote(5, 5, 20, 10)).toBe(1); // main's is beyond the horizon
    expect(ghost.vote(6, 5, 9, 10)).toBe(0);
  });

  it.each([GhostRegion.WINDOW, GhostRegion.MAIN])(
    'region %i forgets the keys of both slots of a bucket after 2^32 records elsewhere',
    (region) => {
      // Capacity 4: 8 buckets (the top 3 bits of the hash times the golden ratio), two slots each per region.
      const bucket = (h: number) => Math.imul(h, 0x9e3779b1) >>> 29;
      let twin = 2;
      while (bucket(twin) !== bucket(1)) twin++;
      const ghost = new Ghost(4);
      ghost.record(1, 1, region);
      ghost.record(twin, 2, region); // the other slot of the bucket
      expect(ghost.distance(twin, 3, region)).toBe(1);
      ghost.advance(2 ** 32 + 1, region); // without the sweeps, their ages would wrap round to 2 and 1
      expect(ghost.distance(1, 3, region)).toBe(Number.POSITIVE_INFINITY);
      expect(ghost.distance(twin, 3, region)).toBe(Number.POSITIVE_INFINITY);
    },
  );

  it("forget and clear age a region's slots by that region's own records", () => {
    for (const end of [(g: Ghost) => g.forget(9, GhostRegion.MAIN), (g: Ghost) => g.clear()]) {
      const ghost = new Ghost(8);
      ghost.record(9, 1, GhostRegion.MAIN);
      // The window's records run 2^30 ahead of main's: marked stale by the window's count, main's slot would look
      // one record old.
      ghost.advance(2 ** 30, GhostRegion.WINDOW);
      end(ghost);
      expect(ghost.distance(9, 2, GhostRegion.MAIN)).toBe(Number.POSITIVE_INFINITY);
    }
  });

  it('vote is the window region hit unless main remembers the key nearer, from near in each region', () => {
    expect(new Ghost(4).vote(1, 0, 0, 10)).toBe(0);
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.array(fc.tuple(fc.integer({ min: -20, max: 20 }), fc.boolean(), fc.boolean()), { maxLength: 300 }),
        fc.integer({ min: 0, max: 50 }),
        (capacity, ops, horizon) => {
          const ghost = new Ghost(capacity);
          let window = 0;
          let main = 0;
          for (const [hash, record, inMain] of ops) {
            if (inMain) main += 1 + (hash & 1);
            else window += 1 + (hash & 3);
            if (record)
              ghost.record(hash, inMain ? main : window, inMain ? GhostRegion.MAIN : GhostRegion.WINDOW);
            const dw = ghost.near(hash, window + 1, horizon, GhostRegion.WINDOW);
            const dm = ghost.near(hash, main + 1, horizon, GhostRegion.MAIN);
            const expected = dw >= 0 && (dm < 0 || dw <= dm) ? 1 : dm >= 0 ? -1 : 0;
            expect(ghost.vote(hash, window + 1, main + 1, horizon)).toBe(expected);
          }
        },
      ),
    );
  });
});

describe('Ghost sampling', () => {
  const spread = (i: number) => Math.imul(i, 0x2545f491) ^ (i >>> 3);

  it('picks 1 in 4 keys for horizons of 256 or more, every key below', () => {
    expect([1, 128, 255, 256, 50_000].map((h) => Ghost.rateFor(h))).toEqual([1, 1, 1, 4, 4]);
  });

  it('samples by every bit of the hash: keys that differ only above their low bits are not all in or all out', () => {
    const ghost = new Ghost(1_000, 4);
    for (const step of [2 ** 16, 2 ** 18, 2 ** 20]) {
      let sampled = 0;
      for (let i = 0; i < 4_000; i++) if (ghost.sampled(Math.imul(i, step))) sampled++;
      expect(sampled).toBeGreaterThan(800);
      expect(sampled).toBeLessThan(1_200);
    }
  });

  it('remembers only the sampled keys, about 1 in rate, each vote counting rate times', () => {
    const ghost = new Ghost(40_000, 4);
    expect(ghost.rate).toBe(4);
    let sampled = 0;
    for (let i = 0; i < 10_000; i++) {
      const h = spread(i);
      ghost.record(h, i);
      const remembered = ghost.distance(h, i + 1) === 1;
      expect(remembered).toBe(ghost.sampled(h));
      expect(ghost.vote(h, i + 1, 0, 10)).toBe(remembered ? 4 : 0);
      if (remembered) sampled++;
    }
    expect(sampled).toBeGreaterThan(2_200);
    expect(sampled).toBeLessThan(2_800);
    // Every key is in the sample at rate 1, and a vote counts once.
    const all = new Ghost(8);
    all.record(spread(3), 1, GhostRegion.MAIN);
    expect(all.sampled(spread(3))).toBe(true);
    expect(all.vote(spread(3), 0, 2, 10)).toBe(-1);
  });

  it('still remembers a sampled key until its capacity in records of every key has passed', () => {
    // Records of 5,000 keys one after another, 1 in 4 of them kept: a sampled key recorded within the last 1,000
    // (the capacity) is remembered unless two younger keys took its bucket (a few percent); none is remembered
    // much longer (the room for the sample's spread, three deviations, is about a fifth here: 300 sampled records).
    const ghost = new Ghost(1_000, 4);
    const hashes = Array.from({ length: 5_000 }, (_, i) => spread(i + 17));
    hashes.forEach((h, i) => {
      ghost.record(h, i);
    });
    const now = hashes.length;
    let recent = 0;
    let kept = 0;
    let old = 0;
    hashes.forEach((h, i) => {
      if (!ghost.sampled(h)) return;
      if (now - i <= 1_000) {
        recent++;
        if (ghost.near(h, now, 1_000) >= 0) kept++;
      } else if (now - i > 1_300 && ghost.distance(h, now) !== Number.POSITIVE_INFINITY) old++;
    });
    // 259 of 260 here; without the room for the spread, 243 (and with twice the room, 151 older keys remembered).
    expect(kept / recent).toBeGreaterThan(0.98);
    expect(old).toBe(0);
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
  it('answers distance like a Map of each hash to its latest stamp, over the last `capacity` records, or forgets early', () => {
    // The table is two-way set-associative: a key whose bucket took two younger keys is lost early
    // (Infinity). Anything else (a wrong distance, a key remembered too long, a forgotten or cleared key
    // coming back) fails. Losses are counted and bounded below and in the next test.
    let answers = 0;
    let lost = 0;
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.array(
          fc.record({
            op: fc.constantFrom('record', 'record', 'record', 'forget', 'clear'),
            // Repeated small hashes (repeats in the ring), any int32.
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
              const got = ghost.distance(h, now + 1);
              if (got !== expected) {
                expect(got).toBe(Number.POSITIVE_INFINITY);
                lost++;
              }
              if (stamp !== undefined) answers++;
            }
          }
        },
      ),
      { numRuns: 300 },
    );
    expect(answers).toBeGreaterThan(200);
    expect(lost / answers).toBeLessThan(0.05);
  });

  it.each([5_000, 4_096])(
    'remembers almost every key of its last `capacity` records, and none older (capacity %i)',
    (capacity) => {
      const ghost = new Ghost(capacity);
      let x = 1;
      const hashes: number[] = [];
      for (let i = 1; i <= 4 * capacity; i++) {
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        hashes.push(x);
        ghost.record(x, i);
      }
      const now = 4 * capacity + 1;
      let remembered = 0;
      for (let i = 0; i < hashes.length; i++) {
        const d = ghost.distance(hashes[i]!, now);
        if (i < 3 * capacity) expect(d).toBe(Number.POSITIVE_INFINITY);
        else if (d !== Number.POSITIVE_INFINITY) {
          expect(d).toBe(now - (i + 1));
          remembered++;
        }
      }
      // Two slots per bucket, `Layout.SLOTS_PER_KEY` slots per key (exactly, at a power of two; 6.5 at 5,000): a few
      // percent are lost early.
      expect(remembered / capacity).toBeGreaterThan(0.94);
    },
  );

  it('forgets a key whose bucket saw no record for 2^32 records, and never revives an empty slot', () => {
    const ghost = new Ghost(4);
    ghost.record(7, 1);
    ghost.advance(2 ** 32 + 2); // without the sweeps, 7's age would wrap round to 3
    expect(ghost.distance(7, 2 ** 32 + 4)).toBe(Number.POSITIVE_INFINITY);
    // Slots never written hold hash 0 from the start.
    ghost.advance(3 * 2 ** 30 + 5);
    expect(ghost.distance(0, 5)).toBe(Number.POSITIVE_INFINITY);
    ghost.record(0, 9);
    expect(ghost.distance(0, 10)).toBe(1);
  });

  it('keeps a key it still remembers across a sweep', () => {
    const ghost = new Ghost(100);
    ghost.record(1, 1); // allocates the table
    ghost.advance(2 ** 30 - 4); // the next sweep is three records away
    ghost.record(5, 10);
    ghost.advance(5);
    expect(ghost.distance(5, 16)).toBe(6);
  });

  it('keeps counting across 2^32 events (stamps and sequence numbers wrap)', () => {
    const ghost = new Ghost(4);
    const base = 2 ** 32 - 2;
    ghost.record(7, base);
    ghost.record(8, base + 1);
    ghost.record(9, base + 3); // past 2^32
    expect(ghost.distance(7, base + 5)).toBe(5);
    expect(ghost.distance(9, base + 5)).toBe(2);
  });
});

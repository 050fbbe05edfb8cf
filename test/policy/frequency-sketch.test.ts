import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AddResult, FrequencySketch } from '../../src/policy/frequency-sketch.js';

describe('FrequencySketch', () => {
  it('does nothing until it has a capacity', () => {
    const sketch = new FrequencySketch();
    expect(sketch.initialized).toBe(false);
    sketch.increment(42);
    sketch.add(42, 5);
    sketch.tick();
    expect(sketch.frequency(42)).toBe(0);
    expect(sketch.size).toBe(0);
  });

  it('counts increments of a key up to 15', () => {
    const sketch = new FrequencySketch(1000);
    for (let i = 1; i <= 15; i++) {
      expect(sketch.increment(7)).toBe(true);
      expect(sketch.frequency(7)).toBe(i);
    }
    expect(sketch.increment(7)).toBe(false); // saturated: nothing changed
    expect(sketch.frequency(7)).toBe(15);
    expect(sketch.frequency(8)).toBe(0);
  });

  it('never underestimates a key seen fewer than 16 times (count-min)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 300 }), { maxLength: 2000 }), (keys) => {
        const sketch = new FrequencySketch(256); // 2560 increments before aging: no aging here
        const counts = new Map<number, number>();
        for (const k of keys) {
          sketch.increment(k);
          counts.set(k, (counts.get(k) ?? 0) + 1);
        }
        for (const [k, n] of counts) expect(sketch.frequency(k)).toBeGreaterThanOrEqual(Math.min(n, 15));
      }),
      { numRuns: 50 },
    );
  });

  it('estimates distinct keys mostly exactly when it is not overloaded', () => {
    const sketch = new FrequencySketch(4096);
    for (let k = 0; k < 1000; k++) for (let j = 0; j < k % 5; j++) sketch.increment(k * 2654435761);
    let exact = 0;
    for (let k = 0; k < 1000; k++) if (sketch.frequency(k * 2654435761) === k % 5) exact++;
    expect(exact).toBeGreaterThan(950);
  });

  it('halves every counter after sampleSize increments (aging) and bumps the epoch', () => {
    const sketch = new FrequencySketch(256);
    expect(sketch.sampleSize).toBe(2560);
    for (let i = 0; i < 15; i++) sketch.increment(1);
    for (let i = 0; i < 9; i++) sketch.increment(2);
    const epoch = sketch.epoch;
    let other = 1000;
    while (sketch.epoch === epoch) sketch.increment(other++);
    expect(sketch.frequency(1)).toBeLessThanOrEqual(8);
    expect(sketch.frequency(1)).toBeGreaterThanOrEqual(7);
    expect(sketch.frequency(2)).toBeGreaterThanOrEqual(4);
    expect(sketch.frequency(2)).toBeLessThanOrEqual(5);
    expect(sketch.size).toBeLessThan(sketch.sampleSize / 2 + 1);
  });

  it('reset() halves counters directly', () => {
    const sketch = new FrequencySketch(256);
    for (let i = 0; i < 6; i++) sketch.increment(99);
    sketch.reset();
    expect(sketch.frequency(99)).toBe(3);
  });

  it('calls beforeReset before halving', () => {
    const sketch = new FrequencySketch(256);
    const seen: number[] = [];
    sketch.beforeReset = () => {
      seen.push(sketch.frequency(5));
      sketch.add(5, 4, false);
    };
    sketch.add(5, 2);
    sketch.reset();
    expect(seen).toEqual([2]);
    expect(sketch.frequency(5)).toBe(3); // (2 + 4) / 2
  });

  it('add() adds several occurrences at once, saturating, and counts them toward aging', () => {
    const sketch = new FrequencySketch(256);
    expect(sketch.add(3, 10)).toBe(AddResult.CHANGED);
    expect(sketch.frequency(3)).toBe(10);
    expect(sketch.size).toBe(10);
    expect(sketch.add(3, 10, false)).toBe(AddResult.CHANGED | AddResult.SATURATED);
    expect(sketch.frequency(3)).toBe(15);
    expect(sketch.size).toBe(10);
    expect(sketch.add(3, 1)).toBe(AddResult.SATURATED);
    expect(sketch.size).toBe(10);
    expect(sketch.add(4, 0)).toBe(0);
  });

  it('tick() counts toward aging without touching counters', () => {
    const sketch = new FrequencySketch(256);
    sketch.increment(11);
    const epoch = sketch.epoch;
    for (let i = 0; i < sketch.sampleSize; i++) sketch.tick();
    expect(sketch.epoch).toBe(epoch + 1);
    expect(sketch.frequency(11)).toBe(0); // 1 halved
  });

  it('ensureCapacity grows (forgetting counts) and ignores smaller requests', () => {
    const sketch = new FrequencySketch(300);
    expect(sketch.capacity).toBe(512);
    sketch.increment(1);
    sketch.ensureCapacity(100);
    expect(sketch.frequency(1)).toBe(1);
    sketch.ensureCapacity(5000);
    expect(sketch.capacity).toBe(8192);
    expect(sketch.frequency(1)).toBe(0);
    expect(() => sketch.ensureCapacity(-1)).toThrow(RangeError);
  });

  it('clear() zeroes every counter', () => {
    const sketch = new FrequencySketch(256);
    sketch.increment(1);
    sketch.clear();
    expect(sketch.frequency(1)).toBe(0);
    expect(sketch.size).toBe(0);
  });

  it("a watched key's estimate holds while watchedChanged reads false, whatever writes come between", () => {
    // Few blocks (256 entries: 32 blocks of 16 words), so that writes often land in the watched block.
    type Op =
      | { kind: 'increment'; hash: number }
      | { kind: 'add'; hash: number; count: number; counted: boolean }
      | { kind: 'watch'; hash: number }
      | { kind: 'read'; hash: number }
      | { kind: 'reset' | 'clear' | 'grow' };
    // Mostly a few keys, so that writes often land on the watched key's own counters; some from anywhere.
    const hash = fc.oneof(
      { weight: 4, arbitrary: fc.integer({ min: 0, max: 12 }) },
      { weight: 1, arbitrary: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }) },
    );
    const op: fc.Arbitrary<Op> = fc.oneof(
      { weight: 6, arbitrary: hash.map((h) => ({ kind: 'increment' as const, hash: h })) },
      {
        weight: 3,
        arbitrary: fc
          .tuple(hash, fc.integer({ min: 0, max: 15 }), fc.boolean())
          .map(([h, count, counted]) => ({ kind: 'add' as const, hash: h, count, counted })),
      },
      { weight: 2, arbitrary: hash.map((h) => ({ kind: 'watch' as const, hash: h })) },
      { weight: 2, arbitrary: hash.map((h) => ({ kind: 'read' as const, hash: h })) },
      {
        weight: 1,
        arbitrary: fc.constantFrom(
          { kind: 'reset' as const },
          { kind: 'clear' as const },
          { kind: 'grow' as const },
        ),
      },
    );
    let quietWrites = 0;
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 400 }), (ops) => {
        const sketch = new FrequencySketch(256);
        let capacity = 256;
        let watched: { hash: number; estimate: number } | undefined;
        for (const o of ops) {
          if (o.kind === 'increment') sketch.increment(o.hash);
          else if (o.kind === 'add') sketch.add(o.hash, o.count, o.counted);
          else if (o.kind === 'watch') watched = { hash: o.hash, estimate: sketch.frequency(o.hash, true) };
          else if (o.kind === 'read')
            sketch.frequency(o.hash); // reading without `watch` keeps the watch
          else if (o.kind === 'reset') sketch.reset();
          else if (o.kind === 'clear') sketch.clear();
          else {
            capacity *= 2;
            sketch.ensureCapacity(capacity);
          }
          if (watched !== undefined && !sketch.watchedChanged) {
            expect(sketch.frequency(watched.hash)).toBe(watched.estimate);
            if (o.kind === 'increment' || o.kind === 'add') quietWrites++;
          }
        }
      }),
      { numRuns: 300 },
    );
    // Writes to other blocks leave the watch alone (else the store could never reuse an estimate).
    expect(quietWrites).toBeGreaterThan(100);
  });

  it('watchedChanged reads true until a key is watched, and after every aging, clear and reallocation', () => {
    const sketch = new FrequencySketch(256);
    expect(sketch.watchedChanged).toBe(true);
    for (const end of [() => sketch.reset(), () => sketch.clear(), () => sketch.ensureCapacity(4096)]) {
      sketch.frequency(7, true);
      expect(sketch.watchedChanged).toBe(false);
      end();
      expect(sketch.watchedChanged).toBe(true);
    }
  });
});

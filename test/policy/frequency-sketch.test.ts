import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ADD_CHANGED, ADD_SATURATED, FrequencySketch } from '../../src/policy/frequency-sketch.js';

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
    expect(sketch.add(3, 10)).toBe(ADD_CHANGED);
    expect(sketch.frequency(3)).toBe(10);
    expect(sketch.size).toBe(10);
    expect(sketch.add(3, 10, false)).toBe(ADD_CHANGED | ADD_SATURATED);
    expect(sketch.frequency(3)).toBe(15);
    expect(sketch.size).toBe(10);
    expect(sketch.add(3, 1)).toBe(ADD_SATURATED);
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
});

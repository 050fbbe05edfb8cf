import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createStore } from '../../src/policy/create-store.js';
import { LruStore } from '../../src/policy/lru-store.js';
import type { StoreOptions } from '../../src/policy/store.js';
import { TinyLfuStore, type TinyLfuTuning } from '../../src/policy/tinylfu-store.js';

type Evicted = [key: unknown, value: unknown][];

function make<K, V>(
  bounds: { max?: number; maxSize?: number },
  evicted: Evicted = [],
  tuning?: TinyLfuTuning,
): TinyLfuStore<K, V> {
  return new TinyLfuStore<K, V>(
    { max: bounds.max, maxSize: bounds.maxSize, onEvict: (k, v) => evicted.push([k, v]) },
    tuning,
  );
}

/** A seeded xorshift32 generator of unsigned 32-bit integers. */
function xorshift(seed: number): () => number {
  let x = seed;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
}

describe('TinyLfuStore: options', () => {
  const onEvict = () => {};
  it.each([
    [{ max: 0, maxSize: undefined }, RangeError, /max must be a positive integer/],
    [{ max: 1.5, maxSize: undefined }, RangeError, /max must be/],
    [{ max: undefined, maxSize: -1 }, RangeError, /maxSize must be a positive integer/],
    [{ max: undefined, maxSize: Number.NaN }, RangeError, /maxSize/],
    [{ max: undefined, maxSize: undefined }, TypeError, /max or maxSize is required/],
  ])('rejects %o', (bounds, type, message) => {
    expect(() => new TinyLfuStore({ ...bounds, onEvict })).toThrow(type);
    expect(() => new TinyLfuStore({ ...bounds, onEvict })).toThrow(message);
  });

  it('requires an onEvict function and sane tuning', () => {
    expect(() => new TinyLfuStore({ max: 1, maxSize: undefined, onEvict: 1 as never })).toThrow(/onEvict/);
    expect(() => new TinyLfuStore({ max: 1, maxSize: undefined, onEvict }, { window: 2 })).toThrow(
      /tuning.window/,
    );
    expect(
      () => new TinyLfuStore({ max: 1, maxSize: undefined, onEvict }, { climber: 'x' as never }),
    ).toThrow(/tuning.climber/);
    expect(
      () => new TinyLfuStore({ max: 1, maxSize: undefined, onEvict }, { promotion: 'never' as never }),
    ).toThrow(/tuning.promotion/);
  });

  it('rejects a weight that is not a positive integer when weighted', () => {
    const store = make<string, number>({ maxSize: 10 });
    expect(() => store.set('a', 1, 0)).toThrow(/weight must be a positive integer/);
    expect(() => store.set('a', 1, 1.5)).toThrow(RangeError);
    // Unweighted stores ignore the weight argument.
    const counted = make<string, number>({ max: 10 });
    counted.set('a', 1, Number.NaN);
    expect(counted.get('a')).toBe(1);
    expect(counted.weight).toBe(0);
  });
});

describe('TinyLfuStore: basic operations', () => {
  it('gets, peeks, checks, deletes and clears', () => {
    const store = make<string, number>({ max: 10 });
    store.set('a', 1, 1);
    store.set('b', 2, 1);
    expect(store.get('a')).toBe(1);
    expect(store.peek('b')).toBe(2);
    expect(store.has('b')).toBe(true);
    expect(store.has('c')).toBe(false);
    expect(store.get('c')).toBeUndefined();
    expect(store.size).toBe(2);
    store.set('a', 3, 1);
    expect(store.get('a')).toBe(3);
    expect(store.size).toBe(2);
    expect(store.delete('a')).toBe(true);
    expect(store.delete('a')).toBe(false);
    expect(store.has('a')).toBe(false);
    store.clear();
    expect(store.size).toBe(0);
    expect([...store.keys()]).toEqual([]);
    store.set('z', 26, 1);
    expect(store.get('z')).toBe(26);
  });

  it('lists keys and entries, the most recent window entry first', () => {
    const store = make<string, number>({ max: 100 });
    for (let i = 0; i < 50; i++) store.set(`k${i}`, i, 1);
    const keys = [...store.keys()];
    expect(keys[0]).toBe('k49');
    expect(new Set(keys)).toEqual(new Set(Array.from({ length: 50 }, (_, i) => `k${i}`)));
    expect(new Map(store.entries())).toEqual(new Map(Array.from({ length: 50 }, (_, i) => [`k${i}`, i])));
  });

  it('iterates safely while entries are deleted, skipping the deleted ones', () => {
    const store = make<number, number>({ max: 100 });
    for (let i = 0; i < 20; i++) store.set(i, i, 1);
    const seen: number[] = [];
    for (const k of store.keys()) {
      expect(store.has(k)).toBe(true);
      seen.push(k);
      store.delete(k - 1); // comes later in the iteration order
    }
    expect(seen.length).toBeLessThan(20);
    expect(store.size).toBe(seen.length);
  });

  it('holds any key type (objects by identity, NaN, -0)', () => {
    const store = make<unknown, string>({ max: 10 });
    const a = { id: 1 };
    store.set(a, 'object', 1);
    store.set(Number.NaN, 'nan', 1);
    store.set(-0, 'zero', 1);
    store.set(1n, 'bigint', 1);
    expect(store.get(a)).toBe('object');
    expect(store.get({ id: 1 })).toBeUndefined();
    expect(store.get(Number.NaN)).toBe('nan');
    expect(store.get(0)).toBe('zero');
    expect(store.get(1n)).toBe('bigint');
  });

  it('starts with a 1% window', () => {
    expect(make({ max: 1000 }).windowFraction).toBe(0.01);
  });

  it("samples 1 in 4 of its ghosts' keys from 5,110 entries (a horizon of 256), keeps every key below", () => {
    expect([1000, 5109, 5110, 1_000_000].map((max) => make({ max }).ghostSampleRate)).toEqual([1, 1, 4, 4]);
    // A weight-bounded store has its capacity, and its ghosts, only once it evicts.
    const weighted = make<number, number>({ maxSize: 20_000 });
    expect(weighted.ghostSampleRate).toBe(0);
    for (let i = 0; i <= 20_000; i++) weighted.set(i, i, 1);
    expect(weighted.ghostSampleRate).toBe(4);
    // Without the gradient climber there are no ghosts.
    expect(make({ max: 1_000_000 }, [], { climber: 'off' }).ghostSampleRate).toBe(0);
  });
});

describe('TinyLfuStore: bounds and evictions (model-based)', () => {
  type Op =
    | { op: 'set'; key: number; value: number; weight: number }
    | { op: 'get' | 'peek' | 'has' | 'delete'; key: number }
    | { op: 'clear' };

  const key = fc.integer({ min: 0, max: 60 });
  const opArb = (maxWeight: number): fc.Arbitrary<Op> =>
    fc.oneof(
      {
        weight: 6,
        arbitrary: fc.record({
          op: fc.constant('set' as const),
          key,
          value: fc.integer(),
          weight: fc.integer({ min: 1, max: maxWeight }),
        }),
      },
      { weight: 6, arbitrary: fc.record({ op: fc.constant('get' as const), key }) },
      { weight: 1, arbitrary: fc.record({ op: fc.constant('peek' as const), key }) },
      { weight: 1, arbitrary: fc.record({ op: fc.constant('has' as const), key }) },
      { weight: 2, arbitrary: fc.record({ op: fc.constant('delete' as const), key }) },
      { weight: 1, arbitrary: fc.constant({ op: 'clear' as const }) },
    );

  function check(bounds: { max?: number; maxSize?: number }, ops: Op[], tuning?: TinyLfuTuning): void {
    const model = new Map<number, { value: number; weight: number }>();
    let evictions: [number, number][] = [];
    const store = new TinyLfuStore<number, number>(
      {
        max: bounds.max,
        maxSize: bounds.maxSize,
        onEvict: (k, v) => {
          // Reported after the operation: the store no longer holds the key.
          expect(store.has(k)).toBe(false);
          evictions.push([k, v]);
        },
      },
      tuning,
    );
    const weighted = bounds.maxSize !== undefined;
    for (const o of ops) {
      evictions = [];
      switch (o.op) {
        case 'set':
          store.set(o.key, o.value, o.weight);
          model.set(o.key, { value: o.value, weight: weighted ? o.weight : 0 });
          break;
        case 'get':
          expect(store.get(o.key)).toBe(model.get(o.key)?.value);
          break;
        case 'peek':
          expect(store.peek(o.key)).toBe(model.get(o.key)?.value);
          break;
        case 'has':
          expect(store.has(o.key)).toBe(model.has(o.key));
          break;
        case 'delete':
          expect(store.delete(o.key)).toBe(model.delete(o.key));
          break;
        case 'clear':
          store.clear();
          model.clear();
          break;
      }
      // Every eviction is of an entry the model held, with its value, reported once.
      for (const [k, v] of evictions) {
        expect(model.get(k)?.value).toBe(v);
        model.delete(k);
      }
      expect(store.size).toBe(model.size);
      let weight = 0;
      for (const e of model.values()) weight += e.weight;
      expect(store.weight).toBe(weight);
      if (bounds.max !== undefined) expect(store.size).toBeLessThanOrEqual(bounds.max);
      if (bounds.maxSize !== undefined) expect(store.weight).toBeLessThanOrEqual(bounds.maxSize);
      for (const [k, e] of model) expect(store.peek(k)).toBe(e.value);
      expect(new Set(store.keys())).toEqual(new Set(model.keys()));
      expect(new Map(store.entries())).toEqual(new Map([...model].map(([k, e]) => [k, e.value])));
    }
  }

  it('respects max, matching a Map model', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20 }), fc.array(opArb(1), { maxLength: 300 }), (max, ops) =>
        check({ max }, ops),
      ),
      { numRuns: 150 },
    );
  });

  it('respects maxSize weights (including entries heavier than the window or the store)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 60 }), fc.array(opArb(70), { maxLength: 300 }), (maxSize, ops) =>
        check({ maxSize }, ops),
      ),
      { numRuns: 150 },
    );
  });

  it('respects max and maxSize together', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 15 }),
        fc.integer({ min: 1, max: 60 }),
        fc.array(opArb(30), { maxLength: 300 }),
        (max, maxSize, ops) => check({ max, maxSize }, ops),
      ),
      { numRuns: 150 },
    );
  });

  it('holds under every climber and window setting', () => {
    const tunings: TinyLfuTuning[] = [
      { climber: 'hit-rate' },
      { climber: 'off', window: 0 },
      { window: 0.95 },
      { promotion: 'lazy' },
      { promotion: 'lazy', climber: 'off', window: 0 },
      { promotion: 'eager' },
      { promotion: 'eager', climber: 'hit-rate' },
      { promotion: 'eager', climber: 'off', window: 0 },
    ];
    for (const tuning of tunings) {
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 20 }), fc.array(opArb(5), { maxLength: 200 }), (max, ops) =>
          check({ max, maxSize: 40 }, ops, tuning),
        ),
        { numRuns: 40 },
      );
    }
  });

  it('stays consistent through long random workloads that move the window', () => {
    // Enough operations for the climber and the LRU guard to resize the window several times.
    const next = xorshift(1);
    const ops: Op[] = [];
    for (let i = 0; i < 40_000; i++) {
      const phase = Math.floor(i / 5000) % 2;
      // Alternate a recency-heavy sweep with a skewed frequency phase.
      const k = phase === 0 ? Math.floor(i / 2) % 90 : next() % 30 < 20 ? next() % 10 : next() % 400;
      ops.push(
        next() % 3 === 0 ? { op: 'set', key: k, value: i, weight: 1 + (next() % 4) } : { op: 'get', key: k },
      );
      if (i % 7000 === 6999) ops.push({ op: 'delete', key: k });
    }
    const model = new Map<number, number>();
    const store = new TinyLfuStore<number, number>({
      max: 64,
      maxSize: 150,
      onEvict: (k) => model.delete(k),
    });
    const fractions = new Set<number>();
    for (const o of ops) {
      // The model learns the write first; the eviction listener (called at the end of the write)
      // then removes whatever the store evicted, the new entry included.
      if (o.op === 'set') {
        model.set(o.key, o.value);
        store.set(o.key, o.value, o.weight);
      } else if (o.op === 'get') {
        const v = store.get(o.key);
        expect(v).toBe(model.get(o.key));
        if (v === undefined) {
          model.set(o.key, o.key);
          store.set(o.key, o.key, 1);
        }
      } else if (o.op === 'delete') {
        store.delete(o.key);
        model.delete(o.key);
      }
      expect(store.size).toBeLessThanOrEqual(64);
      expect(store.weight).toBeLessThanOrEqual(150);
      fractions.add(store.windowFraction);
    }
    expect(store.size).toBe(model.size);
    for (const [k, v] of model) expect(store.peek(k)).toBe(v);
    expect(fractions.size).toBeGreaterThan(1);
  });
});

describe('TinyLfuStore: storage', () => {
  /**
   * Fills `store` with `held` keys (each of weight `w`), then requests key -1 once per round, between rounds of
   * `oneOffs` new keys, more than the window holds: -1 leaves the window each time and stays only if admission
   * counts its requests. Returns its hits (of 12 rounds) and its count.
   */
  function hotNewcomer(store: TinyLfuStore<number, number>, held: number, oneOffs: number, w: number) {
    for (let i = 0; i < held; i++) store.set(i, i, w);
    let hits = 0;
    let next = held;
    for (let round = 0; round < 12; round++) {
      if (store.get(-1) !== undefined) hits++;
      else store.set(-1, -1, w);
      for (let j = 0; j < oneOffs; j++, next++) if (store.get(next) === undefined) store.set(next, next, w);
    }
    return { hits, count: store.frequencyOf(-1) };
  }

  it('above 2^20 entries, counts frequencies once half full: a hot newcomer gets in when the store is full', () => {
    const max = 2 ** 20 + 1;
    const { hits, count } = hotNewcomer(make<number, number>({ max }), max, 15_000, 0);
    expect(count).toBeGreaterThanOrEqual(8);
    expect(hits).toBeGreaterThanOrEqual(8);
  });

  it('above 2^20 entries and bounded by weight first, counts frequencies once half that weight is reached', () => {
    const store = make<number, number>({ max: 2 ** 20 + 1, maxSize: 200_000 });
    const { hits, count } = hotNewcomer(store, 200_000, 5_000, 1);
    expect(count).toBeGreaterThanOrEqual(8);
    expect(hits).toBeGreaterThanOrEqual(8);
  });

  it('above 2^20 entries, keeps its counts when an insertion into the full store goes one over the bound', () => {
    const max = 2 ** 21;
    const store = make<number, number>({ max });
    for (let i = 0; i < max; i++) store.set(i, i, 0);
    // Misses count a key that is never stored.
    for (let r = 0; r < 5; r++) expect(store.get(-1)).toBeUndefined();
    expect(store.frequencyOf(-1)).toBe(5);
    store.set(max, max, 0);
    expect(store.size).toBe(max);
    expect(store.frequencyOf(-1)).toBe(5);
  });

  it('allocates for the count bound up front only up to 2^20 entries (a huge max that stays small stays small)', () => {
    // A slot per entry, one for an insertion before its eviction, and three list sentinels.
    expect(make({ max: 1000 }).slotCapacity).toBe(1004);
    expect(make({ max: 2 ** 20 }).slotCapacity).toBe(2 ** 20 + 4);
    expect(make({ max: 1000, maxSize: 10 ** 9 }).slotCapacity).toBe(1004);
    for (const bounds of [{ max: 2 ** 20 + 1 }, { maxSize: 10 ** 9 }]) {
      const store = make<string, number>(bounds);
      expect(store.slotCapacity).toBe(64);
      for (let i = 0; i < 1000; i++) store.set(`k${i}`, i, 1);
      expect(store.size).toBe(1000);
      expect(store.slotCapacity).toBeLessThanOrEqual(2048);
      expect(store.get('k999')).toBe(999);
      store.verify();
    }
  });

  it('stays usable after clear, with storage allocated up front', () => {
    const evicted: Evicted = [];
    const store = make<string, number>({ max: 50 }, evicted);
    for (let i = 0; i < 200; i++) store.set(`a${i}`, i, 1);
    expect(store.size).toBe(50);
    store.clear();
    store.verify();
    expect(store.size).toBe(0);
    expect([...store.keys()]).toEqual([]);
    expect(store.get('a199')).toBeUndefined();
    evicted.length = 0;
    for (let i = 0; i < 120; i++) store.set(`b${i}`, i, 1);
    store.verify();
    expect(store.size).toBe(50);
    expect(evicted).toHaveLength(70);
    expect(evicted.every(([k]) => String(k).startsWith('b'))).toBe(true);
  });

  it('compares the keys now in reused slots, whatever the key type', () => {
    // Hashes are recomputed from the keys: after deletes free slots and new keys reuse them, a key
    // made frequent (through misses) must win admission over a one-time victim, and a one-time
    // candidate must not.
    const objects = Array.from({ length: 300 }, (_, i) => ({ i }));
    const shapes: ((i: number) => unknown)[] = [(i) => `key:${i}`, (i) => i * 7919, (i) => objects[i]];
    for (const keyOf of shapes) {
      const evicted: Evicted = [];
      const store = make<unknown, number>({ max: 20 }, evicted);
      for (let i = 0; i < 20; i++) store.set(keyOf(i), i, 1);
      for (let i = 0; i < 20; i += 2) store.delete(keyOf(i));
      for (let i = 100; i < 110; i++) store.set(keyOf(i), i, 1);
      const hot = keyOf(150);
      for (let r = 0; r < 8; r++) store.get(hot);
      store.set(hot, 150, 1);
      // The last one-time key left the window and lost to the victim (probation's oldest, key 1).
      expect(evicted.map(([k]) => k)).toEqual([keyOf(109)]);
      store.set(keyOf(200), 200, 1);
      // The hot key left the window and won: the victim went.
      expect(evicted.map(([k]) => k)).toEqual([keyOf(109), keyOf(1)]);
      expect(store.has(hot)).toBe(true);
      store.verify();
    }
  });
});

describe('TinyLfuStore: read buffer', () => {
  type Op =
    | { op: 'set'; key: number; weight: number }
    | { op: 'get' | 'peek' | 'has' | 'delete' | 'keys' | 'window'; key: number }
    | { op: 'clear' };

  /** Runs `ops` on a store and returns everything observable, in order. */
  function observe(
    ops: readonly Op[],
    bounds: { max?: number; maxSize?: number },
    readBuffer: number,
  ): unknown[] {
    const seen: unknown[] = [];
    const store = new TinyLfuStore<number, number>(
      { max: bounds.max, maxSize: bounds.maxSize, onEvict: (k, v) => seen.push(['evict', k, v]) },
      // The read buffer is eager promotion's (a lazy hit is applied in `get`).
      { readBuffer, promotion: 'eager' },
    );
    let version = 0;
    for (const o of ops) {
      switch (o.op) {
        case 'set':
          store.set(o.key, version++, o.weight);
          break;
        case 'get':
        case 'peek':
        case 'has':
        case 'delete':
          seen.push(store[o.op](o.key));
          break;
        case 'keys':
          seen.push([...store.keys()], [...store.entries()]);
          break;
        case 'window':
          seen.push(store.windowFraction);
          break;
        case 'clear':
          store.clear();
          break;
      }
      seen.push(store.size, store.weight);
    }
    seen.push([...store.keys()], store.windowFraction);
    return seen;
  }

  const ops = fc.array(
    fc.oneof(
      {
        weight: 5,
        arbitrary: fc.record({
          op: fc.constant('set' as const),
          key: fc.integer({ min: 0, max: 40 }),
          weight: fc.integer({ min: 1, max: 6 }),
        }),
      },
      {
        weight: 12,
        arbitrary: fc.record({ op: fc.constant('get' as const), key: fc.integer({ min: 0, max: 40 }) }),
      },
      ...(['peek', 'has', 'delete', 'keys', 'window'] as const).map((op) => ({
        weight: 1,
        arbitrary: fc.record({ op: fc.constant(op), key: fc.integer({ min: 0, max: 40 }) }),
      })),
      { weight: 1, arbitrary: fc.constant({ op: 'clear' as const }) },
    ),
    { maxLength: 400 },
  );

  it('behaves exactly as if every hit were applied at once', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 24 }),
        fc.boolean(),
        ops,
        fc.integer({ min: 2, max: 9 }),
        (max, weighted, list, size) => {
          const bounds = weighted ? { max, maxSize: 3 * max } : { max };
          const immediate = observe(list, bounds, 1);
          expect(observe(list, bounds, size)).toEqual(immediate);
          expect(observe(list, bounds, 128)).toEqual(immediate);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('gives the same evictions and window moves over a long workload', () => {
    const next = xorshift(7);
    const list: Op[] = [];
    for (let i = 0; i < 30_000; i++) {
      // A recency-heavy sweep, then a skewed phase: the climber and the LRU guard both act.
      const key =
        Math.floor(i / 6000) % 2 === 0
          ? Math.floor(i / 2) % 150
          : next() % 4 === 0
            ? next() % 500
            : next() % 20;
      list.push({ op: 'get', key });
      if (next() % 3 === 0) list.push({ op: 'set', key, weight: 1 });
      if (i % 20 === 0) list.push({ op: 'window', key });
    }
    const immediate = observe(list, { max: 100 }, 1);
    expect(new Set(immediate.filter((v) => typeof v === 'number' && v > 0 && v < 1)).size).toBeGreaterThan(1);
    expect(observe(list, { max: 100 }, 128)).toEqual(immediate);
  });

  it.each(['delete', 'clear'] as const)(
    'applies hits buffered before %s before the slots are freed and reused',
    (how) => {
      const evicted: Evicted = [];
      const store = make<string, number>({ max: 4 }, evicted, { readBuffer: 128, promotion: 'eager' });
      for (const k of ['a', 'b', 'c', 'd']) store.set(k, 1, 1);
      // Hits that promote a, b, c and d to protected, still buffered when a (or everything) is removed.
      for (let r = 0; r < 3; r++) for (const k of ['a', 'b', 'c', 'd']) store.get(k);
      if (how === 'delete') store.delete('a');
      else store.clear();
      for (const k of ['e', 'f']) store.set(k, 2, 1);
      store.get('e');
      store.get('f');
      for (const k of ['g', 'h']) store.set(k, 3, 1);
      const keys = [...store.keys()];
      expect(keys.length).toBe(store.size);
      expect(new Set(keys)).toEqual(new Set(how === 'delete' ? ['b', 'c', 'd', 'h'] : ['e', 'f', 'g', 'h']));
    },
  );

  it('refuses a readBuffer that is not an integer from 1 to 65536', () => {
    const options = { max: 10, maxSize: undefined, onEvict: () => {} };
    for (const readBuffer of [0, 1.5, -1, 65537, Number.NaN]) {
      expect(() => new TinyLfuStore(options, { readBuffer })).toThrow(RangeError);
      expect(() => new TinyLfuStore(options, { readBuffer })).toThrow(/tuning.readBuffer/);
    }
  });
});

describe('TinyLfuStore: eviction reporting', () => {
  it('reports refused newcomers as evicted, and keeps the frequent entries', () => {
    const evicted: Evicted = [];
    const store = make<string, number>({ max: 10 }, evicted);
    for (let i = 0; i < 10; i++) store.set(`hot${i}`, i, 1);
    for (let r = 0; r < 5; r++) for (let i = 0; i < 10; i++) store.get(`hot${i}`);
    for (let i = 0; i < 20; i++) store.set(`cold${i}`, i, 1);
    const cold = evicted.filter(([k]) => String(k).startsWith('cold'));
    // Each newcomer enters the 1-entry window, then is refused when the next one pushes it out.
    expect(cold).toEqual(Array.from({ length: 19 }, (_, i) => [`cold${i}`, i]));
    for (let i = 0; i < 9; i++) expect(store.has(`hot${i}`)).toBe(true);
    expect(store.size).toBe(10);
  });

  it('evicts an entry heavier than maxSize at once, and a replacement that grows past it', () => {
    const evicted: Evicted = [];
    const store = make<string, string>({ maxSize: 10 }, evicted);
    store.set('a', 'A', 4);
    store.set('huge', 'H', 11);
    expect(evicted).toEqual([['huge', 'H']]);
    expect(store.has('a')).toBe(true);
    store.set('a', 'A2', 12);
    expect(evicted).toEqual([
      ['huge', 'H'],
      ['a', 'A2'],
    ]);
    expect(store.size).toBe(0);
    expect(store.weight).toBe(0);
  });

  it('admits an entry heavier than the window and evicts enough to fit it', () => {
    const evicted: Evicted = [];
    const store = make<string, number>({ maxSize: 100 }, evicted);
    for (let i = 0; i < 10; i++) store.set(`k${i}`, i, 10);
    store.get('big'); // seen before: more frequent than the cold victims
    store.get('big');
    store.set('big', 0, 60);
    expect(store.weight).toBeLessThanOrEqual(100);
    expect(store.has('big')).toBe(true);
    expect(evicted.length).toBeGreaterThanOrEqual(6);
  });

  it('reports evictions caused by a listener that writes to the store, each once', () => {
    const evicted: unknown[] = [];
    const store: TinyLfuStore<number, number> = new TinyLfuStore<number, number>({
      max: 3,
      maxSize: undefined,
      onEvict: (k) => {
        evicted.push(k);
        if (k < 100) store.set(k + 100, k, 1); // re-enters while reporting
      },
    });
    for (let i = 0; i < 10; i++) store.set(i, i, 1);
    expect(new Set(evicted).size).toBe(evicted.length);
    expect(store.size).toBeLessThanOrEqual(3);
    for (const k of store.keys()) expect(evicted).not.toContain(k);
  });

  it('reports every eviction even when a listener throws, then rethrows the first error', () => {
    const seen: number[] = [];
    const store = new TinyLfuStore<number, number>({
      maxSize: 10,
      max: undefined,
      onEvict: (k) => {
        seen.push(k);
        throw new Error(`boom ${k}`);
      },
    });
    for (let i = 0; i < 5; i++) store.set(i, i, 2);
    expect(() => store.set(9, 9, 10)).toThrow(/boom/);
    expect(seen.length).toBeGreaterThanOrEqual(5);
    expect(store.weight).toBeLessThanOrEqual(10);
  });

  it.each(['count', 'weight'] as const)(
    'a listener that re-enters and throws: every eviction reported once during the call, then the first error (by %s)',
    (bound) => {
      // By count, most insertions evict one entry (the single-eviction report); by weight, several.
      let reports: number[] = [];
      const all: number[] = [];
      const store: TinyLfuStore<number, number> = new TinyLfuStore<number, number>({
        max: bound === 'count' ? 4 : undefined,
        maxSize: bound === 'weight' ? 8 : undefined,
        onEvict: (k) => {
          reports.push(k);
          all.push(k);
          if (k < 1000) {
            for (let j = 0; j < 6; j++) {
              inserted.add(1000 + k * 10 + j);
              store.set(1000 + k * 10 + j, j, 2); // evicts more
            }
          }
          throw new Error(`error ${k}`);
        },
      });
      const inserted = new Set<number>();
      let thrown = 0;
      for (let i = 0; i < 40; i++) {
        reports = [];
        inserted.add(i);
        let message: string | undefined;
        try {
          store.set(i, i, 2);
        } catch (e) {
          message = (e as Error).message;
        }
        // Reported during the call (re-entrant evictions included), and the first report's error rethrown.
        expect(message).toBe(reports.length > 0 ? `error ${reports[0]}` : undefined);
        if (message !== undefined) thrown++;
        // Nothing evicted is left unreported when the call returns.
        const held = new Set(store.keys());
        expect(new Set(all)).toEqual(new Set([...inserted].filter((k) => !held.has(k))));
        // A key below 1000 is reported before the evictions its listener caused.
        const first = reports.findIndex((k) => k < 1000);
        if (first >= 0) expect(reports.slice(first + 1).some((k) => k >= 1000)).toBe(true);
      }
      expect(thrown).toBeGreaterThan(10);
      expect(new Set(all).size).toBe(all.length);
      for (const k of store.keys()) expect(all).not.toContain(k);
      store.verify();
    },
  );

  it('does not report delete, clear or replacement', () => {
    const evicted: Evicted = [];
    const store = make<string, number>({ max: 5 }, evicted);
    store.set('a', 1, 1);
    store.set('a', 2, 1);
    store.delete('a');
    store.set('b', 1, 1);
    store.clear();
    expect(evicted).toEqual([]);
  });
});

describe('TinyLfuStore: policy', () => {
  function hitRatio(
    store: { get(k: number): unknown; set(k: number, v: number, w: number): void },
    trace: number[],
  ) {
    let hits = 0;
    for (const k of trace) {
      if (store.get(k) !== undefined) hits++;
      else store.set(k, k, 1);
    }
    return hits / trace.length;
  }

  it('resists scans: a hot set survives a flood of one-time keys (LRU loses it)', () => {
    const trace: number[] = [];
    let scan = 1_000_000;
    for (let r = 0; r < 200; r++) {
      for (let i = 0; i < 50; i++) trace.push(i); // hot set of 50
      for (let i = 0; i < 200; i++) trace.push(scan++); // scan of 200 new keys
    }
    const tiny = hitRatio(make<number, number>({ max: 100 }), trace);
    const lru = hitRatio(
      new LruStore<number, number>({ max: 100, maxSize: undefined, onEvict: () => {} }),
      trace,
    );
    expect(lru).toBe(0);
    expect(tiny).toBeGreaterThan(0.18); // 50 of every 250 requests hit once warm
  });

  it('keeps part of a loop larger than the cache (LRU hits nothing)', () => {
    const trace: number[] = [];
    for (let r = 0; r < 100; r++) for (let i = 0; i < 300; i++) trace.push(i);
    const tiny = hitRatio(make<number, number>({ max: 200 }), trace);
    expect(tiny).toBeGreaterThan(0.5);
  });

  it.each(['lazy', 'eager'] as const)(
    'votes through its ghosts on a miss of a key they remember, not on a write of one (%s promotion)',
    (promotion) => {
      const evicted: Evicted = [];
      const store = make<number, number>({ max: 200 }, evicted, { promotion });
      // New keys only, read then written as cache-aside does: each miss finds nothing the ghosts remember.
      for (let i = 0; i < 400; i++) if (store.get(i) === undefined) store.set(i, i, 0);
      expect(store.ghostVotes).toBe(0);
      expect(evicted.length).toBeGreaterThan(2);
      const [written, read] = [evicted.at(-1)![0] as number, evicted.at(-2)![0] as number];
      // A write of a key evicted a moment ago is no request a larger segment could have hit: no vote.
      store.set(written, written, 0);
      expect(store.ghostVotes).toBe(0);
      // A miss on one is: one vote, and none more when the cache-aside write follows.
      expect(store.get(read)).toBeUndefined();
      expect(store.ghostVotes).toBe(1);
      store.set(read, read, 0);
      expect(store.ghostVotes).toBe(1);
    },
  );

  it.each(['lazy', 'eager'] as const)(
    'counts a request once: a write its caller counted already adds nothing (%s promotion)',
    (promotion) => {
      const store = make<string, number>({ max: 1000 }, [], { promotion });
      // Cache-aside with loads that overlap: both misses are counted, then both values arrive.
      expect(store.get('a')).toBeUndefined();
      expect(store.get('b')).toBeUndefined();
      store.set('a', 1, 0, true);
      store.set('b', 2, 0, true);
      expect([store.frequencyOf('a'), store.frequencyOf('b')]).toEqual([1, 1]);
      // A plain write is an access; so is a plain replacement. A counted replacement is not.
      store.set('c', 3, 0);
      expect(store.frequencyOf('c')).toBe(1);
      store.set('c', 4, 0);
      expect(store.frequencyOf('c')).toBe(2);
      store.set('c', 5, 0, true);
      expect(store.frequencyOf('c')).toBe(2);
      // Without the flag too: the store remembers the misses pending, not only the last one.
      expect(store.get('d')).toBeUndefined();
      expect(store.get('e')).toBeUndefined();
      store.set('e', 6, 0);
      store.set('d', 7, 0);
      expect([store.frequencyOf('d'), store.frequencyOf('e')]).toEqual([1, 1]);
      // A miss is answered once: after its set, a write of the same key counts again.
      expect(store.delete('d')).toBe(true);
      store.set('d', 8, 0);
      expect(store.frequencyOf('d')).toBe(2);
    },
  );

  it('remembers overlapping misses of integer keys 256 apart (their own hashes: they take different places)', () => {
    const store = make<number, number>({ max: 1000 });
    const keys = Array.from({ length: 8 }, (_, i) => i * 256);
    for (const k of keys) expect(store.get(k)).toBeUndefined();
    for (const k of keys) store.set(k, k, 0);
    expect(keys.map((k) => store.frequencyOf(k))).toEqual(keys.map(() => 1));
  });

  /** A working set of 450 keys that shifts by 300 keys every 4000 requests: plain LRU is at home. */
  function shiftingWorkingSet(): number[] {
    let x = 7;
    const random = () => {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      return (x >>> 0) / 4294967296;
    };
    const trace: number[] = [];
    for (let phase = 0; phase < 30; phase++) {
      for (let i = 0; i < 4000; i++) trace.push(phase * 300 + Math.floor(random() * 450));
    }
    return trace;
  }

  it('grows the window on a recency-heavy workload and keeps it small on a frequency-heavy one', () => {
    const recency = make<number, number>({ max: 500 });
    hitRatio(recency, shiftingWorkingSet());
    expect(recency.windowFraction).toBeGreaterThan(0.5);
    const frequency = make<number, number>({ max: 500 });
    const loop: number[] = [];
    for (let r = 0; r < 40; r++) for (let i = 0; i < 700; i++) loop.push(i);
    hitRatio(frequency, loop);
    expect(frequency.windowFraction).toBeLessThan(0.1);
  });

  it.each(['gradient', 'hit-rate'] as const)(
    'never shrinks the window below the share it starts from, 1 percent (climber %s)',
    (climber) => {
      // A loop over more keys than fit: every vote is for main, and the window would shrink to one entry.
      const store = make<number, number>({ max: 2000 }, [], { climber });
      let lowest = 1;
      for (let r = 0; r < 30; r++) {
        for (let i = 0; i < 2600; i++) {
          if (store.get(i) === undefined) store.set(i, i, 0);
          if (i % 100 === 0) lowest = Math.min(lowest, store.windowFraction);
        }
      }
      expect(lowest).toBe(0.01);
    },
  );

  it('with an initial window below 1% (a tuning knob), never moves the window below that share', () => {
    const store = make<number, number>({ max: 2000 }, [], { window: 0.002 });
    let lowest = 1;
    let highest = 0;
    for (let r = 0; r < 30; r++) {
      for (let i = 0; i < 2600; i++) {
        if (store.get(i) === undefined) store.set(i, i, 0);
        if (i % 100 === 0) {
          lowest = Math.min(lowest, store.windowFraction);
          highest = Math.max(highest, store.windowFraction);
        }
      }
    }
    expect(lowest).toBe(0.002);
    expect(highest).toBe(0.002);
  });

  it('does not regress on a recency-heavy workload where a fixed 1% window does', () => {
    const trace = shiftingWorkingSet();
    const adaptive = hitRatio(make<number, number>({ max: 500 }), trace);
    const fixed = hitRatio(make<number, number>({ max: 500 }, [], { climber: 'off' }), trace);
    const lru = hitRatio(
      new LruStore<number, number>({ max: 500, maxSize: undefined, onEvict: () => {} }),
      trace,
    );
    expect(fixed).toBeLessThan(lru - 0.2);
    expect(adaptive).toBeGreaterThan(lru - 0.02);
  });

  it('with eager promotion, promotes a probation hit into a full protected segment by swapping out its least recent entry', () => {
    // max 10: a window of 1, protected holds 7 of main's 9. The count-bounded store takes the
    // steady-state shortcut; the weight-bounded one (same limits in weight) the general path.
    for (const bounds of [{ max: 10 }, { maxSize: 10 }]) {
      const store = make<number, number>(bounds, [], { promotion: 'eager' });
      for (let k = 0; k < 10; k++) store.set(k, k, 1); // window [9], probation 0..8
      for (let k = 0; k < 7; k++) store.get(k); // protected fills up: 0..6
      expect([...store.keys()], JSON.stringify(bounds)).toEqual([9, 6, 5, 4, 3, 2, 1, 0, 8, 7]);
      const segments = () => Array.from({ length: 10 }, (_, k) => store.segmentOf(k)?.slice(0, 4)).join();
      expect(segments()).toBe('prot,prot,prot,prot,prot,prot,prot,prob,prob,wind');
      store.get(7); // a probation hit: 7 joins protected, its least recent entry (0) drops to probation
      expect([...store.keys()], JSON.stringify(bounds)).toEqual([9, 7, 6, 5, 4, 3, 2, 1, 0, 8]);
      expect(segments()).toBe('prob,prot,prot,prot,prot,prot,prot,prot,prob,wind');
      store.get(8);
      expect([...store.keys()], JSON.stringify(bounds)).toEqual([9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
      expect(segments()).toBe('prob,prob,prot,prot,prot,prot,prot,prot,prot,wind');
      expect(store.size).toBe(10);
      expect(store.segmentOf(10)).toBeUndefined();
    }
  });

  it('with lazy promotion, a hit only marks the entry; eviction moves referenced entries on (CLOCK in protected)', () => {
    // max 10: a window of 1, protected holds at most 7 of main's 9. The same limits in weight take the
    // weighted paths.
    for (const bounds of [{ max: 10 }, { maxSize: 10 }]) {
      const evicted: Evicted = [];
      const store = make<number, number>(bounds, evicted, { promotion: 'lazy' });
      const segments = (n: number) =>
        Array.from({ length: n }, (_, k) => store.segmentOf(k)?.slice(0, 4) ?? '-').join();
      for (let k = 0; k < 10; k++) store.set(k, k, 1); // window [9], probation 0..8
      for (let k = 0; k < 7; k++) store.get(k); // probation hits: marked, not moved
      expect(segments(10), JSON.stringify(bounds)).toBe('prob,prob,prob,prob,prob,prob,prob,prob,prob,wind');
      // 10 pushes 9 out of the window as a candidate. Looking for a victim, eviction moves probation's
      // referenced oldest entries (0..6) to protected and stops at 7, unreferenced: 9 and 7 are as
      // frequent, so the candidate (9) is refused.
      store.set(10, 10, 1);
      expect(evicted.map(([k]) => k)).toEqual([9]);
      expect(segments(11)).toBe('prot,prot,prot,prot,prot,prot,prot,prob,prob,-,wind');
      store.get(7); // probation, referenced
      store.get(0); // protected, referenced
      // 11 pushes 10 out. 7 (referenced) is promoted; protected is over its bound: its oldest, 0, was
      // referenced and goes round once more, so 1 drops to probation's recent end. 8 is the victim and
      // wins against 10.
      store.set(11, 11, 1);
      expect(evicted.map(([k]) => k)).toEqual([9, 10]);
      expect(segments(12)).toBe('prot,prob,prot,prot,prot,prot,prot,prot,prob,-,-,wind');
      // The window, then protected and probation, each from its recent end.
      expect([...store.keys()], JSON.stringify(bounds)).toEqual([11, 0, 7, 6, 5, 4, 3, 2, 1, 8]);
      expect(store.size).toBe(10);
      store.verify();
    }
  });

  it('with lazy promotion, a full count-bounded store compares the candidate even when the victim search passes every probation entry', () => {
    const evicted: Evicted = [];
    const store = make<number, number>({ max: 10 }, evicted, { promotion: 'lazy' });
    for (let k = 0; k < 10; k++) store.set(k, k, 1); // window [9], probation 0..8
    store.set(100, 100, 1); // the first eviction: 9 is refused; window [100]
    expect(evicted.map(([k]) => k)).toEqual([9]);
    for (let k = 0; k < 9; k++) store.get(k); // every probation entry referenced
    for (let n = 0; n < 3; n++) store.get(100); // the window's 100: four occurrences
    // 10 pushes 100 out. The victim search promotes 0..8; protected, over its bound, drops 0 and then 1 to
    // probation, unreferenced: 0 (two occurrences) is the victim and loses to 100. (The general path moved
    // 100 to probation first, the search reached it, and it left without a comparison.)
    store.set(10, 10, 1);
    expect(evicted.map(([k]) => k)).toEqual([9, 0]);
    expect(store.segmentOf(100)).toBe('probation');
    store.verify();
  });

  it.each(['gradient', 'hit-rate'] as const)(
    'with eager promotion, takes the same decisions with and without its shortcuts (climber %s: ghosts, tails and votes included)',
    (climber) => {
      // The weighted comparison below runs with the climber off; this one keeps the climber's bookkeeping
      // (window exits, ghost stamps, tail votes), which the shortcuts must update as the general paths do.
      // (Lazy promotion's one-for-one path compares candidates its general path may not: see the test
      // above on a candidate the victim search passes.)
      for (const seed of [5, 6]) {
        const next = xorshift(seed * 104729);
        const max = 300 + (next() % 300);
        const evictedOn: Evicted = [];
        const evictedOff: Evicted = [];
        const on = make<number, number>({ max }, evictedOn, { climber, promotion: 'eager' });
        const off = make<number, number>({ max }, evictedOff, {
          climber,
          shortcuts: false,
          promotion: 'eager',
        });
        for (let op = 0; op < 60_000; op++) {
          const phase = Math.floor(op / 6000) % 3;
          const k =
            phase === 0
              ? next() % (max * 4)
              : phase === 1
                ? op % Math.floor(max * 1.3)
                : next() % 40 < 30
                  ? next() % 50
                  : next() % (max * 2);
          if (next() % 10 < 8) {
            const hit = on.get(k);
            expect(off.get(k)).toBe(hit);
            if (hit === undefined) {
              on.set(k, op, 1);
              off.set(k, op, 1);
            }
          } else {
            expect(on.delete(k)).toBe(off.delete(k));
          }
        }
        expect(evictedOn).toEqual(evictedOff);
        expect(evictedOn.length).toBeGreaterThan(10_000);
        expect([...on.keys()]).toEqual([...off.keys()]);
        expect(on.windowFraction).toBe(off.windowFraction);
        on.verify();
        off.verify();
      }
    },
  );

  it.each([
    ['lazy', 'gradient'],
    ['lazy', 'hit-rate'],
    ['lazy', 'off'],
    ['eager', 'gradient'],
    ['eager', 'off'],
  ] as const)(
    'with %s promotion (climber %s), an insertion into a full store decides in place as after linking the entry',
    (promotion, climber) => {
      // `#insertFull` (fusedInsert) against `#oneForOne` after the entry is linked: the same evictions, in the same
      // order, the same lists, window and (through `verify`) tails, counts and links; only slot numbers differ.
      for (const seed of [11, 12]) {
        const next = xorshift(seed * 7793);
        const max = 200 + (next() % 400);
        const evictedOn: Evicted = [];
        const evictedOff: Evicted = [];
        const on = make<number, number>({ max }, evictedOn, { climber, promotion });
        const off = make<number, number>({ max }, evictedOff, { climber, promotion, fusedInsert: false });
        for (let op = 0; op < 60_000; op++) {
          const phase = Math.floor(op / 5000) % 4;
          // A scan of new keys (refusals), a loop (tail votes, a growing window), hot keys (admissions), churn.
          const k =
            phase === 0
              ? op
              : phase === 1
                ? op % Math.floor(max * 1.3)
                : phase === 2
                  ? Math.floor(500 / (1 + (next() % 500)))
                  : next() % (max * 3);
          const r = next() % 10;
          if (r < 7) {
            const hit = on.get(k);
            expect(off.get(k)).toBe(hit);
            if (hit === undefined) {
              on.set(k, op, 1);
              off.set(k, op, 1);
            }
          } else if (r < 9) {
            on.set(k, -op, 1);
            off.set(k, -op, 1);
          } else expect(on.delete(k)).toBe(off.delete(k));
        }
        expect(evictedOn).toEqual(evictedOff);
        expect(on.fusedInserts).toBeGreaterThan(10_000);
        expect(off.fusedInserts).toBe(0);
        expect([...on.keys()]).toEqual([...off.keys()]);
        for (const key of on.keys()) expect(on.segmentOf(key)).toBe(off.segmentOf(key));
        expect(on.windowFraction).toBe(off.windowFraction);
        on.verify();
        off.verify();
      }
    },
  );

  it.each([
    ['lazy', 'gradient', { max: 400 }],
    ['eager', 'gradient', { max: 400 }],
    ['lazy', 'off', { max: 250 }],
    ['lazy', 'gradient', { maxSize: 900 }],
  ] as const)(
    "with %s promotion (climber %s, %j), reusing the victim's estimate decides as asking the sketch every time",
    (promotion, climber, bounds) => {
      // Misses, insertions and replacements increment the sketch between two comparisons with the same victim, and
      // agings halve it; a reuse after any of those reaching the victim's block would decide differently. (Adds of
      // pending hits rarely land in a standing victim's block here: a hit on the victim itself moves it on, so the
      // sketch's own property test covers adds, clears and reallocations, write by write.)
      for (const seed of [3, 4]) {
        const next = xorshift(seed * 40503);
        const evictedOn: Evicted = [];
        const evictedOff: Evicted = [];
        const on = make<number, number>(bounds, evictedOn, { climber, promotion });
        const off = make<number, number>(bounds, evictedOff, { climber, promotion, victimMemo: false });
        for (let op = 0; op < 40_000; op++) {
          const phase = Math.floor(op / 4000) % 3;
          // A scan of new keys (one victim faces many candidates), hot keys with a loop, and churn.
          const k = phase === 0 ? op : phase === 1 ? Math.floor(600 / (1 + (next() % 600))) : next() % 1500;
          const w = 1 + (k % 3);
          const r = next() % 10;
          if (r < 7) {
            const hit = on.get(k);
            expect(off.get(k)).toBe(hit);
            if (hit === undefined) {
              on.set(k, op, w);
              off.set(k, op, w);
            }
          } else if (r < 9) {
            on.set(k, -op, w);
            off.set(k, -op, w);
          } else expect(on.delete(k)).toBe(off.delete(k));
        }
        expect(evictedOn).toEqual(evictedOff);
        // Most comparisons reuse the estimate (the scan phases refuse candidate after candidate against one victim).
        expect(on.victimEstimates).toBeLessThan(off.victimEstimates / 2);
        expect([...on.keys()]).toEqual([...off.keys()]);
        expect(on.windowFraction).toBe(off.windowFraction);
        on.verify();
        off.verify();
      }
    },
  );

  it.each([
    ['gradient', { maxSize: 600 }],
    ['gradient', { max: 300, maxSize: 900 }],
    ['hit-rate', { maxSize: 600 }],
  ] as const)(
    'with lazy promotion, a hit applied in place in get decides as the general hit path does (climber %s, %j)',
    (climber, bounds) => {
      // A weighted store takes no one-for-one eviction, so the in-place hit is the only shortcut: turned off,
      // every hit goes through the general path (pending counts, saturation, votes, guard samples).
      for (const seed of [7, 8]) {
        const next = xorshift(seed * 65537);
        const evictedOn: Evicted = [];
        const evictedOff: Evicted = [];
        const on = make<number, number>(bounds, evictedOn, { climber, promotion: 'lazy' });
        const off = make<number, number>(bounds, evictedOff, {
          climber,
          promotion: 'lazy',
          shortcuts: false,
        });
        for (let op = 0; op < 60_000; op++) {
          const phase = Math.floor(op / 6000) % 3;
          // Zipf-like hot keys (saturated counters), a loop (tail votes), and a wide scan.
          const k =
            phase === 0 ? Math.floor(400 / (1 + (next() % 400))) : phase === 1 ? op % 350 : next() % 3000;
          const w = 1 + (k % 3);
          if (next() % 10 < 8) {
            const hit = on.get(k);
            expect(off.get(k)).toBe(hit);
            if (hit === undefined) {
              on.set(k, op, w);
              off.set(k, op, w);
            }
          } else if (next() % 2 === 0) {
            on.set(k, op, w);
            off.set(k, op, w);
          } else expect(on.delete(k)).toBe(off.delete(k));
        }
        expect(evictedOn).toEqual(evictedOff);
        expect(evictedOn.length).toBeGreaterThan(5_000);
        expect([...on.keys()]).toEqual([...off.keys()]);
        expect(on.windowFraction).toBe(off.windowFraction);
        on.verify();
        off.verify();
      }
    },
  );

  it('with lazy promotion, a heavier replacement in protected keeps protected within its weight bound', () => {
    const store = make<number, number>({ maxSize: 100 }, [], { promotion: 'lazy', climber: 'off' });
    for (let k = 0; k < 20; k++) store.set(k, k, 5);
    for (let k = 0; k < 20; k++) store.get(k); // referenced
    for (let k = 100; k < 104; k++) store.set(k, k, 5); // evictions: the victim search promotes them
    const inProtected = [...store.keys()].filter((k) => store.segmentOf(k) === 'protected');
    expect(inProtected.length).toBeGreaterThan(5);
    store.set(inProtected[0] as number, -1, 30);
    store.verify(); // protected within its bounds
    expect(store.weight).toBeLessThanOrEqual(100);
  });

  it('with eager promotion, takes the same decisions on the count-bounded shortcuts as on the general path', () => {
    // Weights of 1 under maxSize = max make the weighted store's limits those of the count-bounded one,
    // but a weighted store never takes the shortcuts (the full-protected swap, the one-for-one eviction):
    // the two must agree on every eviction and order.
    // (With the climber off: a moving window's weight limit can reach 0 where its count limit stays 1.
    // The tails a climber keeps are checked by `verify` below.)
    for (const seed of [1, 2, 3]) {
      const next = xorshift(seed * 7919);
      const max = 100 + (next() % 200);
      const evictedCount: Evicted = [];
      const evictedWeight: Evicted = [];
      const byCount = make<number, number>({ max }, evictedCount, { climber: 'off', promotion: 'eager' });
      const byWeight = make<number, number>({ max, maxSize: max }, evictedWeight, {
        climber: 'off',
        promotion: 'eager',
      });
      for (let op = 0; op < 20_000; op++) {
        const r = next() % 100;
        const k = next() % (op % 5000 < 2500 ? max : max * 3); // phases that fit and phases that churn
        if (r < 60) expect(byCount.get(k)).toBe(byWeight.get(k));
        else if (r < 95) {
          byCount.set(k, op, 1);
          byWeight.set(k, op, 1);
        } else expect(byCount.delete(k)).toBe(byWeight.delete(k));
        if (op % 1000 === 999) expect([...byCount.keys()]).toEqual([...byWeight.keys()]);
      }
      expect(evictedCount).toEqual(evictedWeight);
      expect(evictedCount.length).toBeGreaterThan(1000);
    }
  });

  it.each([
    ['gradient', { max: 200 }],
    ['gradient', { max: 200, maxSize: 600 }],
    ['gradient', { maxSize: 600 }],
    ['hit-rate', { max: 200 }],
    ['off', { max: 200 }],
    ['gradient-lazy', { max: 200 }],
    ['gradient-lazy', { max: 200, maxSize: 600 }],
    ['off-lazy', { maxSize: 600 }],
  ] as const)('keeps its lists, segments and tails consistent (climber %s, %j)', (mode, bounds) => {
    const lazy = mode === 'gradient-lazy' || mode === 'off-lazy';
    const climber = mode === 'gradient-lazy' ? 'gradient' : mode === 'off-lazy' ? 'off' : mode;
    const promotion = lazy ? 'lazy' : 'eager';
    // Phases that fit (probation hits promote into a full protected: the swap, tails included once the
    // store evicts), phases that churn (admissions, evictions, window moves), a sweep (tail votes) and
    // one of many deletes (probation shorter than its tail while protected is still full).
    for (const seed of [11, 12]) {
      const next = xorshift(seed);
      const store = make<number, number>(bounds, [], { climber, promotion });
      const weight = (k: number) => ('maxSize' in bounds ? 1 + (k % 5) : 1);
      let swept = 0;
      for (let op = 0; op < 40_000; op++) {
        const phase = Math.floor(op / 2500) % 4;
        const k = phase === 1 ? next() % 2000 : phase === 2 ? swept++ % 260 : next() % 180;
        const r = next() % 100;
        if (r < (phase === 3 ? 45 : 70)) {
          if (store.get(k) === undefined && phase !== 3) store.set(k, op, weight(k));
        } else if (r < 95 && phase !== 3) store.set(k, op, weight(k));
        else store.delete(k);
        if (op % 97 === 0) store.verify();
      }
      store.verify();
      expect(store.size).toBeGreaterThan(0);
    }
  });

  it("keeps probation's tail whole when a swap meets a probation shorter than its tail", () => {
    const store = make<number, number>({ max: 200 });
    for (let k = 0; k < 400; k++) store.set(k, k, 1); // evicting: the window and probation keep tails
    for (let r = 0; r < 3; r++) for (let k = 0; k < 400; k++) store.get(k); // protected fills up
    const probation = () => [...store.keys()].filter((k) => store.segmentOf(k) === 'probation');
    const protectedSize = () => [...store.keys()].filter((k) => store.segmentOf(k) === 'protected').length;
    const full = protectedSize();
    for (const k of probation().slice(3)) store.delete(k); // probation: 3 entries, all in its tail
    expect(probation()).toHaveLength(3);
    store.verify();
    store.get(probation()[0] as number); // swaps with protected's least recent, which joins the tail
    expect(protectedSize()).toBe(full);
    expect(probation()).toHaveLength(3);
    store.verify();
  });

  it('counts a replacement as an access', () => {
    const evicted: Evicted = [];
    const store = make<string, number>({ max: 4 }, evicted);
    for (const k of ['a', 'b', 'c', 'd']) store.set(k, 0, 1);
    for (let i = 0; i < 5; i++) store.set('a', i, 1); // 'a' is now frequent
    for (let i = 0; i < 20; i++) store.set(`new${i}`, i, 1);
    expect(store.get('a')).toBe(4);
  });

  it('works weight-bounded only (the sketch and climber follow the entry count)', () => {
    const store = make<number, number>({ maxSize: 1000 });
    const trace: number[] = [];
    for (let r = 0; r < 30; r++) for (let i = 0; i < 300; i++) trace.push(i % 50 === 0 ? i : r * 1000 + i);
    let hits = 0;
    for (const k of trace) {
      if (store.get(k) !== undefined) hits++;
      else store.set(k, k, 1 + (k % 7));
      expect(store.weight).toBeLessThanOrEqual(1000);
    }
    expect(hits).toBeGreaterThan(0);
  });
});

describe('createStore', () => {
  const options: StoreOptions<string, number> = { max: 10, maxSize: undefined, onEvict: () => {} };
  it('creates the store of each policy', () => {
    expect(createStore('lru', options)).toBeInstanceOf(LruStore);
    expect(createStore('tinylfu', options)).toBeInstanceOf(TinyLfuStore);
  });

  it('rejects an unknown policy, naming it', () => {
    expect(() => createStore('lfu' as never, options)).toThrow(TypeError);
    expect(() => createStore('lfu' as never, options)).toThrow(
      /policy must be 'lru' or 'tinylfu'; got "lfu"/,
    );
  });
});

describe('TinyLfuStore: aging pending hits', () => {
  /** The distinct values `pendingHits(key)` takes while misses make the sketch age several times. */
  function pendingThroughAgings(promotion: 'lazy' | 'eager'): number[] {
    const store = make<string, number>({ max: 1000 }, [], { promotion, climber: 'off' });
    store.set('a', 1, 0);
    for (let n = 0; n < 5; n++) store.get('a');
    const seen = [store.pendingHits('a') as number];
    // Misses count toward the sketch's aging (10 x max increments the first time, about half that after).
    for (let m = 0; m < 40_000; m++) {
      store.get(`miss ${m}`);
      const p = store.pendingHits('a') as number;
      if (p !== seen[seen.length - 1]) seen.push(p);
    }
    store.verify();
    return seen;
  }

  it('under lazy promotion, halves pending hits where they stand at each aging, rounding by epoch parity', () => {
    // Adding them to the sketch first would hash every held key at each aging (the lazy get's hot path pays
    // for it); halved in place, 5 becomes 3 (the first aging, at epoch 1, rounds odd counts up), then 1 (the
    // second rounds down), then stays 1 once (up) and goes to 0 (down).
    expect(pendingThroughAgings('lazy')).toEqual([5, 3, 1, 0]);
  });

  it('under lazy promotion, an aging clears the saturation mark, so hits on a hot key count again', () => {
    const store = make<string, number>({ max: 1000 }, [], { promotion: 'lazy', climber: 'off' });
    store.set('hot', 1, 0);
    // 15 pending hits reach the sketch at once: with the insertion's count, every counter of the key saturates,
    // and further hits are not counted until the next aging.
    for (let n = 0; n < 16; n++) store.get('hot');
    expect(store.pendingHits('hot')).toBe(0);
    for (let m = 0; m < 12_000; m++) store.get(`miss ${m}`);
    store.get('hot');
    expect(store.pendingHits('hot')).toBe(1);
  });

  it('under lazy promotion, pending hits kept through an aging are still dropped when the sketch is reallocated', () => {
    // Weight-bounded: the sketch starts at half the bound and grows (forgetting every count) with the entries.
    const store = make<string, number>({ maxSize: 2000 }, [], { promotion: 'lazy', climber: 'off' });
    for (let k = 0; k < 1000; k++) store.set(`k${k}`, k, 1);
    store.set('a', 1, 1);
    for (let n = 0; n < 14; n++) store.get('a');
    // Misses until one aging halves them: 14 -> 7.
    for (let m = 0; m < 30_000 && store.pendingHits('a') === 14; m++) store.get(`miss ${m}`);
    expect(store.pendingHits('a')).toBe(7);
    // 1,100 entries outgrow the sketch's 1,024 counters: it is reallocated.
    for (let k = 1000; k < 1100; k++) store.set(`k${k}`, k, 1);
    expect(store.pendingHits('a')).toBe(0);
    store.verify();
  });

  it('under eager promotion, adds pending hits to the sketch before it ages', () => {
    expect(pendingThroughAgings('eager')).toEqual([5, 0]);
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeArgs } from '../../src/index.js';

// Issue 15, item 17 (key encoder): what the encoding would leave out is refused, naming where it is; a null
// prototype gets a key of its own. Distinct arguments never share a key.

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(TypeError);
    return (error as Error).message;
  }
  throw new Error('expected a TypeError');
}

describe('wrap keys refuse what they would leave out', () => {
  it('a symbol-keyed property: {[Symbol()]: 1} no longer shares the key of {}', () => {
    expect(refusal(() => encodeArgs([{ [Symbol('s')]: 1 }]))).toMatch(
      /^wrap: argument 0 is an object with a symbol-keyed property/,
    );
    expect(encodeArgs([{}])).toBe('{}');
  });

  it('names the path of a nested one', () => {
    const value = { a: [1, { b: { [Symbol('deep')]: 2 } }] };
    expect(refusal(() => encodeArgs(['x', value]))).toMatch(
      /^wrap: argument 1\.a\[1\]\.b is an object with a symbol-keyed property \(Symbol\(deep\)\)/,
    );
  });

  it('a non-enumerable property', () => {
    const value = Object.defineProperty({ a: 1 }, 'hidden', { value: 2, enumerable: false });
    expect(refusal(() => encodeArgs([value]))).toMatch(
      /argument 0 is an object with a property "hidden" .*not enumerable/,
    );
  });

  it('own properties of an array beyond its elements, symbol-keyed ones, and holes', () => {
    expect(refusal(() => encodeArgs([Object.assign([1, 2], { page: 3 })]))).toMatch(
      /argument 0 is an array with a property "page" besides its elements/,
    );
    expect(refusal(() => encodeArgs([Object.assign([1], { [Symbol('s')]: 1 })]))).toMatch(
      /argument 0 is an array with a symbol-keyed property/,
    );
    // biome-ignore lint/suspicious/noSparseArray: the hole is the point
    expect(refusal(() => encodeArgs([[1, , 3]]))).toMatch(/argument 0 is an array with a hole at index 1/);
    expect(refusal(() => encodeArgs([new Array(2)]))).toMatch(/hole at index 0/);
    // A hole and an extra property together (the own-key count alone would match).
    const both = [1, 2] as unknown[] & { x?: number };
    delete both[0];
    both.x = 1;
    expect(refusal(() => encodeArgs([both]))).toMatch(/hole at index 0/);
  });

  it('own properties of a Date, and subclasses of Array and Date', () => {
    expect(refusal(() => encodeArgs([Object.assign(new Date(0), { tz: 'UTC' })]))).toMatch(
      /argument 0 is a Date with a property "tz"/,
    );
    expect(refusal(() => encodeArgs([Object.assign(new Date(0), { [Symbol('s')]: 1 })]))).toMatch(
      /argument 0 is a Date with a symbol-keyed property/,
    );
    class Stamp extends Date {}
    class List extends Array<number> {}
    expect(refusal(() => encodeArgs([new Stamp(0)]))).toMatch(/argument 0 is an instance of Stamp/);
    expect(refusal(() => encodeArgs([List.from([1])]))).toMatch(/argument 0 is an instance of List/);
  });

  it('still encodes plain arrays, Dates and objects as before', () => {
    expect(encodeArgs([[1, 'a'], new Date(5), { b: 1, a: [null, undefined] }])).toBe(
      '[1,"a"],Date(5),{"a":[null,undefined],"b":1}',
    );
    const bare = Object.create(null) as Record<string, unknown>;
    bare.a = 1;
    expect(encodeArgs([bare])).toBe('{__proto__:null,"a":1}');
    expect(encodeArgs([Object.create(null)])).toBe('{__proto__:null}');
    // An own "__proto__" key (as JSON.parse makes) is an ordinary, quoted key.
    expect(encodeArgs([JSON.parse('{"__proto__":null}')])).toBe('{"__proto__":null}');
  });
});

// ---------------------------------------------------------------- property: distinct inputs, distinct keys

type Tricky = 'symbol' | 'hidden' | 'extra' | 'hole' | 'date-prop';

/** A generated argument, and whether the generator made it refusable (then it must be refused). */
interface Gen {
  value: unknown;
  refused: boolean;
}

function makeObject(entries: [string, Gen][], nullProto: boolean, tricky: Tricky | null): Gen {
  const out: Record<string, unknown> = nullProto ? Object.create(null) : {};
  for (const [k, v] of entries)
    Object.defineProperty(out, k, { value: v.value, enumerable: true, writable: true, configurable: true });
  if (tricky === 'symbol') (out as Record<symbol, unknown>)[Symbol('s')] = 1;
  if (tricky === 'hidden') Object.defineProperty(out, '\u0000hidden', { value: 1, enumerable: false });
  const refused = tricky === 'symbol' || tricky === 'hidden' || entries.some(([, v]) => v.refused);
  return { value: out, refused };
}

function makeArray(items: Gen[], tricky: Tricky | null): Gen {
  const out: unknown[] = items.map((g) => g.value);
  let refused = items.some((g) => g.refused);
  if (tricky === 'extra') {
    (out as unknown[] & { extra?: number }).extra = 1;
    refused = true;
  } else if (tricky === 'symbol') {
    (out as unknown as Record<symbol, unknown>)[Symbol('s')] = 1;
    refused = true;
  } else if (tricky === 'hole' && out.length > 0) {
    delete out[0];
    refused = true;
  }
  return { value: out, refused };
}

const trickyArb = fc.option(fc.constantFrom<Tricky>('symbol', 'hidden', 'extra', 'hole', 'date-prop'), {
  freq: 3,
});

const { gen } = fc.letrec<{ gen: Gen }>((tie) => ({
  gen: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc
      .oneof(
        fc.string({ maxLength: 3 }),
        fc.integer({ min: -3, max: 3 }),
        fc.constantFrom(0, -0, Number.NaN, Number.POSITIVE_INFINITY, 1.5),
        fc.boolean(),
        fc.constant(null),
        fc.constant(undefined),
        fc.bigInt({ min: -2n, max: 2n }),
      )
      .map((value) => ({ value, refused: false })),
    fc.tuple(fc.integer({ min: -1, max: 2 }), trickyArb).map(([t, tricky]) => {
      const d = new Date(t);
      if (tricky === 'date-prop') (d as Date & { p?: number }).p = 1;
      return { value: d, refused: tricky === 'date-prop' };
    }),
    fc
      .tuple(fc.array(tie('gen'), { maxLength: 3 }), trickyArb)
      .map(([items, tricky]) => makeArray(items, tricky)),
    fc
      .tuple(
        fc.uniqueArray(fc.tuple(fc.constantFrom('a', 'b', '__proto__', '1'), tie('gen')), {
          maxLength: 3,
          selector: ([k]) => k,
        }),
        fc.boolean(),
        trickyArb,
      )
      .map(([entries, nullProto, tricky]) => makeObject(entries, nullProto, tricky)),
  ),
}));

/** Structural equality of accepted arguments: types, prototypes, keys and values (NaN = NaN, 0 ≠ -0). */
function same(a: unknown, b: unknown): boolean {
  if (typeof a !== typeof b) return false;
  if (typeof a !== 'object' || a === null || b === null) return Object.is(a, b);
  const pa = Object.getPrototypeOf(a);
  if (pa !== Object.getPrototypeOf(b)) return false;
  if (a instanceof Date) return Object.is(a.getTime(), (b as Date).getTime());
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((v, i) => same(v, bb[i]));
  }
  const ka = Object.keys(a).sort();
  const kb = Object.keys(b as object).sort();
  return (
    ka.length === kb.length &&
    ka.every(
      (k, i) => k === kb[i] && same((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]),
    )
  );
}

function keyOf(value: unknown): string | TypeError {
  try {
    return encodeArgs([value]);
  } catch (error) {
    if (error instanceof TypeError) return error;
    throw error;
  }
}

describe('wrap keys: distinct arguments give distinct keys or are refused (property)', () => {
  it('refuses exactly the generated arguments the key would misrepresent, naming argument 0', () => {
    fc.assert(
      fc.property(gen, (g) => {
        const key = keyOf(g.value);
        if (g.refused) {
          expect(key).toBeInstanceOf(TypeError);
          expect((key as TypeError).message).toMatch(/^wrap: argument 0/);
        } else {
          expect(typeof key).toBe('string');
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('two accepted arguments share a key exactly when they are structurally the same', () => {
    fc.assert(
      fc.property(gen, gen, (a, b) => {
        const ka = keyOf(a.value);
        const kb = keyOf(b.value);
        if (typeof ka !== 'string' || typeof kb !== 'string') return;
        expect(ka === kb).toBe(same(a.value, b.value));
        // The same argument encodes the same way every time.
        expect(keyOf(a.value)).toBe(ka);
      }),
      { numRuns: 3000 },
    );
  });
});

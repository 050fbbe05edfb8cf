import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { defaultSerializer } from '../../src/serializer.js';

const { serialize, deserialize } = defaultSerializer;
const roundTrip = (value: unknown): unknown => deserialize(serialize(value));

describe('defaultSerializer: round trips', () => {
  it('stores plain JSON as J + JSON.stringify, read back with one JSON.parse', () => {
    const value = { a: 1, b: 'x', c: [true, null, { d: 2.5 }], e: '' };
    expect(serialize(value)).toBe(`J${JSON.stringify(value)}`);
    expect(roundTrip(value)).toStrictEqual(value);
    for (const v of [0, -1.5, 'str', true, false, null, [], {}]) expect(roundTrip(v)).toStrictEqual(v);
  });

  it('round-trips Date (also invalid), Map, Set and bigint, at the top and nested', () => {
    const value = {
      when: new Date(1_700_000_000_123),
      invalid: new Date(Number.NaN),
      map: new Map<unknown, unknown>([
        ['a', 1],
        [2, new Date(5)],
        [{ k: 1 }, new Set([1n, 'x'])],
      ]),
      set: new Set([1, 'two', new Map([[3n, [4]]])]),
      big: 123456789012345678901234567890n,
      negative: -42n,
    };
    const back = roundTrip(value) as typeof value;
    expect(back).toStrictEqual(value);
    expect(back.when).toBeInstanceOf(Date);
    expect(Number.isNaN(back.invalid.getTime())).toBe(true);
    expect(roundTrip(new Date(7))).toStrictEqual(new Date(7));
    expect(roundTrip(new Map([[1, 2]]))).toStrictEqual(new Map([[1, 2]]));
    expect(roundTrip(new Set(['a']))).toStrictEqual(new Set(['a']));
    expect(roundTrip(10n)).toBe(10n);
  });

  it('keeps undefined inside objects and arrays (JSON would drop it or turn it into null)', () => {
    const value = { a: undefined, b: [undefined, 1, undefined], c: { d: undefined } };
    const back = roundTrip(value) as typeof value;
    expect(back).toStrictEqual(value);
    expect(Object.keys(back)).toEqual(['a', 'b', 'c']);
    expect('d' in back.c).toBe(true);
  });

  it('keeps NaN, Infinity, -Infinity and -0 (JSON would turn them into null or 0)', () => {
    const value = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0, 0];
    const back = roundTrip(value) as number[];
    expect(back).toStrictEqual(value);
    expect(Object.is(back[3], -0)).toBe(true);
    expect(Object.is(roundTrip(-0), -0)).toBe(true);
  });

  it('stores an own "__proto__" key as data, never as a prototype', () => {
    const value = JSON.parse('{"__proto__": {"polluted": true}, "d": 1}') as Record<string, unknown>;
    value.when = new Date(1);
    const back = roundTrip(value) as Record<string, unknown>;
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
    expect(Object.hasOwn(back, '__proto__')).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    const nested = JSON.parse('{"__proto__": 5}') as Record<string, unknown>;
    const withFix = { x: nested, y: 1n };
    (nested as Record<string, unknown>).z = 2n;
    const back2 = roundTrip(withFix) as { x: Record<string, unknown> };
    expect(Object.hasOwn(back2.x, '__proto__')).toBe(true);
    expect(back2.x.z).toBe(2n);
  });

  it('gives objects without a prototype back without one, at the top and nested', () => {
    const value = Object.create(null) as Record<string, unknown>;
    value.a = 1;
    const back = roundTrip(value) as Record<string, unknown>;
    expect(Object.getPrototypeOf(back)).toBeNull();
    expect({ ...back }).toEqual({ a: 1 });
    // As GraphQL results are built: null-prototype objects inside plain ones, with dates and odd keys.
    const row = Object.create(null) as Record<string, unknown>;
    Object.defineProperty(row, '__proto__', { value: { x: 1 }, enumerable: true, writable: true });
    row.at = new Date(5);
    row.inner = Object.create(null);
    const back2 = roundTrip({ data: { rows: [row] } }) as { data: { rows: Record<string, unknown>[] } };
    const r = back2.data.rows[0] as Record<string, unknown>;
    expect(Object.getPrototypeOf(back2)).toBe(Object.prototype);
    expect(Object.getPrototypeOf(r)).toBeNull();
    expect(Object.getPrototypeOf(r.inner)).toBeNull();
    expect(Object.hasOwn(r, '__proto__')).toBe(true);
    expect(Object.getOwnPropertyDescriptor(r, '__proto__')?.value).toEqual({ x: 1 });
    expect(r.at).toEqual(new Date(5));
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  it('round-trips any mix of the supported types (property)', () => {
    const leaf = fc.oneof(
      fc.string(),
      fc.double(),
      fc.boolean(),
      fc.constant(null),
      fc.bigInt(),
      fc.date({ noInvalidDate: false }),
      fc.constant(undefined),
    );
    const { value } = fc.letrec<{ value: unknown }>((tie) => ({
      value: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        leaf,
        tie('array'),
        tie('object'),
        tie('map'),
        tie('set'),
      ),
      array: fc.array(tie('value'), { maxLength: 4 }),
      object: fc.dictionary(fc.string(), tie('value'), { maxKeys: 4, noNullPrototype: true }),
      map: fc
        .array(fc.tuple(tie('value'), tie('value')), { maxLength: 3 })
        .map((entries) => new Map(entries)),
      set: fc.array(tie('value'), { maxLength: 3 }).map((items) => new Set(items)),
    }));
    fc.assert(
      fc.property(value, (v) => {
        if (v === undefined) return;
        expect(roundTrip(v)).toStrictEqual(v);
      }),
      { numRuns: 300 },
    );
  });
});

describe('defaultSerializer: refusals', () => {
  const refuses = (value: unknown, what: RegExp, where: string): void => {
    let error: unknown;
    try {
      serialize(value);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TypeError);
    const message = (error as Error).message;
    expect(message).toMatch(what);
    expect(message).toContain(` at ${where};`);
    expect(message).toContain('custom serializer');
  };

  it('refuses undefined as the whole value', () => {
    expect(() => serialize(undefined)).toThrow(TypeError);
  });

  it('refuses functions and symbols, naming the path', () => {
    refuses({ a: { b: [1, () => 1] } }, /a function/, '$.a.b[1]');
    refuses(Symbol('s'), /a symbol/, '$');
    refuses({ 'odd key': { fn() {} } }, /a function/, '$["odd key"].fn');
  });

  it('refuses class instances other than Date, Map and Set (they would come back as plain objects)', () => {
    class User {
      name = 'a';
    }
    refuses({ user: new User() }, /an instance of User/, '$.user');
    refuses([/re/], /an instance of RegExp/, '$[0]');
    refuses({ e: new Error('x') }, /an instance of Error/, '$.e');
    refuses({ bytes: new Uint8Array(2) }, /an instance of Uint8Array/, '$.bytes');
    refuses({ s: new String('boxed') }, /an instance of String/, '$.s');
    class MyDate extends Date {}
    refuses({ d: new MyDate(0) }, /an instance of MyDate/, '$.d');
    class MyArray extends Array {}
    refuses({ list: MyArray.from([1]) }, /an instance of MyArray/, '$.list');
  });

  it('refuses values inside Map keys, Map values and Set items, naming where', () => {
    refuses({ m: new Map([[() => 1, 1]]) }, /a function/, '$.m<Map key #0>');
    refuses(
      {
        m: new Map<number, unknown>([
          [1, 1],
          [2, Symbol()],
        ]),
      },
      /a symbol/,
      '$.m<Map value #1>',
    );
    refuses(new Set([1, new WeakMap()]), /an instance of WeakMap/, '$<Set item #1>');
  });

  it('refuses symbol keys anywhere (JSON would drop them), naming the key', () => {
    refuses({ inner: { [Symbol('k')]: 1 } }, /a symbol key on an object/, '$.inner[Symbol(k)]');
    const list: unknown[] = [1];
    (list as unknown as Record<symbol, unknown>)[Symbol('s')] = 1;
    refuses({ list }, /a symbol key on an array/, '$.list[Symbol(s)]');
    const bare = Object.create(null) as Record<string | symbol, unknown>;
    bare[Symbol.iterator] = 1;
    refuses([bare], /a symbol key on an object/, '$[0][Symbol(Symbol.iterator)]');
  });

  it('refuses own properties of arrays other than their elements, naming the path', () => {
    const items: unknown[] = [0, 1, 2, { a: 1 }];
    (items[3] as Record<string, unknown>).b = [1];
    ((items[3] as { b: unknown[] }).b as unknown as Record<string, unknown>).foo = 1;
    refuses({ items }, /an extra property on an array/, '$.items[3].b.foo');
    // A RegExp match is an array with index, input and groups.
    refuses({ m: 'abc'.match(/b/) }, /an extra property on an array/, '$.m.index');
    // Also next to holes (as many holes as extras), and with a key that looks like an index but is not one.
    const sparse: unknown[] = [];
    sparse[3] = 1;
    (sparse as unknown as Record<string, unknown>).extra = 1;
    refuses(sparse, /an extra property on an array/, '$.extra');
    const holes: unknown[] = [1, 2];
    delete holes[0];
    (holes as unknown as Record<string, unknown>)['01'] = 1;
    refuses(holes, /an extra property on an array/, '$["01"]');
    // Plain arrays, empty, sparse and long, are stored.
    expect(roundTrip([])).toEqual([]);
    const holey: unknown[] = [];
    holey[1] = 1;
    expect(roundTrip(holey)).toEqual([undefined, 1]);
    expect((roundTrip(Array.from({ length: 1000 }, (_, i) => i)) as number[]).length).toBe(1000);
  });

  it('refuses own properties of Dates, Maps and Sets (they would be dropped)', () => {
    const d = new Date(0) as Date & { note?: string };
    d.note = 'x';
    refuses({ d }, /an extra property on a Date/, '$.d.note');
    const m = new Map([[1, 1]]) as Map<number, number> & { size2?: number };
    m.size2 = 1;
    refuses([m], /an extra property on a Map/, '$[0].size2');
    const set = new Set([1]);
    (set as unknown as Record<symbol, unknown>)[Symbol('t')] = 1;
    refuses({ set }, /a symbol key on a Set/, '$.set[Symbol(t)]');
  });

  it('refuses circular references, also through Maps and Sets', () => {
    const a: Record<string, unknown> = { b: {} };
    (a.b as Record<string, unknown>).a = a;
    refuses(a, /circular reference/, '$.b.a');
    const m = new Map<string, unknown>();
    m.set('self', m);
    refuses({ m }, /circular reference/, '$.m<Map value #0>');
  });

  it('refuses values nested deeper than 2000 levels (reading them back would be as deep)', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 2100; i++) deep = [deep];
    expect(() => serialize(deep)).toThrow(/nested deeper than 2000 levels/);
    let ok: unknown = 1;
    for (let i = 0; i < 500; i++) ok = { a: ok };
    expect(roundTrip(ok)).toStrictEqual(ok);
  });

  it('stores shared (non-circular) references as copies', () => {
    const shared = { x: 1 };
    const back = roundTrip({ a: shared, b: shared }) as { a: unknown; b: unknown };
    expect(back.a).toStrictEqual(shared);
    expect(back.a).not.toBe(back.b);
  });
});

describe('defaultSerializer: reading bad input', () => {
  it('throws a SyntaxError for text it did not write', () => {
    expect(() => deserialize('Jnope')).toThrow(SyntaxError);
    expect(() => deserialize('M[[["u","__proto__","x"]],{}]')).toThrow(SyntaxError);
    expect(() => deserialize('')).toThrow(/cannot decode/);
    expect(() => deserialize('{"a":1}')).toThrow(/cannot decode/);
    expect(() => deserialize('X[]')).toThrow(/unknown format/);
    expect(() => deserialize('J{oops')).toThrow(/invalid JSON/);
    expect(() => deserialize('M{}')).toThrow(/bad M envelope/);
    expect(() => deserialize('M[[["q"]],1]')).toThrow(/bad "q" fix-up/);
    expect(() => deserialize('M[[["d","a","b"]],{}]')).toThrow(/leads nowhere/);
    expect(() => deserialize('M[[["b"]],"12x"]')).toThrow(/fix-up/);
    expect(() => deserialize('M[[["m"]],[1]]')).toThrow(/fix-up/);
  });
});

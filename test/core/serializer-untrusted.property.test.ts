/**
 * defaultSerializer.deserialize reads text from Redis, which any app sharing the Redis can write: fuzzed with
 * arbitrary text and with well-formed but hostile payloads, it either returns a value or throws its documented
 * SyntaxError, and never changes a prototype.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultSerializer } from '../../src/serializer.js';

const PROTOTYPES = [
  Object.prototype,
  Array.prototype,
  Function.prototype,
  Map.prototype,
  Set.prototype,
  Date.prototype,
  String.prototype,
  Number.prototype,
  BigInt.prototype,
];

/** Every own property (name and descriptor) of the built-in prototypes a payload could reach. */
function snapshot(): Map<object, Map<string | symbol, PropertyDescriptor>> {
  const out = new Map<object, Map<string | symbol, PropertyDescriptor>>();
  for (const proto of PROTOTYPES) {
    const props = new Map<string | symbol, PropertyDescriptor>();
    for (const key of Reflect.ownKeys(proto)) {
      props.set(key, Object.getOwnPropertyDescriptor(proto, key) as PropertyDescriptor);
    }
    out.set(proto, props);
  }
  return out;
}

const before = snapshot();

function expectPrototypesUntouched(): void {
  expect(snapshot()).toEqual(before);
  for (const proto of PROTOTYPES)
    expect(Object.getPrototypeOf(proto)).toBe(proto === Object.prototype ? null : Object.prototype);
  expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
}

/** deserialize either returns or throws a SyntaxError naming itself. */
function decodesOrRefuses(text: string): void {
  try {
    defaultSerializer.deserialize(text);
  } catch (error) {
    expect(error).toBeInstanceOf(SyntaxError);
    expect((error as Error).message).toMatch(/^larder serializer: cannot decode the stored value/);
  }
}

/** Keys a hostile payload would use. */
const HOSTILE_KEYS = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'valueOf',
  'hasOwnProperty',
  'isAdmin',
  'length',
  'v',
  '0',
];

const segment = fc.oneof(
  fc.constantFrom(...HOSTILE_KEYS),
  fc.string({ maxLength: 4 }),
  fc.integer({ min: -2, max: 4 }),
  fc.constantFrom(1.5, Number.MAX_SAFE_INTEGER),
  fc.constantFrom(null, true, [], {}),
);

const code = fc.oneof(fc.constantFrom('u', 'n', 'b', 'd', 'm', 's', 'o'), fc.string({ maxLength: 2 }));

const fixup = fc.oneof(
  fc.tuple(code).chain(([c]) => fc.array(segment, { maxLength: 4 }).map((path) => [c, ...path])),
  fc.constantFrom(null, 'u', 5, {}, []),
);

/** JSON text of nested arrays and objects whose keys include __proto__ and friends (as own keys). */
const hostileJson: fc.Arbitrary<string> = fc
  .letrec<{ value: unknown }>((tie) => ({
    value: fc.oneof(
      { depthSize: 'small' },
      fc.constantFrom(null, 0, -1, 'x', 'NaN', '-0', '12', true, 1e21),
      fc.array(tie('value'), { maxLength: 4 }),
      fc
        .array(
          fc.tuple(fc.oneof(fc.constantFrom(...HOSTILE_KEYS), fc.string({ maxLength: 3 })), tie('value')),
          {
            maxLength: 4,
          },
        )
        .map((entries) => {
          const out: Record<string, unknown> = {};
          for (const [k, v] of entries) {
            Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
          }
          return out;
        }),
    ),
  }))
  .value.map((v) => JSON.stringify(v) ?? 'null');

describe('defaultSerializer.deserialize on untrusted text', () => {
  afterEach(() => {
    expectPrototypesUntouched();
  });

  it('refuses the prototype-pollution payloads of issue 15 and pollutes nothing', () => {
    for (const text of [
      'M[[["u","__proto__","isAdmin"]],{}]',
      'M[[["u","constructor","prototype","isAdmin"]],{}]',
      'M[[["u","toString"]],{}]',
      'M[[["u","hasOwnProperty"]],{}]',
      'M[[["u","__proto__","toString"]],{"a":1}]',
      'M[[["u",0,"__proto__","isAdmin"]],[{}]]',
      'M[[["u","length"]],[1]]',
      'M[[["u","a","__proto__","isAdmin"]],{"a":[]}]',
      // Into a Map revived by an earlier fix-up, then through its prototype.
      'M[[["m","a"],["u","a","set"]],{"a":[]}]',
      'M[[["o","a"],["u","a","isAdmin"]],{"a":{}}]',
    ]) {
      expect(() => defaultSerializer.deserialize(text), text).toThrow(SyntaxError);
      expectPrototypesUntouched();
    }
  });

  it('keeps an own "__proto__" key as data when a fix-up goes through it', () => {
    const back = defaultSerializer.deserialize(
      'M[[["u","__proto__","isAdmin"]],{"__proto__":{"isAdmin":1}}]',
    ) as Record<string, unknown>;
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
    expect(Object.hasOwn(back, '__proto__')).toBe(true);
    const inner = Object.getOwnPropertyDescriptor(back, '__proto__')?.value as Record<string, unknown>;
    expect(Object.hasOwn(inner, 'isAdmin')).toBe(true);
    expect(inner.isAdmin).toBeUndefined();
  });

  it('arbitrary text: a value or a SyntaxError, never anything else (property)', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.string({ unit: 'binary' }),
          fc.string().map((s) => `J${s}`),
          fc.string().map((s) => `M${s}`),
          fc.json().map((j) => `J${j}`),
          fc.json().map((j) => `M${j}`),
        ),
        (text) => {
          decodesOrRefuses(text);
          expectPrototypesUntouched();
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('well-formed hostile payloads (fix-ups through __proto__, constructor, inherited and revived values): a value or a SyntaxError, no pollution (property)', () => {
    fc.assert(
      fc.property(fc.array(fixup, { maxLength: 5 }), hostileJson, (fixups, json) => {
        decodesOrRefuses(`M[${JSON.stringify(fixups)},${json}]`);
        expectPrototypesUntouched();
      }),
      { numRuns: 1500 },
    );
  });

  it('a decoded value holds only own data: no getter, no prototype other than the built-in ones (property)', () => {
    const allowed = new Set<unknown>([
      null,
      Object.prototype,
      Array.prototype,
      Map.prototype,
      Set.prototype,
      Date.prototype,
    ]);
    const check = (value: unknown, depth: number): void => {
      if (typeof value !== 'object' || value === null || depth > 50) return;
      expect(allowed.has(Object.getPrototypeOf(value))).toBe(true);
      if (value instanceof Map) {
        for (const [k, v] of value) {
          check(k, depth + 1);
          check(v, depth + 1);
        }
        return;
      }
      if (value instanceof Set) {
        for (const v of value) check(v, depth + 1);
        return;
      }
      for (const key of Reflect.ownKeys(value)) {
        const d = Object.getOwnPropertyDescriptor(value, key) as PropertyDescriptor;
        expect(d.get).toBeUndefined();
        check(d.value, depth + 1);
      }
    };
    fc.assert(
      fc.property(fc.array(fixup, { maxLength: 5 }), hostileJson, (fixups, json) => {
        let value: unknown;
        try {
          value = defaultSerializer.deserialize(`M[${JSON.stringify(fixups)},${json}]`);
        } catch {
          return;
        }
        check(value, 0);
      }),
      { numRuns: 1000 },
    );
  });
});

/**
 * Cheap 32-bit hashing of cache keys for the frequency sketch.
 *
 * The sketch only needs the same key to give the same number, and different keys to give different
 * numbers most of the time: the sketch mixes the result again before use, so these functions spend
 * as little as possible. The W-TinyLFU store hashes a key when it is inserted or missed, and again
 * when it is compared for admission or evicted, when its deferred hits are added to the sketch, and on
 * hits of keys in the guards' sample (it keeps no hash per entry, to save memory).
 *
 * Consistency with `Map` key equality (SameValueZero): `0` and `-0` hash alike, every `NaN` hashes
 * alike.
 *
 * @internal
 */

/** FNV-1a's 32-bit parameters (an enum, so that the bundle holds literals: see `tinylfu-store.ts`). */
enum Fnv {
  OFFSET = 0x811c9dc5,
  PRIME = 0x01000193,
}

const floatView = new Float64Array(1);
const intView = new Int32Array(floatView.buffer);

let objectIds: WeakMap<object, number> | undefined;
let nextObjectId = 0x9e3779b9 | 0;

/**
 * Hashes a string: FNV-1a with `Math.imul` over its UTF-16 code units taken two at a time (one 32-bit
 * word per step; the length seeds the hash, so a trailing NUL still counts). Every code unit counts,
 * so keys that differ only in the middle (`user:1234:profile` vs `user:1235:profile`) hash apart. The
 * cost grows with the length, like V8's own hashing of a new string for a `Map` lookup; two units per
 * multiply halve the dependent chain of one unit per step (a 13-character key: 19 ns instead of 34).
 * The W-TinyLFU store hashes a key again when it is compared for admission (unless it was inserted
 * recently), so this cost is on the eviction path.
 *
 * @param s - the string
 * @returns a 32-bit signed integer
 * @internal
 */
export function hashString(s: string): number {
  const n = s.length;
  let h = Fnv.OFFSET ^ n;
  let i = 0;
  for (; i + 1 < n; i += 2) {
    h = Math.imul(h ^ (s.charCodeAt(i) | (s.charCodeAt(i + 1) << 16)), Fnv.PRIME);
  }
  if (i < n) h = Math.imul(h ^ s.charCodeAt(i), Fnv.PRIME);
  return h | 0;
}

/**
 * Hashes a number. Integers in the 32-bit range are their own hash (the sketch mixes them); other
 * numbers hash their IEEE-754 bits.
 *
 * @param n - the number
 * @returns a 32-bit signed integer
 * @internal
 */
export function hashNumber(n: number): number {
  if ((n | 0) === n) return n | 0; // also maps -0 to 0
  if (Number.isNaN(n)) return 0x7ff80000; // every NaN
  floatView[0] = n;
  return (intView[0]! ^ Math.imul(intView[1]!, 0x27d4eb2d)) | 0;
}

/**
 * Hashes any key: strings and numbers directly, objects and functions by an identity number kept in
 * a `WeakMap` (no leak: the number goes when the object goes), symbols by their description,
 * bigints by their low 32 bits, booleans by value.
 *
 * @param key - the key
 * @returns a 32-bit signed integer
 * @internal
 */
export function hashKey(key: unknown): number {
  // Strings first, by a comparison V8 compiles to a type check: a `switch` on `typeof` calls V8's
  // `Typeof` builtin on every key.
  if (typeof key === 'string') return hashString(key);
  switch (typeof key) {
    case 'number':
      return hashNumber(key);
    case 'object':
    case 'function':
      return key === null ? 0 : hashObject(key);
    case 'bigint':
      return Number(BigInt.asIntN(32, key)) ^ 0x5bd1e995;
    case 'symbol':
      return hashString(key.description ?? '') ^ 0x2545f491;
    case 'boolean':
      return key ? 0x3c6ef372 : 0x1b873593;
    default:
      return 0;
  }
}

function hashObject(o: object): number {
  if (objectIds === undefined) objectIds = new WeakMap();
  let id = objectIds.get(o);
  if (id === undefined) {
    // Weyl sequence: consecutive objects get well-spread identity numbers.
    nextObjectId = (nextObjectId + 0x61c88647) | 0;
    id = nextObjectId;
    objectIds.set(o, id);
  }
  return id;
}

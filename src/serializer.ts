/**
 * Turns cached values into text for a second tier (such as Redis) and back.
 *
 * `serialize` runs when a value is written to the tier; it should throw a `TypeError` for a value it cannot
 * turn back into an equal value, rather than store something that would come back different.
 * `deserialize` runs on every tier hit; it throws when the text is not something it wrote (the tier then
 * treats the entry as a miss and reports the error). The text comes from Redis, which other apps may write
 * to: treat it as untrusted input.
 *
 * @example
 * ```ts
 * // Plain JSON (faster to write, but Dates come back as strings and Maps as {}):
 * const json: Serializer = { serialize: JSON.stringify, deserialize: JSON.parse };
 * ```
 */
export interface Serializer {
  /** Converts a value (never `undefined`) to text. Throws a `TypeError` when the value cannot round-trip. */
  serialize(value: unknown): string;
  /** Converts text written by `serialize` back to the value. Throws when the text is not valid. */
  deserialize(text: string): unknown;
}

/** Path segments: object keys (strings), array indexes (numbers), Map entry parts (encoded as index, 0|1). */
type Segment = string | number;
/** A fix-up in the stored form: a type code followed by the path of the value it applies to. */
type Fixup = [code: string, ...path: Segment[]];

/** Raised inside the walk and turned into a TypeError with the path once it reaches the top. */
class Refusal {
  readonly path: string[] = [];
  constructor(readonly what: string) {}
}

const HINT =
  'the default serializer stores JSON values plus Date, Map, Set, bigint, undefined, NaN, ±Infinity and -0; ' +
  'pass a custom serializer to store other types';

/** Beyond this depth a value is refused (deserializing it would be as deep). */
const MAX_DEPTH = 2000;

function describeBad(value: unknown): string {
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'symbol') return 'a symbol';
  const name = (value as object).constructor?.name;
  return name ? `an instance of ${name}` : 'an object with an unknown prototype';
}

/**
 * Checks that `value` can round-trip and tells whether it needs fix-ups (holds anything but plain JSON).
 * Throws a {@link Refusal} otherwise.
 */
function scan(value: unknown, depth: number, stack: unknown[]): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return false;
    case 'number':
      return !Number.isFinite(value) || (value === 0 && 1 / value < 0);
    case 'bigint':
    case 'undefined':
      return true;
    case 'object':
      break;
    default:
      throw new Refusal(describeBad(value));
  }
  if (value === null) return false;
  if (depth > 0 && stack.includes(value)) throw new Refusal('a circular reference');
  if (depth >= MAX_DEPTH) throw new Refusal(`a value nested deeper than ${MAX_DEPTH} levels`);
  stack.push(value);
  let special = false;
  if (Array.isArray(value)) {
    if (Object.getPrototypeOf(value) !== Array.prototype) throw new Refusal(describeBad(value));
    for (let i = 0; i < value.length; i++) {
      try {
        if (scan(value[i], depth + 1, stack)) special = true;
      } catch (e) {
        if (e instanceof Refusal) e.path.push(`[${i}]`);
        throw e;
      }
    }
    refuseExtraKeys(value, 'an array', true);
  } else {
    const proto = Object.getPrototypeOf(value);
    if (proto === Object.prototype || proto === null) {
      if (proto === null) special = true;
      for (const k in value) {
        try {
          if (scan((value as Record<string, unknown>)[k], depth + 1, stack)) special = true;
        } catch (e) {
          if (e instanceof Refusal) e.path.push(propertyPath(k));
          throw e;
        }
      }
      const symbols = Object.getOwnPropertySymbols(value);
      if (symbols.length > 0) refuseKey(symbols[0] as symbol, 'an object');
    } else if (proto === Date.prototype) {
      special = true;
      refuseExtraKeys(value, 'a Date', false);
    } else if (proto === Map.prototype) {
      special = true;
      refuseExtraKeys(value, 'a Map', false);
      let i = 0;
      for (const [k, v] of value as Map<unknown, unknown>) {
        try {
          scan(k, depth + 1, stack);
        } catch (e) {
          if (e instanceof Refusal) e.path.push(`<Map key #${i}>`);
          throw e;
        }
        try {
          scan(v, depth + 1, stack);
        } catch (e) {
          if (e instanceof Refusal) e.path.push(`<Map value #${i}>`);
          throw e;
        }
        i++;
      }
    } else if (proto === Set.prototype) {
      special = true;
      refuseExtraKeys(value, 'a Set', false);
      let i = 0;
      for (const v of value as Set<unknown>) {
        try {
          scan(v, depth + 1, stack);
        } catch (e) {
          if (e instanceof Refusal) e.path.push(`<Set item #${i}>`);
          throw e;
        }
        i++;
      }
    } else {
      throw new Refusal(describeBad(value));
    }
  }
  stack.pop();
  return special;
}

/**
 * Refuses own properties the stored form would drop: on an array, anything but its elements and `length`
 * (e.g. a RegExp match's `index`); on a Date, Map or Set, any own property at all. Symbol keys included.
 * Non-enumerable string-keyed properties of arrays are not looked for (JSON ignores them too; finding them
 * would cost a list of every index of every array).
 */
function refuseExtraKeys(value: object, what: string, isArray: boolean): void {
  if (!isArray) {
    const keys = Reflect.ownKeys(value);
    if (keys.length > 0) refuseKey(keys[0] as string | symbol, what);
    return;
  }
  const array = value as unknown[];
  const length = array.length;
  const keys = Object.keys(array);
  // Own enumerable keys come in order: indexes, then other strings. Without holes or extras the last key
  // is the last index.
  if (keys.length !== length || (length > 0 && keys[length - 1] !== String(length - 1))) {
    for (const key of keys) if (!isIndex(key)) refuseKey(key, what);
  }
  const symbols = Object.getOwnPropertySymbols(array);
  if (symbols.length > 0) refuseKey(symbols[0] as symbol, what);
}

function isIndex(key: string): boolean {
  return /^(?:0|[1-9]\d*)$/.test(key) && Number(key) < 4_294_967_295;
}

function refuseKey(key: string | symbol, what: string): never {
  const refusal = new Refusal(
    typeof key === 'symbol'
      ? `a symbol key on ${what} (it would be dropped)`
      : `an extra property on ${what} (it would be dropped)`,
  );
  refusal.path.push(typeof key === 'symbol' ? `[${String(key)}]` : propertyPath(key));
  throw refusal;
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

function propertyPath(key: string): string {
  return IDENTIFIER.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

/**
 * Builds the JSON-safe form of a value that needs fix-ups, appending them (children before parents) to
 * `fixups`. `path` is the current path, shared and restored by every call.
 */
function encode(value: unknown, path: Segment[], fixups: Fixup[]): unknown {
  switch (typeof value) {
    case 'number':
      if (Number.isFinite(value) && !(value === 0 && 1 / value < 0)) return value;
      fixups.push(['n', ...path]);
      return value === 0 ? '-0' : String(value);
    case 'bigint':
      fixups.push(['b', ...path]);
      return value.toString();
    case 'undefined':
      fixups.push(['u', ...path]);
      return null;
    case 'object':
      break;
    default:
      return value;
  }
  if (value === null) return null;
  if (Array.isArray(value)) {
    const out = new Array<unknown>(value.length);
    for (let i = 0; i < value.length; i++) {
      path.push(i);
      out[i] = encode(value[i], path, fixups);
      path.pop();
    }
    return out;
  }
  if (value instanceof Date) {
    fixups.push(['d', ...path]);
    const time = value.getTime();
    return Number.isNaN(time) ? null : time;
  }
  if (value instanceof Map) {
    const out: unknown[] = [];
    let i = 0;
    for (const [k, v] of value) {
      path.push(i, 0);
      const ek = encode(k, path, fixups);
      path[path.length - 1] = 1;
      const ev = encode(v, path, fixups);
      path.length -= 2;
      out.push([ek, ev]);
      i++;
    }
    fixups.push(['m', ...path]);
    return out;
  }
  if (value instanceof Set) {
    const out: unknown[] = [];
    let i = 0;
    for (const v of value) {
      path.push(i);
      out.push(encode(v, path, fixups));
      path.pop();
      i++;
    }
    fixups.push(['s', ...path]);
    return out;
  }
  const out: Record<string, unknown> = {};
  for (const k in value) {
    path.push(k);
    setOwn(out, k, encode((value as Record<string, unknown>)[k], path, fixups));
    path.pop();
  }
  if (Object.getPrototypeOf(value) === null) fixups.push(['o', ...path]);
  return out;
}

/** Sets an own property, also for the key `__proto__` (which plain assignment would treat as the prototype). */
function setOwn(target: Record<string | number, unknown>, key: Segment, value: unknown): void {
  if (key === '__proto__') {
    Object.defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true });
  } else {
    target[key] = value;
  }
}

function corrupt(detail: string): SyntaxError {
  return new SyntaxError(`larder serializer: cannot decode the stored value (${detail})`);
}

const NUMBERS: Readonly<Record<string, number>> = {
  NaN: Number.NaN,
  Infinity: Number.POSITIVE_INFINITY,
  '-Infinity': Number.NEGATIVE_INFINITY,
  '-0': -0,
};

function revive(code: string, stored: unknown): unknown {
  switch (code) {
    case 'u':
      return undefined;
    case 'n':
      if (typeof stored === 'string' && Object.hasOwn(NUMBERS, stored)) return NUMBERS[stored];
      break;
    case 'b':
      if (typeof stored === 'string' && /^-?\d+$/.test(stored)) return BigInt(stored);
      break;
    case 'd':
      if (stored === null) return new Date(Number.NaN);
      if (typeof stored === 'number') return new Date(stored);
      break;
    case 'm':
      if (Array.isArray(stored) && stored.every((pair) => Array.isArray(pair) && pair.length === 2)) {
        return new Map(stored as [unknown, unknown][]);
      }
      break;
    case 's':
      if (Array.isArray(stored)) return new Set(stored);
      break;
    case 'o':
      if (isPlainObject(stored)) {
        const out = Object.create(null) as Record<string, unknown>;
        // No inherited `__proto__` setter on a null-prototype object: every key becomes an own property.
        for (const k of Object.keys(stored)) out[k] = stored[k];
        return out;
      }
      break;
  }
  throw corrupt(`bad ${JSON.stringify(code)} fix-up`);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype;
}

/**
 * Whether a fix-up path may step from `container` through `segment`: only to an own property of a plain
 * object (or one without a prototype) by its string key, or to an element of an array by its index. Never
 * through `__proto__`, `constructor` or anything inherited, nor into a Map, Set or Date revived earlier.
 */
function isOwnStep(container: unknown, segment: unknown): boolean {
  if (typeof container !== 'object' || container === null) return false;
  const proto = Object.getPrototypeOf(container);
  if (proto === Array.prototype) {
    return (
      Array.isArray(container) &&
      typeof segment === 'number' &&
      Number.isInteger(segment) &&
      segment >= 0 &&
      segment < container.length
    );
  }
  if (proto !== Object.prototype && proto !== null) return false;
  return typeof segment === 'string' && Object.hasOwn(container, segment);
}

/**
 * Applies the fix-ups to the parsed JSON. The text is untrusted (any app sharing the Redis can write it), so
 * every step of every path must be an own property of a plain object or array (see {@link isOwnStep}):
 * anything else makes the whole value undecodable, so no fix-up ever reaches a prototype.
 */
function applyFixups(root: unknown, fixups: unknown): unknown {
  if (!Array.isArray(fixups)) throw corrupt('fix-ups are not a list');
  const holder: Record<Segment, unknown> = { v: root };
  for (const fixup of fixups as unknown[]) {
    if (!Array.isArray(fixup) || typeof fixup[0] !== 'string') throw corrupt('bad fix-up');
    let parent = holder;
    let key: Segment = 'v';
    for (let i = 1; i < fixup.length; i++) {
      const next = parent[key];
      const segment = fixup[i] as unknown;
      if (!isOwnStep(next, segment)) throw corrupt('fix-up path leads nowhere');
      parent = next as Record<Segment, unknown>;
      key = segment as Segment;
    }
    setOwn(parent, key, revive(fixup[0], parent[key]));
  }
  return holder.v;
}

/**
 * The default serializer of `larder/redis`: JSON, plus `Date`, `Map`, `Set`, `bigint`, `undefined` (as an
 * object property or array element), `NaN`, `±Infinity` and `-0`, nested in any way.
 *
 * Objects without a prototype (`Object.create(null)`, as GraphQL results and parsed query strings use) come
 * back without one.
 *
 * It refuses with a `TypeError` naming the path (e.g. `$.user.avatar`, `$.items[3].index`) any value it
 * cannot give back equal: functions, symbols, class instances (other than `Date`, `Map`, `Set`), symbol
 * keys, own properties of arrays other than their elements (such as a RegExp match's `index`), own
 * properties of a `Date`, `Map` or `Set`, and circular references. Shared references are stored as copies.
 * Sparse array holes come back as `undefined`. Non-enumerable properties are not stored (as in JSON).
 *
 * Plain JSON data is stored as `J` + `JSON.stringify(value)` and read with a single `JSON.parse`; data with
 * the extra types as `M` + JSON of `[fixups, jsonSafeValue]`.
 *
 * `deserialize` treats its text as untrusted (any app sharing the Redis can write it): for any text it either
 * returns a value built only from JSON data and the types above, or throws a `SyntaxError`; it never
 * assigns through a prototype (`__proto__`, `constructor`) or an inherited property.
 */
export const defaultSerializer: Serializer = {
  serialize(value: unknown): string {
    if (value === undefined) throw new TypeError('serialize: value must not be undefined');
    let special: boolean;
    try {
      special = scan(value, 0, []);
    } catch (e) {
      if (!(e instanceof Refusal)) throw e;
      const where = `$${e.path.reverse().join('')}`;
      throw new TypeError(`larder serializer: cannot store ${e.what} at ${where}; ${HINT}`);
    }
    if (!special) return `J${JSON.stringify(value)}`;
    const fixups: Fixup[] = [];
    const safe = encode(value, [], fixups);
    return `M${JSON.stringify([fixups, safe])}`;
  },

  deserialize(text: string): unknown {
    const kind = text.charCodeAt(0);
    let parsed: unknown;
    try {
      parsed = JSON.parse(text.slice(1));
    } catch (error) {
      throw corrupt(`invalid JSON: ${(error as Error).message}`);
    }
    if (kind === 74 /* J */) return parsed;
    if (kind === 77 /* M */) {
      if (!Array.isArray(parsed) || parsed.length !== 2) throw corrupt('bad M envelope');
      return applyFixups(parsed[1], parsed[0]);
    }
    throw corrupt(`unknown format ${JSON.stringify(text.slice(0, 1))}`);
  },
};

/**
 * Turns cached values into text for a second tier (such as Redis) and back.
 *
 * `serialize` runs when a value is written to the tier; it should throw a `TypeError` for a value it cannot
 * turn back into an equal value, rather than store something that would come back different.
 * `deserialize` runs on every tier hit; it throws when the text is not something it wrote (the tier then
 * treats the entry as a miss and reports the error).
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
  } else {
    const proto = Object.getPrototypeOf(value);
    if (proto === Object.prototype || proto === null) {
      for (const k in value) {
        try {
          if (scan((value as Record<string, unknown>)[k], depth + 1, stack)) special = true;
        } catch (e) {
          if (e instanceof Refusal) e.path.push(propertyPath(k));
          throw e;
        }
      }
      if (Object.getOwnPropertySymbols(value).length > 0) throw new Refusal('an object with symbol keys');
    } else if (proto === Date.prototype) {
      special = true;
    } else if (proto === Map.prototype) {
      special = true;
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

function corrupt(detail: string): Error {
  return new Error(`larder serializer: cannot decode the stored value (${detail})`);
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
  }
  throw corrupt(`bad ${JSON.stringify(code)} fix-up`);
}

function applyFixups(root: unknown, fixups: unknown): unknown {
  if (!Array.isArray(fixups)) throw corrupt('fix-ups are not a list');
  const holder: Record<Segment, unknown> = { v: root };
  for (const fixup of fixups) {
    if (!Array.isArray(fixup) || typeof fixup[0] !== 'string') throw corrupt('bad fix-up');
    let parent = holder;
    let key: Segment = 'v';
    for (let i = 1; i < fixup.length; i++) {
      const next = parent[key];
      const segment = fixup[i] as unknown;
      if (
        next === null ||
        typeof next !== 'object' ||
        (typeof segment !== 'string' && typeof segment !== 'number')
      ) {
        throw corrupt('fix-up path leads nowhere');
      }
      parent = next as Record<Segment, unknown>;
      key = segment;
    }
    setOwn(parent, key, revive(fixup[0], parent[key]));
  }
  return holder.v;
}

/**
 * The default serializer of `larder/redis`: JSON, plus `Date`, `Map`, `Set`, `bigint`, `undefined` (as an
 * object property or array element), `NaN`, `±Infinity` and `-0`, nested in any way.
 *
 * It refuses with a `TypeError` naming the path (e.g. `$.user.avatar`) any value it cannot give back
 * equal: functions, symbols, class instances (other than `Date`, `Map`, `Set`), objects with symbol keys
 * and circular references. Shared references are stored as copies. Sparse array holes come back as
 * `undefined`.
 *
 * Plain JSON data is stored as `J` + `JSON.stringify(value)` and read with a single `JSON.parse`; data with
 * the extra types as `M` + JSON of `[fixups, jsonSafeValue]`.
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

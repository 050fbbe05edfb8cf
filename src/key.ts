import { describe } from './duration.js';

/**
 * Encodes function arguments as a stable string, for `wrap` keys. Every supported type has its own
 * lexical form, so values of different types never collide (`'1'` → `"1"`, `1` → `1`, `1n` → `1n`,
 * `[1,2]` → `[1,2]`, `'1,2'` → `"1,2"`), and plain objects encode with sorted keys, so key order does
 * not matter. An object with a `null` prototype encodes apart from a plain one (`{__proto__:null,"a":1}`).
 *
 * What the encoding would leave out is refused with a `TypeError` naming where it is (`argument 0.a[2]`),
 * so two arguments that differ never share a key: functions, symbols, cycles, class instances other than
 * `Date` (and subclasses of `Array` and `Date`), symbol-keyed and non-enumerable properties, own properties of
 * an array beyond its elements or of a `Date`, and arrays with holes.
 *
 * @param args - the arguments
 * @returns the arguments' encoding, comma-separated
 */
export function encodeArgs(args: readonly unknown[]): string {
  if (args.length === 1) return encodeValue(args[0], 'argument 0', undefined);
  let out = '';
  for (let i = 0; i < args.length; i++) {
    if (i > 0) out += ',';
    out += encodeValue(args[i], `argument ${i}`, undefined);
  }
  return out;
}

function encodeValue(value: unknown, path: string, seen: object[] | undefined): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      return Object.is(value, -0) ? '-0' : String(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'undefined':
      return 'undefined';
    case 'bigint':
      return `${value}n`;
    case 'object':
      return value === null ? 'null' : encodeObject(value, path, seen);
    default:
      throw new TypeError(
        `wrap: ${path} is ${describe(value)}, which has no stable key; pass strings, numbers, booleans, null, undefined, bigint, Date, arrays or plain objects`,
      );
  }
}

function encodeObject(value: object, path: string, seen: object[] | undefined): string {
  const proto = Object.getPrototypeOf(value);
  if (proto === Date.prototype) {
    if (Reflect.ownKeys(value).length > 0) throw extraProperty(value, path, 'a Date', 0);
    return `Date(${(value as Date).getTime()})`;
  }
  const isArray = Array.isArray(value);
  if (isArray ? proto !== Array.prototype : proto !== Object.prototype && proto !== null) {
    const what = isArray
      ? `an instance of ${proto?.constructor?.name || 'an Array subclass'}`
      : describe(value);
    throw new TypeError(
      `wrap: ${path} is ${what}, which has no stable key; pass plain objects, arrays or Date`,
    );
  }
  const stack = seen ?? [];
  if (stack.includes(value)) throw new TypeError(`wrap: ${path} contains a cycle, which has no stable key`);
  stack.push(value);
  let out: string;
  if (isArray) {
    const array = value as unknown[];
    const n = array.length;
    // Own keys are the indices in order, then 'length', then any other: exactly n + 1 of them, 'length' last,
    // unless the array has holes or properties besides its elements.
    const own = Reflect.ownKeys(array);
    if (own.length !== n + 1 || own[n] !== 'length') throw arrayExtra(array, path);
    out = '[';
    for (let i = 0; i < n; i++) {
      if (i > 0) out += ',';
      out += encodeValue(array[i], `${path}[${i}]`, stack);
    }
    out += ']';
  } else {
    const keys = Object.keys(value);
    // Cheaper than Reflect.ownKeys, which skips V8's enum cache; the names include non-enumerable ones.
    if (
      Object.getOwnPropertyNames(value).length !== keys.length ||
      Object.getOwnPropertySymbols(value).length > 0
    ) {
      throw extraProperty(value, path, 'an object', keys.length);
    }
    keys.sort();
    out = proto === null ? '{__proto__:null' : '{';
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i] as string;
      if (i > 0 || proto === null) out += ',';
      out += `${JSON.stringify(key)}:${encodeValue((value as Record<string, unknown>)[key], `${path}.${key}`, stack)}`;
    }
    out += '}';
  }
  stack.pop();
  return out;
}

/** The error for a property the key would not include (symbol-keyed, non-enumerable, or on a Date). */
function extraProperty(value: object, path: string, what: string, enumerable: number): TypeError {
  const keys = Object.keys(value);
  const extra =
    Reflect.ownKeys(value).find((k) => typeof k === 'symbol' || enumerable === 0 || !keys.includes(k)) ??
    '(unknown)';
  const kind = typeof extra === 'symbol' ? 'a symbol-keyed property' : `a property ${JSON.stringify(extra)}`;
  const why =
    what === 'a Date'
      ? 'which a Date key does not include'
      : typeof extra === 'symbol'
        ? 'which has no stable key'
        : 'that is not enumerable, which the key would leave out';
  return new TypeError(`wrap: ${path} is ${what} with ${kind} (${String(extra)}), ${why}`);
}

/** The error for an array with holes or properties besides its elements. */
function arrayExtra(array: unknown[], path: string): TypeError {
  for (let i = 0; i < array.length; i++) {
    if (!(i in array)) {
      return new TypeError(`wrap: ${path} is an array with a hole at index ${i}, which has no stable key`);
    }
  }
  const extra = Reflect.ownKeys(array).find(
    (k) =>
      k !== 'length' && !(typeof k === 'string' && String(Number(k) >>> 0) === k && Number(k) < array.length),
  );
  const kind =
    typeof extra === 'symbol'
      ? `a symbol-keyed property (${String(extra)})`
      : `a property ${JSON.stringify(extra)}`;
  return new TypeError(
    `wrap: ${path} is an array with ${kind} besides its elements, which the key would leave out`,
  );
}

/**
 * A namespace name as it goes into its key prefix: `%` becomes `%25` and `:` becomes `%3A`, so that the name holds
 * no `:` (which ends it in the prefix) and two different names never give one prefix, nor one that starts another
 * (`'acme:secret'` → `acme%3Asecret`, apart from `'acme'`'s keys `secret:…`). A name without `%` or `:` is unchanged.
 *
 * @internal
 */
export function escapeNamespace(name: string): string {
  if (name.indexOf('%') === -1 && name.indexOf(':') === -1) return name;
  return name.replaceAll('%', '%25').replaceAll(':', '%3A');
}

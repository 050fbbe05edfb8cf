import { describe } from './duration.js';

/**
 * Encodes function arguments as a stable string, for `wrap` keys. Every supported type has its own
 * lexical form, so values of different types never collide (`'1'` → `"1"`, `1` → `1`, `1n` → `1n`,
 * `[1,2]` → `[1,2]`, `'1,2'` → `"1,2"`), and plain objects encode with sorted keys, so key order does
 * not matter. Functions, symbols, cycles and class instances other than `Date` are refused with a
 * `TypeError`, because they have no stable identity across calls.
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
  if (value instanceof Date) return `Date(${value.getTime()})`;
  const stack = seen ?? [];
  if (stack.includes(value)) throw new TypeError(`wrap: ${path} contains a cycle, which has no stable key`);
  stack.push(value);
  let out: string;
  if (Array.isArray(value)) {
    out = '[';
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ',';
      out += encodeValue(value[i], `${path}[${i}]`, stack);
    }
    out += ']';
  } else {
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      throw new TypeError(
        `wrap: ${path} is ${describe(value)}, which has no stable key; pass plain objects, arrays or Date`,
      );
    }
    const keys = Object.keys(value).sort();
    out = '{';
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i] as string;
      if (i > 0) out += ',';
      out += `${JSON.stringify(key)}:${encodeValue((value as Record<string, unknown>)[key], `${path}.${key}`, stack)}`;
    }
    out += '}';
  }
  stack.pop();
  return out;
}

import type { Redis } from 'ioredis';
import { describe } from '../duration.js';
import { defaultSerializer, type Serializer } from '../serializer.js';
import type { RedisClient } from './cluster.js';
import { isWellFormed } from './keys.js';

const DEFAULT_PREFIX = 'larder:';

/** Checks a serializer option. @internal */
export function checkSerializer(serializer: unknown, name: string): Serializer {
  if (serializer === undefined) return defaultSerializer;
  const s = serializer as Partial<Serializer> | null;
  if (
    typeof s !== 'object' ||
    s === null ||
    typeof s.serialize !== 'function' ||
    typeof s.deserialize !== 'function'
  ) {
    throw new TypeError(
      `${name} must have serialize(value) and deserialize(text) methods; got ${describe(serializer)}`,
    );
  }
  return serializer as Serializer;
}

/** Checks the options shared by tier and bus. @internal */
export function checkPrefix(prefix: unknown, name: string): string {
  if (prefix === undefined) return DEFAULT_PREFIX;
  if (typeof prefix !== 'string' || prefix === '' || !isWellFormed(prefix)) {
    throw new TypeError(
      `${name} must be a non-empty, well-formed string; got ${JSON.stringify(prefix) ?? String(prefix)}`,
    );
  }
  return prefix;
}

/** Checks a Redis client argument. @internal */
export function checkClient(client: unknown, name: string): RedisClient {
  const c = client as Partial<Redis> | null;
  if (
    typeof c !== 'object' ||
    c === null ||
    typeof c.evalsha !== 'function' ||
    typeof c.duplicate !== 'function'
  ) {
    throw new TypeError(
      `${name}: client must be an ioredis Redis or Cluster client (new Redis(url)); got ${typeof client}`,
    );
  }
  return client as RedisClient;
}

/** Checks a positive integer option. @internal */
export function checkCount(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new RangeError(`${name} must be a positive integer; got ${String(value)}`);
  }
  return value;
}

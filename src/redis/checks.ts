import { describe, toMs } from '../duration.js';
import { defaultSerializer, type Serializer } from '../serializer.js';
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

/**
 * Checks a Redis client argument: something with ioredis's `evalsha` and `duplicate`. Typed structurally, so that
 * this module (which `larder/compat` imports for its option checks) pulls no ioredis or Node types into the core.
 *
 * @internal
 */
export function checkClient<C>(client: C, name: string): C {
  const c = client as { evalsha?: unknown; duplicate?: unknown } | null;
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
  return client;
}

/** Checks a positive integer option. @internal */
export function checkCount(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new RangeError(`${name} must be a positive integer; got ${String(value)}`);
  }
  return value;
}

/**
 * The longest delay Node.js timers honour (2^31 − 1 ms, about 24.8 days): a longer one fires after 1 ms instead
 * (a `timeout` of `'30d'` would time every call out at once). @internal
 */
export const MAX_TIMER_MS = 2_147_483_647;

/**
 * Checks a duration option that becomes a timer delay (a timeout, a heartbeat, a reconnection delay): a
 * {@link toMs} duration greater than zero and at most {@link MAX_TIMER_MS}. @internal
 */
export function checkTimerMs(value: unknown, name: string): number {
  const ms = toMs(value, name);
  if (ms > MAX_TIMER_MS) {
    throw new RangeError(
      `${name} must be at most ${MAX_TIMER_MS} ms (about 24.8 days), the longest timer delay; got ${ms}`,
    );
  }
  return ms;
}

/**
 * The longest `tombstoneTtl` (2^53 − 1 ms, `Number.MAX_SAFE_INTEGER`): the largest whole number of milliseconds
 * that JavaScript, the scripts' Lua numbers and Redis's `PX`/`PEXPIRE` all carry exactly (Redis refuses an expiry
 * it cannot add to its clock, so a larger one would make every delete, tag invalidation and clear fail). @internal
 */
export const MAX_TOMBSTONE_MS = Number.MAX_SAFE_INTEGER;

/** Checks the `tombstoneTtl` option: a duration greater than zero and at most {@link MAX_TOMBSTONE_MS}; whole ms. @internal */
export function checkTombstoneMs(value: unknown, name: string): number {
  const ms = Math.ceil(toMs(value, name));
  if (ms > MAX_TOMBSTONE_MS) {
    throw new RangeError(
      `${name} must be at most ${MAX_TOMBSTONE_MS} ms (2^53 - 1, about 285,000 years), the longest expiry Redis and the tier's scripts carry exactly; got ${ms}`,
    );
  }
  return ms;
}

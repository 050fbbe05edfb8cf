import { describe } from '../duration.js';
import { encodeArgs } from '../key.js';

/**
 * The cache key of a compat call: `type`, a colon, and the stable encoding of `args` (see `encodeArgs`).
 * A key error names the compat call and `args` (`CompatCache.get: args.id is an instance of ObjectId, ...`),
 * not the `wrap` argument the encoder would otherwise name.
 *
 * @param call - the compat call, for error messages (`'CompatCache.get'`)
 * @throws TypeError when `type` is not a non-empty string or `args` has no stable encoding
 * @internal
 */
export function compatKey(call: string, type: unknown, args: unknown): string {
  if (typeof type !== 'string' || type === '') {
    // describe, not JSON.stringify: that throws on a bigint or a cyclic object, with an error that names nothing.
    throw new TypeError(`${call}: type must be a non-empty string; got ${describe(type)}`);
  }
  let encoded: string;
  try {
    encoded = encodeArgs([args]);
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
    const message = error.message.replace(/^wrap: argument 0/, `${call}: args`);
    throw new TypeError(message.startsWith(`${call}: `) ? message : `${call}: args: ${message}`);
  }
  return `${type}:${encoded}`;
}

/**
 * What went wrong in a {@link LarderRedisError}:
 *
 * - `unavailable`: Redis is not connected (the call failed at once instead of waiting)
 * - `timeout`: Redis did not answer within the command timeout
 * - `decode`: a stored entry or bus message could not be read (corrupt, foreign, or an older format)
 * - `command`: Redis answered with an error
 * - `closed`: the tier or bus was closed
 * - `foreign`: keys under the tier's prefix hold another Redis type (a hash, list... of another app); the
 *   tier left them alone (reported once per key)
 */
export type LarderRedisErrorCode = 'unavailable' | 'timeout' | 'decode' | 'command' | 'closed' | 'foreign';

/**
 * The error the Redis tier rejects with, and the bus reports. The cache treats a failed read as a miss
 * and emits it as an `error` event; it never reaches the caller of `get`/`getOrSet`.
 */
export class LarderRedisError extends Error {
  /** Always `'LarderRedisError'`. */
  override readonly name = 'LarderRedisError';
  /** The kind of failure. */
  readonly code: LarderRedisErrorCode;

  /**
   * @param code - the kind of failure
   * @param message - what happened
   * @param cause - the underlying error, if any
   */
  constructor(code: LarderRedisErrorCode, message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.code = code;
  }
}

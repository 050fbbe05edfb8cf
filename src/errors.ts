/**
 * The error a load rejects with when its loader runs longer than the `timeout` option allows and no stale
 * value is at hand. The loader's `signal` is aborted with this error as its reason.
 */
export class TimeoutError extends Error {
  /** Always `'TimeoutError'`. */
  override readonly name = 'TimeoutError';
  /** The time limit that was exceeded, in milliseconds. */
  readonly timeout: number;

  /**
   * @param timeout - the limit that was exceeded, in milliseconds
   * @param key - the cache key whose load timed out (for the message)
   */
  constructor(timeout: number, key?: unknown) {
    super(`Load${key === undefined ? '' : ` of ${String(key)}`} timed out after ${timeout} ms`);
    this.timeout = timeout;
  }
}

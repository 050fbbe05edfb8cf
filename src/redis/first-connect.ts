import { LarderRedisError } from './errors.js';
import { closedError, noop, type TierState } from './tier-state.js';

/** ioredis client statuses on the way to a connection. */
const CONNECTING = new Set(['wait', 'connecting', 'connect', 'reconnecting']);

/** A write waiting for the first connection and clock measurement. */
interface Waiter {
  /** Sends it (the client is ready and the Redis clock is known). */
  go(): void;
  /** Fails it. */
  give(error: unknown): void;
}

/**
 * The writes of the Redis tier issued before its first measurement of the Redis clock (a new instance's first
 * moments: the client is still making its first connection, or the `TIME` sent on connecting has not answered
 * yet). They wait for it (each at most `timeout`, and at most `maxPending` of them) instead of failing and
 * leaving the next instance to load the value again, and instead of going out with times on this instance's
 * clock, which may be skewed (a write's times are converted to the Redis clock when it is sent). A write that
 * cannot wait (the client is closed, or too many wait already) fails at once: none is ever sent before the
 * clock is known.
 *
 * @internal
 */
export class FirstConnect {
  readonly #s: TierState;
  /** Whether the client has been ready since the tier was made (for the error message of a write that gives up). */
  #everReady: boolean;
  /** Writes waiting for the first clock measurement (each gives up after `timeout`). */
  readonly #waiting = new Set<Waiter>();

  constructor(s: TierState) {
    this.#s = s;
    this.#everReady = s.client.status === 'ready';
  }

  /** Whether the client has been ready since the tier was made. */
  get everReady(): boolean {
    return this.#everReady;
  }

  /**
   * Sends a write now if the Redis clock is known, else once it is (the client connects, then `TIME`
   * answers). The wait is bounded by `timeout`; after it the write fails as "unavailable" (and is remembered for
   * replay like any failed write). `send` computes the write's Redis times when it runs.
   */
  after<T>(send: () => Promise<T>): Promise<T> {
    const s = this.#s;
    if (s.clockKnown) return send();
    const client = s.client;
    const status = client.status;
    if (status !== 'ready' && !CONNECTING.has(status)) {
      return Promise.reject(
        new LarderRedisError('unavailable', `Redis is not connected (client status: ${status})`),
      );
    }
    if (this.#waiting.size >= s.maxPending) {
      return Promise.reject(
        new LarderRedisError(
          'unavailable',
          `Redis is not ready yet (client status: ${status}, clock not measured) and ${s.maxPending} writes already wait for it`,
        ),
      );
    }
    if (status === 'wait') client.connect().catch(noop);
    else s.ensureClock();
    return new Promise<T>((resolve, reject) => {
      const timeout = s.link.timeout;
      const waiter: Waiter = {
        go: () => {
          this.#waiting.delete(waiter);
          clearTimeout(timer);
          send().then(resolve, reject);
        },
        give: (error) => {
          this.#waiting.delete(waiter);
          clearTimeout(timer);
          reject(error);
        },
      };
      const timer = setTimeout(
        () =>
          waiter.give(
            new LarderRedisError(
              'unavailable',
              this.#everReady
                ? `Redis did not answer TIME within ${timeout} ms (writes wait for the first measurement of the Redis clock, so that their times are on it)`
                : `Redis did not connect within ${timeout} ms (client status: ${client.status})`,
            ),
          ),
        timeout,
      );
      this.#waiting.add(waiter);
    });
  }

  /** The client is ready (its `TIME` is on its way). */
  connected(): void {
    this.#everReady = true;
  }

  /** Sends the waiting writes, in the order they were issued, once the Redis clock is known. */
  release(): void {
    if (!this.#s.clockKnown) return;
    for (const waiter of this.#waiting) waiter.go();
  }

  /** Fails the waiting writes (the tier is closing). */
  close(): void {
    for (const waiter of this.#waiting) waiter.give(closedError());
  }
}

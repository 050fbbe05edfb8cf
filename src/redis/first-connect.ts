import { LarderRedisError } from './errors.js';
import { closedError, noop, type TierState } from './tier-state.js';

/** ioredis client statuses on the way to a first connection. */
const FIRST_CONNECT = new Set(['wait', 'connecting', 'connect', 'reconnecting']);

/** A write waiting for the first connection. */
interface Waiter {
  /** Sends it (the client is ready). */
  go(): void;
  /** Fails it. */
  give(error: unknown): void;
}

/**
 * The writes of the Redis tier issued while its client is still making its first connection (a new instance's
 * first moments): they wait for it (each at most `timeout`, and at most `maxPending` of them) instead of
 * failing and leaving the next instance to load the value again.
 *
 * @internal
 */
export class FirstConnect {
  readonly #s: TierState;
  /** Whether the client has been ready since the tier was made: until then, writes wait for it. */
  #everReady: boolean;
  /** Writes issued before the first connection, waiting for it (each gives up after `timeout`). */
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
   * Sends a write now, or, while the client is still making its first connection, once it is ready. The wait
   * is bounded by `timeout`; after it the write fails as "unavailable" (and is remembered for replay like any
   * failed write).
   */
  after<T>(send: () => Promise<T>): Promise<T> {
    const client = this.#s.client;
    const status = client.status;
    if (this.#everReady || !FIRST_CONNECT.has(status) || this.#waiting.size >= this.#s.maxPending)
      return send();
    if (status === 'wait') client.connect().catch(noop);
    return new Promise<T>((resolve, reject) => {
      const timeout = this.#s.link.timeout;
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
              `Redis did not connect within ${timeout} ms (client status: ${client.status})`,
            ),
          ),
        timeout,
      );
      this.#waiting.add(waiter);
    });
  }

  /** The client is ready: from now on writes are sent at once. */
  connected(): void {
    this.#everReady = true;
  }

  /** Sends the waiting writes, in the order they were issued. */
  release(): void {
    for (const waiter of this.#waiting) waiter.go();
  }

  /** Fails the waiting writes (the tier is closing). */
  close(): void {
    for (const waiter of this.#waiting) waiter.give(closedError());
  }
}

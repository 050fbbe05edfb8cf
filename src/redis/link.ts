import type { Redis } from 'ioredis';
import { LarderRedisError } from './errors.js';

const noop = (): void => {};

/** Turns an ioredis failure into a {@link LarderRedisError}. @internal */
export function toRedisError(error: unknown): LarderRedisError {
  if (error instanceof LarderRedisError) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (/timed out/i.test(message))
    return new LarderRedisError('timeout', `Redis command timed out: ${message}`, error);
  if (/writeable|closed|ECONN|EPIPE|reset|disconnect/i.test(message)) {
    return new LarderRedisError('unavailable', `Redis connection lost: ${message}`, error);
  }
  return new LarderRedisError('command', `Redis command failed: ${message}`, error);
}

/**
 * Sends commands on a client so that no call waits longer than `timeout` ms: a command fails at once when
 * the client is not connected (so nothing piles up in ioredis's offline queue), and after `timeout` ms
 * when Redis does not answer (ioredis's own `commandTimeout` when it is at most `timeout`, else a timer).
 *
 * @internal
 */
export class Link {
  readonly #ownTimer: boolean;
  /** Whether the client's own `commandTimeout` bounds every command (so commands need no extra timer). */
  readonly direct: boolean;

  constructor(
    readonly client: Redis,
    readonly timeout: number,
  ) {
    const ct = client.options.commandTimeout;
    this.#ownTimer = !(typeof ct === 'number' && ct > 0 && ct <= timeout);
    this.direct = !this.#ownTimer;
  }

  /** Whether commands can be sent now. */
  get ready(): boolean {
    return this.client.status === 'ready';
  }

  /**
   * Sends a command (synchronously, when connected) and bounds the wait for its answer. Rejections are
   * ioredis errors (or a {@link LarderRedisError}); map them with {@link toRedisError}.
   */
  run<T>(send: (client: Redis) => Promise<T>): Promise<T> {
    const client = this.client;
    const status = client.status;
    if (status !== 'ready') {
      if (status === 'wait') client.connect().catch(noop);
      return Promise.reject(
        new LarderRedisError('unavailable', `Redis is not connected (client status: ${status})`),
      );
    }
    let pending: Promise<T>;
    try {
      pending = send(client);
    } catch (error) {
      return Promise.reject(toRedisError(error));
    }
    if (!this.#ownTimer) return pending;
    const timeout = this.timeout;
    return withTimeout(
      pending,
      timeout,
      () => new LarderRedisError('timeout', `Redis did not answer within ${timeout} ms`),
    );
  }
}

/** Ends a connection this package opened: QUIT, or a hard disconnect if that does not finish in time. @internal */
export async function release(client: Redis, timeout: number): Promise<void> {
  if (client.status === 'end') return;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const ended = new Promise<void>((resolve) => client.once('end', resolve));
  const late = (): Promise<void> =>
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeout);
    });
  if (client.status === 'ready') {
    client.quit().catch(noop);
    await Promise.race([ended, late()]);
    clearTimeout(timer);
  }
  if ((client.status as string) !== 'end') {
    client.disconnect();
    await Promise.race([ended, late()]);
    clearTimeout(timer);
  }
}

/** Exponential reconnect backoff from 50 ms, capped at `max` ms. @internal */
export function backoff(max: number): (times: number) => number {
  return (times) => Math.min(50 * 2 ** Math.min(times - 1, 16), max);
}

/** Settles like `pending`, or rejects with `onTimeout()` when `pending` has not settled within `ms`. @internal */
export function withTimeout<T>(pending: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(onTimeout()), ms);
    pending.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

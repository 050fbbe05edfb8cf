import type { Redis } from 'ioredis';
import { isCluster, type RedisClient } from './cluster.js';
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
  /** Circuit breaker: Redis stopped answering on a connection that looks open; calls fail at once. */
  #hung = false;
  #probe: ReturnType<typeof setTimeout> | undefined;
  #onRecover: (() => void) | undefined;
  #reconnectWhenHung = false;

  /**
   * The client. A `Cluster` is typed as a `Redis` here: it has the same command methods (it routes each
   * command to the node owning its keys' slot).
   */
  readonly client: Redis;

  constructor(
    client: RedisClient,
    readonly timeout: number,
  ) {
    this.client = client as Redis;
    // On a cluster a command may wait for a slot refresh or a failover on top of a node's commandTimeout:
    // always bound it with a timer.
    const ct = isCluster(client) ? undefined : client.options.commandTimeout;
    this.#ownTimer = !(typeof ct === 'number' && ct > 0 && ct <= timeout);
    this.direct = !this.#ownTimer;
  }

  /**
   * Sets what happens around a hang: `onRecover` runs when a probe PING is answered again (not after a
   * reconnect: the client's `ready` event tells that); with `reconnect`, a probe that gets no answer makes
   * the client reconnect (only for a client this package opened), so a half-open connection is replaced.
   */
  watch(onRecover: () => void, reconnect: boolean): void {
    this.#onRecover = onRecover;
    this.#reconnectWhenHung = reconnect;
  }

  /** Whether commands can be sent now (connected, and Redis not known to be hung). */
  get ready(): boolean {
    return this.client.status === 'ready' && !this.#hung;
  }

  /** Whether Redis is known to be hung (a command timed out, and no PING was answered since). */
  get hung(): boolean {
    return this.#hung;
  }

  /**
   * A command got no answer within `timeout`: until a PING is answered (or the client reconnects), every
   * call fails at once instead of waiting for its own timeout. Returns whether this started a hang.
   */
  trip(): boolean {
    if (this.#hung) return false;
    this.#hung = true;
    this.#schedule(0);
    return true;
  }

  /** The client (re)connected: whatever hung before is gone. */
  reset(): void {
    this.#hung = false;
    if (this.#probe !== undefined) clearTimeout(this.#probe);
    this.#probe = undefined;
  }

  /** Stops probing (on close). */
  dispose(): void {
    this.reset();
    this.#onRecover = undefined;
  }

  #schedule(delay: number): void {
    if (this.#probe !== undefined) return;
    this.#probe = setTimeout(() => {
      this.#probe = undefined;
      this.#ping();
    }, delay);
    this.#probe.unref?.();
  }

  #ping(): void {
    if (!this.#hung) return;
    const client = this.client;
    if (client.status !== 'ready') return; // the `ready` event ends the hang (reset)
    const timeout = this.timeout;
    withTimeout(client.ping(), timeout, () => new Error('no PING answer')).then(
      () => {
        if (!this.#hung) return;
        this.#hung = false;
        this.#onRecover?.();
      },
      () => {
        if (!this.#hung) return;
        if (this.#reconnectWhenHung && client.status === 'ready') {
          // Replace the connection (a half-open one would never answer); `ready` ends the hang.
          client.disconnect(true);
          return;
        }
        this.#schedule(timeout);
      },
    );
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
    if (this.#hung) return Promise.reject(hungError());
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

/** The error of a call refused while Redis is known to be hung. @internal */
export function hungError(): LarderRedisError {
  return new LarderRedisError(
    'unavailable',
    'Redis stopped answering (a command timed out and no PING was answered since); failing fast until it answers',
  );
}

/** Ends a connection this package opened: QUIT, or a hard disconnect if that does not finish in time. @internal */
export async function release(client: RedisClient, timeout: number): Promise<void> {
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
    // Between two connection attempts ioredis has no socket, only a reconnect timer; `disconnect` clears it but
    // never emits 'end' (the status stays 'reconnecting'): nothing is left open, so waiting would only wait out
    // `timeout`.
    const between = (client.status as string) === 'reconnecting';
    client.disconnect();
    if (between) return;
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

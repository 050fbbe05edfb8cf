import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Duration } from '../duration.js';
import { checkKeys } from '../options.js';
import type { BusHandlers, BusMessage, CacheBus } from '../tier.js';
import { checkClient, checkCount, checkPrefix, checkTimerMs } from './checks.js';
import { isCluster, masters, nodeOptions, type RedisClient } from './cluster.js';
import { LarderRedisError } from './errors.js';
import { restoreStringPrototype } from './fast-strings.js';
import { Heartbeat } from './heartbeat.js';
import { backoff, Link, release, toRedisError } from './link.js';

/** Options of {@link redisBus}. */
export interface RedisBusOptions {
  /**
   * Prefix of the channel, `<prefix>bus` (`<prefix>bus:db<N>` on database N > 0; default `'larder:'`, the tier's
   * default prefix).
   */
  prefix?: string;
  /**
   * The pub/sub channel. Instances that invalidate each other need the same one. Default: `<prefix>bus` when the
   * client uses database 0 (any Redis Cluster), and `<prefix>bus:db<N>` when it uses database N (ioredis's `db`
   * option, or `/N` in its URL): Redis pub/sub ignores the database, and caches on different databases hold
   * different entries, so they must not hear each other's key names. A channel given here is used as it is.
   */
  channel?: string;
  /**
   * The longest a publish may take before it counts as failed and is queued for resending (default `'250ms'`;
   * at most 2^31 − 1 ms, the longest timer delay).
   */
  timeout?: Duration;
  /**
   * How many unsent messages are kept to resend when Redis is back (default 1000). Beyond that, one
   * "clear everything" message is sent instead.
   */
  maxPending?: number;
  /**
   * The longest wait between reconnection attempts of the subscriber connection (default `'1s'`; at most
   * 2^31 − 1 ms).
   */
  reconnectDelay?: Duration;
  /**
   * How long the subscriber connection may go without answering a PING before it counts as lost (default
   * `'1s'`, at most 2^31 − 1 ms; a PING goes out every half of it). A Redis that hangs (frozen process, half-open connection)
   * is then noticed within 1 to 1.5 times this, reported, and treated like a closed connection: the bus
   * reconnects and the cache drops its memory when the subscription is back.
   */
  heartbeat?: Duration;
}

/** Counters of a {@link RedisBus}. */
export interface RedisBusStats {
  /** Messages published. */
  sent: number;
  /** Messages received from other instances. */
  received: number;
  /** Failed publishes and connection losses. */
  errors: number;
  /** Messages waiting to be resent. */
  pending: number;
  /** Resynchronisations (each drops the cache's memory, since messages may have been missed). */
  resyncs: number;
  /** Whether the subscriber connection is subscribed. */
  subscribed: boolean;
}

/** A {@link CacheBus} on Redis pub/sub, made by {@link redisBus}. */
export interface RedisBus extends CacheBus {
  /** This instance's id; messages carry it and each instance ignores its own. */
  readonly id: string;
  /** Counters since creation. */
  stats(): RedisBusStats;
}

const BUS_OPTIONS = ['prefix', 'channel', 'timeout', 'maxPending', 'reconnectDelay', 'heartbeat'];

/** Format marker of bus messages. */
const MARK = 'L1';
const ID_LENGTH = 36;
const FLUSH_DELAY = 1000;

/**
 * Creates an invalidation bus over Redis pub/sub for a `Cache` (`new Cache({ max, bus: redisBus(client) })`):
 * deletes, sets, clears and tag invalidations on one instance remove the affected entries from every other
 * instance's memory.
 *
 * It publishes on `client` and opens its own subscriber connection (`client.duplicate()`, named after the
 * client's `connectionName` plus `-bus`), which it closes on `close()`. Messages are JSON with the sender's id, so keys and tags of any content travel safely and
 * an instance ignores its own messages. Pub/sub drops messages while a subscriber is disconnected, so
 * whenever the subscription is (re-)established the cache drops every memory entry it holds; messages
 * that cannot be published are queued and sent once Redis is back. A PING on the subscriber connection
 * (`heartbeat`) notices a Redis that stops answering without closing the connection.
 *
 * The channel is `<prefix>bus`, or `<prefix>bus:db<N>` when `client` uses database N > 0 (pub/sub ignores the
 * database: instances on other databases must not hear its keys); see {@link RedisBusOptions.channel}.
 *
 * On a Redis Cluster (`client` is an ioredis `Cluster`), it publishes with classic `PUBLISH` (delivered on every
 * node) and subscribes on a plain connection to one master; when that connection ends or hangs, it subscribes on
 * another master (and the cache resyncs).
 *
 * @param client - an ioredis `Redis` or `Cluster` to publish on (never closed by the bus)
 * @param options - see {@link RedisBusOptions}
 * @throws TypeError or RangeError naming the option when an option is invalid.
 */
export function redisBus(client: RedisClient, options: RedisBusOptions = {}): RedisBus {
  // The application's ioredis is loaded by now (it made `client`), whichever copy it is.
  restoreStringPrototype();
  return new RedisBusImpl(client, options);
}

/**
 * The default channel of a bus with this prefix on `client`: `<prefix>bus` on database 0 (the name larder has
 * always used, so that instances of different versions keep hearing each other), `<prefix>bus:db<N>` on database
 * N. Redis pub/sub is shared by every database of a server: without the number, instances on `redis://host/1`
 * and `redis://host/2` would drop each other's entries and receive each other's keys (which can carry user data).
 * A Cluster has database 0 only. The database is the client's `db` option (ioredis sets it from the URL's `/N`);
 * a `SELECT` sent on the client later is not seen. @internal
 */
export function defaultChannel(prefix: string, client: RedisClient): string {
  const db = isCluster(client) ? 0 : Number((client.options as { db?: unknown }).db ?? 0);
  return Number.isSafeInteger(db) && db > 0 ? `${prefix}bus:db${db}` : `${prefix}bus`;
}

/** Encodes a message for the channel. @internal */
export function encodeMessage(id: string, message: BusMessage): string {
  let body: string;
  switch (message.type) {
    case 'delete':
      body = JSON.stringify({ type: 'delete', keys: message.keys });
      break;
    case 'tags':
      body = JSON.stringify(
        message.expire === true
          ? { type: 'tags', tags: message.tags, expire: true }
          : { type: 'tags', tags: message.tags },
      );
      break;
    case 'clear':
      body = JSON.stringify({ type: 'clear', prefix: message.prefix });
      break;
    default:
      throw new TypeError(
        `bus: unknown message type ${JSON.stringify((message as { type?: unknown }).type)}`,
      );
  }
  return MARK + id + body;
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string');
}

/** Decodes a message from the channel; `undefined` when it is not one. @internal */
export function decodeMessage(text: string): { id: string; message: BusMessage } | undefined {
  if (!text.startsWith(MARK) || text.length < MARK.length + ID_LENGTH) return undefined;
  const id = text.slice(MARK.length, MARK.length + ID_LENGTH);
  let body: { type?: unknown; keys?: unknown; tags?: unknown; prefix?: unknown; expire?: unknown };
  try {
    body = JSON.parse(text.slice(MARK.length + ID_LENGTH));
  } catch {
    return undefined;
  }
  if (body === null || typeof body !== 'object') return undefined;
  if (body.type === 'delete' && isStringArray(body.keys))
    return { id, message: { type: 'delete', keys: body.keys } };
  if (body.type === 'tags' && isStringArray(body.tags)) {
    const message: BusMessage =
      body.expire === true
        ? { type: 'tags', tags: body.tags, expire: true }
        : { type: 'tags', tags: body.tags };
    return { id, message };
  }
  if (body.type === 'clear' && typeof body.prefix === 'string') {
    return { id, message: { type: 'clear', prefix: body.prefix } };
  }
  return undefined;
}

class RedisBusImpl implements RedisBus {
  readonly id = randomUUID();
  readonly #client: RedisClient;
  readonly #link: Link;
  readonly #channel: string;
  readonly #maxPending: number;
  readonly #reconnectDelay: number;
  readonly #heartbeatMs: number;
  #heartbeat: Heartbeat | undefined;
  /** Cluster: which master the next subscriber connection goes to (round robin), and its pending retry. */
  #nextNode = Math.floor(Math.random() * 1024);
  #retry: ReturnType<typeof setTimeout> | undefined;
  #handlers: BusHandlers | undefined;
  #sub: Redis | undefined;
  #subscribed = false;
  /** Whether a failure was reported since the last success (one error event per outage). */
  #reported = false;
  #closed = false;
  #pending: string[] = [];
  #overflow = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #immediate: ReturnType<typeof setImmediate> | undefined;
  readonly #counts = { sent: 0, received: 0, errors: 0, resyncs: 0 };
  readonly #onPublisherReady = (): void => {
    // After the tier's replay (sent synchronously from its own 'ready' listener on the same connection), so
    // that other instances re-reading these keys find the repaired entries.
    this.#link.reset();
    if (this.#immediate === undefined) this.#immediate = setImmediate(() => this.#flush());
  };

  constructor(client: RedisClient, options: RedisBusOptions) {
    this.#client = checkClient(client, 'redisBus');
    checkKeys(options, BUS_OPTIONS, 'redisBus: options');
    const prefix = checkPrefix(options.prefix, 'redisBus: prefix');
    this.#channel =
      options.channel === undefined
        ? defaultChannel(prefix, client)
        : checkPrefix(options.channel, 'redisBus: channel');
    // Each of these becomes a timer delay: at most 2^31 - 1 ms (a longer timer fires after 1 ms).
    this.#link = new Link(client, checkTimerMs(options.timeout ?? 250, 'redisBus: timeout'));
    this.#maxPending = checkCount(options.maxPending, 'redisBus: maxPending', 1000);
    this.#reconnectDelay = checkTimerMs(options.reconnectDelay ?? '1s', 'redisBus: reconnectDelay');
    this.#heartbeatMs = checkTimerMs(options.heartbeat ?? '1s', 'redisBus: heartbeat');
    // Publishes that time out trip the link: later ones are queued at once until Redis answers a PING again.
    this.#link.watch(this.#onPublisherReady, false);
  }

  start(handlers: BusHandlers): void {
    if (this.#handlers !== undefined)
      throw new Error('redisBus: start() was called twice (a bus serves one cache)');
    if (this.#closed) throw new Error('redisBus: the bus is closed');
    this.#handlers = handlers;
    this.#client.on('ready', this.#onPublisherReady);
    this.#openSubscriber();
  }

  /**
   * Opens the subscriber connection. On a standalone Redis: a duplicate of the client that reconnects by
   * itself. On a cluster (classic pub/sub reaches every node): a plain connection to one master that does not
   * reconnect; when it ends (the node died, failed over, or stopped answering), another master is chosen.
   */
  #openSubscriber(): void {
    if (this.#closed) return;
    const cluster = isCluster(this.#client);
    const name = `${nodeOptions(this.#client).connectionName ?? 'larder'}-bus`;
    let sub: Redis;
    if (cluster) {
      const nodes = masters(this.#client).filter((n) => n.status === 'ready');
      const node = nodes[this.#nextNode++ % Math.max(1, nodes.length)];
      if (node === undefined) {
        // The cluster is not connected yet (or lost every master): try again soon.
        const retry = setTimeout(() => this.#openSubscriber(), Math.min(100, this.#reconnectDelay));
        retry.unref?.();
        this.#retry = retry;
        return;
      }
      sub = node.duplicate({
        lazyConnect: false,
        autoResubscribe: false,
        enableOfflineQueue: false,
        retryStrategy: () => null,
        connectionName: name,
      });
    } else {
      sub = (this.#client as Redis).duplicate({
        lazyConnect: false,
        autoResubscribe: false,
        enableOfflineQueue: false,
        retryStrategy: backoff(this.#reconnectDelay),
        connectionName: name,
      });
    }
    this.#sub = sub;
    /** Cluster: subscribes on another master, once per connection (after its 'end', or at once when it hangs). */
    let replaced = false;
    const replace = (): void => {
      if (replaced || this.#closed || sub !== this.#sub) return;
      replaced = true;
      heartbeat.stop();
      sub.removeAllListeners('message');
      const next = setTimeout(() => this.#openSubscriber(), Math.min(100, this.#reconnectDelay));
      next.unref?.();
      this.#retry = next;
    };
    const heartbeat = new Heartbeat(sub, {
      deadline: this.#heartbeatMs,
      onHung: (silentFor) => {
        if (this.#closed || sub !== this.#sub) return;
        if (sub.status === 'ready') {
          // The subscription counts as lost from now on (stats().subscribed), before the 'close' of the reconnect.
          this.#lostSubscription(
            new LarderRedisError(
              'timeout',
              `bus: Redis did not answer a PING for ${silentFor} ms; treating the connection as lost (reconnecting, then resyncing)`,
            ),
          );
        } else {
          // Connecting for too long (TCP, TLS or the ready check: a frozen Redis accepts the connection and never
          // answers). Reported once per outage, like a refused connection.
          this.#subscribed = false;
          this.#report(
            new LarderRedisError(
              'timeout',
              `bus: the subscriber connection did not become ready within ${silentFor} ms (status: ${sub.status}); reconnecting`,
            ),
          );
        }
        // Exactly like a closed connection: 'close' ends the subscription, the reconnect resubscribes and resyncs.
        // A cluster's subscriber goes to another master at once: a frozen one can take seconds to close.
        sub.disconnect(!cluster);
        if (cluster) replace();
      },
    });
    this.#heartbeat?.stop();
    this.#heartbeat = heartbeat;
    // From now on, and again at each attempt to (re)connect: an attempt that never ends is a hang too.
    heartbeat.start();
    sub.on('connecting', () => heartbeat.start());
    sub.on('ready', () => {
      heartbeat.start();
      this.#subscribe(sub);
    });
    sub.on('close', () => {
      if (this.#subscribed && sub === this.#sub) {
        this.#lostSubscription(
          new LarderRedisError('unavailable', 'bus: lost the Redis subscription; resyncing when it is back'),
        );
      }
    });
    if (cluster) {
      sub.once('end', () => {
        heartbeat.stop();
        replace();
      });
    }
    sub.on('error', (error: unknown) => this.#report(toRedisError(error)));
    sub.on('message', (channel: string, text: string) => {
      if (channel === this.#channel) this.#receive(text);
    });
  }

  publish(message: BusMessage): void {
    if (this.#closed) return;
    let text: string;
    try {
      text = encodeMessage(this.id, message);
    } catch (error) {
      this.#report(error);
      return;
    }
    // Order between messages does not matter (each only removes entries), so a queue does not hold back new ones.
    if (this.#link.ready) {
      this.#send(text);
    } else {
      this.#queue(text);
      this.#report(
        new LarderRedisError(
          'unavailable',
          `bus: Redis is not connected (client status: ${this.#client.status}); message queued`,
        ),
      );
    }
  }

  stats(): RedisBusStats {
    return {
      ...this.#counts,
      pending: this.#pending.length + (this.#overflow ? 1 : 0),
      subscribed: this.#subscribed,
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#client.off('ready', this.#onPublisherReady);
    this.#link.dispose();
    this.#heartbeat?.stop();
    if (this.#retry !== undefined) clearTimeout(this.#retry);
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    if (this.#immediate !== undefined) clearImmediate(this.#immediate);
    this.#timer = undefined;
    this.#immediate = undefined;
    this.#subscribed = false;
    const sub = this.#sub;
    this.#sub = undefined;
    if (sub !== undefined) {
      sub.removeAllListeners('message');
      sub.removeAllListeners('ready');
      sub.removeAllListeners('close');
      sub.on('error', noop);
      await release(sub, this.#link.timeout);
    }
  }

  // ------------------------------------------------------------------ internals

  #subscribe(sub: Redis): void {
    if (this.#closed || sub !== this.#sub) return;
    sub.subscribe(this.#channel).then(
      () => {
        if (this.#closed || sub !== this.#sub || sub.status !== 'ready') return;
        this.#subscribed = true;
        this.#reported = false;
        // Messages sent while we were not subscribed are lost: everything in memory is suspect.
        this.#counts.resyncs++;
        this.#handlers?.resync(Date.now());
      },
      (error: unknown) => {
        this.#report(toRedisError(error));
        // A failed SUBSCRIBE (a command timeout under load, say) on a connection that stays up would leave the
        // bus deaf until the connection drops: try again. A dropped connection retries through 'ready'.
        const retry = setTimeout(
          () => {
            if (sub.status === 'ready') this.#subscribe(sub);
          },
          Math.min(100, this.#reconnectDelay),
        );
        retry.unref?.();
      },
    );
  }

  #receive(text: string): void {
    if (text.startsWith(this.id, MARK.length)) return;
    const decoded = decodeMessage(text);
    if (decoded === undefined) {
      this.#counts.errors++;
      this.#handlers?.error(
        new LarderRedisError(
          'decode',
          `bus: ignored a message that is not a larder message: ${text.slice(0, 80)}`,
        ),
      );
      return;
    }
    this.#counts.received++;
    try {
      this.#handlers?.message(decoded.message);
    } catch (error) {
      this.#handlers?.error(error);
    }
  }

  #send(text: string): void {
    this.#link
      .run((c) => c.publish(this.#channel, text))
      .then(
        () => {
          this.#counts.sent++;
          if (this.#subscribed) this.#reported = false;
        },
        (error: unknown) => {
          this.#queue(text);
          const e = toRedisError(error);
          if (e.code === 'timeout') this.#link.trip();
          this.#report(e);
        },
      );
  }

  #queue(text: string): void {
    if (this.#closed) return;
    if (this.#overflow) return;
    if (this.#pending.length >= this.#maxPending) {
      this.#overflow = true;
      this.#pending = [];
    } else {
      this.#pending.push(text);
    }
    this.#queueTimer();
  }

  /** Sends the queued messages (or one "clear everything" after an overflow). */
  #flush(): void {
    this.#immediate = undefined;
    if (this.#closed) return;
    if (!this.#link.ready) {
      if (this.#pending.length > 0 || this.#overflow) this.#queueTimer();
      return;
    }
    const pending = this.#pending;
    const overflow = this.#overflow;
    this.#pending = [];
    this.#overflow = false;
    if (overflow) this.#send(encodeMessage(this.id, { type: 'clear', prefix: '' }));
    else for (const text of pending) this.#send(text);
  }

  #queueTimer(): void {
    if (this.#timer !== undefined || this.#closed) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#flush();
    }, FLUSH_DELAY);
    this.#timer.unref?.();
  }

  /**
   * The subscription is lost (a hang, or its connection closed): always reported, once per loss, even when a
   * failed publish was reported just before (on a master that died, the publishes to it can fail before the
   * subscriber's socket reports the close).
   */
  #lostSubscription(error: LarderRedisError): void {
    this.#subscribed = false;
    this.#reported = false;
    this.#report(error);
  }

  #report(error: unknown): void {
    this.#counts.errors++;
    if (this.#reported || this.#closed) return;
    this.#reported = true;
    this.#handlers?.error(error);
  }
}

function noop(): void {}

import type { CacheTier } from './tier.js';

/**
 * Why an entry left the cache through `delete` events: `delete` (the `delete` method), `tag`, `clear`, or
 * `remote`: to stay coherent with the other instances (a bus message, a resync of the bus, or a write the tier
 * applied late, see {@link CacheTier.onReplay}).
 */
export type DeleteReason = 'delete' | 'tag' | 'clear' | 'remote';

/** Payload of `hit`. */
export interface HitEvent<K> {
  /** The full key (namespace prefixes included). */
  key: K;
  /** True when a stale value was served (stale-while-revalidate). */
  stale: boolean;
}

/** Payload of `miss` and `expire`. */
export interface KeyEvent<K> {
  /** The full key (namespace prefixes included). */
  key: K;
}

/** Payload of `set`. */
export interface SetEvent<K, V> {
  /** The full key (namespace prefixes included). */
  key: K;
  /** The stored value. */
  value: V;
  /** Its TTL in milliseconds (`Infinity` for none). */
  ttl: number;
  /** What stored it: `set`, a load, or a fill from the second tier. */
  source: 'set' | 'load' | 'tier';
}

/** Payload of `delete`. */
export interface DeleteEvent<K> {
  /** The full key (namespace prefixes included). */
  key: K;
  /** What removed it. */
  reason: DeleteReason;
}

/** Payload of `evict`. */
export interface EvictEvent<K, V> {
  /** The full key (namespace prefixes included). */
  key: K;
  /** The evicted value. */
  value: V;
}

/** Payload of `load`. */
export interface LoadEvent<K> {
  /** The full key (namespace prefixes included). */
  key: K;
  /** How long the load took, in milliseconds. */
  duration: number;
  /** True for a background (stale-while-revalidate) load. */
  refresh: boolean;
  /** Whether it produced a value (false: it threw or rejected). */
  ok: boolean;
  /** Where the value came from: the loader, or the second tier. */
  source: 'loader' | 'tier';
  /**
   * True when the load exceeded `timeout` before it settled: its callers were answered with a stale value or
   * a `TimeoutError`, and this event reports how the load itself ended, later.
   */
  timedOut: boolean;
  /**
   * True when the loader gave up (`ok` is false) because an invalidation (`delete`, `set`, `clear`, tags) or
   * `close` aborted its `signal` while it ran, rejecting with `signal.reason` or an error named `AbortError`.
   * That is no load error: it is not counted in `stats().loadErrors`, and its waiting callers are answered afresh.
   * When `timedOut` is true too, the timeout came first (and was counted as one). Caches always set it; it is
   * optional only for other sources of `load` events.
   */
  aborted?: boolean;
}

/** Payload of `error`. */
export interface ErrorEvent<K> {
  /** The full key, when the failure concerns one. */
  key: K | undefined;
  /** What was thrown. */
  error: unknown;
  /** What failed. */
  operation: 'load' | 'refresh' | 'store' | 'tier' | 'bus' | 'listener';
}

/** The payload of each event, by event name. Keys are full keys (namespace prefixes included). */
export interface CacheEvents<K = unknown, V = unknown> {
  /** A read found a usable value (fresh, or stale under stale-while-revalidate). */
  hit: HitEvent<K>;
  /** A read found no fresh value. */
  miss: KeyEvent<K>;
  /** A value was stored, by `set`, by a load, or from the second tier. */
  set: SetEvent<K, V>;
  /** An entry was removed on request: `delete`, `invalidateTag(s)`, `clear`, or a message from another instance. */
  delete: DeleteEvent<K>;
  /** The policy removed an entry to stay within `max`/`maxSize`. */
  evict: EvictEvent<K, V>;
  /** An entry reached the end of its lifetime (TTL plus stale windows) and was dropped. */
  expire: KeyEvent<K>;
  /** A load settled. */
  load: LoadEvent<K>;
  /**
   * Something failed without failing the caller: a background refresh, a loader whose error was hidden by a
   * stale value, the tier, the bus, a store write of a loaded value, or an event listener (`operation: 'listener'`).
   */
  error: ErrorEvent<K>;
}

/** The names of the events a cache emits. */
export type CacheEventName = keyof CacheEvents;

/** A listener for event `E`. */
export type CacheListener<K, V, E extends CacheEventName> = (payload: CacheEvents<K, V>[E]) => void;

const EVENT_NAMES: readonly CacheEventName[] = [
  'hit',
  'miss',
  'set',
  'delete',
  'evict',
  'expire',
  'load',
  'error',
];

type ListenerArrays = { [E in CacheEventName]: ((payload: never) => void)[] | undefined };

/**
 * A tiny typed emitter with one slot per event, so that "is anyone listening?" is one property read and a
 * cache with no listeners pays nothing else. A listener that throws is reported as an `error` event (an
 * `error` listener that throws is ignored) and never breaks the cache.
 *
 * @internal
 */
export class Emitter {
  readonly slots: ListenerArrays = {
    hit: undefined,
    miss: undefined,
    set: undefined,
    delete: undefined,
    evict: undefined,
    expire: undefined,
    load: undefined,
    error: undefined,
  };

  on(event: string, listener: unknown): void {
    const name = checkEvent(event);
    if (typeof listener !== 'function') {
      throw new TypeError(`listener must be a function; got ${typeof listener}`);
    }
    const current = this.slots[name];
    this.slots[name] = current === undefined ? [listener as never] : [...current, listener as never];
  }

  off(event: string, listener: unknown): void {
    const name = checkEvent(event);
    const current = this.slots[name];
    if (current === undefined) return;
    const index = current.indexOf(listener as never);
    if (index === -1) return;
    const next = current.slice();
    next.splice(index, 1);
    this.slots[name] = next.length === 0 ? undefined : next;
  }

  /** Calls every listener of `event`. Callers check the slot first, so this runs only when someone listens. */
  emit(event: CacheEventName, payload: object): void {
    const listeners = this.slots[event];
    if (listeners === undefined) return;
    for (const listener of listeners) {
      try {
        (listener as (p: object) => void)(payload);
      } catch (error) {
        if (event !== 'error' && this.slots.error !== undefined) {
          this.emit('error', { key: undefined, error, operation: 'listener' });
        }
      }
    }
  }
}

function checkEvent(event: string): CacheEventName {
  if (!(EVENT_NAMES as readonly string[]).includes(event)) {
    throw new TypeError(`event must be one of ${EVENT_NAMES.join(', ')}; got ${JSON.stringify(event)}`);
  }
  return event as CacheEventName;
}

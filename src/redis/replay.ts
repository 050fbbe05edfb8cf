import type { BusMessage } from '../tier.js';
import { BATCH, type Invalidation } from './invalidation.js';
import { tagOfSuffix } from './keys.js';
import type { TierState } from './tier-state.js';

const REPLAY_DELAY = 1000;

/**
 * The failed writes of the Redis tier (deletions, sets, tag invalidations, clears), remembered with their times
 * and replayed when Redis is back (on a reconnect, a recovered hang or failover, or a retry timer): failed sets
 * are replayed as deletions. Up to `maxPending` of them; beyond that, one "clear everything" replaces them all.
 *
 * @internal
 */
export class Replay {
  readonly #s: TierState;
  readonly #inv: Invalidation;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** Failed writes to replay, by Redis key (entries and tags) or key prefix (clears), with their times. */
  readonly #dirtyKeys = new Map<string, number>();
  readonly #dirtyTags = new Map<string, number>();
  readonly #dirtyClears = new Map<string, number>();
  /** Time of a pending "clear everything" (replaces the maps when they overflow), 0 = none. */
  #dirtyAll = 0;
  /** Told of every replayed batch, as the invalidation it amounts to. */
  readonly #listeners: ((message: BusMessage) => void)[] = [];

  constructor(s: TierState, inv: Invalidation) {
    this.#s = s;
    this.#inv = inv;
  }

  /** Replays at once if anything is pending and Redis is usable (a hung master or link answered again). */
  readonly onRefresh = (): void => {
    if (!this.#s.closed && this.#s.link.ready && this.pending() > 0) this.run();
  };

  /** Adds a listener told of every replayed batch, after Redis applied it (see the class comment). */
  onReplay(listener: (message: BusMessage) => void): void {
    this.#listeners.push(listener);
  }

  /**
   * Remembers a failed deletion (or set) of the entry at Redis key `rkey`, as of `time` (Redis clock; before the
   * first clock measurement, the local clock: see {@link Replay.shift}).
   */
  rememberKey(rkey: string, time: number): void {
    this.#remember(this.#dirtyKeys, rkey, time);
  }

  /** Remembers a failed invalidation of a tag (its key suffix) as of `time`. */
  rememberTag(tsuffix: string, time: number): void {
    this.#remember(this.#dirtyTags, tsuffix, time);
  }

  /** Remembers a failed clear of a key prefix as of `at`. */
  rememberClear(prefix: string, at: number): void {
    this.#remember(this.#dirtyClears, prefix, at);
  }

  #remember(map: Map<string, number>, key: string, time: number): void {
    if (this.#s.closed) return;
    if (this.#dirtyAll > 0) {
      this.#dirtyAll = Math.max(this.#dirtyAll, time);
    } else {
      map.set(key, Math.max(map.get(key) ?? 0, time));
      if (this.#dirtyKeys.size + this.#dirtyTags.size + this.#dirtyClears.size > this.#s.maxPending) {
        let latest = time;
        for (const m of [this.#dirtyKeys, this.#dirtyTags, this.#dirtyClears]) {
          for (const t of m.values()) latest = Math.max(latest, t);
        }
        this.rememberAll(latest);
      }
    }
    this.#schedule();
  }

  /** Remembers a failed "clear everything" as of `time` (it replaces every other pending write). */
  rememberAll(time: number): void {
    if (this.#s.closed) return;
    this.#dirtyAll = Math.max(this.#dirtyAll, time);
    this.#dirtyKeys.clear();
    this.#dirtyTags.clear();
    this.#dirtyClears.clear();
    this.#schedule();
  }

  /** Retries soon if the client stays connected (a timeout); a reconnect replays at once anyway. */
  #schedule(): void {
    if (this.#timer !== undefined || this.#s.closed) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#s.link.ready) this.run();
      else if (this.pending() > 0) this.#schedule();
    }, REPLAY_DELAY);
    this.#timer.unref?.();
  }

  /** Failed writes waiting to be replayed (a pending "clear everything" counts as 1). */
  pending(): number {
    return this.#dirtyAll > 0 ? 1 : this.#dirtyKeys.size + this.#dirtyTags.size + this.#dirtyClears.size;
  }

  /**
   * The Redis clock was just measured for the first time: every time remembered until now was taken with no
   * offset (on this instance's clock, since none was known); put them on the Redis clock.
   */
  shift(offset: number): void {
    if (offset === 0) return;
    for (const m of [this.#dirtyKeys, this.#dirtyTags, this.#dirtyClears]) {
      for (const [k, t] of m) m.set(k, t + offset);
    }
    if (this.#dirtyAll > 0) this.#dirtyAll += offset;
  }

  /**
   * Sends the remembered failed writes again (synchronously, in order), keeping the ones that fail again. Not
   * before the Redis clock is known (the facade replays when it is; until then this asks for a measurement).
   */
  run(): void {
    if (this.pending() === 0 || this.#s.closed) return;
    if (!this.#s.clockKnown) {
      this.#s.ensureClock();
      this.#schedule();
      return;
    }
    this.#s.counts.replays++;
    const inv = this.#inv;
    const all = this.#dirtyAll;
    const keys = [...this.#dirtyKeys];
    const tags = [...this.#dirtyTags];
    const clears = [...this.#dirtyClears];
    this.#dirtyAll = 0;
    this.#dirtyKeys.clear();
    this.#dirtyTags.clear();
    this.#dirtyClears.clear();
    if (all > 0) {
      inv.clearAt('', all).then(
        () => this.#announce(() => ({ type: 'clear', prefix: '' })),
        () => this.rememberAll(all),
      );
      return;
    }
    const layout = this.#s.layout;
    for (let i = 0; i < keys.length; i += BATCH) {
      const batch = keys.slice(i, i + BATCH);
      inv
        .deleteAt(
          batch.map(([k]) => k),
          batch.map(([, t]) => t),
        )
        .then(
          () => this.#announce(() => ({ type: 'delete', keys: batch.map(([k]) => layout.cacheKeyOf(k)) })),
          () => {
            for (const [k, t] of batch) this.#remember(this.#dirtyKeys, k, t);
          },
        );
    }
    for (let i = 0; i < tags.length; i += BATCH) {
      const batch = tags.slice(i, i + BATCH);
      inv
        .tagsAt(
          batch.map(([k]) => k),
          batch.map(([, t]) => t),
        )
        .then(
          () => this.#announce(() => ({ type: 'tags', tags: batch.map(([k]) => tagOfSuffix(k)) })),
          () => {
            for (const [k, t] of batch) this.#remember(this.#dirtyTags, k, t);
          },
        );
    }
    for (const [prefix, at] of clears) {
      inv.clearAt(prefix, at).then(
        () => this.#announce(() => ({ type: 'clear', prefix })),
        () => this.#remember(this.#dirtyClears, prefix, at),
      );
    }
  }

  /**
   * Tells the listeners of a replayed batch (the message is built here, inside the guard: nothing thrown while
   * announcing may become an unhandled rejection). A listener that throws does not stop the others.
   */
  #announce(build: () => BusMessage): void {
    if (this.#s.closed || this.#listeners.length === 0) return;
    let message: BusMessage;
    try {
      message = build();
    } catch {
      // Keys of this tier's own making always decode; were one not to, dropping everything is the safe answer.
      message = { type: 'clear', prefix: '' };
    }
    for (const listener of this.#listeners) {
      try {
        listener(message);
      } catch {
        // The cache's listener does not throw; a replay must not fail for another one's error.
      }
    }
  }

  /** Stops the retry timer (the tier is closing). */
  dispose(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

import type { Entry } from './entry.js';
import type { Loader } from './loads.js';
import type { Resolved } from './options.js';

const noop = (): void => {};

/**
 * One load of one key, shared by every caller that asks for the key while it runs (single-flight).
 *
 * - `invalidated`: a `delete`/`set`/`clear`/tag invalidation (or `close`) hit the key during the load, so its
 *   result must not be stored (no stale write-back); callers that joined still get the result, or, when the
 *   loader gave up because of the abort, a fresh answer (see `Loads.failed`).
 * - `detached`: the load timed out with no stale value and was taken out of the in-flight table, so that
 *   the next call starts afresh; its late result is not stored either.
 * - `settled`: callers have their answer (the load itself may still be running after a soft timeout).
 *
 * @internal
 */
export class Flight<V> {
  readonly promise: Promise<V | undefined>;
  readonly controller = new AbortController();
  resolve!: (value: V | undefined | PromiseLike<V | undefined>) => void;
  reject!: (error: unknown) => void;
  settled = false;
  invalidated = false;
  detached = false;
  timedOut = false;
  timer: ReturnType<typeof setTimeout> | undefined = undefined;
  /** The entry's tags are known only once loaded (a batch's `tags` function): any tag invalidation stops it. */
  anyTag = false;
  /**
   * True while the load reads the tier: a tag invalidated then is noted in {@link tagsWhileReading}, since the
   * record read may carry it although neither the load nor memory knew the key's tags (see `Loads.fromTier`).
   */
  readingTier = false;
  /** Tags invalidated or expired while {@link readingTier}; `undefined`: none. */
  tagsWhileReading: string[] | undefined = undefined;
  /** Calls waiting for this load's answer (for `staleHits`): the caller that started it, and those that joined. */
  waiters: number;
  /** How many loads before this one the waiting callers were moved on from (see `Loads.failed`); bounded. */
  rounds = 0;
  /** What started it, to load again for its waiting callers; `undefined` for a batch's key (no retry). */
  loader: Loader<unknown, V, V | undefined> | undefined = undefined;
  userKey: unknown = undefined;
  opts: Resolved | undefined = undefined;

  constructor(
    /** Tags the loaded entry will carry (for tag invalidation during the load). */
    readonly tags: readonly string[] | undefined,
    /** When the load started (epoch ms): the entry's `createdAt`. */
    readonly startedAt: number,
    /** The expired entry this load replaces, if any: the stale value for fallbacks. */
    public stale: Entry<V> | undefined,
    /** A background refresh (stale-while-revalidate, refresh-ahead): nobody waits for it unless they join it. */
    readonly background: boolean,
  ) {
    this.waiters = background ? 0 : 1;
    this.promise = new Promise<V | undefined>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    // Callers who await the promise still see a rejection; a rejection nobody awaits (a failed
    // background refresh) must not become an unhandled rejection.
    this.promise.catch(noop);
  }

  /** Answers the callers once (a value, or a promise of one to follow); later answers are ignored. */
  settle(ok: boolean, value: unknown): void {
    if (this.settled) return;
    this.settled = true;
    if (ok) this.resolve(value as V | undefined | PromiseLike<V | undefined>);
    else this.reject(value);
  }

  /**
   * Whether a tag invalidation of any of `tags` must stop this load from storing: the entry it will store carries
   * one, or the entry it replaces does (a load of a key tagged by `set` need not be given the tags itself).
   */
  carriesAny(tags: readonly string[]): boolean {
    if (this.anyTag) return true;
    if (this.tags?.some((t) => tags.includes(t)) === true) return true;
    return this.stale?.tags?.some((t) => tags.includes(t)) === true;
  }

  /** Stops the timeout timer, if any. */
  stopTimer(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
  }
}

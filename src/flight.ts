import type { Entry } from './entry.js';

const noop = (): void => {};

/**
 * One load of one key, shared by every caller that asks for the key while it runs (single-flight).
 *
 * - `invalidated`: a `delete`/`set`/`clear`/tag invalidation hit the key during the load, so its result
 *   must not be stored (no stale write-back); callers that joined still get the result.
 * - `detached`: the load timed out with no stale value and was taken out of the in-flight table, so that
 *   the next call starts afresh; its late result is not stored either.
 * - `settled`: callers have their answer (the load itself may still be running after a soft timeout).
 *
 * @internal
 */
export class Flight<V> {
  readonly promise: Promise<V | undefined>;
  readonly controller = new AbortController();
  resolve!: (value: V | undefined) => void;
  reject!: (error: unknown) => void;
  settled = false;
  invalidated = false;
  detached = false;
  timedOut = false;
  timer: ReturnType<typeof setTimeout> | undefined = undefined;
  /** The entry's tags are known only once loaded (a batch's `tags` function): any tag invalidation stops it. */
  anyTag = false;

  constructor(
    /** Tags the loaded entry will carry (for tag invalidation during the load). */
    readonly tags: readonly string[] | undefined,
    /** When the load started (epoch ms): the entry's `createdAt`. */
    readonly startedAt: number,
    /** The expired entry this load replaces, if any: the stale value for fallbacks. */
    public stale: Entry<V> | undefined,
  ) {
    this.promise = new Promise<V | undefined>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    // Callers who await the promise still see a rejection; a rejection nobody awaits (a failed
    // background refresh) must not become an unhandled rejection.
    this.promise.catch(noop);
  }

  /** Answers the callers once; later answers are ignored. */
  settle(ok: boolean, value: unknown): void {
    if (this.settled) return;
    this.settled = true;
    if (ok) this.resolve(value as V | undefined);
    else this.reject(value);
  }

  /** Whether a tag invalidation of any of `tags` must stop this load from storing. */
  carriesAny(tags: readonly string[]): boolean {
    if (this.anyTag) return true;
    return this.tags?.some((t) => tags.includes(t)) === true;
  }

  /** Stops the timeout timer, if any. */
  stopTimer(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
  }
}

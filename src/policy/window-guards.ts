import { STEP_FRACTION } from './hill-climber.js';
import { ShadowLru } from './shadow-lru.js';

/** Largest share of the capacity the window may grow to. */
export const MAX_WINDOW = 0.95;
/** The window share the small-window guard compares with and drops to (Caffeine's 1%, the initial share). */
export const SMALL_WINDOW = 0.01;
/** The LRU guard's shadow keeps at least this many entries. */
const GUARD_MIN_SHADOW = 128;
/** The guards judge periods of this many times the capacity in requests. */
const GUARD_PERIOD = 4;
/**
 * How far the LRU guard moves the window share at once: all the way (to MAX_WINDOW), the most LRU-like
 * the store can be; a jump that makes the store worse is undone. (It was 0.25 until 2026-12-05; the
 * full jump took backf at 500 from 7.13 points below LRU to 3.02, see `docs/policy.md`.)
 */
const GUARD_JUMP = 1;
/** How far ahead (hit ratio, sampled) plain LRU, or the small window, must be for a guard to act. */
const GUARD_MARGIN = 0.05;
/** After a drop to SMALL_WINDOW, the ceiling on the window share rises by this much per quiet guard period. */
const CEILING_STEP = STEP_FRACTION / 8;
/**
 * The small-window miniature runs only when the guards sample at most 1 key in this many: at a rate of 1 (stores
 * under 256 entries) it would be a full copy of the store, doubling the work of every request.
 */
const SMALL_GUARD_MIN_RATE = 2;

/** The miniature fixed-window W-TinyLFU the small-window guard replays the sample on (keys are hashes). */
export interface Miniature {
  get(hash: number): unknown;
  set(hash: number, value: true, weight: number): void;
}

/**
 * The two guards on the window share of a W-TinyLFU store, judged on a hash-sampled subset of its keys.
 *
 * The gradient climber sees only small moves of the window, and some workloads reward only large ones: a
 * sweep up and down over more keys than fit (zigzag) is served well by plain LRU and badly by any small
 * window. So the **LRU guard** follows what plain LRU of the store's size would hit on the sampled keys (a
 * shadow LRU of hashes, sized down by the sampling rate), request for request against the store's own hits on
 * the same keys. When LRU is ahead by at least 5 points, significantly (McNemar z >= 3), the window jumps to
 * its maximum and may not shrink below that for a while; the floor then comes down one step per quiet period.
 * A jump after which the store's own sampled hit ratio drops is undone, and the guard waits (doubling) before
 * the next. The jump is judged on the period right after it, or (`settle`) on a later one: a store whose main area
 * keeps no recency order (lazy promotion) refills a grown window from it in no useful order, so its first period
 * after a jump is a transition, not the new window's hit ratio.
 *
 * The **small-window guard** is the mirror image, for workloads where the gradient's votes walk the window far
 * above its best size: a miniature W-TinyLFU with a fixed 1% window (capacity and sketch scaled down by the
 * sampling rate, as in miniature cache simulation) replays the same sampled requests. When it is ahead of the
 * store by 5 points, significantly, the window drops to 1% under a ceiling that rises by 1/8 of a climber step
 * per quiet period (no undo: the LRU guard lifts the ceiling when LRU is clearly ahead). The miniature only runs
 * when the sample is at most half the keys (stores of 256 entries or more); below that it would be a full
 * second store.
 *
 * The store keeps the window share; {@link WindowGuards.sample} tells it where to move it, and the store
 * clamps every move to [{@link WindowGuards.floor}, {@link WindowGuards.ceiling}].
 *
 * @internal
 */
export class WindowGuards {
  /** Lower bound on the window share while an LRU guard verdict holds. */
  floor = 0;
  /** Upper bound on the window share while a small-window guard verdict holds. */
  ceiling = MAX_WINDOW;
  /** Whether the last verdict of {@link sample} was a jump or a drop (the climber starts afresh then). */
  jumped = false;
  readonly #mask: number;
  readonly #period: number;
  readonly #lru: ShadowLru;
  readonly #small: Miniature | undefined;
  #requests = 0;
  /** Sampled requests plain LRU hit and the store missed, and the reverse; and the store's hits. */
  #lruOnly = 0;
  #oursOnly = 0;
  #ours = 0;
  /** Sampled requests the miniature hit and the store missed, and the reverse. */
  #smallOnly = 0;
  #oursNotSmall = 0;
  /** After a jump: the window share and sampled hit ratio before it, to undo a jump that hurt. */
  #undo = -1;
  #before = 0;
  /** Quiet periods to wait before the LRU guard may act again (doubles after each undone jump). */
  #backoff = 1;
  #wait = 0;
  /** Periods after a jump that are not judged (see the constructor), and how many of them are left. */
  readonly #settle: number;
  #settling = 0;

  /**
   * @param entries - the store's capacity in entries
   * @param miniature - makes the small-window guard's miniature of a given capacity; `undefined`: no
   * small-window guard
   * @param settle - periods after a jump that pass before the jump is judged (kept or undone) on the next
   * one; default 0 (judged on the period right after it)
   */
  constructor(entries: number, miniature: ((capacity: number) => Miniature) | undefined, settle = 0) {
    this.#settle = settle;
    // Sample about 1 key in 2^k so that the shadow LRU keeps at least 128 entries.
    let rate = 1;
    while (rate < 65536 && entries / (rate * 2) >= GUARD_MIN_SHADOW) rate *= 2;
    this.#mask = rate - 1;
    const shadow = Math.max(1, Math.round(entries / rate));
    this.#lru = new ShadowLru(shadow);
    this.#small = miniature !== undefined && rate >= SMALL_GUARD_MIN_RATE ? miniature(shadow) : undefined;
    this.#period = Math.max(512, Math.round((GUARD_PERIOD * entries) / rate));
  }

  /** Whether the key with this hash is in the sample (about 1 in `2^k`). */
  sampled(hash: number): boolean {
    return ((Math.imul(hash, 0x9e3779b1) >>> 16) & this.#mask) === 0;
  }

  /**
   * Records a request for a sampled key, and judges at the end of each period.
   *
   * @param hash - the key's hash
   * @param hit - whether the store hit it
   * @param fraction - the store's window share now
   * @param evicting - whether the store has evicted yet (nothing is judged before)
   * @returns the window share to move to (set {@link floor} and {@link ceiling} first), or -1 to stay
   */
  sample(hash: number, hit: boolean, fraction: number, evicting: boolean): number {
    const lruHit = this.#lru.access(hash);
    const small = this.#small;
    if (small !== undefined) {
      const smallHit = small.get(hash) !== undefined;
      if (!smallHit) small.set(hash, true, 1);
      if (smallHit !== hit) {
        if (smallHit) this.#smallOnly++;
        else this.#oursNotSmall++;
      }
    }
    if (hit) this.#ours++;
    if (lruHit !== hit) {
      if (lruHit) this.#lruOnly++;
      else this.#oursOnly++;
    }
    if (++this.#requests < this.#period) return -1;
    return this.#judge(fraction, evicting);
  }

  /** The end of a period: undo a jump that hurt, or let one guard act, or relax the bounds. */
  #judge(fraction: number, evicting: boolean): number {
    const n = this.#requests;
    const lruOnly = this.#lruOnly;
    const oursOnly = this.#oursOnly;
    const ours = this.#ours / n;
    const smallOnly = this.#smallOnly;
    const oursNotSmall = this.#oursNotSmall;
    this.#requests = 0;
    this.#lruOnly = 0;
    this.#oursOnly = 0;
    this.#ours = 0;
    this.#smallOnly = 0;
    this.#oursNotSmall = 0;
    this.jumped = false;
    if (!evicting) return -1;
    if (this.#undo >= 0 && this.#settling > 0) {
      // A period of transition after a jump: neither judged nor counted as quiet.
      this.#settling--;
      return -1;
    }
    if (this.#undo >= 0) {
      // The period after a jump: keep it only if the store did not get worse.
      const undo = this.#undo;
      this.#undo = -1;
      const noise = 2 * Math.sqrt(Math.max(this.#before * (1 - this.#before), 0.01) / n);
      if (ours < this.#before - noise) {
        this.floor = 0;
        this.ceiling = MAX_WINDOW;
        this.#backoff = Math.min(this.#backoff * 2, 1024);
        this.#wait = this.#backoff;
        return undo;
      }
      this.#backoff = 1;
      return -1;
    }
    if (this.#wait > 0) {
      this.#wait--;
    } else if (
      (lruOnly - oursOnly) / n >= GUARD_MARGIN &&
      lruOnly - oursOnly >= 3 * Math.sqrt(lruOnly + oursOnly) &&
      fraction < MAX_WINDOW
    ) {
      this.#undo = fraction;
      this.#settling = this.#settle;
      this.#before = ours;
      const target = Math.min(MAX_WINDOW, fraction + GUARD_JUMP);
      this.ceiling = MAX_WINDOW;
      this.floor = target;
      this.jumped = true;
      return target;
    } else if (
      this.#small !== undefined &&
      (smallOnly - oursNotSmall) / n >= GUARD_MARGIN &&
      smallOnly - oursNotSmall >= 3 * Math.sqrt(smallOnly + oursNotSmall) &&
      fraction > SMALL_WINDOW
    ) {
      // A small window is well ahead (the gradient has walked to a window that costs the main area more
      // than it catches): drop to it and hold a ceiling that rises slowly.
      this.floor = 0;
      this.ceiling = SMALL_WINDOW;
      this.jumped = true;
      return SMALL_WINDOW;
    }
    if (this.floor > 0) this.floor = Math.max(0, this.floor - STEP_FRACTION);
    if (this.ceiling < MAX_WINDOW) this.ceiling = Math.min(MAX_WINDOW, this.ceiling + CEILING_STEP);
    return -1;
  }
}

import { AddResult, FrequencySketch } from './frequency-sketch.js';
import { Ghost, GhostRegion } from './ghost.js';
import { hashKey } from './hash.js';
import { GradientClimber, HitRateClimber } from './hill-climber.js';
import type { Store, StoreOptions } from './store.js';
import { MAX_WINDOW, SMALL_WINDOW, WindowGuards } from './window-guards.js';

// The constants the store's hot paths read are enums, not module-level consts: a bundler (esbuild, hence tsup and
// this package's dist) turns a module's top-level `const` into a `var`, which V8 reads from the module's context on
// every use (a load, a small-integer check and an untagging, and overflow-checked arithmetic on top), where it folds
// an enum member that the bundler has inlined as a literal. An evicting insert counted 2,658 machine instructions
// with consts and 2,230 with the enums alone (2,213 with `#missHeld` beside them; insert-instructions.ts, 2026-12-06;
// docs/policy-log.md, "Constants the bundle can fold"); test/policy/bundle-constants.test.ts keeps the store's methods
// free of such reads.

/** Segment ids; each is also the slot of its list's sentinel. */
enum Seg {
  WINDOW = 0,
  PROBATION = 1,
  PROTECTED = 2,
}

/** Slot numbers that are not entries. */
enum Slot {
  /** The first entry's slot (slots 0-2 are the segments' sentinels). */
  FIRST = 3,
  /** No slot. */
  NIL = -1,
}

/**
 * Per-slot record layout in `#meta` (`Rec.SIZE` words per slot). The key's hash is not kept: it is recomputed from
 * the key where needed (admission, ghosts, the guard's sample, adding deferred hits), except for recent insertions,
 * whose hashes a small fixed table keeps (see `#recentSlots`).
 */
enum Rec {
  SIZE = 2,
  NEXT = 0,
  PREV = 1,
}

/**
 * Bits of a slot's hit state in `#hit`, one byte: what a hit reads and writes, kept apart from the 8-byte link
 * records and the flags so that a lazy hit touches one byte in a dense array (100 KB at 100,000 entries).
 */
enum Hit {
  /** Bits 0-3: hits not yet added to the sketch (this epoch's; every aging settles them). */
  PENDING = 15,
  /** Bit 4: the key's counters are saturated this epoch: its hits need no counting. */
  SAT = 16,
  /** Bit 5, lazy promotion only (see {@link TinyLfuTuning.promotion}): referenced. */
  REF = 32,
  /** Bit 6: the key is in the guards' sample (see `WindowGuards`). */
  GUARD = 64,
  /** The bits a lazy hit's fast path tests. */
  FAST = SAT | REF | GUARD,
}

/**
 * Bits of a slot's flags in `#flags`, one byte: where the entry sits. Until 2026-12-06 they lived in a third word of
 * the link record, with eager promotion's move stamp (13 bytes per slot with the hit state, against 10 now;
 * docs/policy-log.md, "One byte of flags per slot").
 */
enum Flag {
  /** Bits 0-1: the segment (`Seg`). */
  SEG_MASK = 3,
  /** Bit 2: the entry is in its list's tail. */
  TAIL = 4,
}

/** Eager promotion's move stamps (`#stamps`): `#moves` mod 2^16 when an entry last moved to protected's recent end. */
enum Stamp {
  MASK = 0xffff,
}

/**
 * The table of pending misses: the hashes of keys whose `get` missed (and counted them in the sketch), so that the
 * `set` that answers the miss does not count the key again, even when other misses came in between (overlapping
 * loads). Direct-mapped (see `missPlace`); a place `i` that holds no miss holds `i ^ 1`, which no hash placed there
 * equals. A later miss whose hash takes the same place overwrites it, and that key then counts again at its `set`
 * (after m misses in between, a pending miss is still there with probability (255/256)^m: about 14% after 500). A
 * miss no `set` answers stays until overwritten, so a plain write of that key much later counts nothing (its miss
 * was counted).
 */
enum Misses {
  PLACES = 256,
  MASK = 255,
}

/** Numbers the hot paths use that are choices, not layout. */
enum Tuned {
  /** Deferred hits are counted toward the sketch's aging in batches of this many. */
  TICK_BATCH = 32,
  /** Candidates at least this frequent are admitted at random 1 time in 128 (hash flooding defence). */
  ADMIT_HASHDOS_THRESHOLD = 6,
  /**
   * Lazy promotion only: the weight of a vote for main cast by a hit in probation's tail. Probation's tail then
   * also holds referenced entries waiting to be promoted (eager promotion would have moved them to protected
   * already), so it covers fewer of the entries eviction would take next, and a tail hit stands for more missed
   * hits than it does with eager promotion. (Over POLICIES.md's rows, with `LAZY_GUARD_SETTLE`, the share of the
   * LRU-to-OPT gap closed was 52.4% at weight 1, 52.8% at 1.25, 53.7% at 1.5, 52.9% at 1.75, 53.2% at 2: noisy,
   * see `docs/policy-log.md`.)
   */
  LAZY_TAIL_VOTE = 1.5,
}
/** Protected's share of the main area; the rest is probation. */
const PROTECTED_SHARE = 0.8;
/** Initial window share (Caffeine's 1%). */
const INITIAL_WINDOW = 0.01;
/**
 * The least window share the climbers may move to: the share the store starts from (and the small-window guard
 * drops to), or the initial share given by `TinyLfuTuning.window` when that is smaller. Without it, the votes of
 * frequency-heavy traces shrank the window to a single entry, which cost scan at 1500 3.8 points against a fixed
 * 1% window (docs/policy-log.md, "The window's floor").
 */
const MIN_WINDOW = INITIAL_WINDOW;
/** How far back (as a share of capacity) ghost and tail hits count as votes for the climber. */
const HORIZON_FRACTION = 0.05;
/**
 * Lazy promotion only: guard periods after an LRU-guard jump before the jump is judged (see `WindowGuards`).
 * Main keeps no recency order under lazy promotion, so the entries a grown window takes from it arrive in
 * no useful order and the first period after a jump is a transition (zigzag at 500: a 3% hit ratio where
 * eager promotion reaches 8%): judged on it, the jump was undone and the window collapsed.
 */
const LAZY_GUARD_SETTLE = 1;
/** Entries moved between segments per window resize, at most. */
const TRANSFER_LIMIT = 1000;
/**
 * For count bounds up to this many entries, the sketch (8 bytes per entry) and the slot storage (keys,
 * values, link records, hit state and flags bytes: 26 bytes per entry with 64-bit pointers, 28 under eager promotion
 * with its move stamps) are allocated up front, as
 * lru-cache does; above it, the slot storage grows with the entries held and the sketch is allocated, for the count
 * bound, once the store is half full (see `#followEntryCount`).
 */
const EAGER_LIMIT = 1 << 20;
const NO_MISS: unique symbol = Symbol('no miss');
/** Hits buffered before the policy applies them (see `get`). */
const READ_BUFFER = 128;
/**
 * Places in the table of recent insertions' key hashes (see `#recentSlots`), at most. A count-bounded
 * store takes the smallest power of two that is at least a 32nd of its bound: 8 bytes per place, so at
 * most half a byte per entry (or 8 bytes in all).
 */
const RECENT = 1024;

/**
 * Knobs for benchmarks that compare design choices. The cache never passes these; the defaults are
 * the measured choice (see `docs/policy.md`).
 *
 * @internal
 */
export interface TinyLfuTuning {
  /**
   * Initial share of the capacity given to the admission window, in [0, 0.95]. Default 0.01. The climbers never
   * take the window below this share or 1%, whichever is smaller.
   */
  window?: number;
  /**
   * How the window adapts: `'gradient'` (default: ghost and tail hits, see {@link GradientClimber}),
   * `'hit-rate'` (Caffeine's hill climber on sample hit rates, see {@link HitRateClimber}) or `'off'`
   * (fixed window).
   */
  climber?: 'gradient' | 'hit-rate' | 'off';
  /**
   * Eager promotion only: hits recorded before the policy applies them, in one batch (see
   * {@link TinyLfuStore.get}). Default 128; 1 applies every hit at once. The store behaves the same either
   * way; only its speed differs.
   */
  readBuffer?: number;
  /**
   * Whether the store takes its shortcuts: a count-bounded store's full-protected swap on a probation hit
   * (eager promotion) and one-for-one eviction on an insertion, and lazy promotion's in-place hit in `get`.
   * Default true; false takes the general paths, with the same decisions (tests compare the two), except
   * that under lazy promotion the one-for-one path also compares a candidate that the general path's victim
   * search can reach and evict without a comparison (see `#oneForOne`).
   */
  shortcuts?: boolean;
  /**
   * Whether an insertion into a full, count-bounded store takes `#insertFull`: the window's least recent entry
   * faces probation's victim before the new entry is linked, and the slot that frees (the refused candidate's,
   * or the victim's) takes the new entry. Default true (with `shortcuts`); false links the entry first and then
   * evicts through `#oneForOne`. The two take the same decisions (tests compare them); only slot numbers differ.
   */
  fusedInsert?: boolean;
  /**
   * Whether admission reuses probation's victim's frequency estimate while the sketch reports no write to the
   * victim's block (see `FrequencySketch.frequency`). Default true; false asks the sketch every time. The two take
   * the same decisions (tests compare them).
   */
  victimMemo?: boolean;
  /**
   * Whether the gradient climber's store also runs the small-window guard (a miniature fixed-window
   * W-TinyLFU on the LRU guard's key sample; see `docs/policy.md`). Default true; false is the store as
   * it was before it, kept to benchmark and test against.
   */
  smallWindowGuard?: boolean;
  /**
   * `'lazy'` (default since 2026-12-06): a hit in probation or protected only marks the entry referenced
   * (a bit of its hit state byte, see `get`); eviction promotes probation's referenced entries when it reaches them, and
   * protected demotes CLOCK-style (a referenced entry goes round once more). A hit in probation's tail
   * votes for main with weight 1.5 (`Tuned.LAZY_TAIL_VOTE`), and the LRU guard judges a jump one period later
   * (`LAZY_GUARD_SETTLE`). `'eager'`: a hit in probation promotes the entry to protected at once, and a hit
   * in protected moves it to protected's recent end (both segments in LRU order), through the read
   * buffer. Eager measured slightly higher hit ratios and a `get` about 0.6x as fast on a sweep
   * (docs/policy-log.md); it is kept to benchmark against.
   */
  promotion?: 'eager' | 'lazy';
}

/**
 * W-TinyLFU (Einziger, Friedman, Manes, "TinyLFU: A Highly Efficient Cache Admission Policy", 2017;
 * as in Caffeine), bounded by entry count and/or total weight.
 *
 * - New entries enter a small LRU **window** (1% of capacity at first).
 * - Entries pushed out of the window become **candidates** for the main area, a segmented LRU of
 *   **probation** (20% of main) and **protected** (80%). A hit in probation promotes to protected;
 *   protected overflow is demoted back to probation's most recent end. With lazy promotion (the
 *   default), a hit in main only marks the entry referenced, and the promotion happens when eviction
 *   reaches it; protected then demotes CLOCK-style (see {@link TinyLfuTuning.promotion}).
 * - When the store is over its bounds, a candidate is compared with main's **victim** (probation's
 *   least recent entry) by their estimated frequency in a {@link FrequencySketch}: the candidate is
 *   admitted, and the victim evicted, only if it is strictly more frequent. Otherwise the candidate is
 *   evicted: a refused admission, reported through `onEvict` like any eviction. That is what keeps a
 *   scan or a loop bigger than the cache from flushing the hot set.
 * - The window's share adapts (see `hill-climber.ts`): ghost hits (keys requested again shortly after
 *   the window or main evicted them) and tail hits (hits on each segment's least recent entries) vote
 *   for a bigger window or a bigger main area, and a {@link GradientClimber} moves the window one
 *   step when the votes are clearly one-sided. An LRU guard compares the store, on a hash-sampled
 *   subset of keys, with what plain LRU of the same size would hit, and enlarges the window when
 *   LRU is well ahead (recency-heavy workloads such as sweeps and shifting working sets). A
 *   small-window guard compares it, on the same sample, with a miniature W-TinyLFU whose window stays
 *   at 1%, and drops the window to 1% under a slowly rising ceiling when that one is well ahead (the
 *   votes can drift the window far too large, as on the storage traces P2 and P12). Both guards live
 *   in `window-guards.ts`; the store feeds them its sampled requests and applies their verdicts.
 *
 * Every segment is bounded in both dimensions (entries and weight), so an entry heavier than the
 * window passes straight through it, and one heavier than the whole store is evicted at once.
 *
 * Storage: one `Map` from key to slot number, and per slot a 2-word link record, a hit state byte (pending
 * hits, saturation, the lazy reference, the guard bit), a flags byte (the segment, the tail bit), the key, the value
 * and (only when weighted) the weight and (only under eager promotion) a 16-bit move stamp, holding three circular
 * doubly-linked lists;
 * free slots are a stack threaded through their link words. Up to `EAGER_LIMIT` entries, all of it
 * is allocated for the count bound up front. Key hashes are recomputed where they are needed (a
 * compared or evicted entry, deferred hits added to the sketch), not stored. A hit costs one `Map`
 * lookup and, with lazy promotion (the default), one byte read and written (eager promotion: a few
 * writes to one record, its neighbours' records, its flags and its stamp): its sketch increment is deferred into the
 * entry's hit state and added to the sketch only when the key is compared, every 15 hits, or before the sketch
 * ages. The key is hashed again only when its deferred hits are added or when it is in
 * the LRU guard's sample; nothing is allocated, except that a sampled key's hit also reaches the
 * small-window guard's miniature store, whose miss inserts into its own `Map`. A small fixed table
 * keeps the hashes of recent insertions (up to 1,024), so that most candidates leaving the window are
 * not hashed a second time.
 *
 * Why this class is still large (about 1,930 lines with its comments): the slot arrays, the three
 * lists with their tails, the deferred sketch counting and the climber's votes are read and written by the
 * same hit path, which is kept in one class on purpose: reached through nested helpers instead of one `#swap`
 * in the read buffer's drain, a sweep ran 11-25% slower (docs/policy-log.md, "Results against issue 7's
 * bars"); the insert path's one-for-one eviction is written the same way, and so is a full store's insertion
 * that refuses its candidate (`#insertFull`, `#rotateWindow`: with the cache's direct `set`, 3,306 machine
 * instructions per evicting `Cache.set` went to 2,661, `bench/throughput/insert-instructions.ts`). The guards,
 * which the hit path only calls for sampled keys, are split out; the table of pending misses (`Misses`) is a word
 * read by the insert path beside `#lastMiss`, kept here for the same reason. It also holds the eager-promotion mode (the default until
 * 2026-12-06), a benchmark knob measured against the default (docs/policy-log.md). The next split, window
 * sizing (limits, resizes, the climbers' votes) behind an interface the hit path calls only on a vote,
 * is open.
 *
 * @internal
 */
export class TinyLfuStore<K, E> implements Store<K, E> {
  readonly #map = new Map<K, number>();
  readonly #onEvict: (key: K, value: E) => void;
  readonly #weighted: boolean;
  readonly #maxCount: number;
  readonly #maxWeight: number;
  readonly #sketch = new FrequencySketch();

  // Slots.
  #keys: (K | undefined)[] = [undefined, undefined, undefined];
  #vals: (E | undefined)[] = [undefined, undefined, undefined];
  /** Two words per slot: next and previous slot in its list. */
  #meta: Int32Array;
  /** One byte per slot: pending hits, saturation, the lazy reference and the guard bit (see `Hit`). */
  #hit: Uint8Array;
  /** One byte per slot: the segment and the tail bit (see `Flag`). */
  #flags: Uint8Array;
  /** Eager promotion only (empty under lazy promotion): each slot's move stamp (see `Stamp`, `#applyHit`). */
  #stamps: Uint16Array;
  /** Whether the slot storage was allocated for the count bound up front (see `EAGER_LIMIT`). */
  readonly #eager: boolean;
  /** Weights, per slot; empty when the store is not weighted (every weight is then 0). */
  #wt: Float64Array;
  /** Free slots, as a stack threaded through their `Rec.NEXT` words (`Slot.NIL`: none). */
  #freeHead = Slot.NIL;
  #top = Slot.FIRST;

  // Totals, per segment and overall.
  readonly #segCount = new Int32Array(3);
  readonly #segWeight = new Float64Array(3);
  #count = 0;
  #weight = 0;

  // Least recent `#tailSize` entries of the window and of probation ("tails"), for the climber.
  readonly #tailCount = new Int32Array(3);
  readonly #boundary = new Int32Array([Seg.WINDOW, Seg.PROBATION, Seg.PROTECTED]);
  #tailSize = 0;
  /** How far back (in evictions) ghost hits vote, and the tail size once the store evicts. */
  #horizon = 1;

  // Segment limits.
  #fraction: number;
  #windowCount = 0;
  #windowWeight = 0;
  #protectedCount = 0;
  #protectedWeight = 0;

  // Window sizing.
  readonly #mode: 'gradient' | 'hit-rate' | 'off';
  readonly #gradient = new GradientClimber();
  #hitRate: HitRateClimber | undefined;
  /** Keys the window and main evicted lately, in one memory's two regions (gradient climber only). */
  #ghosts: Ghost | undefined;
  /** Entries that left the window (to probation or evicted). */
  #windowExits = 0;
  /** Entries evicted from main. */
  #mainEvictions = 0;
  /** Whether the store has evicted yet (before that, nothing is marginal). */
  #evicting = false;
  #pendingResize = 0;
  #hits = 0;
  /** Deferred hits not yet counted toward the sketch's aging. */
  #ticks = 0;
  /** Moves to protected's recent end (mod 2^16), and how many of them make an entry movable again. */
  #moves = 0;
  #lazyMoves = 0;
  readonly #smallGuardOn: boolean;
  /** Lazy promotion (see {@link TinyLfuTuning.promotion}). */
  readonly #lazy: boolean;
  /** Whether the count-bounded shortcuts are on (see {@link TinyLfuTuning.shortcuts}). */
  readonly #shortcuts: boolean;
  /** Whether insertions into a full store may take `#insertFull` (count-bounded, shortcuts, `fusedInsert`). */
  readonly #fused: boolean;
  #fusedInserts = 0;
  /**
   * The hit state bits `get` tests for its in-place hit: `Hit.FAST` under lazy promotion with shortcuts, else
   * 0 (which never matches, so every hit takes the general path).
   */
  readonly #fastMask: number;
  /** The least window share the climbers may move to (see `MIN_WINDOW`). */
  readonly #minWindow: number;
  /** The LRU and small-window guards (gradient climber only, once the capacity is known). */
  #guards: WindowGuards | undefined;

  // A `set` right after a `get` miss of the same key reuses its hash and does not count it twice.
  #lastMiss: K | typeof NO_MISS = NO_MISS;
  #lastMissHash = 0;
  /** Whether `#lastMiss` holds a key (see `#insert`). */
  #missHeld = false;
  /** Hashes of keys whose miss was counted and whose `set` has not come yet (see {@link Misses}). */
  readonly #pendingMisses = pendingMissTable();
  // Key hashes are not stored per slot: the last victim's is remembered (see `#victimHash`), and the
  // last compared candidate's is kept for its eviction.
  // The memo names the victim's slot, compared as an integer: a key comparison made V8 call its `StrictEqual` builtin
  // (keys are of any type). `#remove` clears the memo of the slot it frees; `#insertFull`'s in-place refusal writes
  // over the candidate's slot, never the memoised victim's.
  #memoSlot = Slot.NIL;
  #memoHash = 0;
  #candidateHash = 0;
  /** The hash whose estimate `#victimFreq` holds, valid while the sketch's watched block is unchanged (see `#admit`). */
  #victimFreqHash = 0;
  #victimFreq = 0;
  /** See {@link TinyLfuTuning.victimMemo}. */
  readonly #victimMemo: boolean;
  #victimEstimates = 0;
  /** Votes cast by the ghosts (see {@link TinyLfuStore.ghostVotes}). */
  #ghostVotes = 0;
  /**
   * The key hashes of recent insertions, by slot (direct-mapped on the slot's low bits): the slot
   * inserted into last at `s & #recentMask` and its key's hash. Most candidates left the window soon
   * after their insertion, so their hash is here and their key is not hashed again (see `#hashOf`).
   */
  readonly #recentSlots: Int32Array;
  readonly #recentHashes: Int32Array;
  readonly #recentMask: number;

  // Evictions waiting to be reported.
  #evKeys: (K | undefined)[] = [];
  #evVals: (E | undefined)[] = [];
  #evCount = 0;
  #flushing = false;

  #random = 0x2545f491;

  // Hits not yet applied to the policy, in order (slot numbers; see `get`).
  readonly #reads: Int32Array;
  #readCount = 0;

  /**
   * @param options - bounds (`max` and/or `maxSize`, positive integers) and the eviction listener
   * @param tuning - benchmark knobs; leave out
   */
  constructor(options: StoreOptions<K, E>, tuning?: TinyLfuTuning) {
    if (options === null || typeof options !== 'object') throw new TypeError('options must be an object');
    const { max, maxSize, onEvict } = options;
    if (max !== undefined && !(Number.isSafeInteger(max) && max > 0)) {
      throw new RangeError(`max must be a positive integer; got ${String(max)}`);
    }
    if (maxSize !== undefined && !(Number.isSafeInteger(maxSize) && maxSize > 0)) {
      throw new RangeError(`maxSize must be a positive integer; got ${String(maxSize)}`);
    }
    if (max === undefined && maxSize === undefined) {
      throw new TypeError('max or maxSize is required: a TinyLFU store must be bounded');
    }
    if (typeof onEvict !== 'function')
      throw new TypeError(`onEvict must be a function; got ${typeof onEvict}`);
    const window = tuning?.window ?? INITIAL_WINDOW;
    if (!(window >= 0 && window <= MAX_WINDOW)) {
      throw new RangeError(`tuning.window must be between 0 and ${MAX_WINDOW}; got ${String(window)}`);
    }
    const mode = tuning?.climber ?? 'gradient';
    if (mode !== 'gradient' && mode !== 'hit-rate' && mode !== 'off') {
      throw new RangeError(`tuning.climber must be 'gradient', 'hit-rate' or 'off'; got ${String(mode)}`);
    }
    const readBuffer = tuning?.readBuffer ?? READ_BUFFER;
    if (!(Number.isSafeInteger(readBuffer) && readBuffer >= 1 && readBuffer <= 65536)) {
      throw new RangeError(`tuning.readBuffer must be an integer from 1 to 65536; got ${String(readBuffer)}`);
    }
    this.#reads = new Int32Array(readBuffer);
    let recent = 1;
    while (recent < RECENT && recent * 32 < (max ?? Number.POSITIVE_INFINITY)) recent *= 2;
    this.#recentSlots = new Int32Array(recent).fill(Slot.NIL);
    this.#recentHashes = new Int32Array(recent);
    this.#recentMask = recent - 1;
    this.#onEvict = onEvict;
    this.#weighted = maxSize !== undefined;
    this.#maxCount = max ?? Number.POSITIVE_INFINITY;
    this.#maxWeight = maxSize ?? Number.POSITIVE_INFINITY;
    this.#mode = mode;
    this.#smallGuardOn = tuning?.smallWindowGuard ?? true;
    const promotion = tuning?.promotion ?? 'lazy';
    if (promotion !== 'eager' && promotion !== 'lazy') {
      throw new RangeError(`tuning.promotion must be 'eager' or 'lazy'; got ${String(promotion)}`);
    }
    this.#lazy = promotion === 'lazy';
    this.#shortcuts = tuning?.shortcuts ?? true;
    this.#fused = this.#shortcuts && maxSize === undefined && (tuning?.fusedInsert ?? true);
    this.#victimMemo = tuning?.victimMemo ?? true;
    this.#fastMask = this.#lazy && this.#shortcuts ? Hit.FAST : 0;
    this.#fraction = window;
    this.#minWindow = Math.min(MIN_WINDOW, window);
    this.#setLimits();

    // A slot per entry, one more for an insertion before its eviction, and the sentinels.
    this.#eager = this.#maxCount <= EAGER_LIMIT;
    const slots = this.#eager ? this.#maxCount + Slot.FIRST + 1 : 64;
    if (this.#eager) {
      // Arrays grown one element at a time keep up to half their length spare; these never grow.
      this.#keys = new Array<K | undefined>(slots).fill(undefined);
      this.#vals = new Array<E | undefined>(slots).fill(undefined);
    }
    this.#meta = new Int32Array(slots * Rec.SIZE);
    this.#hit = new Uint8Array(slots);
    this.#flags = new Uint8Array(slots);
    this.#stamps = new Uint16Array(this.#lazy ? 0 : slots);
    this.#wt = new Float64Array(this.#weighted ? slots : 0);
    this.#resetLists();
    this.#sketch.beforeReset = this.#lazy ? () => this.#agePending() : () => this.#settleAll();
    this.#sketch.onEpoch = (aged) => this.#newEpoch(aged);

    if (Number.isFinite(this.#maxCount)) {
      // Entry-bounded: the capacity in entries is known now.
      if (this.#maxCount <= EAGER_LIMIT) this.#sketch.ensureCapacity(this.#maxCount);
      this.#setCapacity(this.#maxCount);
    }
  }

  /** Number of entries held. */
  get size(): number {
    return this.#count;
  }

  /** Total weight held; 0 when the store is not weighted. */
  get weight(): number {
    return this.#weighted ? this.#weight : 0;
  }

  /** Slots the storage has room for, sentinels included (for tests; see `EAGER_LIMIT`). */
  get slotCapacity(): number {
    return this.#meta.length / Rec.SIZE;
  }

  /** Insertions that took `#insertFull` (for tests: see {@link TinyLfuTuning.fusedInsert}). */
  get fusedInserts(): number {
    return this.#fusedInserts;
  }

  /** Admissions that asked the sketch for the victim's estimate (for tests: see {@link TinyLfuTuning.victimMemo}). */
  get victimEstimates(): number {
    return this.#victimEstimates;
  }

  /**
   * The count admission would compare for `key` (for tests): the sketch's estimate, plus the held entry's hits
   * not yet added to it, at most 15. Applies buffered hits first (eager promotion), as `windowFraction` does.
   */
  frequencyOf(key: K): number {
    if (this.#readCount > 0) this.#applyReads();
    const i = this.#map.get(key);
    const pending = i === undefined ? 0 : this.#hit[i]! & Hit.PENDING;
    return Math.min(15, this.#sketch.frequency(hashKey(key)) + pending);
  }

  /** Votes the climber's ghosts cast (each a miss on a key they remember; for tests). */
  get ghostVotes(): number {
    return this.#ghostVotes;
  }

  /** 1 in how many keys the climber's ghosts remember (for tests; 0 while the store has none). */
  get ghostSampleRate(): number {
    return this.#ghosts?.rate ?? 0;
  }

  /** Current share of the capacity given to the admission window (for tests and benchmarks). */
  get windowFraction(): number {
    if (this.#readCount > 0) this.#applyReads();
    return this.#fraction;
  }

  /**
   * Returns the value and records the access: a deferred sketch increment, and (lazy promotion) a
   * reference mark or (eager) a move to the recent end of the entry's segment or from probation to
   * protected. A window hit moves the entry to the window's recent end in both modes.
   *
   * Lazy promotion applies the hit at once; the common one, on a referenced entry outside the guards'
   * sample, reads and writes only the entry's hit state byte (a dense `Uint8Array`: 100 KB at 100,000
   * entries, where the link records take 800 KB), besides the `Map` lookup and the value.
   *
   * Eager promotion only notes the entry's slot in a small buffer; the policy applies the buffered hits,
   * in order, when the buffer is full and before any operation that reads or changes the policy's state
   * (a miss, `set`, `delete`, `clear`, iteration). So the store behaves exactly as if every hit were
   * applied at once, while the hit itself stays a `Map` lookup and a write to one typed array, and the
   * list updates run together in one tight loop (Caffeine's read buffer, without the threads).
   */
  get(key: K): E | undefined {
    const i = this.#map.get(key);
    if (i === undefined) return this.#miss(key);
    // Lazy promotion applies each hit at once, and the common one (a referenced entry outside the
    // guards' sample) only counts it in the entry's hit state byte, or not at all when saturated. Kept
    // this small so that V8 inlines it into its callers: anything else is one call away.
    const b = this.#hit[i]!;
    const fast = b & this.#fastMask;
    if (fast === Hit.REF && (b & Hit.PENDING) < Hit.PENDING - 1) {
      this.#hit[i] = b + 1;
      this.#hits++;
      if (++this.#ticks === Tuned.TICK_BATCH) this.#tick();
    } else if (fast === (Hit.SAT | Hit.REF)) this.#hits++;
    else this.#otherHit(i);
    return this.#vals[i];
  }

  /** A miss in `get`. */
  #miss(key: K): undefined {
    if (this.#readCount > 0) this.#applyReads();
    if (this.#sketch.initialized) this.#recordMiss(key);
    return undefined;
  }

  /** A hit `get` does not apply in place: eager promotion buffers it, lazy promotion applies it now. */
  #otherHit(i: number): void {
    if (this.#lazy) {
      this.#applyHit(i);
      return;
    }
    const n = this.#readCount + 1;
    this.#reads[n - 1] = i;
    this.#readCount = n;
    if (n === this.#reads.length) this.#applyReads();
  }

  /** Applies the buffered hits in order, then empties the buffer. */
  #applyReads(): void {
    const reads = this.#reads;
    const n = this.#readCount;
    this.#readCount = 0;
    for (let j = 0; j < n; j++) this.#applyHit(reads[j]!);
  }

  /** Records one hit on slot `i` for the policy. */
  #applyHit(i: number): void {
    this.#hits++;
    // A held key's frequency matters only when it is compared (as a candidate or a victim), so a
    // hit is counted in the entry's hit state and added to the sketch then, or every 15 hits, or
    // before the sketch ages: a hit makes no scattered counter updates.
    const b = this.#hit[i]!;
    if ((b & Hit.SAT) === 0) this.#deferHit(i, b);
    const meta = this.#meta;
    if ((b & Hit.GUARD) !== 0) this.#guardSample(hashKey(this.#keys[i]), true);
    const flags = this.#flags[i]!;
    const seg = flags & Flag.SEG_MASK;
    if (seg !== Seg.WINDOW && this.#lazy) {
      this.#markReferenced(i, seg);
      return;
    }
    if (seg === Seg.PROTECTED) {
      // Move to protected's recent end (protected keeps no tail, so only the links change), unless
      // it moved there lately: the order among protected's most recent entries decides nothing, and
      // skipping the move makes the hits on hot keys cheap.
      const last = meta[Seg.PROTECTED * Rec.SIZE + Rec.PREV]!;
      if (last !== i && ((this.#moves - this.#stamps[i]!) & Stamp.MASK) >= this.#lazyMoves) {
        this.#moves = (this.#moves + 1) & Stamp.MASK;
        this.#stamps[i] = this.#moves;
        const at = i * Rec.SIZE;
        const p = meta[at + Rec.PREV]!;
        const n = meta[at + Rec.NEXT]!;
        meta[p * Rec.SIZE + Rec.NEXT] = n;
        meta[n * Rec.SIZE + Rec.PREV] = p;
        meta[last * Rec.SIZE + Rec.NEXT] = i;
        meta[at + Rec.PREV] = last;
        meta[at + Rec.NEXT] = Seg.PROTECTED;
        meta[Seg.PROTECTED * Rec.SIZE + Rec.PREV] = i;
      }
    } else if (seg === Seg.PROBATION && (flags & Flag.TAIL) === 0 && this.#swappable()) {
      // The steady state of a probation hit (no tail vote to cast): one swap, one call deep. Reached
      // through `#hitOutsideProtected` and `#promote` instead, a sweep ran up to 9% slower.
      this.#swap(i);
    } else {
      this.#hitOutsideProtected(i, seg);
    }
  }

  /** Returns the value without recording an access. */
  peek(key: K): E | undefined {
    const i = this.#map.get(key);
    return i === undefined ? undefined : this.#vals[i];
  }

  /** The segment holding the key, or undefined (for tests; applies buffered hits first). */
  segmentOf(key: K): 'window' | 'probation' | 'protected' | undefined {
    if (this.#readCount > 0) this.#applyReads();
    const i = this.#map.get(key);
    if (i === undefined) return undefined;
    const seg = this.#segOf(i);
    return seg === Seg.WINDOW ? 'window' : seg === Seg.PROBATION ? 'probation' : 'protected';
  }

  /**
   * The key's hits not yet added to the frequency sketch, or undefined when not held (for tests; applies
   * buffered hits first).
   */
  pendingHits(key: K): number | undefined {
    if (this.#readCount > 0) this.#applyReads();
    const i = this.#map.get(key);
    return i === undefined ? undefined : this.#hit[i]! & Hit.PENDING;
  }

  /**
   * Checks the store's structure (for tests; O(entries), applies buffered hits first): every list is
   * well linked both ways, each entry sits in the list its flags name and is the slot its key maps to,
   * the counts add up, protected keeps no tail, and the window's and probation's tails are exactly
   * their least recent `min(tail size, length)` entries, with the boundary on the most recent of them;
   * every slot ever used is either an entry's or on the free stack, once; every hash the table of recent
   * insertions holds for a slot in use is its key's; with no resize pending, protected is within its
   * bounds; in lazy mode, no window entry is marked referenced, and in eager mode no entry is; and every
   * entry's guard bit says whether its key is in the guards' sample.
   *
   * @throws Error naming the first broken invariant
   */
  verify(): void {
    if (this.#readCount > 0) this.#applyReads();
    const meta = this.#meta;
    const fail = (what: string): never => {
      throw new Error(`TinyLfuStore invariant: ${what}`);
    };
    let total = 0;
    for (const s of [Seg.WINDOW, Seg.PROBATION, Seg.PROTECTED]) {
      const name = s === Seg.WINDOW ? 'window' : s === Seg.PROBATION ? 'probation' : 'protected';
      let count = 0;
      let tail = 0;
      let lastTail = s;
      let prev = s;
      for (let i = meta[s * Rec.SIZE + Rec.NEXT]!; i !== s; i = meta[i * Rec.SIZE + Rec.NEXT]!) {
        if (++count > this.#count) fail(`${name}'s list does not end`);
        if (meta[i * Rec.SIZE + Rec.PREV] !== prev)
          fail(`${name}: slot ${i} links back to ${meta[(i * Rec.SIZE) + Rec.PREV]}, not ${prev}`);
        const flags = this.#flags[i]!;
        if ((flags & ~(Flag.SEG_MASK | Flag.TAIL)) !== 0) fail(`${name}: slot ${i} has flags ${flags}`);
        if ((flags & Flag.SEG_MASK) !== s)
          fail(`${name}: slot ${i} is flagged segment ${flags & Flag.SEG_MASK}`);
        const b = this.#hit[i]!;
        if (this.#lazy && s === Seg.WINDOW && (b & Hit.REF) !== 0) fail(`window: slot ${i} is referenced`);
        if (!this.#lazy && (b & Hit.REF) !== 0) fail(`${name}: slot ${i} is referenced in eager mode`);
        if (((b & Hit.GUARD) !== 0) !== (this.#guards?.sampled(hashKey(this.#keys[i])) === true))
          fail(`${name}: slot ${i}'s guard bit disagrees with the guards' sample`);
        if (this.#map.get(this.#keys[i] as K) !== i) fail(`${name}: slot ${i}'s key maps elsewhere`);
        if ((flags & Flag.TAIL) !== 0) {
          if (tail !== count - 1) fail(`${name}: tail entry ${i} follows an entry outside the tail`);
          tail++;
          lastTail = i;
        }
        prev = i;
      }
      if (meta[s * Rec.SIZE + Rec.PREV] !== prev)
        fail(`${name}'s sentinel links back to ${meta[(s * Rec.SIZE) + Rec.PREV]}, not ${prev}`);
      if (count !== this.#segCount[s]) fail(`${name} holds ${count} entries but counts ${this.#segCount[s]}`);
      if (s === Seg.PROTECTED) {
        if (tail !== 0) fail(`protected has ${tail} tail entries`);
      } else {
        const expected = Math.min(this.#tailSize, count);
        if (tail !== expected) fail(`${name}'s tail has ${tail} entries, not ${expected}`);
        if (tail !== this.#tailCount[s])
          fail(`${name}'s tail has ${tail} entries but counts ${this.#tailCount[s]}`);
        if (tail > 0 && this.#boundary[s] !== lastTail)
          fail(`${name}'s tail boundary is ${this.#boundary[s]}, not ${lastTail}`);
      }
      total += count;
    }
    if (total !== this.#count || total !== this.#map.size)
      fail(`the lists hold ${total} entries, the count is ${this.#count}, the map holds ${this.#map.size}`);
    let free = 0;
    for (let i = this.#freeHead; i !== Slot.NIL; i = meta[i * Rec.SIZE + Rec.NEXT]!) {
      if (++free > this.#top - Slot.FIRST) fail('the free stack does not end');
      if (this.#keys[i] !== undefined) fail(`free slot ${i} still holds a key`);
    }
    if (total + free !== this.#top - Slot.FIRST)
      fail(`${this.#top - Slot.FIRST} slots in use or free, but ${total} entries and ${free} free slots`);
    for (let r = 0; r <= this.#recentMask; r++) {
      const slot = this.#recentSlots[r]!;
      if (
        slot === Slot.NIL ||
        this.#keys[slot] === undefined ||
        this.#map.get(this.#keys[slot] as K) !== slot
      )
        continue;
      if (this.#recentHashes[r] !== hashKey(this.#keys[slot]))
        fail(`the recent-insertion table holds a stale hash for slot ${slot}`);
    }
    // The victim's memo names a held slot, with the hash of the key that slot holds now.
    const memo = this.#memoSlot;
    if (memo !== Slot.NIL && (this.#keys[memo] === undefined || this.#memoHash !== hashKey(this.#keys[memo])))
      fail(`the victim's memo names slot ${memo}, which holds another key or none`);
    if (
      this.#pendingResize === 0 &&
      (this.#segCount[Seg.PROTECTED]! > this.#protectedCount ||
        this.#segWeight[Seg.PROTECTED]! > this.#protectedWeight)
    ) {
      fail(
        `protected holds ${this.#segCount[Seg.PROTECTED]} entries of weight ${this.#segWeight[Seg.PROTECTED]}, over its bounds`,
      );
    }
  }

  /** Whether the key is held; no access is recorded. */
  has(key: K): boolean {
    return this.#map.has(key);
  }

  /**
   * Inserts or replaces. A new entry enters the window; entries evicted to respect the bounds
   * (possibly this one, when it is refused admission or heavier than `maxSize`) are reported to
   * `onEvict` after the call. The write counts as an access in the sketch, unless its request was counted
   * already: a new key's by the miss that it answers (see {@link Misses}), or any write's when `counted` says so
   * (see {@link Store.set}).
   */
  set(key: K, value: E, weight: number, counted = false): void {
    let w = 0;
    if (this.#weighted) {
      if (!(Number.isSafeInteger(weight) && weight > 0)) {
        throw new RangeError(`weight must be a positive integer; got ${String(weight)}`);
      }
      w = weight;
    }
    if (this.#readCount > 0) this.#applyReads();
    const i = this.#map.get(key);
    if (i === undefined) this.#insert(key, value, w, counted);
    else this.#replace(i, value, w, counted);
    if (this.#evCount > 0) this.#flush();
  }

  /** Removes the key without reporting an eviction. */
  delete(key: K): boolean {
    const i = this.#map.get(key);
    if (i === undefined) return false;
    // A buffered hit on this slot must not land on the entry that reuses it.
    if (this.#readCount > 0) this.#applyReads();
    this.#remove(i);
    return true;
  }

  /** Removes every entry without reporting evictions. Frequency history and window size are kept. */
  clear(): void {
    if (this.#readCount > 0) this.#applyReads();
    this.#map.clear();
    if (this.#eager) {
      this.#keys.fill(undefined, Slot.FIRST, this.#top);
      this.#vals.fill(undefined, Slot.FIRST, this.#top);
    } else {
      this.#keys.length = Slot.FIRST;
      this.#vals.length = Slot.FIRST;
    }
    this.#memoSlot = Slot.NIL;
    this.#top = Slot.FIRST;
    this.#freeHead = Slot.NIL;
    this.#segCount.fill(0);
    this.#segWeight.fill(0);
    this.#count = 0;
    this.#weight = 0;
    this.#lastMiss = NO_MISS;
    this.#missHeld = false;
    // The pending misses stay, as their counts in the sketch do.
    this.#resetLists();
    this.#ghosts?.clear();
  }

  /** Keys: the window, then protected, then probation, each from most to least recently used. */
  *keys(): IterableIterator<K> {
    const snapshot = this.#snapshot();
    for (const k of snapshot) if (this.#map.has(k)) yield k;
  }

  /** Key/value pairs in the order of {@link TinyLfuStore.keys}. */
  *entries(): IterableIterator<[K, E]> {
    const snapshot = this.#snapshot();
    for (const k of snapshot) {
      const i = this.#map.get(k);
      if (i !== undefined) yield [k, this.#vals[i] as E];
    }
  }

  // ------------------------------------------------------------------ reads and writes

  #snapshot(): K[] {
    if (this.#readCount > 0) this.#applyReads();
    const out: K[] = [];
    const meta = this.#meta;
    for (const s of [Seg.WINDOW, Seg.PROTECTED, Seg.PROBATION]) {
      for (let i = meta[s * Rec.SIZE + Rec.PREV]!; i !== s; i = meta[i * Rec.SIZE + Rec.PREV]!)
        out.push(this.#keys[i] as K);
    }
    return out;
  }

  /** Counts an access to a held entry (deferred, see `get`). */
  #touch(i: number): void {
    const b = this.#hit[i]!;
    if ((b & Hit.SAT) === 0) this.#deferHit(i, b);
  }

  /** Counts a hit on slot `i`, whose hit state is `b` (not saturated). */
  #deferHit(i: number, b: number): void {
    const p = (b & Hit.PENDING) + 1;
    this.#hit[i] = b + 1;
    if (p === Hit.PENDING) this.#flushHits(i);
    if (++this.#ticks === Tuned.TICK_BATCH) this.#tick();
  }

  /** Counts a batch of deferred hits toward aging, as increments would be; may settle every pending hit and age. */
  #tick(): void {
    this.#ticks = 0;
    this.#sketch.tick(Tuned.TICK_BATCH);
  }

  /**
   * Adds an entry's pending hits to the sketch (already counted toward aging). Once the key's
   * counters are all saturated, its hits need no counting until the next aging.
   */
  #flushHits(i: number, h?: number): void {
    const b = this.#hit[i]!;
    const p = b & Hit.PENDING;
    if (p === 0) return;
    const result = this.#sketch.add(h ?? hashKey(this.#keys[i]), p, false);
    this.#hit[i] = (b & ~(Hit.PENDING | Hit.SAT)) | ((result & AddResult.SATURATED) !== 0 ? Hit.SAT : 0);
  }

  /** Eager promotion, before the sketch ages: adds every entry's pending hits, so that they age with the rest. */
  #settleAll(): void {
    const hs = this.#hit;
    for (let i = Slot.FIRST; i < this.#top; i++) {
      if ((hs[i]! & Hit.PENDING) !== 0) this.#flushHits(i);
    }
  }

  /**
   * Before the sketch ages: halves every entry's pending hits where they stand, as the aging halves the
   * counters they would have been added to (no key is hashed, so an aging costs one pass over the hit state bytes).
   */
  #agePending(): void {
    const hs = this.#hit;
    // An odd count rounds up at every other aging (by the sketch's epoch parity), so that a lone pending hit is
    // neither always lost nor always kept: added to its counter first, whether it survived the halving would
    // have depended on the counter's parity.
    const up = this.#sketch.epoch & 1;
    for (let i = Slot.FIRST; i < this.#top; i++) {
      const b = hs[i]!;
      if ((b & (Hit.PENDING | Hit.SAT)) !== 0)
        hs[i] = (b & ~(Hit.PENDING | Hit.SAT)) | (((b & Hit.PENDING) + up) >>> 1);
    }
  }

  /**
   * The sketch aged (`aged`; pending hits were added to it or, under lazy promotion, halved in
   * {@link agePending}, which also cleared the saturation marks) or was replaced: no key's counters are known to
   * be saturated any more, and when it was replaced (forgetting every count) pending hits are dropped.
   */
  #newEpoch(aged: boolean): void {
    if (aged && this.#lazy) return;
    const hs = this.#hit;
    for (let i = Slot.FIRST; i < this.#top; i++) {
      const b = hs[i]!;
      if ((b & (Hit.PENDING | Hit.SAT)) !== 0) hs[i] = b & ~(Hit.PENDING | Hit.SAT);
    }
  }

  /**
   * A miss in `get`: counted in the sketch, remembered for the `set` that usually follows (which then counts it
   * no more), offered to the guards' sample, and voted on by the ghosts. The ghosts vote on requests that missed,
   * as the guards judge them: a `set` no miss preceded (a write) is no request a larger segment could have hit,
   * so it counts in the sketch (see `#insert`) but casts no vote. The vote comes after the guards' sample, in the
   * order both came in when the vote was cast at the insertion that follows the miss: for `get`-then-`set` on a
   * miss the decisions are the same.
   */
  #recordMiss(key: K): void {
    const h = hashKey(key);
    this.#sketch.increment(h);
    this.#lastMiss = key;
    this.#lastMissHash = h;
    this.#missHeld = true;
    this.#pendingMisses[missPlace(h)] = h;
    if (this.#guards?.sampled(h)) this.#guardSample(h, false);
    if (this.#ghosts !== undefined) this.#ghostVote(h);
  }

  /**
   * Lazy promotion: a hit in probation or protected marks the entry referenced. The first hit on an
   * entry in probation's tail is a vote for main, as the hit that promotes it is in eager mode, weighted
   * `Tuned.LAZY_TAIL_VOTE`.
   */
  #markReferenced(i: number, seg: number): void {
    const b = this.#hit[i]!;
    if ((b & Hit.REF) !== 0) return;
    this.#hit[i] = b | Hit.REF;
    if (
      seg === Seg.PROBATION &&
      (this.#flags[i]! & Flag.TAIL) !== 0 &&
      this.#evicting &&
      this.#mode === 'gradient'
    ) {
      this.#vote(-Tuned.LAZY_TAIL_VOTE);
    }
  }

  /** A hit in the window or in probation: a tail hit is a vote; then reorder or promote. */
  #hitOutsideProtected(i: number, seg: number): void {
    if ((this.#flags[i]! & Flag.TAIL) !== 0 && this.#evicting && this.#mode === 'gradient') {
      // A hit among the least recent entries: that segment would miss it if it were smaller.
      this.#vote(seg === Seg.WINDOW ? 1 : -1);
    }
    if (seg === Seg.PROBATION) this.#promote(i);
    else if (this.#meta[Seg.WINDOW * Rec.SIZE + Rec.PREV] !== i) this.#moveToBack(i, Seg.WINDOW);
  }

  #insert(key: K, value: E, w: number, counted: boolean): void {
    // The flag first: a set that no miss preceded (the usual case for a plain `set`) skips the comparison, which
    // V8 makes through a builtin call when it cannot tell the key's type.
    let known = false;
    let h = 0;
    if (this.#missHeld) {
      this.#missHeld = false;
      known = this.#lastMiss === key;
      this.#lastMiss = NO_MISS;
      if (known) h = this.#lastMissHash;
    }
    if (!known) h = hashKey(key);
    // A write counts as an access in the sketch, unless its request was counted already: at its miss (just before
    // it, or with other misses in between; see `Misses`), or by the caller (`counted`: a load's value). Only
    // misses vote (see `#recordMiss`).
    const pending = this.#pendingMisses;
    const place = missPlace(h);
    if (pending[place] === h) pending[place] = place ^ 1;
    else if (!counted) this.#sketch.increment(h);
    if (this.#pendingResize !== 0) this.#applyResize();
    if (
      this.#fused &&
      this.#count === this.#maxCount &&
      this.#segCount[Seg.WINDOW] === this.#windowCount &&
      this.#evicting &&
      this.#insertFull(key, value, h)
    ) {
      if (this.#hitRate !== undefined) this.#climbOnHitRate();
      return;
    }
    this.#enter(key, value, h, w);
    if (!this.#eager) this.#followEntryCount();
    this.#evict();
    if (this.#hitRate !== undefined) this.#climbOnHitRate();
  }

  /** Links a new entry at the window's recent end (or, heavier than the window, its least recent end). */
  #enter(key: K, value: E, h: number, w: number): void {
    const i = this.#alloc();
    this.#keys[i] = key;
    this.#vals[i] = value;
    this.#recentSlots[i & this.#recentMask] = i;
    this.#recentHashes[i & this.#recentMask] = h;
    const sampled = this.#guards?.sampled(h) === true;
    // `#linkLast`/`#linkFirst` set the flags.
    this.#hit[i] = sampled ? Hit.GUARD : 0;
    if (this.#weighted) this.#wt[i] = w;
    this.#map.set(key, i);
    // An entry heavier than the window goes to its least recent end, to leave it first.
    if (w > this.#windowWeight) this.#linkFirst(i, Seg.WINDOW);
    else this.#linkLast(i, Seg.WINDOW);
    this.#segCount[Seg.WINDOW]!++;
    this.#segWeight[Seg.WINDOW]! += w;
    this.#count++;
    this.#weight += w;
  }

  /**
   * The steady state of an insertion into a full, count-bounded store (the window and the store both at their
   * bounds, the store evicting), before the new entry is linked: the decisions of `#oneForOne`, which would run
   * once the entry is in the window. The window's least recent entry (the candidate) faces probation's victim
   * (under lazy promotion, after the victim search). Admitted, the victim leaves and the candidate moves to
   * probation's recent end, and the new entry enters. Refused, the candidate leaves and the new entry takes its
   * slot in place: the slot moves to the window's recent end, and no count changes. That refusal is what most
   * insertions of new keys into a full store come to, so it touches nothing else: no free slot, no segment counts.
   *
   * @returns whether it inserted the entry (false when probation has no victim: then nothing changed, except
   * that under lazy promotion the victim search may have promoted entries, as the general path's would)
   */
  #insertFull(key: K, value: E, h: number): boolean {
    const victim = this.#steadyVictim();
    if (victim === Slot.NIL) return false;
    this.#fusedInserts++;
    const meta = this.#meta;
    const c = meta[Seg.WINDOW * Rec.SIZE + Rec.NEXT]!;
    if (this.#admit(c, victim)) {
      this.#candidateWins(c, victim);
      this.#enter(key, value, h, 0);
      return true;
    }
    // Refused: what `#evictCandidate` then `#enter` would do, on one slot (`#admit` flushed its pending hits).
    this.#windowExits++;
    this.#ghosts?.record(this.#candidateHash, this.#windowExits);
    const keys = this.#keys;
    const vals = this.#vals;
    const old = keys[c] as K;
    const n = this.#evCount++;
    this.#evKeys[n] = old;
    this.#evVals[n] = vals[c];
    // The memo needs no clearing: `#admit` just memoised the victim's slot, not `c` (`verify` checks the memo).
    this.#map.delete(old);
    keys[c] = key;
    vals[c] = value;
    this.#recentSlots[c & this.#recentMask] = c;
    this.#recentHashes[c & this.#recentMask] = h;
    this.#hit[c] = this.#guards?.sampled(h) === true ? Hit.GUARD : 0;
    this.#map.set(key, c);
    this.#rotateWindow(c);
    return true;
  }

  /**
   * Moves `c`, the window's least recent entry, to its recent end: what
   * `#unlink` then `#linkLast` do, with the window's tail kept in place. Written out because it runs on nearly
   * every insertion into a full store, where those two calls cost about 200 machine instructions (callgrind).
   */
  #rotateWindow(c: number): void {
    const meta = this.#meta;
    const flags = this.#flags;
    const at = c * Rec.SIZE;
    const boundary = this.#boundary[Seg.WINDOW]!;
    const last = meta[Seg.WINDOW * Rec.SIZE + Rec.PREV]!;
    if (this.#tailSize === 0 || c === boundary || c === last) {
      this.#unlink(c);
      this.#linkLast(c, Seg.WINDOW);
      return;
    }
    // `c` is first and in the tail; the window has entries after it.
    const n = meta[at + Rec.NEXT]!;
    meta[Seg.WINDOW * Rec.SIZE + Rec.NEXT] = n;
    meta[n * Rec.SIZE + Rec.PREV] = Seg.WINDOW;
    meta[last * Rec.SIZE + Rec.NEXT] = c;
    meta[at + Rec.PREV] = last;
    meta[at + Rec.NEXT] = Seg.WINDOW;
    meta[Seg.WINDOW * Rec.SIZE + Rec.PREV] = c;
    if (boundary === last) {
      // The whole window is tail: `c` stays in it, as its most recent entry.
      flags[c] = Seg.WINDOW | Flag.TAIL;
      this.#boundary[Seg.WINDOW] = c;
    } else {
      // `c` leaves the tail, and the oldest entry above it joins.
      flags[c] = Seg.WINDOW;
      const b = meta[boundary * Rec.SIZE + Rec.NEXT]!;
      flags[b] = flags[b]! | Flag.TAIL;
      this.#boundary[Seg.WINDOW] = b;
    }
  }

  #replace(i: number, value: E, w: number, counted: boolean): void {
    this.#vals[i] = value;
    this.#lastMiss = NO_MISS;
    this.#missHeld = false;
    if (w > this.#maxWeight) {
      // Heavier than the whole store: refused, like a new entry would be.
      this.#evictSlot(i);
      return;
    }
    const delta = w - this.#weightOf(i);
    if (delta !== 0) {
      this.#wt[i] = w;
      this.#segWeight[this.#segOf(i)]! += delta;
      this.#weight += delta;
    }
    // A replacement counts as an access in the sketch, unless its request was counted already (see `set`).
    if (!counted) this.#touch(i);
    const seg = this.#segOf(i);
    if (seg !== Seg.WINDOW && this.#lazy) {
      // Referenced, as a hit marks it, but a replacement casts no vote (as in eager mode); an entry that
      // grew heavier may push protected over its weight bound.
      this.#hit[i] = this.#hit[i]! | Hit.REF;
      if (seg === Seg.PROTECTED && delta > 0) this.#demote();
    } else if (seg === Seg.PROBATION) this.#promote(i);
    else if (seg === Seg.PROTECTED) {
      if (this.#meta[Seg.PROTECTED * Rec.SIZE + Rec.PREV] !== i) this.#moveToBack(i, Seg.PROTECTED);
      this.#demote();
    } else if (w > this.#windowWeight) {
      // Grew heavier than the window: leave it first.
      this.#unlink(i);
      this.#linkFirst(i, Seg.WINDOW);
    } else if (this.#meta[Seg.WINDOW * Rec.SIZE + Rec.PREV] !== i) this.#moveToBack(i, Seg.WINDOW);
    if (delta > 0) this.#evict();
  }

  /**
   * A store that did not allocate for its bounds up front (weight-bounded only, or bounded to more than
   * `EAGER_LIMIT` entries) allocates its sketch once it is half full: for its count bound when that is half
   * reached, else (the weight bound half reached first) for the entries it holds, growing with them up to the count
   * bound.
   */
  #followEntryCount(): void {
    const sketch = this.#sketch;
    // An insertion into a full store counts one entry over the bound until its eviction: never a reason to grow.
    const count = Math.min(this.#count, this.#maxCount);
    if (!sketch.initialized) {
      // Whichever bound is half reached first (a count bound never is while weight-only: Infinity).
      if (this.#count >= this.#maxCount / 2) sketch.ensureCapacity(this.#maxCount);
      else if (this.#weight >= this.#maxWeight / 2) sketch.ensureCapacity(count);
    } else if (count > sketch.capacity) {
      sketch.ensureCapacity(count);
    }
  }

  /** Fixes the capacity in entries the climber works with (known up front, or at the first eviction). */
  #setCapacity(entries: number): void {
    const horizon = Math.max(1, Math.round(HORIZON_FRACTION * entries));
    if (this.#mode === 'gradient') {
      this.#ghosts = new Ghost(horizon, Ghost.rateFor(horizon));
      const guards = new WindowGuards(
        entries,
        this.#smallGuardOn
          ? (capacity) =>
              new TinyLfuStore<number, true>(
                { max: capacity, maxSize: undefined, onEvict: () => {} },
                // The store's own promotion: under lazy promotion an eager miniature measured 53.2% of the
                // gap over POLICIES.md's rows against 53.4% (docs/policy-log.md).
                {
                  climber: 'off',
                  window: SMALL_WINDOW,
                  readBuffer: 1,
                  promotion: this.#lazy ? 'lazy' : 'eager',
                },
              )
          : undefined,
        this.#lazy ? LAZY_GUARD_SETTLE : 0,
      );
      this.#guards = guards;
      // Entries inserted before the capacity was known (weight-bounded stores) join the sample now.
      for (let i = Slot.FIRST; i < this.#top; i++) {
        const key = this.#keys[i];
        if (key !== undefined && guards.sampled(hashKey(key))) {
          this.#hit[i] = this.#hit[i]! | Hit.GUARD;
        }
      }
    } else if (this.#mode === 'hit-rate') {
      this.#hitRate = new HitRateClimber(entries, 10 * Math.max(256, entries));
    }
    this.#horizon = horizon;
  }

  /** Probation hit: move to protected, demoting protected's least recent entries if it overflows. */
  #promote(i: number): void {
    if (this.#protectedCount < 1 || (this.#weighted && this.#wt[i]! > this.#protectedWeight)) {
      if (this.#meta[Seg.PROBATION * Rec.SIZE + Rec.PREV] !== i) this.#moveToBack(i, Seg.PROBATION);
      return;
    }
    if (this.#swappable()) {
      this.#swap(i);
      return;
    }
    this.#transfer(i, Seg.PROTECTED);
    this.#demote();
  }

  /** Whether a probation hit may take `#swap`: the store is count-bounded and protected is full. */
  #swappable(): boolean {
    return (
      this.#shortcuts &&
      !this.#weighted &&
      this.#protectedCount > 0 &&
      this.#segCount[Seg.PROTECTED] === this.#protectedCount
    );
  }

  /**
   * Promotes probation's `i` into a full protected segment (see `#swappable`): `i` takes protected's most
   * recent place and protected's least recent entry drops to probation's most recent, so neither
   * segment's size changes. Exactly `#transfer(i, Seg.PROTECTED)` then `#demote()`, minus the bookkeeping that
   * would cancel out, with the list moves written out here: on a sweep (a swap on every hit) this ran
   * 11-25% faster than the same moves through `#unlink` and `#linkLast`, which V8 did not inline there.
   * Tails still go through those methods.
   */
  #swap(i: number): void {
    const meta = this.#meta;
    const at = i * Rec.SIZE;
    // `i` leaves probation.
    const flags = this.#flags;
    if ((flags[i]! & Flag.TAIL) !== 0) this.#unlink(i);
    else {
      const p = meta[at + Rec.PREV]!;
      const n = meta[at + Rec.NEXT]!;
      meta[p * Rec.SIZE + Rec.NEXT] = n;
      meta[n * Rec.SIZE + Rec.PREV] = p;
    }
    // `i` joins protected's recent end (protected keeps no tail), stamped as `#stampMove` does.
    const d = meta[Seg.PROTECTED * Rec.SIZE + Rec.NEXT]!;
    const last = meta[Seg.PROTECTED * Rec.SIZE + Rec.PREV]!;
    meta[last * Rec.SIZE + Rec.NEXT] = i;
    meta[at + Rec.PREV] = last;
    meta[at + Rec.NEXT] = Seg.PROTECTED;
    meta[Seg.PROTECTED * Rec.SIZE + Rec.PREV] = i;
    const moves = (this.#moves + 1) & Stamp.MASK;
    this.#moves = moves;
    this.#stamps[i] = moves;
    flags[i] = Seg.PROTECTED;
    // As `#transfer` sets it, with `i` counted before `d` leaves.
    this.#lazyMoves = Math.min((this.#protectedCount + 1) >> 2, 0x3fff);
    // `d`, protected's least recent entry (its previous is the sentinel), leaves protected...
    const bd = d * Rec.SIZE;
    const dn = meta[bd + Rec.NEXT]!;
    meta[Seg.PROTECTED * Rec.SIZE + Rec.NEXT] = dn;
    meta[dn * Rec.SIZE + Rec.PREV] = Seg.PROTECTED;
    // ...and joins probation's recent end, outside the tail unless the tail is short.
    if (this.#tailCount[Seg.PROBATION]! < this.#tailSize) {
      this.#linkLast(d, Seg.PROBATION);
      return;
    }
    const pl = meta[Seg.PROBATION * Rec.SIZE + Rec.PREV]!;
    meta[pl * Rec.SIZE + Rec.NEXT] = d;
    meta[bd + Rec.PREV] = pl;
    meta[bd + Rec.NEXT] = Seg.PROBATION;
    meta[Seg.PROBATION * Rec.SIZE + Rec.PREV] = d;
    flags[d] = Seg.PROBATION;
  }

  /**
   * Restores protected's bounds: its least recent entry drops to probation's recent end. With lazy
   * promotion, CLOCK-style: a referenced entry goes round once more instead, to protected's recent end
   * with its reference cleared.
   */
  #demote(): void {
    const segCount = this.#segCount;
    const segWeight = this.#segWeight;
    const meta = this.#meta;
    while (
      segCount[Seg.PROTECTED]! > this.#protectedCount ||
      segWeight[Seg.PROTECTED]! > this.#protectedWeight
    ) {
      const d = meta[Seg.PROTECTED * Rec.SIZE + Rec.NEXT]!;
      if (d === Seg.PROTECTED) break;
      const b = this.#hit[d]!;
      if (this.#lazy && (b & Hit.REF) !== 0) {
        this.#hit[d] = b & ~Hit.REF;
        this.#moveToBack(d, Seg.PROTECTED);
      } else {
        this.#transfer(d, Seg.PROBATION);
      }
    }
  }

  /**
   * Lazy promotion: from slot `v` on (probation's oldest entry, or the one after the last victim),
   * moves each referenced entry to protected (or, when protected cannot take it, to probation's recent
   * end), reference cleared, and returns the first unreferenced entry: the victim (`Slot.NIL` when probation
   * has none). Protected's overflow drops to probation's recent end as it goes (see `#demote`).
   */
  #probationVictim(v: number): number {
    const hs = this.#hit;
    while (v !== Slot.NIL && (hs[v]! & Hit.REF) !== 0) {
      const next = this.#after(v);
      if (this.#protectedCount < 1 || (this.#weighted && this.#wt[v]! > this.#protectedWeight)) {
        hs[v] = hs[v]! & ~Hit.REF;
        this.#moveToBack(v, Seg.PROBATION);
      } else {
        // Linked before protected demotes, a promoted entry is itself demoted straight back when every
        // other protected entry is referenced (CLOCK sends those round first). Making room first measured
        // worse over POLICIES.md's rows (52.9% of the gap against 53.4%, docs/policy-log.md): a protected
        // segment that is all referenced holds it to one more lap in probation.
        this.#transfer(v, Seg.PROTECTED);
        this.#demote();
      }
      v = next === Slot.NIL ? this.#after(Seg.PROBATION) : next;
    }
    return v;
  }

  #overWindow(): boolean {
    return (
      this.#segCount[Seg.WINDOW]! > this.#windowCount || this.#segWeight[Seg.WINDOW]! > this.#windowWeight
    );
  }

  /** Restores every bound: window overflow becomes candidates, which then face main's victims. */
  #evict(): void {
    if (this.#oneForOne()) return;
    const candidate = this.#overWindow() ? this.#evictFromWindow() : Slot.NIL;
    if (this.#count > this.#maxCount || this.#weight > this.#maxWeight) this.#evictFromMain(candidate);
  }

  /**
   * The steady state of an insertion into a full, count-bounded store: the window is one over, so is the
   * store, and probation has a victim. The window's least recent entry faces probation's least recent one
   * where it is: admitted, it moves to probation's recent end once the victim is gone; refused, it leaves
   * from the window. With eager promotion, the same decisions, lists and tails as `#evictFromWindow` then
   * `#evictFromMain`, without moving a refused candidate to probation only to unlink it again. With lazy
   * promotion the victim search (which promotes referenced entries, see `#probationVictim`) runs while the
   * candidate is still in the window, so it never reaches the candidate: the candidate is always compared,
   * where the general path evicts one the search reaches without a comparison.
   *
   * @returns whether it restored the bounds (otherwise nothing changed, except that under lazy promotion a
   * victim search that found no victim may have promoted entries, as the general path's search would)
   */
  #oneForOne(): boolean {
    if (this.#weighted || !this.#shortcuts || !this.#evicting) return false;
    if (this.#count !== this.#maxCount + 1 || this.#segCount[Seg.WINDOW] !== this.#windowCount + 1)
      return false;
    const victim = this.#steadyVictim();
    if (victim === Slot.NIL) return false;
    const candidate = this.#meta[Seg.WINDOW * Rec.SIZE + Rec.NEXT]!;
    if (this.#admit(candidate, victim)) {
      this.#candidateWins(candidate, victim);
    } else {
      this.#evictCandidate(candidate, this.#candidateHash);
    }
    return true;
  }

  /**
   * Probation's victim for a one-for-one eviction, or `Slot.NIL` when probation is empty. Under lazy promotion the victim
   * search runs first when probation's oldest entry is referenced (see `#probationVictim`); the candidate, still in
   * the window, is never among the entries it promotes.
   */
  #steadyVictim(): number {
    const victim = this.#meta[Seg.PROBATION * Rec.SIZE + Rec.NEXT]!;
    if (victim === Seg.PROBATION) return Slot.NIL;
    return this.#lazy && (this.#hit[victim]! & Hit.REF) !== 0 ? this.#probationVictim(victim) : victim;
  }

  /** The window's oldest entry `c` won admission over `victim`: the victim leaves, `c` joins probation. */
  #candidateWins(c: number, victim: number): void {
    this.#evictVictim(victim, Seg.PROBATION);
    this.#transfer(c, Seg.PROBATION);
    this.#windowExits++;
  }

  /** Moves the window's overflow to probation's recent end; returns the first one moved. */
  #evictFromWindow(): number {
    let first = Slot.NIL;
    let node = this.#meta[Seg.WINDOW * Rec.SIZE + Rec.NEXT]!;
    while (node !== Seg.WINDOW && this.#overWindow()) {
      const next = this.#meta[node * Rec.SIZE + Rec.NEXT]!;
      this.#transfer(node, Seg.PROBATION);
      this.#windowExits++;
      if (first === Slot.NIL) first = node;
      node = next;
    }
    return first;
  }

  /**
   * Evicts until the bounds hold, each time either a candidate (entries that just left the window,
   * oldest first, then the window's own least recent entries) or a victim (probation's least recent
   * entries, then protected's, then the window's), keeping the more frequent of the pair.
   */
  #evictFromMain(first: number): void {
    if (!this.#evicting) this.#startEvicting();
    let candidate = first;
    let candidateQueue = Seg.PROBATION;
    // The candidates in probation run from `first` to probation's recent end as it is now: entries that
    // protected demotes meanwhile (lazy promotion, see `#probationVictim`) join behind them and are not
    // candidates.
    const lastCandidate = first === Slot.NIL ? Slot.NIL : this.#meta[Seg.PROBATION * Rec.SIZE + Rec.PREV]!;
    let victimQueue = Seg.PROBATION;
    let victim = this.#after(Seg.PROBATION);
    const wt = this.#wt;
    while (this.#count > this.#maxCount || this.#weight > this.#maxWeight) {
      if (this.#lazy && victimQueue === Seg.PROBATION && victim !== Slot.NIL && victim !== candidate) {
        victim = this.#probationVictim(victim);
      }
      if (candidate === Slot.NIL && candidateQueue === Seg.PROBATION) {
        candidate = this.#after(Seg.WINDOW);
        candidateQueue = Seg.WINDOW;
      }
      if (candidate === Slot.NIL && victim === Slot.NIL) {
        if (victimQueue === Seg.PROBATION) {
          victim = this.#after(Seg.PROTECTED);
          victimQueue = Seg.PROTECTED;
          continue;
        }
        if (victimQueue === Seg.PROTECTED) {
          victim = this.#after(Seg.WINDOW);
          victimQueue = Seg.WINDOW;
          continue;
        }
        break; // empty (cannot happen while over the bounds)
      }
      const nextCandidate =
        candidate === Slot.NIL || (candidateQueue === Seg.PROBATION && candidate === lastCandidate)
          ? Slot.NIL
          : this.#after(candidate);
      if (victim === Slot.NIL) {
        this.#evictCandidate(candidate);
        candidate = nextCandidate;
      } else if (candidate === Slot.NIL) {
        const next = this.#after(victim);
        this.#evictVictim(victim, victimQueue);
        victim = next;
      } else if (candidate === victim) {
        victim = this.#after(victim);
        this.#evictCandidate(candidate);
        candidate = Slot.NIL;
      } else if (this.#weighted && wt[candidate]! > this.#maxWeight) {
        this.#evictCandidate(candidate);
        candidate = nextCandidate;
      } else if (this.#admit(candidate, victim)) {
        const next = this.#after(victim);
        this.#evictVictim(victim, victimQueue);
        victim = next;
        // (After the eviction: the victim may have been the next candidate.)
        candidate =
          candidateQueue === Seg.PROBATION && candidate === lastCandidate ? Slot.NIL : this.#after(candidate);
      } else {
        this.#evictCandidate(candidate, this.#candidateHash);
        candidate = nextCandidate;
      }
    }
  }

  #startEvicting(): void {
    this.#evicting = true;
    // Weight-bounded only: the store is full for the first time, so its entry count is the capacity.
    if (!Number.isFinite(this.#maxCount)) this.#setCapacity(this.#count);
    // Tail hits vote only from now on, so the tails are marked only now (once, O(entries)): until
    // the store is full, unlinking an entry never walks a tail boundary.
    if (this.#mode === 'gradient') this.#setTailSize(this.#horizon);
  }

  /** Evicts a candidate (refused admission, or the window's own least recent entry). */
  #evictCandidate(i: number, h?: number): void {
    if (this.#segOf(i) === Seg.WINDOW) this.#windowExits++;
    this.#ghosts?.record(h ?? this.#hashOf(i), this.#windowExits);
    this.#evictSlot(i);
  }

  /** Evicts a victim of main (or, when main is empty, of the window). */
  #evictVictim(i: number, queue: number): void {
    if (queue === Seg.WINDOW) {
      this.#windowExits++;
      this.#ghosts?.record(this.#victimHash(i), this.#windowExits);
    } else {
      this.#mainEvictions++;
      this.#ghosts?.record(this.#victimHash(i), this.#mainEvictions, GhostRegion.MAIN);
    }
    this.#evictSlot(i);
  }

  /**
   * The key hash of slot `i`, a victim: remembered for the last victim's key, which usually faces
   * several candidates in a row.
   */
  #victimHash(i: number): number {
    if (i === this.#memoSlot) return this.#memoHash;
    const h = this.#hashOf(i);
    this.#memoSlot = i;
    this.#memoHash = h;
    return h;
  }

  /**
   * The key hash of the entry in slot `i`: from `#recentSlots` when the slot was inserted into
   * recently (every insertion writes its slot's place there, so a place naming `i` holds the hash of
   * the key `i` holds now), else computed.
   */
  #hashOf(i: number): number {
    const r = i & this.#recentMask;
    return this.#recentSlots[r] === i ? this.#recentHashes[r]! : hashKey(this.#keys[i]);
  }

  /** Whether the candidate wins over the victim; leaves the candidate's hash in `#candidateHash`. */
  #admit(candidate: number, victim: number): boolean {
    const hc = this.#hashOf(candidate);
    const hv = this.#victimHash(victim);
    this.#candidateHash = hc;
    this.#flushHits(candidate, hc);
    this.#flushHits(victim, hv);
    const sketch = this.#sketch;
    const candidateFreq = sketch.frequency(hc);
    // The victim's estimate is reused while the sketch reports no write to its block (see `FrequencySketch.frequency`):
    // a refused candidate leaves the same victim for the next one.
    let victimFreq: number;
    if (hv === this.#victimFreqHash && !sketch.watchedChanged) victimFreq = this.#victimFreq;
    else {
      // Without the memo nothing is watched, so `watchedChanged` stays true.
      victimFreq = sketch.frequency(hv, this.#victimMemo);
      this.#victimEstimates++;
      this.#victimFreqHash = hv;
      this.#victimFreq = victimFreq;
    }
    if (candidateFreq > victimFreq) return true;
    if (candidateFreq < Tuned.ADMIT_HASHDOS_THRESHOLD) return false;
    // A warm candidate against a hot victim: admit at random 1 in 128, so that flooding the sketch
    // with a victim's colliding keys cannot lock everything else out.
    let x = this.#random;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.#random = x;
    return (x & 127) === 0;
  }

  // ------------------------------------------------------------------ window sizing

  /** A miss on a recently evicted key: the segment that evicted it would have hit if it were larger. */
  #ghostVote(h: number): void {
    // A window ghost hit votes unless main's is nearer (see `Ghost.vote`).
    const v = this.#ghosts!.vote(h, this.#windowExits, this.#mainEvictions, this.#horizon);
    if (v !== 0) {
      this.#ghostVotes++;
      this.#vote(v);
    }
  }

  #vote(v: number): void {
    const step = this.#gradient.vote(v);
    if (step !== 0) this.#resize(step);
  }

  #climbOnHitRate(): void {
    const climber = this.#hitRate!;
    climber.hits = this.#hits;
    climber.misses++;
    if (!this.#evicting) {
      climber.hits = 0;
      climber.misses = 0;
      this.#hits = 0;
      return;
    }
    const step = climber.adjust();
    this.#hits = climber.hits;
    if (step !== 0) {
      this.#resize(step);
      this.#applyResize();
    }
  }

  /** A request for a key in the guards' sample (see {@link WindowGuards}): moves the window on a verdict. */
  #guardSample(h: number, hit: boolean): void {
    const guards = this.#guards!;
    const target = guards.sample(h, hit, this.#fraction, this.#evicting);
    if (target < 0) return;
    this.#resize(target - this.#fraction);
    if (guards.jumped) this.#gradient.reset();
  }

  /** Moves the window share by `step`; entries move between segments at the next insertion. */
  #resize(step: number): void {
    const guards = this.#guards;
    const floor = guards === undefined ? 0 : guards.floor;
    const ceiling = guards === undefined ? MAX_WINDOW : guards.ceiling;
    const fraction = Math.min(ceiling, Math.max(floor, this.#minWindow, this.#fraction + step));
    if (fraction === this.#fraction) return;
    this.#pendingResize = fraction > this.#fraction ? 1 : -1;
    this.#fraction = fraction;
    this.#setLimits();
  }

  /** After a resize: fill a grown window from main's least recent end, or shrink it into probation. */
  #applyResize(): void {
    const grown = this.#pendingResize > 0;
    this.#pendingResize = 0;
    if (grown) {
      this.#demote();
      const segCount = this.#segCount;
      const segWeight = this.#segWeight;
      for (let n = 0; n < TRANSFER_LIMIT; n++) {
        let node = this.#after(Seg.PROBATION);
        if (node === Slot.NIL) node = this.#after(Seg.PROTECTED);
        if (node === Slot.NIL) break;
        const w = this.#weightOf(node);
        if (segCount[Seg.WINDOW]! + 1 > this.#windowCount || segWeight[Seg.WINDOW]! + w > this.#windowWeight)
          break;
        this.#transfer(node, Seg.WINDOW);
      }
    } else {
      for (let n = 0; n < TRANSFER_LIMIT && this.#overWindow(); n++) {
        const node = this.#after(Seg.WINDOW);
        if (node === Slot.NIL) break;
        this.#transfer(node, Seg.PROBATION);
        this.#windowExits++;
      }
    }
  }

  #setLimits(): void {
    const f = this.#fraction;
    const maxCount = this.#maxCount;
    const maxWeight = this.#maxWeight;
    if (Number.isFinite(maxCount)) {
      this.#windowCount = Math.max(1, maxCount - Math.floor((1 - f) * maxCount + 1e-9));
      this.#protectedCount = Math.floor(PROTECTED_SHARE * (maxCount - this.#windowCount) + 1e-9);
    } else {
      this.#windowCount = maxCount;
      this.#protectedCount = maxCount;
    }
    if (Number.isFinite(maxWeight)) {
      this.#windowWeight = maxWeight - Math.floor((1 - f) * maxWeight + 1e-9);
      this.#protectedWeight = Math.floor(PROTECTED_SHARE * (maxWeight - this.#windowWeight) + 1e-9);
    } else {
      this.#windowWeight = maxWeight;
      this.#protectedWeight = maxWeight;
    }
  }

  // ------------------------------------------------------------------ slots and lists

  #after(i: number): number {
    const n = this.#meta[i * Rec.SIZE + Rec.NEXT]!;
    return n < Slot.FIRST ? Slot.NIL : n;
  }

  #segOf(i: number): number {
    return this.#flags[i]! & Flag.SEG_MASK;
  }

  /** The weight of slot `i` (0 when the store is not weighted). */
  #weightOf(i: number): number {
    return this.#weighted ? this.#wt[i]! : 0;
  }

  #alloc(): number {
    const free = this.#freeHead;
    if (free !== Slot.NIL) {
      this.#freeHead = this.#meta[free * Rec.SIZE + Rec.NEXT]!;
      return free;
    }
    if (this.#top * Rec.SIZE === this.#meta.length) this.#grow();
    return this.#top++;
  }

  #grow(): void {
    const length = this.#meta.length / Rec.SIZE;
    const bound = this.#maxCount + Slot.FIRST + 1;
    const doubled = length * 2;
    const size = doubled < bound ? doubled : Math.max(bound, length + 1);
    this.#meta = grown(this.#meta, size * Rec.SIZE);
    this.#hit = grown(this.#hit, size);
    this.#flags = grown(this.#flags, size);
    if (!this.#lazy) this.#stamps = grown(this.#stamps, size);
    if (this.#weighted) this.#wt = grown(this.#wt, size);
  }

  #resetLists(): void {
    const meta = this.#meta;
    for (let s = 0; s < Slot.FIRST; s++) {
      meta[s * Rec.SIZE + Rec.NEXT] = s;
      meta[s * Rec.SIZE + Rec.PREV] = s;
      this.#flags[s] = s;
      this.#boundary[s] = s;
    }
    this.#tailCount.fill(0);
  }

  /** Re-marks the tails of the window and probation for a new tail size (rare: O(entries)). */
  #setTailSize(size: number): void {
    this.#tailSize = size;
    const meta = this.#meta;
    const flags = this.#flags;
    for (const s of [Seg.WINDOW, Seg.PROBATION]) {
      let n = 0;
      this.#boundary[s] = s;
      for (let i = meta[s * Rec.SIZE + Rec.NEXT]!; i !== s; i = meta[i * Rec.SIZE + Rec.NEXT]!) {
        if (n < size) {
          flags[i] = flags[i]! | Flag.TAIL;
          this.#boundary[s] = i;
          n++;
        } else {
          flags[i] = flags[i]! & ~Flag.TAIL;
        }
      }
      this.#tailCount[s] = n;
    }
  }

  /** Appends `i` at the most recent end of list `s`. */
  #linkLast(i: number, s: number): void {
    const meta = this.#meta;
    const bi = i * Rec.SIZE;
    const bs = s * Rec.SIZE;
    const p = meta[bs + Rec.PREV]!;
    meta[p * Rec.SIZE + Rec.NEXT] = i;
    meta[bi + Rec.PREV] = p;
    meta[bi + Rec.NEXT] = s;
    meta[bs + Rec.PREV] = i;
    let flags = s;
    if (s !== Seg.PROTECTED && this.#tailCount[s]! < this.#tailSize) {
      // The list is shorter than its tail: everything is tail, the new entry included.
      flags |= Flag.TAIL;
      this.#boundary[s] = i;
      this.#tailCount[s]!++;
    }
    this.#flags[i] = flags;
  }

  /** Inserts `i` at the least recent end of list `s` (window only). */
  #linkFirst(i: number, s: number): void {
    const meta = this.#meta;
    const bi = i * Rec.SIZE;
    const bs = s * Rec.SIZE;
    const n = meta[bs + Rec.NEXT]!;
    meta[n * Rec.SIZE + Rec.PREV] = i;
    meta[bi + Rec.NEXT] = n;
    meta[bi + Rec.PREV] = s;
    meta[bs + Rec.NEXT] = i;
    const flags = this.#flags;
    flags[i] = s | Flag.TAIL;
    if (this.#tailCount[s] === 0) this.#boundary[s] = i;
    if (++this.#tailCount[s]! > this.#tailSize) {
      // The newest tail entry moves up into the rest of the list.
      const b = this.#boundary[s]!;
      flags[b] = flags[b]! & ~Flag.TAIL;
      this.#boundary[s] = meta[b * Rec.SIZE + Rec.PREV]!;
      this.#tailCount[s]!--;
    }
  }

  #unlink(i: number): void {
    const meta = this.#meta;
    const bi = i * Rec.SIZE;
    const p = meta[bi + Rec.PREV]!;
    const n = meta[bi + Rec.NEXT]!;
    meta[p * Rec.SIZE + Rec.NEXT] = n;
    meta[n * Rec.SIZE + Rec.PREV] = p;
    const fl = this.#flags;
    const flags = fl[i]!;
    if ((flags & Flag.TAIL) !== 0) {
      fl[i] = flags & ~Flag.TAIL;
      const s = flags & Flag.SEG_MASK;
      this.#tailCount[s]!--;
      if (this.#boundary[s] === i) this.#boundary[s] = p;
      // The oldest entry above the tail (if any) joins it.
      const b = meta[this.#boundary[s]! * Rec.SIZE + Rec.NEXT]!;
      if (b !== s) {
        fl[b] = fl[b]! | Flag.TAIL;
        this.#boundary[s] = b;
        this.#tailCount[s]!++;
      }
    }
  }

  #moveToBack(i: number, s: number): void {
    this.#unlink(i);
    this.#linkLast(i, s);
  }

  #transfer(i: number, to: number): void {
    const from = this.#segOf(i);
    this.#unlink(i);
    this.#segCount[from]!--;
    this.#segCount[to]!++;
    if (this.#weighted) {
      const w = this.#wt[i]!;
      this.#segWeight[from]! -= w;
      this.#segWeight[to]! += w;
    }
    this.#linkLast(i, to);
    if (this.#lazy) {
      // A new segment starts the entry unreferenced; lazy promotion keeps no stamps.
      this.#hit[i] = this.#hit[i]! & ~Hit.REF;
    } else if (to === Seg.PROTECTED) {
      this.#stampMove(i);
      this.#lazyMoves = Math.min(this.#segCount[Seg.PROTECTED]! >> 2, 0x3fff);
    }
  }

  /** Records a move to protected's recent end, for the lazy moves (see `#applyHit`). */
  #stampMove(i: number): void {
    this.#moves = (this.#moves + 1) & Stamp.MASK;
    this.#stamps[i] = this.#moves;
  }

  #remove(i: number): void {
    this.#flushHits(i);
    const key = this.#keys[i] as K;
    // The slot's next key must not read this one's hash.
    if (i === this.#memoSlot) this.#memoSlot = Slot.NIL;
    this.#map.delete(key);
    this.#unlink(i);
    const s = this.#segOf(i);
    const w = this.#weightOf(i);
    this.#segCount[s]!--;
    this.#segWeight[s]! -= w;
    this.#count--;
    this.#weight -= w;
    this.#keys[i] = undefined;
    this.#vals[i] = undefined;
    // The slot's links are no longer read: its `Rec.NEXT` word now threads the free stack.
    this.#meta[i * Rec.SIZE + Rec.NEXT] = this.#freeHead;
    this.#freeHead = i;
  }

  #evictSlot(i: number): void {
    const n = this.#evCount++;
    this.#evKeys[n] = this.#keys[i];
    this.#evVals[n] = this.#vals[i];
    this.#remove(i);
  }

  /** Reports pending evictions, once each, including those caused by listeners re-entering. */
  #flush(): void {
    if (this.#flushing) return;
    if (this.#evCount === 1) {
      this.#flushOne();
      return;
    }
    this.#flushAll();
  }

  /**
   * `#flushAll` for the usual single eviction of an insert, without its loop and `finally` (per evicting insert,
   * `#flush` counted 101 machine instructions when it was that loop alone, 86 with this path; callgrind,
   * 2026-12-06). Evictions a listener causes are reported after it returns, as `#flushAll` would, and a listener's
   * error after them.
   */
  #flushOne(): void {
    const key = this.#evKeys[0] as K;
    const value = this.#evVals[0] as E;
    this.#evKeys[0] = undefined;
    this.#evVals[0] = undefined;
    this.#evCount = 0;
    this.#flushing = true;
    let failed = false;
    let error: unknown;
    try {
      this.#onEvict(key, value);
    } catch (e) {
      failed = true;
      error = e;
    }
    this.#flushing = false;
    if (this.#evCount > 0) {
      try {
        this.#flushAll();
      } catch (e) {
        if (!failed) {
          failed = true;
          error = e;
        }
      }
    }
    if (failed) throw error;
  }

  /** Reports every pending eviction (see `#flush`). */
  #flushAll(): void {
    this.#flushing = true;
    let failed = false;
    let error: unknown;
    try {
      for (let j = 0; j < this.#evCount; j++) {
        const key = this.#evKeys[j] as K;
        const value = this.#evVals[j] as E;
        this.#evKeys[j] = undefined;
        this.#evVals[j] = undefined;
        try {
          this.#onEvict(key, value);
        } catch (e) {
          if (!failed) {
            failed = true;
            error = e;
          }
        }
      }
    } finally {
      this.#evCount = 0;
      this.#flushing = false;
    }
    if (failed) throw error;
  }
}

/** A copy of `a` with room for `size` elements (the new ones zero). */
function grown<T extends Int32Array | Uint8Array | Uint16Array | Float64Array>(a: T, size: number): T {
  const b = new (a.constructor as new (length: number) => T)(size);
  b.set(a);
  return b;
}

/**
 * A hash's place in the table of pending misses: its four bytes folded into one, so that integer keys in steps of
 * 256 (their own hashes) spread. The fold of a hash below 256 is the hash itself, so an empty place `i`, holding
 * `i ^ 1`, never equals a hash that folds to `i`.
 */
function missPlace(h: number): number {
  const x = h ^ (h >>> 16);
  return (x ^ (x >>> 8)) & Misses.MASK;
}

/** An empty table of pending misses (see {@link Misses}). */
function pendingMissTable(): Int32Array {
  const table = new Int32Array(Misses.PLACES);
  for (let i = 0; i < Misses.PLACES; i++) table[i] = i ^ 1;
  return table;
}

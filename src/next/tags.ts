import type { Redis } from 'ioredis';

/**
 * The lazy tag table of `larder/next`: per tag, when it went stale and when it expires (epoch ms), the
 * same `{ stale?, expired? }` records Next.js keeps in its own process-local tags manifest. Entries are
 * never looked up by tag: an entry read from memory or Redis is compared with the records of its tags,
 * so invalidating a tag costs the same however many entries carry it.
 *
 * Redis layout (under the handlers' prefix):
 * - `<prefix>tags`: a hash, field = tag, value = `"<stale>,<expired>"` (either may be empty)
 * - `<prefix>tagtimes`: a sorted set, member = tag, score = the later of its last write and its expiry;
 *   it finds the records written since a time (resync after an outage) and the records old enough to
 *   drop (a bounded batch per write, so the table cannot grow without bound)
 *
 * Every write merges (see {@link mergeTag}): a record only moves forward, so invalidations may reach Redis late
 * (replayed after an outage) or out of order (two instances at once) without undoing one another.
 *
 * @internal
 */

/** One tag's invalidation times (epoch ms), as in Next.js's tags manifest. */
export interface TagState {
  stale?: number;
  expired?: number;
}

/** Entry verdicts of {@link TagTable.check}. */
export const FRESH = 0;
export const STALE = 1;
export const EXPIRED = 2;
/** Some tag is being re-read after a bus message: wait for {@link TagTable.settled} and check again. */
export const PENDING = 3;

export type Verdict = typeof FRESH | typeof STALE | typeof EXPIRED | typeof PENDING;

/**
 * Merges changes into records, in Redis: {@link mergeTag} in Lua (keep the two identical). KEYS[1]: the hash,
 * KEYS[2]: the sorted set. ARGV[1]: now (ms), ARGV[2]: how long records concern entries (ms), then per tag its
 * name, stale time and expiry ('' = none). Values are kept as the strings they came as (Lua would print a
 * number back with 14 digits). Returns the merged records, then drops a bounded batch of old ones.
 *
 * @internal
 */
export const MERGE_SCRIPT = `
local now = tonumber(ARGV[1])
local ttl = tonumber(ARGV[2])
local cutoff = now - ttl
local function clean(x)
  if x == nil or x == '' then return '' end
  local n = tonumber(x)
  if n == nil or n ~= n or n == math.huge or n == -math.huge then return '' end
  return x
end
local function later(a, b)
  a = clean(a)
  b = clean(b)
  if a == '' then return b end
  if b == '' then return a end
  if tonumber(b) > tonumber(a) then return b end
  return a
end
local function rank(x)
  if x > now then return 2 end
  if x > cutoff then return 3 end
  return 1
end
local function expiry(a, b)
  a = clean(a)
  b = clean(b)
  if a ~= '' and tonumber(a) - now >= ttl then a = '' end
  if b ~= '' and tonumber(b) - now >= ttl then b = '' end
  if a == '' then return b end
  if b == '' then return a end
  local x, y = tonumber(a), tonumber(b)
  local rx, ry = rank(x), rank(y)
  if rx ~= ry then
    if ry > rx then return b end
    return a
  end
  if rx == 2 then
    if y < x then return b end
    return a
  end
  if y > x then return b end
  return a
end
local out = {}
for i = 3, #ARGV, 3 do
  local tag = ARGV[i]
  local old = redis.call('HGET', KEYS[1], tag)
  local s, e = '', ''
  if old then
    local c = string.find(old, ',', 1, true)
    if c then s = string.sub(old, 1, c - 1); e = string.sub(old, c + 1) end
  end
  s = later(s, ARGV[i + 1])
  e = expiry(e, ARGV[i + 2])
  local rec = s .. ',' .. e
  redis.call('HSET', KEYS[1], tag, rec)
  local score = ARGV[1]
  if e ~= '' and tonumber(e) > now then score = e end
  redis.call('ZADD', KEYS[2], score, tag)
  out[#out + 1] = rec
end
local old = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', cutoff, 'LIMIT', 0, 100)
if #old > 0 then
  redis.call('HDEL', KEYS[1], unpack(old))
  redis.call('ZREM', KEYS[2], unpack(old))
end
return out
`;

/** A time read from a record (`undefined`: none, or not a finite number). */
function timeOf(text: string): number | undefined {
  if (text.trim() === '') return undefined;
  const n = Number(text);
  return Number.isFinite(n) ? n : undefined;
}

function parse(text: string | null | undefined): TagState | undefined {
  if (typeof text !== 'string') return undefined;
  const comma = text.indexOf(',');
  if (comma < 0) return undefined;
  const state: TagState = {};
  const s = timeOf(text.slice(0, comma));
  const e = timeOf(text.slice(comma + 1));
  if (s !== undefined) state.stale = s;
  if (e !== undefined) state.expired = e;
  return state;
}

/** An expiry's rank when two meet at `now`: passed and still concerning entries (3), to come (2), too old (1). */
function rank(x: number, now: number, ttl: number): number {
  return x > now ? 2 : x > now - ttl ? 3 : 1;
}

/** The expiry a record keeps of two (see {@link mergeTag}). */
function mergeExpiry(
  a: number | undefined,
  b: number | undefined,
  now: number,
  ttl: number,
): number | undefined {
  if (a !== undefined && a - now >= ttl) a = undefined;
  if (b !== undefined && b - now >= ttl) b = undefined;
  if (a === undefined) return b;
  if (b === undefined) return a;
  const ra = rank(a, now, ttl);
  const rb = rank(b, now, ttl);
  if (ra !== rb) return rb > ra ? b : a;
  if (ra === 2) return b < a ? b : a;
  return b > a ? b : a;
}

/**
 * The record `old` becomes with `change` merged in at `now`, `ttl` being how long a record can concern an entry
 * (`maxTtl` plus a margin): computed exactly as {@link MERGE_SCRIPT} computes it in Redis.
 *
 * - `stale`: the later of the two. It never moves back, so an entry found stale stays stale.
 * - `expired`: of two expiries that have passed, the later (a replayed older expiry never brings back entries a
 *   newer one expired); of two to come, the sooner (a profile's window is never pushed back); one that has passed
 *   wins over one to come (it expires now what the other would expire later, or what came before it: an entry
 *   already expired stays expired, and a later immediate invalidation brings a profile's expiry forward); one to
 *   come wins over one older than `ttl` (no entry it expired still exists).
 * - An expiry `ttl` or more ahead is dropped (the tag is stale only): every entry made before the invalidation has
 *   left the cache by then (entries live at most `maxTtl`), and Next.js's expiry bounds how long such stale entries
 *   are served; entries made after the invalidation are not stale. `revalidateTag(tag, 'max')` (one year) so
 *   leaves a record that is dropped like any other, instead of one kept for a year.
 *
 * For a given `now` the merge is commutative, associative and idempotent: changes merged in any order, or twice,
 * leave the same record. @internal
 */
export function mergeTag(old: TagState | undefined, change: TagState, now: number, ttl: number): TagState {
  const next: TagState = {};
  const a = old?.stale;
  const b = change.stale;
  const stale = a === undefined ? b : b === undefined || b <= a ? a : b;
  const expired = mergeExpiry(old?.expired, change.expired, now, ttl);
  if (stale !== undefined) next.stale = stale;
  if (expired !== undefined) next.expired = expired;
  return next;
}

/**
 * The change one invalidation at `now` makes: `durations` absent (`updateTag`, `revalidateTag` without a profile),
 * the tag expires now; present, it goes stale now and expires `durations.expire` seconds later (if given). @internal
 */
export function changeOf(now: number, durations: { expire?: number } | undefined | null): TagState {
  if (durations === undefined || durations === null) return { expired: now };
  const change: TagState = { stale: now };
  const expire = durations.expire;
  if (typeof expire === 'number' && Number.isFinite(expire) && expire >= 0) {
    change.expired = now + Math.floor(expire * 1000);
  }
  return change;
}

/** What the table needs from Redis; absent in memory-only mode. */
export interface TagRemote {
  /** Sends commands, failing at once when not connected and after the timeout when Redis does not answer. */
  run<T>(send: (client: Redis) => Promise<T>): Promise<T>;
  /** Whether commands can be sent now. */
  ready(): boolean;
  /** Tells other instances that these tags changed (they re-read them). Resolves once Redis has it. */
  publish(tags: readonly string[]): Promise<void>;
}

/** Tags per script call and per bus message when many are written at once (a replay after an outage). */
const WRITE_BATCH = 500;
const PUBLISH_BATCH = 1000;

/**
 * Distinct tags whose unsent changes are kept for replay during an outage (about 100 bytes each). Beyond, every tag
 * this instance has invalidated is written back from its table on reconnect (see {@link TagTable.sync}).
 */
export const MAX_UNSENT_TAGS = 10_000;

/** Per-process tag state, mirrored from Redis. @internal */
export class TagTable {
  readonly #local = new Map<string, TagState>();
  /** Bumped per tag on every local write, so a slower read of Redis does not overwrite it. */
  readonly #writes = new Map<string, number>();
  readonly #pendingTags = new Map<string, Promise<void>>();
  /** Changes made in this tick, written together (Next.js makes one invalidation through each handler in one loop). */
  #batch: Map<string, TagState> | undefined;
  #batchDone: Promise<void> | undefined;
  /** Changes that could not reach Redis, merged per tag, replayed on reconnect (bounded by `maxUnsent` tags). */
  #unsent = new Map<string, TagState>();
  /** More than `maxUnsent` tags changed while Redis was unreachable: write back every tag this instance changed. */
  #overflow = false;
  #updates = 0;
  readonly #hash: string;
  readonly #zset: string;
  /** Last time the table was synced from Redis (epoch ms), 0 = never. */
  loadedAt = 0;

  constructor(
    prefix: string,
    readonly remote: TagRemote | undefined,
    /** How long a record can concern an entry: `maxTtl` plus a margin (ms). */
    readonly ttl: number,
    /** Next.js's own process-local tags manifest, kept in step so its stale checks see our tags. */
    readonly nextManifest: Map<string, TagState> | undefined,
    readonly report: (error: unknown, operation: string) => void,
    readonly maxUnsent = MAX_UNSENT_TAGS,
  ) {
    this.#hash = `${prefix}tags`;
    this.#zset = `${prefix}tagtimes`;
  }

  /** The number of tags held in memory. */
  get size(): number {
    return this.#local.size;
  }

  /** The state of one tag (for tests and `getExpiration`). */
  get(tag: string): TagState | undefined {
    return this.#local.get(tag);
  }

  /**
   * The verdict for an entry created at `timestamp` carrying `tags` (and `more`, e.g. soft tags): EXPIRED when
   * a tag expired after the entry was created, STALE when one went stale after it, PENDING when one is being
   * re-read, else FRESH. Allocates nothing.
   */
  check(
    tags: readonly string[] | undefined,
    more: readonly string[] | undefined,
    timestamp: number,
  ): Verdict {
    let verdict: Verdict = FRESH;
    const now = Date.now();
    if (tags !== undefined) {
      for (let i = 0; i < tags.length; i++) {
        const v = this.#checkOne(tags[i] as string, timestamp, now);
        if (v === EXPIRED || v === PENDING) return v;
        if (v === STALE) verdict = STALE;
      }
    }
    if (more !== undefined) {
      for (let i = 0; i < more.length; i++) {
        const v = this.#checkOne(more[i] as string, timestamp, now);
        if (v === EXPIRED || v === PENDING) return v;
        if (v === STALE) verdict = STALE;
      }
    }
    return verdict;
  }

  #checkOne(tag: string, timestamp: number, now: number): Verdict {
    if (this.#pendingTags.size > 0 && this.#pendingTags.has(tag)) return PENDING;
    const state = this.#local.get(tag);
    if (state === undefined) return FRESH;
    const e = state.expired;
    if (e !== undefined && e <= now && e > timestamp) return EXPIRED;
    const s = state.stale;
    if (s !== undefined && s > timestamp) return STALE;
    return FRESH;
  }

  /** Resolves when no tag is being re-read (at most one Redis timeout later). */
  async settled(): Promise<void> {
    while (this.#pendingTags.size > 0) await Promise.all([...this.#pendingTags.values()]);
  }

  /**
   * Invalidates tags: `durations` absent expires them now; present, they go stale now and expire after
   * `durations.expire` seconds (if given). Applied locally at once (this instance's next read sees it), then
   * written to Redis and announced to the other instances. The calls of one tick are written together, in one
   * script and one bus message: Next.js calls `revalidateTag` of the incremental cache and `updateTags` of each
   * `'use cache'` handler for one invalidation, in one loop. A call made later is written again, even while an
   * earlier write of the same tags is in flight. Never rejects.
   */
  update(tags: readonly string[], durations: { expire?: number } | undefined): Promise<void> {
    if (tags.length === 0) return Promise.resolve();
    const now = Date.now();
    const change = changeOf(now, durations);
    let batch = this.#batch;
    let done = this.#batchDone;
    if (batch === undefined || done === undefined) {
      const changes = new Map<string, TagState>();
      batch = changes;
      done = new Promise<void>((resolve) => {
        // After the calls of this tick: the next call starts a new batch.
        queueMicrotask(() => {
          this.#batch = undefined;
          this.#batchDone = undefined;
          resolve(this.#send(changes));
        });
      });
      this.#batch = batch;
      this.#batchDone = done;
    }
    for (const tag of tags) {
      this.#setLocal(tag, mergeTag(this.#local.get(tag), change, now, this.ttl), true);
      batch.set(tag, mergeTag(batch.get(tag), change, now, this.ttl));
    }
    if (++this.#updates % 1000 === 0) this.#prune(now);
    return done;
  }

  async #send(changes: Map<string, TagState>): Promise<void> {
    const remote = this.remote;
    if (remote === undefined) return;
    if (!remote.ready()) {
      this.#keep(changes);
      return;
    }
    try {
      await this.#write(remote, [...changes]);
      await remote.publish([...changes.keys()]);
    } catch (error) {
      this.#keep(changes);
      this.report(error, 'revalidateTag');
    }
  }

  /** Merges changes into Redis's records (one script), and takes the merged records. */
  async #write(remote: TagRemote, changes: readonly (readonly [string, TagState])[]): Promise<void> {
    const args: (string | number)[] = [];
    const seq: number[] = [];
    for (const [tag, change] of changes) {
      args.push(tag, change.stale ?? '', change.expired ?? '');
      seq.push(this.#writes.get(tag) ?? 0);
    }
    const now = Date.now();
    const records = (await remote.run((c) =>
      c.eval(MERGE_SCRIPT, 2, this.#hash, this.#zset, now, this.ttl, ...args),
    )) as string[];
    // Redis's merged record holds this instance's changes and everyone else's; unless this instance changed the
    // tag again meanwhile (its next write brings that record).
    for (let i = 0; i < changes.length; i++) {
      const tag = (changes[i] as readonly [string, TagState])[0];
      const state = parse(records[i]);
      if (state !== undefined && (this.#writes.get(tag) ?? 0) === seq[i]) this.#setLocal(tag, state, false);
    }
  }

  /** Keeps changes that could not be written for the replay, merged per tag. */
  #keep(changes: Map<string, TagState>): void {
    if (this.#overflow) return;
    const now = Date.now();
    for (const [tag, change] of changes) {
      const kept = this.#unsent.get(tag);
      if (kept === undefined && this.#unsent.size >= this.maxUnsent) {
        // Never dropped: the local table holds every change this instance made; the replay writes back all of them.
        this.#overflow = true;
        this.#unsent.clear();
        this.report(
          new Error(
            `larder/next: more than ${this.maxUnsent} tags were invalidated while Redis was unreachable; ` +
              'every tag this instance invalidated is written back when it returns',
          ),
          'revalidateTag',
        );
        return;
      }
      this.#unsent.set(tag, mergeTag(kept, change, now, this.ttl));
    }
  }

  /** The number of tags whose changes wait to be replayed (1 more when they overflowed: see {@link sync}). */
  get unsent(): number {
    return this.#unsent.size + (this.#overflow ? 1 : 0);
  }

  #setLocal(tag: string, state: TagState, own: boolean): void {
    this.#local.set(tag, state);
    if (own) this.#writes.set(tag, (this.#writes.get(tag) ?? 0) + 1);
    const manifest = this.nextManifest;
    if (manifest !== undefined) {
      const theirs = manifest.get(tag);
      if (theirs === undefined || theirs.stale !== state.stale || theirs.expired !== state.expired) {
        manifest.set(tag, { ...state });
      }
    }
  }

  /** Re-reads some tags from Redis (after another instance announced them). Gets touching them wait. */
  refresh(tags: readonly string[]): Promise<void> {
    const remote = this.remote;
    if (remote === undefined || tags.length === 0) return Promise.resolve();
    const seq = tags.map((t) => this.#writes.get(t) ?? 0);
    const read = remote
      .run((c) => c.hmget(this.#hash, ...tags))
      .then(
        (values) => {
          for (let i = 0; i < tags.length; i++) {
            const state = parse(values[i]);
            const tag = tags[i] as string;
            if (state !== undefined && (this.#writes.get(tag) ?? 0) === seq[i])
              this.#setLocal(tag, state, false);
          }
        },
        (error: unknown) => {
          // Could not learn what changed: treat the tags as expired now (safe: the next read regenerates).
          const now = Date.now();
          for (const tag of tags) {
            this.#setLocal(tag, mergeTag(this.#local.get(tag), { expired: now }, now, this.ttl), false);
          }
          this.report(error, 'tags');
        },
      );
    const done = read.finally(() => {
      for (const tag of tags) if (this.#pendingTags.get(tag) === done) this.#pendingTags.delete(tag);
    });
    for (const tag of tags) this.#pendingTags.set(tag, done);
    return done;
  }

  /**
   * Brings the table up to date with Redis: replays the changes that could not be sent, then reads every
   * record (the first time) or those written since `since` - `margin`. Rejects when Redis fails.
   */
  async sync(since: number, margin: number): Promise<void> {
    const remote = this.remote;
    if (remote === undefined) return;
    const started = Date.now();
    await this.#replay(remote);
    const seq = new Map(this.#writes);
    const fresh = (tag: string): boolean => (this.#writes.get(tag) ?? 0) === (seq.get(tag) ?? 0);
    if (this.loadedAt === 0) {
      const all = await remote.run((c) => c.hgetall(this.#hash));
      for (const tag of Object.keys(all)) {
        const state = parse(all[tag]);
        if (state !== undefined && fresh(tag)) this.#setLocal(tag, state, false);
      }
    } else {
      const tags = await remote.run((c) => c.zrangebyscore(this.#zset, Math.floor(since - margin), '+inf'));
      for (let i = 0; i < tags.length; i += WRITE_BATCH) {
        const batch = tags.slice(i, i + WRITE_BATCH);
        const values = await remote.run((c) => c.hmget(this.#hash, ...batch));
        for (let j = 0; j < batch.length; j++) {
          const state = parse(values[j]);
          const tag = batch[j] as string;
          if (state !== undefined && fresh(tag)) this.#setLocal(tag, state, false);
        }
      }
    }
    this.#prune(started);
    this.loadedAt = started;
  }

  /**
   * Writes the changes kept during an outage to Redis (merged, so a replay never undoes a newer invalidation) and
   * announces their tags. After an overflow, writes back the record of every tag this instance changed that its
   * table still holds (the table merged every change in): nothing is dropped, the write is only larger.
   */
  async #replay(remote: TagRemote): Promise<void> {
    const overflow = this.#overflow;
    let changes = this.#unsent;
    if (overflow) {
      changes = new Map();
      for (const tag of this.#writes.keys()) {
        const state = this.#local.get(tag);
        if (state !== undefined) changes.set(tag, state);
      }
    }
    this.#unsent = new Map();
    this.#overflow = false;
    if (changes.size === 0) return;
    try {
      const entries = [...changes];
      for (let i = 0; i < entries.length; i += WRITE_BATCH) {
        await this.#write(remote, entries.slice(i, i + WRITE_BATCH));
      }
      const tags = [...changes.keys()];
      for (let i = 0; i < tags.length; i += PUBLISH_BATCH)
        await remote.publish(tags.slice(i, i + PUBLISH_BATCH));
    } catch (error) {
      if (overflow) {
        this.#overflow = true;
        this.#unsent.clear();
      } else {
        this.#keep(changes);
      }
      throw error;
    }
  }

  /** Drops local records too old to matter (the same rule as the Redis table), and their unsent changes. */
  #prune(now: number): void {
    const cutoff = now - this.ttl;
    for (const [tag, state] of this.#local) {
      if (Math.max(state.stale ?? 0, state.expired ?? 0) < cutoff) {
        this.#local.delete(tag);
        this.#writes.delete(tag);
        this.#unsent.delete(tag);
      }
    }
  }
}

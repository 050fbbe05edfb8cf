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

const UPDATE = `
local now = tonumber(ARGV[1])
local cutoff = now - tonumber(ARGV[4])
local out = {}
for i = 5, #ARGV do
  local tag = ARGV[i]
  local old = redis.call('HGET', KEYS[1], tag)
  local s, e = '', ''
  if old then
    local c = string.find(old, ',', 1, true)
    if c then s = string.sub(old, 1, c - 1); e = string.sub(old, c + 1) end
  end
  if ARGV[2] == 'e' then
    e = ARGV[1]
  else
    if s == '' or tonumber(s) < now then s = ARGV[1] end
    if ARGV[3] ~= '' then e = ARGV[3] end
  end
  local rec = s .. ',' .. e
  redis.call('HSET', KEYS[1], tag, rec)
  local score = now
  if e ~= '' and tonumber(e) > score then score = tonumber(e) end
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

/** One call of `revalidateTag`/`updateTags`, as applied (and replayed after an outage). */
interface Update {
  tags: readonly string[];
  now: number;
  /** `'e'`: expire now; `'s'`: stale now, expiring at `expireAt` (if any). */
  mode: 'e' | 's';
  expireAt: number | undefined;
}

function parse(text: string | null | undefined): TagState | undefined {
  if (typeof text !== 'string') return undefined;
  const comma = text.indexOf(',');
  if (comma < 0) return undefined;
  const state: TagState = {};
  const s = text.slice(0, comma);
  const e = text.slice(comma + 1);
  if (s !== '') state.stale = Number(s);
  if (e !== '') state.expired = Number(e);
  return state;
}

/** The record an update leaves, computed locally exactly as the Lua script computes it in Redis. */
function apply(old: TagState | undefined, update: Update): TagState {
  const next: TagState = { ...old };
  if (update.mode === 'e') {
    next.expired = update.now;
  } else {
    if (next.stale === undefined || next.stale < update.now) next.stale = update.now;
    if (update.expireAt !== undefined) next.expired = update.expireAt;
  }
  return next;
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

/** Per-process tag state, mirrored from Redis. @internal */
export class TagTable {
  readonly #local = new Map<string, TagState>();
  /** Bumped per tag on every local write, so a slower read of Redis does not overwrite it. */
  readonly #writes = new Map<string, number>();
  readonly #pendingTags = new Map<string, Promise<void>>();
  readonly #inflight = new Map<string, Promise<void>>();
  /** Updates that could not reach Redis, replayed on reconnect (bounded). */
  #unsent: Update[] = [];
  #overflow = false;
  #updates = 0;
  readonly #hash: string;
  readonly #zset: string;
  /** Last time the table was synced from Redis (epoch ms), 0 = never. */
  loadedAt = 0;

  constructor(
    prefix: string,
    readonly remote: TagRemote | undefined,
    readonly ttl: number,
    /** Next.js's own process-local tags manifest, kept in step so its stale checks see our tags. */
    readonly nextManifest: Map<string, TagState> | undefined,
    readonly report: (error: unknown, operation: string) => void,
    readonly maxUnsent = 1000,
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
   * written to Redis and announced to the other instances. Identical calls made while one is in flight
   * (Next.js calls `revalidateTag` of the incremental cache and `updateTags` of each `'use cache'` handler
   * for one invalidation) are applied once. Never rejects.
   */
  update(tags: readonly string[], durations: { expire?: number } | undefined): Promise<void> {
    if (tags.length === 0) return Promise.resolve();
    const expire = durations?.expire;
    const dedupe = `${durations === undefined ? 'e' : `s${expire ?? ''}`}\u0000${tags.join('\u0000')}`;
    const running = this.#inflight.get(dedupe);
    if (running !== undefined) return running;
    const now = Date.now();
    const update: Update = {
      tags: [...tags],
      now,
      mode: durations === undefined ? 'e' : 's',
      expireAt:
        durations !== undefined && typeof expire === 'number' && Number.isFinite(expire) && expire >= 0
          ? now + expire * 1000
          : undefined,
    };
    for (const tag of update.tags) this.#setLocal(tag, apply(this.#local.get(tag), update), true);
    if (++this.#updates % 1000 === 0) this.#prune(now);
    const promise = this.#send(update).finally(() => this.#inflight.delete(dedupe));
    this.#inflight.set(dedupe, promise);
    return promise;
  }

  async #send(update: Update): Promise<void> {
    const remote = this.remote;
    if (remote === undefined) return;
    if (!remote.ready()) {
      this.#keep(update);
      return;
    }
    try {
      await this.#write(remote, update);
      await remote.publish(update.tags);
    } catch (error) {
      this.#keep(update);
      this.report(error, 'revalidateTag');
    }
  }

  async #write(remote: TagRemote, update: Update): Promise<void> {
    const seq = update.tags.map((t) => this.#writes.get(t) ?? 0);
    const records = (await remote.run((c) =>
      c.eval(
        UPDATE,
        2,
        this.#hash,
        this.#zset,
        update.now,
        update.mode,
        update.expireAt === undefined ? '' : update.expireAt,
        this.ttl,
        ...update.tags,
      ),
    )) as string[];
    // Redis's merged record is authoritative, unless this instance wrote the tag again meanwhile.
    for (let i = 0; i < update.tags.length; i++) {
      const tag = update.tags[i] as string;
      const state = parse(records[i]);
      if (state !== undefined && (this.#writes.get(tag) ?? 0) === seq[i]) this.#setLocal(tag, state, false);
    }
  }

  #keep(update: Update): void {
    if (this.#overflow) return;
    if (this.#unsent.length >= this.maxUnsent) {
      // Too many to replay: the other instances will not learn these; the table is resynced on reconnect.
      this.#overflow = true;
      this.#unsent = [];
      return;
    }
    this.#unsent.push(update);
  }

  /** Whether updates wait to be replayed. */
  get unsent(): number {
    return this.#unsent.length + (this.#overflow ? 1 : 0);
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
          for (const tag of tags) this.#setLocal(tag, { ...this.#local.get(tag), expired: now }, false);
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
   * Brings the table up to date with Redis: replays the updates that could not be sent, then reads every
   * record (the first time) or those written since `since` - `margin`. Rejects when Redis fails.
   */
  async sync(since: number, margin: number): Promise<void> {
    const remote = this.remote;
    if (remote === undefined) return;
    const started = Date.now();
    const unsent = this.#unsent;
    const overflow = this.#overflow;
    this.#unsent = [];
    this.#overflow = false;
    try {
      for (const update of unsent) await this.#write(remote, update);
      if (unsent.length > 0) await remote.publish([...new Set(unsent.flatMap((u) => u.tags))]);
    } catch (error) {
      this.#unsent = unsent.concat(this.#unsent);
      this.#overflow = this.#overflow || overflow;
      throw error;
    }
    const seq = new Map(this.#writes);
    const fresh = (tag: string): boolean => (this.#writes.get(tag) ?? 0) === (seq.get(tag) ?? 0);
    if (this.loadedAt === 0 || overflow) {
      const all = await remote.run((c) => c.hgetall(this.#hash));
      for (const tag of Object.keys(all)) {
        const state = parse(all[tag]);
        if (state !== undefined && fresh(tag)) this.#setLocal(tag, state, false);
      }
    } else {
      const tags = await remote.run((c) => c.zrangebyscore(this.#zset, Math.floor(since - margin), '+inf'));
      for (let i = 0; i < tags.length; i += 500) {
        const batch = tags.slice(i, i + 500);
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

  /** Drops local records too old to matter (the same rule as the Redis table). */
  #prune(now: number): void {
    const cutoff = now - this.ttl;
    for (const [tag, state] of this.#local) {
      if (Math.max(state.stale ?? 0, state.expired ?? 0) < cutoff) {
        this.#local.delete(tag);
        this.#writes.delete(tag);
      }
    }
  }
}

// The core's side of the CacheTier / CacheBus contracts, with in-memory doubles of a tier and a bus (the Redis
// implementations are tested against a real Redis in test/redis). These pin down what the cache calls and when.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { BusHandlers, BusMessage, CacheBus, CacheTier, TierRecord } from '../../src/index.js';
import { Cache } from '../../src/index.js';
import { policies } from './policies.js';

class MemoryTier implements CacheTier {
  readonly records = new Map<string, TierRecord>();
  readonly calls: string[] = [];
  refuse: ((value: unknown) => boolean) | undefined;
  fail = false;
  check(value: unknown): void {
    if (this.refuse?.(value)) throw new TypeError('tier cannot store this value');
  }
  /** While set, reads wait until {@link open} (the read has reached the tier: it answers what it held then). */
  gates: (() => void)[] | undefined;
  async get(key: string): Promise<TierRecord | undefined> {
    this.calls.push(`get ${key}`);
    if (this.fail) throw new Error('tier down');
    const record = this.records.get(key);
    const gates = this.gates;
    if (gates !== undefined) await new Promise<void>((resolve) => gates.push(resolve));
    return record;
  }
  open(): void {
    for (const resolve of this.gates?.splice(0) ?? []) resolve();
    this.gates = undefined;
  }
  async set(key: string, record: TierRecord): Promise<void> {
    this.calls.push(`set ${key}`);
    if (this.fail) throw new Error('tier down');
    this.records.set(key, record);
  }
  async delete(keys: readonly string[]): Promise<void> {
    this.calls.push(`delete ${keys.join(',')}`);
    for (const key of keys) this.records.delete(key);
  }
  async invalidateTags(tags: readonly string[]): Promise<void> {
    this.calls.push(`tags ${tags.join(',')}`);
    for (const [key, record] of this.records) {
      if (record.tags.some((t) => tags.includes(t))) this.records.delete(key);
    }
  }
  async clear(prefix: string): Promise<void> {
    this.calls.push(`clear ${prefix}`);
  }
  async close(): Promise<void> {
    this.calls.push('close');
  }
  replayed: ((message: BusMessage) => void)[] = [];
  onReplay(replayed: (message: BusMessage) => void): void {
    this.replayed.push(replayed);
  }
}

class MemoryBus implements CacheBus {
  handlers: BusHandlers | undefined;
  readonly sent: BusMessage[] = [];
  start(handlers: BusHandlers): void {
    this.handlers = handlers;
  }
  publish(message: BusMessage): void {
    this.sent.push(message);
  }
  async close(): Promise<void> {}
}

const flush = () => new Promise((resolve) => setTimeout(resolve, 0));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.each(policies)('tier and bus contracts (%s)', (policy) => {
  let tier: MemoryTier;
  let bus: MemoryBus;
  let cache: Cache<string, unknown>;
  beforeEach(() => {
    tier = new MemoryTier();
    bus = new MemoryBus();
    cache = new Cache<string, unknown>({ max: 100, ttl: '1m', policy, tier, bus });
  });
  afterEach(() => cache.close());

  it('a memory miss reads the tier before the loader, and a fresh record fills memory without a load', async () => {
    const now = Date.now();
    tier.records.set('k', {
      value: 'from-tier',
      expires: now + 60_000,
      staleUntil: now + 60_000,
      errorUntil: now + 60_000,
      tags: ['t'],
      createdAt: now,
    });
    const loader = vi.fn(() => 'from-loader');
    expect(await cache.getOrSet('k', loader)).toBe('from-tier');
    expect(loader).not.toHaveBeenCalled();
    expect(cache.get('k')).toBe('from-tier');
    expect(cache.stats().tierHits).toBe(1);
    // The filled entry carries the record's tags.
    expect(cache.invalidateTag('t')).toBe(1);
  });

  it('a tier miss runs the loader and writes the result to the tier', async () => {
    expect(await cache.getOrSet('k', () => 42)).toBe(42);
    await flush();
    expect(tier.calls).toEqual(['get k', 'set k']);
    expect(tier.records.get('k')?.value).toBe(42);
  });

  it('a failing tier is a miss: the loader still runs, the failure is counted and reported', async () => {
    tier.fail = true;
    const errors: string[] = [];
    cache.on('error', (e) => errors.push(e.operation));
    expect(await cache.getOrSet('k', () => 'v')).toBe('v');
    await flush();
    expect(cache.stats().tierErrors).toBe(2); // the read and the write
    expect(errors).toEqual(['tier', 'tier']);
  });

  it('set refuses a value the tier cannot store, before changing anything', async () => {
    tier.refuse = (value) => typeof value === 'function';
    cache.set('k', 'old');
    expect(() => cache.set('k', () => 1)).toThrow(TypeError);
    expect(cache.get('k')).toBe('old');
    await flush();
    expect(bus.sent).toEqual([{ type: 'delete', keys: ['k'] }]);
  });

  it('writes publish on the bus: set and delete as deletes, tags, clear with the namespace prefix', async () => {
    cache.set('a', 1, { tags: ['x'] });
    cache.delete('a');
    cache.invalidateTags(['x', 'y']);
    cache.expireTags(['z']);
    cache.namespace('ns').clear();
    cache.clear();
    // Clears go out at once (and again once the tier has settled them); the others only once the tier has
    // settled their calls (next test).
    expect(bus.sent).toEqual([
      { type: 'clear', prefix: 'ns:' },
      { type: 'clear', prefix: '' },
    ]);
    await flush();
    expect(bus.sent.slice(2)).toEqual([
      { type: 'delete', keys: ['a'] },
      { type: 'delete', keys: ['a'] },
      { type: 'tags', tags: ['x', 'y'] },
      { type: 'tags', tags: ['z'], expire: true },
      { type: 'clear', prefix: 'ns:' },
      { type: 'clear', prefix: '' },
    ]);
  });

  it('an invalidation is published once the tier has settled its write (so a re-read finds the new value)', async () => {
    const gates: (() => void)[] = [];
    const gated = <T>(call: () => Promise<T>) =>
      new Promise<T>((resolve, reject) => gates.push(() => call().then(resolve, reject)));
    const set = tier.set.bind(tier);
    const del = tier.delete.bind(tier);
    const tags = tier.invalidateTags.bind(tier);
    tier.set = (key, record) => gated(() => set(key, record));
    tier.delete = (keys) => gated(() => del(keys));
    tier.invalidateTags = (list) => gated(() => tags(list));
    cache.set('a', 1);
    cache.delete('b');
    cache.invalidateTag('t');
    await flush();
    expect(bus.sent).toEqual([]);
    tier.fail = true; // the set's write fails: published all the same, when it fails
    for (const open of gates.splice(0)) open();
    await flush();
    expect(bus.sent).toEqual([
      { type: 'delete', keys: ['a'] },
      { type: 'delete', keys: ['b'] },
      { type: 'tags', tags: ['t'] },
    ]);
  });

  it('close sends the invalidations still waiting for their tier writes, then closes the bus', async () => {
    let open: () => void = () => {};
    const set = tier.set.bind(tier);
    tier.set = (key, record) =>
      new Promise<void>((resolve) => {
        open = () => void set(key, record).then(resolve);
      });
    const closed = vi.spyOn(bus, 'close');
    cache.set('a', 1);
    const closing = cache.close();
    await flush();
    expect(closed).not.toHaveBeenCalled();
    open();
    await closing;
    expect(bus.sent).toEqual([{ type: 'delete', keys: ['a'] }]);
    expect(closed).toHaveBeenCalled();
  });

  it('set with broadcast: false writes through to the tier and tells no other instance', async () => {
    cache.set('fresh', 1, { broadcast: false });
    cache.set('plain', 2, { broadcast: true });
    await flush();
    expect(bus.sent).toEqual([{ type: 'delete', keys: ['plain'] }]);
    expect(tier.records.get('fresh')?.value).toBe(1);
    expect(cache.get('fresh')).toBe(1);
    expect(() => cache.set('bad', 3, { broadcast: 'no' as unknown as boolean })).toThrow(
      /set: options\.broadcast must be a boolean/,
    );
    expect(cache.has('bad')).toBe(false);
  });

  it('a namespace name with ":" goes to the tier and the bus escaped, and a remote clear of another name spares it', async () => {
    const acme = cache.namespace('acme');
    const secret = cache.namespace('acme:secret');
    secret.set('1', 'S');
    acme.set('secret:2', 'A');
    await flush();
    expect(tier.calls).toEqual(['set acme%3Asecret:1', 'set acme:secret:2']);
    secret.clear();
    expect(bus.sent.at(-1)).toEqual({ type: 'clear', prefix: 'acme%3Asecret:' });
    expect(tier.calls.at(-1)).toBe('clear acme%3Asecret:');
    expect(acme.get('secret:2')).toBe('A');
    secret.set('1', 'S');
    // Another instance's namespace('acme').clear() arrives as a clear of 'acme:'.
    (bus.handlers as BusHandlers).message({ type: 'clear', prefix: 'acme:' });
    expect(acme.has('secret:2')).toBe(false);
    expect(secret.get('1')).toBe('S');
  });

  it('bus messages change local memory only and are never published again', () => {
    const handlers = bus.handlers as BusHandlers;
    cache.set('a', 1);
    cache.set('b', 2, { tags: ['t'] });
    cache.set('ns:c', 3);
    cache.set('d', 4);
    const sent = bus.sent.length;
    handlers.message({ type: 'delete', keys: ['a'] });
    handlers.message({ type: 'tags', tags: ['t'] });
    handlers.message({ type: 'clear', prefix: 'ns:' });
    expect([cache.has('a'), cache.has('b'), cache.has('ns:c'), cache.has('d')]).toEqual([
      false,
      false,
      false,
      true,
    ]);
    expect(bus.sent.length).toBe(sent);
    expect(cache.stats().busMessages).toBe(3);
  });

  it('a bus message for a key being loaded stops that load from storing its result', async () => {
    let finish: (value: string) => void = () => {};
    const pending = cache.getOrSet('k', () => new Promise<string>((resolve) => (finish = resolve)));
    await flush();
    (bus.handlers as BusHandlers).message({ type: 'delete', keys: ['k'] });
    finish('old');
    expect(await pending).toBe('old');
    expect(cache.has('k')).toBe(false);
  });

  /** A cache on this test's tier and bus whose entries go stale after 5 ms and are served stale for a minute. */
  const swrCache = () =>
    new Cache<string, unknown>({ max: 100, ttl: 5, staleWhileRevalidate: '1m', policy, tier, bus });

  // Remote tag changes go through the same state as local ones: they must stop a load of a key whose entry was tagged
  // by `set` and is read through without the tags (a refresh, here), on this instance too.
  it('a remote tag invalidation stops a refresh of a key tagged by set, read without tags', async () => {
    const swr = swrCache();
    swr.namespace('ns').set('k', 'v1', { tags: ['t'] });
    await sleep(20);
    let signal: AbortSignal | undefined;
    let finish: (value: string) => void = () => {};
    const loader = (ctx: { signal: AbortSignal }) => {
      signal = ctx.signal;
      return new Promise<string>((resolve) => (finish = resolve));
    };
    expect(await swr.namespace('ns').getOrSet('k', loader)).toBe('v1'); // stale; the refresh reads the tier first
    await flush();
    expect(signal).toBeDefined();
    (bus.handlers as BusHandlers).message({ type: 'tags', tags: ['t'] });
    expect(signal?.aborted).toBe(true);
    finish('read before the other instance wrote');
    await flush();
    expect(swr.peek('ns:k')).toBeUndefined();
    expect(tier.calls.filter((c) => c === 'set ns:k')).toHaveLength(1); // the set's write only
    await swr.close();
  });

  it('a remote tag expiry stops a refresh of a key tagged by set, read without tags', async () => {
    const swr = swrCache();
    swr.set('k', 'v1', { tags: ['t'] });
    await sleep(20);
    let signal: AbortSignal | undefined;
    let finish: (value: string) => void = () => {};
    const loader = (ctx: { signal: AbortSignal }) => {
      signal = ctx.signal;
      return new Promise<string>((resolve) => (finish = resolve));
    };
    expect(await swr.getOrSet('k', loader)).toBe('v1');
    await flush();
    (bus.handlers as BusHandlers).message({ type: 'tags', tags: ['t'], expire: true });
    expect(signal?.aborted).toBe(true);
    finish('read before the expiry');
    await flush();
    expect(swr.get('k')).toBeUndefined(); // still stale: the refresh did not store
    await swr.close();
  });

  it.each([
    ['given the tag', { tags: ['t'] }],
    ['not given it', {}],
  ])(
    'a tag invalidated during a tier read keeps out the record read before it (load %s)',
    async (_, options) => {
      const now = Date.now();
      const old = { value: 'old', expires: now + 60_000, staleUntil: now + 60_000, errorUntil: now + 60_000 };
      tier.records.set('k', { ...old, tags: ['t'], createdAt: now - 10 });
      tier.gates = [];
      let loads = 0;
      const reading = cache.getOrSet(
        'k',
        async () => {
          loads++;
          return 'new';
        },
        options,
      );
      await flush();
      expect(tier.calls).toContain('get k');
      cache.invalidateTag('t');
      tier.open();
      expect(await reading).toBe('new');
      expect(loads).toBe(1);
      expect(cache.peek('k')).toBe('new');
    },
  );

  it('a load answered by a soft timeout and invalidated during its tier read starts no other load', async () => {
    cache.set('k', 'stale', { ttl: 20, staleIfError: 60_000 });
    await sleep(30);
    tier.gates = [];
    let loads = 0;
    const loader = async () => {
      loads++;
      return 'fresh';
    };
    expect(await cache.getOrSet('k', loader, { timeout: 30 })).toBe('stale');
    cache.delete('k');
    tier.open();
    await sleep(20);
    expect(loads).toBe(0);
    expect(cache.stats().loads).toBe(1);
  });

  it('sizeOf gets the key without its namespace prefix for a value filled from the tier', async () => {
    const keys: unknown[] = [];
    const sized = new Cache<string, string>({
      maxSize: 1000,
      sizeOf: (_value, key) => {
        keys.push(key);
        return 1;
      },
      policy,
      tier,
      bus,
    });
    const now = Date.now();
    const record = { expires: now + 60_000, staleUntil: now + 60_000, errorUntil: now + 60_000, tags: [] };
    tier.records.set('ns:a', { ...record, value: 'A', createdAt: now });
    tier.records.set('ns:b', { ...record, value: 'B', createdAt: now });
    expect(await sized.namespace('ns').getOrSet('a', () => 'loaded')).toBe('A');
    expect(await sized.namespace('ns').getOrSetMany(['b'], () => new Map())).toEqual(['B']);
    expect(keys).toEqual(['a', 'b']);
    await sized.close();
  });

  it('a write the tier replays late drops what memory holds for it, stops its loads, and is published again', async () => {
    expect(tier.replayed).toHaveLength(1);
    const replayed = tier.replayed[0] as (message: BusMessage) => void;
    cache.set('a', 1);
    cache.set('b', 2, { tags: ['t'] });
    cache.set('ns:c', 3);
    cache.set('d', 4);
    let finish: (value: string) => void = () => {};
    const pending = cache.getOrSet('k', () => new Promise<string>((resolve) => (finish = resolve)));
    await flush();
    const sent = bus.sent.length;
    const messages: BusMessage[] = [
      { type: 'delete', keys: ['a', 'k'] },
      { type: 'tags', tags: ['t'] },
      { type: 'clear', prefix: 'ns:' },
    ];
    for (const m of messages) replayed(m);
    finish('read before the replay');
    expect(await pending).toBe('read before the replay');
    expect([cache.has('a'), cache.has('b'), cache.has('ns:c'), cache.has('k'), cache.has('d')]).toEqual([
      false,
      false,
      false,
      false,
      true,
    ]);
    expect(bus.sent.slice(sent)).toEqual(messages);
  });

  it('a replayed write is applied to memory without a bus too', () => {
    const alone = new MemoryTier();
    const solo = new Cache<string, unknown>({ max: 10, policy, tier: alone });
    solo.set('a', 1);
    (alone.replayed[0] as (message: BusMessage) => void)({ type: 'delete', keys: ['a'] });
    expect(solo.has('a')).toBe(false);
    return solo.close();
  });

  it('resync drops every memory entry and in-flight load', async () => {
    cache.set('a', 1);
    let finish: (value: string) => void = () => {};
    const pending = cache.getOrSet('k', () => new Promise<string>((resolve) => (finish = resolve)));
    await flush();
    (bus.handlers as BusHandlers).resync(Date.now());
    finish('loaded before the resync');
    await pending;
    expect(cache.size).toBe(0);
  });

  it('bus errors are counted and reported', () => {
    const errors: unknown[] = [];
    cache.on('error', (e) => errors.push(e.operation));
    (bus.handlers as BusHandlers).error(new Error('subscriber lost'));
    expect(cache.stats().busErrors).toBe(1);
    expect(errors).toEqual(['bus']);
  });

  it('close closes the tier', async () => {
    await cache.close();
    expect(tier.calls).toContain('close');
  });
});

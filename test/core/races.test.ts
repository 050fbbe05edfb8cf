import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Cache } from '../../src/index.js';
import { advance, deferred, flush, track } from './helpers.js';
import { policies } from './policies.js';

/** A loader whose every call is recorded with its signal and a deferred result. */
function controlledLoader<V>() {
  const calls: Array<{ signal: AbortSignal; d: ReturnType<typeof deferred<V>> }> = [];
  const loader = ({ signal }: { signal: AbortSignal }) => {
    const d = deferred<V>();
    calls.push({ signal, d });
    return d.promise;
  };
  return { calls, loader };
}

describe.each(policies)('no stale write-back: foreground loads (%s)', (policy) => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  const make = () => new Cache<string, string>({ max: 1000, ttl: 10_000, policy });

  it('delete during a load: signal aborted, result not stored, joined callers still get it', async () => {
    const cache = make();
    const { calls, loader } = controlledLoader<string>();
    const early1 = cache.getOrSet('k', loader);
    const early2 = cache.getOrSet('k', loader);
    await flush();
    expect(calls).toHaveLength(1);
    cache.delete('k');
    expect(calls[0]!.signal.aborted).toBe(true);
    calls[0]!.d.resolve('old');
    expect(await early1).toBe('old');
    expect(await early2).toBe('old');
    expect(cache.get('k')).toBeUndefined();
    expect(cache.has('k')).toBe(false);
  });

  it('delete during a load: a call after the delete starts a new load, whose result wins', async () => {
    const cache = make();
    const { calls, loader } = controlledLoader<string>();
    const before = cache.getOrSet('k', loader);
    await flush();
    cache.delete('k');
    const after = cache.getOrSet('k', loader);
    await flush();
    expect(calls).toHaveLength(2);
    expect(calls[1]!.signal.aborted).toBe(false);
    calls[1]!.d.resolve('new');
    expect(await after).toBe('new');
    expect(cache.get('k')).toBe('new');
    // The old load finishing late must not overwrite the newer value.
    calls[0]!.d.resolve('old');
    expect(await before).toBe('old');
    expect(cache.get('k')).toBe('new');
  });

  it('delete during a load: old load finishing first does not store, new load still stores', async () => {
    const cache = make();
    const { calls, loader } = controlledLoader<string>();
    const before = cache.getOrSet('k', loader);
    await flush();
    cache.delete('k');
    const after = cache.getOrSet('k', loader);
    await flush();
    calls[0]!.d.resolve('old');
    expect(await before).toBe('old');
    expect(cache.has('k')).toBe(false);
    // A caller arriving now joins the new load, not a new one, and not the finished old one.
    const joiner = cache.getOrSet('k', loader);
    await flush();
    expect(calls).toHaveLength(2);
    calls[1]!.d.resolve('new');
    expect(await after).toBe('new');
    expect(await joiner).toBe('new');
    expect(cache.get('k')).toBe('new');
  });

  it('delete during a load that then fails: joined callers get the error, nothing stored', async () => {
    const cache = make();
    const { calls, loader } = controlledLoader<string>();
    const early = track(cache.getOrSet('k', loader));
    await flush();
    cache.delete('k');
    const error = new Error('fail');
    calls[0]!.d.reject(error);
    await flush();
    expect(early.error).toBe(error);
    expect(cache.has('k')).toBe(false);
  });

  it('delete of a key that holds nothing yet still cancels its load', async () => {
    const cache = make();
    const { calls, loader } = controlledLoader<string>();
    const early = cache.getOrSet('k', loader);
    await flush();
    cache.delete('k');
    expect(calls[0]!.signal.aborted).toBe(true);
    calls[0]!.d.resolve('old');
    await early;
    expect(cache.has('k')).toBe(false);
  });

  it('set during a load: signal aborted, the set value stays, joined callers get the load result', async () => {
    const cache = make();
    const { calls, loader } = controlledLoader<string>();
    const early = cache.getOrSet('k', loader);
    await flush();
    cache.set('k', 'explicit');
    expect(calls[0]!.signal.aborted).toBe(true);
    calls[0]!.d.resolve('loaded');
    expect(await early).toBe('loaded');
    expect(cache.get('k')).toBe('explicit');
  });

  it('clear during a load: signal aborted, result not stored', async () => {
    const cache = make();
    const { calls, loader } = controlledLoader<string>();
    const a = cache.getOrSet('a', loader);
    const b = cache.getOrSet('b', loader);
    await flush();
    cache.clear();
    expect(calls[0]!.signal.aborted).toBe(true);
    expect(calls[1]!.signal.aborted).toBe(true);
    calls[0]!.d.resolve('A');
    calls[1]!.d.resolve('B');
    expect(await a).toBe('A');
    expect(await b).toBe('B');
    expect(cache.size).toBe(0);
    expect(cache.has('a')).toBe(false);
    expect(cache.has('b')).toBe(false);
  });

  it('clear during a load: a call after the clear starts a new load', async () => {
    const cache = make();
    const { calls, loader } = controlledLoader<string>();
    const before = cache.getOrSet('k', loader);
    await flush();
    cache.clear();
    const after = cache.getOrSet('k', loader);
    await flush();
    expect(calls).toHaveLength(2);
    calls[1]!.d.resolve('new');
    calls[0]!.d.resolve('old');
    expect(await before).toBe('old');
    expect(await after).toBe('new');
    expect(cache.get('k')).toBe('new');
  });

  it('deleting another key does not disturb a load', async () => {
    const cache = make();
    const { calls, loader } = controlledLoader<string>();
    cache.set('other', 'o');
    const p = cache.getOrSet('k', loader);
    await flush();
    cache.delete('other');
    cache.set('third', 't');
    expect(calls[0]!.signal.aborted).toBe(false);
    calls[0]!.d.resolve('v');
    expect(await p).toBe('v');
    expect(cache.get('k')).toBe('v');
  });

  it('tag invalidation during a load of an entry with that tag: aborted, not stored', async () => {
    const cache = make();
    const { calls, loader } = controlledLoader<string>();
    const p = cache.getOrSet('k', loader, { tags: ['users'] });
    await flush();
    cache.invalidateTag('users');
    expect(calls[0]!.signal.aborted).toBe(true);
    calls[0]!.d.resolve('v');
    expect(await p).toBe('v');
    expect(cache.has('k')).toBe(false);
  });

  it('invalidateTags during a load of an entry with one of the tags: aborted, not stored', async () => {
    const cache = make();
    const { calls, loader } = controlledLoader<string>();
    const p = cache.getOrSet('k', loader, { tags: ['a', 'b'] });
    const q = cache.getOrSet('j', loader, { tags: ['c'] });
    await flush();
    cache.invalidateTags(['x', 'b']);
    expect(calls[0]!.signal.aborted).toBe(true);
    expect(calls[1]!.signal.aborted).toBe(false);
    calls[0]!.d.resolve('v');
    calls[1]!.d.resolve('w');
    expect(await p).toBe('v');
    expect(await q).toBe('w');
    expect(cache.has('k')).toBe(false);
    expect(cache.get('j')).toBe('w');
  });

  it('wrap: invalidate during a call in flight stops its result from being stored', async () => {
    const cache = make();
    const d = deferred<string>();
    const fn = vi.fn((_id: number) => d.promise);
    const wrapped = cache.wrap('user', fn);
    const p = wrapped(1);
    await flush();
    wrapped.invalidate(1);
    d.resolve('stale');
    expect(await p).toBe('stale');
    expect(cache.has(wrapped.key(1))).toBe(false);
  });

  it('namespace clear during a load in that namespace: not stored; other namespaces unaffected', async () => {
    const cache = make();
    const users = cache.namespace('users');
    const posts = cache.namespace('posts');
    const { calls, loader } = controlledLoader<string>();
    const pu = users.getOrSet('1', loader);
    const pp = posts.getOrSet('1', loader);
    const pr = cache.getOrSet('root', loader);
    await flush();
    users.clear();
    expect(calls[0]!.signal.aborted).toBe(true);
    expect(calls[1]!.signal.aborted).toBe(false);
    expect(calls[2]!.signal.aborted).toBe(false);
    calls[0]!.d.resolve('u');
    calls[1]!.d.resolve('p');
    calls[2]!.d.resolve('r');
    expect(await pu).toBe('u');
    expect(await pp).toBe('p');
    expect(await pr).toBe('r');
    expect(users.has('1')).toBe(false);
    expect(posts.get('1')).toBe('p');
    expect(cache.get('root')).toBe('r');
  });
});

describe.each(policies)('no stale write-back: background refreshes and soft timeouts (%s)', (policy) => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  const make = () =>
    new Cache<string, string>({ max: 1000, ttl: 1000, staleWhileRevalidate: 10_000, policy });

  async function staleWithRefreshInFlight(cache: Cache<string, string>, tags?: string[]) {
    const { calls, loader } = controlledLoader<string>();
    await cache.getOrSet('k', () => 'v1', tags ? { tags } : undefined);
    vi.advanceTimersByTime(1500);
    expect(await cache.getOrSet('k', loader, tags ? { tags } : undefined)).toBe('v1');
    await flush();
    expect(calls).toHaveLength(1);
    return calls[0]!;
  }

  it('delete during a background refresh: aborted, result not stored, next call loads afresh', async () => {
    const cache = make();
    const refresh = await staleWithRefreshInFlight(cache);
    expect(cache.delete('k')).toBe(true);
    expect(refresh.signal.aborted).toBe(true);
    refresh.d.resolve('v2');
    await flush();
    expect(cache.get('k')).toBeUndefined();
    expect(cache.peek('k')).toBeUndefined();
    const loader = vi.fn(() => 'v3');
    // No stale value left to serve: this call must wait for a new load.
    expect(await cache.getOrSet('k', loader)).toBe('v3');
    expect(loader).toHaveBeenCalledTimes(1);
  });

  it('set during a background refresh: aborted, the set value stays', async () => {
    const cache = make();
    const refresh = await staleWithRefreshInFlight(cache);
    cache.set('k', 'explicit');
    expect(refresh.signal.aborted).toBe(true);
    refresh.d.resolve('v2');
    await flush();
    expect(cache.get('k')).toBe('explicit');
  });

  it('clear during a background refresh: aborted, nothing stored', async () => {
    const cache = make();
    const refresh = await staleWithRefreshInFlight(cache);
    cache.clear();
    expect(refresh.signal.aborted).toBe(true);
    refresh.d.resolve('v2');
    await flush();
    expect(cache.size).toBe(0);
    expect(cache.get('k')).toBeUndefined();
  });

  it('tag invalidation during a background refresh: aborted, nothing stored', async () => {
    const cache = make();
    const refresh = await staleWithRefreshInFlight(cache, ['t']);
    expect(cache.invalidateTag('t')).toBe(1);
    expect(refresh.signal.aborted).toBe(true);
    refresh.d.resolve('v2');
    await flush();
    expect(cache.has('k')).toBe(false);
    expect(cache.peek('k')).toBeUndefined();
  });

  it('namespace clear during a background refresh in it: aborted, nothing stored', async () => {
    const root = make();
    const ns = root.namespace('ns');
    const { calls, loader } = controlledLoader<string>();
    await ns.getOrSet('k', () => 'v1');
    vi.advanceTimersByTime(1500);
    expect(await ns.getOrSet('k', loader)).toBe('v1');
    await flush();
    ns.clear();
    expect(calls[0]!.signal.aborted).toBe(true);
    calls[0]!.d.resolve('v2');
    await flush();
    expect(ns.has('k')).toBe(false);
  });

  it('clear during a soft timeout: the late result is not stored', async () => {
    const cache = new Cache<string, string>({
      max: 1000,
      ttl: 1000,
      staleIfError: 60_000,
      timeout: 100,
      policy,
    });
    await cache.getOrSet('k', () => 'v1');
    vi.advanceTimersByTime(2000);
    const { calls, loader } = controlledLoader<string>();
    const p = track(cache.getOrSet('k', loader));
    await flush();
    expect(calls).toHaveLength(1);
    await advance(101);
    // Soft timeout: the stale value is served.
    expect(p.settled).toBe(true);
    expect(p.value).toBe('v1');
    expect(calls[0]!.signal.aborted).toBe(true);
    cache.clear();
    calls[0]!.d.resolve('late');
    await flush();
    expect(cache.has('k')).toBe(false);
    expect(cache.size).toBe(0);
  });

  it('delete during a soft timeout: the late result is not stored', async () => {
    const cache = new Cache<string, string>({
      max: 1000,
      ttl: 1000,
      staleIfError: 60_000,
      timeout: 100,
      policy,
    });
    await cache.getOrSet('k', () => 'v1');
    vi.advanceTimersByTime(2000);
    const { calls, loader } = controlledLoader<string>();
    const p = track(cache.getOrSet('k', loader));
    await advance(101);
    expect(p.value).toBe('v1');
    cache.delete('k');
    calls[0]!.d.resolve('late');
    await flush();
    expect(cache.has('k')).toBe(false);
  });

  it('set during a soft-timed-out load: the late result does not overwrite the set value', async () => {
    const cache = new Cache<string, string>({
      max: 1000,
      ttl: 1000,
      staleIfError: 60_000,
      timeout: 100,
      policy,
    });
    await cache.getOrSet('k', () => 'v1');
    vi.advanceTimersByTime(2000);
    const { calls, loader } = controlledLoader<string>();
    const p = track(cache.getOrSet('k', loader));
    await advance(101);
    expect(p.value).toBe('v1');
    cache.set('k', 'explicit');
    calls[0]!.d.resolve('late');
    await flush();
    expect(cache.get('k')).toBe('explicit');
  });

  it('tag invalidation during a soft-timed-out load: the late result is not stored', async () => {
    const cache = new Cache<string, string>({
      max: 1000,
      ttl: 1000,
      staleIfError: 60_000,
      timeout: 100,
      policy,
    });
    await cache.getOrSet('k', () => 'v1', { tags: ['t'] });
    vi.advanceTimersByTime(2000);
    const { calls, loader } = controlledLoader<string>();
    const p = track(cache.getOrSet('k', loader, { tags: ['t'] }));
    await advance(101);
    expect(p.value).toBe('v1');
    cache.invalidateTag('t');
    calls[0]!.d.resolve('late');
    await flush();
    expect(cache.has('k')).toBe(false);
  });

  // Spec: after a soft timeout "the load may still finish and store its result". A demanding user
  // expects an older load never to overwrite what a newer load stored.
  it('a soft-timed-out load finishing after a newer load does not overwrite the newer value', async () => {
    const cache = new Cache<string, string>({
      max: 1000,
      ttl: 1000,
      staleIfError: 60_000,
      timeout: 100,
      policy,
    });
    await cache.getOrSet('k', () => 'v1');
    vi.advanceTimersByTime(2000);
    const { calls, loader } = controlledLoader<string>();
    const first = track(cache.getOrSet('k', loader));
    await advance(101);
    expect(first.value).toBe('v1');
    // A later call (the key is not fresh) starts a newer load, which finishes first.
    const second = track(cache.getOrSet('k', loader));
    await flush();
    if (calls.length === 2) {
      calls[1]!.d.resolve('newer');
      await flush();
      expect(second.value).toBe('newer');
      calls[0]!.d.resolve('older');
      await flush();
      expect(cache.get('k')).toBe('newer');
    } else {
      // The implementation let the second call join the first load: then it gets that load's result.
      calls[0]!.d.resolve('older');
      await advance(101);
      expect(cache.get('k')).toBe('older');
    }
  });
});

// The usual split: the write path tags an entry (`set(..., { tags })`), the read path reads through without
// repeating the tags. A tag change must still stop a load of that key that is in flight.
describe.each(policies)('no stale write-back: tag changes vs loads not given the tags (%s)', (policy) => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('invalidateTag during a background refresh of an entry tagged by set: aborted, nothing stored', async () => {
    const cache = new Cache<string, string>({ max: 100, ttl: 1000, staleWhileRevalidate: 60_000, policy });
    cache.set('course:42', 'v1', { tags: ['course:42'] });
    await advance(1500);
    const { calls, loader } = controlledLoader<string>();
    expect(await cache.getOrSet('course:42', loader)).toBe('v1');
    expect(calls).toHaveLength(1);
    expect(cache.invalidateTag('course:42')).toBe(1);
    expect(calls[0]!.signal.aborted).toBe(true);
    calls[0]!.d.resolve('old row, read before the write');
    await flush();
    expect(cache.peek('course:42')).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('invalidateTag during a foreground load with a stale-if-error entry tagged by set: not stored', async () => {
    const cache = new Cache<string, string>({ max: 100, ttl: 1000, staleIfError: 60_000, policy });
    cache.set('course:42', 'v1', { tags: ['course:42'] });
    await advance(1500);
    const { calls, loader } = controlledLoader<string>();
    const p = cache.getOrSet('course:42', loader);
    await flush();
    expect(cache.invalidateTag('course:42')).toBe(1);
    expect(calls[0]!.signal.aborted).toBe(true);
    calls[0]!.d.resolve('old row');
    expect(await p).toBe('old row'); // the caller gets what it asked for
    expect(cache.peek('course:42')).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('expireTag during a refresh-ahead: aborted, not stored; the next read refreshes again', async () => {
    const cache = new Cache<string, string>({
      max: 100,
      ttl: 1000,
      staleWhileRevalidate: 60_000,
      refreshAhead: 0.5,
      policy,
    });
    cache.set('k', 'v1', { tags: ['t'] });
    await advance(600);
    const { calls, loader } = controlledLoader<string>();
    expect(await cache.getOrSet('k', loader)).toBe('v1'); // fresh, past refreshAhead: a refresh starts
    expect(calls).toHaveLength(1);
    expect(cache.expireTag('t')).toBe(1);
    expect(calls[0]!.signal.aborted).toBe(true);
    calls[0]!.d.resolve('read before the expiry');
    await flush();
    expect(cache.get('k')).toBeUndefined(); // still stale: the refresh did not store
    expect(await cache.getOrSet('k', loader)).toBe('v1');
    expect(calls).toHaveLength(2);
    calls[1]!.d.resolve('v2');
    await flush();
    expect(cache.get('k')).toBe('v2');
  });

  it('through namespaces: a root invalidateTag stops a namespace’s refresh of its tagged entry', async () => {
    const root = new Cache<string, string>({ max: 100, ttl: 1000, staleWhileRevalidate: 60_000, policy });
    const users = root.namespace('users');
    const posts = root.namespace('posts');
    users.set('1', 'u1', { tags: ['t'] });
    posts.set('1', 'p1');
    await advance(1500);
    const { calls, loader } = controlledLoader<string>();
    expect(await users.getOrSet('1', loader)).toBe('u1');
    expect(await posts.getOrSet('1', loader)).toBe('p1');
    expect(calls).toHaveLength(2);
    expect(root.invalidateTag('t')).toBe(1);
    expect(calls[0]!.signal.aborted).toBe(true);
    expect(calls[1]!.signal.aborted).toBe(false); // same user key, other namespace, not tagged
    calls[0]!.d.resolve('u-old');
    calls[1]!.d.resolve('p2');
    await flush();
    expect(users.peek('1')).toBeUndefined();
    expect(posts.get('1')).toBe('p2');
  });

  it('invalidateTag after a soft timeout of a key tagged by set: the late result is not stored', async () => {
    const cache = new Cache<string, string>({
      max: 100,
      ttl: 1000,
      staleIfError: 60_000,
      timeout: 100,
      policy,
    });
    cache.set('k', 'v1', { tags: ['t'] });
    await advance(2000);
    const { calls, loader } = controlledLoader<string>();
    const p = track(cache.getOrSet('k', loader));
    await advance(101);
    expect(p.value).toBe('v1'); // soft timeout: the load lingers, its result may still be stored
    expect(cache.invalidateTag('t')).toBe(1);
    calls[0]!.d.resolve('late, read before the invalidation');
    await flush();
    expect(cache.peek('k')).toBeUndefined();
  });

  it('a refresh whose tagged entry was purged meanwhile is still stopped by the tag', async () => {
    const cache = new Cache<string, string>({ max: 100, ttl: 1000, staleWhileRevalidate: 1000, policy });
    cache.set('k', 'v1', { tags: ['t'] });
    await advance(1500);
    const { calls, loader } = controlledLoader<string>();
    expect(await cache.getOrSet('k', loader)).toBe('v1');
    await advance(600); // past the stale window: the entry leaves memory (and the tag index)
    expect(cache.size).toBe(0);
    cache.invalidateTag('t');
    expect(calls[0]!.signal.aborted).toBe(true);
    calls[0]!.d.resolve('old');
    await flush();
    expect(cache.peek('k')).toBeUndefined();
  });
});

/** A loader that honours its signal, as the README tells users to (`db.course(id, { signal })`). */
function honouringLoader() {
  const calls: Array<{ signal: AbortSignal; d: ReturnType<typeof deferred<string>> }> = [];
  const loader = ({ signal }: { signal: AbortSignal }) => {
    const d = deferred<string>();
    signal.addEventListener('abort', () => d.reject(signal.reason));
    calls.push({ signal, d });
    return d.promise;
  };
  return { calls, loader };
}

// A loader that honours its signal gives up when an invalidation aborts it. The callers that were waiting did not
// ask for an abort: they are answered as a call made then would be (docs/cache-aside.md, "No stale write-back").
describe.each(policies)('invalidation during a load whose loader honours its signal (%s)', (policy) => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  const make = () => new Cache<string, string>({ max: 100, ttl: 10_000, policy });

  it('set: every waiting caller gets the value set, no second load, no load error', async () => {
    const cache = make();
    const errors: string[] = [];
    cache.on('error', (e) => errors.push(e.operation));
    const { calls, loader } = honouringLoader();
    const readers = [1, 2, 3].map(() => track(cache.getOrSet('k', loader)));
    await flush();
    cache.set('k', 'v2');
    await flush();
    expect(readers.map((r) => r.value)).toEqual(['v2', 'v2', 'v2']);
    expect(calls).toHaveLength(1);
    expect(cache.get('k')).toBe('v2');
    expect(cache.stats()).toMatchObject({ loads: 1, loadErrors: 0 });
    expect(errors).toEqual([]);
  });

  it('delete: waiting callers get a new load’s result, which is stored', async () => {
    const cache = make();
    const { calls, loader } = honouringLoader();
    const a = track(cache.getOrSet('k', loader));
    const b = track(cache.getOrSet('k', loader));
    await flush();
    cache.delete('k');
    await flush();
    expect(a.settled).toBe(false);
    expect(calls).toHaveLength(2);
    expect(calls[1]!.signal.aborted).toBe(false);
    calls[1]!.d.resolve('row after the delete');
    await flush();
    expect([a.value, b.value]).toEqual(['row after the delete', 'row after the delete']);
    expect(cache.get('k')).toBe('row after the delete');
    expect(cache.stats()).toMatchObject({ loads: 2, loadErrors: 0, misses: 2 }); // no miss for the retry
  });

  it('delete: waiting callers join a newer load started meanwhile instead of starting another', async () => {
    const cache = make();
    const { calls, loader } = honouringLoader();
    const { calls: stubborn, loader: ignoring } = controlledLoader<string>();
    // The first load ignores the abort for a while; a call after the delete starts a newer load.
    const early = track(cache.getOrSet('k', ignoring));
    await flush();
    cache.delete('k');
    const late = track(cache.getOrSet('k', loader));
    await flush();
    expect(calls).toHaveLength(1);
    stubborn[0]!.d.reject(stubborn[0]!.signal.reason); // gives up now
    await flush();
    expect(early.settled).toBe(false);
    expect(calls).toHaveLength(1); // joined, not a third load
    calls[0]!.d.resolve('newer');
    await flush();
    expect([early.value, late.value]).toEqual(['newer', 'newer']);
    expect(cache.stats().loads).toBe(2);
  });

  it('invalidateTag and a bus-less clear: waiting callers get a new load’s result', async () => {
    const cache = make();
    const { calls, loader } = honouringLoader();
    const tagged = track(cache.getOrSet('k', loader, { tags: ['t'] }));
    const cleared = track(cache.getOrSet('j', loader));
    await flush();
    cache.invalidateTag('t');
    cache.clear();
    await flush();
    expect(calls).toHaveLength(4);
    calls[2]!.d.resolve('k2');
    calls[3]!.d.resolve('j2');
    await flush();
    expect([tagged.value, cleared.value]).toEqual(['k2', 'j2']);
    expect(cache.get('k')).toBe('k2');
    expect(cache.invalidateTag('t')).toBe(1); // the new load stored the first caller's tags
  });

  it('is bounded: a key invalidated again at every load answers the abort error after 3 more loads', async () => {
    const cache = make();
    let loads = 0;
    const loader = ({ signal }: { signal: AbortSignal }) => {
      loads++;
      queueMicrotask(() => cache.delete('k')); // a write lands during every load
      return new Promise<string>((_resolve, reject) => {
        signal.addEventListener('abort', () => reject(signal.reason));
      });
    };
    const p = track(cache.getOrSet('k', loader));
    await flush();
    await flush();
    expect(p.settled).toBe(true);
    expect((p.error as Error).name).toBe('AbortError');
    expect(loads).toBe(4);
    expect(cache.stats().loadErrors).toBe(0);
  });

  it('a background refresh nobody waits for is not retried', async () => {
    const cache = new Cache<string, string>({ max: 100, ttl: 1000, staleWhileRevalidate: 60_000, policy });
    const errors: string[] = [];
    cache.on('error', (e) => errors.push(e.operation));
    cache.set('k', 'v1');
    await advance(1500);
    const { calls, loader } = honouringLoader();
    expect(await cache.getOrSet('k', loader)).toBe('v1');
    cache.delete('k');
    await flush();
    expect(calls).toHaveLength(1);
    expect(errors).toEqual([]);
    expect(cache.stats().loadErrors).toBe(0);
  });
});

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Cache } from '../../src/index.js';
import { policies } from './policies.js';

describe.each(policies)('tags (%s)', (policy) => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  const make = () => new Cache<string, string>({ max: 1000, policy });

  it('invalidateTag removes every entry carrying the tag and returns how many', () => {
    const cache = make();
    cache.set('u1', 'a', { tags: ['users'] });
    cache.set('u2', 'b', { tags: ['users', 'admins'] });
    cache.set('p1', 'c', { tags: ['posts'] });
    cache.set('plain', 'd');
    expect(cache.invalidateTag('users')).toBe(2);
    expect(cache.has('u1')).toBe(false);
    expect(cache.has('u2')).toBe(false);
    expect(cache.get('p1')).toBe('c');
    expect(cache.get('plain')).toBe('d');
    expect(cache.size).toBe(2);
    expect(cache.invalidateTag('users')).toBe(0);
    // 'admins' was only on u2, which is gone.
    expect(cache.invalidateTag('admins')).toBe(0);
  });

  it('invalidateTag of an unknown tag returns 0', () => {
    const cache = make();
    cache.set('a', 'A', { tags: ['t'] });
    expect(cache.invalidateTag('nope')).toBe(0);
    expect(cache.size).toBe(1);
  });

  it('invalidateTags removes entries carrying any of the tags and counts each entry once', () => {
    const cache = make();
    cache.set('a', 'A', { tags: ['x', 'y'] });
    cache.set('b', 'B', { tags: ['y'] });
    cache.set('c', 'C', { tags: ['z'] });
    cache.set('d', 'D', { tags: ['w'] });
    expect(cache.invalidateTags(['x', 'y', 'z'])).toBe(3);
    expect(cache.size).toBe(1);
    expect(cache.get('d')).toBe('D');
    expect(cache.invalidateTags([])).toBe(0);
  });

  it('an entry stored again takes its new tags only', () => {
    const cache = make();
    cache.set('k', 'v1', { tags: ['old'] });
    cache.set('k', 'v2', { tags: ['new'] });
    expect(cache.invalidateTag('old')).toBe(0);
    expect(cache.get('k')).toBe('v2');
    expect(cache.invalidateTag('new')).toBe(1);
    expect(cache.has('k')).toBe(false);
  });

  it('an entry stored again without tags has none', () => {
    const cache = make();
    cache.set('k', 'v1', { tags: ['old'] });
    cache.set('k', 'v2');
    expect(cache.invalidateTag('old')).toBe(0);
    expect(cache.get('k')).toBe('v2');
  });

  it('duplicate tags on one entry count it once', () => {
    const cache = make();
    cache.set('k', 'v', { tags: ['t', 't'] });
    expect(cache.invalidateTag('t')).toBe(1);
    expect(cache.invalidateTags(['t', 't'])).toBe(0);
  });

  it('getOrSet and wrap store their tags', async () => {
    const cache = make();
    await cache.getOrSet('g', () => 'G', { tags: ['t'] });
    const w = cache.wrap('w', async (x: number) => `W${x}`, { tags: ['t'] });
    await w(1);
    await w(2);
    expect(cache.invalidateTag('t')).toBe(3);
    expect(cache.size).toBe(0);
  });

  it('coalesced callers share the first caller’s tags', async () => {
    const cache = make();
    let release!: (v: string) => void;
    const first = cache.getOrSet('k', () => new Promise<string>((r) => (release = r)), { tags: ['first'] });
    const second = cache.getOrSet('k', () => 'other', { tags: ['second'] });
    await Promise.resolve();
    release('v');
    await Promise.all([first, second]);
    expect(cache.invalidateTag('second')).toBe(0);
    expect(cache.invalidateTag('first')).toBe(1);
  });

  it('a background refresh stores the refreshing call’s tags only', async () => {
    const cache = new Cache<string, string>({ max: 1000, ttl: 1000, staleWhileRevalidate: 5000, policy });
    await cache.getOrSet('k', () => 'v1', { tags: ['a'] });
    vi.advanceTimersByTime(1500);
    expect(await cache.getOrSet('k', () => 'v2', { tags: ['b'] })).toBe('v1');
    await vi.advanceTimersByTimeAsync(0);
    expect(cache.get('k')).toBe('v2');
    expect(cache.invalidateTag('a')).toBe(0);
    expect(cache.invalidateTag('b')).toBe(1);
  });

  it('a deleted entry is no longer counted under its tags', () => {
    const cache = make();
    cache.set('a', 'A', { tags: ['t'] });
    cache.set('b', 'B', { tags: ['t'] });
    cache.delete('a');
    expect(cache.invalidateTag('t')).toBe(1);
  });

  it('after clear, tags count nothing', () => {
    const cache = make();
    cache.set('a', 'A', { tags: ['t'] });
    cache.clear();
    expect(cache.invalidateTag('t')).toBe(0);
    cache.set('a', 'A2');
    expect(cache.invalidateTag('t')).toBe(0);
    expect(cache.get('a')).toBe('A2');
  });

  it('an expired entry is not counted or resurrected by tag invalidation', () => {
    const cache = new Cache<string, string>({ max: 1000, ttl: 1000, policy });
    cache.set('a', 'A', { tags: ['t'] });
    cache.set('b', 'B', { tags: ['t'], ttl: 10_000 });
    vi.advanceTimersByTime(1001);
    expect(cache.invalidateTag('t')).toBe(1);
    expect(cache.size).toBe(0);
  });

  it('invalidating one tag leaves the entry’s other tags consistent', () => {
    const cache = make();
    cache.set('a', 'A', { tags: ['x', 'y'] });
    cache.set('b', 'B', { tags: ['y'] });
    expect(cache.invalidateTag('x')).toBe(1);
    expect(cache.invalidateTag('y')).toBe(1);
    expect(cache.get('b')).toBeUndefined();
  });

  it('emits delete for each entry removed by a tag (if a reason is given, it is not "evict")', () => {
    const cache = make();
    const deleted: unknown[] = [];
    cache.on('delete', (e) => deleted.push(e.key));
    cache.set('a', 'A', { tags: ['t'] });
    cache.set('b', 'B', { tags: ['t'] });
    cache.invalidateTag('t');
    expect(deleted.sort()).toEqual(['a', 'b']);
  });
});

describe.each(policies)('expireTags counts (%s)', (policy) => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  const make = () => new Cache<string, string>({ max: 100, ttl: 1000, staleWhileRevalidate: 1000, policy });

  it('an entry carrying several of the tags is counted once', () => {
    const cache = make();
    cache.set('k', 'v', { tags: ['a', 'b'] });
    cache.set('j', 'w', { tags: ['b'] });
    expect(cache.expireTags(['a', 'b'])).toBe(2);
    expect(cache.expireTags(['a', 'b'])).toBe(0); // stale already
  });

  it('an entry stale already is left as it is and not counted; one without a window is removed and counted', () => {
    const cache = new Cache<string, string>({ max: 100, ttl: 1000, staleIfError: 5000, policy });
    cache.set('swr', 'v', { tags: ['t'], staleWhileRevalidate: 1000, staleIfError: 0 });
    cache.set('sie', 'w', { tags: ['t'] });
    vi.advanceTimersByTime(1500);
    expect(cache.expireTag('t')).toBe(1); // 'sie' removed; 'swr' was stale already
    expect(cache.size).toBe(1);
    vi.advanceTimersByTime(600); // the 'swr' window was not restarted
    expect(cache.size).toBe(0);
  });
});

describe('tags and eviction (lru)', () => {
  it('an evicted entry is no longer counted under its tags (no leak in the tag index)', () => {
    const cache = new Cache<string, string>({ max: 2, policy: 'lru' });
    cache.set('a', 'A', { tags: ['t'] });
    cache.set('b', 'B');
    cache.set('c', 'C');
    expect(cache.has('a')).toBe(false);
    expect(cache.invalidateTag('t')).toBe(0);
    expect(cache.size).toBe(2);
  });

  it('many tagged entries cycling through a small cache: counts stay exact', () => {
    const cache = new Cache<number, number>({ max: 10, policy: 'lru' });
    for (let i = 0; i < 1000; i++) cache.set(i, i, { tags: [`m${i % 3}`, 'all'] });
    // The last 10 keys (990..999) remain.
    const expected = [0, 1, 2].map((m) => [...Array(10).keys()].filter((j) => (990 + j) % 3 === m).length);
    expect(cache.invalidateTag('m0')).toBe(expected[0]);
    expect(cache.invalidateTags(['m1', 'all'])).toBe(expected[1]! + expected[2]!);
    expect(cache.size).toBe(0);
  });
});

import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Cache } from '../../src/index.js';
import { bad, expectBadInput } from './helpers.js';
import { policies } from './policies.js';

describe.each(policies)('namespaces (%s)', (policy) => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  const make = () => new Cache<string, string>({ max: 1000, ttl: 10_000, policy });

  it('prefixes its keys: same key in two namespaces and the root are three entries', () => {
    const root = make();
    const users = root.namespace('users');
    const posts = root.namespace('posts');
    root.set('1', 'root');
    users.set('1', 'user');
    posts.set('1', 'post');
    expect(root.get('1')).toBe('root');
    expect(users.get('1')).toBe('user');
    expect(posts.get('1')).toBe('post');
    expect(root.size).toBe(3);
  });

  it('shares the parent’s storage: entries written through the view are in the parent', () => {
    const root = make();
    const users = root.namespace('users');
    users.set('1', 'user');
    expect(root.size).toBe(1);
    users.delete('1');
    expect(root.size).toBe(0);
  });

  it('supports the whole read/write API', async () => {
    const root = make();
    const ns = root.namespace('ns');
    ns.set('a', 'A');
    expect(ns.has('a')).toBe(true);
    expect(ns.peek('a')).toBe('A');
    expect(ns.get('a')).toBe('A');
    expect(await ns.getOrSet('b', () => 'B')).toBe('B');
    expect(ns.get('b')).toBe('B');
    const w = ns.wrap('w', async (x: number) => `W${x}`);
    expect(await w(1)).toBe('W1');
    expect(ns.get(w.key(1))).toBe('W1');
    expect(ns.delete('a')).toBe(true);
    expect(ns.has('a')).toBe(false);
    expect(root.has('a')).toBe(false);
  });

  it('the loader receives the key as the caller passed it (without the prefix)', async () => {
    const root = make();
    const ns = root.namespace('users').namespace('admins');
    const keys: unknown[] = [];
    await ns.getOrSet('42', ({ key }) => {
      keys.push(key);
      return 'v';
    });
    expect(keys).toEqual(['42']);
  });

  it('clear() of a namespace removes its own entries only', () => {
    const root = make();
    const users = root.namespace('users');
    const posts = root.namespace('posts');
    root.set('r', 'R');
    users.set('1', 'U1').set('2', 'U2');
    posts.set('1', 'P1');
    users.clear();
    expect(users.has('1')).toBe(false);
    expect(users.has('2')).toBe(false);
    expect(posts.get('1')).toBe('P1');
    expect(root.get('r')).toBe('R');
    expect(root.size).toBe(2);
  });

  // Spec silent: a demanding user expects prefix matching not to spill over to a namespace whose name
  // merely starts with the same letters.
  it('clear() of namespace "a" does not touch namespace "ab" or root keys starting with "a"', () => {
    const root = make();
    const a = root.namespace('a');
    const ab = root.namespace('ab');
    a.set('1', 'a1');
    ab.set('1', 'ab1');
    root.set('a1', 'root-a1');
    root.set('a', 'root-a');
    a.clear();
    expect(ab.get('1')).toBe('ab1');
    expect(root.get('a1')).toBe('root-a1');
    expect(root.get('a')).toBe('root-a');
    expect(a.has('1')).toBe(false);
  });

  it('a name that starts another name shares no key with it: "a" key "b1" and "ab" key "1" are two entries', () => {
    const root = make();
    root.namespace('a').set('b1', 'x');
    root.namespace('ab').set('1', 'y');
    expect(root.namespace('a').get('b1')).toBe('x');
    expect(root.namespace('ab').get('1')).toBe('y');
    expect(root.size).toBe(2);
  });

  it('a ":" in a name is escaped: namespace "acme:secret" shares no entry with namespace "acme", nor is cleared by it', () => {
    const root = make();
    const acme = root.namespace('acme');
    const secret = root.namespace('acme:secret');
    secret.set('1', 'tenant acme:secret');
    expect(acme.get('secret:1')).toBeUndefined();
    acme.set('secret:1', 'tenant acme');
    expect(secret.get('1')).toBe('tenant acme:secret');
    expect(acme.get('secret:1')).toBe('tenant acme');
    expect([...root.keys()].sort()).toEqual(['acme%3Asecret:1', 'acme:secret:1']);
    expect([...secret.keys()]).toEqual(['1']);
    expect([...acme.keys()]).toEqual(['secret:1']);
    acme.clear();
    expect(secret.get('1')).toBe('tenant acme:secret');
    // '%' is escaped too, so an escaped-looking name is a name of its own.
    root.namespace('a%3Ab').set('1', 'percent');
    root.namespace('a:b').set('1', 'colon');
    expect(root.namespace('a%3Ab').get('1')).toBe('percent');
    expect(root.namespace('a:b').get('1')).toBe('colon');
    expect(root.get('a%253Ab:1')).toBe('percent');
    expect(root.get('a%3Ab:1')).toBe('colon');
  });

  it('a name without ":" or "%" prefixes exactly as before: "users" → "users:", nested "a" then "b" → "a:b:"', () => {
    const root = make();
    root.namespace('users').set('1', 'U');
    root.namespace('a').namespace('b').set('1', 'AB');
    root.namespace('tenant:42').namespace('x:y').set('1', 'T');
    expect(root.get('users:1')).toBe('U');
    expect(root.get('a:b:1')).toBe('AB');
    expect(root.get('tenant%3A42:x%3Ay:1')).toBe('T');
  });

  it('within one namespace, a key with ":" is its nested namespace’s key (documented): "a" key "b:1" = "a"→"b" key "1"', () => {
    const root = make();
    root.namespace('a').set('b:1', 'x');
    expect(root.namespace('a').namespace('b').get('1')).toBe('x');
  });

  it('property: two different top-level names never share an entry, whatever the keys', () => {
    // From a small alphabet rich in ':' and '%', with the near-collisions drawn on purpose: a name that extends the
    // other through ':' with the matching key (n1 = 'a', k1 = 'b:1'; n2 = 'a:b', k2 = '1'), and a name that is the
    // other's escaped form ('a:b' and 'a%3Ab').
    const text = (minLength: number) =>
      fc.string({ unit: fc.constantFrom('a', 'b', ':', '%', '3', 'A', '2', '5'), minLength, maxLength: 5 });
    const cases = fc.oneof(
      fc.tuple(text(1), text(1), text(0), text(0)),
      fc
        .tuple(text(1), text(0), text(0))
        .map(([name, middle, key]) => [name, `${name}:${middle}`, `${middle}:${key}`, key] as const),
      fc
        .tuple(text(1), text(0), text(0))
        .map(([name, k1, k2]) => [name, name.replaceAll(':', '%3A'), k1, k2] as const),
    );
    fc.assert(
      fc.property(cases, fc.boolean(), ([a, b, ka, kb], swap) => {
        const [n1, n2, k1, k2] = swap ? [b, a, kb, ka] : [a, b, ka, kb];
        fc.pre(n1 !== n2);
        const root = make();
        root.namespace(n1).set(k1, 'first');
        root.namespace(n2).set(k2, 'second');
        expect(root.namespace(n1).get(k1)).toBe('first');
        expect(root.namespace(n2).get(k2)).toBe('second');
        expect(root.size).toBe(2);
        root.namespace(n1).clear();
        expect(root.namespace(n2).get(k2)).toBe('second');
      }),
      { numRuns: 300 },
    );
  });

  it('refuses a key that is not a string with a TypeError naming key (its string form would collide)', async () => {
    const root = new Cache<object | string, string>({ max: 100, policy });
    const ns = root.namespace('tenant');
    for (const key of [{ user: 1 }, 1, Symbol('k'), true, 1n]) {
      expectBadInput(() => ns.get(bad(key)), /key must be a string in a namespace/);
      expectBadInput(() => ns.peek(bad(key)), /key must be a string/);
      expectBadInput(() => ns.has(bad(key)), /key must be a string/);
      expectBadInput(() => ns.set(bad(key), 'v'), /key must be a string/);
      expectBadInput(() => ns.delete(bad(key)), /key must be a string/);
      expectBadInput(() => ns.getOrSet(bad(key), () => 'v'), /key must be a string/);
      expectBadInput(() => ns.getOrSetMany(['a', bad(key)], () => new Map()), /keys\[1\] must be a string/);
    }
    expect(root.size).toBe(0);
    // The root cache keys objects by identity, as before.
    const a = { user: 1 };
    root.set(a, 'A');
    expect(root.get({ user: 1 })).toBeUndefined();
    expect(root.get(a)).toBe('A');
  });

  it('two views with the same prefix see the same entries', () => {
    const root = make();
    root.namespace('users').set('1', 'U');
    expect(root.namespace('users').get('1')).toBe('U');
  });

  it('the root clear() removes namespaced entries too', () => {
    const root = make();
    root.namespace('users').set('1', 'U');
    root.set('r', 'R');
    root.clear();
    expect(root.size).toBe(0);
    expect(root.namespace('users').has('1')).toBe(false);
  });

  it('namespaces nest; clearing an outer one clears the inner ones', () => {
    const root = make();
    const a = root.namespace('a');
    const ab = a.namespace('b');
    const ac = a.namespace('c');
    ab.set('1', 'ab1');
    ac.set('1', 'ac1');
    a.set('1', 'a1');
    root.set('1', 'r1');
    expect(ab.get('1')).toBe('ab1');
    expect(a.get('1')).toBe('a1');
    ab.clear();
    expect(ab.has('1')).toBe(false);
    expect(ac.get('1')).toBe('ac1');
    expect(a.get('1')).toBe('a1');
    a.clear();
    expect(ac.has('1')).toBe(false);
    expect(a.has('1')).toBe(false);
    expect(root.get('1')).toBe('r1');
  });

  it('shares the parent’s stats', async () => {
    const root = make();
    const ns = root.namespace('ns');
    ns.get('missing');
    ns.set('a', 'A');
    ns.get('a');
    await ns.getOrSet('b', () => 'B');
    const s = root.stats();
    expect(s.misses).toBe(2);
    expect(s.hits).toBe(1);
    expect(s.loads).toBe(1);
    expect(ns.stats().hits).toBe(s.hits);
  });

  it('reports its policy, the parent’s', () => {
    const root = new Cache<string, string>({ max: 5, policy });
    expect(root.policy).toBe(policy);
    expect(root.namespace('a').namespace('b').policy).toBe(policy);
  });

  it('shares the parent’s bounds', () => {
    const root = new Cache<string, string>({ max: 5, policy });
    const a = root.namespace('a');
    const b = root.namespace('b');
    for (let i = 0; i < 20; i++) {
      a.set(`${i}`, 'x');
      b.set(`${i}`, 'y');
      root.set(`${i}`, 'z');
      expect(root.size).toBeLessThanOrEqual(5);
    }
  });

  it('uses the parent’s ttl', () => {
    const root = new Cache<string, string>({ max: 100, ttl: 1000, policy });
    const ns = root.namespace('ns');
    ns.set('a', 'A');
    vi.advanceTimersByTime(1001);
    expect(ns.has('a')).toBe(false);
  });

  it('tags set through a namespace can be invalidated through it', () => {
    const root = make();
    const ns = root.namespace('ns');
    ns.set('a', 'A', { tags: ['t'] });
    ns.set('b', 'B', { tags: ['t'] });
    expect(ns.invalidateTag('t')).toBe(2);
    expect(root.size).toBe(0);
  });

  it('a listener added through a namespace is called for its operations', () => {
    const root = make();
    const ns = root.namespace('ns');
    const seen: unknown[] = [];
    ns.on('set', (e) => seen.push(e.key));
    ns.set('a', 'A');
    expect(seen.length).toBe(1);
  });
});

describe('namespaces and eviction order (lru)', () => {
  it('a namespace’s writes can evict the parent’s least recently used entries', () => {
    const root = new Cache<string, string>({ max: 2, policy: 'lru' });
    root.set('old', 'O');
    const ns = root.namespace('ns');
    ns.set('1', 'A');
    ns.set('2', 'B');
    expect(root.has('old')).toBe(false);
    expect(root.size).toBe(2);
    expect(root.stats().evictions).toBe(1);
  });
});

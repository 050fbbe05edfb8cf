import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Entry } from '../../src/entry.js';
import { ExpiryQueue } from '../../src/expiry-queue.js';
import { Cache } from '../../src/index.js';
import { policies } from './policies.js';

function entry(deadline: number, key: unknown = deadline): Entry<unknown> {
  return new Entry<unknown>(key, deadline, deadline, deadline, deadline, undefined, 0, key);
}

/** A full garbage collection (`gc` exposed at runtime, so the suite needs no `--expose-gc`). */
function collect(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

describe('ExpiryQueue', () => {
  it('pops in deadline order after any pushes and removals, and holds exactly the entries not removed', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 50 }), fc.boolean()), { maxLength: 200 }),
        (ops) => {
          const queue = new ExpiryQueue();
          const entries = ops.map(([deadline]) => entry(deadline));
          for (const e of entries) queue.push(e);
          const kept = entries.filter((e, i) => {
            if (ops[i]?.[1] === true) return true;
            queue.remove(e);
            return false;
          });
          expect(queue.length).toBe(kept.length);
          for (const e of entries) expect(queue.has(e)).toBe(kept.includes(e));
          const popped: number[] = [];
          for (let e = queue.pop(); e !== undefined; e = queue.pop()) popped.push(e.deadline);
          expect(popped).toEqual(kept.map((e) => e.deadline).sort((a, b) => a - b));
        },
      ),
    );
  });

  it('ignores an entry it does not hold, and a second push of one it holds', () => {
    const queue = new ExpiryQueue();
    const a = entry(1);
    const b = entry(2);
    queue.push(a);
    queue.push(a);
    queue.remove(b);
    expect(queue.length).toBe(1);
    queue.clear();
    expect(queue.has(a)).toBe(false);
    queue.remove(a);
    expect(queue.length).toBe(0);
  });
});

describe.each(policies)('the expiry queue releases entries that leave the store (%s)', (policy) => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('an evicted entry with a TTL is not kept reachable by the expiry queue (issue 15, item 14)', async () => {
    const cache = new Cache<string, { payload: number[] }>({ max: 10, ttl: '1h', policy });
    const refs = ((): WeakRef<object>[] => {
      const out: WeakRef<object>[] = [];
      for (let i = 0; i < 200; i++) {
        const value = { payload: [i] };
        out.push(new WeakRef(value));
        cache.set(`k${i}`, value);
      }
      return out;
    })();
    await new Promise((r) => setTimeout(r, 0));
    collect();
    const held = new Set([...cache.keys()].map((k) => cache.peek(k)));
    const reachable = refs.filter((r) => {
      const v = r.deref();
      return v !== undefined && !held.has(v as { payload: number[] });
    });
    expect(cache.stats().evictions).toBeGreaterThanOrEqual(190);
    expect(reachable.length).toBe(0);
    await cache.close();
  });

  it('replaced and deleted entries leave the queue; live ones still expire on time', async () => {
    // The clock is faked (Date only), so that a loaded machine cannot expire the entries early.
    vi.useFakeTimers({ toFake: ['Date'] });
    const cache = new Cache<string, { n: number }>({ max: 1000, ttl: 40, policy });
    // Filled in a function of its own, so that no variable of this (suspended) test keeps a value alive.
    const refs = ((): WeakRef<object>[] => {
      const out: WeakRef<object>[] = [];
      for (let i = 0; i < 100; i++) {
        const first = { n: i };
        out.push(new WeakRef(first));
        cache.set(`k${i}`, first, { ttl: '1h' });
        cache.set(`k${i}`, { n: -i }); // replaced: ttl 40 ms
        const other = { n: i };
        out.push(new WeakRef(other));
        cache.set(`d${i}`, other, { ttl: '1h' });
        cache.delete(`d${i}`);
      }
      return out;
    })();
    await new Promise((r) => setTimeout(r, 0));
    collect();
    expect(refs.filter((r) => r.deref() !== undefined).length).toBe(0);
    expect(cache.size).toBe(100);
    vi.setSystemTime(Date.now() + 80);
    expect(cache.size).toBe(0);
    vi.useRealTimers();
    await cache.close();
  });

  it('an entry written when many deleted entries were queued still expires (the repro of issue 15, item 12)', () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const cache = new Cache<string, number>({ max: 10_000, policy });
    for (let i = 0; i < 2000; i++) cache.set(`k${i}`, i, { ttl: '1h' });
    for (let i = 0; i < 2000; i++) cache.delete(`k${i}`);
    cache.set('short', 1, { ttl: 50 });
    vi.setSystemTime(Date.now() + 200);
    expect(cache.size).toBe(0);
    expect([...cache.keys()]).toEqual([]);
  });
});

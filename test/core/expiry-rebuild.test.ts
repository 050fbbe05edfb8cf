import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Cache } from '../../src/index.js';
import { policies } from './policies.js';

// Issue 15, item 12: an entry written at the moment the expiry queue is rebuilt must be in the rebuilt queue.
describe.each(policies)('expiry queue rebuild (%s)', (policy) => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('an entry written while the queue is rebuilt still expires on its own', () => {
    const cache = new Cache<string, number>({ max: 10_000, policy });
    for (let i = 0; i < 2000; i++) cache.set(`k${i}`, i, { ttl: '1h' });
    for (let i = 0; i < 2000; i++) cache.delete(`k${i}`);
    // 2,000 dead entries queued for 0 stored: this write triggers the rebuild.
    cache.set('short', 1, { ttl: 50 });
    expect(cache.size).toBe(1);
    vi.advanceTimersByTime(200);
    expect(cache.size).toBe(0);
    expect([...cache.keys()]).toEqual([]);
    expect(cache.stats().expirations).toBe(1);
  });

  it('an entry with tags written during a rebuild expires too', () => {
    const cache = new Cache<string, number>({ max: 10_000, policy });
    for (let i = 0; i < 2000; i++) cache.set(`k${i}`, i, { ttl: '1h' });
    cache.clear();
    for (let i = 0; i < 1100; i++) cache.set(`j${i}`, i, { ttl: '1h' });
    for (let i = 0; i < 1100; i++) cache.delete(`j${i}`);
    cache.set('short', 1, { ttl: 50, tags: ['t'] });
    vi.advanceTimersByTime(200);
    expect(cache.size).toBe(0);
  });
});

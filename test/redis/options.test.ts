/**
 * Options of larder/redis: typos and bad values are a TypeError/RangeError naming the option, also in
 * createCache's `redis` block when no URL is set (so they fail on a laptop, not first in production).
 * No Redis needed: the clients are made with lazyConnect and never connect.
 */
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createCache, redisBus, redisTier } from '../../src/redis/index.js';
import { thrown } from '../helpers/thrown.js';

const client = new Redis({ lazyConnect: true, enableOfflineQueue: false });
afterAll(() => client.disconnect());

describe('redisTier options', () => {
  it('refuses unknown option names (a typo would fall back to the shared default prefix), naming them', () => {
    const error = thrown(() => redisTier(client, { prefx: 'app:' } as never));
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toMatch(/redisTier: options: unknown option "prefx"/);
    expect(error.message).toMatch(
      /known: prefix, serializer, timeout, tombstoneTtl, maxPending, closeClient/,
    );
    expect(() => redisTier(client, { prefix: 'a:', serialiser: {} } as never)).toThrow(/"serialiser"/);
  });

  it('refuses bad values, naming the option', () => {
    expect(() => redisTier(client, null as never)).toThrow(TypeError);
    expect(() => redisTier(client, [] as never)).toThrow(/redisTier: options must be an object/);
    expect(() => redisTier(client, { prefix: '' })).toThrow(/redisTier: prefix/);
    expect(() => redisTier(client, { serializer: { serialize: JSON.stringify } as never })).toThrow(
      /redisTier: serializer must have serialize\(value\) and deserialize\(text\)/,
    );
    expect(() => redisTier(client, { timeout: -1 })).toThrow(/redisTier: timeout/);
    expect(() => redisTier(client, { maxPending: 0 })).toThrow(/redisTier: maxPending/);
    expect(() => redisTier(client, { closeClient: 'yes' as never })).toThrow(
      /redisTier: closeClient must be a boolean/,
    );
  });

  it('refuses a timeout longer than a timer can wait, and a tombstoneTtl longer than Redis can expire, naming them', () => {
    // A longer timer fires after 1 ms (every call would time out at once); Redis refuses a PX it cannot add to
    // its clock (every delete would fail).
    for (const timeout of ['30d', 2 ** 31, '24.9d'] as const) {
      const error = thrown(() => redisTier(client, { timeout }));
      expect(error).toBeInstanceOf(RangeError);
      expect(error.message).toMatch(/^redisTier: timeout must be at most 2147483647 ms \(about 24\.8 days\)/);
    }
    for (const tombstoneTtl of [1e20, 2 ** 53, '200000000d'] as const) {
      const error = thrown(() => redisTier(client, { tombstoneTtl }));
      expect(error).toBeInstanceOf(RangeError);
      expect(error.message).toMatch(/^redisTier: tombstoneTtl must be at most 9007199254740991 ms/);
    }
  });

  it('accepts the longest timeout and tombstoneTtl', async () => {
    await redisTier(client, { timeout: 2 ** 31 - 1, tombstoneTtl: Number.MAX_SAFE_INTEGER }).close();
    await redisTier(client, { timeout: '24d', tombstoneTtl: '100000d' }).close();
  });

  it('accepts every documented option', async () => {
    const tier = redisTier(client, {
      prefix: 'a:',
      serializer: { serialize: JSON.stringify, deserialize: JSON.parse },
      timeout: '100ms',
      tombstoneTtl: '30s',
      maxPending: 5,
      closeClient: false,
    });
    await tier.close();
  });
});

describe('redisBus options', () => {
  it('refuses unknown option names, naming them', () => {
    const error = thrown(() => redisBus(client, { prefx: 'app:' } as never));
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toMatch(/redisBus: options: unknown option "prefx"/);
    expect(() => redisBus(client, { chanel: 'x' } as never)).toThrow(/"chanel"/);
  });

  it('refuses bad values, naming the option', () => {
    expect(() => redisBus(client, null as never)).toThrow(TypeError);
    expect(() => redisBus(client, { channel: '' })).toThrow(/redisBus: channel/);
    expect(() => redisBus(client, { reconnectDelay: 'soon' as never })).toThrow(/redisBus: reconnectDelay/);
  });

  it('refuses a timeout, reconnectDelay or heartbeat longer than a timer can wait, naming it', () => {
    for (const option of ['timeout', 'reconnectDelay', 'heartbeat'] as const) {
      for (const value of ['30d', 2 ** 31] as const) {
        const error = thrown(() => redisBus(client, { [option]: value }));
        expect(error).toBeInstanceOf(RangeError);
        expect(error.message).toMatch(
          new RegExp(`^redisBus: ${option} must be at most 2147483647 ms \\(about 24\\.8 days\\)`),
        );
      }
    }
  });

  it('accepts the longest timeout, reconnectDelay and heartbeat', async () => {
    const max = 2 ** 31 - 1;
    await redisBus(client, { timeout: max, reconnectDelay: max, heartbeat: max }).close();
  });

  it('accepts every documented option', async () => {
    const bus = redisBus(client, {
      prefix: 'a:',
      channel: 'c',
      timeout: 100,
      maxPending: 3,
      reconnectDelay: '1s',
    });
    await bus.close();
  });
});

describe("createCache's redis block without a URL", () => {
  const bad: [string, Record<string, unknown>, RegExp][] = [
    ['a typo', { prefx: 'app:' }, /createCache: unknown option redis\.prefx/],
    ['an empty prefix', { prefix: '' }, /createCache: redis\.prefix/],
    ['a prefix that is not a string', { prefix: 5 }, /createCache: redis\.prefix/],
    [
      'a serializer without deserialize',
      { serializer: { serialize: String } },
      /createCache: redis\.serializer/,
    ],
    ['a negative timeout', { timeout: -5 }, /createCache: redis\.timeout/],
    ['an unreadable tombstoneTtl', { tombstoneTtl: 'forever' }, /createCache: redis\.tombstoneTtl/],
    ['a zero reconnectDelay', { reconnectDelay: 0 }, /createCache: redis\.reconnectDelay/],
    [
      'a timeout longer than a timer',
      { timeout: '30d' },
      /createCache: redis\.timeout must be at most 2147483647 ms/,
    ],
    [
      'a reconnectDelay longer than a timer',
      { reconnectDelay: 2 ** 31 },
      /createCache: redis\.reconnectDelay must be at most 2147483647 ms/,
    ],
    [
      'a tombstoneTtl longer than Redis can expire',
      { tombstoneTtl: 1e20 },
      /createCache: redis\.tombstoneTtl must be at most 9007199254740991 ms/,
    ],
    [
      'client options that are not an object',
      { client: 'tls' },
      /createCache: redis\.client must be an object/,
    ],
    ["ioredis's keyPrefix", { client: { keyPrefix: 'x:' } }, /createCache: redis\.client\.keyPrefix/],
  ];

  for (const [what, redis, message] of bad) {
    it(`refuses ${what}, with redisUrl unset, empty or blank`, () => {
      for (const redisUrl of [undefined, '', ' ']) {
        const error = thrown(() => createCache({ redisUrl, max: 10, redis: redis as never }));
        expect(error instanceof TypeError || error instanceof RangeError).toBe(true);
        expect(error.message).toMatch(message);
      }
    });
  }

  it('still makes a memory-only cache from a good redis block', async () => {
    const cache = createCache<string, number>({
      max: 10,
      redis: {
        prefix: 'a:',
        timeout: '100ms',
        tombstoneTtl: '1m',
        reconnectDelay: '2s',
        serializer: { serialize: JSON.stringify, deserialize: JSON.parse },
        client: { connectionName: 'x' },
      },
    });
    cache.set('k', 1);
    expect(cache.get('k')).toBe(1);
    await cache.close();
  });
});

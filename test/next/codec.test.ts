import { describe, expect, it } from 'vitest';
import { freeze, nextSerializer, StreamBytes, thaw } from '../../src/next/codec.js';

describe('larder/next codec', () => {
  it('round-trips Buffer, Uint8Array, Map, Set, Date, non-finite numbers and undefined in arrays', () => {
    const value = {
      buf: Buffer.from([0, 255, 1]),
      u8: new Uint8Array([7, 8]),
      map: new Map<string, unknown>([
        ['/a', Buffer.from('a')],
        ['/b', new Map([['x', 1]])],
      ]),
      set: new Set(['s']),
      date: new Date(1700000000000),
      nums: [Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.NaN, undefined, null],
      nested: { html: '<p>é</p>', obj: { a: [1, 'two'] } },
    };
    const back = nextSerializer.deserialize(nextSerializer.serialize(value)) as typeof value;
    expect(Buffer.isBuffer(back.buf)).toBe(true);
    expect([...back.buf]).toEqual([0, 255, 1]);
    expect(back.u8).toBeInstanceOf(Uint8Array);
    expect(Buffer.isBuffer(back.u8)).toBe(false);
    expect(back.map).toBeInstanceOf(Map);
    expect((back.map.get('/a') as Buffer).toString()).toBe('a');
    expect((back.map.get('/b') as Map<string, number>).get('x')).toBe(1);
    expect(back.set).toEqual(new Set(['s']));
    expect(back.date.getTime()).toBe(1700000000000);
    expect(back.nums[0]).toBe(Number.POSITIVE_INFINITY);
    expect(back.nums[1]).toBe(Number.NEGATIVE_INFINITY);
    expect(back.nums[2]).toBeNaN();
    expect(back.nums.length).toBe(5);
    expect(back.nums[3]).toBeUndefined();
    expect(back.nums[4]).toBeNull();
    expect(back.nested).toEqual(value.nested);
  });

  it('refuses values it cannot restore, naming the type', () => {
    expect(() => nextSerializer.serialize({ f: () => 1 })).toThrow(TypeError);
    expect(() => nextSerializer.serialize({ a: new Float64Array(2) })).toThrow(/Float64Array/);
  });

  it('stores streams as bytes and gives a new stream on every thaw', async () => {
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new TextEncoder().encode('ab'));
        c.enqueue(new TextEncoder().encode('c'));
        c.close();
      },
    });
    const { value, streams } = await freeze({ body: stream, keep: Buffer.from('k') });
    expect(streams).toBe(true);
    expect((value as { body: unknown }).body).toBeInstanceOf(StreamBytes);
    const back = nextSerializer.deserialize(nextSerializer.serialize(value));
    for (let i = 0; i < 2; i++) {
      const thawed = thaw(back) as { body: ReadableStream<Uint8Array>; keep: Buffer };
      expect(await new Response(thawed.body).text()).toBe('abc');
      expect(thawed.keep.toString()).toBe('k');
    }
    const plain = { a: 1 };
    expect((await freeze(plain)).value).toBe(plain);
  });
});

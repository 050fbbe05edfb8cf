import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createCache, type RedisBus, redisBus } from '../../src/redis/index.js';
import type { BusHandlers, BusMessage } from '../../src/tier.js';
import { deleteKeys, redisForTests, uniquePrefix, waitFor } from '../helpers/redis-server.js';

const url = await redisForTests('larder/redis bus tests');

/** Records what a bus delivers. */
class Recorder implements BusHandlers {
  readonly messages: BusMessage[] = [];
  readonly resyncs: number[] = [];
  readonly errors: unknown[] = [];
  message(message: BusMessage): void {
    this.messages.push(message);
  }
  resync(since: number): void {
    this.resyncs.push(since);
  }
  error(error: unknown): void {
    this.errors.push(error);
  }
}

function connect(extra: Record<string, unknown> = {}): Promise<Redis> {
  const client = new Redis(url as string, { enableOfflineQueue: false, lazyConnect: true, ...extra });
  client.on('error', () => {});
  return client.connect().then(() => client);
}

describe.runIf(url)('redisBus against a real Redis', () => {
  const clients: Redis[] = [];
  const buses: RedisBus[] = [];
  let admin: Redis;
  let prefix: string;

  let n = 0;
  async function instance(options: Parameters<typeof redisBus>[1] = {}, clientOptions = {}) {
    const name = `${prefix.replace(/[^\w-]/g, '_')}${n++}`;
    const client = await connect({ connectionName: name, ...clientOptions });
    clients.push(client);
    const bus = redisBus(client, { prefix, ...options });
    buses.push(bus);
    const recorder = new Recorder();
    bus.start(recorder);
    await waitFor(() => bus.stats().subscribed);
    return { client, bus, recorder, name };
  }

  beforeAll(async () => {
    admin = await connect();
  });
  afterAll(async () => {
    await admin.quit();
  });
  beforeEach(() => {
    prefix = uniquePrefix('bus');
  });
  afterEach(async () => {
    for (const bus of buses.splice(0)) await bus.close();
    for (const client of clients.splice(0)) client.disconnect();
  });

  it('delivers delete, tags and clear messages to the other instances, not to the sender', async () => {
    const a = await instance();
    const b = await instance();
    const c = await instance();
    const sent: BusMessage[] = [
      { type: 'delete', keys: ['k1', 'k2'] },
      { type: 'tags', tags: ['users'] },
      { type: 'clear', prefix: 'ns:' },
      { type: 'clear', prefix: '' },
    ];
    for (const m of sent) a.bus.publish(m);
    await waitFor(() => b.recorder.messages.length === 4 && c.recorder.messages.length === 4);
    expect(b.recorder.messages).toEqual(sent);
    expect(c.recorder.messages).toEqual(sent);
    await new Promise((r) => setTimeout(r, 20));
    expect(a.recorder.messages).toEqual([]);
    expect(a.bus.stats()).toMatchObject({ sent: 4, received: 0 });
    expect(b.bus.stats()).toMatchObject({ sent: 0, received: 4 });
    expect(a.bus.id).not.toBe(b.bus.id);
  });

  it('carries keys and tags of any content intact', async () => {
    const a = await instance();
    const b = await instance();
    const keys = [
      '',
      'a b',
      'line\nbreak',
      '"}{"',
      '\\',
      'a\uD800',
      '\uDC00',
      '😀',
      'ключ',
      `${'L1'}${a.bus.id}`,
      'x'.repeat(10_000),
    ];
    a.bus.publish({ type: 'delete', keys });
    a.bus.publish({ type: 'tags', tags: keys });
    a.bus.publish({ type: 'clear', prefix: 'ns\uD800:' });
    await waitFor(() => b.recorder.messages.length === 3);
    expect(b.recorder.messages).toEqual([
      { type: 'delete', keys },
      { type: 'tags', tags: keys },
      { type: 'clear', prefix: 'ns\uD800:' },
    ]);
  });

  it('does not hear instances on another channel', async () => {
    const a = await instance();
    const other = await instance({ channel: `${prefix}other` });
    a.bus.publish({ type: 'delete', keys: ['k'] });
    const b = await instance();
    a.bus.publish({ type: 'delete', keys: ['k2'] });
    await waitFor(() => b.recorder.messages.length === 1);
    await new Promise((r) => setTimeout(r, 20));
    expect(other.recorder.messages).toEqual([]);
  });

  /** What a plain subscriber hears on each of `channels` while `run` runs (and a little after). */
  async function overheard(channels: string[], run: () => Promise<void>): Promise<Map<string, string[]>> {
    const heard = new Map(channels.map((c) => [c, [] as string[]]));
    const listener = await connect();
    clients.push(listener);
    listener.on('message', (channel: string, text: string) => heard.get(channel)?.push(text));
    await listener.subscribe(...channels);
    await run();
    await new Promise((r) => setTimeout(r, 100));
    return heard;
  }

  it('on database 0 (the default, or "/0"), keeps the channel <prefix>bus that earlier versions use', async () => {
    const heard = await overheard([`${prefix}bus`, `${prefix}bus:db0`], async () => {
      const a = await instance();
      const zero = await instance({}, { db: 0 });
      a.bus.publish({ type: 'delete', keys: ['k'] });
      zero.bus.publish({ type: 'delete', keys: ['k0'] });
      // An instance on database 0 made from a "/0" URL hears both.
      const client = new Redis(`${url as string}/0`, { enableOfflineQueue: false });
      clients.push(client);
      client.on('error', () => {});
      const fromUrl = redisBus(client, { prefix });
      buses.push(fromUrl);
      const recorder = new Recorder();
      fromUrl.start(recorder);
      await waitFor(() => fromUrl.stats().subscribed);
      a.bus.publish({ type: 'delete', keys: ['k2'] });
      await waitFor(() => recorder.messages.length === 1);
    });
    expect(heard.get(`${prefix}bus`)).toHaveLength(3);
    expect(heard.get(`${prefix}bus:db0`)).toEqual([]);
  });

  it('on database N > 0, uses <prefix>bus:db<N>: instances on other databases of the same Redis never hear its keys', async () => {
    let one1: Awaited<ReturnType<typeof instance>> | undefined;
    let one2: Awaited<ReturnType<typeof instance>> | undefined;
    let two: Awaited<ReturnType<typeof instance>> | undefined;
    let zero: Awaited<ReturnType<typeof instance>> | undefined;
    const channels = [`${prefix}bus`, `${prefix}bus:db1`, `${prefix}bus:db2`];
    const heard = await overheard(channels, async () => {
      one1 = await instance({}, { db: 1 });
      one2 = await instance({}, { db: 1 });
      two = await instance({}, { db: 2 });
      zero = await instance();
      one1.bus.publish({ type: 'delete', keys: ['alice@example.com'] });
      two.bus.publish({ type: 'tags', tags: ['db2'] });
      zero.bus.publish({ type: 'clear', prefix: '' });
      await waitFor(() => one2?.recorder.messages.length === 1);
    });
    // Each database's instances hear their own database's messages only.
    expect(one2?.recorder.messages).toEqual([{ type: 'delete', keys: ['alice@example.com'] }]);
    expect(two?.recorder.messages).toEqual([]);
    expect(zero?.recorder.messages).toEqual([]);
    expect(one1?.recorder.messages).toEqual([]);
    expect(heard.get(`${prefix}bus`)).toHaveLength(1);
    expect(heard.get(`${prefix}bus:db1`)).toHaveLength(1);
    expect(heard.get(`${prefix}bus:db1`)?.[0]).toContain('alice@example.com');
    expect(heard.get(`${prefix}bus:db2`)).toHaveLength(1);
    expect(heard.get(`${prefix}bus:db2`)?.[0]).not.toContain('alice@example.com');
  });

  it('uses a channel given explicitly as it is, whatever the database', async () => {
    const channel = `${prefix}shared`;
    const heard = await overheard([channel, `${channel}:db3`, `${prefix}bus:db3`], async () => {
      const three = await instance({ channel }, { db: 3 });
      const zero = await instance({ channel });
      three.bus.publish({ type: 'delete', keys: ['k'] });
      await waitFor(() => zero.recorder.messages.length === 1);
    });
    expect(heard.get(channel)).toHaveLength(1);
    expect(heard.get(`${channel}:db3`)).toEqual([]);
    expect(heard.get(`${prefix}bus:db3`)).toEqual([]);
  });

  it("createCache on databases 1 and 2 of one Redis: a delete on one never drops the other's entry", async () => {
    const a = createCache<string, string>({ redisUrl: `${url as string}/1`, max: 100, redis: { prefix } });
    const b = createCache<string, string>({ redisUrl: `${url as string}/2`, max: 100, redis: { prefix } });
    const a2 = createCache<string, string>({ redisUrl: `${url as string}/1`, max: 100, redis: { prefix } });
    const dbs = [1, 2].map((db) => new Redis(url as string, { db }));
    try {
      for (const c of [a, b, a2]) c.on('error', () => {});
      await waitFor(() => [a, b, a2].every((c) => c.stats().busMessages >= 1));
      const removed: string[] = [];
      b.on('delete', (e) => removed.push(e.key));
      const key = 'user:{"email":"alice@example.com"}';
      b.set(key, 'db2 value');
      a2.set(key, 'db1 value');
      await waitFor(async () => (await dbs[0]?.exists(`${prefix}v:${key}`)) === 1);
      await waitFor(async () => (await dbs[1]?.exists(`${prefix}v:${key}`)) === 1);
      a.delete(key);
      // The delete reaches the instance on the same database...
      await waitFor(() => !a2.has(key));
      await new Promise((r) => setTimeout(r, 100));
      // ...and neither the entry nor the key name reach the instance on database 2.
      expect(removed).toEqual([]);
      expect(b.get(key)).toBe('db2 value');
      expect(await dbs[1]?.exists(`${prefix}v:${key}`)).toBe(1);
    } finally {
      await Promise.all([a.close(), b.close(), a2.close()]);
      for (const db of dbs) {
        await deleteKeys(db, prefix);
        db.disconnect();
      }
    }
  });

  it('reports a foreign or malformed message as an error and carries on', async () => {
    const b = await instance();
    const channel = `${prefix}bus`;
    await admin.publish(channel, 'hello');
    await admin.publish(channel, `L1${'x'.repeat(36)}{"type":"delete","keys":[1]}`);
    await admin.publish(channel, `L1${'x'.repeat(36)}{"type":"nope"}`);
    await admin.publish(channel, `L1${'x'.repeat(36)}not json`);
    await admin.publish(channel, `L1${'x'.repeat(36)}{"type":"delete","keys":["ok"]}`);
    await waitFor(() => b.recorder.messages.length === 1);
    expect(b.recorder.messages).toEqual([{ type: 'delete', keys: ['ok'] }]);
    expect(b.recorder.errors).toHaveLength(4);
    expect(b.recorder.errors.every((e) => (e as { code?: string }).code === 'decode')).toBe(true);
  });

  it('resyncs when it subscribes, and again after losing the subscription, with the time it is back', async () => {
    const b = await instance({ reconnectDelay: 50 });
    expect(b.recorder.resyncs).toHaveLength(1);
    const list = String(await admin.client('LIST'));
    const ids = list
      .split('\n')
      .filter((line) => line.includes(`name=${b.name}-bus `))
      .map((line) => /id=(\d+)/.exec(line)?.[1]);
    expect(ids.length).toBeGreaterThan(0);
    const killedAt = Date.now();
    for (const id of ids) await admin.client('KILL', 'ID', String(id));
    await waitFor(() => b.recorder.resyncs.length === 2);
    expect(b.recorder.resyncs[1]).toBeGreaterThanOrEqual(killedAt);
    expect(b.recorder.errors).toHaveLength(1);
    expect(b.bus.stats()).toMatchObject({ resyncs: 2, subscribed: true });
    // And it hears messages again.
    const a = await instance();
    a.bus.publish({ type: 'delete', keys: ['after'] });
    await waitFor(() => b.recorder.messages.length === 1);
  });

  it('reports a lost subscription even when a failed publish was reported just before', async () => {
    const a = await instance({ reconnectDelay: 50 }, { retryStrategy: () => 200 });
    await admin.client('KILL', 'ID', String(await a.client.client('ID')));
    await waitFor(() => a.client.status !== 'ready');
    a.bus.publish({ type: 'delete', keys: ['during outage'] });
    expect(a.recorder.errors).toHaveLength(1);
    // The subscriber's connection drops too, before the client is back (its retry waits 200 ms).
    const list = String(await admin.client('LIST'));
    for (const line of list.split('\n').filter((l) => l.includes(`name=${a.name}-bus `))) {
      await admin.client('KILL', 'ID', String(/id=(\d+)/.exec(line)?.[1]));
    }
    await waitFor(() => !a.bus.stats().subscribed);
    await waitFor(() => a.recorder.errors.length === 2);
    expect(String(a.recorder.errors[1])).toMatch(/lost the Redis subscription/);
  });

  it('queues messages it cannot publish and sends them when its client is back', async () => {
    const a = await instance({}, { retryStrategy: () => 200 });
    const b = await instance();
    await admin.client('KILL', 'ID', String(await a.client.client('ID')));
    await waitFor(() => a.client.status !== 'ready');
    a.bus.publish({ type: 'delete', keys: ['during outage'] });
    a.bus.publish({ type: 'tags', tags: ['t'] });
    expect(a.bus.stats().pending).toBe(2);
    expect(a.recorder.errors).toHaveLength(1);
    await waitFor(() => b.recorder.messages.length === 2, 5000);
    expect(b.recorder.messages).toEqual([
      { type: 'delete', keys: ['during outage'] },
      { type: 'tags', tags: ['t'] },
    ]);
    expect(a.bus.stats().pending).toBe(0);
  });

  it('sends one "clear everything" instead of a queue that overflowed', async () => {
    const a = await instance({ maxPending: 2 }, { retryStrategy: () => 200 });
    const b = await instance();
    await admin.client('KILL', 'ID', String(await a.client.client('ID')));
    await waitFor(() => a.client.status !== 'ready');
    for (let i = 0; i < 5; i++) a.bus.publish({ type: 'delete', keys: [`k${i}`] });
    await waitFor(() => b.recorder.messages.length === 1, 5000);
    expect(b.recorder.messages).toEqual([{ type: 'clear', prefix: '' }]);
  });

  it('closes its own subscriber connection, never the client it was given', async () => {
    const a = await instance();
    const subscribers = async () =>
      String(await admin.client('LIST'))
        .split('\n')
        .filter((line) => line.includes(`name=${a.name}-bus `)).length;
    expect(await subscribers()).toBe(1);
    await a.bus.close();
    await waitFor(async () => (await subscribers()) === 0);
    expect(a.client.status).toBe('ready');
    a.bus.publish({ type: 'delete', keys: ['ignored after close'] });
    await a.bus.close();
  });

  it('refuses a second start and bad options', async () => {
    const a = await instance();
    expect(() => a.bus.start(new Recorder())).toThrow(/start\(\) was called twice/);
    expect(() => redisBus(a.client, { prefix: '' })).toThrow(/redisBus: prefix/);
    expect(() => redisBus(a.client, { channel: '' })).toThrow(/redisBus: channel/);
    expect(() => redisBus(a.client, { timeout: 0 })).toThrow(/redisBus: timeout/);
    expect(() => redisBus(a.client, { maxPending: 1.5 })).toThrow(/redisBus: maxPending/);
    expect(() => redisBus(null as unknown as Redis)).toThrow(/redisBus: client/);
  });
});

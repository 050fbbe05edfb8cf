/**
 * A subscriber connection that opens (TCP) but never becomes ready (its ready check, INFO, gets no answer: a
 * frozen Redis whose kernel still accepts connections, or a connection a balancer accepted and lost) is a hang
 * too: the heartbeat's deadline applies to the attempt to connect, so the bus reconnects (standalone) or moves
 * to another master (cluster) instead of staying unsubscribed for as long as the hang lasts.
 *
 * The clients are made as an application would (no commandTimeout, ioredis's default connectTimeout, which stops
 * at the TCP connect), with private redis-servers.
 */
import { EventEmitter } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { redisBus } from '../../src/redis/index.js';
import { hasRedisServerBinary, RedisServer, waitFor } from '../helpers/redis-server.js';

const canRun = hasRedisServerBinary('larder/redis bus hung-connect tests');

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A TCP proxy to a Redis; while `mute`, it accepts connections and never forwards anything on them. */
class MuteProxy {
  mute = false;
  port = 0;
  readonly #sockets = new Set<Socket>();
  #server: Server | undefined;

  async start(target: number): Promise<void> {
    const server = createServer((client) => {
      this.#sockets.add(client);
      client.on('error', () => {});
      client.on('close', () => this.#sockets.delete(client));
      if (this.mute) return; // accepted, never answered
      const upstream = connect(target, '127.0.0.1');
      this.#sockets.add(upstream);
      upstream.on('error', () => client.destroy());
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => {
        this.#sockets.delete(upstream);
        client.destroy();
      });
      client.pipe(upstream);
      upstream.pipe(client);
    });
    this.#server = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    this.port = typeof address === 'object' && address !== null ? address.port : 0;
  }

  /** Cuts every connection open now (a network blip). */
  cut(): void {
    for (const s of this.#sockets) s.destroy();
  }

  async stop(): Promise<void> {
    this.cut();
    await new Promise((resolve) => this.#server?.close(resolve));
  }
}

describe.runIf(canRun)('redisBus: a subscriber connection that never becomes ready counts as hung', () => {
  const servers: RedisServer[] = [];
  const clients: Redis[] = [];
  const proxies: MuteProxy[] = [];
  afterEach(async () => {
    for (const s of servers) s.resume();
    for (const c of clients.splice(0)) c.disconnect();
    for (const p of proxies.splice(0)) await p.stop();
    for (const s of servers.splice(0)) await s.stop();
  });

  it('standalone: a reconnect stuck in the ready check is replaced, and the bus resubscribes and resyncs', async () => {
    const server = await RedisServer.start();
    servers.push(server);
    const proxy = new MuteProxy();
    proxies.push(proxy);
    await proxy.start(server.port);
    const client = new Redis(`redis://127.0.0.1:${proxy.port}`, { enableOfflineQueue: false });
    client.on('error', () => {});
    clients.push(client);
    const bus = redisBus(client, {
      prefix: 'larder-test:hung-connect:',
      heartbeat: 300,
      reconnectDelay: 100,
    });
    let resyncs = 0;
    const errors: unknown[] = [];
    bus.start({ message: () => {}, resync: () => resyncs++, error: (e) => errors.push(e) });
    try {
      await waitFor(() => bus.stats().subscribed, 5000);
      expect(resyncs).toBe(1);
      // The connection drops; its reconnect is accepted and never answered.
      proxy.mute = true;
      proxy.cut();
      await waitFor(() => !bus.stats().subscribed, 2000);
      await sleep(600);
      // New connections work again; the one accepted while muted stays silent for good.
      proxy.mute = false;
      await waitFor(() => bus.stats().subscribed, 5000);
      expect(resyncs).toBe(2);
      expect(errors.length).toBeGreaterThan(0);
    } finally {
      await bus.close();
    }
  });

  it('cluster: a reopen on a frozen master that the cluster still lists moves to another master once it is gone', async () => {
    const a = await RedisServer.start();
    const b = await RedisServer.start();
    servers.push(a, b);
    // Node connections as `new Cluster(nodes, { enableOfflineQueue: false })` makes them (no commandTimeout); a
    // short disconnectTimeout so that the subscriber on the frozen master ends (and is reopened) quickly.
    const nodeA = new Redis(a.url, { enableOfflineQueue: false, disconnectTimeout: 200 });
    const nodeB = new Redis(b.url, { enableOfflineQueue: false, disconnectTimeout: 200 });
    clients.push(nodeA, nodeB);
    nodeA.on('error', () => {});
    nodeB.on('error', () => {});
    await waitFor(() => nodeA.status === 'ready' && nodeB.status === 'ready');
    // The shape of an ioredis Cluster (isCluster, nodes(), options.redisOptions), so that the master the bus
    // picks is known: a real cluster keeps listing a frozen master until it fails over, as this one does.
    let masters: Redis[] = [nodeA];
    const cluster = Object.assign(new EventEmitter(), {
      isCluster: true,
      status: 'ready',
      options: { redisOptions: {} },
      nodes: () => masters,
      evalsha: () => Promise.resolve(),
      duplicate: () => {
        throw new Error('unused');
      },
      publish: (channel: string, text: string) => nodeB.publish(channel, text),
    });
    const bus = redisBus(cluster as never, {
      prefix: 'larder-test:hung-connect:',
      heartbeat: 300,
      reconnectDelay: 100,
    });
    let resyncs = 0;
    bus.start({ message: () => {}, resync: () => resyncs++, error: () => {} });
    try {
      await waitFor(() => bus.stats().subscribed, 5000);
      expect(resyncs).toBe(1);
      a.pause(); // the subscriber's master freezes; the cluster still lists it
      await waitFor(() => !bus.stats().subscribed, 3000); // the heartbeat noticed
      await sleep(1000); // the subscriber was reopened on A (the only master listed), which accepts and never answers
      masters = [nodeB]; // the cluster failed over
      await waitFor(() => bus.stats().subscribed, 5000);
      expect(resyncs).toBe(2);
    } finally {
      const closing = bus.close();
      a.resume();
      await closing;
    }
  });
});

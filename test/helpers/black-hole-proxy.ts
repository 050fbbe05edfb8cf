/** Test helper: a TCP proxy that can turn the connections through it into half-open ones. */
/**
 * A TCP proxy in front of a Redis whose existing connections can be turned into black holes (nothing forwarded
 * either way, nothing closed: a half-open connection after a network partition), while new connections work.
 */
export class BlackHoleProxy {
  readonly #sockets = new Set<import('node:net').Socket>();
  readonly #all = new Set<import('node:net').Socket>();
  #server: import('node:net').Server | undefined;
  port = 0;

  async start(target: number): Promise<void> {
    const net = await import('node:net');
    this.#server = net.createServer((client) => {
      const upstream = net.connect(target, '127.0.0.1');
      for (const s of [client, upstream]) {
        this.#sockets.add(s);
        this.#all.add(s);
      }
      client.pipe(upstream);
      upstream.pipe(client);
      const end = () => {
        client.destroy();
        upstream.destroy();
        this.#sockets.delete(client);
        this.#sockets.delete(upstream);
      };
      client.on('error', end);
      upstream.on('error', end);
      client.on('close', end);
      upstream.on('close', end);
    });
    await new Promise<void>((resolve) => this.#server?.listen(0, '127.0.0.1', resolve));
    const address = this.#server.address();
    this.port = typeof address === 'object' && address !== null ? address.port : 0;
  }

  /** Every connection open now stops forwarding, without closing. */
  blackHole(): void {
    for (const s of this.#sockets) {
      s.unpipe();
      s.pause();
      s.removeAllListeners('data');
    }
    this.#sockets.clear();
  }

  async stop(): Promise<void> {
    for (const s of this.#all) s.destroy();
    await new Promise((resolve) => this.#server?.close(resolve));
  }
}

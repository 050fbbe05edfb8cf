/**
 * Test helpers for larder/next outages: a TCP proxy in front of a Redis that can be cut (every connection
 * destroyed, new ones refused) and restored on the same port, or slowed down; and the runtime behind a scope.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { Runtime } from '../../src/next/runtime.js';

export class OutageProxy {
  #server: Server | undefined;
  readonly #sockets = new Set<Socket>();
  port = 0;
  /** Delay of every chunk, each way (ms): a slow or distant Redis. */
  delayMs = 0;

  constructor(
    readonly targetHost: string,
    readonly targetPort: number,
  ) {}

  async start(port = 0): Promise<void> {
    const server = createServer((client) => {
      const upstream = connect(this.targetPort, this.targetHost);
      this.#sockets.add(client);
      this.#sockets.add(upstream);
      const pipe = (from: Socket, to: Socket) =>
        from.on('data', (chunk) => {
          if (this.delayMs > 0) setTimeout(() => to.writable && to.write(chunk), this.delayMs);
          else if (to.writable) to.write(chunk);
        });
      pipe(client, upstream);
      pipe(upstream, client);
      const close = () => {
        client.destroy();
        upstream.destroy();
        this.#sockets.delete(client);
        this.#sockets.delete(upstream);
      };
      for (const s of [client, upstream]) s.on('close', close).on('error', close);
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', () => resolve()));
    this.#server = server;
    this.port = (server.address() as { port: number }).port;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Redis becomes unreachable: open connections are destroyed, new ones refused. */
  async cut(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    for (const s of this.#sockets) s.destroy();
    this.#sockets.clear();
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Redis is reachable again, on the same port. */
  async restore(): Promise<void> {
    await this.start(this.port);
  }
}

/** The runtime of the handlers created in `withScope(scope, …)` (to wait for a resync). */
export function runtimeOf(scope: string): Runtime {
  const registry = (globalThis as unknown as Record<symbol, Map<string, unknown>>)[
    Symbol.for('larder.singletons')
  ];
  for (const [name, value] of registry ?? []) {
    if (name.startsWith(`larder/next:${scope}|`)) return value as Runtime;
  }
  throw new Error(`no larder/next runtime in scope ${scope}`);
}

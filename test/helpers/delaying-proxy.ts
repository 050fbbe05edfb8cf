/** A TCP proxy in front of a local Redis that delays one direction of the traffic. */
import net, { type AddressInfo, type Server, type Socket } from 'node:net';

/** A running {@link delayingProxy}. */
export interface DelayingProxy {
  /** The port to connect to instead of the target's. */
  readonly port: number;
  /** Closes every connection and the server. */
  close(): Promise<void>;
}

/**
 * A proxy to `127.0.0.1:<target>` that holds each chunk going one way for `delay` ms (in order) before it forwards
 * it: `'requests'` (client to server: commands reach Redis late) or `'replies'` (server to client: commands reach
 * Redis at once, their answers arrive late). The other direction is piped as it comes.
 */
export async function delayingProxy(
  target: number,
  delay: number,
  direction: 'requests' | 'replies' = 'requests',
): Promise<DelayingProxy> {
  const sockets = new Set<Socket>();
  const server: Server = net.createServer((client) => {
    const upstream = net.connect(target, '127.0.0.1');
    sockets.add(client);
    sockets.add(upstream);
    const [from, to] = direction === 'requests' ? [client, upstream] : [upstream, client];
    from.on('data', (chunk) => {
      setTimeout(() => to.write(chunk), delay);
    });
    to.pipe(from);
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    for (const s of [client, upstream]) {
      s.on('error', end);
      s.on('close', end);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

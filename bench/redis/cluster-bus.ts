/**
 * Bus on a Redis Cluster: classic pub/sub (`PUBLISH`, cluster-wide) vs sharded pub/sub (`SPUBLISH`, only the
 * shard owning the channel's slot). Measures the delivery latency (publish on the cluster client, receipt on a
 * subscriber connection) of messages sent one at a time, alternating the two kinds, and the cluster-wide
 * commands processed per message. Needs the local cluster (`bash scripts/redis-cluster.sh start`).
 *
 * Run: `npx tsx bench/redis/cluster-bus.ts`.
 *
 * @module
 */
import { Cluster, Redis } from 'ioredis';

const MESSAGES = 2000;
const channel = `larder-bench:bus:${process.pid}`;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const p99 = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.99)] as number;

async function main(): Promise<void> {
  const cluster = new Cluster([{ host: '127.0.0.1', port: 30001 }]);
  await new Promise((resolve) => cluster.once('ready', resolve));
  const slot = Number(await cluster.call('CLUSTER', 'KEYSLOT', channel));
  const slots = (await cluster.call('CLUSTER', 'SLOTS')) as [number, number, [string, number]][];
  const owner = slots.find(([lo, hi]) => slot >= lo && slot <= hi)?.[2][1] as number;
  const other = cluster.nodes('master').find((n) => n.options.port !== owner)?.options.port as number;
  // Classic: a subscriber on a node that does not own the channel's slot (delivery crosses the cluster bus).
  const classic = new Redis(other);
  // Sharded: SSUBSCRIBE must be on the shard owning the channel.
  const sharded = new Redis(owner);
  await classic.subscribe(channel);
  await sharded.call('SSUBSCRIBE', channel);
  let resolveNext: (() => void) | undefined;
  classic.on('message', () => resolveNext?.());
  sharded.on('smessage', () => resolveNext?.());
  const got = () =>
    new Promise<void>((resolve) => {
      resolveNext = resolve;
    });
  const stats = async () => {
    let n = 0;
    for (const node of cluster.nodes('master')) {
      n += Number(/total_commands_processed:(\d+)/.exec(String(await node.info('stats')))?.[1] ?? 0);
    }
    return n;
  };
  const lat = { publish: [] as number[], spublish: [] as number[] };
  for (let i = 0; i < MESSAGES; i++) {
    for (const kind of i % 2 === 0
      ? (['publish', 'spublish'] as const)
      : (['spublish', 'publish'] as const)) {
      const wait = got();
      const t0 = performance.now();
      if (kind === 'publish') void cluster.publish(channel, `m${i}`);
      else void cluster.call('SPUBLISH', channel, `m${i}`);
      await wait;
      lat[kind].push(performance.now() - t0);
    }
  }
  const s0 = await stats();
  for (let i = 0; i < 200; i++) await cluster.publish(channel, 'x');
  const s1 = await stats();
  for (let i = 0; i < 200; i++) await cluster.call('SPUBLISH', channel, 'x');
  const s2 = await stats();
  const f = (x: number) => x.toFixed(3);
  console.log(
    `PUBLISH  (subscriber on another node): p50 ${f(median(lat.publish))} ms, p99 ${f(p99(lat.publish))} ms`,
  );
  console.log(
    `SPUBLISH (subscriber on the owning shard): p50 ${f(median(lat.spublish))} ms, p99 ${f(p99(lat.spublish))} ms`,
  );
  console.log(
    `master commands per message (incl. 3 INFO): PUBLISH ${((s1 - s0 - 3) / 200).toFixed(2)}, SPUBLISH ${((s2 - s1 - 3) / 200).toFixed(2)}`,
  );
  classic.disconnect();
  sharded.disconnect();
  cluster.disconnect();
}

await main();

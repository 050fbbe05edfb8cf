/**
 * The Redis tier on a Redis Cluster vs a standalone Redis, side by side in one run:
 *
 * 1. Tier-hit latency: `tier.get` of an existing entry, awaited one at a time, alternating standalone and
 *    cluster op by op; a round's ratio is the ratio of the median latencies (cluster / standalone), the result
 *    the median over rounds. Target (issue 16): at most 1.2.
 * 2. Tier-hit throughput: 64 reads in flight for a fixed time, rounds alternating; ratio cluster / standalone.
 * 3. Per-master share of the commands the cluster's masters processed during (1) and (2) (`INFO stats`
 *    `total_commands_processed`, delta per master). Target: each within 15% of an even share.
 * 4. The cost of a tag invalidation and of a namespace clear on each (48 slot groups on the cluster, one on
 *    standalone): median wall time of `invalidateTags` and `clear`, and their ratio.
 *
 * The standalone Redis is a private `redis-server` started on a spare port (not the shared one, which other
 * processes load); the cluster is the local one of `scripts/redis-cluster.sh` (started if needed). Both run
 * on this machine, over loopback.
 *
 * Run: `npx tsx bench/redis/cluster.ts [--json]`.
 *
 * @module
 */
import { execFileSync, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Cluster, Redis } from 'ioredis';
import { redisTier } from '../../src/redis/index.js';
import type { TierRecord } from '../../src/tier.js';

const ENTRIES = 3000;
const ROUNDS = 7;
const LATENCY_OPS = 600;
const THROUGHPUT_MS = 700;
const IN_FLIGHT = 64;
const CLUSTER_PORTS = [30001, 30002, 30003, 30004, 30005, 30006];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
};

function sparePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject()));
    });
  });
}

async function privateRedis(): Promise<{ url: string; stop: () => void }> {
  const port = await sparePort();
  const child = spawn('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
  const url = `redis://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    const c = new Redis(url, { lazyConnect: true, retryStrategy: () => null });
    c.on('error', () => {});
    try {
      await c.connect();
      c.disconnect();
      break;
    } catch {
      c.disconnect();
      await sleep(50);
    }
  }
  return { url, stop: () => child.kill('SIGKILL') };
}

function record(now: number, tags: string[] = []): TierRecord {
  return {
    value: { id: 1, name: 'a user', roles: ['reader', 'writer'], at: now },
    expires: now + 600_000,
    staleUntil: now + 600_000,
    errorUntil: now + 600_000,
    tags,
    createdAt: now,
  };
}

async function masterCommands(cluster: Cluster): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const node of cluster.nodes('master')) {
    const info = String(await node.info('stats'));
    const m = /total_commands_processed:(\d+)/.exec(info);
    out.set(`${node.options.port}`, Number(m?.[1] ?? 0));
  }
  return out;
}

async function main(): Promise<void> {
  const json = process.argv.includes('--json');
  execFileSync('bash', [join(import.meta.dirname, '../../scripts/redis-cluster.sh'), 'start'], {
    stdio: 'ignore',
  });
  const standalone = await privateRedis();
  const options = {
    enableOfflineQueue: false,
    commandTimeout: 1000,
    maxRetriesPerRequest: 0,
  } as const;
  const sClient = new Redis(standalone.url, options);
  const cClient = new Cluster(
    CLUSTER_PORTS.slice(0, 3).map((port) => ({ host: '127.0.0.1', port })),
    { enableOfflineQueue: false, redisOptions: options, scaleReads: 'master' },
  );
  const admin = new Cluster([{ host: '127.0.0.1', port: CLUSTER_PORTS[0] as number }]);
  const prefix = `larder-bench:cluster:${process.pid}:`;
  const sTier = redisTier(sClient, { prefix, timeout: 1000 });
  const cTier = redisTier(cClient, { prefix, timeout: 1000 });
  for (let i = 0; i < 100 && !(sTier.stats().connected && cTier.stats().connected); i++) await sleep(50);

  const now = Date.now();
  const keys = Array.from({ length: ENTRIES }, (_, i) => `user:${i}`);
  for (const tier of [sTier, cTier]) {
    for (let i = 0; i < ENTRIES; i += 100) {
      await Promise.all(keys.slice(i, i + 100).map((k, j) => tier.set(k, record(now, [`t${(i + j) % 50}`]))));
    }
  }
  // Entries per master.
  const perMaster: Record<string, number> = {};
  for (const node of admin.nodes('master')) {
    let n = 0;
    let cursor = '0';
    do {
      const [next, found] = await node.scan(cursor, 'MATCH', `${prefix}*}v:*`, 'COUNT', 1000);
      cursor = next;
      n += found.length;
    } while (cursor !== '0');
    perMaster[`${node.options.port}`] = n;
  }

  const before = await masterCommands(admin);
  const latencyRatios: number[] = [];
  const latency = { standalone: [] as number[], cluster: [] as number[] };
  const throughputRatios: number[] = [];
  const throughput = { standalone: [] as number[], cluster: [] as number[] };
  let k = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const s: number[] = [];
    const c: number[] = [];
    for (let i = 0; i < LATENCY_OPS; i++) {
      const key = keys[k++ % ENTRIES] as string;
      for (const [tier, out] of round % 2 === 0
        ? ([
            [sTier, s],
            [cTier, c],
          ] as const)
        : ([
            [cTier, c],
            [sTier, s],
          ] as const)) {
        const t0 = performance.now();
        const hit = await tier.get(key);
        out.push(performance.now() - t0);
        if (hit === undefined) throw new Error(`not a hit: ${key}`);
      }
    }
    latency.standalone.push(median(s));
    latency.cluster.push(median(c));
    latencyRatios.push(median(c) / median(s));

    const ops = { standalone: 0, cluster: 0 };
    for (const name of round % 2 === 0
      ? (['standalone', 'cluster'] as const)
      : (['cluster', 'standalone'] as const)) {
      const tier = name === 'standalone' ? sTier : cTier;
      const until = performance.now() + THROUGHPUT_MS;
      let j = 0;
      await Promise.all(
        Array.from({ length: IN_FLIGHT }, async () => {
          while (performance.now() < until) {
            await tier.get(keys[j++ % ENTRIES] as string);
            ops[name]++;
          }
        }),
      );
    }
    throughput.standalone.push((ops.standalone * 1000) / THROUGHPUT_MS);
    throughput.cluster.push((ops.cluster * 1000) / THROUGHPUT_MS);
    throughputRatios.push(ops.cluster / ops.standalone);
  }
  const after = await masterCommands(admin);
  const commands: Record<string, number> = {};
  let total = 0;
  for (const [port, n] of after) {
    commands[port] = n - (before.get(port) ?? 0);
    total += commands[port] as number;
  }

  // Invalidation costs (each timed alone, alternating).
  const tagCost = { standalone: [] as number[], cluster: [] as number[] };
  const clearCost = { standalone: [] as number[], cluster: [] as number[] };
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, tier] of [
      ['standalone', sTier],
      ['cluster', cTier],
    ] as const) {
      let t0 = performance.now();
      await tier.invalidateTags([`t${round}`], Date.now());
      tagCost[name].push(performance.now() - t0);
      t0 = performance.now();
      await tier.clear(`nothing-here-${round}:`);
      clearCost[name].push(performance.now() - t0);
    }
  }

  const result = {
    entries: ENTRIES,
    entriesPerMaster: perMaster,
    tierHitLatencyMs: { standalone: median(latency.standalone), cluster: median(latency.cluster) },
    tierHitLatencyRatio: median(latencyRatios),
    tierHitThroughputOpsPerSec: {
      standalone: median(throughput.standalone),
      cluster: median(throughput.cluster),
    },
    tierHitThroughputRatio: median(throughputRatios),
    commandsPerMaster: commands,
    commandShares: Object.fromEntries(Object.entries(commands).map(([p, n]) => [p, n / total])),
    invalidateTagMs: { standalone: median(tagCost.standalone), cluster: median(tagCost.cluster) },
    namespaceClearMs: { standalone: median(clearCost.standalone), cluster: median(clearCost.cluster) },
  };
  if (json) console.log(JSON.stringify(result, null, 2));
  else {
    const f = (x: number) => x.toFixed(3);
    console.log(`entries per master (of ${ENTRIES}):`, perMaster);
    console.log(
      `tier hit latency: standalone ${f(result.tierHitLatencyMs.standalone)} ms, cluster ${f(result.tierHitLatencyMs.cluster)} ms, ratio ${f(result.tierHitLatencyRatio)} (target <= 1.2)`,
    );
    console.log(
      `tier hit throughput (${IN_FLIGHT} in flight): standalone ${Math.round(result.tierHitThroughputOpsPerSec.standalone)}/s, cluster ${Math.round(result.tierHitThroughputOpsPerSec.cluster)}/s, ratio ${f(result.tierHitThroughputRatio)}`,
    );
    console.log(
      'command share per master:',
      Object.fromEntries(
        Object.entries(result.commandShares).map(([p, s]) => [p, `${(s * 100).toFixed(1)}%`]),
      ),
    );
    console.log(
      `invalidateTags: standalone ${f(result.invalidateTagMs.standalone)} ms, cluster ${f(result.invalidateTagMs.cluster)} ms; namespace clear (nothing to remove): standalone ${f(result.namespaceClearMs.standalone)} ms, cluster ${f(result.namespaceClearMs.cluster)} ms`,
    );
  }

  await sTier.clear('');
  await cTier.clear('');
  await sTier.close();
  await cTier.close();
  sClient.disconnect();
  cClient.disconnect();
  admin.disconnect();
  standalone.stop();
}

await main();

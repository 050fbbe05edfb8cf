/**
 * The benchmark suite. `npm run bench` runs everything and rewrites docs/benchmarks.md;
 * `npm run bench:ci` (`--ci`) measures only what is asserted and exits non-zero listing every missed bar.
 *
 * Flags:
 *   --ci                 quick mode (under 2 minutes): the asserted parts only (bars, policy, redis, next (its
 *                        revalidateTag bar), stampede, memory of larder and lru-cache, hit-ratio)
 *   --only <parts>       comma-separated: bars, otel, policy, throughput, redis, next, stampede, memory, hit-ratio,
 *                        http, report (always run in this order; otel is the larder/otel bar alone, part of bars)
 *   --larder <source>    auto (default: dist/ when newer than src/, else build), build (bundle src/ with tsup
 *                        and tsup.config.ts into bench/results/tmp/larder), dist (use dist/), src (sources via tsx)
 *
 * @module
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { type Args, mergeBars, parseArgs } from './lib/args.js';
import { type RunMeta, runMeta } from './lib/env.js';
import { figureFor, missedGates } from './lib/figures.js';
import { formatBytes } from './lib/format.js';
import { larderEnv, type PreparedLarder, prepareLarder, ROOT } from './lib/larder.js';
import { elapsed, logger } from './lib/progress.js';
import {
  type BarResult,
  type BarsResult,
  CI_RESULTS_DIR,
  type NextResult,
  type PolicyResult,
  RESULTS_DIR,
  type RedisResult,
  readResult,
  type StampedeResult,
  writeResult,
} from './lib/results.js';
import type { SampleOptions } from './lib/sample.js';
import { memoryBar, runMemory } from './memory/index.js';
import { checkStampedeBar, runStampede } from './stampede/index.js';
import { LARDER_LRU, LARDER_TINYLFU } from './throughput/adapters.js';
import { formatBar, runThroughputBars } from './throughput/bars.js';
import { runThroughput } from './throughput/index.js';

const KEYS = 100_000;
const MEMORY_ENTRIES = 1_000_000;

/**
 * The bars' slices last 15 ms: long enough for a synchronous `get` loop to walk all 100,000 keys at least
 * once, so that every slice sees the same mix of keys and includes periodic work (such as the W-TinyLFU
 * sketch's aging). Slices of 2 ms, the fastest of five, covered a fifth of the keys and could leave that
 * work out; they put larder's 'lru' `get` at 0.84-0.93x and 'tinylfu' at 0.61-0.65x where 15 ms slices
 * measured 0.92-0.94x and 0.54-0.59x, with much tighter spreads (2026-11-28).
 */
function sampling(ci: boolean): { bars: SampleOptions; table: SampleOptions } {
  return ci
    ? {
        bars: { warmupMs: 600, sliceMs: 15, slices: 3, samples: 30 },
        table: { warmupMs: 150, sliceMs: 2, slices: 5, samples: 5 },
      }
    : {
        bars: { warmupMs: 1000, sliceMs: 15, slices: 3, samples: 60 },
        table: { warmupMs: 300, sliceMs: 2, slices: 8, samples: 9 },
      };
}

async function main(): Promise<number> {
  let args: Args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (error) {
    console.error((error as Error).message);
    return 2;
  }
  process.chdir(ROOT);
  const started = performance.now();
  const log = logger('bench');
  const dir = args.ci ? CI_RESULTS_DIR : RESULTS_DIR;
  const command =
    process.env.npm_lifecycle_event === 'bench' || process.env.npm_lifecycle_event === 'bench:ci'
      ? `npm run ${process.env.npm_lifecycle_event}${
          process.argv.length > (args.ci ? 3 : 2)
            ? ` -- ${process.argv
                .slice(2)
                .filter((a) => a !== '--ci')
                .join(' ')}`
            : ''
        }`
      : `tsx bench/run.ts ${process.argv.slice(2).join(' ')}`.trim();
  const misses: string[] = [];
  /** Printed figures (bench/lib/figures.ts): measured, never gating. */
  const figures: string[] = [];
  const needsLarder = args.parts.some((p) => p !== 'report' && p !== 'hit-ratio');

  let prepared: PreparedLarder | undefined;
  let larderNote = 'not loaded';
  if (needsLarder) {
    log(`preparing larder (${args.larder})`);
    const p = await prepareLarder(args.larder);
    if ('error' in p) {
      larderNote = `unavailable: ${p.error}`;
      log(`larder ${larderNote}; peers are still measured, larder's bars count as missed`);
    } else {
      prepared = p;
      larderNote = p.description;
      log(`larder: ${p.description}`);
    }
  }
  Object.assign(process.env, larderEnv(prepared));
  const meta: RunMeta = runMeta(command, larderNote, args.ci ? 'ci' : 'full');
  const s = sampling(args.ci);
  const bars: BarResult[] = [];

  // Keep bars.json complete when only some parts run: merge into what is there.
  const saveBars = () => {
    const existing = readResult<BarsResult>(dir, 'bars');
    writeResult(dir, 'bars', { meta, rounds: s.bars.samples, bars: mergeBars(existing?.bars ?? [], bars) });
  };
  // Memory figures do not depend on timing, so the memory part runs in the background (child processes)
  // while the next part that does not depend on timing either (hit-ratio) runs; parts that measure time
  // wait for it first.
  let background: Promise<void> | undefined;
  const settleBackground = async () => {
    if (background !== undefined) await background;
    background = undefined;
  };

  for (const part of args.parts) {
    const plog = logger(part);
    if (part !== 'hit-ratio') await settleBackground();
    const t0 = performance.now();
    const done = () => plog(`done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    if (part === 'bars' || part === 'otel') {
      const groups = part === 'otel' ? (['otel'] as const) : undefined;
      bars.push(...(await runThroughputBars({ keys: KEYS, sampling: s.bars, log: plog, groups })));
      saveBars();
    } else if (part === 'throughput') {
      writeResult(dir, 'throughput', await runThroughput({ meta, keys: KEYS, sampling: s.table, log: plog }));
    } else if (part === 'stampede') {
      let result: StampedeResult | undefined;
      try {
        result = await runStampede({ meta, log: plog });
        writeResult(dir, 'stampede', result);
      } catch (error) {
        misses.push(`stampede: ${(error as Error).message.split('\n')[0]}`);
      }
      if (result !== undefined) misses.push(...checkStampedeBar(result));
    } else if (part === 'memory') {
      background = runMemory({
        meta,
        entries: MEMORY_ENTRIES,
        log: plog,
        concurrency: 2,
        ...(args.ci ? { libraries: [LARDER_LRU, LARDER_TINYLFU, 'lru-cache'] } : {}),
      }).then((result) => {
        writeResult(dir, 'memory', result);
        bars.push(
          memoryBar(result),
          memoryBar(result, LARDER_TINYLFU),
          memoryBar(result, LARDER_TINYLFU, true),
        );
        saveBars();
        done();
      });
      continue;
    } else if (part === 'policy') {
      const r = await policyBench(args.ci, meta, plog);
      writeResult(dir, 'policy', r);
      if (r.error !== undefined) misses.push(`policy: ${r.error}`);
      misses.push(...r.missed.map((m) => `policy: ${m}`));
    } else if (part === 'next') {
      const r = await nextBench(args.ci, meta, plog);
      writeResult(dir, 'next', r);
      if (r.error !== undefined) misses.push(`next: ${r.error}`);
      for (const x of r.results) {
        const line = `next: ${x.name}: ${x.ratio.toFixed(2)} (bar ${x.bar})`;
        if (figureFor(x.name) !== undefined) figures.push(line);
        else if (!x.ok) misses.push(line);
      }
    } else if (part === 'redis') {
      const r = await redisBench(args.ci, meta, plog);
      writeResult(dir, 'redis', r);
      if (r.error !== undefined) misses.push(`redis: ${r.error}`);
      for (const x of r.results) {
        plog(`${x.pass ? 'PASS' : 'MISS'}  ${x.ratio.toFixed(3)} (bar ${x.bar})  ${x.name}`);
        if (!x.pass) misses.push(`redis: ${x.name}: ${x.ratio.toFixed(3)} against ${x.bar}`);
      }
    } else if (part === 'hit-ratio') {
      misses.push(...(await hitRatio(args.ci, dir, plog)));
    } else if (part === 'http') {
      try {
        const { runHttp } = await import('./http/index.js');
        const r = await runHttp({
          meta,
          durationS: 4,
          rounds: 3,
          warmupS: 3,
          connections: 16,
          env: larderEnv(prepared),
          log: plog,
        });
        writeResult(dir, 'http', r);
      } catch (error) {
        plog(`failed: ${(error as Error).message.split('\n')[0]}`);
      }
    } else if (part === 'report') {
      const { writeReport } = await import('./report.js');
      for (const path of writeReport()) plog(`wrote ${path.slice(ROOT.length + 1)}`);
    }
    done();
  }
  await settleBackground();

  if (bars.length > 0) {
    console.log('\nBars (ratios measured in this run):');
    for (const b of bars) console.log(`  ${formatBar(b)}`);
    for (const b of missedGates(bars)) misses.push(`bar: ${formatBar(b)}`);
    for (const b of bars) if (figureFor(b.label) !== undefined) figures.push(`bar: ${formatBar(b)}`);
  }
  // Ratios that sit at a physical floor: printed with the reason, never gating (bench/lib/figures.ts, issue 21).
  if (figures.length > 0) {
    console.log(`\n${figures.length} figure(s) printed, not gated (docs/benchmarks.md says why):`);
    for (const line of figures) console.log(`  - ${line}\n      ${figureFor(line)?.reason}`);
  }
  const memory = readResult<{ rows: Array<{ library: string; bytesPerEntry: number }> }>(dir, 'memory');
  if (args.parts.includes('memory') && memory !== undefined) {
    for (const r of memory.rows.filter((x) => x.library.startsWith('larder') || x.library === 'lru-cache')) {
      console.log(`  memory: ${r.library} ${formatBytes(r.bytesPerEntry)}/entry`);
    }
  }
  console.log(
    `\n${elapsed()} total ${((performance.now() - started) / 1000).toFixed(1)} s (${args.ci ? 'ci' : 'full'}: ${args.parts.join(', ')})`,
  );
  const asserting = ['stampede', 'hit-ratio', 'redis', 'policy', 'next'];
  if (bars.length === 0 && !args.parts.some((p) => asserting.includes(p))) {
    console.log('No bars checked in this run.');
    return 0;
  }
  // Bars that are not met reliably here are measured and printed, but do not fail CI; bench/open-bars.json
  // lists each with its issue and the reason. Every other miss fails --ci.
  const open = openBars();
  const known = misses.filter((m) => open.some((o) => m.includes(o.match)));
  const failing = misses.filter((m) => !known.includes(m));
  if (known.length > 0) {
    console.log(`\n${known.length} bar(s) missed that bench/open-bars.json lists (they do not fail CI):`);
    for (const m of known) {
      const o = open.find((x) => m.includes(x.match));
      console.log(`  - ${m}\n      issue ${o?.issue}: ${o?.reason}`);
    }
  }
  for (const o of open) {
    if (!misses.some((m) => m.includes(o.match)) && bars.some((b) => formatBar(b).includes(o.match))) {
      console.log(`  note: listed bar "${o.match}" was met in this run`);
    }
  }
  if (failing.length > 0) {
    console.log(`\n${failing.length} bar(s) missed:`);
    for (const m of failing) console.log(`  - ${m}`);
    if (args.ci) return 1;
    console.log('(only --ci fails on missed bars)');
    return 0;
  }
  console.log(known.length > 0 ? 'All enforced bars met.' : 'All bars met.');
  return 0;
}

/** Runs the policy store part (bench/policy-throughput.ts, built by another engineer). */
async function policyBench(ci: boolean, meta: RunMeta, log: (line: string) => void): Promise<PolicyResult> {
  try {
    const mod = await import('./policy-throughput.js');
    const report = await mod.runPolicyThroughput({ ci, log });
    return { meta, report, missed: mod.checkPolicyThroughputBars(report) };
  } catch (error) {
    const message = (error as Error).message.split('\n')[0] ?? String(error);
    log(`failed: ${message}`);
    return { meta, missed: [], error: message };
  }
}

/** Runs the Next.js part (bench/next, built by another engineer). */
async function nextBench(ci: boolean, meta: RunMeta, log: (line: string) => void): Promise<NextResult> {
  try {
    const { runNextBench } = await import('./next/index.js');
    return { meta, results: await runNextBench({ ci }) };
  } catch (error) {
    const message = (error as Error).message.split('\n')[0] ?? String(error);
    log(`failed: ${message}`);
    return { meta, results: [], error: message };
  }
}

/** Runs the Redis part (bench/redis, built by another engineer). Outside CI a missing Redis is not an error. */
async function redisBench(ci: boolean, meta: RunMeta, log: (line: string) => void): Promise<RedisResult> {
  try {
    const { runRedisBench } = await import('./redis/index.js');
    const results = await runRedisBench({ ci });
    if (results.length === 0) log('skipped (no Redis)');
    return { meta, results };
  } catch (error) {
    const message = (error as Error).message.split('\n')[0] ?? String(error);
    log(`failed: ${message}`);
    return { meta, results: [], error: message };
  }
}

/** Runs the hit-ratio part (bench/hit-ratio, built by another engineer) and returns its missed bars. */
async function hitRatio(ci: boolean, dir: string, log: (line: string) => void): Promise<string[]> {
  let mod: typeof import('./hit-ratio/index.js');
  try {
    mod = await import('./hit-ratio/index.js');
  } catch (error) {
    return [`hit-ratio: bench/hit-ratio/index.ts failed to load: ${(error as Error).message.split('\n')[0]}`];
  }
  try {
    const report = await mod.runHitRatio({ ci, log, output: `${dir}/hit-ratio.json` });
    // On a laptop without the traces the bars are skipped (and said so); in CI a skipped bar is a miss.
    const missing = process.env.CI === 'true' ? mod.missingBarTraces(report) : [];
    return [...missing, ...mod.checkHitRatioBars(report)].map((m) => `hit-ratio: ${m}`);
  } catch (error) {
    return [`hit-ratio: ${(error as Error).message.split('\n')[0]}`];
  }
}

// Exit explicitly: a library measured in this process may leave a timer behind.
main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);

/** A bar the issue tracker still has open: measured and printed, not yet enforced. */
interface OpenBar {
  /** A substring of the miss line that identifies the bar. */
  match: string;
  /** The issue that asks for it. */
  issue: number;
  /** Why it is not met yet. */
  reason: string;
}

function openBars(): OpenBar[] {
  const path = join(ROOT, 'bench', 'open-bars.json');
  if (!existsSync(path)) return [];
  return (JSON.parse(readFileSync(path, 'utf8')) as { bars: OpenBar[] }).bars;
}

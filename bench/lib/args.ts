/**
 * Command line of bench/run.ts, and merging of bar results (pure, tested).
 *
 * @module
 */
import type { LarderSource } from './larder.js';
import type { BarResult } from './results.js';

/** Parts of the suite, in run order. */
export const PARTS = [
  'bars',
  'otel',
  'policy',
  'throughput',
  'redis',
  'next',
  'stampede',
  'memory',
  'hit-ratio',
  'http',
  'report',
] as const;
/** One part. */
export type Part = (typeof PARTS)[number];

/** Parsed command line. */
export interface Args {
  /** Quick, asserting mode. */
  ci: boolean;
  /** Parts to run. */
  parts: Part[];
  /** Where larder comes from. */
  larder: LarderSource;
}

const USAGE = `usage: tsx bench/run.ts [--ci] [--only ${PARTS.join(',')}] [--larder auto|build|dist|src]`;

/** Parses the command line. @throws TypeError naming the bad argument. */
export function parseArgs(argv: readonly string[]): Args {
  const args: Args = { ci: false, parts: [], larder: 'auto' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    const [flag, inline] = a.includes('=') ? (a.split('=', 2) as [string, string]) : [a, undefined];
    const value = () => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new TypeError(`${flag} needs a value\n${USAGE}`);
      return v;
    };
    if (flag === '--ci') args.ci = true;
    else if (flag === '--only') {
      for (const p of value().split(',')) {
        if (!(PARTS as readonly string[]).includes(p))
          throw new TypeError(`--only: unknown part ${JSON.stringify(p)}\n${USAGE}`);
        args.parts.push(p as Part);
      }
    } else if (flag === '--larder') {
      const v = value();
      if (v !== 'auto' && v !== 'build' && v !== 'dist' && v !== 'src') {
        throw new TypeError(`--larder must be auto, build, dist or src; got ${v}\n${USAGE}`);
      }
      args.larder = v;
    } else if (flag === '--help' || flag === '-h') throw new TypeError(USAGE);
    else throw new TypeError(`unknown argument ${JSON.stringify(a)}\n${USAGE}`);
  }
  // Always in suite order, whatever order --only lists them in.
  args.parts = PARTS.filter((p) => args.parts.includes(p));
  if (args.parts.length === 0) {
    args.parts = args.ci
      ? ['bars', 'policy', 'redis', 'next', 'stampede', 'memory', 'hit-ratio']
      : // 'otel' is one group of 'bars', runnable alone (`--only otel`); 'bars' measures it already.
        PARTS.filter((p) => p !== 'otel');
  }
  return args;
}

/** Replaces bars with the same id in `existing` by `fresh` ones, keeping the order of first appearance. */
export function mergeBars(existing: readonly BarResult[], fresh: readonly BarResult[]): BarResult[] {
  const out = existing.map((b) => fresh.find((f) => f.id === b.id) ?? b);
  for (const f of fresh) if (!out.some((b) => b.id === f.id)) out.push(f);
  return out;
}

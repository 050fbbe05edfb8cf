/**
 * Parsers for the cache access traces in ../shared/traces (see the README there), and the list of
 * traces the hit-ratio benchmark replays.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

/** How a trace file is encoded. */
export type TraceFormat = 'lirs' | 'oltp' | 'int32be';

/** One trace of the benchmark. */
export interface TraceSpec {
  /** Short name (`gli`, `OLTP`, ...). */
  name: string;
  /** File name inside the traces folder. */
  file: string;
  format: TraceFormat;
  /** Requests and distinct keys the README gives (after skipping empty and `*` lines). */
  requests: number;
  uniqueKeys: number;
  /** Cache sizes (entries) to replay at. */
  sizes: number[];
  /**
   * Where the sizes come from: the README (with reference LRU/OPT values, checked by the CI bars), POLICIES.md
   * (other policies' hit ratios at those sizes; full suite only, the traces are large), or chosen here.
   */
  sizesFrom: 'readme' | 'policies' | 'suite';
}

/**
 * Every trace in the README. Sizes are the README's where it gives reference values; for the
 * traces it only lists (zigzag, scan, backf, web07) the suite picks sizes around their key counts.
 */
export const TRACES: readonly TraceSpec[] = [
  lirs('gli', 6015, 2529, [250, 500, 750, 1000, 1250, 1500, 1750, 2000]),
  {
    ...lirs('OLTP', 914145, 186880, [250, 500, 750, 1000, 1250, 1500, 1750, 2000]),
    file: 'OLTP.lis.gz',
    format: 'oltp',
  },
  lirs('loop', 505500, 1011, [100, 250, 500, 750, 1000, 1250]),
  lirs('multi1', 15858, 2606, [256, 512, 1000]),
  lirs('multi2', 26311, 5684, [100, 600, 1800]),
  lirs('multi3', 30241, 7454, [256, 512, 1000]),
  lirs('sprite', 133996, 7075, [100, 200, 400, 800]),
  lirs('cpp', 9047, 1223, [50, 100, 300]),
  lirs('cs', 6781, 1409, [256, 512, 1000]),
  lirs('ps', 10448, 3083, [256, 512, 1000]),
  lirs('2_pools', 100000, 9939, [256, 512, 1000]),
  { ...lirs('zigzag', 52001, 2001, [500, 1000, 1500]), sizesFrom: 'suite' },
  { ...lirs('scan', 50025, 2001, [500, 1000, 1500]), sizesFrom: 'suite' },
  { ...lirs('backf', 9000, 751, [100, 250, 500]), sizesFrom: 'suite' },
  {
    name: 'web07',
    file: 'web07.trace',
    format: 'int32be',
    requests: 76118,
    uniqueKeys: 20484,
    sizes: [1000, 2500, 5000],
    sizesFrom: 'suite',
  },
  storage('P2', 12729495, 913347),
  storage('P12', 13208930, 3153310),
  {
    name: 'orm-night',
    file: 'orm-night.trace.gz',
    format: 'int32be',
    requests: 5000000,
    uniqueKeys: 86466,
    sizes: [1000, 5000, 10000],
    sizesFrom: 'policies',
  },
];

/** The ARC paper's workstation disk traces: OLTP's format, sizes as in POLICIES.md. */
function storage(name: string, requests: number, uniqueKeys: number): TraceSpec {
  return {
    name,
    file: `${name}.lis.gz`,
    format: 'oltp',
    requests,
    uniqueKeys,
    sizes: [10000, 50000, 100000],
    sizesFrom: 'policies',
  };
}

function lirs(name: string, requests: number, uniqueKeys: number, sizes: number[]): TraceSpec {
  return { name, file: `${name}.trace`, format: 'lirs', requests, uniqueKeys, sizes, sizesFrom: 'readme' };
}

/** The repository root (two levels above this file). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The traces folder: `$LARDER_TRACES`, else `../shared/traces` next to the repository. */
export function defaultTracesDir(): string {
  return process.env.LARDER_TRACES ?? resolve(REPO_ROOT, '..', 'shared', 'traces');
}

/**
 * Parses a LIRS text trace: one decimal key a line; `\n` or `\r\n` line ends; empty lines and lines
 * holding `*` (checkpoint markers) are skipped. Anything else is an error naming the line.
 */
export function parseLirs(data: Uint8Array): Int32Array {
  let out = new Int32Array(1024);
  let n = 0;
  let line = 1;
  let value = 0;
  let digits = 0;
  let star = false;
  let junk = -1;
  const end = data.length;
  for (let p = 0; p <= end; p++) {
    const c = p < end ? data[p]! : 10;
    if (c === 10) {
      if (junk >= 0)
        throw new SyntaxError(
          `trace line ${line}: unexpected character ${JSON.stringify(String.fromCharCode(junk))}`,
        );
      if (star && digits > 0) throw new SyntaxError(`trace line ${line}: a key and '*' on one line`);
      if (digits > 0) {
        if (n === out.length) {
          const bigger = new Int32Array(out.length * 2);
          bigger.set(out);
          out = bigger;
        }
        out[n++] = value;
      }
      value = 0;
      digits = 0;
      star = false;
      line++;
    } else if (c >= 48 && c <= 57) {
      value = value * 10 + (c - 48);
      if (++digits > 9) throw new SyntaxError(`trace line ${line}: key too long for this parser`);
    } else if (c === 42) {
      star = true;
    } else if (c !== 13 && c !== 32 && c !== 9 && junk < 0) {
      junk = c;
    }
  }
  return out.subarray(0, n);
}

/**
 * Parses OLTP.lis (gunzipped by the caller or here): lines `start count _ _`, each standing for
 * `count` consecutive integer keys from `start`.
 */
export function parseOltp(data: Uint8Array): Int32Array {
  const text = isGzip(data) ? gunzipSync(data).toString('latin1') : Buffer.from(data).toString('latin1');
  const lines = text.split('\n');
  let total = 0;
  const starts: number[] = [];
  const counts: number[] = [];
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!.trim();
    if (l === '') continue;
    const fields = l.split(/\s+/);
    const start = Number(fields[0]);
    const count = Number(fields[1]);
    if (fields.length < 2 || !Number.isSafeInteger(start) || !Number.isSafeInteger(count) || count < 0) {
      throw new SyntaxError(`OLTP line ${i + 1}: expected "start count ...", got ${JSON.stringify(l)}`);
    }
    if (start + count > 0x7fffffff) throw new SyntaxError(`OLTP line ${i + 1}: key out of int32 range`);
    starts.push(start);
    counts.push(count);
    total += count;
  }
  const out = new Int32Array(total);
  let n = 0;
  for (let i = 0; i < starts.length; i++) {
    const start = starts[i]!;
    const count = counts[i]!;
    for (let k = 0; k < count; k++) out[n++] = start + k;
  }
  return out;
}

/** Parses a binary trace of big-endian 32-bit signed integers (cache2k's format), gzipped or not. */
export function parseInt32be(raw: Uint8Array): Int32Array {
  const data = isGzip(raw) ? gunzipSync(raw) : raw;
  if (data.length % 4 !== 0)
    throw new SyntaxError(`int32 trace length ${data.length} is not a multiple of 4`);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const out = new Int32Array(data.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = view.getInt32(i * 4, false);
  return out;
}

function isGzip(data: Uint8Array): boolean {
  return data.length >= 2 && data[0] === 0x1f && data[1] === 0x8b;
}

/** Parses bytes in the given format. */
export function parseTrace(format: TraceFormat, data: Uint8Array): Int32Array {
  switch (format) {
    case 'lirs':
      return parseLirs(data);
    case 'oltp':
      return parseOltp(data);
    case 'int32be':
      return parseInt32be(data);
  }
}

/** Path of a trace file, or `undefined` when it is missing. */
export function tracePath(spec: TraceSpec, dir: string): string | undefined {
  const p = join(dir, spec.file);
  return existsSync(p) ? p : undefined;
}

/** Loads and parses a trace; throws if the file is missing. */
export function loadTrace(spec: TraceSpec, dir: string = defaultTracesDir()): Int32Array {
  return parseTrace(spec.format, readFileSync(join(dir, spec.file)));
}

/** Finds a trace by name. */
export function traceSpec(name: string): TraceSpec {
  const spec = TRACES.find((t) => t.name === name);
  if (spec === undefined) throw new RangeError(`unknown trace ${JSON.stringify(name)}`);
  return spec;
}

/** Number of distinct keys in a trace. */
export function countUnique(keys: Int32Array): number {
  return new Set(keys).size;
}

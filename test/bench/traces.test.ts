import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { replayLarder, replayLruCache } from '../../bench/hit-ratio/index.js';
import { optHits, prepareOpt } from '../../bench/hit-ratio/opt.js';
import { readPoliciesMd, referencePolicyNames } from '../../bench/hit-ratio/policies-md.js';
import { REFERENCE } from '../../bench/hit-ratio/reference.js';
import {
  countUnique,
  defaultTracesDir,
  loadTrace,
  parseInt32be,
  parseLirs,
  parseOltp,
  TRACES,
  traceSpec,
} from '../../bench/hit-ratio/traces.js';
import { inCI } from '../helpers/ci.js';

const bytes = (s: string) => new TextEncoder().encode(s);

describe('trace parsers', () => {
  it('reads LIRS text traces with LF or CRLF ends, skipping empty and * lines', () => {
    expect([...parseLirs(bytes('1\n2\n\n*\n3\n'))]).toEqual([1, 2, 3]);
    expect([...parseLirs(bytes('10\r\n20\r\n*\r\n30\r\n'))]).toEqual([10, 20, 30]);
    expect([...parseLirs(bytes('7'))]).toEqual([7]);
    expect([...parseLirs(bytes(''))]).toEqual([]);
  });

  it('rejects anything else, naming the line', () => {
    expect(() => parseLirs(bytes('1\nx2\n'))).toThrow(/line 2/);
    expect(() => parseLirs(bytes('1 *\n'))).toThrow(/line 1/);
  });

  it('expands OLTP lines "start count _ _" into consecutive keys, gzipped or not', () => {
    const text = '5 1 0 0\n10 3 0 0\n\n7 2 0 0\n';
    expect([...parseOltp(bytes(text))]).toEqual([5, 10, 11, 12, 7, 8]);
    expect([...parseOltp(gzipSync(bytes(text)))]).toEqual([5, 10, 11, 12, 7, 8]);
    expect(() => parseOltp(bytes('5\n'))).toThrow(/OLTP line 1/);
  });

  it('reads big-endian int32 traces', () => {
    const data = new Uint8Array([0, 0, 0, 1, 0xff, 0xff, 0xff, 0xfe, 0x01, 0x02, 0x03, 0x04]);
    expect([...parseInt32be(data)]).toEqual([1, -2, 0x01020304]);
    expect(() => parseInt32be(new Uint8Array(3))).toThrow(/multiple of 4/);
    // orm-night.trace.gz: the same, gzipped.
    expect([...parseInt32be(gzipSync(data))]).toEqual([1, -2, 0x01020304]);
  });
});

describe("Belady's optimal", () => {
  it('evicts the key used farthest in the future', () => {
    // Cache of 2: 1 2 3 1 2 -> at 3, evict 2 (next used later than 1): hits on 1, then 2 misses.
    const trace = Int32Array.from([1, 2, 3, 1, 2]);
    expect(optHits(prepareOpt(trace), 2)).toBe(1);
    expect(optHits(prepareOpt(Int32Array.from([1, 2, 1, 2, 3, 1, 2])), 2)).toBe(3);
    expect(optHits(prepareOpt(Int32Array.from([1, 1, 1])), 1)).toBe(2);
    expect(() => optHits(prepareOpt(trace), 0)).toThrow(RangeError);
  });

  it('is never below LRU on random traces', () => {
    let x = 99;
    const trace = Int32Array.from({ length: 5000 }, () => {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      return (x >>> 0) % 300;
    });
    const prepared = prepareOpt(trace);
    for (const size of [10, 50, 200]) {
      expect(optHits(prepared, size)).toBeGreaterThanOrEqual(replayLruCache(trace, size));
    }
  });
});

const dir = defaultTracesDir();
// In CI (CI=true) the traces must be there: the tests run and fail without them, as the Redis suites do.
const present = existsSync(dir) || inCI();
if (!present) console.warn(`trace reference tests skipped: no traces folder at ${dir} (set LARDER_TRACES)`);

describe.skipIf(!present)('real traces reproduce the README', () => {
  const pct = (hits: number, n: number) => Math.round((hits / n) * 10000) / 100;

  // P2 and P12 hold 13 million requests each: parsing and counting every trace takes about 20 s.
  it('parses every trace to the README request and key counts', { timeout: 180_000 }, () => {
    for (const spec of TRACES) {
      const keys = loadTrace(spec, dir);
      expect([spec.name, keys.length, countUnique(keys)]).toEqual([
        spec.name,
        spec.requests,
        spec.uniqueKeys,
      ]);
    }
  });

  it.each([
    ['gli', 1000],
    ['loop', 500],
    ['multi2', 600],
    ['sprite', 200],
    ['OLTP', 250],
  ])('%s at %i: LRU and OPT match the README within 0.05', (name, size) => {
    const keys = loadTrace(traceSpec(name), dir);
    const ref = REFERENCE[name]!;
    const i = ref.sizes.indexOf(size);
    expect(Math.abs(pct(replayLruCache(keys, size), keys.length) - ref.lru[i]!)).toBeLessThanOrEqual(0.05);
    expect(Math.abs(pct(replayLarder('lru', keys, size), keys.length) - ref.lru[i]!)).toBeLessThanOrEqual(
      0.05,
    );
    expect(Math.abs(pct(optHits(prepareOpt(keys), size), keys.length) - ref.opt[i]!)).toBeLessThanOrEqual(
      0.05,
    );
  });

  it('orm-night at 1,000: LRU and OPT match POLICIES.md within 0.05', () => {
    const keys = loadTrace(traceSpec('orm-night'), dir);
    const table = readPoliciesMd(dir)!['orm-night']!;
    const j = table.sizes.indexOf(1000);
    expect(
      Math.abs(pct(replayLarder('lru', keys, 1000), keys.length) - table.columns.LRU![j]!),
    ).toBeLessThanOrEqual(0.05);
    expect(
      Math.abs(pct(optHits(prepareOpt(keys), 1000), keys.length) - table.columns.OPT![j]!),
    ).toBeLessThanOrEqual(0.05);
  });

  it('POLICIES.md has a table for every trace, at every size the benchmark takes from it', () => {
    const tables = readPoliciesMd(dir)!;
    for (const spec of TRACES) {
      const table = tables[spec.name];
      expect(table, spec.name).toBeDefined();
      if (spec.sizesFrom === 'policies') expect(table!.sizes).toEqual(spec.sizes);
      expect(referencePolicyNames(table!)).toEqual([
        'S3-FIFO',
        'ARC',
        'LIRS',
        '2Q',
        'SIEVE',
        'W-TinyLFU (1% window)',
      ]);
    }
  });

  it('transcribes the README reference rows exactly', () => {
    const readme = readFileSync(join(dir, 'README.md'), 'utf8');
    const row = (label: string, values: number[]) =>
      `| ${label} | ${values.map((v) => v.toFixed(2)).join(' | ')} |`;
    expect(readme).toContain(row('LRU', REFERENCE.gli!.lru));
    expect(readme).toContain(row('W-TinyLFU (Caffeine simulator)', REFERENCE.gli!.wtinylfu!));
    expect(readme).toContain(row('OPT', REFERENCE.gli!.opt));
    expect(readme).toContain(row('ARC', REFERENCE.OLTP!.arc!));
    expect(readme).toContain(row('W-TinyLFU, adaptive window (C# port)', REFERENCE.OLTP!.wtinylfu!));
    expect(readme).toContain(row('OPT', REFERENCE.OLTP!.opt));
    for (const name of ['multi2', 'multi3', 'sprite', 'cpp', 'cs', 'ps', '2_pools', 'multi1']) {
      const ref = REFERENCE[name]!;
      const join3 = (v: number[]) => v.map((x) => x.toFixed(2)).join(' / ');
      expect(readme).toContain(
        `| ${name} | ${ref.sizes.join(' / ')} | ${join3(ref.lru)} | ${join3(ref.opt)} |`,
      );
    }
  });
});

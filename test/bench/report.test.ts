import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type ReportInput, renderReport, writeReport } from '../../bench/report.js';
import { checkWellFormed } from './xml.js';

const FIXTURES = join(import.meta.dirname, 'fixtures');
const fixture = <T>(name: string): T => JSON.parse(readFileSync(join(FIXTURES, `${name}.json`), 'utf8')) as T;
const all = (): ReportInput => ({
  throughput: fixture('throughput'),
  bars: fixture('bars'),
  stampede: fixture('stampede'),
  memory: fixture('memory'),
  hitRatio: fixture('hit-ratio'),
  http: fixture('http'),
  redis: fixture('redis'),
  policy: fixture('policy'),
  next: fixture('next'),
});

describe('renderReport', () => {
  const { markdown, svgs } = renderReport(all());

  it('states that the page is generated, and by which command, on which machine, Node.js and date', () => {
    expect(markdown).toMatch(/^# Benchmarks\n/);
    expect(markdown).toContain('Do not edit');
    expect(markdown).toContain('| Date | 2025-01-02T03:04:05.000Z |');
    expect(markdown).toContain('| Command | `npm run bench` |');
    expect(markdown).toContain('Test CPU @ 3.0GHz, 2 logical cores, 23 GiB (linux x64)');
    expect(markdown).toContain('v20.20.2');
    expect(markdown).toContain('abc1234+dirty');
    expect(markdown).toContain('| Load average at start | 1.5 (other jobs');
  });

  it('lists every bar with its requirement, measurement and verdict', () => {
    expect(markdown).toContain(
      '| larder get hit vs bare lru-cache get | ≥ 0.9x | 0.95x | 0.93–0.97 | 9.50M vs 10.0M ops/s | pass |',
    );
    expect(markdown).toMatch(/bentocache's awaited getOrSet hit \| ≥ 10x \| 8\.40x .*\*\*MISSED\*\*/);
    expect(markdown).toContain("not measured: policy 'tinylfu' failed: not available yet");
    expect(markdown).toContain('| ≤ 1.2x | 1.01x |');
  });

  it('tabulates throughput with spread, ratios to lru-cache (fetch for the awaited columns) and Zipf hit ratios', () => {
    expect(markdown).toContain(
      '| larder | 9.50M ±4% | 5.00M ±4% | 3.00M ±4% | 4.20M ±4% | 2.10M ±4% | 6.00M ±4% (72.1% hits) |',
    );
    // get: both rows have yardstick-relative figures (0.5 / 0.6); the other columns fall back to medians
    expect(markdown).toContain('| larder | 0.83x | 0.91x | 0.91x | 1.05x | 0.53x | 0.92x |');
    expect(markdown).toContain('| bentocache | – | – | – | 0.050x | – | – |');
    expect(markdown).toContain('| node-cache 5.1.2 | error | error |');
    expect(markdown).toContain('- node-cache: child exited (1) without a result');
  });

  it('draws one throughput chart per operation that has data, relative to lru-cache, larder highlighted', () => {
    const charts = Object.keys(svgs).filter((k) => k.startsWith('img/benchmarks/throughput-'));
    expect(charts.sort()).toEqual(
      ['get', 'getOrSet', 'setEvict', 'setOverwrite', 'wrap', 'zipf']
        .map((op) => `img/benchmarks/throughput-${op}.svg`)
        .sort(),
    );
    const get = svgs['img/benchmarks/throughput-get.svg'] as string;
    expect(get).toContain('>lru-cache</text>');
    expect(get).toContain('fill="#D55E00"'); // highlighted larder bar
    expect(markdown).toContain('![get hit relative to lru-cache](img/benchmarks/throughput-get.svg)');
  });

  it('shows stampede loader calls, memory per entry with the ratio to lru-cache, and errors', () => {
    expect(markdown).toContain('| larder | `await getOrSet(k, () => load(k))` | 1 | 1000 / 1000 | 12 ms |');
    expect(markdown).toContain('| Map (floor) | `get, on a miss await load() then set` | 1000 |');
    expect(markdown).toContain('| larder | 58.1 | 1.01x | 1,000,000 | 1.2 s |');
    expect(markdown).toContain('| bentocache 1.6.1 | error: timed out | – | – | – |');
    expect(svgs['img/benchmarks/memory.svg']).toContain('Heap bytes per entry');
  });

  it('shows the evicting state in a table of its own, with the ratio to lru-cache in that state', () => {
    expect(markdown).toContain('In the evicting state, the one a bounded cache lives in');
    expect(markdown).toContain('| larder (tinylfu, default) | 99.4 | 1.14x | 1,000,000 | 2.5 s |');
    expect(markdown).toContain('| lru-cache 11.5.3 | 86.9 | 1.00x | 1,000,000 | 1.5 s |');
  });

  it('charts hit ratio against cache size per trace with every policy, OPT and the published W-TinyLFU', () => {
    const svg = svgs['img/benchmarks/hit-ratio-gli.svg'] as string;
    for (const name of [
      'larder &apos;lru&apos;',
      'larder &apos;tinylfu&apos;',
      'lru-cache',
      'OPT (Belady, the limit)',
      'W-TinyLFU (published)',
    ]) {
      expect(svg).toContain(`>${name}</text>`);
    }
    expect(markdown).toContain(
      "| Size | larder 'lru' | larder 'tinylfu' | lru-cache | OPT (Belady, the limit) | W-TinyLFU (published) |",
    );
    expect(markdown).toContain('| 500 | 0.95 | 33.00 | 0.95 | 34.26 | 33.08 |');
    expect(markdown).toContain('- OLTP skipped: file not found');
  });

  it('reports HTTP requests/s, p99 and queries per request, cache off and on', () => {
    expect(markdown).toContain('| off | 2000 | 7.0 ms | 25.0 ms | 1.200 | 20,000 | 0 |');
    expect(markdown).toContain('| on | 6000 | 2.0 ms | 9.0 ms | 0.010 | 60,000 | 0 |');
    expect(markdown).toContain('With the cache: 3.00x the requests per second');
  });

  it('lists the Redis ratios of bench/redis with their bars', () => {
    expect(markdown).toContain(
      '| memory get hit with Redis tier+bus / without (throughput, higher is better, bar is a minimum) | 0.97x | 0.95x | pass |',
    );
    expect(markdown).toMatch(/Redis-tier hit \/ bare GET .* \| 1\.41x \| 1\.3x \| \*\*MISSED\*\* \|/);
  });

  it('shows the policy-store and Next.js parts', () => {
    expect(markdown).toContain('| larder-tinylfu | 8.1 |');
    expect(markdown).toContain("| 'tinylfu' store / lru-cache | 0.65x |");
    expect(markdown).toContain('| hashKey string 8 chars | 14.2 |');
    expect(markdown).toContain(
      '| cached page throughput, larder vs built-in | 1.03 | >= 0.9 | built-in 148 req/s, larder 153 req/s | pass |',
    );
  });

  it('produces only well-formed SVG and no NaN or undefined', () => {
    for (const svg of Object.values(svgs)) checkWellFormed(svg);
    expect(markdown).not.toMatch(/NaN|undefined|Infinity/);
    for (const svg of Object.values(svgs)) expect(svg).not.toMatch(/NaN|undefined|Infinity/);
  });

  it('says "Not run." for missing parts and still renders', () => {
    const r = renderReport({});
    expect(r.markdown).toContain('No results yet.');
    expect(r.markdown.match(/Not run\./g)).toHaveLength(9);
    expect(r.svgs).toEqual({});
  });
});

describe('writeReport', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('reads the result files and writes the page and its charts, removing stale charts', () => {
    dir = mkdtempSync(join(tmpdir(), 'larder-report-'));
    const docs = join(dir, 'docs');
    writeReport(FIXTURES, docs);
    writeFileSync(join(docs, 'img/benchmarks/stale.svg'), '<svg/>');
    const written = writeReport(FIXTURES, docs);
    expect(written[0]).toBe(join(docs, 'benchmarks.md'));
    expect(readFileSync(join(docs, 'benchmarks.md'), 'utf8')).toBe(renderReport(all()).markdown);
    const files = readdirSync(join(docs, 'img/benchmarks')).sort();
    expect(files).not.toContain('stale.svg');
    expect(files).toContain('hit-ratio-gli.svg');
    expect(files).toContain('memory.svg');
  });
});

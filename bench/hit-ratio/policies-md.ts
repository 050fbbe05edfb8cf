/**
 * Reads `POLICIES.md` from the traces folder: libCacheSim's hit ratios of other eviction policies (S3-FIFO, ARC,
 * LIRS, 2Q, SIEVE, a fixed-window W-TinyLFU) on every trace and size there, beside exact LRU and OPT. The file is
 * read at run time and never copied into the repository; the benchmark prints its columns beside larder's.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** One trace's table: the sizes and, per column heading, the hit ratios (%) aligned with them. */
export interface PolicyTable {
  sizes: number[];
  columns: Record<string, number[]>;
}

/** Columns that are not other libraries' policies (exact LRU/OPT, and larder's own figure of the day). */
const NOT_REFERENCE_POLICIES = new Set(['size', 'LRU', 'OPT']);

/**
 * Parses the markdown: a `### name (...)` heading, then a table whose first column is `size`. Numbers may carry
 * thousands separators. A row whose cell count differs from its header's is an error naming the trace.
 */
export function parsePoliciesMd(text: string): Record<string, PolicyTable> {
  const out: Record<string, PolicyTable> = {};
  let trace: string | undefined;
  let header: string[] | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const heading = /^###\s+(\S+)/.exec(line);
    if (heading !== null) {
      trace = heading[1];
      header = undefined;
      continue;
    }
    if (trace === undefined || !line.startsWith('|')) {
      if (line === '') header = undefined;
      continue;
    }
    const cells = line
      .slice(1, line.endsWith('|') ? -1 : undefined)
      .split('|')
      .map((c) => c.trim());
    if (header === undefined) {
      if (cells[0] !== 'size') continue;
      header = cells;
      out[trace] = { sizes: [], columns: Object.fromEntries(cells.slice(1).map((c) => [c, [] as number[]])) };
      continue;
    }
    if (cells.every((c) => /^-*:?-+:?$/.test(c))) continue;
    if (cells.length !== header.length) {
      throw new SyntaxError(
        `POLICIES.md, ${trace}: a row has ${cells.length} cells, its header ${header.length}`,
      );
    }
    const values = cells.map((c) => Number(c.replace(/,/g, '')));
    if (values.some((v) => !Number.isFinite(v))) {
      throw new SyntaxError(`POLICIES.md, ${trace}: not a number in row ${JSON.stringify(line)}`);
    }
    const table = out[trace]!;
    table.sizes.push(values[0]!);
    header.slice(1).forEach((name, i) => {
      table.columns[name]!.push(values[i + 1]!);
    });
  }
  return out;
}

/** The column headings that are other libraries' policies (everything but size, LRU, OPT and larder's). */
export function referencePolicyNames(table: PolicyTable): string[] {
  return Object.keys(table.columns).filter((c) => !NOT_REFERENCE_POLICIES.has(c) && !c.startsWith('larder'));
}

/** Reads and parses `POLICIES.md` in `dir`, or returns `undefined` when it is missing. */
export function readPoliciesMd(dir: string): Record<string, PolicyTable> | undefined {
  const path = join(dir, 'POLICIES.md');
  return existsSync(path) ? parsePoliciesMd(readFileSync(path, 'utf8')) : undefined;
}

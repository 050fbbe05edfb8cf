/**
 * Self instructions per function from a callgrind run of `node`, JavaScript functions included: callgrind does not
 * know the names of V8's generated code, so the run must be made with `--dump-instr=yes` (costs per instruction
 * address) and node with `--perf-basic-prof` (V8 then writes `/tmp/perf-PID.map`, the address range and name of each
 * piece of code it generates). Each cost line's address is looked up in that map; a cost outside it keeps
 * callgrind's own object and function name (V8's C++ runtime, the collector, libc). Costs a function's callees carry
 * into it (callgrind's `calls=` lines) are left out, so each function gets what its own instructions cost, with
 * whatever V8 inlined into it.
 *
 * Used by `insert-instructions.ts --by-function`.
 *
 * @module
 */
import { readFileSync } from 'node:fs';

/** One range of generated code from a perf map. */
interface CodeRange {
  start: number;
  end: number;
  name: string;
}

/**
 * Reads a perf map (`start size name` per line, hexadecimal) into sorted ranges that do not overlap. V8 reuses the
 * memory of code it dropped, so a later line can cover an earlier one: the later one wins where they overlap. A
 * JavaScript function's name keeps the line of its definition (`JS:*set @2698`), so that two functions of the
 * same name (a cache's `set` and its store's) stay apart.
 */
function readPerfMap(path: string): CodeRange[] {
  const ranges: CodeRange[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const first = line.indexOf(' ');
    const second = line.indexOf(' ', first + 1);
    if (first < 0 || second < 0) continue;
    const start = Number.parseInt(line.slice(0, first), 16);
    const size = Number.parseInt(line.slice(first + 1, second), 16);
    // `JS:*set file:///…/child-123.mjs:2698:9` -> `JS:*set @2698`.
    const name = line.slice(second + 1).replace(/ file:\/\/\S*:(\d+):\d+$/, ' @$1');
    paint(ranges, { start, end: start + size, name });
  }
  return ranges;
}

/** Adds `range` to the sorted, non-overlapping `ranges`, cutting away what it covers of the ranges there. */
function paint(ranges: CodeRange[], range: CodeRange): void {
  // The first range that ends after the new one starts.
  let lo = 0;
  let hi = ranges.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((ranges[mid] as CodeRange).end <= range.start) lo = mid + 1;
    else hi = mid;
  }
  // What the overlapped ranges keep on either side of the new one.
  const left: CodeRange[] = [];
  const right: CodeRange[] = [];
  let i = lo;
  for (; i < ranges.length && (ranges[i] as CodeRange).start < range.end; i++) {
    const r = ranges[i] as CodeRange;
    if (r.start < range.start) left.push({ start: r.start, end: range.start, name: r.name });
    if (r.end > range.end) right.push({ start: range.end, end: r.end, name: r.name });
  }
  ranges.splice(lo, i - lo, ...left, range, ...right);
}

/** The name of the generated code at `address`, or undefined. */
function lookup(ranges: readonly CodeRange[], address: number): string | undefined {
  let lo = 0;
  let hi = ranges.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const r = ranges[mid] as CodeRange;
    if (address < r.start) hi = mid - 1;
    else if (address >= r.end) lo = mid + 1;
    else return r.name;
  }
  return undefined;
}

/**
 * Self instructions per function of a callgrind output file written with `--dump-instr=yes`, JavaScript functions
 * named from the perf map V8 wrote for the same process.
 *
 * @param callgrindFile - callgrind's output
 * @param perfMap - `/tmp/perf-PID.map` of the process callgrind ran
 * @returns instructions by function name: `JS:*name @line` for optimised JavaScript (the line of its definition in
 * the script), `object function` for the rest, V8's builtins among them (`node Builtins_MapPrototypeSet` where node
 * embeds them, as callgrind names them; `Builtin:Name` where only the perf map does)
 */
export function selfInstructionsByFunction(callgrindFile: string, perfMap: string): Map<string, number> {
  const ranges = readPerfMap(perfMap);
  const costs = new Map<string, number>();
  // callgrind compresses repeated names as `(id) name` once, then `(id)`.
  const objects = new Map<string, string>();
  const functions = new Map<string, string>();
  const nameOf = (table: Map<string, string>, spec: string): string => {
    const m = /^\((\d+)\)(?: (.*))?$/.exec(spec.trim());
    if (m === null) return spec.trim();
    const id = m[1] as string;
    if (m[2] !== undefined) table.set(id, m[2]);
    return table.get(id) ?? spec.trim();
  };
  // A cost line is its positions (the address first, with `--dump-instr=yes`), then one number per event.
  let positions = ['line'];
  let irColumn = -1;
  let object = '';
  let fn = '';
  let last = 0;
  let skipNext = false;
  for (const line of readFileSync(callgrindFile, 'utf8').split('\n')) {
    const c = line.charCodeAt(0);
    const isCost = (c >= 48 && c <= 57) || line[0] === '+' || line[0] === '-' || line[0] === '*';
    if (isCost) {
      if (irColumn < 0) {
        throw new Error(
          `${callgrindFile}: no instruction addresses or no Ir event (run callgrind with --dump-instr=yes)`,
        );
      }
      // The address: absolute (0x…), relative to the last (+n, -n) or the same (*).
      const fields = line.split(' ');
      const a = fields[0] as string;
      if (a.startsWith('0x')) last = Number.parseInt(a, 16);
      else if (a[0] === '+') last += Number(a.slice(1));
      else if (a[0] === '-') last -= Number(a.slice(1));
      if (skipNext) {
        // The line after `calls=`: the callee's inclusive cost, not this function's own.
        skipNext = false;
        continue;
      }
      const ir = Number(fields[irColumn] ?? 0);
      // Only code callgrind could not place in a file (`???`) is V8's: other objects' addresses are file offsets.
      const generated = object === '???' ? lookup(ranges, last) : undefined;
      const name = generated ?? `${object.split('/').pop()} ${fn}`;
      costs.set(name, (costs.get(name) ?? 0) + ir);
    } else if (line.startsWith('calls=')) skipNext = true;
    else if (line.startsWith('ob=')) object = nameOf(objects, line.slice(3));
    else if (line.startsWith('fn=')) fn = nameOf(functions, line.slice(3));
    else if (line.startsWith('cob=')) nameOf(objects, line.slice(4));
    else if (line.startsWith('cfn=') || line.startsWith('jfn=')) nameOf(functions, line.slice(4));
    else if (line.startsWith('positions:')) positions = line.slice(10).trim().split(/\s+/);
    else if (line.startsWith('events:')) {
      const ir = line.slice(7).trim().split(/\s+/).indexOf('Ir');
      irColumn = positions[0] === 'instr' && ir >= 0 ? positions.length + ir : -1;
    }
  }
  return costs;
}

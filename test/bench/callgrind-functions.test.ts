import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { selfInstructionsByFunction } from '../../bench/throughput/callgrind-functions.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Writes a callgrind file and a perf map into a fresh directory; returns their paths. */
function files(callgrind: string, perfMap: string): [string, string] {
  const dir = mkdtempSync(join(tmpdir(), 'larder-callgrind-'));
  dirs.push(dir);
  const cg = join(dir, 'callgrind.out');
  const map = join(dir, 'perf.map');
  writeFileSync(cg, callgrind);
  writeFileSync(map, perfMap);
  return [cg, map];
}

describe('selfInstructionsByFunction', () => {
  it('names generated code from the perf map, keeps callgrind names elsewhere, and leaves out callees', () => {
    const [cg, map] = files(
      [
        '# callgrind format',
        'pid: 42',
        'positions: instr line',
        'events: Ir',
        '',
        // Generated code: callgrind names it by address; the perf map names it.
        'ob=(1) ???',
        'fn=(1) 0x0000000000001000',
        '0x1000 0 5',
        '+4 0 3', // 0x1004, still `set`
        '+12 0 7', // 0x1010: `#insertFull`
        'cob=(2) /usr/bin/node',
        'cfn=(2) v8::internal::Runtime',
        'calls=1 0x500',
        '+2 0 1000', // the callee's inclusive cost, at 0x1012: not the caller's own
        '+1 0 2', // 0x1013: `#insertFull`
        '+5 0 19', // 0x1018: just past `#insertFull`'s last byte, in no range
        '-24 0 4', // 0x1000 again
        '* 0 6', // same address
        // A function callgrind knows, referred to by its compressed name the second time.
        'ob=(2)',
        'fn=(2)',
        '0x500 0 11',
        'fn=(3) malloc',
        '0x9000 0 13',
        'fn=(2)',
        '+1 0 17',
      ].join('\n'),
      [
        '1000 10 JS:*set file:///tmp/child-1.mjs:2698:9',
        '1010 8 JS:*#insertFull file:///tmp/child-1.mjs:2905:14',
        'ffff 1 Builtin:Unused',
        '',
      ].join('\n'),
    );
    const costs = selfInstructionsByFunction(cg, map);
    expect(Object.fromEntries(costs)).toEqual({
      'JS:*set @2698': 5 + 3 + 4 + 6,
      'JS:*#insertFull @2905': 7 + 2,
      '??? 0x0000000000001000': 19,
      'node v8::internal::Runtime': 11 + 17,
      'node malloc': 13,
    });
  });

  it('counts only the first event (instructions) when callgrind also simulated the caches', () => {
    const [cg, map] = files(
      ['positions: instr line', 'events: Ir Dr Dw', 'ob=(1) ???', 'fn=(1) 0x2000', '0x2000 0 9 4 1'].join(
        '\n',
      ),
      '2000 4 JS:*increment file:///x.mjs:1:1\n',
    );
    expect(Object.fromEntries(selfInstructionsByFunction(cg, map))).toEqual({ 'JS:*increment @1': 9 });
  });

  it('lets a later perf map line win where V8 reused the memory of dropped code', () => {
    const [cg, map] = files(
      [
        'positions: instr line',
        'events: Ir',
        'ob=(1) ???',
        'fn=(1) 0x3000',
        '0x3000 0 1',
        '+16 0 2',
        '+16 0 4',
      ].join('\n'),
      // `old` covered 0x3000-0x3030; `new` took 0x3010-0x3020 after it was dropped.
      ['3000 30 JS:*old file:///x.mjs:1:1', '3010 10 JS:*new file:///x.mjs:2:1', ''].join('\n'),
    );
    expect(Object.fromEntries(selfInstructionsByFunction(cg, map))).toEqual({
      'JS:*old @1': 1 + 4,
      'JS:*new @2': 2,
    });
  });

  it("names other objects' code by callgrind's names even where an address falls in the perf map", () => {
    const [cg, map] = files(
      [
        'positions: instr line',
        'events: Ir',
        'ob=(1) /usr/lib/libc.so.6',
        'fn=(1) memcpy',
        '0x3000 0 8',
      ].join('\n'),
      '3000 30 JS:*set file:///x.mjs:1:1\n',
    );
    expect(Object.fromEntries(selfInstructionsByFunction(cg, map))).toEqual({ 'libc.so.6 memcpy': 8 });
  });

  it('refuses output without instruction addresses', () => {
    const [cg, map] = files(
      ['positions: line', 'events: Ir', 'ob=(1) ???', 'fn=(1) f', '12 9'].join('\n'),
      '',
    );
    expect(() => selfInstructionsByFunction(cg, map)).toThrow(/--dump-instr=yes/);
  });
});

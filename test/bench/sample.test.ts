import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { calibrate, interleave, measure, timeFastest } from '../../bench/lib/sample.js';

// Time is faked: a body "costs" a fixed number of ms per operation by advancing the fake clock, so the
// harness's arithmetic can be checked exactly, without timing anything real.
beforeEach(() => {
  vi.useFakeTimers({ toFake: ['performance'] });
});
afterEach(() => {
  vi.useRealTimers();
});

function body(msPerOp: number, log?: string[], id?: string) {
  return (n: number) => {
    log?.push(id ?? '');
    vi.advanceTimersByTime(n * msPerOp);
    return n;
  };
}

describe('timeFastest', () => {
  it('keeps the fastest of several slices (preemption only slows a slice down)', async () => {
    const costs = [5, 2, 9];
    let i = 0;
    const [ms, checksum] = await timeFastest(
      (n) => {
        vi.advanceTimersByTime(costs[i++] as number);
        return n;
      },
      10,
      3,
    );
    expect(ms).toBe(2);
    expect(checksum).toBe(10);
  });
});

describe('calibrate', () => {
  it('finds the count that fills the target time', async () => {
    expect(await calibrate(body(0.01), 20)).toBe(2000);
  });
  it('respects the upper bound', async () => {
    expect(await calibrate(body(0.000001), 20, 5000)).toBe(5000);
  });
});

describe('measure', () => {
  it('returns one rate per sample in operations per second', async () => {
    const m = await measure(body(0.001), { warmupMs: 5, sliceMs: 2, slices: 2, samples: 4 });
    expect(m.rates).toHaveLength(4);
    for (const r of m.rates) expect(r).toBeCloseTo(1e6, -1);
    expect(m.checksum).toBe(m.n);
  });
  it('awaits asynchronous bodies', async () => {
    const m = await measure(async (n) => body(0.002)(n), { warmupMs: 5, sliceMs: 2, slices: 1, samples: 3 });
    for (const r of m.rates) expect(r).toBeCloseTo(5e5, -1);
  });
});

describe('interleave', () => {
  it('runs every case each round, rotating which goes first, and returns aligned per-round rates', async () => {
    const order: string[] = [];
    const cases = ['a', 'b', 'c'].map((id, i) => ({ id, loop: body(0.001 * (i + 1), order, id) }));
    const rates = await interleave(cases, { warmupMs: 3, sliceMs: 1, slices: 1, samples: 3 });
    expect([...rates.keys()]).toEqual(['a', 'b', 'c']);
    for (const [, r] of rates) expect(r).toHaveLength(3);
    expect((rates.get('a') as number[])[0]).toBeCloseTo(1e6, -1);
    expect((rates.get('c') as number[])[0]).toBeCloseTo(1e6 / 3, -1);
    // the measured rounds are the last 9 runs: abc, bca, cab
    expect(order.slice(-9).join('')).toBe('abcbcacab');
  });
  it('checks every sample with the case verify function', async () => {
    const cases = [
      {
        id: 'x',
        loop: (n: number) => body(0.001)(n) - 1,
        verify: (sum: number, n: number) => {
          if (sum !== n) throw new Error(`missed ${n - sum}`);
        },
      },
    ];
    await expect(interleave(cases, { warmupMs: 1, sliceMs: 1, slices: 1, samples: 1 })).rejects.toThrow(
      /missed 1/,
    );
  });
});

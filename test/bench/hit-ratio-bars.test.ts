import { describe, expect, it } from 'vitest';
import {
  checkHitRatioBars,
  type HitRatioReport,
  missingBarTraces,
  type TraceHitRatios,
} from '../../bench/hit-ratio/index.js';
import { REFERENCE } from '../../bench/hit-ratio/reference.js';

function trace(name: string, tinylfu: (i: number) => number, lru?: number[]): TraceHitRatios {
  const ref = REFERENCE[name]!;
  return {
    file: `${name}.trace`,
    requests: 1,
    uniqueKeys: 1,
    sizes: [...ref.sizes],
    sizesFrom: 'readme',
    hitRatio: {
      'larder-lru': lru ?? [...ref.lru],
      'lru-cache': lru ?? [...ref.lru],
      opt: [...ref.opt],
      'larder-tinylfu': ref.sizes.map((_, i) => tinylfu(i)),
    },
    ms: {},
  };
}

function report(traces: TraceHitRatios[]): HitRatioReport {
  return {
    kind: 'hit-ratio',
    generatedAt: '',
    ci: true,
    node: '',
    tracesDir: '',
    policies: ['larder-lru', 'larder-tinylfu', 'lru-cache', 'opt'],
    traces: Object.fromEntries(traces.map((t) => [t.file.replace(/\.trace$/, ''), t])),
    skipped: [],
    durationMs: 0,
  };
}

describe('checkHitRatioBars', () => {
  const passing = () =>
    report([
      trace('gli', (i) => REFERENCE.gli!.wtinylfu![i]! - 0.4),
      trace('loop', (i) => (REFERENCE.loop!.sizes[i] === 500 ? 41 : REFERENCE.loop!.lru[i]!)),
      trace('sprite', (i) => REFERENCE.sprite!.lru[i]! - 0.9),
    ]);

  it('passes when every bar is met', () => {
    expect(checkHitRatioBars(passing())).toEqual([]);
  });

  it('flags W-TinyLFU below the published figure minus 0.5', () => {
    const r = passing();
    r.traces.gli!.hitRatio['larder-tinylfu']![3] = REFERENCE.gli!.wtinylfu![3]! - 0.6;
    expect(checkHitRatioBars(r)).toEqual([
      expect.stringMatching(/^gli@1000: tinylfu .* < W-TinyLFU reference 50.57 - 0.5$/),
    ]);
  });

  it('flags more than 1 point below LRU, and loop at 500 below 40%', () => {
    const r = passing();
    r.traces.sprite!.hitRatio['larder-tinylfu']![3] = REFERENCE.sprite!.lru[3]! - 1.1;
    r.traces.loop!.hitRatio['larder-tinylfu']![2] = 39;
    const failures = checkHitRatioBars(r);
    expect(failures).toHaveLength(2);
    expect(failures[0]).toMatch(/^loop@500: tinylfu 39.00% < 40%$/);
    expect(failures[1]).toMatch(/^sprite@800: tinylfu .* < LRU 88.55% - 1$/);
  });

  it('flags LRU and OPT that do not reproduce the README', () => {
    const r = passing();
    r.traces.gli!.hitRatio['lru-cache']![0] = 1.0;
    r.traces.gli!.hitRatio.opt![1] = 34.2;
    const failures = checkHitRatioBars(r);
    expect(failures).toEqual([
      expect.stringMatching(/^gli@250: lru-cache 1.00% differs from README LRU 0.91/),
      expect.stringMatching(/^gli@500: opt 34.20% differs from README OPT 34.26/),
    ]);
  });
});

describe('missingBarTraces', () => {
  it('names each missing trace that carries bars, and no trace skipped for another reason', () => {
    const r = report([]);
    r.skipped = [
      { trace: 'gli', file: 'gli.trace', reason: 'missing: /x/gli.trace' },
      { trace: 'zigzag', file: 'zigzag.trace', reason: 'missing: /x/zigzag.trace' },
      { trace: 'loop', file: 'loop.trace', reason: 'ci mode: no README reference, no bar' },
    ];
    expect(missingBarTraces(r)).toEqual([
      expect.stringMatching(/^gli: trace missing: \/x\/gli.trace \(in CI/),
    ]);
    r.skipped = [];
    expect(missingBarTraces(r)).toEqual([]);
  });
});

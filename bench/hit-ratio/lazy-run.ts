/**
 * Hit ratios of the lazy-promotion W-TinyLFU (`lazy-promotion.ts`) beside larder's W-TinyLFU with the same fixed
 * 1% window in LRU order (`TinyLfuStore`, climber off) and plain LRU, on every trace and size of `traces.ts`
 * (issue 18's design comparison). Without arguments: the README traces; with trace names: those (P2, P12 and
 * orm-night take minutes each).
 *
 * Run: `npx tsx bench/hit-ratio/lazy-run.ts [trace ...]`
 *
 * @module
 */
import { replayLazyPromotion, replayLruCache, replayTinyLfu } from './index.js';
import { loadTrace, TRACES } from './traces.js';

const only = process.argv.slice(2);
const pct = (h: number, n: number) => (100 * h) / n;
let sumDiff = 0;
let rows = 0;
let worst = Number.POSITIVE_INFINITY;
let worstRow = '';
for (const spec of TRACES) {
  if (only.length > 0 ? !only.includes(spec.name) : spec.sizesFrom === 'policies') continue;
  const trace = loadTrace(spec);
  for (const size of spec.sizes) {
    const hl = replayLazyPromotion(trace, size);
    const hf = replayTinyLfu(trace, size, { climber: 'off' });
    const hr = replayLruCache(trace, size);
    const d = pct(hl - hf, trace.length);
    sumDiff += d;
    rows++;
    if (d < worst) {
      worst = d;
      worstRow = `${spec.name}@${size}`;
    }
    console.log(
      `${spec.name.padEnd(10)} ${String(size).padStart(7)}  lru ${pct(hr, trace.length).toFixed(2).padStart(6)}  fixed ${pct(hf, trace.length).toFixed(2).padStart(6)}  lazy ${pct(hl, trace.length).toFixed(2).padStart(6)}  lazy-fixed ${d.toFixed(2)}`,
    );
  }
}
console.log(
  `rows ${rows}, mean lazy-fixed ${(sumDiff / rows).toFixed(3)}, worst ${worst.toFixed(2)} at ${worstRow}`,
);

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
import { LRUCache } from 'lru-cache';
import { TinyLfuStore } from '../../src/policy/tinylfu-store.js';
import { LazyPromotionTinyLfu } from './lazy-promotion.js';
import { loadTrace, TRACES } from './traces.js';

const only = process.argv.slice(2);
const pct = (h: number, n: number) => (100 * h) / n;
let sumDiff = 0,
  rows = 0,
  worst = 1e9,
  worstRow = '';
for (const spec of TRACES) {
  if (only.length > 0 ? !only.includes(spec.name) : spec.sizesFrom === 'policies') continue;
  const trace = loadTrace(spec);
  for (const size of spec.sizes) {
    const lazy = new LazyPromotionTinyLfu<number, true>(size);
    const fixed = new TinyLfuStore<number, true>(
      { max: size, maxSize: undefined, onEvict: () => {} },
      { climber: 'off' },
    );
    const lru = new LRUCache<number, true>({ max: size });
    let hl = 0,
      hf = 0,
      hr = 0;
    for (let i = 0; i < trace.length; i++) {
      const k = trace[i]!;
      if (lazy.get(k) !== undefined) hl++;
      else lazy.set(k, true);
      if (fixed.get(k) !== undefined) hf++;
      else fixed.set(k, true, 1);
      if (lru.get(k) !== undefined) hr++;
      else lru.set(k, true);
    }
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

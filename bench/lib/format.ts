/**
 * Number formatting shared by progress lines, console tables and the generated docs.
 *
 * @module
 */

/** Formats operations per second compactly: `12.3M`, `456k`, `7.8k`, `789`. */
export function formatRate(r: number): string {
  if (!Number.isFinite(r)) return String(r);
  if (r >= 999_500) return `${(r / 1e6).toFixed(r >= 9_995_000 ? 1 : 2)}M`;
  if (r >= 999.5) return `${(r / 1e3).toFixed(r >= 9_995 ? 0 : 1)}k`;
  return r.toFixed(0);
}

/** Formats a ratio with two significant decimals for small values: `1.02x`, `0.043x`. */
export function formatRatio(r: number): string {
  if (!Number.isFinite(r)) return String(r);
  if (r >= 10) return `${r.toFixed(1)}x`;
  if (r >= 0.1) return `${r.toFixed(2)}x`;
  return `${r.toPrecision(2)}x`;
}

/** Formats a byte count: `61.2 B`, `12.4 MiB`. */
export function formatBytes(b: number): string {
  if (Math.abs(b) >= 2 ** 20) return `${(b / 2 ** 20).toFixed(1)} MiB`;
  if (Math.abs(b) >= 2 ** 10) return `${(b / 2 ** 10).toFixed(1)} KiB`;
  return `${b.toFixed(1)} B`;
}

/**
 * Formats a measured ratio next to its bar: two decimals (one from 10x up), more when rounding would
 * make a ratio that is not exactly the bar print as the bar (0.996 against 1 prints `0.996`, not `1.00`).
 */
export function formatBarRatio(ratio: number, bar: number): string {
  let digits = ratio >= 10 ? 1 : 2;
  let text = ratio.toFixed(digits);
  while (Number(text) === bar && ratio !== bar && digits < 5) text = ratio.toFixed(++digits);
  return text;
}

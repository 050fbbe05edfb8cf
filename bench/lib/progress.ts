/**
 * Progress lines on stderr, prefixed with the time since the suite started, so long runs show life.
 *
 * @module
 */
import { performance } from 'node:perf_hooks';

const started = performance.now();

/** Seconds since the suite started, as `'  12.3s'`. */
export function elapsed(): string {
  return `${((performance.now() - started) / 1000).toFixed(1).padStart(6)}s`;
}

/** Returns a logger that prefixes each line with the elapsed time and `part`. */
export function logger(part: string): (line: string) => void {
  return (line: string) => {
    process.stderr.write(`${elapsed()} [${part}] ${line}\n`);
  };
}

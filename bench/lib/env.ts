/**
 * Where and how results were produced: machine, runtime, date, command, commit. Stored with every result.
 *
 * @module
 */
import { execFileSync } from 'node:child_process';
import os from 'node:os';

/** Provenance of a result file. */
export interface RunMeta {
  /** ISO date and time of the run. */
  date: string;
  /** Command that produced the results. */
  command: string;
  /** Node.js version (`process.version`). */
  node: string;
  /** V8 version. */
  v8: string;
  /** `platform arch`, e.g. `linux x64`. */
  os: string;
  /** CPU model. */
  cpu: string;
  /** Logical cores visible to Node.js. */
  cores: number;
  /** Total memory in GiB. */
  memoryGiB: number;
  /** Short commit of the working tree, with `+dirty` when it has uncommitted changes; `unknown` outside git. */
  commit: string;
  /** How larder was loaded (built bundle, dist, or sources through tsx). */
  larder: string;
  /** `full` or `ci`. */
  mode: 'full' | 'ci';
  /** 1-minute load average when the run started (other jobs on a shared machine add noise). */
  loadAverage: number;
}

function git(args: string[]): string | undefined {
  try {
    return execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

/** Collects the provenance of this run. */
export function runMeta(command: string, larder: string, mode: 'full' | 'ci'): RunMeta {
  const cpus = os.cpus();
  const head = git(['rev-parse', '--short', 'HEAD']);
  const dirty = git(['status', '--porcelain']);
  return {
    date: new Date().toISOString(),
    command,
    node: process.version,
    v8: process.versions.v8,
    os: `${process.platform} ${process.arch}`,
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    commit: head === undefined ? 'unknown' : `${head}${dirty ? '+dirty' : ''}`,
    larder,
    mode,
    loadAverage: Math.round((os.loadavg()[0] ?? 0) * 10) / 10,
  };
}

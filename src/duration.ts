/**
 * A length of time: a number of milliseconds, or a string with a unit: `'250ms'`, `'30s'`, `'5m'`, `'2h'`, `'1d'`.
 * Fractions are allowed (`'1.5h'`).
 */
export type Duration = number | `${number}${'ms' | 's' | 'm' | 'h' | 'd'}`;

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const PATTERN = /^(\d+(?:\.\d+)?|\.\d+)(ms|s|m|h|d)$/;

/**
 * Converts a {@link Duration} to milliseconds, or throws a `TypeError`/`RangeError` naming `name`.
 *
 * @param value - the duration to convert
 * @param name - the option or argument name used in error messages
 * @param allowZero - whether 0 is acceptable (stale windows) or not (TTLs, timeouts)
 * @returns the duration in milliseconds (may be `Infinity` when `allowInfinity`)
 */
export function toMs(value: unknown, name: string, allowZero = false, allowInfinity = false): number {
  let ms: number;
  if (typeof value === 'number') {
    ms = value;
  } else if (typeof value === 'string') {
    const match = PATTERN.exec(value);
    if (match === null) {
      throw new TypeError(
        `${name} must be a number of milliseconds or a string like '250ms', '30s', '5m', '2h', '1d'; got ${JSON.stringify(value)}`,
      );
    }
    ms = Number(match[1]) * (UNIT_MS[match[2] as string] as number);
    // Too many digits overflow to Infinity: never a silent "no expiry" (write the number Infinity for that).
    if (!Number.isFinite(ms)) {
      throw new RangeError(
        `${name} is too large: ${JSON.stringify(value.length > 40 ? `${value.slice(0, 37)}...` : value)} overflows to Infinity${allowInfinity ? ' (for no expiry, pass the number Infinity)' : ''}`,
      );
    }
  } else {
    throw new TypeError(
      `${name} must be a number of milliseconds or a duration string like '30s'; got ${describe(value)}`,
    );
  }
  if (Number.isNaN(ms)) throw new RangeError(`${name} must be a number of milliseconds; got NaN`);
  if (ms === Number.POSITIVE_INFINITY && allowInfinity) return ms;
  if (!Number.isFinite(ms)) throw new RangeError(`${name} must be finite; got ${ms}`);
  if (ms < 0 || (ms === 0 && !allowZero)) {
    throw new RangeError(
      `${name} must be ${allowZero ? 'zero or more' : 'greater than zero'}; got ${String(value)}`,
    );
  }
  return ms;
}

/** A short description of a value for error messages. @internal */
export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'symbol') return String(value);
  if (value === null || typeof value !== 'object') return String(value);
  if (Array.isArray(value)) return 'an array';
  const name = (value as object).constructor?.name;
  return name && name !== 'Object' ? `an instance of ${name}` : 'an object';
}
